//! PCI slots (`qemuDomainAssignDevicePCISlots`): explicit addresses are reserved first, then
//! every device without one asks for a slot, device class by device class in libvirt's order.
//! On `pc` the devices fill the root bus and then the `pci-bridge`s libvirt adds; on q35 they
//! go behind root ports ([`super::q35`]).

use super::controllers::Ctrl;
use super::q35::{self, PcieCtrl};
use super::slots::{PciSlots, Slot, SLOTS};
use super::{Key, Plan};
use crate::diag::codes;
use crate::emit::{Caps, EmitError, QemuVersion};
use crate::model::{
    ControllerType, Device, DeviceAddress, DiskBus, Domain, HostdevType, ScsiModel,
};
use crate::xml::Element;
use std::collections::HashMap;

/// What PCI assignment decided.
#[derive(Debug, Default)]
pub(crate) struct PciPlan {
    /// The address of every device that has one.
    pub slots: HashMap<Key, Slot>,
    /// `pci-bridge` controllers added on `pc`: (index, slot on the root bus).
    pub bridges: Vec<(u32, Slot)>,
    /// Controllers added on q35, by index.
    pub pcie_controllers: Vec<(u32, PcieCtrl)>,
}

/// A device that asks for a slot: its key (`None` for a device domxml does not emit but which
/// still takes its slot), what to call it in errors, and whether it is PCI Express capable (on
/// q35 it gets a root port) or conventional PCI only (it goes behind a `pcie-pci-bridge`).
pub(crate) struct Want {
    pub key: Option<Key>,
    pub what: String,
    pub pcie: bool,
}

/// The explicit PCI address of an element kept verbatim (`<interface>`, `<video>`, …):
/// `None` without an `<address>`, `Some(None)` for a non-PCI one.
pub(crate) fn other_pci(e: &Element) -> Option<Option<(u32, u32)>> {
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

/// The devices kept verbatim, with their positions.
pub(crate) fn others(d: &Domain) -> Vec<(usize, &Element)> {
    d.devices
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| match x {
            Device::Other(e) => Some((i, e)),
            _ => None,
        })
        .collect()
}

/// Assign every PCI address.
pub(crate) fn assign(d: &Domain, plan: &Plan<'_>, caps: &Caps) -> Result<PciPlan, EmitError> {
    let q35 = plan.machine.q35;
    let mut out = PciPlan::default();
    let mut slots = PciSlots::new();
    if q35 {
        slots.reserve(0, 0x1f);
    } else {
        slots.reserve(0, 1);
    }
    // Explicit addresses.
    for (i, item) in d.devices.items.iter().enumerate() {
        let addr = match item {
            Device::Disk(x) => x.address.as_ref(),
            Device::Controller(x) => x.address.as_ref(),
            Device::Hostdev(x) => x.address.as_ref(),
            Device::Other(e) => {
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
                    codes::E103,
                    plan.path(i),
                    format!(
                        "PCI bus {bus} is not emitted by domxml: only devices on the root bus are"
                    ),
                )
                .with_hint(
                    "put the device on bus='0x00' or drop its <address> to let domxml place it",
                ));
            }
            let s = Slot {
                bus,
                slot: p.slot.unwrap_or_default().0,
                function: p.function.unwrap_or_default().0,
            };
            slots.reserve(0, s.slot);
            out.slots.insert(Key::Item(i), s);
        }
    }
    let legacy = caps.version < QemuVersion::BLOCKDEV;
    let others = others(d);
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
    let want_list = wanted(d, plan, &others, &mut out)?;

    let user_pci_controllers = d
        .devices
        .controllers()
        .any(|(_, c)| c.kind == ControllerType::Pci && c.model_name() != Some("pcie-root"));
    if q35 && !user_pci_controllers {
        q35::place_behind_root_ports(slots, want_list, &mut out)?;
        return Ok(out);
    }
    // When the root bus cannot hold them all, libvirt adds as many pci-bridge controllers
    // as needed; each takes a root-bus slot first (PCI controllers are placed before
    // everything else) and offers slots 1..31; devices then fill the root bus, then each
    // bridge in turn.
    let free0 = (1..SLOTS).filter(|&sl| !slots.is_used(0, sl)).count();
    let n = want_list.len();
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
                codes::E103,
                "/domain/devices",
                "no PCI slot left for a pci-bridge",
            )
        })?;
        out.bridges.push((b as u32, s));
    }
    slots.add_bridge_buses(bridges as u32);
    for w in want_list {
        let s = slots.take_next().ok_or_else(|| {
            EmitError::new(codes::E103, w.what, "no free PCI slot is left")
                .with_hint("give devices explicit addresses, or use fewer PCI devices")
        })?;
        if let Some(k) = w.key {
            out.slots.insert(k, s);
        }
    }
    Ok(out)
}

/// Devices that want a slot, in libvirt's order. Built-in functions (PIIX3's USB, an explicit
/// balloon address) are recorded in `out` directly.
fn wanted(
    d: &Domain,
    plan: &Plan<'_>,
    others: &[(usize, &Element)],
    out: &mut PciPlan,
) -> Result<Vec<Want>, EmitError> {
    let q35 = plan.machine.q35;
    let wants = |e: &Element| other_pci(e).is_none();
    let mut list: Vec<Want> = Vec::new();
    let mut push = |key: Option<Key>, what: String, pcie: bool| list.push(Want { key, what, pcie });
    for (i, e) in others.iter().filter(|(_, e)| e.name == "interface") {
        if wants(e) && e.attr("type") != Some("hostdev") {
            push(None, plan.path(*i).to_string(), true);
        }
    }
    for (i, e) in others.iter().filter(|(_, e)| e.name == "sound") {
        if wants(e) && !matches!(e.attr("model"), Some("sb16" | "pcspk" | "usb")) {
            push(None, plan.path(*i).to_string(), true);
        }
    }
    for c in &plan.ctrls {
        if c.address().is_some() {
            continue;
        }
        if needs_slot(c, q35, out) {
            let pcie = match c.kind {
                ControllerType::Scsi => matches!(
                    c.model,
                    Some(ScsiModel::VirtioScsi) | Some(ScsiModel::VirtioNonTransitional)
                ),
                ControllerType::Usb => {
                    matches!(c.other_model(), Some("qemu-xhci" | "nec-xhci"))
                        || (c.def.is_none() && q35)
                }
                _ => true,
            };
            let what = match c.key {
                Key::Item(i) => plan.path(i).to_string(),
                _ => format!("controller {}{}", c.kind, c.idx),
            };
            push(Some(c.key), what, pcie);
        }
    }
    for &i in &plan.disk_order {
        let Device::Disk(disk) = &d.devices.items[i] else {
            continue;
        };
        if disk.bus() == Some(DiskBus::Virtio) && disk.address.is_none() {
            push(Some(Key::Item(i)), plan.path(i).to_string(), true);
        }
    }
    for (i, h) in d.devices.hostdevs() {
        if matches!(h.kind, HostdevType::Pci | HostdevType::ScsiHost) && h.address.is_none() {
            push(Some(Key::Item(i)), plan.path(i).to_string(), true);
        }
    }
    match others.iter().find(|(_, e)| e.name == "memballoon") {
        Some((i, e)) if e.attr("model") == Some("virtio") => match other_pci(e) {
            Some(Some((bus, slot))) => {
                out.slots.insert(
                    Key::Item(*i),
                    Slot {
                        bus,
                        slot,
                        function: 0,
                    },
                );
            }
            _ => push(Some(Key::Item(*i)), "memballoon".into(), true),
        },
        Some(_) => {}
        None if plan.machine.x86() => push(Some(Key::Balloon), "memballoon".into(), true),
        None => {}
    }
    Ok(list)
}

/// Whether a controller without an address takes a PCI slot. PIIX3's own USB function is
/// recorded in `out` (it is part of the south bridge in slot 1).
fn needs_slot(c: &Ctrl<'_>, q35: bool, out: &mut PciPlan) -> bool {
    match c.kind {
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
                out.slots.insert(
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
            Some(ScsiModel::Ibmvscsi) | Some(ScsiModel::Ncr53c90)
        ),
        _ => true,
    }
}
