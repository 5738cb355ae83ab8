//! libvirt's automatic drive addressing, as pure functions over the model.
//!
//! Conflicts can only be judged on the addresses libvirt will really use, so the validator
//! needs these rules; the emitter uses them to place devices. They follow
//! `virDomainDiskDefAssignAddress`, `virDomainHostdevAssignAddress` and
//! `virDomainSCSIDriveAddressIsUsed` (reference §c):
//! - a disk without `<address>` takes its address from its target name alone
//!   (`sdX` index i → controller i/7, unit i%7; QEMU's narrow bus has 7 usable units);
//! - a SCSI hostdev without `<address>` takes the first unit 0..6 on controller 0, 1, … that no
//!   SCSI disk or hostdev uses and that the controller's model allows;
//! - a SCSI controller index used by a disk or hostdev but not defined is added implicitly;
//!   without a model it gets the machine default (lsilogic on x86 and aarch64, ibmvscsi on
//!   pSeries); controllers added for hostdevs copy the model of the controller of the last
//!   hostdev seen.

use crate::model::{
    ControllerModel, ControllerType, DeviceAddress, DiskBus, Domain, DriveAddress, HostdevType,
};
use std::collections::BTreeMap;

/// Units per controller that automatic assignment uses with QEMU (`scsiBusMaxUnit`).
pub const SCSI_NARROW_UNITS: u32 = 7;

/// Why a target name does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskNameError {
    /// Not `hd|sd|vd|xvd|ubd|fd` followed by lower-case letters (and optional digits).
    Malformed,
    /// So many letters that the index overflows.
    Overflow,
}

/// A parsed target name: prefix, 0-based index, optional partition number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskName<'a> {
    /// `sd`, `vd`, …
    pub prefix: &'a str,
    /// Bijective base-26 index of the letters (`sda` = 0, `sdaa` = 26).
    pub index: u32,
    /// Trailing partition number, if any.
    pub partition: Option<u32>,
}

/// Parse a target name as libvirt's `virDiskNameParse` does.
pub fn parse_disk_name(name: &str) -> Result<DiskName<'_>, DiskNameError> {
    let prefix = ["xvd", "ubd", "fd", "hd", "vd", "sd"]
        .into_iter()
        .find(|p| name.starts_with(p))
        .ok_or(DiskNameError::Malformed)?;
    let rest = &name[prefix.len()..];
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 {
        return Err(DiskNameError::Malformed);
    }
    // libvirt keeps the index in an int.
    let mut idx: i64 = 0;
    for (i, b) in rest.bytes().take(letters).enumerate() {
        idx = (idx + if i == 0 { 0 } else { 1 }) * 26 + i64::from(b - b'a');
        if idx > i64::from(i32::MAX) {
            return Err(DiskNameError::Overflow);
        }
    }
    let digits = &rest[letters..];
    let partition = if digits.is_empty() {
        None
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return Err(DiskNameError::Malformed);
        }
        Some(digits.parse().map_err(|_| DiskNameError::Overflow)?)
    };
    Ok(DiskName {
        prefix,
        index: idx as u32,
        partition,
    })
}

/// The drive address libvirt derives from a target index on a bus, or `None` for buses that
/// do not use drive addresses.
pub fn drive_address_for_index(bus: DiskBus, index: u32) -> Option<DriveAddress> {
    let (controller, b, unit) = match bus {
        DiskBus::Scsi => (index / SCSI_NARROW_UNITS, 0, index % SCSI_NARROW_UNITS),
        DiskBus::Ide => (index / 4, (index % 4) / 2, index % 2),
        DiskBus::Sata => (index / 6, 0, index % 6),
        DiskBus::Fdc => (index / 2, 0, index % 2),
        _ => return None,
    };
    Some(DriveAddress {
        controller: Some(controller),
        bus: Some(b),
        target: Some(0),
        unit: Some(unit),
    })
}

/// Where an address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written in the XML.
    Explicit,
    /// Derived from a disk's target name.
    FromName,
    /// Chosen by the free-unit search for a hostdev.
    Searched,
}

/// The effective SCSI drive address of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Index into `domain.devices.items`.
    pub item: usize,
    /// True for a hostdev, false for a disk.
    pub hostdev: bool,
    /// (controller, bus, target, unit).
    pub addr: (u32, u32, u32, u32),
    /// How the address was found.
    pub origin: Origin,
}

/// The default model for a SCSI controller without one, as libvirt's QEMU driver chooses.
pub fn default_scsi_model(domain: &Domain) -> ControllerModel {
    let pseries = domain.arch().is_some_and(|a| a.starts_with("ppc64"))
        && domain.machine().is_some_and(|m| m.starts_with("pseries"));
    if pseries {
        ControllerModel::Ibmvscsi
    } else {
        ControllerModel::Lsilogic
    }
}

/// Every SCSI drive address the domain will use, disks first (they are placed first), then
/// hostdevs, each in document order; plus the models of all SCSI controllers, implicit ones
/// included.
#[derive(Debug, Clone, Default)]
pub struct ScsiLayout {
    /// Placed SCSI disks and hostdevs.
    pub placed: Vec<Placed>,
    /// Controller index → effective model, for defined and implicit SCSI controllers.
    pub controllers: BTreeMap<u32, ControllerModel>,
    /// Indices of controllers that are added implicitly.
    pub implicit: Vec<u32>,
}

impl ScsiLayout {
    /// Compute the layout. Disks whose names do not parse are left out (the validator reports
    /// them).
    pub fn of(domain: &Domain) -> ScsiLayout {
        ScsiLayout::with_default(domain, default_scsi_model(domain))
    }

    /// Compute the layout with a given model for controllers that have none. The emitter uses
    /// this when the QEMU build lacks `lsi` and libvirt would fall back to virtio-scsi.
    pub fn with_default(domain: &Domain, default_model: ControllerModel) -> ScsiLayout {
        let mut defined: BTreeMap<u32, Option<ControllerModel>> = BTreeMap::new();
        for (_, c) in domain.devices.controllers() {
            if c.kind == ControllerType::Scsi {
                defined.entry(c.idx()).or_insert(c.model);
            }
        }
        let resolve = |m: Option<ControllerModel>| match m {
            None | Some(ControllerModel::Auto) => default_model,
            Some(m) => m,
        };
        let mut layout = ScsiLayout::default();

        for (i, d) in domain.devices.disks() {
            if d.bus() != Some(DiskBus::Scsi) {
                continue;
            }
            let (addr, origin) = match &d.address {
                Some(DeviceAddress::Drive(a, _)) => (a.tuple(), Origin::Explicit),
                Some(_) => continue,
                None => {
                    let Some(dev) = d.dev() else { continue };
                    let Ok(name) = parse_disk_name(dev) else {
                        continue;
                    };
                    let a = drive_address_for_index(DiskBus::Scsi, name.index)
                        .expect("scsi has drive addresses");
                    (a.tuple(), Origin::FromName)
                }
            };
            layout.placed.push(Placed {
                item: i,
                hostdev: false,
                addr,
                origin,
            });
        }
        let scsi_hostdevs: Vec<_> = domain
            .devices
            .hostdevs()
            .filter(|(_, h)| h.kind == HostdevType::Scsi)
            .collect();
        for (i, h) in &scsi_hostdevs {
            if let Some(DeviceAddress::Drive(a, _)) = &h.address {
                layout.placed.push(Placed {
                    item: *i,
                    hostdev: true,
                    addr: a.tuple(),
                    origin: Origin::Explicit,
                });
            }
        }
        for (i, h) in &scsi_hostdevs {
            if h.address.is_some() {
                continue;
            }
            let addr = layout.find_free_unit(&defined, resolve);
            layout.placed.push(Placed {
                item: *i,
                hostdev: true,
                addr,
                origin: Origin::Searched,
            });
        }

        // Implicit controllers for hostdevs: 0..=max hostdev controller, copying the model of
        // the controller holding the last hostdev seen; for disks: each index used.
        let mut hostdev_model: Option<Option<ControllerModel>> = None;
        let mut max_hostdev_ctrl: Option<u32> = None;
        let mut in_order: Vec<&Placed> = layout.placed.iter().filter(|p| p.hostdev).collect();
        in_order.sort_by_key(|p| p.item);
        for p in in_order {
            max_hostdev_ctrl = Some(max_hostdev_ctrl.map_or(p.addr.0, |m| m.max(p.addr.0)));
            if let Some(m) = defined.get(&p.addr.0) {
                hostdev_model = Some(*m);
            }
        }
        let mut models: BTreeMap<u32, ControllerModel> =
            defined.iter().map(|(k, v)| (*k, resolve(*v))).collect();
        if let Some(max) = max_hostdev_ctrl {
            for idx in 0..=max {
                if let std::collections::btree_map::Entry::Vacant(e) = models.entry(idx) {
                    e.insert(resolve(hostdev_model.flatten()));
                    layout.implicit.push(idx);
                }
            }
        }
        for p in layout.placed.iter().filter(|p| !p.hostdev) {
            if let std::collections::btree_map::Entry::Vacant(e) = models.entry(p.addr.0) {
                e.insert(default_model);
                layout.implicit.push(p.addr.0);
            }
        }
        layout.implicit.sort_unstable();
        layout.controllers = models;
        layout
    }

    fn is_used(
        &self,
        defined: &BTreeMap<u32, Option<ControllerModel>>,
        resolve: impl Fn(Option<ControllerModel>) -> ControllerModel,
        addr: (u32, u32, u32, u32),
    ) -> bool {
        if let Some(m) = defined.get(&addr.0) {
            let model = resolve(*m);
            if model.max_unit().is_some_and(|max| addr.3 > max)
                || model.reserved_unit() == Some(addr.3)
            {
                return true;
            }
        }
        self.placed.iter().any(|p| p.addr == addr)
    }

    fn find_free_unit(
        &self,
        defined: &BTreeMap<u32, Option<ControllerModel>>,
        resolve: impl Fn(Option<ControllerModel>) -> ControllerModel + Copy,
    ) -> (u32, u32, u32, u32) {
        let mut controller = 0u32;
        loop {
            for unit in 0..SCSI_NARROW_UNITS {
                let a = (controller, 0, 0, unit);
                if !self.is_used(defined, resolve, a) {
                    return a;
                }
            }
            controller += 1;
        }
    }

    /// The effective model of a SCSI controller index, if the domain has (or will add) it.
    pub fn model_of(&self, index: u32) -> Option<ControllerModel> {
        self.controllers.get(&index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_names_index_in_bijective_base_26() {
        let idx = |n| parse_disk_name(n).unwrap().index;
        assert_eq!(idx("sda"), 0);
        assert_eq!(idx("sdz"), 25);
        assert_eq!(idx("sdaa"), 26);
        assert_eq!(idx("sdaz"), 51);
        assert_eq!(idx("sdba"), 52);
        assert_eq!(idx("sdzz"), 701);
        assert_eq!(idx("sdaaa"), 702);
    }

    #[test]
    fn overlong_disk_name_overflows() {
        assert_eq!(
            parse_disk_name("hdaxxxxxxxxxx"),
            Err(DiskNameError::Overflow)
        );
    }

    #[test]
    fn partitions_are_parsed_and_leading_zero_refused() {
        assert_eq!(parse_disk_name("sda1").unwrap().partition, Some(1));
        assert_eq!(parse_disk_name("sda01"), Err(DiskNameError::Malformed));
        assert_eq!(parse_disk_name("sd"), Err(DiskNameError::Malformed));
        assert_eq!(parse_disk_name("nvme0n1"), Err(DiskNameError::Malformed));
    }

    #[test]
    fn scsi_names_fill_seven_units_per_controller() {
        let a = drive_address_for_index(DiskBus::Scsi, 7).unwrap();
        assert_eq!(a.tuple(), (1, 0, 0, 0));
        let a = drive_address_for_index(DiskBus::Scsi, 14).unwrap();
        assert_eq!(a.tuple(), (2, 0, 0, 0));
        let a = drive_address_for_index(DiskBus::Ide, 3).unwrap();
        assert_eq!(a.tuple(), (0, 1, 0, 1));
    }
}
