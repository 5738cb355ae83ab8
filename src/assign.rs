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
//! - SCSI controllers 0..=the highest index a hostdev (then a disk) uses are added
//!   implicitly when not defined;
//!   without a model it gets the machine default (lsilogic on x86 and aarch64, ibmvscsi on
//!   pSeries); controllers added for hostdevs copy the model of the controller of the last
//!   hostdev seen.

use crate::model::{
    ControllerType, DeviceAddress, DiskBus, Domain, DriveAddress, HostdevType, ScsiModel,
};
use std::collections::{BTreeMap, HashSet};

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

/// The target name of disk `index` (0-based) with `prefix`: `sda`, …, `sdz`, `sdaa`, … —
/// the inverse of [`parse_disk_name`], as libvirt's `virIndexToDiskName` numbers disks.
pub fn disk_name(prefix: &str, mut index: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    format!("{prefix}{}", String::from_utf8_lossy(&letters))
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
pub(crate) enum Origin {
    /// Written in the XML.
    Explicit,
    /// Derived from a disk's target name.
    FromName,
    /// Chosen by the free-unit search for a hostdev.
    Searched,
}

/// The effective SCSI drive address of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
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
pub(crate) fn default_scsi_model(domain: &Domain) -> ScsiModel {
    let pseries = domain.arch().is_some_and(|a| a.starts_with("ppc64"))
        && domain.machine().is_some_and(|m| m.starts_with("pseries"));
    if pseries {
        ScsiModel::Ibmvscsi
    } else {
        ScsiModel::Lsilogic
    }
}

/// Every SCSI drive address the domain will use, disks first (they are placed first), then
/// hostdevs, each in document order; plus the models of all SCSI controllers, implicit ones
/// included.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScsiLayout {
    /// Placed SCSI disks and hostdevs.
    pub placed: Vec<Placed>,
    /// Controller index → effective model, for defined and implicit SCSI controllers.
    pub controllers: BTreeMap<u32, ScsiModel>,
    /// Indices of controllers that are added implicitly, in the order libvirt appends them
    /// (hostdev-driven ones first, then disk-driven ones).
    pub implicit: Vec<u32>,
    /// How many of `implicit` libvirt adds while parsing (for hostdevs); the rest come after
    /// post-parse. The QEMU driver's default devices (the USB controller) fall in between,
    /// which decides PCI placement on q35.
    pub implicit_at_parse: usize,
}

impl ScsiLayout {
    /// Compute the layout. Disks whose names do not parse are left out (the validator reports
    /// them).
    pub fn of(domain: &Domain) -> ScsiLayout {
        ScsiLayout::with_default(domain, default_scsi_model(domain))
    }

    /// Compute the layout with a given model for controllers that have none. The emitter uses
    /// this when the QEMU build lacks `lsi` and libvirt would fall back to virtio-scsi.
    pub fn with_default(domain: &Domain, default_model: ScsiModel) -> ScsiLayout {
        let mut defined: BTreeMap<u32, Option<ScsiModel>> = BTreeMap::new();
        let indexes = crate::controller_index::ControllerIndexes::of(domain);
        for (i, c) in domain.devices.controllers() {
            if c.kind == ControllerType::Scsi {
                defined.entry(indexes.get(i)).or_insert(c.scsi_model());
            }
        }
        let resolve = |m: Option<ScsiModel>| match m {
            None | Some(ScsiModel::Auto) => default_model,
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
        // Implicit controllers, as libvirt 9.0 adds them (pinned down against it by the live
        // test and direct experiments):
        //
        // 1. While parsing, after each SCSI hostdev, controllers 0..=the highest index any
        //    hostdev so far names are added. A hostdev without an address counts as
        //    controller 0 here (its address is still all zeros). The model of the added
        //    controllers is that of the controller of the hostdev that last raised the
        //    highest index, when that controller exists and has a model (`auto` counts);
        //    otherwise the model carried over, or none.
        // 2. After post-parse placed every device (disks by name, hostdevs by the free-unit
        //    search below), the missing indices up to the highest a disk uses are added
        //    without a model; then the rule of step 1 runs once more over all hostdevs with
        //    their final addresses (so a hostdev the search put on a new controller gets the
        //    model of the last controller that raised the maximum).
        //
        // Models left unset resolve to the default (lsilogic on x86).
        let mut ctrl: BTreeMap<u32, Option<ScsiModel>> = defined.clone();
        let mut models: BTreeMap<u32, ScsiModel> =
            defined.iter().map(|(k, v)| (*k, resolve(*v))).collect();
        let mut hostdev_model: Option<ScsiModel> = None;
        let mut max_hostdev_ctrl: Option<u32> = None;
        for (_, h) in &scsi_hostdevs {
            let c = match &h.address {
                Some(DeviceAddress::Drive(a, _)) => a.tuple().0,
                _ => 0,
            };
            if max_hostdev_ctrl.is_none_or(|m| c > m) {
                max_hostdev_ctrl = Some(c);
                if let Some(Some(m)) = ctrl.get(&c) {
                    hostdev_model = Some(*m);
                }
                for idx in 0..=c {
                    if let std::collections::btree_map::Entry::Vacant(e) = ctrl.entry(idx) {
                        e.insert(hostdev_model);
                        models.insert(idx, resolve(hostdev_model));
                        layout.implicit.push(idx);
                    }
                }
            }
        }

        layout.implicit_at_parse = layout.implicit.len();

        // The free-unit search for hostdevs without an address, in document order. Explicit
        // addresses are known before it runs. The first free address never moves backwards
        // (addresses only get used), so the search resumes where the previous one stopped:
        // linear in the number of hostdevs.
        let mut used: HashSet<(u32, u32, u32, u32)> =
            layout.placed.iter().map(|p| p.addr).collect();
        for (_, h) in &scsi_hostdevs {
            if let Some(DeviceAddress::Drive(a, _)) = &h.address {
                used.insert(a.tuple());
            }
        }
        let mut cursor = (0u32, 0u32);
        for (i, h) in &scsi_hostdevs {
            let (addr, origin) = match &h.address {
                Some(DeviceAddress::Drive(a, _)) => (a.tuple(), Origin::Explicit),
                _ => {
                    let a = loop {
                        let (c, u) = cursor;
                        let a = (c, 0, 0, u);
                        let over_model = ctrl.get(&c).is_some_and(|m| {
                            let model = resolve(*m);
                            model.max_unit().is_some_and(|max| u > max)
                                || model.reserved_unit() == Some(u)
                        });
                        if !over_model && !used.contains(&a) {
                            break a;
                        }
                        cursor = if u + 1 < SCSI_NARROW_UNITS {
                            (c, u + 1)
                        } else {
                            (c + 1, 0)
                        };
                    };
                    used.insert(a);
                    (a, Origin::Searched)
                }
            };
            layout.placed.push(Placed {
                item: *i,
                hostdev: true,
                addr,
                origin,
            });
        }

        // After post-parse: disks first (no model), then hostdevs again, now with their final
        // addresses, in one pass of the same rule as during parsing.
        let mut add =
            |idx: u32, model: Option<ScsiModel>, ctrl: &mut BTreeMap<u32, Option<ScsiModel>>| {
                if let std::collections::btree_map::Entry::Vacant(e) = ctrl.entry(idx) {
                    e.insert(model);
                    models.insert(idx, resolve(model));
                    layout.implicit.push(idx);
                }
            };
        let max_disk = layout
            .placed
            .iter()
            .filter(|p| !p.hostdev)
            .map(|p| p.addr.0)
            .max();
        if let Some(max) = max_disk {
            for idx in 0..=max {
                add(idx, None, &mut ctrl);
            }
        }
        let mut max_h: Option<u32> = None;
        let mut model_h: Option<ScsiModel> = None;
        for p in layout.placed.iter().filter(|p| p.hostdev) {
            if max_h.is_none_or(|m| p.addr.0 > m) {
                max_h = Some(p.addr.0);
                if let Some(Some(m)) = ctrl.get(&p.addr.0) {
                    model_h = Some(*m);
                }
            }
        }
        if let Some(max) = max_h {
            for idx in 0..=max {
                add(idx, model_h, &mut ctrl);
            }
        }
        layout.controllers = models;
        layout
    }

    /// The effective model of a SCSI controller index, if the domain has (or will add) it.
    pub fn model_of(&self, index: u32) -> Option<ScsiModel> {
        self.controllers.get(&index).copied()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn disk_names_round_trip_through_the_parser() {
        for (i, name) in [
            (0, "sda"),
            (25, "sdz"),
            (26, "sdaa"),
            (701, "sdzz"),
            (702, "sdaaa"),
        ] {
            assert_eq!(disk_name("sd", i), name);
        }
        for i in (0..20_000).chain([u32::MAX / 64]) {
            let n = disk_name("vd", i);
            assert_eq!(parse_disk_name(&n).map(|d| d.index), Ok(i), "{n}");
        }
    }

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

    fn hostdev(addr: &str) -> String {
        format!(
            "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>\
             <address bus='0' target='0' unit='{}'/></source>{addr}</hostdev>",
            addr.len()
        )
    }

    fn domain_of(devices: &str) -> Domain {
        let xml =
            format!("<domain type='qemu'><name>t</name><devices>{devices}</devices></domain>");
        match crate::codec::parse_str(&xml).unwrap().definition {
            crate::model::Definition::Domain(d) => *d,
            _ => unreachable!(),
        }
    }

    #[test]
    fn hostdevs_fill_seven_units_then_roll_over_like_libvirts_autogen_test() {
        // libvirt's hostdev-scsi-autogen-address: one virtio-scsi controller, eleven hostdevs,
        // the tenth explicitly at 1:0:0:5.
        let mut devs = String::from("<controller type='scsi' index='0' model='virtio-scsi'/>");
        for i in 0..11 {
            let addr = if i == 9 {
                "<address type='drive' controller='1' bus='0' target='0' unit='5'/>"
            } else {
                ""
            };
            devs.push_str(&hostdev(addr));
        }
        let layout = ScsiLayout::of(&domain_of(&devs));
        let mut got: Vec<_> = layout.placed.iter().map(|p| (p.item, p.addr)).collect();
        got.sort_unstable();
        let units: Vec<_> = got.iter().map(|(_, a)| (a.0, a.3)).collect();
        assert_eq!(
            units,
            vec![
                (0, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (0, 5),
                (0, 6),
                (1, 0),
                (1, 1),
                (1, 5),
                (1, 2)
            ]
        );
        // Controller 1 is added implicitly and copies controller 0's model.
        assert_eq!(layout.implicit, vec![1]);
        assert_eq!(layout.model_of(1), Some(ScsiModel::VirtioScsi));
    }

    #[test]
    fn hostdev_search_skips_units_a_model_lacks_and_units_disks_use() {
        let devs = "<controller type='scsi' index='0' model='lsisas1068'/>\
                    <disk type='file'><source file='/a'/><target dev='sdh' bus='scsi'/></disk>"
            .to_string()
            + &hostdev("")
            + &hostdev("")
            + &hostdev("");
        let layout = ScsiLayout::of(&domain_of(&devs));
        let hostdevs: Vec<_> = layout
            .placed
            .iter()
            .filter(|p| p.hostdev)
            .map(|p| p.addr)
            .collect();
        // lsisas1068 has units 0 and 1; controller 1 unit 0 belongs to sdh.
        assert_eq!(hostdevs, vec![(0, 0, 0, 0), (0, 0, 0, 1), (1, 0, 0, 1)]);
    }

    #[test]
    fn implicit_disk_controllers_get_the_machine_default_model() {
        let layout = ScsiLayout::of(&domain_of(
            "<disk type='file'><source file='/a'/><target dev='sdh' bus='scsi'/></disk>",
        ));
        // libvirt adds every index up to the highest a disk uses.
        assert_eq!(layout.implicit, vec![0, 1]);
        assert_eq!(layout.model_of(1), Some(ScsiModel::Lsilogic));
    }

    #[test]
    fn device_paths_in_one_pass_match_path_of() {
        let d = domain_of("<emulator>/q</emulator><disk type='file'/><controller type='usb'/><disk type='file'/><!-- c -->");
        let all = d.devices.paths();
        for (i, p) in all.iter().enumerate() {
            assert_eq!(*p, d.devices.path_of(i));
        }
        assert_eq!(all[1], "/domain/devices/disk[1]");
        assert_eq!(all[2], "/domain/devices/controller");
    }
}
