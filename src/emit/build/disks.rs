//! Disks: the front-end `-device` of each disk, in libvirt's disk order, after its backend
//! (`qemuBuildDiskCommandLine`, `qemuBuildDiskDeviceProps`).

use super::storage::{backend, cache_flags};
use super::{Cx, Out};
use crate::assign::{drive_address_for_index, parse_disk_name};
use crate::diag::codes;
use crate::emit::plan::Key;
use crate::emit::{EmitError, Props, QemuVersion};
use crate::model::{Device, DeviceAddress, Disk, DiskBus, DiskDevice, DiskType, YesNo};

/// Every disk in libvirt's disk order (in runs on several cores for thousands of disks).
pub(super) fn build(cx: &Cx<'_>, out: &mut Out) -> Result<(), EmitError> {
    super::in_runs(out, &cx.plan.disk_order, |out, &i| {
        if let Device::Disk(disk) = &cx.d.devices.items[i] {
            match out_of_scope(disk) {
                Some(why) => out.note(cx.path(i), why),
                None => disk_device(cx, out, i, disk)?,
            }
        }
        Ok(())
    })
}

/// Why a disk is outside what domxml emits (a USB or floppy disk, a network protocol other
/// than iSCSI, …): it becomes a note, as every device domxml does not emit does. Its node
/// name number stays taken, so the other disks keep libvirt's.
fn out_of_scope(disk: &Disk) -> Option<String> {
    if let Some(bus) = disk.bus() {
        if !matches!(
            bus,
            DiskBus::Scsi | DiskBus::Virtio | DiskBus::Ide | DiskBus::Sata
        ) {
            return Some(format!(
                "<disk> on bus '{bus}' is not emitted by domxml (it emits scsi, virtio, sata and ide disks)"
            ));
        }
    }
    let protocol = disk.source.as_ref().and_then(|s| s.protocol.as_deref());
    match disk.kind.unwrap_or(DiskType::File) {
        DiskType::File | DiskType::Block => None,
        DiskType::Network if protocol == Some("iscsi") => None,
        other => Some(format!(
            "<disk type='{other}'>{} is not emitted by domxml (it emits file, block and iSCSI disks)",
            protocol
                .map(|p| format!(" with protocol '{p}'"))
                .unwrap_or_default()
        )),
    }
}

/// Why a disk has no command line here, checked before anything of it is written.
fn check(cx: &Cx<'_>, path: &str, disk: &Disk) -> Result<DiskBus, EmitError> {
    let Some(bus) = disk.bus() else {
        return Err(EmitError::new(
            codes::E104,
            path,
            "the disk has no target bus",
        ));
    };
    if bus == DiskBus::Ide && cx.plan.machine.q35 {
        return Err(EmitError::new(
            codes::E104,
            path,
            "IDE controllers are unsupported for this QEMU binary or machine type",
        )
        .with_hint("q35 has no IDE: use bus='sata' (its built-in AHCI) or scsi/virtio"));
    }
    if bus == DiskBus::Virtio
        && disk.device() == DiskDevice::Lun
        && cx.opts.caps.version >= QemuVersion::NO_VIRTIO_BLK_SCSI
    {
        return Err(EmitError::new(
            codes::E105,
            path,
            "This QEMU doesn't support SCSI emulation with 'virtio-blk' device",
        )
        .with_hint("QEMU 9.1 removed virtio-blk SCSI passthrough: put the LUN on a virtio-scsi controller (<target bus='scsi'>)"));
    }
    // Only raw images can be written by several hosts at once (libvirt's
    // qemuBlockStorageSourceSupportsConcurrentAccess).
    let readonly = disk.readonly || disk.device() == DiskDevice::Cdrom;
    let format = disk
        .driver
        .as_ref()
        .and_then(|d| d.format.as_deref())
        .unwrap_or("raw");
    if disk.shareable && !readonly && format != "raw" {
        return Err(EmitError::new(
            codes::E106,
            path,
            format!(
                "shared access for disk '{}' requires use of supported storage format",
                disk.dev().unwrap_or_default()
            ),
        )
        .with_hint(format!("a {format} image cannot be shared read-write: use a raw image, or mark the disk <readonly/>")));
    }
    Ok(bus)
}

fn disk_device(cx: &Cx<'_>, out: &mut Out, i: usize, disk: &Disk) -> Result<(), EmitError> {
    let path = cx.path(i);
    let caps = &cx.opts.caps;
    let bus = check(cx, path, disk)?;
    let alias = cx.plan.names.disk[&i].as_str();
    let device = disk.device();
    let drv = disk.driver.as_ref();
    let readonly = disk.readonly || device == DiskDevice::Cdrom;
    let drive_ref = match cx.plan.names.disk_node.get(&i) {
        Some(&n) => Some(backend(cx, out, path, disk, n, alias, readonly)?),
        None => None,
    };

    let mut p = match bus {
        DiskBus::Scsi => {
            let driver = match device {
                DiskDevice::Lun => "scsi-block",
                DiskDevice::Cdrom => "scsi-cd",
                _ => "scsi-hd",
            };
            let addr = match &disk.address {
                Some(DeviceAddress::Drive(a, _)) => a.tuple(),
                _ => cx.plan.placed.get(&i).copied().ok_or_else(|| {
                    EmitError::new(codes::E104, path, "unexpected address type for scsi disk")
                })?,
            };
            let mut p = Props::new()
                .s("driver", driver)
                .extend(cx.scsi_address(addr));
            if driver != "scsi-block" && caps.blockdev() {
                p = p.s(
                    "device_id",
                    disk.serial
                        .clone()
                        .unwrap_or_else(|| format!("drive-{alias}")),
                );
            }
            p
        }
        DiskBus::Virtio => {
            let driver = if cx.plan.ccw.contains_key(&Key::Item(i)) {
                "virtio-blk-ccw".to_string()
            } else {
                // qemuBuildVirtioDevGetConfig: the transitional models name their device.
                match disk.model.as_deref() {
                    Some("virtio-transitional") => "virtio-blk-pci-transitional",
                    Some("virtio-non-transitional") => "virtio-blk-pci-non-transitional",
                    _ => "virtio-blk-pci",
                }
                .to_string()
            };
            let mut p = Props::new().s("driver", driver);
            if let Some(t) = drv.and_then(|d| d.iothread) {
                p = p.s("iothread", format!("iothread{t}"));
            }
            if device == DiskDevice::Lun {
                p = p.b("scsi", true);
            }
            p = p.on("num-queues", drv.and_then(|d| d.queues).map(u64::from));
            cx.pci_props(Key::Item(i), p)
        }
        _ => ide_or_sata(cx, disk, bus, device),
    };
    if disk.shareable {
        p = p.b("share-rw", true);
    }
    if let Some(r) = drive_ref {
        p = p.s("drive", r);
    }
    p = p
        .s("id", alias)
        .on("bootindex", cx.plan.boot.get(&i).copied().map(u64::from));
    p = properties(cx, path, disk, bus, p)?;
    out.device(p);
    Ok(())
}

fn ide_or_sata(cx: &Cx<'_>, disk: &Disk, bus: DiskBus, device: DiskDevice) -> Props {
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
    let p = Props::new().s("driver", driver);
    if bus == DiskBus::Ide {
        p.s("bus", format!("ide.{}", a.1)).n("unit", u64::from(a.3))
    } else {
        let sata = if a.0 == 0 && cx.plan.machine.q35 {
            "ide".to_string()
        } else {
            format!("sata{}", a.0)
        };
        p.s("bus", format!("{sata}.{}", a.3))
    }
}

/// The device properties after `id` and `bootindex`, in libvirt's order: block sizes,
/// reservations migration, WWN, rotation rate, vendor/product, write cache, geometry, serial
/// and error policies.
fn properties(
    cx: &Cx<'_>,
    path: &str,
    disk: &Disk,
    bus: DiskBus,
    mut p: Props,
) -> Result<Props, EmitError> {
    let caps = &cx.opts.caps;
    let device = disk.device();
    let drv = disk.driver.as_ref();
    let blockio = disk.blockio.as_ref();
    let num = |v: Option<u32>| v.map(u64::from);
    p = p
        .on(
            "logical_block_size",
            num(blockio.and_then(|b| b.logical_block_size)),
        )
        .on(
            "physical_block_size",
            num(blockio.and_then(|b| b.physical_block_size)),
        );
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
                codes::E107,
                path,
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
    let geometry = disk.geometry.as_ref();
    let trans = geometry.and_then(|g| g.trans.clone());
    if trans.is_some() && bus != DiskBus::Ide {
        return Err(EmitError::new(
            codes::E107,
            path,
            format!("CHS translation mode can only be set for 'ide' bus not '{bus}'"),
        )
        .with_hint("drop trans= from <geometry>, or put the disk on bus='ide'"));
    }
    p = p
        .on("cyls", num(geometry.and_then(|g| g.cyls)))
        .on("heads", num(geometry.and_then(|g| g.heads)))
        .on("secs", num(geometry.and_then(|g| g.secs)))
        .os("bios-chs-trans", trans);
    if let Some(s) = &disk.serial {
        p = p.s("serial", s.replace(' ', "\\ "));
    }
    // Error policies (qemuBuildDiskGetErrorPolicy): the read policy defaults to the write
    // policy, except that 'enospace' only exists for writes.
    let qemu_policy = |v: String| {
        if v == "enospace" {
            "enospc".to_string()
        } else {
            v
        }
    };
    let werror = drv.and_then(|d| d.error_policy.clone());
    let rerror = drv
        .and_then(|d| d.rerror_policy.clone())
        .or_else(|| werror.clone().filter(|w| w != "enospace"));
    Ok(p.os("werror", werror.map(qemu_policy))
        .os("rerror", rerror.map(qemu_policy)))
}

#[cfg(test)]
mod tests {
    use super::super::runs_tests::{assert_runs_agree, converted_in_runs, HEAD};

    #[test]
    fn disks_built_in_runs_give_exactly_what_one_pass_gives() {
        // Disks of each bus, disks that become notes, and two that fail (a shared qcow2
        // image), so that runs hold errors, notes and words.
        let mut xml = String::from(HEAD);
        for i in 0..30 {
            let n = (b'a' + (i % 26) as u8) as char;
            let m = (b'a' + (i / 26) as u8) as char;
            xml.push_str(&match i % 5 {
                0 => format!("<disk type='block' device='lun'><source dev='/dev/sd{m}{n}'/><target dev='sd{m}{n}' bus='scsi'/></disk>"),
                1 => format!("<disk type='file'><driver name='qemu' type='qcow2'/><source file='/i/{i}.qcow2'/><target dev='vd{m}{n}' bus='virtio'/></disk>"),
                2 => format!("<disk type='file'><source file='/i/{i}'/><target dev='sd{m}{n}' bus='usb'/></disk>"),
                3 => format!("<disk type='file' device='cdrom'><source file='/i/{i}.iso'/><target dev='sd{m}{n}' bus='scsi'/><readonly/></disk>"),
                _ => format!("<disk type='file'><source file='/i/{i}'/><target dev='sd{m}{n}' bus='scsi'/><serial>s{i}</serial></disk>"),
            });
        }
        xml.push_str("</devices></domain>");
        let failing = xml
            .replacen(
                "type='qcow2'/><source file='/i/6.qcow2'/>",
                "type='qcow2'/><source file='/i/6.qcow2'/><shareable/>",
                1,
            )
            .replacen(
                "type='qcow2'/><source file='/i/21.qcow2'/>",
                "type='qcow2'/><source file='/i/21.qcow2'/><shareable/>",
                1,
            );
        assert_ne!(failing, xml);
        assert_runs_agree(&[("mixed", &xml), ("failing", &failing)]);
        let mixed = converted_in_runs(&xml, 3);
        assert!(
            mixed.contains("scsi-block") && mixed.contains("# note:"),
            "{mixed}"
        );
        // The first failing disk in order is the one reported, whichever run holds it.
        let failing = converted_in_runs(&failing, 3);
        assert!(
            failing.contains("E106") && failing.contains("disk[7]"),
            "{failing}"
        );
    }
}
