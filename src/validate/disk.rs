//! `<disk>` rules (reference §b.3, b.4, c.1, d.6, g).

use super::Cx;
use crate::assign::{parse_disk_name, DiskNameError};
use crate::diag::{codes, Diagnostic};
use crate::model::{DeviceAddress, Disk, DiskBus, DiskDevice, DiskType, OnOff, ScsiModel};
use std::collections::HashMap;

fn printable(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let mut targets: HashMap<&str, usize> = HashMap::with_capacity(cx.paths.len());
    for (i, d) in cx.domain.devices.disks() {
        let p = cx.path(i);
        check_one(cx, d, p, out);
        if let Some(dev) = d.dev() {
            if let Some(first) = targets.insert(dev, i) {
                out.push(
                    Diagnostic::new(
                        codes::E022,
                        format!("{p}/target/@dev"),
                        format!(
                            "target dev={dev} is already used by {}",
                            cx.path(first),
                            dev = crate::diag::quote(dev)
                        ),
                    )
                    .hint("give every disk its own target name"),
                );
            }
        }
    }
}

fn check_one(cx: &Cx<'_>, d: &Disk, p: &str, out: &mut Vec<Diagnostic>) {
    let device = d.device();
    let Some(target) = &d.target else {
        out.push(
            Diagnostic::new(codes::E005, p, "missing target definition")
                .hint("add <target dev='sda' bus='scsi'/>"),
        );
        return;
    };
    let Some(dev) = target.dev.as_deref() else {
        out.push(
            Diagnostic::new(
                codes::E005,
                format!("{p}/target/@dev"),
                "<target> needs a 'dev' attribute",
            )
            .hint("add dev='sda' (or vda, hda …)"),
        );
        return;
    };
    let bus = d.bus().unwrap_or(DiskBus::Ide);

    // Target name.
    if matches!(device, DiskDevice::Disk | DiskDevice::Lun)
        && !["hd", "sd", "vd", "xvd", "ubd"]
            .iter()
            .any(|x| dev.starts_with(x))
    {
        out.push(
            Diagnostic::new(codes::E028, format!("{p}/target/@dev"), format!("Invalid harddisk device name: {dev}"))
                .hint("disk targets start with sd (scsi), vd (virtio), hd (ide/sata), xvd or ubd, e.g. 'sdb'"),
        );
    } else {
        match parse_disk_name(dev) {
            Err(e) => {
                let msg = if d.address.is_none() {
                    format!(
                        "Unknown disk name {dev} and no address specified",
                        dev = crate::diag::quote(dev)
                    )
                } else {
                    format!("invalid disk target {dev}", dev = crate::diag::quote(dev))
                };
                let hint = match e {
                    DiskNameError::Overflow => "the name has so many letters that its index overflows; use a shorter name such as 'sdz' or 'sdaa'",
                    DiskNameError::Malformed => "a target name is a prefix (sd, vd, hd, xvd, ubd, fd) followed by lower-case letters: 'sda', 'sdab'",
                };
                out.push(Diagnostic::new(codes::E020, format!("{p}/target/@dev"), msg).hint(hint));
            }
            Ok(n) if n.partition.is_some() => out.push(
                Diagnostic::new(
                    codes::E021,
                    format!("{p}/target/@dev"),
                    format!(
                        "invalid disk target {dev}, partitions can't appear in disk targets",
                        dev = crate::diag::quote(dev)
                    ),
                )
                .hint("name the whole disk ('sda', not 'sda1'); the guest partitions it"),
            ),
            Ok(_) => {}
        }
    }

    // Source shape.
    if let (Some(kind), Some(src)) = (d.kind, &d.source) {
        let need = |attr: &str, have: bool, out: &mut Vec<Diagnostic>| {
            if !have {
                out.push(
                    Diagnostic::new(
                        codes::E047,
                        format!("{p}/source"),
                        format!("a type='{kind}' disk reads its source from '{attr}'"),
                    )
                    .hint(format!(
                        "write <source {attr}='…'/> or change the disk type"
                    )),
                );
            }
        };
        match kind {
            DiskType::File if src.dev.is_some() && src.file.is_none() => need("file", false, out),
            DiskType::Block if src.file.is_some() && src.dev.is_none() => need("dev", false, out),
            DiskType::Network => need("protocol", src.protocol.is_some(), out),
            DiskType::Volume => need(
                "pool' and 'volume",
                src.pool.is_some() && src.volume.is_some(),
                out,
            ),
            _ => {}
        }
    }

    // sgio / rawio / reservations.
    let reservations = d
        .source
        .as_ref()
        .and_then(|s| s.reservations.as_ref())
        .is_some();
    if let Some(s) = &d.sgio {
        if s == "unfiltered" {
            out.push(
                Diagnostic::new(codes::E035, format!("{p}/@sgio"), "unfiltered sgio is no longer supported")
                    .hint("drop sgio (filtered is the kernel default) and grant what the guest needs with rawio='yes'"),
            );
        } else if s != "filtered" {
            out.push(
                Diagnostic::new(
                    codes::E004,
                    format!("{p}/@sgio"),
                    format!(
                        "sgio={s} is not a valid sgio for <disk>",
                        s = crate::diag::quote(s)
                    ),
                )
                .hint("accepted values: filtered, unfiltered"),
            );
        }
    }
    if device != DiskDevice::Lun {
        for (what, set, at) in [
            ("sgio", d.sgio.is_some(), "@sgio"),
            ("rawio", d.rawio.is_some(), "@rawio"),
            ("<reservations/>", reservations, "source/reservations"),
        ] {
            if set {
                let msg = if what == "<reservations/>" {
                    "<reservations/> allowed only for lun devices".to_string()
                } else {
                    format!("{what} can be used only with device='lun'")
                };
                out.push(
                    Diagnostic::new(codes::E036, format!("{p}/{at}"), msg).hint(
                        "SCSI passthrough options need <disk device='lun'> on a block device",
                    ),
                );
            }
        }
    } else {
        check_lun(d, bus, p, out);
    }

    // vendor / product.
    for (name, v, max) in [("vendor", &d.vendor, 8), ("product", &d.product, 16)] {
        let Some(v) = v else { continue };
        let at = format!("{p}/{name}");
        if bus != DiskBus::Scsi {
            out.push(
                Diagnostic::new(
                    codes::E041,
                    at.clone(),
                    format!("Only scsi disk supports '{name}' (this disk is on bus '{bus}')"),
                )
                .hint(format!("move the disk to bus='scsi' or drop <{name}>")),
            );
        }
        if v.chars().count() > max {
            out.push(
                Diagnostic::new(
                    codes::E040,
                    at.clone(),
                    format!(
                        "disk {name} is more than {max} characters ({} has {})",
                        crate::diag::quote(v),
                        v.chars().count()
                    ),
                )
                .hint(format!(
                    "SCSI INQUIRY holds at most {max} characters of {name}"
                )),
            );
        } else if !printable(v) {
            out.push(
                Diagnostic::new(
                    codes::E040,
                    at,
                    format!("disk {name} is not printable string"),
                )
                .hint("use printable ASCII only"),
            );
        }
    }
    if let Some(w) = &d.wwn {
        let at = format!("{p}/wwn");
        if !crate::model::is_wwn(w) {
            out.push(
                Diagnostic::new(
                    codes::E042,
                    at.clone(),
                    format!("wwn {w} is not a WWN", w = crate::diag::quote(w)),
                )
                .hint("write 16 hex digits, e.g. 5000c50015ea71ac"),
            );
        }
        if !matches!(bus, DiskBus::Ide | DiskBus::Scsi) {
            out.push(Diagnostic::new(
                codes::E042,
                at,
                format!("Only ide and scsi disk support wwn (this disk is on bus '{bus}')"),
            ));
        }
    }
    if let Some(s) = &d.serial {
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_ .+".contains(c))
        {
            out.push(
                Diagnostic::new(
                    codes::E043,
                    format!("{p}/serial"),
                    format!(
                        "driver serial {s} contains unsafe characters",
                        s = crate::diag::quote(s)
                    ),
                )
                .hint("a serial may hold letters, digits, space and - _ . +"),
            );
        }
    }
    if target.rotation_rate.is_some() {
        if !matches!(bus, DiskBus::Scsi | DiskBus::Ide | DiskBus::Sata) {
            out.push(Diagnostic::new(
                codes::E044,
                format!("{p}/target/@rotation_rate"),
                "rotation rate is only valid for SCSI/IDE/SATA bus",
            ));
        } else if device != DiskDevice::Disk {
            out.push(Diagnostic::new(
                codes::E044,
                format!("{p}/target/@rotation_rate"),
                "rotation rate is only valid for disk device",
            ));
        }
    }
    if target.removable == Some(OnOff::On)
        && !(bus == DiskBus::Usb || (bus == DiskBus::Scsi && device == DiskDevice::Disk))
    {
        out.push(Diagnostic::new(
            codes::E045,
            format!("{p}/target/@removable"),
            "removable is only valid for usb or scsi disks",
        ));
    }
    if bus == DiskBus::Scsi {
        if let Some(drv) = &d.driver {
            if drv.iothread.is_some() {
                out.push(
                    Diagnostic::new(codes::E046, format!("{p}/driver/@iothread"), format!("IOThreads not available for bus scsi target {dev}"))
                        .hint("put the iothread on the virtio-scsi controller: <driver iothread='N'/> inside <controller>"),
                );
            }
            if drv.queues.is_some() {
                out.push(
                    Diagnostic::new(
                        codes::E046,
                        format!("{p}/driver/@queues"),
                        "queues is only supported for virtio bus",
                    )
                    .hint("set queues on the virtio-scsi controller's <driver>"),
                );
            }
        }
    }

    // Address type and drive-address rules.
    if let Some(a) = &d.address {
        let ok = match bus {
            DiskBus::Scsi | DiskBus::Ide | DiskBus::Fdc | DiskBus::Sata => {
                matches!(a, DeviceAddress::Drive(..))
            }
            DiskBus::Usb => a.kind() == "usb",
            DiskBus::Virtio => !matches!(a, DeviceAddress::Drive(..)) && a.kind() != "usb",
            _ => true,
        };
        if !ok {
            out.push(
                Diagnostic::new(
                    codes::E012,
                    format!("{p}/address/@type"),
                    format!("Invalid address type {} for the disk {dev} with the bus type '{bus}'", crate::diag::quote(a.kind()), dev = crate::diag::quote(dev)),
                )
                .hint(match bus {
                    DiskBus::Virtio => "a virtio disk is a PCI (or CCW) device: use <address type='pci' …/> or none",
                    DiskBus::Usb => "a usb disk takes <address type='usb' …/> or none",
                    _ => "disks on scsi/ide/sata/fdc take <address type='drive' controller bus target unit/> or none",
                }),
            );
        }
        if let DeviceAddress::Drive(da, _) = a {
            let (c, b, t, u) = da.tuple();
            match bus {
                DiskBus::Scsi => check_scsi_drive(cx, c, b, t, u, p, out),
                DiskBus::Ide => {
                    if c != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@controller"),
                            "Only 1 IDE controller is supported",
                        ));
                    }
                    if t != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@target"),
                            "target must be 0 for ide controller",
                        ));
                    }
                }
                DiskBus::Sata => {
                    if b != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@bus"),
                            "bus must be 0 for sata controller",
                        ));
                    }
                    if t != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@target"),
                            "target must be 0 for sata controller",
                        ));
                    }
                }
                DiskBus::Fdc => {
                    if c != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@controller"),
                            "Only 1 fdc controller is supported",
                        ));
                    }
                    if b != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@bus"),
                            "Only 1 fdc bus is supported",
                        ));
                    }
                    if t != 0 {
                        out.push(Diagnostic::new(
                            codes::E015,
                            format!("{p}/address/@target"),
                            "target must be 0 for controller fdc",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

fn check_lun(d: &Disk, bus: DiskBus, p: &str, out: &mut Vec<Diagnostic>) {
    let src = d.source.as_ref();
    match d.kind.unwrap_or(DiskType::File) {
        DiskType::Network => {
            let proto = src.and_then(|s| s.protocol.as_deref()).unwrap_or("");
            if proto != "iscsi" {
                out.push(
                    Diagnostic::new(codes::E031, format!("{p}/source/@protocol"), format!("disk device='lun' is not supported for protocol={proto}", proto = crate::diag::quote(proto)))
                        .hint("only iSCSI LUNs can be passed through over the network"),
                );
            }
        }
        DiskType::Block | DiskType::Volume => {}
        other => out.push(
            Diagnostic::new(codes::E030, format!("{p}/@type"), "disk device='lun' is only valid for block type disk source")
                .hint(format!("this disk is type='{other}': pass a host block device (<disk type='block'><source dev='/dev/sdX'/>), a volume, or an iSCSI LUN")),
        ),
    }
    if let Some(fmt) = d.driver.as_ref().and_then(|x| x.format.as_deref()) {
        if fmt != "raw" {
            out.push(
                Diagnostic::new(
                    codes::E032,
                    format!("{p}/driver/@type"),
                    format!(
                        "disk device 'lun' must use 'raw' format, not {fmt}",
                        fmt = crate::diag::quote(fmt)
                    ),
                )
                .hint("a passed-through LU has no image format: use type='raw' or drop it"),
            );
        }
    }
    if !matches!(bus, DiskBus::Scsi | DiskBus::Virtio) {
        out.push(
            Diagnostic::new(
                codes::E033,
                format!("{p}/target/@bus"),
                format!("disk device='lun' is not supported for bus='{bus}'"),
            )
            .hint("put the LU on bus='scsi' (scsi-block on a SCSI controller)"),
        );
    }
    let mut refuse = |at: &str, msg: &str| {
        out.push(
            Diagnostic::new(codes::E034, format!("{p}/{at}"), msg.to_string())
                .hint("a passed-through LU reports the real device's identity; drop the element"),
        );
    };
    if d.wwn.is_some() {
        refuse("wwn", "Setting wwn is not supported for lun device");
    }
    if d.vendor.is_some() || d.product.is_some() {
        refuse(
            if d.vendor.is_some() {
                "vendor"
            } else {
                "product"
            },
            "Setting vendor or product is not supported for lun device",
        );
    }
    if d.serial.is_some() && bus == DiskBus::Scsi {
        refuse(
            "serial",
            "scsi-block 'lun' devices do not support the serial property",
        );
    }
    if d.driver.as_ref().and_then(|x| x.copy_on_read) == Some(OnOff::On) {
        refuse(
            "driver/@copy_on_read",
            "copy_on_read is not supported with lun devices",
        );
    }
}

/// Rules for a SCSI drive address, shared by disks and hostdevs.
pub(crate) fn check_scsi_drive(
    cx: &Cx<'_>,
    c: u32,
    b: u32,
    t: u32,
    u: u32,
    p: &str,
    out: &mut Vec<Diagnostic>,
) {
    let model = cx.layout.model_of(c);
    if b != 0 {
        out.push(
            Diagnostic::new(
                codes::E010,
                format!("{p}/address/@bus"),
                format!("SCSI controller only supports 1 bus (bus='{b}')"),
            )
            .hint("use bus='0'; QEMU's SCSI buses have channel 0 only"),
        );
    }
    if model == Some(ScsiModel::Lsilogic) && t != 0 {
        out.push(
            Diagnostic::new(
                codes::E011,
                format!("{p}/address/@target"),
                format!("target must be 0 for controller model 'lsilogic' (target='{t}')"),
            )
            .hint("on lsilogic the unit is the SCSI id: use target='0' unit='N'"),
        );
    }
    if model == Some(ScsiModel::Vmpvscsi) && u > 0 {
        // libvirt passes the unit as the LUN, and QEMU's pvscsi has LUN 0 only.
        out.push(
            Diagnostic::new(codes::E013, format!("{p}/address/@unit"), format!("unit {u} is beyond what a vmpvscsi controller has: QEMU's pvscsi has LUN 0 only"))
                .hint("on vmpvscsi use target='N' unit='0' (targets 0..63)"),
        );
    }
    if let Some(m) = model {
        if let Some(max) = m.max_unit() {
            if u > max {
                out.push(
                    Diagnostic::new(codes::E013, format!("{p}/address/@unit"), format!("unit {u} is beyond what a {m} controller has (units 0..={max})"))
                        .hint("use a lower unit, or a controller model with more (virtio-scsi has 16384 LUNs)"),
                );
            }
        }
        if !m.is_lsi_style() {
            if t > 255 {
                out.push(Diagnostic::new(
                    codes::E014,
                    format!("{p}/address/@target"),
                    format!("target {t} is beyond QEMU's limit: scsi-id ≤ 255"),
                ));
            }
            if u > 16383 {
                out.push(Diagnostic::new(
                    codes::E014,
                    format!("{p}/address/@unit"),
                    format!("unit {u} is beyond QEMU's limit: lun ≤ 16383"),
                ));
            }
        } else if u > 255 {
            out.push(Diagnostic::new(
                codes::E014,
                format!("{p}/address/@unit"),
                format!("unit {u} is beyond QEMU's limit: scsi-id ≤ 255"),
            ));
        }
    }
}
