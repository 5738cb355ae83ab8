//! Names and paths under a sysfs root: the strict component check every path is built
//! from, the names the kernel gives hosts and LUs, and [`SysPath`], a path relative to the root.

use crate::resolve::error::ResolveError;
use std::fmt;

/// The pattern `component` checks, for messages.
pub const COMPONENT_PATTERN: &str = "[A-Za-z0-9_.:+@,=-]{1,255}, not '.' or '..'";

/// Check one path component: sysfs names are short ASCII (`0000:00:1f.2`, `target6:0:3`,
/// `LNXSYSTM:00`, `vport-5:0-0`); anything else is refused before it touches a path.
pub(crate) fn component(s: &str) -> Result<&str, ResolveError> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:+@,=-".contains(&b));
    if ok {
        Ok(s)
    } else {
        Err(ResolveError::HostileName {
            what: "path component",
            name: s.to_string(),
            pattern: COMPONENT_PATTERN,
        })
    }
}

fn digits(s: &str, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `hostN` as sysfs names a SCSI host (decimal, no leading sign, at most 9 digits).
pub(crate) fn host_number(s: &str) -> Option<u32> {
    digits(s.strip_prefix("host")?, 9).and_then(|n| u32::try_from(n).ok())
}

/// `sgN`.
pub(crate) fn is_sg_name(s: &str) -> bool {
    s.strip_prefix("sg").and_then(|d| digits(d, 9)).is_some()
}

/// A block device name a SCSI LU can carry: `sdX…` (disks), `srN` (CD-ROMs), `stN`/`nstN`
/// (tapes). Checked before a name from XML is looked up anywhere.
pub(crate) fn is_block_name(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("sd") {
        return !rest.is_empty() && rest.len() <= 4 && rest.bytes().all(|b| b.is_ascii_lowercase());
    }
    ["sr", "st", "nst"]
        .iter()
        .any(|p| s.strip_prefix(p).and_then(|d| digits(d, 9)).is_some())
}

/// A SCSI address `host:bus:target:lun` (the lun is 64-bit, as in the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Hctl {
    /// Host number.
    pub host: u32,
    /// Bus (channel).
    pub bus: u32,
    /// Target.
    pub target: u32,
    /// Logical unit.
    pub lun: u64,
}

impl Hctl {
    /// Parse `H:B:T:L` (decimal, as sysfs writes it).
    pub fn parse(s: &str) -> Option<Hctl> {
        let mut it = s.split(':');
        let h = digits(it.next()?, 9)?;
        let b = digits(it.next()?, 9)?;
        let t = digits(it.next()?, 9)?;
        let l = digits(it.next()?, 20)?;
        if it.next().is_some() {
            return None;
        }
        Some(Hctl {
            host: u32::try_from(h).ok()?,
            bus: u32::try_from(b).ok()?,
            target: u32::try_from(t).ok()?,
            lun: l,
        })
    }
}

impl fmt::Display for Hctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.host, self.bus, self.target, self.lun)
    }
}

/// A path relative to the sysfs root, made of checked components only. A `SysPath` returned
/// by [`SysfsRoot::resolve`](super::SysfsRoot::resolve) is canonical: it contains no symlink.
///
/// Held as one `/`-joined string (no leading `/`; empty at the root), so that extending a
/// path costs one allocation and hashing it one pass; ordered component by component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SysPath(pub(super) String);

impl SysPath {
    /// Build from `/`-separated text whose every component passes `component`.
    pub fn parse(s: &str) -> Result<SysPath, ResolveError> {
        let mut p = SysPath::default();
        for c in s.split('/').filter(|c| !c.is_empty()) {
            p.push(component(c)?);
        }
        Ok(p)
    }

    /// This path with one more (checked) component.
    pub fn join(&self, c: &str) -> Result<SysPath, ResolveError> {
        let c = component(c)?;
        let mut s = String::with_capacity(self.0.len() + 1 + c.len());
        s.push_str(&self.0);
        let mut p = SysPath(s);
        p.push(c);
        Ok(p)
    }

    /// Append a component that has passed `component`.
    pub(super) fn push(&mut self, c: &str) {
        if !self.0.is_empty() {
            self.0.push('/');
        }
        self.0.push_str(c);
    }

    /// Drop the last component; false at the root.
    pub(super) fn pop(&mut self) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let cut = self.0.rfind('/').unwrap_or(0);
        self.0.truncate(cut);
        true
    }

    pub(super) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The components.
    pub fn components(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// The components, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last component.
    pub fn name(&self) -> Option<&str> {
        self.iter().next_back()
    }

    /// The parent, or `None` at the root.
    pub fn parent(&self) -> Option<SysPath> {
        let mut p = self.clone();
        p.pop().then_some(p)
    }
}

impl Ord for SysPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for SysPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SysPath {
    /// Shown as an absolute path (`/sys/class/scsi_host/host6`): the logical name on the host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.0)
    }
}
