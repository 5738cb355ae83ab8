//! [`Index`]: one scan of the SCSI part of sysfs, built once and then queried.
//!
//! Resolving a domain with N SCSI devices costs one scan (proportional to the number of hosts
//! and LUs on the machine) plus O(1) per device, instead of a directory walk per device.
//! Problems with single entries (an unreadable `unique_id`, a dangling link, a hostile name)
//! become warnings and the entry is skipped or left incomplete: one bad host must never hide
//! the others, which is what libvirt's search gets wrong.

use super::error::ResolveError;
use super::sysfs::{
    component, host_number, is_block_name, is_sg_name, FxMap, Hctl, SysPath, SysfsRoot,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Fibre Channel attributes of a host (`/sys/class/fc_host/hostN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FcInfo {
    /// `node_name`, lower-case hex without `0x`.
    pub node_name: Option<String>,
    /// `port_name`, lower-case hex without `0x`.
    pub port_name: Option<String>,
    /// `fabric_name`, lower-case hex without `0x`.
    pub fabric_name: Option<String>,
    /// `port_state` (`Online`, …).
    pub port_state: Option<String>,
}

/// One SCSI host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScsiHost {
    /// N of `hostN`.
    pub number: u32,
    /// Canonical device directory (`/sys/devices/…/virtio0/host6`).
    pub device_path: SysPath,
    /// The nearest PCI function above the host (`0000:01:00.0`), an exact path component.
    pub pci_parent: Option<String>,
    /// The nearest SCSI host above this one (a vHBA's parent HBA).
    pub parent_host: Option<u32>,
    /// `unique_id`, when readable.
    pub unique_id: Option<u32>,
    /// Why `unique_id` could not be used, when it could not.
    pub unique_id_problem: Option<String>,
    /// `proc_name` (the driver).
    pub proc_name: Option<String>,
    /// FC attributes, for FC hosts.
    pub fc: Option<FcInfo>,
    /// Has `vport_create` (an NPIV-capable physical HBA).
    pub vport_capable: bool,
}

impl ScsiHost {
    /// `host6 (unique_id 0)`, for messages.
    pub fn describe(&self) -> String {
        match (self.unique_id, &self.unique_id_problem) {
            (Some(u), _) => format!("host{} (unique_id {u})", self.number),
            (None, Some(p)) => format!("host{} (unique_id unusable: {p})", self.number),
            (None, None) => format!("host{} (no unique_id)", self.number),
        }
    }
}

/// What identifies an LU across reboots, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Identity {
    /// `wwid` (`naa.…`, `t10.…`).
    Wwid(String),
    /// VPD page 0x83, hex.
    VpdPg83(String),
    /// Only the device numbers (`21:1`, `8:16`): stable for this boot only.
    DevNumbers {
        /// `major:minor` of the sg node.
        sg: Option<String>,
        /// `major:minor` of the block node.
        block: Option<String>,
    },
    /// Nothing readable.
    Unknown,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Wwid(w) => write!(f, "wwid {w}"),
            Identity::VpdPg83(h) => write!(f, "vpd83 {h}"),
            Identity::DevNumbers { sg, block } => {
                let parts: Vec<String> = [("sg", sg), ("block", block)]
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
                    .collect();
                write!(f, "dev {}", parts.join(", "))
            }
            Identity::Unknown => f.write_str("-"),
        }
    }
}

/// One SCSI logical unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lu {
    /// Its address.
    pub hctl: Hctl,
    /// `sgN`, from `H:B:T:L/scsi_generic/`.
    pub sg: Option<String>,
    /// `sdX`/`srN`, from `H:B:T:L/block/`.
    pub block: Option<String>,
    /// Peripheral device type (0 disk, 1 tape, 5 CD-ROM, …).
    pub scsi_type: Option<u32>,
    /// `vendor`, trimmed.
    pub vendor: Option<String>,
    /// `model`, trimmed.
    pub model: Option<String>,
    /// `rev`, trimmed.
    pub rev: Option<String>,
    /// Stable identity.
    pub identity: Identity,
}

impl Lu {
    /// The QEMU device that passes this LU through: `scsi-block` when the host has a block
    /// device for it (faster, supports reservations), else `scsi-generic`.
    pub fn passthrough(&self) -> &'static str {
        if self.block.is_some() {
            "scsi-block"
        } else {
            "scsi-generic"
        }
    }
}

/// The scan result.
#[derive(Debug, Clone, Default)]
pub struct Index {
    hosts: BTreeMap<u32, ScsiHost>,
    lus: BTreeMap<Hctl, Lu>,
    by_pci: HashMap<String, Vec<u32>>,
    by_block: FxMap<String, Hctl>,
    by_sg: FxMap<String, Hctl>,
    /// Hosts whose class entry was refused while scanning, with the warning that says why.
    refused_hosts: HashMap<u32, String>,
    /// True when any `scsi_generic` directory exists (the sg driver is loaded).
    pub sg_driver_loaded: bool,
    /// Entries skipped or left incomplete, with why.
    pub warnings: Vec<String>,
    /// The root, for messages (`/` or a fixture path).
    pub root: String,
}

/// Is `s` a PCI function name as sysfs writes it (`0000:00:1f.2`, domain 4+ hex digits)?
pub fn is_pci_bdf(s: &str) -> bool {
    let Some((dom, rest)) = s.split_once(':') else {
        return false;
    };
    let hex = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_hexdigit());
    let b = rest.as_bytes();
    (4..=8).contains(&dom.len())
        && dom.bytes().all(|b| b.is_ascii_hexdigit())
        && b.len() == 7
        && hex(&rest[0..2], 2)
        && b[2] == b':'
        && hex(&rest[3..5], 2)
        && b[5] == b'.'
        && (b'0'..=b'7').contains(&b[6])
}

fn norm_wwn(s: &str) -> String {
    s.trim()
        .strip_prefix("0x")
        .or_else(|| s.trim().strip_prefix("0X"))
        .unwrap_or(s.trim())
        .to_ascii_lowercase()
}

/// How much of an LU to read, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Detail {
    /// Its sg node only, all a SCSI hostdev passes: `block` and the descriptive attributes
    /// are left empty.
    Sg,
    /// Its sg and block nodes, all a whole-host passthrough uses (the block node chooses
    /// `scsi-block`): the descriptive attributes (`type`, `vendor`, `model`, `rev`, the
    /// identity) are left empty.
    Nodes,
    /// Everything [`Lu`] holds (a report, a snapshot).
    Full,
}

/// Reads whose failure only degrades one entry, with the warnings they gave.
pub(crate) struct Scan<'a> {
    pub(crate) root: &'a SysfsRoot,
    pub(crate) warnings: Vec<String>,
}

/// Where a host's class entry leads (the first half of reading a host: enough to know its
/// PCI parent, before any of its attributes is read).
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The canonical class directory (`…/hostN/scsi_host/hostN`).
    dir: SysPath,
    /// The canonical device directory (`…/hostN`).
    device_path: SysPath,
    /// The nearest PCI function above the host.
    pub(crate) pci_parent: Option<String>,
}

/// `hostN` as the kernel writes it: the name a class directory has for host `n`, and the
/// only one the index accepts for it (`host007` is refused), so that a lookup by number
/// can open `hostN` and know that no other entry names the same host.
pub(crate) fn is_canonical_host(name: &str, n: u32) -> bool {
    name.len() == 4 + decimal_len(u64::from(n))
}

/// `H:B:T:L` as the kernel writes it (no leading zeros), for the same reason.
pub(crate) fn is_canonical_hctl(name: &str, h: Hctl) -> bool {
    name.len()
        == 3 + decimal_len(u64::from(h.host))
            + decimal_len(u64::from(h.bus))
            + decimal_len(u64::from(h.target))
            + decimal_len(h.lun)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

impl Scan<'_> {
    /// A result whose error only degrades one entry: keep the warning, carry on.
    /// `what` names the entry in the warning (built only when there is one).
    fn soft<T>(
        &mut self,
        what: impl FnOnce() -> String,
        r: Result<Option<T>, ResolveError>,
    ) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.warnings.push(format!("{}: {e}", what()));
                None
            }
        }
    }

    fn text(&mut self, dir: &SysPath, name: &str) -> Option<String> {
        let r = self.root.read_text(dir, name);
        let root = self.root;
        self.soft(|| root.show(dir) + "/" + name, r)
    }

    fn first_entry(&mut self, dir: &SysPath, sub: &str, ok: fn(&str) -> bool) -> Option<String> {
        let root = self.root;
        let d = root.resolve_in(dir, sub);
        let d = self.soft(|| root.show(dir) + "/" + sub, d)?;
        self.first_in(dir, sub, &d, ok)
    }

    /// The first name `ok` accepts in `d`, the resolved `dir/sub`.
    fn first_in(
        &mut self,
        dir: &SysPath,
        sub: &str,
        d: &SysPath,
        ok: fn(&str) -> bool,
    ) -> Option<String> {
        let root = self.root;
        let l = root.list(d);
        let l = self.soft(|| root.show(dir) + "/" + sub, l)?;
        l.names.into_iter().find(|n| ok(n))
    }
}

impl Index {
    /// Scan `root`: every SCSI host, FC host and LU. Fails only when the top-level class
    /// directories cannot be read at all (permissions); everything finer is a warning.
    pub fn scan(root: &SysfsRoot) -> Result<Index, ResolveError> {
        let mut s = Scan {
            root,
            warnings: Vec::new(),
        };
        let mut idx = Index::empty(root);
        let fc = Self::scan_fc(&mut s)?;
        let class_host = Self::class_dir(root, "sys/class/scsi_host")?;
        if let Some(listing) = root.list(&class_host)? {
            for bad in &listing.refused {
                s.warnings.push(format!(
                    "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI host",
                    root.show(&class_host)
                ));
            }
            for name in &listing.names {
                let Some(n) = host_number(name).filter(|&n| is_canonical_host(name, n)) else {
                    s.warnings.push(format!(
                        "{}/{name}: skipped: not a hostN name",
                        root.show(&class_host)
                    ));
                    continue;
                };
                match Self::scan_host(&mut s, &class_host, n, fc.get(&n)) {
                    Some(h) => {
                        idx.hosts.insert(n, h);
                    }
                    // Refused (a symlink loop, a link out of the root): remember why, so that
                    // naming this host says what was refused rather than that it is absent.
                    None => {
                        let why = s.warnings.last().cloned().unwrap_or_default();
                        idx.refused_hosts.insert(n, why);
                    }
                }
            }
        }
        for h in idx.hosts.values() {
            if let Some(p) = &h.pci_parent {
                idx.by_pci.entry(p.clone()).or_default().push(h.number);
            }
        }
        let bus = Self::class_dir(root, "sys/bus/scsi/devices")?;
        let mut generic_dirs = false;
        if let Some(listing) = root.list(&bus)? {
            for bad in &listing.refused {
                s.warnings.push(format!(
                    "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI device",
                    root.show(&bus)
                ));
            }
            for name in &listing.names {
                let Some(hctl) = Hctl::parse(name) else {
                    continue;
                };
                if !is_canonical_hctl(name, hctl) {
                    s.warnings.push(format!(
                        "{}/{name}: skipped: sysfs writes {hctl} without leading zeros",
                        root.show(&bus)
                    ));
                    continue;
                }
                let Some(dir) = Self::locate_lu(&mut s, &bus, hctl) else {
                    continue;
                };
                let lu = Self::scan_lu(&mut s, &dir, hctl, &mut generic_dirs, Detail::Full);
                idx.add_lu(lu);
            }
        }
        // A host known only by its LUs (a hand-made tree with bus/scsi/devices but no
        // class/scsi_host entry) is still host N for `name='scsi_hostN'`, which is all libvirt
        // reads for that form. Real sysfs always has the class entry.
        let lu_hosts: Vec<u32> = idx.lus.keys().map(|h| h.host).collect();
        for n in lu_hosts {
            if idx.refused_hosts.contains_key(&n) {
                continue;
            }
            idx.hosts.entry(n).or_insert_with(|| ScsiHost {
                number: n,
                device_path: SysPath::default(),
                pci_parent: None,
                parent_host: None,
                unique_id: None,
                unique_id_problem: Some("no sys/class/scsi_host entry".into()),
                proc_name: None,
                fc: None,
                vport_capable: false,
            });
        }
        let class_sg = SysPath::parse("sys/class/scsi_generic")?;
        idx.sg_driver_loaded = generic_dirs || root.resolve(&class_sg)?.is_some();
        idx.warnings = s.warnings;
        Ok(idx)
    }

    /// An index with nothing in it yet, for `root`.
    pub(crate) fn empty(root: &SysfsRoot) -> Index {
        Index {
            root: root.path().display().to_string(),
            ..Default::default()
        }
    }

    /// A top-level directory (`sys/class/scsi_host`, `sys/bus/scsi/devices`), resolved like
    /// everything else: in a snapshot or a hand-made tree it could be a link too.
    pub(crate) fn class_dir(root: &SysfsRoot, path: &str) -> Result<SysPath, ResolveError> {
        let p = SysPath::parse(path)?;
        Ok(root.resolve(&p)?.unwrap_or(p))
    }

    fn scan_fc(s: &mut Scan<'_>) -> Result<HashMap<u32, (FcInfo, bool)>, ResolveError> {
        let mut out = HashMap::new();
        let class_fc = Self::class_dir(s.root, "sys/class/fc_host")?;
        let Some(listing) = s.root.list(&class_fc)? else {
            return Ok(out);
        };
        for name in &listing.names {
            let Some(n) = host_number(name).filter(|&n| is_canonical_host(name, n)) else {
                continue;
            };
            if let Some(info) = Self::scan_fc_host(s, &class_fc, n) {
                out.insert(n, info);
            }
        }
        Ok(out)
    }

    /// The FC attributes of host `n` (`class_fc/hostN`), if it is an FC host.
    pub(crate) fn scan_fc_host(
        s: &mut Scan<'_>,
        class_fc: &SysPath,
        n: u32,
    ) -> Option<(FcInfo, bool)> {
        let root = s.root;
        let p = class_fc.join(&format!("host{n}")).ok()?;
        let r = s.root.resolve_link(&p);
        let dir = s.soft(|| root.show(&p), r)?;
        let info = FcInfo {
            node_name: s.text(&dir, "node_name").map(|v| norm_wwn(&v)),
            port_name: s.text(&dir, "port_name").map(|v| norm_wwn(&v)),
            fabric_name: s.text(&dir, "fabric_name").map(|v| norm_wwn(&v)),
            port_state: s.text(&dir, "port_state"),
        };
        let r = s.root.exists_in(&dir, "vport_create").map(Some);
        let vport = s.soft(|| root.show(&dir), r).unwrap_or(false);
        Some((info, vport))
    }

    /// Host `n` from its class entry `class_host/hostN`: where it is, then its attributes.
    /// `None` (with a warning) when the entry cannot be followed.
    pub(crate) fn scan_host(
        s: &mut Scan<'_>,
        class_host: &SysPath,
        n: u32,
        fc: Option<&(FcInfo, bool)>,
    ) -> Option<ScsiHost> {
        let at = Self::locate_host(s, class_host, n)?;
        Some(Self::read_host(s, at, n, fc))
    }

    /// Follow the class entry of host `n` to its device directory, reading no attribute.
    pub(crate) fn locate_host(s: &mut Scan<'_>, class_host: &SysPath, n: u32) -> Option<Located> {
        let root = s.root;
        let name = format!("host{n}");
        let p = class_host.join(&name).ok()?;
        let r = s.root.resolve_link(&p);
        let dir = s.soft(|| root.show(&p), r)?;
        // The class directory is `…/hostN/scsi_host/hostN`; its device is two levels up.
        let c = dir.components();
        let device_path = if c.len() >= 3
            && c[c.len() - 1] == name
            && c[c.len() - 2] == "scsi_host"
            && c[c.len() - 3] == name
        {
            dir.parent().and_then(|d| d.parent()).unwrap_or_default()
        } else {
            let r = s.root.resolve_in(&dir, "device");
            match s.soft(|| root.show(&dir), r) {
                Some(d) => d,
                None => dir.clone(),
            }
        };
        let pci_parent = device_path
            .iter()
            .rev()
            .skip(1)
            .find(|c| is_pci_bdf(c))
            .map(str::to_string);
        Some(Located {
            dir,
            device_path,
            pci_parent,
        })
    }

    /// The attributes of a located host.
    pub(crate) fn read_host(
        s: &mut Scan<'_>,
        at: Located,
        n: u32,
        fc: Option<&(FcInfo, bool)>,
    ) -> ScsiHost {
        let root = s.root;
        let Located {
            dir,
            device_path,
            pci_parent,
        } = at;
        let parent_host = device_path.iter().rev().skip(1).find_map(host_number);
        let (unique_id, unique_id_problem) = match s.root.read_text(&dir, "unique_id") {
            Ok(Some(v)) => match v
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| v.parse::<u32>())
            {
                Some(Ok(u)) => (Some(u), None),
                _ => {
                    let m = format!("{v:?} is not a number");
                    s.warnings.push(format!(
                        "{}/unique_id: {m}; host{n} skipped in unique_id searches",
                        s.root.show(&dir)
                    ));
                    (None, Some(m))
                }
            },
            Ok(None) => (None, None),
            Err(e) => {
                let m = match &e {
                    ResolveError::Io { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                s.warnings.push(format!(
                    "host{n}: unique_id unreadable ({e}); host{n} skipped in unique_id searches"
                ));
                (None, Some(format!("unreadable: {m}")))
            }
        };
        let proc_name = s.text(&dir, "proc_name");
        let r = s.root.exists_in(&dir, "vport_create").map(Some);
        let scsi_vport = s.soft(|| root.show(&dir), r).unwrap_or(false);
        let (fc_info, fc_vport) = match fc {
            Some((i, v)) => (Some(i.clone()), *v),
            None => (None, false),
        };
        ScsiHost {
            number: n,
            device_path,
            pci_parent,
            parent_host,
            unique_id,
            unique_id_problem,
            proc_name,
            fc: fc_info,
            vport_capable: fc_vport || scsi_vport,
        }
    }

    /// Follow the bus entry `bus/H:B:T:L` to the LU's canonical directory. `None` when it is
    /// absent, or (with a warning) cannot be followed.
    pub(crate) fn locate_lu(s: &mut Scan<'_>, bus: &SysPath, hctl: Hctl) -> Option<SysPath> {
        let root = s.root;
        let p = bus.join(&hctl.to_string()).ok()?;
        let r = s.root.resolve_link(&p);
        s.soft(|| root.show(&p), r)
    }

    /// Read the LU in `dir`. `generic_dirs` is set when it has a `scsi_generic` directory
    /// (the sg driver is loaded).
    pub(crate) fn scan_lu(
        s: &mut Scan<'_>,
        dir: &SysPath,
        hctl: Hctl,
        generic_dirs: &mut bool,
        detail: Detail,
    ) -> Lu {
        let root = s.root;
        let sg = match s.root.resolve_in(dir, "scsi_generic") {
            Ok(Some(d)) => {
                *generic_dirs = true;
                s.first_in(dir, "scsi_generic", &d, is_sg_name)
            }
            Ok(None) => None,
            // Said twice, as ever: for the LU, then for its scsi_generic directory.
            e @ Err(_) => {
                s.soft(|| root.show(dir), e);
                s.first_entry(dir, "scsi_generic", is_sg_name)
            }
        };
        let block = if detail >= Detail::Nodes {
            s.first_entry(dir, "block", is_block_name)
        } else {
            None
        };
        if detail < Detail::Full {
            return Lu {
                hctl,
                sg,
                block,
                scsi_type: None,
                vendor: None,
                model: None,
                rev: None,
                identity: Identity::Unknown,
            };
        }
        let scsi_type = s.text(dir, "type").and_then(|t| t.parse().ok());
        let vendor = s.text(dir, "vendor");
        let model = s.text(dir, "model");
        let rev = s.text(dir, "rev");
        let identity = Self::identity(s, dir, sg.as_deref(), block.as_deref());
        Lu {
            hctl,
            sg,
            block,
            scsi_type,
            vendor,
            model,
            rev,
            identity,
        }
    }

    fn identity(
        s: &mut Scan<'_>,
        dir: &SysPath,
        sg: Option<&str>,
        block: Option<&str>,
    ) -> Identity {
        // QEMU's virtio disks leave wwid unreadable (EIO) unless a wwn is set: not a warning.
        if let Ok(Some(w)) = s.root.read_text(dir, "wwid") {
            if !w.is_empty() {
                return Identity::Wwid(w);
            }
        }
        if let Ok(Some(b)) = s.root.read_bytes(dir, "vpd_pg83") {
            if !b.is_empty() && b.iter().any(|&x| x != b'\n') {
                return Identity::VpdPg83(b.iter().map(|x| format!("{x:02x}")).collect());
            }
        }
        let dev = |sub: &str, name: Option<&str>| -> Option<String> {
            let name = name?;
            component(name).ok()?;
            let d = s.root.resolve_in(dir, sub).ok()??;
            let d = s.root.resolve_in(&d, name).ok()??;
            s.root.read_text(&d, "dev").ok()?
        };
        let sg_dev = dev("scsi_generic", sg);
        let block_dev = dev("block", block);
        if sg_dev.is_none() && block_dev.is_none() {
            Identity::Unknown
        } else {
            Identity::DevNumbers {
                sg: sg_dev,
                block: block_dev,
            }
        }
    }

    /// Add a host read on its own (a targeted lookup), keeping the PCI-parent map in host
    /// order as a scan builds it.
    pub(crate) fn add_host(&mut self, h: ScsiHost) {
        let n = h.number;
        if let Some(p) = &h.pci_parent {
            let v = self.by_pci.entry(p.clone()).or_default();
            if let Err(at) = v.binary_search(&n) {
                v.insert(at, n);
            }
        }
        self.hosts.insert(n, h);
    }

    /// Add an LU, with its sg and block names.
    pub(crate) fn add_lu(&mut self, lu: Lu) {
        if let Some(b) = &lu.block {
            self.by_block.insert(b.clone(), lu.hctl);
        }
        if let Some(g) = &lu.sg {
            self.by_sg.insert(g.clone(), lu.hctl);
        }
        self.lus.insert(lu.hctl, lu);
    }

    /// Every host, by number.
    pub fn hosts(&self) -> impl Iterator<Item = &ScsiHost> {
        self.hosts.values()
    }

    /// Host `n`.
    pub fn host(&self, n: u32) -> Option<&ScsiHost> {
        self.hosts.get(&n)
    }

    /// The hosts whose nearest PCI parent is `bdf`.
    pub fn hosts_under_pci(&self, bdf: &str) -> Vec<&ScsiHost> {
        self.by_pci
            .get(bdf)
            .map(|v| v.iter().filter_map(|n| self.hosts.get(n)).collect())
            .unwrap_or_default()
    }

    /// Every LU, in H:B:T:L order.
    pub fn lus(&self) -> impl Iterator<Item = &Lu> {
        self.lus.values()
    }

    /// The LU at `hctl`.
    pub fn lu(&self, hctl: Hctl) -> Option<&Lu> {
        self.lus.get(&hctl)
    }

    /// The LUs of host `n` in H:B:T:L order, optionally on one bus and/or target.
    pub fn host_lus(&self, n: u32, bus: Option<u32>, target: Option<u32>) -> Vec<&Lu> {
        let lo = Hctl {
            host: n,
            bus: 0,
            target: 0,
            lun: 0,
        };
        let hi = Hctl {
            host: n,
            bus: u32::MAX,
            target: u32::MAX,
            lun: u64::MAX,
        };
        self.lus
            .range(lo..=hi)
            .map(|(_, l)| l)
            .filter(|l| bus.is_none_or(|b| l.hctl.bus == b))
            .filter(|l| target.is_none_or(|t| l.hctl.target == t))
            .collect()
    }

    /// The LU whose block device is `name` (`sdb`).
    pub fn lu_by_block(&self, name: &str) -> Option<&Lu> {
        self.by_block.get(name).and_then(|h| self.lus.get(h))
    }

    /// The LU whose sg node is `name` (`sg3`).
    pub fn lu_by_sg(&self, name: &str) -> Option<&Lu> {
        self.by_sg.get(name).and_then(|h| self.lus.get(h))
    }

    /// `host0, host2, …` or `none`, for messages.
    /// Why host `n`'s class entry was refused while scanning, if it was.
    pub fn refused_host(&self, n: u32) -> Option<&str> {
        self.refused_hosts.get(&n).map(String::as_str)
    }

    /// The error for a host that is not in the index: refused while scanning, or absent.
    pub(crate) fn missing_host(&self, n: u32) -> ResolveError {
        let root = if self.root == "/" { "" } else { &self.root };
        match self.refused_host(n) {
            Some(why) => ResolveError::HostRefused {
                host: n,
                reason: why.to_string(),
            },
            None => ResolveError::NoSuchHost {
                host: n,
                path: format!("{root}/sys/class/scsi_host/host{n}"),
                present: self.host_list(),
            },
        }
    }

    /// The hosts present, `host0, host2`, for messages.
    pub fn host_list(&self) -> String {
        list_or_none(self.hosts.keys().map(|n| format!("host{n}")))
    }
}

/// Join items with `, `, or say `none`.
pub(crate) fn list_or_none(it: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_bdf_is_matched_as_a_whole_component() {
        assert!(is_pci_bdf("0000:00:1f.2"));
        assert!(is_pci_bdf("10000:e1:00.7"));
        assert!(!is_pci_bdf("pci0000:00"));
        assert!(!is_pci_bdf("0000:00:1f.8"));
        assert!(!is_pci_bdf("0000:00:1f.2x"));
        assert!(!is_pci_bdf("target0:0:0"));
    }
}
