//! The command-line builder proper: domain options, controllers, disks, hostdevs, in
//! libvirt's order.

use super::pci::{PciSlots, Slot};
use super::{Converted, EmitError, LuLookup, Options, Props, QemuArgs, QemuVersion};
use crate::assign::{drive_address_for_index, parse_disk_name, ScsiLayout};
use crate::model::{
    Controller, ControllerModel, ControllerType, DeviceAddress, Disk, DiskBus, DiskDevice,
    DiskType, Domain, DomainType, Hostdev, HostdevSourceProtocol, HostdevType, NetHost, SourceAuth,
    YesNo,
};
use crate::xml::Element;
use std::collections::HashMap;
use std::path::PathBuf;

mod whole_host;

/// A PCI controller libvirt adds on q35.
#[derive(Debug, Clone, Copy)]
enum PcieCtrl {
    /// `pcie-root-port` on pcie.0.
    RootPort {
        /// The `port` property.
        port: u32,
        /// Its place on pcie.0.
        slot: Slot,
        /// Function 0 of a slot holding several ports.
        multi: bool,
    },
    /// `pcie-pci-bridge` on a root port.
    Bridge {
        /// Index of the root port it sits on.
        parent: u32,
    },
}

/// Which device a PCI slot was given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// `domain.devices.items[i]`.
    Item(usize),
    /// An implicit SCSI controller.
    Scsi(u32),
    /// The implicit USB controller.
    Usb,
    /// The implicit balloon.
    Balloon,
}

/// A controller as libvirt holds it after post-parse: defined or implicit.
#[derive(Debug, Clone)]
struct Ctrl<'a> {
    key: Key,
    kind: ControllerType,
    idx: u32,
    /// Effective SCSI model.
    model: Option<ControllerModel>,
    def: Option<&'a Controller>,
}

impl Ctrl<'_> {
    fn other_model(&self) -> Option<&str> {
        self.def.and_then(|c| c.other_model.as_deref())
    }
    fn address(&self) -> Option<&DeviceAddress> {
        self.def.and_then(|c| c.address.as_ref())
    }
}

/// Insert as libvirt's `virDomainControllerInsertPreAlloced` does: before the first controller
/// of the same type with a higher index, else after the last of the same type, else at the end.
fn insert_ctrl<'a>(list: &mut Vec<Ctrl<'a>>, c: Ctrl<'a>) {
    let mut insert_at = None;
    let mut last_same = None;
    for (i, cur) in list.iter().enumerate().rev() {
        if cur.kind == c.kind {
            if cur.idx > c.idx {
                insert_at = Some(i);
            }
            if last_same.is_none() {
                last_same = Some(i);
            }
        }
    }
    let pos = insert_at.or(last_same.map(|l| l + 1)).unwrap_or(list.len());
    list.insert(pos, c);
}

/// The disks in libvirt's list order (`virDomainDiskInsertPreAlloced`): each disk goes before
/// the first disk on the same bus with a higher target index, else after the last disk on its
/// bus, else at the end. This order drives emission, node-name numbering and boot indexes.
fn disk_order(d: &Domain) -> Vec<usize> {
    // Inserting that way keeps each bus's disks together, buses in order of first appearance,
    // and sorts each bus stably by index: computed here by grouping and a stable sort.
    // (bus, [(target index, item)]) in order of first appearance.
    type Group = (Option<DiskBus>, Vec<(i64, usize)>);
    let mut groups: Vec<Group> = Vec::new();
    for (i, disk) in d.devices.disks() {
        let bus = disk.bus();
        let idx = disk
            .dev()
            .and_then(|n| parse_disk_name(n).ok())
            .map(|n| i64::from(n.index))
            .unwrap_or(-1);
        match groups.iter_mut().find(|(b, _)| *b == bus) {
            Some((_, g)) => g.push((idx, i)),
            None => groups.push((bus, vec![(idx, i)])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(_, mut g)| {
            g.sort_by_key(|(idx, _)| *idx);
            g.into_iter().map(|(_, i)| i)
        })
        .collect()
}

struct B<'a> {
    d: &'a Domain,
    /// Element path of every device item, computed once.
    paths: Vec<String>,
    /// SCSI controller index → alias.
    scsi_aliases: HashMap<u32, String>,
    /// Disk item indices in libvirt's order.
    disk_order: Vec<usize>,
    opts: &'a Options,
    lookup: &'a dyn LuLookup,
    layout: ScsiLayout,
    /// SCSI drive address of each placed disk/hostdev item.
    placed: HashMap<usize, (u32, u32, u32, u32)>,
    ctrls: Vec<Ctrl<'a>>,
    pci: HashMap<Key, Slot>,
    /// pci-bridge controllers libvirt would add: (index, slot on the root bus).
    bridges: Vec<(u32, Slot)>,
    /// q35 controllers libvirt would add, by index.
    pcie_controllers: Vec<(u32, PcieCtrl)>,
    /// CCW device numbers (`fe.0.0002`) on s390x.
    ccw: HashMap<Key, String>,
    spapr: HashMap<Key, u64>,
    boot: HashMap<usize, u32>,
    /// `/dev/sgN` of every SCSI hostdev emitted → the hostdev, so a whole-host controller
    /// cannot pass the same LU a second time.
    passed_sg: HashMap<String, String>,
    out: QemuArgs,
    notes: Vec<String>,
    run_dir: PathBuf,
    root_bus: &'static str,
}

pub(super) fn build(
    d: &Domain,
    opts: &Options,
    lookup: &dyn LuLookup,
) -> Result<Converted, EmitError> {
    let accel = match d.kind {
        DomainType::Qemu => "tcg",
        DomainType::Kvm => "kvm",
        other => {
            return Err(EmitError::new(
                "domain",
                "unsupported",
                format!("<domain type='{other}'> is not a QEMU domain"),
            )
            .hint("use type='qemu' (TCG) or type='kvm'"))
        }
    };
    let caps = &opts.caps;
    let name = d.name.clone().unwrap_or_default();
    let arch = d.arch().unwrap_or("x86_64");
    let machine = d.machine().unwrap_or("pc").to_string();
    let q35 = machine.contains("q35");
    let pseries = arch.starts_with("ppc64") && machine.starts_with("pseries");

    // The default SCSI model depends on what this QEMU build has
    // (qemuDomainDefaultSCSIControllerModel).
    let default_model = if pseries {
        Some(ControllerModel::Ibmvscsi)
    } else if caps.has("lsi") {
        Some(ControllerModel::Lsilogic)
    } else if caps.has("virtio-scsi") {
        Some(ControllerModel::VirtioScsi)
    } else {
        None
    };
    let layout = ScsiLayout::with_default(d, default_model.unwrap_or(ControllerModel::Lsilogic));
    let placed = layout.placed.iter().map(|p| (p.item, p.addr)).collect();

    let mut ctrls: Vec<Ctrl> = Vec::new();
    for (i, c) in d.devices.controllers() {
        if default_model.is_none()
            && c.kind == ControllerType::Scsi
            && matches!(c.model, None | Some(ControllerModel::Auto))
        {
            return Err(default_unavailable(c.idx()));
        }
        let model = if c.kind == ControllerType::Scsi {
            layout.model_of(c.idx())
        } else {
            None
        };
        insert_ctrl(
            &mut ctrls,
            Ctrl {
                key: Key::Item(i),
                kind: c.kind,
                idx: c.idx(),
                model,
                def: Some(c),
            },
        );
    }
    // Implicit controllers are appended (virDomainDefAddController), so they come after every
    // defined one in PCI assignment, in the order libvirt adds them: SCSI controllers for
    // hostdevs (while parsing), the default USB controller (QEMU post-parse), then SCSI
    // controllers for disks and searched hostdevs (domain post-parse). On q35 that order
    // decides which root port each gets (checked against libvirt 9.0).
    let scsi_implicit = |idx: u32| Ctrl {
        key: Key::Scsi(idx),
        kind: ControllerType::Scsi,
        idx,
        model: layout.model_of(idx),
        def: None,
    };
    if default_model.is_none() {
        if let Some(&idx) = layout.implicit.first() {
            return Err(default_unavailable(idx));
        }
    }
    let (at_parse, after) = layout.implicit.split_at(layout.implicit_at_parse);
    for &idx in at_parse {
        ctrls.push(scsi_implicit(idx));
    }
    let x86 = matches!(arch, "x86_64" | "i686");
    if x86 && !ctrls.iter().any(|c| c.kind == ControllerType::Usb) {
        ctrls.push(Ctrl {
            key: Key::Usb,
            kind: ControllerType::Usb,
            idx: 0,
            model: None,
            def: None,
        });
    }
    for &idx in after {
        ctrls.push(scsi_implicit(idx));
    }
    // Only some machines have the NCR 53C90 (ESP) built in (qemuDomainHasBuiltinESP).
    let builtin_esp = arch.starts_with("sparc") || (arch == "m68k" && machine.contains("q800"));
    for c in &ctrls {
        if let Some(m) = c.model {
            check_scsi_model(c, m, caps)?;
            if m == ControllerModel::Ncr53c90 && !builtin_esp {
                return Err(EmitError::new(
                    format!("controller scsi{}", c.idx),
                    "unsupported",
                    "ncr53c90 SCSI controller is not a built-in for this machine",
                )
                .hint("use am53c974 or dc390 (PCI ESP variants), or another SCSI model"));
            }
        }
    }

    let emulator = d.devices.emulator().map(str::to_string).unwrap_or_else(|| {
        // QEMU names its 32-bit x86 binary after i386, not i686.
        let bin = if arch == "i686" { "i386" } else { arch };
        format!("/usr/bin/qemu-system-{bin}")
    });
    let run_dir = opts
        .run_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/run/domxml").join(&name));
    let mut b = B {
        d,
        paths: d.devices.paths(),
        scsi_aliases: HashMap::new(),
        disk_order: disk_order(d),
        opts,
        lookup,
        layout,
        placed,
        ctrls,
        pci: HashMap::new(),
        ccw: HashMap::new(),
        bridges: Vec::new(),
        pcie_controllers: Vec::new(),
        spapr: HashMap::new(),
        boot: HashMap::new(),
        passed_sg: HashMap::new(),
        out: QemuArgs::new(emulator),
        notes: Vec::new(),
        run_dir,
        root_bus: if q35 { "pcie.0" } else { "pci.0" },
    };
    b.scsi_aliases = b
        .ctrls
        .iter()
        .filter(|c| c.kind == ControllerType::Scsi)
        .map(|c| (c.idx, c.idx))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(k, idx)| (k, b.scsi_alias(idx)))
        .collect();
    if arch == "s390x" {
        b.assign_ccw();
    } else {
        b.assign_pci(q35)?;
    }
    b.assign_spapr();
    b.assign_boot();
    b.preamble(&name, &machine, accel, arch)?;
    b.controllers()?;
    b.disks()?;
    b.hostdevs()?;
    b.whole_host_controllers()?;
    b.balloon();
    Ok(Converted {
        args: b.out,
        notes: b.notes,
    })
}

fn default_unavailable(idx: u32) -> EmitError {
    EmitError::new(
        format!("controller scsi{idx}"),
        "controller-scsi-default-unavailable",
        format!("Unable to determine model for SCSI controller idx={idx}"),
    )
    .hint("this QEMU has neither the lsi nor the virtio-scsi device: set model= to a controller it has")
}

/// libvirt's `qemuValidateCheckSCSIControllerModel`, for the devices a build may lack.
fn check_scsi_model(c: &Ctrl, m: ControllerModel, caps: &super::Caps) -> Result<(), EmitError> {
    let (dev, what) = match m {
        ControllerModel::Lsilogic => ("lsi", "the LSI 53C895A SCSI controller"),
        m if m.is_virtio() => ("virtio-scsi", "virtio scsi controller"),
        ControllerModel::Lsisas1068 => ("mptsas1068", "the LSI SAS1068 (MPT Fusion) controller"),
        ControllerModel::Lsisas1078 => ("megasas", "the LSI SAS1078 (MegaRAID) controller"),
        ControllerModel::Vmpvscsi => ("pvscsi", "the pvscsi (VMware paravirtual SCSI) controller"),
        ControllerModel::Am53c974 => ("am53c974", "the AM53C974 (ESP) controller"),
        ControllerModel::Dc390 => ("dc390", "the DC390 (ESP) controller"),
        ControllerModel::Auto | ControllerModel::Buslogic => {
            return Err(EmitError::new(
                format!("controller scsi{}", c.idx),
                "unsupported",
                format!("Unsupported controller model: {m}"),
            ))
        }
        _ => return Ok(()),
    };
    if caps.has(dev) {
        Ok(())
    } else {
        Err(EmitError::new(
            format!("controller scsi{}", c.idx),
            "unsupported",
            format!("This QEMU doesn't support {what}"),
        )
        .hint("pick a SCSI controller model this QEMU build has"))
    }
}

/// The explicit PCI address of an element kept verbatim (`<interface>`, `<video>`, …).
fn other_pci(e: &Element) -> Option<Option<(u32, u32)>> {
    let a = e.elements().find(|c| c.name == "address")?;
    if a.attr("type") != Some("pci") {
        return Some(None);
    }
    let num = |k: &str| {
        a.attr(k)
            .and_then(crate::model::Hex::parse)
            .map(|h| h.0)
            .unwrap_or(0)
    };
    Some(Some((num("bus"), num("slot"))))
}

fn model_attr(e: &Element) -> Option<&str> {
    e.attr("model").or_else(|| {
        e.elements()
            .find(|c| c.name == "model")
            .and_then(|m| m.attr("type"))
    })
}

impl<'a> B<'a> {
    fn item_path(&self, i: usize) -> String {
        self.paths[i].clone()
    }

    /// PCI slots (`qemuDomainAssignDevicePCISlots`).
    fn assign_pci(&mut self, q35: bool) -> Result<(), EmitError> {
        let mut slots = PciSlots::new();
        if q35 {
            slots.reserve(0, 0x1f);
        } else {
            slots.reserve(0, 1);
        }
        // Explicit addresses.
        for (i, item) in self.d.devices.items.iter().enumerate() {
            let addr = match item {
                crate::model::Device::Disk(x) => x.address.as_ref(),
                crate::model::Device::Controller(x) => x.address.as_ref(),
                crate::model::Device::Hostdev(x) => x.address.as_ref(),
                crate::model::Device::Other(e) => {
                    if let Some(Some((bus, slot))) = other_pci(e) {
                        slots.reserve(bus, slot);
                    }
                    None
                }
                _ => None,
            };
            if let Some(DeviceAddress::Pci(p, _)) = addr {
                let bus = p.bus.unwrap_or_default().0;
                if bus != 0 {
                    return Err(EmitError::new(
                        self.item_path(i),
                        "unsupported",
                        format!("PCI bus {bus} is not emitted by domxml: only devices on the root bus are"),
                    )
                    .hint("put the device on bus='0x00' or drop its <address> to let domxml place it"));
                }
                let s = Slot {
                    bus,
                    slot: p.slot.unwrap_or_default().0,
                    function: p.function.unwrap_or_default().0,
                };
                slots.reserve(0, s.slot);
                self.pci.insert(Key::Item(i), s);
            }
        }
        let legacy = self.opts.caps.version < QemuVersion::BLOCKDEV;
        let others: Vec<(usize, &Element)> = self
            .d
            .devices
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match x {
                crate::model::Device::Other(e) => Some((i, e)),
                _ => None,
            })
            .collect();
        let wants = |e: &Element| other_pci(e).is_none();
        // The primary video card takes slot 2 on i440fx; libvirt 5.x (the legacy syntax era)
        // reserved slot 2 for it even without a video device.
        let video = others
            .iter()
            .find(|(_, e)| e.name == "video" && model_attr(e) != Some("none"));
        if q35 {
            // The primary video card sits on pcie.0 slot 1.
            if let Some((_, e)) = video {
                if wants(e) && !slots.is_used(0, 1) {
                    slots.reserve(0, 1);
                }
            }
        } else {
            match video {
                Some((_, e)) if wants(e) && !slots.is_used(0, 2) => slots.reserve(0, 2),
                None if legacy => slots.reserve(0, 2),
                _ => {}
            }
        }
        // Devices that want a slot, in libvirt's order; `None` for devices domxml does not
        // emit but which still take their slot.
        // The flag says whether the device is PCI Express capable (on q35 it gets a root port)
        // or conventional PCI only (it goes behind a pcie-pci-bridge).
        let mut wants_slot: Vec<(Option<Key>, String, bool)> = Vec::new();
        for (_, e) in others.iter().filter(|(_, e)| e.name == "interface") {
            if wants(e) && e.attr("type") != Some("hostdev") {
                wants_slot.push((None, "interface".into(), true));
            }
        }
        for (_, e) in others.iter().filter(|(_, e)| e.name == "sound") {
            if wants(e) && !matches!(e.attr("model"), Some("sb16" | "pcspk" | "usb")) {
                wants_slot.push((None, "sound".into(), true));
            }
        }
        let ctrls = self.ctrls.clone();
        for c in &ctrls {
            if c.address().is_some() {
                continue;
            }
            let needs = match c.kind {
                ControllerType::Pci
                | ControllerType::Fdc
                | ControllerType::Ccid
                | ControllerType::Xenbus
                | ControllerType::Isa => false,
                ControllerType::Ide => c.idx != 0,
                ControllerType::Sata => !(q35 && c.idx == 0),
                ControllerType::Usb => match c.other_model() {
                    Some("none") => false,
                    None | Some("piix3-uhci") if c.idx == 0 && !q35 => {
                        // PIIX3's own USB function.
                        self.pci.insert(
                            c.key,
                            Slot {
                                bus: 0,
                                slot: 1,
                                function: 2,
                            },
                        );
                        false
                    }
                    _ => true,
                },
                ControllerType::Scsi => !matches!(
                    c.model,
                    Some(ControllerModel::Ibmvscsi) | Some(ControllerModel::Ncr53c90)
                ),
                _ => true,
            };
            if needs {
                let pcie = match c.kind {
                    ControllerType::Scsi => matches!(
                        c.model,
                        Some(ControllerModel::VirtioScsi)
                            | Some(ControllerModel::VirtioNonTransitional)
                    ),
                    ControllerType::Usb => {
                        matches!(c.other_model(), Some("qemu-xhci" | "nec-xhci"))
                            || (c.def.is_none() && q35)
                    }
                    _ => true,
                };
                wants_slot.push((Some(c.key), format!("controller {}{}", c.kind, c.idx), pcie));
            }
        }
        for &i in &self.disk_order.clone() {
            let crate::model::Device::Disk(disk) = &self.d.devices.items[i] else {
                continue;
            };
            if disk.bus() == Some(DiskBus::Virtio) && disk.address.is_none() {
                wants_slot.push((Some(Key::Item(i)), self.item_path(i), true));
            }
        }
        for (i, h) in self.d.devices.hostdevs() {
            if matches!(h.kind, HostdevType::Pci | HostdevType::ScsiHost) && h.address.is_none() {
                wants_slot.push((Some(Key::Item(i)), self.item_path(i), true));
            }
        }
        match others.iter().find(|(_, e)| e.name == "memballoon") {
            Some((i, e)) if e.attr("model") == Some("virtio") => match other_pci(e) {
                Some(Some((bus, slot))) => {
                    self.pci.insert(
                        Key::Item(*i),
                        Slot {
                            bus,
                            slot,
                            function: 0,
                        },
                    );
                }
                _ => wants_slot.push((Some(Key::Item(*i)), "memballoon".into(), true)),
            },
            Some(_) => {}
            None if matches!(self.d.arch().unwrap_or("x86_64"), "x86_64" | "i686") => {
                wants_slot.push((Some(Key::Balloon), "memballoon".into(), true));
            }
            None => {}
        }

        let user_pci_controllers = self.d.devices.controllers().any(|(_, c)| {
            c.kind == ControllerType::Pci && c.other_model.as_deref() != Some("pcie-root")
        });
        if q35 && !user_pci_controllers {
            return self.place_behind_root_ports(slots, wants_slot);
        }
        // When the root bus cannot hold them all, libvirt adds as many pci-bridge controllers
        // as needed; each takes a root-bus slot first (PCI controllers are placed before
        // everything else) and offers slots 1..31; devices then fill the root bus, then each
        // bridge in turn.
        let free0 = (1..super::pci::SLOTS)
            .filter(|&sl| !slots.is_used(0, sl))
            .count();
        let n = wants_slot.len();
        let mut bridges = 0usize;
        if n > free0 && !q35 {
            while free0 - bridges + 31 * bridges < n {
                bridges += 1;
                if bridges >= free0 {
                    break;
                }
            }
        }
        for b in 1..=bridges {
            let s = slots.take_next().ok_or_else(|| {
                EmitError::new(
                    "controller pci",
                    "unsupported",
                    "no PCI slot left for a pci-bridge",
                )
            })?;
            self.bridges.push((b as u32, s));
        }
        slots.add_bridge_buses(bridges as u32);
        for (key, what, _) in wants_slot {
            let s = slots.take_next().ok_or_else(|| {
                EmitError::new(what, "unsupported", "no free PCI slot is left")
                    .hint("give devices explicit addresses, or use fewer PCI devices")
            })?;
            if let Some(k) = key {
                self.pci.insert(k, s);
            }
        }
        Ok(())
    }

    /// q35 placement as libvirt does it: every PCI Express device gets its own
    /// `pcie-root-port` (ports on pcie.0 slot 1 functions 0..7, then slot 2, …), conventional
    /// PCI devices go behind a `pcie-pci-bridge` that itself sits on the first root port, and
    /// one spare root port is added for hotplug. Controller indices follow the order in which
    /// the devices asked for them (a bridge right after its root port); then root ports are
    /// handed out in index order, bridges first.
    fn place_behind_root_ports(
        &mut self,
        mut slots: PciSlots,
        wants_slot: Vec<(Option<Key>, String, bool)>,
    ) -> Result<(), EmitError> {
        // Indices: (index, is_bridge).
        let mut next_index = 1u32;
        let mut ports: Vec<u32> = Vec::new();
        let mut bridges: Vec<u32> = Vec::new();
        let mut bridge_free = 0u32;
        for (_, _, pcie) in &wants_slot {
            if *pcie {
                ports.push(next_index);
                next_index += 1;
            } else {
                if bridge_free == 0 {
                    ports.push(next_index);
                    bridges.push(next_index + 1);
                    next_index += 2;
                    bridge_free = 31;
                }
                bridge_free -= 1;
            }
        }
        if !ports.is_empty() {
            ports.push(next_index);
        }
        // Root ports on pcie.0, eight functions per slot.
        let mut placed_ports: Vec<(u32, Slot)> = Vec::new();
        let mut slot = 0u32;
        let mut func = 8u32;
        for &idx in &ports {
            if func == 8 {
                slot += 1;
                while slots.is_used(0, slot) {
                    slot += 1;
                }
                if slot >= super::pci::SLOTS {
                    return Err(EmitError::new(
                        "controller pci",
                        "unsupported",
                        "no free pcie.0 slot is left for a pcie-root-port",
                    ));
                }
                slots.reserve(0, slot);
                func = 0;
            }
            placed_ports.push((
                idx,
                Slot {
                    bus: 0,
                    slot,
                    function: func,
                },
            ));
            func += 1;
        }
        let mut free_ports: std::collections::VecDeque<u32> = ports.iter().copied().collect();
        let mut bridge_parent: Vec<(u32, u32)> = Vec::new();
        for &b in &bridges {
            let parent = free_ports.pop_front().ok_or_else(|| {
                EmitError::new(
                    "controller pci",
                    "unsupported",
                    "no root port left for a bridge",
                )
            })?;
            bridge_parent.push((b, parent));
        }
        let mut bridge_iter = bridges.iter().copied();
        let mut current_bridge: Option<(u32, u32)> = None; // (index, next slot)
        for (key, what, pcie) in wants_slot {
            let s = if pcie {
                let port = free_ports.pop_front().ok_or_else(|| {
                    EmitError::new(what.clone(), "unsupported", "no pcie-root-port left")
                })?;
                Slot {
                    bus: port,
                    slot: 0,
                    function: 0,
                }
            } else {
                if current_bridge.is_none_or(|(_, next)| next >= super::pci::SLOTS) {
                    let b = bridge_iter.next().ok_or_else(|| {
                        EmitError::new(what.clone(), "unsupported", "no pcie-pci-bridge slot left")
                    })?;
                    current_bridge = Some((b, 1));
                }
                let (b, next) = current_bridge.expect("set above");
                current_bridge = Some((b, next + 1));
                Slot {
                    bus: b,
                    slot: next,
                    function: 0,
                }
            };
            if let Some(k) = key {
                self.pci.insert(k, s);
            }
        }
        // Count functions per slot for the multifunction flag.
        let mut per_slot: HashMap<u32, u32> = HashMap::new();
        for (_, s) in &placed_ports {
            *per_slot.entry(s.slot).or_default() += 1;
        }
        for (k, (idx, s)) in placed_ports.into_iter().enumerate() {
            let multi = s.function == 0 && per_slot[&s.slot] > 1;
            self.pcie_controllers.push((
                idx,
                PcieCtrl::RootPort {
                    port: 8 + k as u32,
                    slot: s,
                    multi,
                },
            ));
        }
        for (b, parent) in bridge_parent {
            self.pcie_controllers.push((b, PcieCtrl::Bridge { parent }));
        }
        self.pcie_controllers.sort_by_key(|(i, _)| *i);
        Ok(())
    }

    /// CCW addresses on s390x (`qemuDomainAssignS390Addresses`): explicit ones are reserved,
    /// then every virtio device without one takes the next free device number in channel
    /// subsystem 0xfe, in libvirt's device-iteration order (disks, network interfaces,
    /// hostdevs, controllers, inputs, the balloon).
    fn assign_ccw(&mut self) {
        let mut used: std::collections::HashSet<(u32, u32, u32)> = Default::default();
        let ccw_of = |a: &crate::model::CcwAddress| {
            (
                a.cssid.unwrap_or_default().0,
                a.ssid.unwrap_or_default().0,
                a.devno.unwrap_or_default().0,
            )
        };
        let other_ccw = |e: &Element| -> Option<(u32, u32, u32)> {
            let a = e
                .elements()
                .find(|c| c.name == "address" && c.attr("type") == Some("ccw"))?;
            let num = |k: &str| {
                a.attr(k)
                    .and_then(crate::model::Hex::parse)
                    .map(|h| h.0)
                    .unwrap_or(0)
            };
            Some((num("cssid"), num("ssid"), num("devno")))
        };
        let fmt = |(c, s, d): (u32, u32, u32)| format!("{c:x}.{s:x}.{d:04x}");
        for (i, item) in self.d.devices.items.iter().enumerate() {
            let explicit = match item {
                crate::model::Device::Disk(x) => match &x.address {
                    Some(DeviceAddress::Ccw(a, _)) => Some(ccw_of(a)),
                    _ => None,
                },
                crate::model::Device::Controller(x) => match &x.address {
                    Some(DeviceAddress::Ccw(a, _)) => Some(ccw_of(a)),
                    _ => None,
                },
                crate::model::Device::Hostdev(x) => match &x.address {
                    Some(DeviceAddress::Ccw(a, _)) => Some(ccw_of(a)),
                    _ => None,
                },
                crate::model::Device::Other(e) => other_ccw(e),
                _ => None,
            };
            if let Some(a) = explicit {
                used.insert(a);
                self.ccw.insert(Key::Item(i), fmt(a));
            }
        }
        let mut next = 0u32;
        let mut take = |used: &mut std::collections::HashSet<(u32, u32, u32)>| loop {
            let a = (0xfe, 0, next);
            next += 1;
            if used.insert(a) {
                return fmt(a);
            }
        };
        let mut wanted: Vec<Key> = Vec::new();
        for &i in &self.disk_order {
            if let crate::model::Device::Disk(x) = &self.d.devices.items[i] {
                if x.bus() == Some(DiskBus::Virtio) && x.address.is_none() {
                    wanted.push(Key::Item(i));
                }
            }
        }
        let others: Vec<(usize, &Element)> = self
            .d
            .devices
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match x {
                crate::model::Device::Other(e) => Some((i, e)),
                _ => None,
            })
            .collect();
        for (i, e) in &others {
            if e.name == "interface" && other_ccw(e).is_none() {
                wanted.push(Key::Item(*i));
            }
        }
        for (i, h) in self.d.devices.hostdevs() {
            if h.kind == HostdevType::ScsiHost && h.address.is_none() {
                wanted.push(Key::Item(i));
            }
        }
        for c in &self.ctrls {
            let virtio =
                c.model.is_some_and(|m| m.is_virtio()) || c.kind == ControllerType::VirtioSerial;
            if virtio && c.address().is_none() {
                wanted.push(c.key);
            }
        }
        for (i, e) in &others {
            if e.name == "input" && e.attr("bus") == Some("virtio") && other_ccw(e).is_none() {
                wanted.push(Key::Item(*i));
            }
        }
        match others.iter().find(|(_, e)| e.name == "memballoon") {
            Some((i, e)) if e.attr("model") == Some("virtio") && other_ccw(e).is_none() => {
                wanted.push(Key::Item(*i))
            }
            Some(_) => {}
            None => wanted.push(Key::Balloon),
        }
        for k in wanted {
            let a = take(&mut used);
            self.ccw.insert(k, a);
        }
    }

    /// spapr-vio `reg` of ibmvscsi controllers: 0x2000 upward (libvirt's `VIO_ADDR_SCSI`).
    fn assign_spapr(&mut self) {
        let mut reg = 0x2000u64;
        for c in self.ctrls.clone() {
            if c.model != Some(ControllerModel::Ibmvscsi) {
                continue;
            }
            let explicit = match c.address() {
                Some(DeviceAddress::Other { kind, attrs, .. }) if kind == "spapr-vio" => attrs
                    .iter()
                    .find(|(k, _)| k == "reg")
                    .and_then(|(_, v)| crate::model::Hex::parse(v))
                    .map(|h| u64::from(h.0)),
                _ => None,
            };
            let r = explicit.unwrap_or_else(|| {
                let r = reg;
                reg += 0x1000;
                r
            });
            self.spapr.insert(c.key, r);
        }
    }

    /// Boot indexes: per-device `<boot order>` when any is given, else `<os><boot dev>` mapped
    /// to the first disk of each kind (hd → first disk or lun, cdrom, fd), as libvirt does.
    fn assign_boot(&mut self) {
        let mut per_device = false;
        for (i, item) in self.d.devices.items.iter().enumerate() {
            let order = match item {
                crate::model::Device::Disk(x) => x.boot.as_ref().and_then(|b| b.order),
                crate::model::Device::Hostdev(x) => x.boot.as_ref().and_then(|b| b.order),
                crate::model::Device::Other(e) => {
                    if e.elements().any(|c| c.name == "boot") {
                        per_device = true;
                    }
                    None
                }
                _ => None,
            };
            if let Some(o) = order {
                per_device = true;
                self.boot.insert(i, o);
            }
        }
        if per_device {
            return;
        }
        let devs: Vec<String> = self
            .d
            .os
            .as_ref()
            .map(|os| {
                os.other
                    .iter()
                    .filter(|e| e.name == "boot")
                    .filter_map(|e| e.attr("dev").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let devs = if devs.is_empty() {
            vec!["hd".to_string()]
        } else {
            devs
        };
        for (pos, dev) in devs.iter().enumerate() {
            let want = |d: &Disk| match dev.as_str() {
                "hd" => matches!(d.device(), DiskDevice::Disk | DiskDevice::Lun),
                "cdrom" => d.device() == DiskDevice::Cdrom,
                "fd" => d.device() == DiskDevice::Floppy,
                _ => false,
            };
            let first = self.disk_order.iter().copied().find(
                |&i| matches!(&self.d.devices.items[i], crate::model::Device::Disk(x) if want(x)),
            );
            if let Some(i) = first {
                self.boot.insert(i, pos as u32 + 1);
            }
        }
    }

    fn object(&mut self, props: Props) {
        if self.opts.caps.object_json() {
            self.out.json("-object", &props);
        } else {
            self.out.keyval("-object", &props, Some("qom-type"));
        }
    }

    fn device(&mut self, props: Props) {
        if self.opts.caps.device_json() {
            self.out.json("-device", &props);
        } else {
            self.out.keyval("-device", &props, Some("driver"));
        }
    }

    fn preamble(
        &mut self,
        name: &str,
        machine: &str,
        accel: &str,
        arch: &str,
    ) -> Result<(), EmitError> {
        let caps = self.opts.caps.clone();
        self.out.opt(
            "-name",
            format!("guest={},debug-threads=on", super::escape_keyval(name)),
        );
        // One shared pr-helper for every managed <reservations>.
        let managed_pr = self.d.devices.disks().any(|(_, d)| {
            d.source
                .as_ref()
                .and_then(|s| s.reservations.as_ref())
                .is_some_and(|r| r.managed == Some(YesNo::Yes))
        });
        if managed_pr {
            let path = self.run_dir.join("pr-helper0.sock");
            self.object(
                Props::new()
                    .s("qom-type", "pr-manager-helper")
                    .s("id", "pr-helper0")
                    .s("path", path.to_string_lossy()),
            );
        }
        let m = super::escape_keyval(machine);
        if caps.version >= QemuVersion::ACCEL_OPTION {
            self.out
                .opt("-machine", format!("{m},usb=off,dump-guest-core=off"));
            self.out.opt("-accel", accel);
        } else {
            self.out.opt(
                "-machine",
                format!("{m},accel={accel},usb=off,dump-guest-core=off"),
            );
        }
        self.out.opt("-cpu", self.cpu_model(arch, accel));
        let kib = self
            .d
            .memory
            .as_ref()
            .and_then(|m| m.kib())
            .unwrap_or(1024 * 1024)
            .div_ceil(1024)
            * 1024;
        if caps.blockdev() {
            self.out.opt("-m", format!("size={kib}k"));
        } else {
            self.out.opt("-m", (kib / 1024).to_string());
        }
        let vcpus = self.d.vcpu.as_ref().map(|v| v.count).unwrap_or(1).max(1);
        self.out
            .opt("-smp", format!("{vcpus},sockets={vcpus},cores=1,threads=1"));
        for id in self.d.iothread_ids() {
            self.object(
                Props::new()
                    .s("qom-type", "iothread")
                    .s("id", format!("iothread{id}")),
            );
        }
        if let Some(u) = &self.d.uuid {
            self.out.opt("-uuid", u.to_string());
        }
        self.out.opt("-display", "none");
        self.out.flag("-no-user-config");
        self.out.flag("-nodefaults");
        let sock = self.run_dir.join("monitor.sock");
        self.out.opt(
            "-chardev",
            format!(
                "socket,id=charmonitor,path={},server=on,wait=off",
                super::escape_keyval(&sock.to_string_lossy())
            ),
        );
        self.out
            .opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
        self.out.opt("-boot", "strict=on");
        Ok(())
    }

    /// `<cpu mode='custom'><model>X</model>` → X; host-passthrough/host-model → host; else
    /// QEMU's default model for the architecture, which is what libvirt passes for TCG.
    fn cpu_model(&self, arch: &str, accel: &str) -> String {
        if let Some(cpu) = self.d.other.iter().find(|e| e.name == "cpu") {
            match cpu.attr("mode") {
                Some("host-passthrough") | Some("host-model") if accel == "kvm" => {
                    return "host".into()
                }
                Some("maximum") => return "max".into(),
                _ => {}
            }
            if let Some(m) = cpu.elements().find(|e| e.name == "model") {
                let t = m.text();
                let t = t.trim();
                if !t.is_empty() {
                    return t.to_string();
                }
            }
        }
        match arch {
            "i686" => "qemu32".into(),
            _ => "qemu64".into(),
        }
    }

    /// The address keys of a PCI or (s390x) CCW device.
    fn pci_props(&self, key: Key, p: Props) -> Props {
        if let Some(devno) = self.ccw.get(&key) {
            return p.s("devno", devno.clone());
        }
        match self.pci.get(&key) {
            Some(s) => p
                .s(
                    "bus",
                    if s.bus == 0 {
                        self.root_bus.to_string()
                    } else {
                        format!("pci.{}", s.bus)
                    },
                )
                .s("addr", s.addr()),
            None => p,
        }
    }

    fn scsi_alias(&self, idx: u32) -> String {
        if let Some(a) = self.scsi_aliases.get(&idx) {
            return a.clone();
        }
        self.ctrls
            .iter()
            .find(|c| c.kind == ControllerType::Scsi && c.idx == idx)
            .and_then(|c| {
                if let Some(a) = c.def.and_then(|d| d.alias.as_ref()) {
                    if a.starts_with("ua-") {
                        return Some(a.clone());
                    }
                }
                (idx == 0 && c.model == Some(ControllerModel::Ncr53c90)).then(|| "scsi".into())
            })
            .unwrap_or_else(|| format!("scsi{idx}"))
    }

    /// Controllers: USB, then SCSI, then SATA, each group in libvirt's list order
    /// (`qemuBuildControllersCommandLine`).
    fn controllers(&mut self) -> Result<(), EmitError> {
        for (idx, c) in self.pcie_controllers.clone() {
            let p = match c {
                PcieCtrl::RootPort { port, slot, multi } => {
                    let mut p = Props::new()
                        .s("driver", "pcie-root-port")
                        .n("port", u64::from(port))
                        .n("chassis", u64::from(idx))
                        .s("id", format!("pci.{idx}"))
                        .s("bus", "pcie.0");
                    if multi {
                        p = p.b("multifunction", true);
                    }
                    p.s("addr", slot.addr())
                }
                PcieCtrl::Bridge { parent } => Props::new()
                    .s("driver", "pcie-pci-bridge")
                    .s("id", format!("pci.{idx}"))
                    .s("bus", format!("pci.{parent}"))
                    .s("addr", "0x0"),
            };
            self.device(p);
        }
        for (b, slot) in self.bridges.clone() {
            self.device(
                Props::new()
                    .s("driver", "pci-bridge")
                    .n("chassis_nr", u64::from(b))
                    .s("id", format!("pci.{b}"))
                    .s("bus", self.root_bus)
                    .s("addr", slot.addr()),
            );
        }
        let ctrls = self.ctrls.clone();
        for c in ctrls.iter().filter(|c| c.kind == ControllerType::Usb) {
            let model = match c.other_model() {
                Some("none") => continue,
                // libvirt's default USB model: PIIX3's UHCI on i440fx, qemu-xhci on q35.
                // An implicit controller on q35 is qemu-xhci; one written without a model
                // is PIIX3's UHCI everywhere (checked against libvirt 9.0).
                None if self.root_bus == "pcie.0" && c.def.is_none() => "qemu-xhci",
                None | Some("piix3-uhci") => "piix3-usb-uhci",
                Some("piix4-uhci") => "piix4-usb-uhci",
                Some("qemu-xhci") => "qemu-xhci",
                Some("nec-xhci") => "nec-usb-xhci",
                Some("ich9-ehci1") => "ich9-usb-ehci1",
                Some(other) => {
                    self.notes.push(format!(
                        "USB controller model '{other}' is not emitted by domxml"
                    ));
                    continue;
                }
            };
            let id = if c.idx == 0 {
                "usb".to_string()
            } else {
                format!("usb{}", c.idx)
            };
            let p = self.pci_props(c.key, Props::new().s("driver", model).s("id", id));
            self.device(p);
        }
        for c in ctrls.iter().filter(|c| c.kind == ControllerType::Scsi) {
            let Some(model) = c.model else { continue };
            self.scsi_controller(c, model)?;
        }
        for c in ctrls.iter().filter(|c| c.kind == ControllerType::Sata) {
            if !self.pci.contains_key(&c.key) {
                continue;
            }
            let p = self.pci_props(
                c.key,
                Props::new()
                    .s("driver", "ich9-ahci")
                    .s("id", format!("sata{}", c.idx)),
            );
            self.device(p);
        }
        Ok(())
    }

    /// `qemuBuildControllerSCSIDevProps`.
    fn scsi_controller(&mut self, c: &Ctrl, model: ControllerModel) -> Result<(), EmitError> {
        let id = self.scsi_alias(c.idx);
        let where_ = format!("controller {id}");
        let drv = c.def.and_then(|d| d.driver.as_ref());
        let p = match model {
            m if m.is_virtio() => {
                let ccw = self.ccw.contains_key(&c.key);
                let mut name = if ccw {
                    "virtio-scsi-ccw".to_string()
                } else {
                    "virtio-scsi-pci".to_string()
                };
                if !ccw {
                    match m {
                        ControllerModel::VirtioTransitional => name.push_str("-transitional"),
                        ControllerModel::VirtioNonTransitional => {
                            name.push_str("-non-transitional")
                        }
                        _ => {}
                    }
                }
                let mut p = Props::new().s("driver", name);
                if let Some(t) = drv.and_then(|d| d.iothread) {
                    p = p.s("iothread", format!("iothread{t}"));
                }
                p = p.s("id", id.clone());
                if let Some(dr) = drv {
                    p = p
                        .on("num_queues", dr.queues.map(u64::from))
                        .on("cmd_per_lun", dr.cmd_per_lun.map(u64::from))
                        .on("max_sectors", dr.max_sectors.map(u64::from));
                    if let Some(io) = dr.ioeventfd {
                        p = p.b("ioeventfd", io == crate::model::OnOff::On);
                    }
                }
                p
            }
            ControllerModel::Ncr53c90 => return Ok(()),
            ControllerModel::Ibmvscsi => {
                let reg = self.spapr.get(&c.key).copied().unwrap_or(0x2000);
                self.device(
                    Props::new()
                        .s("driver", "spapr-vscsi")
                        .s("id", id)
                        .n("reg", reg),
                );
                return Ok(());
            }
            other => {
                let driver = match other {
                    ControllerModel::Lsilogic => "lsi",
                    ControllerModel::Lsisas1068 => "mptsas1068",
                    ControllerModel::Lsisas1078 => "megasas",
                    ControllerModel::Vmpvscsi => "pvscsi",
                    ControllerModel::Am53c974 => "am53c974",
                    // libvirt writes "dc-390", a name QEMU does not have (see deviations.md).
                    ControllerModel::Dc390 => "dc390",
                    m => {
                        return Err(EmitError::new(
                            where_,
                            "unsupported",
                            format!("Unsupported controller model: {m}"),
                        ))
                    }
                };
                Props::new().s("driver", driver).s("id", id)
            }
        };
        let p = self.pci_props(c.key, p);
        self.device(p);
        Ok(())
    }

    /// The `-device` address keys of a SCSI device (`qemuBuildDeviceAddressProps`, drive case).
    fn scsi_address(&self, addr: (u32, u32, u32, u32)) -> Props {
        let (c, bus, target, unit) = addr;
        let alias = self.scsi_alias(c);
        match self.layout.model_of(c) {
            Some(m) if m.is_lsi_style() => Props::new()
                .s("bus", format!("{alias}.{bus}"))
                .n("scsi-id", u64::from(unit)),
            _ => Props::new()
                .s("bus", format!("{alias}.0"))
                .n("channel", u64::from(bus))
                .n("scsi-id", u64::from(target))
                .n("lun", u64::from(unit)),
        }
    }

    fn disks(&mut self) -> Result<(), EmitError> {
        let disks: Vec<(usize, &'a Disk)> = self
            .disk_order
            .iter()
            .filter_map(|&i| match &self.d.devices.items[i] {
                crate::model::Device::Disk(x) => Some((i, &**x)),
                _ => None,
            })
            .collect();
        // Node names count down from the last disk that has storage.
        let with_storage = disks.iter().filter(|(_, d)| has_storage(d)).count() as u64;
        let mut n = with_storage;
        for (i, disk) in disks {
            let node = if has_storage(disk) {
                let v = n;
                n -= 1;
                Some(v)
            } else {
                None
            };
            self.disk(i, disk, node)?;
        }
        Ok(())
    }

    fn disk_alias(&self, i: usize, disk: &Disk, bus: DiskBus) -> Result<String, EmitError> {
        if let Some(a) = disk.alias.as_ref().filter(|a| a.starts_with("ua-")) {
            return Ok(a.clone());
        }
        let drive = match &disk.address {
            Some(DeviceAddress::Drive(a, _)) => Some(a.tuple()),
            Some(_) => None,
            None => self.placed.get(&i).copied().or_else(|| {
                let name = parse_disk_name(disk.dev()?).ok()?;
                drive_address_for_index(bus, name.index).map(|a| a.tuple())
            }),
        };
        Ok(match (bus, drive) {
            (DiskBus::Scsi, Some((c, b, t, u))) => {
                if self.layout.model_of(c) == Some(ControllerModel::Lsilogic) {
                    format!("scsi{c}-{b}-{u}")
                } else {
                    format!("scsi{c}-{b}-{t}-{u}")
                }
            }
            (DiskBus::Ide, Some((c, b, _, u))) => format!("ide{c}-{b}-{u}"),
            (DiskBus::Sata, Some((c, b, _, u))) => format!("sata{c}-{b}-{u}"),
            (DiskBus::Fdc, Some((c, b, _, u))) => format!("fdc{c}-{b}-{u}"),
            _ => {
                let idx = disk
                    .dev()
                    .and_then(|n| parse_disk_name(n).ok())
                    .map(|n| n.index)
                    .unwrap_or(0);
                format!("{}-disk{idx}", bus.as_str())
            }
        })
    }

    fn disk(&mut self, i: usize, disk: &'a Disk, node: Option<u64>) -> Result<(), EmitError> {
        let path = self.item_path(i);
        let caps = self.opts.caps.clone();
        let Some(bus) = disk.bus() else {
            return Err(EmitError::new(
                path,
                "unsupported",
                "the disk has no target bus",
            ));
        };
        if !matches!(
            bus,
            DiskBus::Scsi | DiskBus::Virtio | DiskBus::Ide | DiskBus::Sata
        ) {
            return Err(EmitError::new(
                path,
                "unsupported",
                format!("disks on bus '{bus}' are not emitted by domxml"),
            )
            .hint("use bus='scsi', 'virtio', 'sata' or 'ide'"));
        }
        if bus == DiskBus::Ide && self.root_bus == "pcie.0" {
            return Err(EmitError::new(
                path,
                "unsupported",
                "IDE controllers are unsupported for this QEMU binary or machine type",
            )
            .hint("q35 has no IDE: use bus='sata' (its built-in AHCI) or scsi/virtio"));
        }
        let alias = self.disk_alias(i, disk, bus)?;
        let device = disk.device();
        let drv = disk.driver.as_ref();
        if bus == DiskBus::Virtio
            && device == DiskDevice::Lun
            && caps.version >= QemuVersion::NO_VIRTIO_BLK_SCSI
        {
            return Err(EmitError::new(
                path,
                "virtio-lun",
                "This QEMU doesn't support SCSI emulation with 'virtio-blk' device",
            )
            .hint("QEMU 9.1 removed virtio-blk SCSI passthrough: put the LUN on a virtio-scsi controller (<target bus='scsi'>)"));
        }

        // Backend.
        let readonly = disk.readonly || device == DiskDevice::Cdrom;
        // Only raw images can be written by several hosts at once (libvirt's
        // qemuBlockStorageSourceSupportsConcurrentAccess).
        let format = drv.and_then(|d| d.format.as_deref()).unwrap_or("raw");
        if disk.shareable && !readonly && format != "raw" {
            return Err(EmitError::new(
                path,
                "unsupported",
                format!(
                    "shared access for disk '{}' requires use of supported storage format",
                    disk.dev().unwrap_or_default()
                ),
            )
            .hint(format!("a {format} image cannot be shared read-write: use a raw image, or mark the disk <readonly/>")));
        }
        let drive_ref = match node {
            Some(n) => Some(self.disk_backend(&path, disk, n, &alias, readonly)?),
            None => None,
        };

        // Front end.
        let boot = self.boot.get(&i).copied();
        let mut p;
        match bus {
            DiskBus::Scsi => {
                let driver = match device {
                    DiskDevice::Lun => "scsi-block",
                    DiskDevice::Cdrom => "scsi-cd",
                    _ => "scsi-hd",
                };
                let addr = match &disk.address {
                    Some(DeviceAddress::Drive(a, _)) => a.tuple(),
                    _ => self.placed.get(&i).copied().ok_or_else(|| {
                        EmitError::new(
                            path.clone(),
                            "unsupported",
                            "unexpected address type for scsi disk",
                        )
                    })?,
                };
                p = Props::new()
                    .s("driver", driver)
                    .extend(self.scsi_address(addr));
                if driver != "scsi-block" && caps.blockdev() {
                    p = p.s(
                        "device_id",
                        disk.serial
                            .clone()
                            .unwrap_or_else(|| format!("drive-{alias}")),
                    );
                }
            }
            DiskBus::Virtio => {
                p = Props::new().s(
                    "driver",
                    if self.ccw.contains_key(&Key::Item(i)) {
                        "virtio-blk-ccw"
                    } else {
                        "virtio-blk-pci"
                    },
                );
                if let Some(t) = drv.and_then(|d| d.iothread) {
                    p = p.s("iothread", format!("iothread{t}"));
                }
                if device == DiskDevice::Lun {
                    p = p.b("scsi", true);
                }
                p = p.on("num-queues", drv.and_then(|d| d.queues).map(u64::from));
                p = self.pci_props(Key::Item(i), p);
            }
            DiskBus::Ide | DiskBus::Sata => {
                let driver = if device == DiskDevice::Cdrom {
                    "ide-cd"
                } else {
                    "ide-hd"
                };
                let a = match &disk.address {
                    Some(DeviceAddress::Drive(a, _)) => a.tuple(),
                    _ => disk
                        .dev()
                        .and_then(|n| parse_disk_name(n).ok())
                        .and_then(|n| drive_address_for_index(bus, n.index))
                        .map(|a| a.tuple())
                        .unwrap_or((0, 0, 0, 0)),
                };
                p = Props::new().s("driver", driver);
                if bus == DiskBus::Ide {
                    p = p.s("bus", format!("ide.{}", a.1)).n("unit", u64::from(a.3));
                } else {
                    let q35 = self.root_bus == "pcie.0";
                    let sata = if a.0 == 0 && q35 {
                        "ide".to_string()
                    } else {
                        format!("sata{}", a.0)
                    };
                    p = p.s("bus", format!("{sata}.{}", a.3));
                }
            }
            _ => unreachable!("checked above"),
        }
        if disk.shareable {
            p = p.b("share-rw", true);
        }
        if let Some(r) = drive_ref {
            p = p.s("drive", r);
        }
        p = p.s("id", alias.clone());
        p = p.on("bootindex", boot.map(u64::from));
        // <blockio> and <geometry> are kept verbatim in the model; their numbers go on the
        // device as libvirt writes them.
        let child = |name: &str| {
            disk.extra.children.iter().find_map(|n| match n {
                crate::xml::Node::Element(e) if e.name == name => Some(e),
                _ => None,
            })
        };
        let num = |e: Option<&Element>, k: &str| e.and_then(|e| e.attr(k)?.parse::<u64>().ok());
        let blockio = child("blockio");
        p = p
            .on("logical_block_size", num(blockio, "logical_block_size"))
            .on("physical_block_size", num(blockio, "physical_block_size"));
        if device == DiskDevice::Lun
            && caps.version >= QemuVersion::MIGRATE_PR
            && disk
                .source
                .as_ref()
                .and_then(|s| s.reservations.as_ref())
                .is_some_and(|r| r.migration == Some(YesNo::Yes))
        {
            p = p.b("migrate-pr", true);
        }
        if let Some(w) = &disk.wwn {
            let h = w.trim_start_matches("0x").trim_start_matches("0X");
            let v = u64::from_str_radix(h, 16).map_err(|_| {
                EmitError::new(
                    path.clone(),
                    "unsupported",
                    format!("Failed to parse wwn '{w}' as number"),
                )
            })?;
            p = p.n("wwn", v);
        }
        p = p.on(
            "rotation_rate",
            disk.target
                .as_ref()
                .and_then(|t| t.rotation_rate)
                .map(u64::from),
        );
        p = p.os("vendor", disk.vendor.clone());
        p = p.os("product", disk.product.clone());
        if device != DiskDevice::Lun {
            let readonly = disk.readonly || device == DiskDevice::Cdrom;
            let mode = drv
                .and_then(|d| d.cache.clone())
                .or_else(|| (disk.shareable && !readonly).then(|| "none".to_string()));
            if let Some(wc) = mode.as_deref().and_then(cache_flags).map(|c| c.2) {
                p = p.s("write-cache", if wc { "on" } else { "off" });
            }
        }
        let geometry = child("geometry");
        if geometry.and_then(|g| g.attr("trans")).is_some() && bus != DiskBus::Ide {
            return Err(EmitError::new(
                path,
                "unsupported",
                format!("CHS translation mode can only be set for 'ide' bus not '{bus}'"),
            )
            .hint("drop trans= from <geometry>, or put the disk on bus='ide'"));
        }
        p = p
            .on("cyls", num(geometry, "cyls"))
            .on("heads", num(geometry, "heads"))
            .on("secs", num(geometry, "secs"))
            .os(
                "bios-chs-trans",
                geometry.and_then(|g| g.attr("trans")).map(str::to_string),
            );
        if let Some(s) = &disk.serial {
            p = p.s("serial", s.replace(' ', "\\ "));
        }
        // Error policies (qemuBuildDiskGetErrorPolicy): the read policy defaults to the write
        // policy, except that 'enospace' only exists for writes.
        let attr = |k: &str| {
            drv.and_then(|d| {
                d.extra
                    .attrs
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
            })
        };
        let qemu_policy = |v: String| {
            if v == "enospace" {
                "enospc".to_string()
            } else {
                v
            }
        };
        let werror = attr("error_policy");
        let rerror = attr("rerror_policy").or_else(|| werror.clone().filter(|w| w != "enospace"));
        p = p
            .os("werror", werror.map(qemu_policy))
            .os("rerror", rerror.map(qemu_policy));
        self.device(p);
        Ok(())
    }

    /// The `-blockdev` chain (or legacy `-drive`) of a disk; returns what the device's `drive`
    /// points at.
    fn disk_backend(
        &mut self,
        path: &str,
        disk: &Disk,
        n: u64,
        alias: &str,
        readonly: bool,
    ) -> Result<String, EmitError> {
        let caps = self.opts.caps.clone();
        let src = disk.source.as_ref();
        let storage_name = format!("libvirt-{n}-storage");
        let mut storage = match disk.kind.unwrap_or(DiskType::File) {
            DiskType::File => Props::new().s("driver", "file").s(
                "filename",
                src.and_then(|s| s.file.clone()).unwrap_or_default(),
            ),
            DiskType::Block => Props::new()
                // libvirt uses host_device for block CD-ROMs too (test disk-scsi-disk-vpd).
                .s("driver", "host_device")
                .s(
                    "filename",
                    src.and_then(|s| s.dev.clone()).unwrap_or_default(),
                ),
            DiskType::Network if src.and_then(|s| s.protocol.as_deref()) == Some("iscsi") => {
                let s = src.expect("network source");
                self.iscsi_props(
                    path,
                    s.name.as_deref().unwrap_or_default(),
                    &s.hosts,
                    s.auth.as_ref(),
                    s.initiator_iqn.as_deref(),
                    &storage_name,
                )?
            }
            other => {
                return Err(EmitError::new(
                    path,
                    "unsupported",
                    format!(
                        "disk type '{}'{} is not emitted by domxml",
                        other,
                        src.and_then(|s| s.protocol.as_ref())
                            .map(|p| format!(" (protocol '{p}')"))
                            .unwrap_or_default()
                    ),
                )
                .hint("use a file, block or iSCSI source"))
            }
        };
        // Persistent reservations: a managed helper is shared; an unmanaged one gets its own
        // object just before this disk's backend.
        if let Some(r) = src.and_then(|s| s.reservations.as_ref()) {
            let id = if r.managed == Some(YesNo::Yes) {
                "pr-helper0".to_string()
            } else {
                let id = format!("pr-helper-{storage_name}");
                let sock = r
                    .source
                    .as_ref()
                    .and_then(|s| s.path.clone())
                    .ok_or_else(|| {
                        EmitError::new(
                            path,
                            "unsupported",
                            "<reservations managed='no'> needs <source type='unix' path=…>",
                        )
                    })?;
                self.object(
                    Props::new()
                        .s("qom-type", "pr-manager-helper")
                        .s("id", id.clone())
                        .s("path", sock),
                );
                id
            };
            storage = storage.s("pr-manager", id);
        }
        let format = disk
            .driver
            .as_ref()
            .and_then(|d| d.format.clone())
            .unwrap_or_else(|| "raw".into());
        // A shared, writable disk without a cache mode gets cache='none' (libvirt's disk
        // post-parse), so that every host sharing it sees the same data.
        let cache_mode = disk
            .driver
            .as_ref()
            .and_then(|d| d.cache.clone())
            .or_else(|| (disk.shareable && !readonly).then(|| "none".to_string()));
        let cache = cache_mode.as_deref().and_then(cache_flags);
        let unmap = disk.driver.as_ref().and_then(|d| d.discard.as_deref()) == Some("unmap");

        if !caps.blockdev() {
            // Legacy: one -drive with the source, `if=none`, id `drive-<alias>`.
            let id = format!("drive-{alias}");
            let mut dp = Props::new();
            match storage.get("driver") {
                Some(super::Val::Str(s)) if s == "iscsi" => {
                    for (k, v) in storage.0.iter() {
                        dp.0.push((format!("file.{k}"), v.clone()));
                    }
                }
                _ => {
                    for (k, v) in storage.0.iter() {
                        match k.as_str() {
                            "filename" => dp.0.insert(0, ("file".into(), v.clone())),
                            "driver" => {}
                            _ => dp.0.push((format!("file.{k}"), v.clone())),
                        }
                    }
                }
            }
            dp = dp.s("format", format).s("if", "none").s("id", id.clone());
            if readonly {
                dp = dp.s("readonly", "on");
            }
            if let (Some(c), Some(_)) = (&cache_mode, cache) {
                dp = dp.s("cache", c.clone());
            }
            if unmap {
                dp = dp.s("discard", "unmap");
            }
            self.out.keyval("-drive", &dp, None);
            return Ok(id);
        }

        let cache_obj = cache
            .map(|(direct, no_flush, _)| Props::new().b("direct", direct).b("no-flush", no_flush));
        if format == "raw" {
            storage = storage.s("node-name", storage_name.clone());
            if let Some(c) = &cache_obj {
                storage = storage.obj("cache", c.clone());
            }
            storage = storage.b("read-only", readonly);
            if unmap {
                storage = storage.s("discard", "unmap");
            }
            self.out.json("-blockdev", &storage);
            Ok(storage_name)
        } else {
            // Under a format layer the storage node lets the format decide: it is opened
            // read-only on demand and passes discards through.
            storage = storage.s("node-name", storage_name.clone());
            if let Some(c) = &cache_obj {
                storage = storage.obj("cache", c.clone());
            }
            storage = storage.b("auto-read-only", true).s("discard", "unmap");
            self.out.json("-blockdev", &storage);
            let fmt_name = format!("libvirt-{n}-format");
            let mut f = Props::new()
                .s("node-name", fmt_name.clone())
                .b("read-only", readonly);
            if unmap {
                f = f.s("discard", "unmap");
            }
            if let Some(c) = cache_obj {
                f = f.obj("cache", c);
            }
            f = f.s("driver", format).s("file", storage_name);
            self.out.json("-blockdev", &f);
            Ok(fmt_name)
        }
    }

    /// libiscsi backend properties (`qemuBlockStorageSourceGetISCSIProps`); an `<auth>` secret
    /// becomes a `-object secret` read from a file, never a value on the command line.
    fn iscsi_props(
        &mut self,
        path: &str,
        name: &str,
        hosts: &[NetHost],
        auth: Option<&SourceAuth>,
        initiator: Option<&str>,
        node: &str,
    ) -> Result<Props, EmitError> {
        let (target, lun) = match name.rsplit_once('/') {
            Some((t, l)) => (
                t.to_string(),
                l.parse::<u64>().map_err(|_| {
                    EmitError::new(
                        path,
                        "unsupported",
                        format!(
                            "iSCSI source name '{name}' ends in '/{l}', which is not a LUN number"
                        ),
                    )
                })?,
            ),
            None => (name.to_string(), 0),
        };
        let host = hosts
            .first()
            .ok_or_else(|| EmitError::new(path, "unsupported", "the iSCSI source has no <host>"))?;
        let hname = host.name.clone().unwrap_or_default();
        let port = host.port.clone().unwrap_or_else(|| "3260".into());
        let portal = if hname.contains(':') {
            format!("[{hname}]:{port}")
        } else {
            format!("{hname}:{port}")
        };
        let mut p = Props::new()
            .s("driver", "iscsi")
            .s("portal", portal)
            .s("target", target)
            .n("lun", lun)
            .s("transport", "tcp");
        if let Some(a) = auth {
            let secret_id = format!("{node}-secret0");
            self.secret_object(path, &secret_id, a)?;
            p = p
                .s("user", a.username.clone().unwrap_or_default())
                .s("password-secret", secret_id);
        }
        p = p.os("initiator-name", initiator.map(str::to_string));
        Ok(p)
    }

    fn secret_object(&mut self, path: &str, id: &str, auth: &SourceAuth) -> Result<(), EmitError> {
        let secret = auth.secret.as_ref();
        let name = secret
            .and_then(|s| s.uuid.clone().or_else(|| s.usage.clone()))
            .ok_or_else(|| {
                EmitError::new(
                    path,
                    "unsupported",
                    "<auth> has no <secret uuid=…> or usage=…",
                )
                .hint("name the secret: <secret type='iscsi' usage='NAME'/> or uuid='…'")
            })?;
        if name.contains('/') || name == ".." || name == "." {
            return Err(EmitError::new(
                path,
                "unsupported",
                format!("secret name '{name}' cannot be a file name in --secrets-dir"),
            ));
        }
        let file = self.opts.secrets_dir.join(&name);
        if self.opts.check_secrets && !file.is_file() {
            return Err(EmitError::new(
                path,
                "secret-missing",
                format!("secret file {} does not exist", file.display()),
            )
            .hint(format!(
                "write the secret value (raw bytes, no newline) to {} or point --secrets-dir at the directory holding '{name}'",
                file.display()
            )));
        }
        self.object(
            Props::new()
                .s("qom-type", "secret")
                .s("id", id)
                .s("format", "raw")
                .s("file", file.to_string_lossy()),
        );
        Ok(())
    }

    fn hostdevs(&mut self) -> Result<(), EmitError> {
        let disks_with_storage = self
            .d
            .devices
            .disks()
            .filter(|(_, d)| has_storage(d))
            .count() as u64;
        let mut n = disks_with_storage;
        // <interface type='hostdev'> take hostdevN aliases first.
        let mut next_alias = self
            .d
            .devices
            .items
            .iter()
            .filter(|x| matches!(x, crate::model::Device::Other(e) if e.name == "interface" && e.attr("type") == Some("hostdev")))
            .count();
        let hostdevs: Vec<(usize, &'a Hostdev)> = self.d.devices.hostdevs().collect();
        for (i, h) in hostdevs {
            let alias = match h.alias.as_ref().filter(|a| a.starts_with("ua-")) {
                Some(a) => a.clone(),
                None => {
                    let a = format!("hostdev{next_alias}");
                    next_alias += 1;
                    a
                }
            };
            match h.kind {
                HostdevType::Scsi => {
                    n += 1;
                    self.scsi_hostdev(i, h, n, &alias)?;
                }
                HostdevType::ScsiHost => self.vhost_hostdev(i, h, &alias)?,
                HostdevType::Pci => self.pci_hostdev(i, h, &alias)?,
                other => self.notes.push(format!(
                    "{}: <hostdev type='{other}'> is not emitted by domxml",
                    self.item_path(i)
                )),
            }
        }
        Ok(())
    }

    /// `qemuBuildSCSIHostdevDevProps` and its backend.
    fn scsi_hostdev(
        &mut self,
        i: usize,
        h: &Hostdev,
        n: u64,
        alias: &str,
    ) -> Result<(), EmitError> {
        let path = self.item_path(i);
        let caps = self.opts.caps.clone();
        let src = h.source.as_ref().ok_or_else(|| {
            EmitError::new(
                path.clone(),
                "unsupported",
                "the SCSI hostdev has no <source>",
            )
        })?;
        let node = format!("libvirt-{n}-backend");
        let backend = match h.scsi_protocol() {
            Some(HostdevSourceProtocol::Iscsi) => {
                let name = src.name.as_deref().unwrap_or_default();
                self.iscsi_props(
                    &path,
                    name,
                    &src.hosts,
                    src.auth.as_ref(),
                    src.initiator_iqn.as_deref(),
                    &node,
                )?
            }
            _ => {
                let adapter = src.adapter.as_ref().ok_or_else(|| {
                    EmitError::new(
                        path.clone(),
                        "unsupported",
                        "the SCSI hostdev has no <adapter>",
                    )
                })?;
                adapter
                    .form()
                    .map_err(|e| EmitError::new(path.clone(), "unsupported", e.message))?;
                let a = src.scsi_address.as_ref().ok_or_else(|| {
                    EmitError::new(
                        path.clone(),
                        "unsupported",
                        "the SCSI hostdev has no source <address>",
                    )
                })?;
                let (bus, target, unit) = (
                    a.bus.unwrap_or(0),
                    a.target.unwrap_or(0),
                    a.unit.unwrap_or(0),
                );
                let sg = self
                    .lookup
                    .sg_path(adapter, bus, target, unit)
                    .map_err(|e| {
                        EmitError::new(
                            format!("{path} ({alias})"),
                            "host-lookup",
                            format!("cannot find the host LU {bus}:{target}:{unit} of the adapter: {e}"),
                        )
                        .hint("check the adapter name and the LU address against `lsscsi -g`, or pass --sysfs-root for a recorded tree")
                    })?;
                self.passed_sg
                    .insert(sg.clone(), format!("{path} ({alias})"));
                Props::new().s("driver", "host_device").s("filename", sg)
            }
        };
        let addr = self.placed.get(&i).copied().ok_or_else(|| {
            EmitError::new(
                path.clone(),
                "unsupported",
                "the SCSI hostdev has no drive address",
            )
        })?;
        let boot = self.boot.get(&i).copied();
        if caps.blockdev() {
            let b = backend
                .s("node-name", node.clone())
                .b("read-only", h.readonly);
            self.out.json("-blockdev", &b);
            let p = Props::new()
                .s("driver", "scsi-generic")
                .s("drive", node)
                .s("id", alias)
                .on("bootindex", boot.map(u64::from))
                .extend(self.scsi_address(addr));
            self.device(p);
        } else {
            let id = format!("drive-{alias}");
            let mut dp = Props::new();
            if matches!(backend.get("driver"), Some(super::Val::Str(s)) if s == "iscsi") {
                for (k, v) in backend.0 {
                    dp.0.push((format!("file.{k}"), v));
                }
            } else if let Some(f) = backend.get("filename").cloned() {
                dp.0.push(("file".into(), f));
            }
            dp = dp.s("if", "none").s("format", "raw").s("id", id.clone());
            if h.readonly {
                dp = dp.s("readonly", "on");
            }
            self.out.keyval("-drive", &dp, None);
            let p = Props::new()
                .s("driver", "scsi-generic")
                .extend(self.scsi_address(addr))
                .s("drive", id)
                .s("id", alias)
                .on("bootindex", boot.map(u64::from));
            self.device(p);
        }
        Ok(())
    }

    /// `qemuBuildSCSIVHostHostdevDevProps`, without `vhostfd`: QEMU opens /dev/vhost-scsi
    /// itself when no fd is passed, and a printed command line cannot hand over an open fd.
    fn vhost_hostdev(&mut self, i: usize, h: &Hostdev, alias: &str) -> Result<(), EmitError> {
        let path = self.item_path(i);
        let wwpn = h
            .source
            .as_ref()
            .and_then(|s| s.wwpn.clone())
            .ok_or_else(|| {
                EmitError::new(
                    path.clone(),
                    "unsupported",
                    "vhost-scsi hostdev without wwpn",
                )
            })?;
        let ccw = self.ccw.contains_key(&Key::Item(i));
        let mut name = if ccw {
            "vhost-scsi-ccw"
        } else {
            "vhost-scsi-pci"
        }
        .to_string();
        if !ccw {
            match h.model.as_deref() {
                Some("virtio-transitional") => name.push_str("-transitional"),
                Some("virtio-non-transitional") => name.push_str("-non-transitional"),
                _ => {}
            }
        }
        let p = Props::new()
            .s("driver", name)
            .s("wwpn", wwpn)
            .s("id", alias);
        let p = self.pci_props(Key::Item(i), p);
        self.device(p);
        Ok(())
    }

    /// `qemuBuildPCIHostdevDevProps`: VFIO assignment.
    fn pci_hostdev(&mut self, i: usize, h: &Hostdev, alias: &str) -> Result<(), EmitError> {
        let path = self.item_path(i);
        let host = h
            .source
            .as_ref()
            .and_then(|s| s.pci_address.as_ref())
            .ok_or_else(|| {
                EmitError::new(
                    path.clone(),
                    "unsupported",
                    "PCI hostdev without a source address",
                )
            })?;
        let mut p = Props::new()
            .s("driver", "vfio-pci")
            .s("host", host.to_bdf())
            .s("id", alias)
            .on("bootindex", self.boot.get(&i).copied().map(u64::from));
        p = self.pci_props(Key::Item(i), p);
        if let Some(rom) = &h.rom {
            if let Some(bar) = rom.bar {
                p = p.n("rombar", u64::from(bar == crate::model::OnOff::On));
            }
            if rom.enabled == Some(YesNo::No) {
                p = p.s("romfile", "");
            } else if let Some(f) = &rom.file {
                p = p.s("romfile", f.clone());
            }
        }
        self.device(p);
        Ok(())
    }

    fn balloon(&mut self) {
        let key = self
            .d
            .devices
            .items
            .iter()
            .enumerate()
            .find(|(_, x)| matches!(x, crate::model::Device::Other(e) if e.name == "memballoon"))
            .map(|(i, _)| Key::Item(i))
            .unwrap_or(Key::Balloon);
        if self.pci.contains_key(&key) || self.ccw.contains_key(&key) {
            let driver = if self.ccw.contains_key(&key) {
                "virtio-balloon-ccw"
            } else {
                "virtio-balloon-pci"
            };
            let p = self.pci_props(key, Props::new().s("driver", driver).s("id", "balloon0"));
            self.device(p);
        }
        for x in &self.d.devices.items {
            if let crate::model::Device::Other(e) = x {
                if !matches!(
                    e.name.as_str(),
                    "memballoon" | "input" | "audio" | "controller"
                ) {
                    self.notes
                        .push(format!("<{}> is not emitted by domxml", e.name));
                }
            }
        }
    }
}

/// True when the disk has a source to open (an empty CD-ROM has none and no node name).
fn has_storage(d: &Disk) -> bool {
    let Some(s) = &d.source else { return false };
    match d.kind.unwrap_or(DiskType::File) {
        DiskType::File => s.file.is_some(),
        DiskType::Block => s.dev.is_some(),
        DiskType::Network => s.protocol.is_some(),
        _ => true,
    }
}

/// (cache.direct, cache.no-flush, write-cache) of a libvirt cache mode
/// (`qemuDomainDiskCachemodeFlags`).
fn cache_flags(mode: &str) -> Option<(bool, bool, bool)> {
    Some(match mode {
        "none" => (true, false, true),
        "writeback" => (false, false, true),
        "writethrough" => (false, false, false),
        "directsync" => (true, false, false),
        "unsafe" => (false, true, true),
        _ => return None,
    })
}
