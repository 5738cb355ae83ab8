//! [`Index`]: one scan of the SCSI part of sysfs, built once and then queried.
//!
//! Resolving a domain with N SCSI devices costs one scan (proportional to the number of hosts
//! and LUs on the machine) plus O(1) per device, instead of a directory walk per device.
//! Problems with single entries (an unreadable `unique_id`, a dangling link, a hostile name)
//! become warnings and the entry is skipped or left incomplete: one bad host must never hide
//! the others, which is what libvirt's search gets wrong.

use super::error::ResolveError;
use super::sysfs::{component, host_number, is_block_name, is_sg_name, Hctl, SysPath, SysfsRoot};
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
    by_block: HashMap<String, Hctl>,
    by_sg: HashMap<String, Hctl>,
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

struct Scan<'a> {
    root: &'a SysfsRoot,
    warnings: Vec<String>,
}

impl Scan<'_> {
    /// A result whose error only degrades one entry: keep the warning, carry on.
    fn soft<T>(&mut self, what: &str, r: Result<Option<T>, ResolveError>) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.warnings.push(format!("{what}: {e}"));
                None
            }
        }
    }

    fn text(&mut self, dir: &SysPath, name: &str) -> Option<String> {
        let r = self.root.read_text(dir, name);
        let what = self.root.show(dir) + "/" + name;
        self.soft(&what, r)
    }

    fn first_entry(&mut self, dir: &SysPath, sub: &str, ok: fn(&str) -> bool) -> Option<String> {
        let d = self.root.resolve_in(dir, sub);
        let what = self.root.show(dir) + "/" + sub;
        let d = self.soft(&what, d)?;
        let l = self.root.list(&d);
        let l = self.soft(&what, l)?;
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
        let mut idx = Index {
            root: root.path().display().to_string(),
            ..Default::default()
        };
        let class_host = SysPath::parse("sys/class/scsi_host")?;
        let fc = Self::scan_fc(&mut s)?;
        // Class and bus directories are resolved like everything else: in a snapshot or a
        // hand-made tree they could be links too.
        let class_host = root.resolve(&class_host)?.unwrap_or(class_host);
        if let Some(listing) = root.list(&class_host)? {
            for bad in &listing.refused {
                s.warnings.push(format!(
                    "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI host",
                    root.show(&class_host)
                ));
            }
            for name in &listing.names {
                let Some(n) = host_number(name) else {
                    s.warnings.push(format!(
                        "{}/{name}: skipped: not a hostN name",
                        root.show(&class_host)
                    ));
                    continue;
                };
                match Self::scan_host(&mut s, &class_host, name, n, &fc)? {
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
        let bus = SysPath::parse("sys/bus/scsi/devices")?;
        let bus = root.resolve(&bus)?.unwrap_or(bus);
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
                let p = bus.join(name)?;
                let r = root.resolve(&p);
                let Some(dir) = s.soft(&root.show(&p), r) else {
                    continue;
                };
                let lu = Self::scan_lu(&mut s, &dir, hctl, &mut generic_dirs);
                if let Some(b) = &lu.block {
                    idx.by_block.insert(b.clone(), hctl);
                }
                if let Some(g) = &lu.sg {
                    idx.by_sg.insert(g.clone(), hctl);
                }
                idx.lus.insert(hctl, lu);
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

    fn scan_fc(s: &mut Scan<'_>) -> Result<HashMap<u32, (FcInfo, bool)>, ResolveError> {
        let mut out = HashMap::new();
        let class_fc = SysPath::parse("sys/class/fc_host")?;
        let class_fc = s.root.resolve(&class_fc)?.unwrap_or(class_fc);
        let Some(listing) = s.root.list(&class_fc)? else {
            return Ok(out);
        };
        for name in &listing.names {
            let Some(n) = host_number(name) else { continue };
            let p = class_fc.join(name)?;
            let r = s.root.resolve(&p);
            let Some(dir) = s.soft(&s.root.show(&p), r) else {
                continue;
            };
            let info = FcInfo {
                node_name: s.text(&dir, "node_name").map(|v| norm_wwn(&v)),
                port_name: s.text(&dir, "port_name").map(|v| norm_wwn(&v)),
                fabric_name: s.text(&dir, "fabric_name").map(|v| norm_wwn(&v)),
                port_state: s.text(&dir, "port_state"),
            };
            let r = s.root.exists_in(&dir, "vport_create").map(Some);
            let vport = s.soft(&s.root.show(&dir), r).unwrap_or(false);
            out.insert(n, (info, vport));
        }
        Ok(out)
    }

    fn scan_host(
        s: &mut Scan<'_>,
        class_host: &SysPath,
        name: &str,
        n: u32,
        fc: &HashMap<u32, (FcInfo, bool)>,
    ) -> Result<Option<ScsiHost>, ResolveError> {
        let p = class_host.join(name)?;
        let r = s.root.resolve(&p);
        let Some(dir) = s.soft(&s.root.show(&p), r) else {
            return Ok(None);
        };
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
            match s.soft(&s.root.show(&dir), r) {
                Some(d) => d,
                None => dir.clone(),
            }
        };
        let above = &device_path.components()[..device_path.components().len().saturating_sub(1)];
        let pci_parent = above.iter().rev().find(|c| is_pci_bdf(c)).cloned();
        let parent_host = above.iter().rev().find_map(|c| host_number(c));
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
        let scsi_vport = s.soft(&s.root.show(&dir), r).unwrap_or(false);
        let (fc_info, fc_vport) = match fc.get(&n) {
            Some((i, v)) => (Some(i.clone()), *v),
            None => (None, false),
        };
        Ok(Some(ScsiHost {
            number: n,
            device_path,
            pci_parent,
            parent_host,
            unique_id,
            unique_id_problem,
            proc_name,
            fc: fc_info,
            vport_capable: fc_vport || scsi_vport,
        }))
    }

    fn scan_lu(s: &mut Scan<'_>, dir: &SysPath, hctl: Hctl, generic_dirs: &mut bool) -> Lu {
        let sg_dir = s.root.resolve_in(dir, "scsi_generic");
        let sg_dir = s.soft(&s.root.show(dir), sg_dir);
        if sg_dir.is_some() {
            *generic_dirs = true;
        }
        let sg = s.first_entry(dir, "scsi_generic", is_sg_name);
        let block = s.first_entry(dir, "block", is_block_name);
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
