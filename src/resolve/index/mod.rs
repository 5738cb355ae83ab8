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

mod scan;
pub(crate) use scan::*;

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

impl Index {
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
