//! The controller list as libvirt holds it after post-parse: the defined controllers in
//! libvirt's list order, then the implicit ones in the order libvirt adds them, each SCSI
//! controller with its effective model.

use super::{Key, Machine};
use crate::assign::{drive_address_for_index, parse_disk_name, ScsiLayout};
use crate::controller_index::ControllerIndexes;
use crate::diag::codes;
use crate::emit::{Caps, EmitError};
use crate::model::{
    Controller, ControllerType, Device, DeviceAddress, DiskBus, Domain, PciModel, ScsiModel,
};

/// A controller as libvirt holds it after post-parse: defined or implicit.
#[derive(Debug, Clone)]
pub(crate) struct Ctrl<'a> {
    /// Which device it is.
    pub key: Key,
    /// `type`.
    pub kind: ControllerType,
    /// `index` (assigned as libvirt does when the XML has none).
    pub idx: u32,
    /// Effective SCSI model.
    pub model: Option<ScsiModel>,
    /// The model of a PCI controller.
    pub pci: Option<PciModel>,
    /// The definition, for a defined controller.
    pub def: Option<&'a Controller>,
}

impl Ctrl<'_> {
    /// The model of a non-SCSI controller, as written.
    pub fn other_model(&self) -> Option<&str> {
        self.def.and_then(Controller::model_name)
    }

    /// The explicit address.
    pub fn address(&self) -> Option<&DeviceAddress> {
        self.def.and_then(|c| c.address.as_ref())
    }

    fn implicit(key: Key, kind: ControllerType, idx: u32) -> Self {
        Ctrl {
            key,
            kind,
            idx,
            model: None,
            pci: None,
            def: None,
        }
    }
}

/// The controller list, or why a SCSI controller cannot be built with this QEMU.
pub(crate) fn list<'d>(
    d: &'d Domain,
    machine: &Machine,
    layout: &ScsiLayout,
    default_model: Option<ScsiModel>,
    caps: &Caps,
) -> Result<Vec<Ctrl<'d>>, EmitError> {
    let paths = crate::model::DevicePaths::of(&d.devices);
    let indexes = ControllerIndexes::of(d);
    let mut ctrls: Vec<Ctrl> = Vec::new();
    for &i in &indexes.order {
        let Device::Controller(c) = &d.devices.items[i] else {
            continue;
        };
        let idx = indexes.get(i);
        if default_model.is_none()
            && c.kind == ControllerType::Scsi
            && matches!(c.scsi_model(), None | Some(ScsiModel::Auto))
        {
            return Err(default_unavailable(&paths[i], idx));
        }
        let model = if c.kind == ControllerType::Scsi {
            layout.model_of(idx)
        } else {
            None
        };
        ctrls.push(Ctrl {
            key: Key::Item(i),
            kind: c.kind,
            idx,
            model,
            pci: c.pci_model(),
            def: Some(&**c),
        });
    }
    // Implicit controllers are appended (virDomainDefAddController), so they come after every
    // defined one in PCI assignment, in the order libvirt adds them: SCSI controllers for
    // hostdevs (while parsing); the QEMU driver's defaults (USB, q35's SATA, the PCI root
    // bus); then, after post-parse, SCSI and SATA controllers for disks, a virtio-serial
    // controller for virtio consoles and channels, and SCSI controllers for searched
    // hostdevs. On q35 that order decides which root port each gets (checked against libvirt
    // 9.0).
    let scsi_implicit = |idx: u32| Ctrl {
        model: layout.model_of(idx),
        ..Ctrl::implicit(Key::Scsi(idx), ControllerType::Scsi, idx)
    };
    if default_model.is_none() {
        if let Some(&idx) = layout.implicit.first() {
            return Err(default_unavailable("/domain/devices", idx));
        }
    }
    let has = |ctrls: &[Ctrl], kind: ControllerType, idx: u32| {
        ctrls.iter().any(|c| c.kind == kind && c.idx == idx)
    };
    let (at_parse, after) = layout.implicit.split_at(layout.implicit_at_parse);
    for &idx in at_parse {
        ctrls.push(scsi_implicit(idx));
    }
    if machine.x86() && !has(&ctrls, ControllerType::Usb, 0) {
        ctrls.push(Ctrl::implicit(Key::Usb, ControllerType::Usb, 0));
    }
    if machine.q35 && !has(&ctrls, ControllerType::Sata, 0) {
        ctrls.push(Ctrl::implicit(Key::Sata(0), ControllerType::Sata, 0));
    }
    if (machine.x86() || machine.pseries) && !has(&ctrls, ControllerType::Pci, 0) {
        let root = if machine.q35 {
            PciModel::PcieRoot
        } else {
            PciModel::PciRoot
        };
        ctrls.push(Ctrl {
            pci: Some(root),
            ..Ctrl::implicit(Key::Pci(0), ControllerType::Pci, 0)
        });
    }
    // SCSI controllers for disks are the missing indexes up to the highest a disk uses; the
    // ones for hostdevs (found by the free-unit search) come after the SATA and virtio-serial
    // controllers.
    let max_disk = layout
        .placed
        .iter()
        .filter(|p| !p.hostdev)
        .map(|p| p.addr.0)
        .max();
    let (for_disks, for_hostdevs): (Vec<u32>, Vec<u32>) = after
        .iter()
        .partition(|&&idx| max_disk.is_some_and(|m| idx <= m));
    for idx in for_disks {
        ctrls.push(scsi_implicit(idx));
    }
    if let Some(max) = max_sata(d) {
        // The validator refuses more (E016); a domain converted unvalidated must not make this
        // loop follow the number in it.
        if max > crate::assign::MAX_SCSI_CONTROLLER_INDEX {
            return Err(EmitError::new(
                codes::E104,
                "/domain/devices",
                format!("a SATA disk is on controller {max}: validate the domain first (E016)"),
            ));
        }
        for idx in 0..=max {
            if !has(&ctrls, ControllerType::Sata, idx) {
                ctrls.push(Ctrl::implicit(Key::Sata(idx), ControllerType::Sata, idx));
            }
        }
    }
    for idx in virtio_serial_wanted(d) {
        if !has(&ctrls, ControllerType::VirtioSerial, idx) {
            ctrls.push(Ctrl::implicit(
                Key::VirtioSerial(idx),
                ControllerType::VirtioSerial,
                idx,
            ));
        }
    }
    for idx in for_hostdevs {
        ctrls.push(scsi_implicit(idx));
    }
    // Only some machines have the NCR 53C90 (ESP) built in (qemuDomainHasBuiltinESP).
    let builtin_esp = machine.arch.starts_with("sparc")
        || (machine.arch == "m68k" && machine.name.contains("q800"));
    for c in &ctrls {
        let path = match c.key {
            Key::Item(i) => &paths[i],
            _ => "/domain/devices",
        };
        if let Some(m) = c.model {
            check_scsi_model(path, c.idx, m, caps)?;
            if m == ScsiModel::Ncr53c90 && !builtin_esp {
                return Err(EmitError::new(
                    codes::E101,
                    path,
                    "ncr53c90 SCSI controller is not a built-in for this machine",
                )
                .with_hint("use am53c974 or dc390 (PCI ESP variants), or another SCSI model"));
            }
        }
    }
    Ok(ctrls)
}

/// The highest SATA controller a disk is on (`virDomainDefAddDiskControllersForType`).
fn max_sata(d: &Domain) -> Option<u32> {
    d.devices
        .disks()
        .filter(|(_, x)| x.bus() == Some(DiskBus::Sata))
        .filter_map(|(_, x)| match &x.address {
            Some(DeviceAddress::Drive(a, _)) => Some(a.tuple().0),
            Some(_) => None,
            None => {
                let n = parse_disk_name(x.dev()?).ok()?;
                drive_address_for_index(DiskBus::Sata, n.index).map(|a| a.tuple().0)
            }
        })
        .max()
}

/// The virtio-serial controllers virtio consoles and channels need
/// (`virDomainDefMaybeAddVirtioSerialController`), in the order they ask.
fn virtio_serial_wanted(d: &Domain) -> Vec<u32> {
    let mut out = Vec::new();
    for name in ["channel", "console"] {
        for (_, e) in super::pci_devices::others(d) {
            if e.name != name {
                continue;
            }
            let virtio = e
                .elements()
                .find(|c| c.name == "target")
                .is_some_and(|t| t.attr("type") == Some("virtio"));
            if !virtio {
                continue;
            }
            let idx = e
                .elements()
                .find(|c| c.name == "address" && c.attr("type") == Some("virtio-serial"))
                .and_then(|a| a.attr("controller"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if !out.contains(&idx) {
                out.push(idx);
            }
        }
    }
    out
}

fn default_unavailable(path: &str, idx: u32) -> EmitError {
    EmitError::new(
        codes::E102,
        path,
        format!("Unable to determine model for SCSI controller idx={idx}"),
    )
    .with_hint("this QEMU has neither the lsi nor the virtio-scsi device: set model= to a controller it has")
}

/// libvirt's `qemuValidateCheckSCSIControllerModel`, for the devices a build may lack.
fn check_scsi_model(path: &str, idx: u32, m: ScsiModel, caps: &Caps) -> Result<(), EmitError> {
    let (dev, what) = match m {
        ScsiModel::Lsilogic => ("lsi", "the LSI 53C895A SCSI controller"),
        m if m.is_virtio() => ("virtio-scsi", "virtio scsi controller"),
        ScsiModel::Lsisas1068 => ("mptsas1068", "the LSI SAS1068 (MPT Fusion) controller"),
        ScsiModel::Lsisas1078 => ("megasas", "the LSI SAS1078 (MegaRAID) controller"),
        ScsiModel::Vmpvscsi => ("pvscsi", "the pvscsi (VMware paravirtual SCSI) controller"),
        ScsiModel::Am53c974 => ("am53c974", "the AM53C974 (ESP) controller"),
        ScsiModel::Dc390 => ("dc390", "the DC390 (ESP) controller"),
        ScsiModel::Auto | ScsiModel::Buslogic => {
            return Err(EmitError::new(
                codes::E101,
                path,
                format!("Unsupported controller model: {m}"),
            )
            .with_hint(format!(
                "controller scsi{idx}: QEMU has no {m} device; pick another SCSI model"
            )))
        }
        _ => return Ok(()),
    };
    if caps.has(dev) {
        Ok(())
    } else {
        Err(EmitError::new(
            codes::E101,
            path,
            format!("This QEMU doesn't support {what}"),
        )
        .with_hint("pick a SCSI controller model this QEMU build has"))
    }
}
