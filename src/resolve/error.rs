//! `ResolveError`: every way turning an adapter or an LU into today's host numbers can fail.
//!
//! Each message says what was asked, what exists instead and which sysfs path was tried, so
//! that a user can fix the XML (or the host) without reading domxml's source. Paths are shown
//! under the sysfs root in use, so a failing test names its fixture tree.

use std::path::Path;

/// Why resolution failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Two or more hosts fit the adapter and nothing tells them apart.
    #[error("adapter {adapter} is ambiguous: {candidates} all sit under PCI device {pci}{uid}; give a unique_id that tells them apart, or name the host (scsi_hostN)",
        uid = unique_id.map(|u| format!(" with unique_id {u}")).unwrap_or_default())]
    Ambiguous {
        /// The adapter as written.
        adapter: String,
        /// The PCI device, `dddd:bb:ss.f`.
        pci: String,
        /// The unique_id asked for (or the smallest one found, when none was asked for).
        unique_id: Option<u32>,
        /// The hosts that fit, with their unique_ids.
        candidates: String,
    },
    /// A symlink or `..` leads outside the sysfs root.
    #[error("{path} leads outside the sysfs root (to {target}); refusing to follow it")]
    Escape {
        /// The link or path that was followed.
        path: String,
        /// Where it points.
        target: String,
    },
    /// No FC host carries the wanted WWNN/WWPN.
    #[error("adapter {adapter}: no fc_host has {wwns} (read from {path}/*/{{node_name,port_name}}); fc_hosts present: {present}{parent_note}")]
    FcHostNotFound {
        /// The adapter as written.
        adapter: String,
        /// The wanted WWNN and WWPN (normalised), as `wwnn X and wwpn Y`.
        wwns: String,
        /// `…/sys/class/fc_host`.
        path: String,
        /// The fc_hosts found, with their WWNs.
        present: String,
        /// Where the vHBA would be created, when a parent was chosen.
        parent_note: String,
    },
    /// The vHBA exists but under another parent HBA than the adapter chose.
    #[error("adapter {adapter}: the fc_host with these WWNs is host{host}, whose parent HBA is {actual}, but the adapter chooses {wanted}")]
    FcParentMismatch {
        /// The adapter as written.
        adapter: String,
        /// The vHBA's host number.
        host: u32,
        /// Its parent as found in sysfs.
        actual: String,
        /// The parent the adapter asked for (and how).
        wanted: String,
    },
    /// The parent HBA selector names nothing.
    #[error("adapter {adapter}: no parent HBA fits {selector}; FC HBAs present: {present}")]
    FcParentNotFound {
        /// The adapter as written.
        adapter: String,
        /// The selector (`parent='scsi_host5'`, `parent_wwnn/parent_wwpn …`, `parent_fabric_wwn …`).
        selector: String,
        /// The fc_hosts found.
        present: String,
    },
    /// A name read from the XML or from sysfs does not have the shape its kind allows; refused
    /// before it is used in any path.
    #[error("refusing {what} name {name:?}: it does not match {pattern}")]
    HostileName {
        /// What kind of name (`SCSI host`, `path component`, `block device`).
        what: &'static str,
        /// The name as given.
        name: String,
        /// The pattern it had to match.
        pattern: &'static str,
    },
    /// The adapter's attributes do not form an adapter (the validator reports the same).
    #[error("adapter {adapter} is invalid: {reason}")]
    InvalidAdapter {
        /// The adapter as written.
        adapter: String,
        /// What is wrong.
        reason: String,
    },
    /// The device's source lacks what resolution needs (the validator reports the same).
    #[error("{what}")]
    Incomplete {
        /// What is missing.
        what: &'static str,
    },
    /// A read failed for a reason other than absence or permission.
    #[error("cannot read {path}")]
    Io {
        /// The path tried.
        path: String,
        /// The cause (shared, so that the error can be cloned with the result it is part of).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    /// No host sits directly under the PCI device.
    #[error("adapter {adapter}: no SCSI host has PCI device {pci} as its nearest PCI parent (looked at every {path}/hostN){nearby}")]
    NoHostUnderPci {
        /// The adapter as written.
        adapter: String,
        /// The PCI device.
        pci: String,
        /// `…/sys/class/scsi_host`.
        path: String,
        /// Hosts further below that device (it is a bridge or root port), or all PCI parents seen.
        nearby: String,
    },
    /// The LU exists but has no sg node, though the sg driver is loaded.
    #[error("SCSI device {hctl} has no scsi_generic node ({path} is missing or empty), although the sg driver is loaded")]
    NoSgNode {
        /// `H:B:T:L`.
        hctl: String,
        /// The sysfs path tried.
        path: String,
    },
    /// The host's sysfs entry exists but was refused while scanning (a symlink loop, a link
    /// out of the root, a hostile name below it).
    #[error("SCSI host {host} was refused while reading sysfs: {reason}")]
    HostRefused {
        /// The host number asked for.
        host: u32,
        /// The scan warning that says what was refused.
        reason: String,
    },
    /// The host does not exist.
    #[error("no SCSI host {host}: {path} does not exist; hosts present: {present}")]
    NoSuchHost {
        /// The host number asked for.
        host: u32,
        /// The sysfs path tried.
        path: String,
        /// The hosts present.
        present: String,
    },
    /// The LU does not exist.
    #[error("no SCSI device {hctl}: {path} does not exist; devices on host{host}: {present}")]
    NoSuchLu {
        /// `H:B:T:L`.
        hctl: String,
        /// The host number.
        host: u32,
        /// The sysfs path tried.
        path: String,
        /// The LUs the host has.
        present: String,
    },
    /// Whole-host passthrough was asked for without a host to list the LUs of.
    #[error("whole-host passthrough lists the LUs of a real host, and this conversion has no sysfs to read them from: convert with a sysfs root (`domxml convert --sysfs-root DIR`, DIR from `domxml sysfs-snapshot`)")]
    NoHost,
    /// No LU has the block or sg node a lun disk names.
    #[error("no SCSI LU on this host has {node} (looked in every {root}/sys/bus/scsi/devices/*/{{block,scsi_generic}})")]
    NoLuForNode {
        /// The node as written (`/dev/sdb`).
        node: String,
        /// The sysfs root (empty for `/`).
        root: String,
    },
    /// The sysfs root has no `sys/class` directory.
    #[error("{root} does not look like a sysfs root: {root}/sys/class is missing{hint}")]
    NotASysfsRoot {
        /// The root as given.
        root: String,
        /// A hint (e.g. "pass the parent directory").
        hint: String,
    },
    /// A read was refused by the OS.
    #[error("permission denied reading {path}; run as a user that may read sysfs, or record a snapshot with `domxml sysfs-snapshot` where you can")]
    Permission {
        /// The path tried.
        path: String,
    },
    /// No `scsi_generic` directory exists anywhere: the sg driver is not loaded.
    #[error("SCSI device {hctl} has no /dev/sgN: no scsi_generic directory exists anywhere under {root}/sys, so the sg driver is not loaded; run `modprobe sg` and try again")]
    SgDriverMissing {
        /// `H:B:T:L`.
        hctl: String,
        /// The sysfs root.
        root: String,
    },
    /// More than 40 symlinks were followed resolving one path.
    #[error("too many symlinks resolving {path} (a loop?)")]
    SymlinkLoop {
        /// The path being resolved.
        path: String,
    },
    /// Hosts are under the PCI device, but none has the unique_id (or, when none was asked
    /// for, none has a usable one).
    #[error("adapter {adapter}: no SCSI host under PCI device {pci} has {wanted}; hosts under it: {candidates}",
        wanted = unique_id.map(|u| format!("unique_id {u}")).unwrap_or_else(|| "a readable unique_id".into()))]
    UniqueIdNotFound {
        /// The adapter as written.
        adapter: String,
        /// The PCI device.
        pci: String,
        /// The unique_id asked for.
        unique_id: Option<u32>,
        /// The hosts under it with their unique_ids.
        candidates: String,
    },
}

/// Written as its message with causes (see [`chain`]): the variants are for programs, the
/// text is what a report shows.
impl serde::Serialize for ResolveError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&chain(self))
    }
}

impl ResolveError {
    /// The I/O error for `path`, with permission problems told apart.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        let path = path.display().to_string();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            ResolveError::Permission { path }
        } else {
            ResolveError::Io {
                path,
                source: std::sync::Arc::new(source),
            }
        }
    }
}

/// An error with its causes, `: `-joined: messages never interpolate their `#[source]`, so
/// whoever prints one for a person prints the chain.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_reads_say_how_to_get_access() {
        let e = ResolveError::io(
            Path::new("/sys/class/scsi_host/host0/unique_id"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(e, ResolveError::Permission { .. }));
        let m = e.to_string();
        assert!(
            m.contains("permission denied reading /sys/class/scsi_host/host0/unique_id"),
            "{m}"
        );
        assert!(m.contains("domxml sysfs-snapshot"), "{m}");
    }

    #[test]
    fn other_read_errors_keep_their_cause_in_the_chain() {
        let e = ResolveError::io(
            Path::new("/sys/x"),
            std::io::Error::other("Input/output error"),
        );
        assert_eq!(chain(&e), "cannot read /sys/x: Input/output error");
    }
}
