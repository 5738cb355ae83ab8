//! The controller list as libvirt holds it after post-parse: the defined controllers in
//! libvirt's list order, then the implicit ones in the order libvirt adds them, each SCSI
//! controller with its effective model.

use super::{Key, Machine};
use crate::assign::ScsiLayout;
use crate::diag::codes;
use crate::emit::{Caps, EmitError};
use crate::model::{Controller, ControllerType, DeviceAddress, Domain, ScsiModel};

/// A controller as libvirt holds it after post-parse: defined or implicit.
#[derive(Debug, Clone)]
pub(crate) struct Ctrl<'a> {
    /// Which device it is.
    pub key: Key,
    /// `type`.
    pub kind: ControllerType,
    /// `index`.
    pub idx: u32,
    /// Effective SCSI model.
    pub model: Option<ScsiModel>,
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

/// The controller list, or why a SCSI controller cannot be built with this QEMU.
pub(crate) fn list<'d>(
    d: &'d Domain,
    machine: &Machine,
    layout: &ScsiLayout,
    default_model: Option<ScsiModel>,
    caps: &Caps,
) -> Result<Vec<Ctrl<'d>>, EmitError> {
    let paths = d.devices.paths();
    let mut ctrls: Vec<Ctrl> = Vec::new();
    for (i, c) in d.devices.controllers() {
        if default_model.is_none()
            && c.kind == ControllerType::Scsi
            && matches!(c.scsi_model(), None | Some(ScsiModel::Auto))
        {
            return Err(default_unavailable(&paths[i], c.idx()));
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
            return Err(default_unavailable("/domain/devices", idx));
        }
    }
    let (at_parse, after) = layout.implicit.split_at(layout.implicit_at_parse);
    for &idx in at_parse {
        ctrls.push(scsi_implicit(idx));
    }
    if machine.x86() && !ctrls.iter().any(|c| c.kind == ControllerType::Usb) {
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
    let builtin_esp = machine.arch.starts_with("sparc")
        || (machine.arch == "m68k" && machine.name.contains("q800"));
    for c in &ctrls {
        let path = match c.key {
            Key::Item(i) => paths[i].as_str(),
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
