//! [`SysfsRoot`]: the one door through which domxml reads the host.
//!
//! Every read goes through a root directory (`/` in production, a fixture or a snapshot in
//! tests), so conversion can run offline exactly as on the host. Three rules keep reads inside
//! that root, whatever the tree contains:
//! - paths are built only from components that match a strict pattern (`component`), so a
//!   `..` or a `/` from XML or from a directory listing never reaches the filesystem;
//! - symlinks are followed by hand, one component at a time, at most [`MAX_HOPS`] per path;
//!   absolute targets and `..` above the root are refused rather than followed;
//! - before a file is opened or a directory listed, its path is canonicalised by the OS and
//!   must still lie under the canonical root (a second check against races and bugs).

use super::error::ResolveError;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Symlinks followed while resolving one path before giving up (Linux's own limit).
pub const MAX_HOPS: usize = 40;

/// Attributes larger than this are cut: sysfs attributes are at most a page, VPD pages a few
/// hundred bytes, so anything larger is not an attribute.
pub const MAX_ATTR: u64 = 64 * 1024;

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
/// by [`SysfsRoot::resolve`] is canonical: it contains no symlink.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SysPath(Vec<String>);

impl SysPath {
    /// Build from `/`-separated text whose every component passes `component`.
    pub fn parse(s: &str) -> Result<SysPath, ResolveError> {
        let mut v = Vec::new();
        for c in s.split('/').filter(|c| !c.is_empty()) {
            v.push(component(c)?.to_string());
        }
        Ok(SysPath(v))
    }

    /// This path with one more (checked) component.
    pub fn join(&self, c: &str) -> Result<SysPath, ResolveError> {
        let mut v = self.0.clone();
        v.push(component(c)?.to_string());
        Ok(SysPath(v))
    }

    /// The components.
    pub fn components(&self) -> &[String] {
        &self.0
    }

    /// The last component.
    pub fn name(&self) -> Option<&str> {
        self.0.last().map(String::as_str)
    }

    /// The parent, or `None` at the root.
    pub fn parent(&self) -> Option<SysPath> {
        let mut v = self.0.clone();
        v.pop()?;
        Some(SysPath(v))
    }

    fn to_rel(&self) -> PathBuf {
        self.0.iter().collect()
    }
}

impl fmt::Display for SysPath {
    /// Shown as an absolute path (`/sys/class/scsi_host/host6`): the logical name on the host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for c in &self.0 {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// What a recording saw at one path (for `domxml sysfs-snapshot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A directory.
    Dir,
    /// A symlink with its target as the kernel wrote it.
    Link(String),
    /// A file with the bytes read.
    File(Vec<u8>),
}

/// The root of a sysfs tree: the directory that contains `sys/`.
#[derive(Debug)]
pub struct SysfsRoot {
    /// As given, for messages.
    given: PathBuf,
    /// Canonical, for the prefix check.
    canon: PathBuf,
    /// Every path touched, when recording.
    recording: RefCell<Option<BTreeMap<SysPath, Recorded>>>,
    /// Attributes read cut to [`MAX_ATTR`] while recording.
    cut: RefCell<Vec<SysPath>>,
    /// Canonical directories (no symlink on their path) known to lie under the root. Checking once
    /// per directory instead of once per attribute keeps the scan at a few system calls per
    /// attribute (`realpath` costs one `readlink` per path component).
    verified: RefCell<HashSet<SysPath>>,
    /// The most bytes read of one attribute ([`MAX_ATTR`] unless set).
    max_attr: u64,
}

impl SysfsRoot {
    /// Read at most `n` bytes of any one attribute (default [`MAX_ATTR`]); what is longer is
    /// cut there, and `sysfs-snapshot` says which attributes were cut.
    ///
    /// ```
    /// let root = domxml::SysfsRoot::at(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35"))
    ///     .unwrap()
    ///     .with_max_attr_bytes(4096);
    /// assert!(domxml::resolve::Index::scan(&root).is_ok());
    /// ```
    pub fn with_max_attr_bytes(mut self, n: u64) -> SysfsRoot {
        self.max_attr = n;
        self
    }

    /// The host's own sysfs (`/`).
    pub fn system() -> Result<SysfsRoot, ResolveError> {
        SysfsRoot::at("/")
    }

    /// A root at `dir`, which must contain `sys/class`. A directory that looks like sysfs
    /// itself (has `class/` but no `sys/`) gets a hint to pass its parent.
    pub fn at(dir: impl AsRef<Path>) -> Result<SysfsRoot, ResolveError> {
        let given = dir.as_ref().to_path_buf();
        let canon = std::fs::canonicalize(&given).map_err(|e| ResolveError::io(&given, e))?;
        if !canon.join("sys/class").is_dir() {
            let hint = if canon.join("class").is_dir() && canon.join("devices").is_dir() {
                format!(
                    " ({} looks like sysfs itself; pass the directory that contains it, e.g. {})",
                    given.display(),
                    given.parent().unwrap_or(Path::new("/")).display()
                )
            } else {
                String::new()
            };
            return Err(ResolveError::NotASysfsRoot {
                root: given.display().to_string(),
                hint,
            });
        }
        Ok(SysfsRoot {
            given,
            canon,
            recording: RefCell::new(None),
            cut: RefCell::new(Vec::new()),
            verified: RefCell::new(HashSet::new()),
            max_attr: MAX_ATTR,
        })
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.given
    }

    /// `path` under the root, for messages.
    pub fn show(&self, p: &SysPath) -> String {
        if self.given == Path::new("/") {
            p.to_string()
        } else {
            format!("{}{p}", self.given.display())
        }
    }

    /// Start recording every path touched (for `domxml sysfs-snapshot`).
    pub fn start_recording(&self) {
        *self.recording.borrow_mut() = Some(BTreeMap::new());
        self.cut.borrow_mut().clear();
    }

    /// The attributes that were longer than [`MAX_ATTR`] and read (and recorded) cut to it,
    /// since recording started.
    pub fn take_cut(&self) -> Vec<SysPath> {
        std::mem::take(&mut *self.cut.borrow_mut())
    }

    /// Stop recording and return what was touched.
    pub fn take_recording(&self) -> BTreeMap<SysPath, Recorded> {
        self.recording.borrow_mut().take().unwrap_or_default()
    }

    fn record(&self, p: &SysPath, r: Recorded) {
        if let Some(map) = self.recording.borrow_mut().as_mut() {
            map.insert(p.clone(), r);
        }
    }

    fn full(&self, p: &SysPath) -> PathBuf {
        self.canon.join(p.to_rel())
    }

    /// Resolve `path` to its canonical form, following symlinks inside the root only.
    /// `Ok(None)` when some component does not exist.
    pub fn resolve(&self, path: &SysPath) -> Result<Option<SysPath>, ResolveError> {
        self.walk(SysPath::default(), path.0.iter().cloned().collect(), path)
    }

    /// Resolve `name` inside a directory already known to be canonical: only the last
    /// component is looked at, which keeps per-attribute cost constant.
    pub fn resolve_in(&self, dir: &SysPath, name: &str) -> Result<Option<SysPath>, ResolveError> {
        let asked = dir.join(name)?;
        self.walk(
            dir.clone(),
            std::iter::once(name.to_string()).collect(),
            &asked,
        )
    }

    fn walk(
        &self,
        start: SysPath,
        mut queue: std::collections::VecDeque<String>,
        asked: &SysPath,
    ) -> Result<Option<SysPath>, ResolveError> {
        let mut cur = start;
        let mut hops = 0usize;
        while let Some(c) = queue.pop_front() {
            if c == "." {
                continue;
            }
            if c == ".." {
                if cur.0.pop().is_none() {
                    return Err(ResolveError::Escape {
                        path: self.show(asked),
                        target: "a parent of the root".into(),
                    });
                }
                continue;
            }
            let next = cur.join(&c)?;
            // A directory already checked to be real (see `checked_dir`) needs no new lstat:
            // LUs share every component of their paths up to the target directory.
            if self.verified.borrow().contains(&next) {
                self.record(&next, Recorded::Dir);
                cur = next;
                continue;
            }
            let full = self.full(&next);
            let md = match std::fs::symlink_metadata(&full) {
                Ok(m) => m,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(ResolveError::io(&full, e)),
            };
            if md.file_type().is_symlink() {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(ResolveError::SymlinkLoop {
                        path: self.show(asked),
                    });
                }
                let target = std::fs::read_link(&full).map_err(|e| ResolveError::io(&full, e))?;
                let t = target.to_string_lossy().into_owned();
                if target.is_absolute() {
                    return Err(ResolveError::Escape {
                        path: self.show(&next),
                        target: t,
                    });
                }
                self.record(&next, Recorded::Link(t.clone()));
                for part in t.split('/').filter(|p| !p.is_empty()).rev() {
                    if part != "." && part != ".." {
                        component(part)?;
                    }
                    queue.push_front(part.to_string());
                }
            } else {
                if md.is_dir() {
                    self.record(&next, Recorded::Dir);
                    if cur.0.is_empty() || self.verified.borrow().contains(&cur) {
                        self.verified.borrow_mut().insert(next.clone());
                    }
                } else if !queue.is_empty() {
                    return Ok(None);
                }
                cur = next;
            }
        }
        Ok(Some(cur))
    }

    /// [`Self::checked`] for a directory, by induction and remembered: a directory is under
    /// the root when its parent is and its own entry is a real directory, not a symlink (one
    /// `lstat`, where `realpath` costs a `readlink` per component). Anything else falls back
    /// to the full check, which reports the escape.
    fn checked_dir(&self, dir: &SysPath) -> Result<PathBuf, ResolveError> {
        if dir.0.is_empty() || self.verified.borrow().contains(dir) {
            return Ok(self.full(dir));
        }
        let full = self.full(dir);
        // The parent must itself be verified, not merely inside the root: `verified` holds
        // canonical paths only (the walk skips its lstat for them), and a directory reached
        // through a symlinked parent is not canonical.
        let parent_ok = match dir.parent() {
            Some(parent) => {
                self.checked_dir(&parent).is_ok()
                    && (parent.0.is_empty() || self.verified.borrow().contains(&parent))
            }
            None => true,
        };
        let real_dir = std::fs::symlink_metadata(&full)
            .is_ok_and(|m| m.is_dir() && !m.file_type().is_symlink());
        if !(parent_ok && real_dir) {
            return self.checked(dir);
        }
        self.verified.borrow_mut().insert(dir.clone());
        Ok(full)
    }

    /// The OS's canonical path of `p` must still be under the root.
    fn checked(&self, p: &SysPath) -> Result<PathBuf, ResolveError> {
        let full = self.full(p);
        let canon = std::fs::canonicalize(&full).map_err(|e| ResolveError::io(&full, e))?;
        if !canon.starts_with(&self.canon) {
            return Err(ResolveError::Escape {
                path: self.show(p),
                target: canon.display().to_string(),
            });
        }
        Ok(canon)
    }

    /// Read the attribute `name` in the canonical directory `dir`. `Ok(None)` when it does
    /// not exist.
    pub fn read_bytes(&self, dir: &SysPath, name: &str) -> Result<Option<Vec<u8>>, ResolveError> {
        let Some(p) = self.resolve_in(dir, name)? else {
            return Ok(None);
        };
        // The common case is an attribute that sits in `dir` itself: check the directory once
        // and open the name without following a symlink. An attribute reached through a link
        // lands elsewhere, and that place is checked on its own.
        let full = match p.parent() {
            Some(parent) if &parent == dir => self.checked_dir(dir)?.join(name),
            _ => self.checked(&p)?,
        };
        // sysfs attributes are regular files; a FIFO or a device found in a foreign tree could
        // block forever or read without end, so the open does not block and the file is
        // checked before it is read.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&full)
            .map_err(|e| ResolveError::io(&full, e))?;
        let md = file.metadata().map_err(|e| ResolveError::io(&full, e))?;
        if !md.is_file() {
            return Err(ResolveError::io(
                &full,
                std::io::Error::other("not a regular file (a FIFO, socket or device node)"),
            ));
        }
        let mut buf = Vec::new();
        file.take(self.max_attr + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ResolveError::io(&full, e))?;
        if buf.len() as u64 > self.max_attr {
            buf.truncate(self.max_attr as usize);
            if self.recording.borrow().is_some() {
                self.cut.borrow_mut().push(p.clone());
            }
        }
        self.record(&p, Recorded::File(buf.clone()));
        Ok(Some(buf))
    }

    /// Read a one-line text attribute, without its trailing newline and padding.
    pub fn read_text(&self, dir: &SysPath, name: &str) -> Result<Option<String>, ResolveError> {
        Ok(self.read_bytes(dir, name)?.map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }))
    }

    /// True when `name` exists in the canonical directory `dir` (a dangling link counts as
    /// absent).
    pub fn exists_in(&self, dir: &SysPath, name: &str) -> Result<bool, ResolveError> {
        Ok(self.resolve_in(dir, name)?.is_some())
    }

    /// The entries of the canonical directory `dir`, sorted, split into names that pass
    /// `component` and names that do not (reported, never used). `Ok(None)` when `dir`
    /// does not exist.
    pub fn list(&self, dir: &SysPath) -> Result<Option<Listing>, ResolveError> {
        let full = self.full(dir);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ResolveError::io(&full, e)),
        }
        let full = self.checked_dir(dir)?;
        let rd = std::fs::read_dir(&full).map_err(|e| ResolveError::io(&full, e))?;
        let mut out = Listing::default();
        for entry in rd {
            let entry = entry.map_err(|e| ResolveError::io(&full, e))?;
            match entry.file_name().to_str() {
                Some(s) if component(s).is_ok() => out.names.push(s.to_string()),
                Some(s) => out.refused.push(s.to_string()),
                None => out
                    .refused
                    .push(entry.file_name().to_string_lossy().into_owned()),
            }
        }
        out.names.sort();
        out.refused.sort();
        self.record(dir, Recorded::Dir);
        if self.recording.borrow().is_some() {
            // A snapshot must list the same entries, so record what each one is.
            for n in &out.names {
                let p = dir.join(n)?;
                let f = full.join(n);
                match std::fs::symlink_metadata(&f) {
                    Ok(m) if m.file_type().is_symlink() => {
                        if let Ok(t) = std::fs::read_link(&f) {
                            if t.is_relative() {
                                self.record(&p, Recorded::Link(t.to_string_lossy().into_owned()));
                            }
                        }
                    }
                    Ok(m) if m.is_dir() => self.record(&p, Recorded::Dir),
                    _ => {}
                }
            }
        }
        Ok(Some(out))
    }
}

/// A directory listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Entries with acceptable names, sorted.
    pub names: Vec<String>,
    /// Entries refused by `component`.
    pub refused: Vec<String>,
}

#[cfg(test)]
mod tests;
