//! Orders libvirt keeps: the disk list order (which drives emission, node-name numbering and
//! boot indexes) and the boot index of each device.

use crate::assign::parse_disk_name;
use crate::model::{Device, Disk, DiskBus, DiskDevice, Domain};
use std::collections::HashMap;

/// The disks in libvirt's list order (`virDomainDiskInsertPreAlloced`): each disk goes before
/// the first disk on the same bus with a higher target index, else after the last disk on its
/// bus, else at the end.
pub(crate) fn disk_order(d: &Domain) -> Vec<usize> {
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

/// Boot indexes: per-device `<boot order>` when any is given, else `<os><boot dev>` mapped to
/// the first disk of each kind (hd → first disk or lun, cdrom, fd), as libvirt does.
pub(crate) fn boot_indexes(d: &Domain, disk_order: &[usize]) -> HashMap<usize, u32> {
    let mut boot = HashMap::new();
    let mut per_device = false;
    for (i, item) in d.devices.items.iter().enumerate() {
        let order = match item {
            Device::Disk(x) => x.boot.as_ref().and_then(|b| b.order),
            Device::Hostdev(x) => x.boot.as_ref().and_then(|b| b.order),
            Device::Other(e) => {
                if e.elements().any(|c| c.name == "boot") {
                    per_device = true;
                }
                None
            }
            _ => None,
        };
        if let Some(o) = order {
            per_device = true;
            boot.insert(i, o);
        }
    }
    if per_device {
        return boot;
    }
    let devs: Vec<&str> =
        d.os.as_ref()
            .map(|os| {
                os.other
                    .iter()
                    .filter(|e| e.name == "boot")
                    .filter_map(|e| e.attr("dev"))
                    .collect()
            })
            .unwrap_or_default();
    let devs = if devs.is_empty() { vec!["hd"] } else { devs };
    for (pos, dev) in devs.iter().enumerate() {
        let want = |x: &Disk| match *dev {
            "hd" => matches!(x.device(), DiskDevice::Disk | DiskDevice::Lun),
            "cdrom" => x.device() == DiskDevice::Cdrom,
            "fd" => x.device() == DiskDevice::Floppy,
            _ => false,
        };
        let first = disk_order
            .iter()
            .copied()
            .find(|&i| matches!(&d.devices.items[i], Device::Disk(x) if want(x)));
        if let Some(i) = first {
            boot.insert(i, pos as u32 + 1);
        }
    }
    boot
}
