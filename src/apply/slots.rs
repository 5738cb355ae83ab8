//! The slot table: every guest address a domain's managed devices use, each held by one
//! pre-existing device (`Pinned`) or one attachment (`Owned`), never both, never two.
//!
//! Slots are SCSI controller indices, drive addresses (controller, bus, target, unit) and disk
//! target names (`sdb` must be unique too). Allocation is deterministic: the lowest free
//! address, skipping pinned and owned ones.

use super::key::DeviceKey;
use crate::model::{Device, DeviceAddress, DiskBus, DriveAddress, HostdevType, ScsiModel};
use std::collections::BTreeMap;

/// One guest address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlotAddr {
    /// A SCSI controller index.
    Controller {
        /// The index.
        index: u32,
    },
    /// A drive address.
    Drive {
        /// Controller index.
        controller: u32,
        /// Bus (always 0 on virtio-scsi).
        bus: u32,
        /// Target.
        target: u32,
        /// Unit.
        unit: u32,
    },
    /// A disk target name.
    Name {
        /// `sdb`.
        dev: String,
    },
}

impl std::fmt::Display for SlotAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotAddr::Controller { index } => write!(f, "controller index {index}"),
            SlotAddr::Drive {
                controller,
                bus,
                target,
                unit,
            } => write!(f, "drive address {controller}:{bus}:{target}:{unit}"),
            SlotAddr::Name { dev } => write!(f, "target name {dev}"),
        }
    }
}

/// Who holds a slot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlotEntry {
    /// A device the domain already had, not made by this manager.
    Pinned {
        /// Its identity.
        key: DeviceKey,
    },
    /// An attachment of this manager.
    Owned {
        /// The attachment's id.
        attachment: u64,
    },
}

/// The table.
#[derive(Debug, Clone, Default)]
pub struct SlotTable {
    entries: BTreeMap<SlotAddr, SlotEntry>,
    /// SCSI controllers known to exist (pinned or attached), with their models.
    controllers: BTreeMap<u32, Option<ScsiModel>>,
}

impl SlotTable {
    /// Who holds a slot.
    pub fn get(&self, s: &SlotAddr) -> Option<&SlotEntry> {
        self.entries.get(s)
    }

    /// Every held slot.
    pub fn iter(&self) -> impl Iterator<Item = (&SlotAddr, &SlotEntry)> {
        self.entries.iter()
    }

    /// Hold a slot. The caller has checked it is free.
    pub(crate) fn hold(&mut self, s: SlotAddr, e: SlotEntry) {
        self.entries.insert(s, e);
    }

    /// Free a slot.
    pub(crate) fn free(&mut self, s: &SlotAddr) {
        self.entries.remove(s);
    }

    /// Note that a SCSI controller exists (for allocation) or is gone.
    pub(crate) fn set_controller(&mut self, index: u32, model: Option<Option<ScsiModel>>) {
        match model {
            Some(m) => {
                self.controllers.insert(index, m);
            }
            None => {
                self.controllers.remove(&index);
            }
        }
    }

    /// The lowest free drive address on the known controllers: target 0 and units 0.. on
    /// LSI-style and narrow models (skipping the HBA's own unit), target 0 and units up to
    /// 16383 on virtio-scsi; `prefer` first when it is free.
    pub fn allocate_drive(&self, prefer: Option<&SlotAddr>) -> Option<SlotAddr> {
        if let Some(p @ SlotAddr::Drive { controller, .. }) = prefer {
            if self.controllers.contains_key(controller) && !self.entries.contains_key(p) {
                return Some(p.clone());
            }
        }
        for (&c, model) in &self.controllers {
            let m = model.unwrap_or(ScsiModel::Lsilogic);
            let max = if m.is_virtio() {
                16383
            } else {
                m.max_unit().unwrap_or(6)
            };
            for unit in 0..=max {
                if Some(unit) == m.reserved_unit() {
                    continue;
                }
                let s = SlotAddr::Drive {
                    controller: c,
                    bus: 0,
                    target: 0,
                    unit,
                };
                if !self.entries.contains_key(&s) {
                    return Some(s);
                }
            }
        }
        None
    }
}

/// The slots a device uses as written: its controller index, its drive address, its target
/// name. A disk without an address uses the one libvirt derives from its name.
pub fn slots_of(d: &Device) -> Vec<SlotAddr> {
    let drive = |a: &DriveAddress| {
        let (controller, bus, target, unit) = a.tuple();
        SlotAddr::Drive {
            controller,
            bus,
            target,
            unit,
        }
    };
    let mut v = Vec::new();
    match d {
        Device::Controller(c) => v.push(SlotAddr::Controller { index: c.idx() }),
        Device::Disk(x) => {
            if let Some(dev) = x.dev() {
                v.push(SlotAddr::Name {
                    dev: dev.to_string(),
                });
            }
            match x.address.as_ref().and_then(DeviceAddress::as_drive) {
                Some(a) => v.push(drive(a)),
                None => {
                    if let Some(a) = derived_address(d) {
                        v.push(drive(&a));
                    }
                }
            }
        }
        Device::Hostdev(h) if h.kind == HostdevType::Scsi => {
            if let Some(a) = h.address.as_ref().and_then(DeviceAddress::as_drive) {
                v.push(drive(a));
            }
        }
        _ => {}
    }
    v
}

/// The drive address libvirt derives from a SCSI disk's target name.
pub fn derived_address(d: &Device) -> Option<DriveAddress> {
    let Device::Disk(x) = d else { return None };
    if x.bus() != Some(DiskBus::Scsi) {
        return None;
    }
    let n = crate::assign::parse_disk_name(x.dev()?).ok()?;
    crate::assign::drive_address_for_index(DiskBus::Scsi, n.index)
}

/// A device with this drive address written into it.
pub fn with_address(d: &Device, s: &SlotAddr) -> Device {
    let SlotAddr::Drive {
        controller,
        bus,
        target,
        unit,
    } = s
    else {
        return d.clone();
    };
    let a = DeviceAddress::Drive(
        DriveAddress {
            controller: Some(*controller),
            bus: Some(*bus),
            target: Some(*target),
            unit: Some(*unit),
        },
        Default::default(),
    );
    let mut d = d.clone();
    match &mut d {
        Device::Disk(x) => x.address = Some(a),
        Device::Hostdev(h) => h.address = Some(a),
        _ => {}
    }
    d
}

/// True when a device names a drive address itself.
pub fn has_drive_address(d: &Device) -> bool {
    match d {
        Device::Disk(x) => x
            .address
            .as_ref()
            .and_then(DeviceAddress::as_drive)
            .is_some(),
        Device::Hostdev(h) => h
            .address
            .as_ref()
            .and_then(DeviceAddress::as_drive)
            .is_some(),
        _ => false,
    }
}

/// True when the device needs a drive address (SCSI disks and SCSI hostdevs).
pub fn needs_drive_address(d: &Device) -> bool {
    match d {
        Device::Disk(x) => x.bus() == Some(DiskBus::Scsi),
        Device::Hostdev(h) => h.kind == HostdevType::Scsi,
        _ => false,
    }
}
