//! Device aliases and block node names, as `qemuAssignDeviceAliases` and libvirt's node-name
//! counter give them. A name is part of the plan: the whole-host builder refers to a hostdev by
//! its alias, and the applier will key hot-plug on them.

use super::{ByItem, Plan};
use crate::assign::{drive_address_for_index, parse_disk_name};
use crate::model::{
    ControllerType, DeviceAddress, Disk, DiskBus, DiskType, Domain, HostdevType, ScsiModel,
};
use std::collections::HashMap;

/// Every alias and node number of one conversion.
#[derive(Debug, Default)]
pub(crate) struct Names {
    /// SCSI controller index → alias.
    scsi: HashMap<u32, String>,
    /// Disk item → alias.
    pub disk: ByItem<String>,
    /// Hostdev item → alias.
    pub hostdev: ByItem<String>,
    /// Disk item → N of its `libvirt-N-storage`/`-format` nodes (disks with storage only).
    pub disk_node: ByItem<u64>,
    /// SCSI hostdev item → N of its `libvirt-N-backend` node.
    pub hostdev_node: ByItem<u64>,
}

impl Names {
    /// The alias of SCSI controller `idx`.
    pub fn scsi(&self, idx: u32) -> String {
        self.scsi
            .get(&idx)
            .cloned()
            .unwrap_or_else(|| format!("scsi{idx}"))
    }

    /// Name every device of the plan.
    pub fn assign(d: &Domain, plan: &Plan<'_>) -> Names {
        let items = d.devices.items.len();
        let mut n = Names {
            disk: ByItem::with_items(items),
            disk_node: ByItem::with_items(items),
            ..Names::default()
        };
        // The first SCSI controller with an index names it (a duplicate index is a validation
        // error); one pass, whatever the number of controllers.
        for c in plan.ctrls.iter().filter(|c| c.kind == ControllerType::Scsi) {
            let user = c
                .def
                .and_then(|d| d.alias.as_ref())
                .filter(|a| a.starts_with("ua-"))
                .cloned();
            let alias = user.unwrap_or_else(|| {
                if c.idx == 0 && c.model == Some(ScsiModel::Ncr53c90) {
                    "scsi".into()
                } else {
                    format!("scsi{}", c.idx)
                }
            });
            n.scsi.entry(c.idx).or_insert(alias);
        }
        for (i, disk) in d.devices.disks() {
            if let Some(bus) = disk.bus() {
                let alias = disk_alias(plan, i, disk, bus);
                n.disk.insert(i, alias);
            }
        }
        // <interface type='hostdev'> take hostdevN aliases first.
        let mut next = d
            .devices
            .items
            .iter()
            .filter(|x| matches!(x, crate::model::Device::Other(e) if e.name == "interface" && e.attr("type") == Some("hostdev")))
            .count();
        for (i, h) in d.devices.hostdevs() {
            let alias = match h.alias.as_ref().filter(|a| a.starts_with("ua-")) {
                Some(a) => a.clone(),
                None => {
                    let a = format!("hostdev{next}");
                    next += 1;
                    a
                }
            };
            n.hostdev.insert(i, alias);
        }
        // Node names count down from the last disk that has storage; SCSI hostdev backends
        // continue upward from that count.
        let with_storage = plan
            .disk_order
            .iter()
            .filter(|&&i| matches!(&d.devices.items[i], crate::model::Device::Disk(x) if has_storage(x)))
            .count() as u64;
        let mut next_node = with_storage;
        for &i in &plan.disk_order {
            if let crate::model::Device::Disk(x) = &d.devices.items[i] {
                if has_storage(x) {
                    n.disk_node.insert(i, next_node);
                    next_node -= 1;
                }
            }
        }
        let mut next_node = with_storage;
        for (i, h) in d.devices.hostdevs() {
            if h.kind == HostdevType::Scsi {
                next_node += 1;
                n.hostdev_node.insert(i, next_node);
            }
        }
        n
    }
}

/// True when the disk has a source to open (an empty CD-ROM has none and no node name).
pub(crate) fn has_storage(d: &Disk) -> bool {
    let Some(s) = &d.source else { return false };
    match d.kind.unwrap_or(DiskType::File) {
        DiskType::File => s.file.is_some(),
        DiskType::Block => s.dev.is_some(),
        DiskType::Network => s.protocol.is_some(),
        _ => true,
    }
}

/// A disk's alias: a user alias, else from its drive address (`scsi0-0-0-1`), else from its
/// bus and target index (`virtio-disk0`).
fn disk_alias(plan: &Plan<'_>, i: usize, disk: &Disk, bus: DiskBus) -> String {
    if let Some(a) = disk.alias.as_ref().filter(|a| a.starts_with("ua-")) {
        return a.clone();
    }
    let drive = match &disk.address {
        Some(DeviceAddress::Drive(a, _)) => Some(a.tuple()),
        Some(_) => None,
        None => plan.placed.get(&i).copied().or_else(|| {
            let name = parse_disk_name(disk.dev()?).ok()?;
            drive_address_for_index(bus, name.index).map(|a| a.tuple())
        }),
    };
    match (bus, drive) {
        (DiskBus::Scsi, Some((c, b, t, u))) => {
            if plan.layout.model_of(c) == Some(ScsiModel::Lsilogic) {
                drive_alias("scsi", &[c, b, u])
            } else {
                drive_alias("scsi", &[c, b, t, u])
            }
        }
        (DiskBus::Ide, Some((c, b, _, u))) => drive_alias("ide", &[c, b, u]),
        (DiskBus::Sata, Some((c, b, _, u))) => drive_alias("sata", &[c, b, u]),
        (DiskBus::Fdc, Some((c, b, _, u))) => drive_alias("fdc", &[c, b, u]),
        _ => {
            let idx = disk
                .dev()
                .and_then(|n| parse_disk_name(n).ok())
                .map(|n| n.index)
                .unwrap_or(0);
            format!("{}-disk{idx}", bus.as_str())
        }
    }
}

/// `scsi0-0-0-1`: a prefix and numbers joined by `-` (every disk has one; no `format!`).
fn drive_alias(prefix: &str, parts: &[u32]) -> String {
    let mut a = String::with_capacity(prefix.len() + 4 * parts.len());
    a.push_str(prefix);
    for (k, &n) in parts.iter().enumerate() {
        if k > 0 {
            a.push('-');
        }
        crate::decimal::push_decimal(&mut a, u64::from(n));
    }
    a
}
