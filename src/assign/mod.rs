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

/// The highest SCSI controller index a device may use. A device on controller N makes libvirt
/// add every SCSI controller 0..=N that is not defined (reference §c.3), each a PCI device of
/// its own; libvirt's schema (`domaincommon.rng`, `driveaddress`) allows `controller='0'` to
/// `'99'` only, so `virt-xml-validate` and `virsh define --validate` refuse anything larger.
/// The validator refuses a device above it (E016), and the SCSI layout lists implicit
/// controllers only up to it.
pub const MAX_SCSI_CONTROLLER_INDEX: u32 = 99;

/// Every SCSI drive address the domain will use, disks first (they are placed first), then
/// hostdevs, each in document order; plus the models of all SCSI controllers, implicit ones
/// included.
///
/// The cost of computing it follows the number of devices, never the values in them: implicit
/// controllers are held as runs of indices (one per hostdev or disk that raises the highest
/// index), and only the indices up to [`MAX_SCSI_CONTROLLER_INDEX`] are listed one by one in
/// `controllers` and `implicit` (a domain that needs more is invalid, E016).
#[derive(Debug, Clone, Default)]
pub(crate) struct ScsiLayout {
    /// Placed SCSI disks and hostdevs.
    pub placed: Vec<Placed>,
    /// Controller index → effective model, for defined and implicit SCSI controllers
    /// (implicit ones up to [`MAX_SCSI_CONTROLLER_INDEX`]; [`model_of`](Self::model_of)
    /// answers for every index).
    pub controllers: BTreeMap<u32, ScsiModel>,
    /// Indices of controllers that are added implicitly, in the order libvirt appends them
    /// (hostdev-driven ones first, then disk-driven ones); up to
    /// [`MAX_SCSI_CONTROLLER_INDEX`].
    pub implicit: Vec<u32>,
    /// How many of `implicit` libvirt adds while parsing (for hostdevs); the rest come after
    /// post-parse. The QEMU driver's default devices (the USB controller) fall in between,
    /// which decides PCI placement on q35.
    pub implicit_at_parse: usize,
    /// Implicit controllers as consecutive runs `(first, last, model)` covering
    /// 0..=the highest index any device uses, defined indices included (they keep their own
    /// model).
    runs: Vec<(u32, u32, ScsiModel)>,
}

/// Implicit SCSI controllers while they are computed: the defined ones, and runs of added
/// indices. Every index 0..=`top` exists once something was added; the runs are consecutive
/// and in the order libvirt adds them, so they are also sorted.
struct Implicit<'a> {
    defined: &'a BTreeMap<u32, Option<ScsiModel>>,
    /// (first, last, model as libvirt sets it: `None` = left for the default).
    runs: Vec<(u32, u32, Option<ScsiModel>)>,
}

impl Implicit<'_> {
    /// The highest index added so far.
    fn top(&self) -> Option<u32> {
        self.runs.last().map(|r| r.1)
    }

    /// Add every index 0..=`max` that does not exist yet, with `model`.
    fn add_up_to(&mut self, max: u32, model: Option<ScsiModel>) {
        let first = match self.top() {
            Some(t) if t >= max => return,
            Some(t) => t + 1,
            None => 0,
        };
        self.runs.push((first, max, model));
    }

    /// The model of a controller that exists (defined, or added), as libvirt holds it before
    /// the default applies; `None` when it does not exist.
    fn get(&self, idx: u32) -> Option<Option<ScsiModel>> {
        if let Some(m) = self.defined.get(&idx) {
            return Some(*m);
        }
        let i = self.runs.partition_point(|r| r.1 < idx);
        self.runs.get(i).filter(|r| r.0 <= idx).map(|r| r.2)
    }
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
        // Models left unset resolve to the default (lsilogic on x86). Each step adds the
        // indices above the highest one that exists, so the added indices are runs, one per
        // device that raises the maximum: nothing here costs per index.
        let mut ctrl = Implicit {
            defined: &defined,
            runs: Vec::new(),
        };
        let mut hostdev_model: Option<ScsiModel> = None;
        let mut max_hostdev_ctrl: Option<u32> = None;
        for (_, h) in &scsi_hostdevs {
            let c = match &h.address {
                Some(DeviceAddress::Drive(a, _)) => a.tuple().0,
                _ => 0,
            };
            if max_hostdev_ctrl.is_none_or(|m| c > m) {
                max_hostdev_ctrl = Some(c);
                if let Some(Some(m)) = ctrl.get(c) {
                    hostdev_model = Some(m);
                }
                ctrl.add_up_to(c, hostdev_model);
            }
        }
        let top_at_parse = ctrl.top();

        // The free-unit search for hostdevs without an address, in document order. Explicit
        // addresses are known before it runs. The first free address never moves backwards
        // (addresses only get used), so the search resumes where the previous one stopped:
        // linear in the number of hostdevs (every model has unit 0, so a controller the
        // search passes holds a device on each unit it may use).
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
                        let over_model = ctrl.get(c).is_some_and(|m| {
                            let model = resolve(m);
                            model.max_unit().is_some_and(|max| u > max)
                                || model.reserved_unit() == Some(u)
                        });
                        if !over_model && !used.contains(&a) {
                            break a;
                        }
                        cursor = if u + 1 < SCSI_NARROW_UNITS {
                            (c, u + 1)
                        } else {
                            (c.saturating_add(1), 0)
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
        let max_disk = layout
            .placed
            .iter()
            .filter(|p| !p.hostdev)
            .map(|p| p.addr.0)
            .max();
        if let Some(max) = max_disk {
            ctrl.add_up_to(max, None);
        }
        let mut max_h: Option<u32> = None;
        let mut model_h: Option<ScsiModel> = None;
        for p in layout.placed.iter().filter(|p| p.hostdev) {
            if max_h.is_none_or(|m| p.addr.0 > m) {
                max_h = Some(p.addr.0);
                if let Some(Some(m)) = ctrl.get(p.addr.0) {
                    model_h = Some(m);
                }
            }
        }
        if let Some(max) = max_h {
            ctrl.add_up_to(max, model_h);
        }

        // The listing: defined controllers, and implicit ones up to the bound, in index order
        // (which is the order libvirt appends them).
        layout.controllers = defined.iter().map(|(k, v)| (*k, resolve(*v))).collect();
        for &(first, last, model) in &ctrl.runs {
            for idx in first..=last.min(MAX_SCSI_CONTROLLER_INDEX) {
                if defined.contains_key(&idx) {
                    continue;
                }
                layout.controllers.insert(idx, resolve(model));
                layout.implicit.push(idx);
                if top_at_parse.is_some_and(|t| idx <= t) {
                    layout.implicit_at_parse += 1;
                }
            }
        }
        layout.runs = ctrl
            .runs
            .iter()
            .map(|&(first, last, model)| (first, last, resolve(model)))
            .collect();
        layout
    }

    /// The effective model of a SCSI controller index, if the domain has (or will add) it.
    pub fn model_of(&self, index: u32) -> Option<ScsiModel> {
        if let Some(m) = self.controllers.get(&index) {
            return Some(*m);
        }
        let i = self.runs.partition_point(|r| r.1 < index);
        self.runs.get(i).filter(|r| r.0 <= index).map(|r| r.2)
    }

    /// The highest SCSI controller index the domain will have: the highest defined one, or
    /// the highest one added implicitly for its devices.
    #[cfg(test)]
    pub fn highest_index(&self) -> Option<u32> {
        let defined = self.controllers.keys().next_back().copied();
        let implicit = self.runs.last().map(|r| r.1);
        defined.max(implicit)
    }
}

#[cfg(test)]
mod tests;
