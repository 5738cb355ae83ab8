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
//!
//! Two short ways keep to those rules with fewer system calls (`os`): a path of plain names
//! below a verified directory is checked whole by one `openat2` that refuses any symlink on
//! it, so the path it spells is canonical and under the root, exactly what the walk would
//! have found; and a directory known to be real is opened and listed without a new `lstat`.
//! Whatever they cannot vouch for takes the walk.

mod fx;
mod opener;
mod os;
mod path;
mod short;

use super::error::ResolveError;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasherDefault;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Symlinks followed while resolving one path before giving up (Linux's own limit).
pub const MAX_HOPS: usize = 40;

/// Attributes larger than this are cut: sysfs attributes are at most a page, VPD pages a few
/// hundred bytes, so anything larger is not an attribute.
pub const MAX_ATTR: u64 = 64 * 1024;

pub(crate) use fx::{Fx, FxMap};
pub(crate) use path::{component, host_number, is_block_name, is_sg_name};
pub use path::{Hctl, SysPath, COMPONENT_PATTERN};

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
    verified: RefCell<HashSet<SysPath, BuildHasherDefault<Fx>>>,
    /// The most bytes read of one attribute ([`MAX_ATTR`] unless set).
    max_attr: u64,
    /// Filesystem operations so far (see [`SysfsRoot::operations`]).
    ops: Cell<u64>,
    /// `openat2` works here (see [`SysfsRoot::whole_target`]); cleared at its first refusal.
    openat2: Cell<bool>,
    /// Links [`SysfsRoot::follow_and_list`] could not take the short way.
    follow_misses: Cell<u32>,
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
            verified: RefCell::new(HashSet::default()),
            max_attr: MAX_ATTR,
            ops: Cell::new(0),
            openat2: Cell::new(true),
            follow_misses: Cell::new(0),
        })
    }

    /// How many filesystem operations reading through this root has cost so far: each
    /// `lstat`, `readlink`, `realpath`, `open` of an attribute (with its `fstat`, reads and
    /// `close`) and directory listing counts one. The cost of resolution is meant to follow
    /// what a definition names, not the size of the host; tests hold it to that.
    ///
    /// ```
    /// let root = domxml::SysfsRoot::at(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35")).unwrap();
    /// assert_eq!(root.operations(), 0);
    /// domxml::resolve::Index::scan(&root).unwrap();
    /// assert!(root.operations() > 100);
    /// ```
    pub fn operations(&self) -> u64 {
        self.ops.get()
    }

    fn op(&self) {
        self.ops.set(self.ops.get() + 1);
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

    pub(crate) fn recording(&self) -> bool {
        self.recording.borrow().is_some()
    }

    /// `p` under the root, as the OS is asked for it (what `canon.join(p)` gives, built with
    /// one allocation: this runs once per filesystem operation).
    fn full(&self, p: &SysPath) -> PathBuf {
        let root = self.canon.as_os_str();
        let mut s = std::ffi::OsString::with_capacity(root.len() + 1 + p.0.len());
        s.push(root);
        if !root.as_encoded_bytes().ends_with(b"/") {
            s.push("/");
        }
        s.push(&p.0);
        PathBuf::from(s)
    }

    /// Resolve `path` to its canonical form, following symlinks inside the root only.
    /// `Ok(None)` when some component does not exist.
    pub fn resolve(&self, path: &SysPath) -> Result<Option<SysPath>, ResolveError> {
        self.walk(SysPath::default(), &path.0, Asked::Path(path), false)
    }

    /// [`Self::resolve`] for a path whose last component is expected to be a symlink (a
    /// class or bus entry): it is read as a link first, which costs one `readlink` instead
    /// of an `lstat` and a `readlink` (and one call more when it is not a link after all).
    pub fn resolve_link(&self, path: &SysPath) -> Result<Option<SysPath>, ResolveError> {
        self.walk(SysPath::default(), &path.0, Asked::Path(path), true)
    }

    /// Resolve `name` inside a directory already known to be canonical: only the last
    /// component is looked at, which keeps per-attribute cost constant.
    pub fn resolve_in(&self, dir: &SysPath, name: &str) -> Result<Option<SysPath>, ResolveError> {
        component(name)?;
        self.walk(dir.clone(), name, Asked::In(dir, name), false)
    }

    /// Walk the `/`-separated components of `path` from `start`. With `link_last`, the last
    /// component asked for is read as a link before it is looked at otherwise.
    fn walk(
        &self,
        start: SysPath,
        path: &str,
        asked: Asked<'_>,
        link_last: bool,
    ) -> Result<Option<SysPath>, ResolveError> {
        let mut cur = start;
        cur.0.reserve(path.len() + 64);
        // Whether `cur` is in `verified` (known to be canonical and under the root).
        let mut cur_ok = cur.is_root() || self.verified.borrow().contains(&cur);
        let mut hops = 0usize;
        // What is left to walk, from `pos`: the path asked for, then (after a link) the
        // link's target followed by what was left.
        let mut rest = std::borrow::Cow::Borrowed(path);
        let mut pos = 0;
        loop {
            let tail = &rest[pos..];
            let skip = tail.len() - tail.trim_start_matches('/').len();
            let from = pos + skip;
            if from >= rest.len() {
                break;
            }
            let to = rest[from..].find('/').map_or(rest.len(), |i| from + i);
            pos = to;
            let more = rest[to..].bytes().any(|b| b != b'/');
            let c = &rest[from..to];
            if c == "." {
                continue;
            }
            if c == ".." {
                if !cur.pop() {
                    return Err(ResolveError::Escape {
                        path: self.show(&asked.path()),
                        target: "a parent of the root".into(),
                    });
                }
                // The parent of a verified directory is verified.
                cur_ok = cur_ok || cur.is_root() || self.verified.borrow().contains(&cur);
                continue;
            }
            // (Every component was checked already: those asked for as a `SysPath` or a
            // name, a link's when its target was read.)
            let parent_verified = cur_ok;
            cur.push(c);
            // A directory already checked to be real (see `checked_dir`) needs no new lstat:
            // LUs share every component of their paths up to the target directory. Only a
            // verified directory holds verified ones.
            if parent_verified && self.verified.borrow().contains(&cur) {
                self.record(&cur, Recorded::Dir);
                continue;
            }
            cur_ok = false;
            let full = self.full(&cur);
            // The component asked for last, before any link was followed.
            let link = if link_last && hops == 0 && !more {
                self.op();
                match std::fs::read_link(&full) {
                    Ok(t) => Some(t),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::NotFound
                            || e.raw_os_error() == Some(libc::ENOTDIR) =>
                    {
                        return Ok(None)
                    }
                    // EINVAL: not a link; anything else is told apart by the lstat below.
                    Err(_) => None,
                }
            } else {
                None
            };
            let target = match link {
                Some(t) => t,
                None => {
                    self.op();
                    let md = match std::fs::symlink_metadata(&full) {
                        Ok(m) => m,
                        Err(e)
                            if e.kind() == std::io::ErrorKind::NotFound
                                || e.raw_os_error() == Some(libc::ENOTDIR) =>
                        {
                            return Ok(None)
                        }
                        Err(e) => return Err(ResolveError::io(&full, e)),
                    };
                    if !md.file_type().is_symlink() {
                        if md.is_dir() {
                            self.record(&cur, Recorded::Dir);
                            if parent_verified {
                                self.verified.borrow_mut().insert(cur.clone());
                                cur_ok = true;
                            }
                        } else if more {
                            return Ok(None);
                        }
                        continue;
                    }
                    if hops + 1 > MAX_HOPS {
                        return Err(ResolveError::SymlinkLoop {
                            path: self.show(&asked.path()),
                        });
                    }
                    self.op();
                    std::fs::read_link(&full).map_err(|e| ResolveError::io(&full, e))?
                }
            };
            // (The first link read as one is never beyond the bound.)
            hops += 1;
            let t = target.to_string_lossy();
            if target.is_absolute() {
                return Err(ResolveError::Escape {
                    path: self.show(&cur),
                    target: t.into_owned(),
                });
            }
            for part in t.split('/').filter(|p| !p.is_empty()) {
                if part != "." && part != ".." {
                    component(part)?;
                }
            }
            if self.recording() {
                self.record(&cur, Recorded::Link(t.to_string()));
            }
            cur.pop();
            cur_ok = parent_verified;
            rest = std::borrow::Cow::Owned(format!("{t}/{}", &rest[pos..]));
            pos = 0;
            if cur_ok {
                if let Some(done) = self.whole_target(&cur, &rest) {
                    return Ok(Some(done));
                }
            }
        }
        Ok(Some(cur))
    }

    /// [`Self::checked`] for a directory, by induction and remembered: a directory is under
    /// the root when its parent is and its own entry is a real directory, not a symlink (one
    /// `lstat`, where `realpath` costs a `readlink` per component). Anything else falls back
    /// to the full check, which reports the escape.
    fn checked_dir(&self, dir: &SysPath) -> Result<PathBuf, ResolveError> {
        if dir.is_root() || self.verified.borrow().contains(dir) {
            return Ok(self.full(dir));
        }
        let full = self.full(dir);
        // The parent must itself be verified, not merely inside the root: `verified` holds
        // canonical paths only (the walk skips its lstat for them), and a directory reached
        // through a symlinked parent is not canonical.
        let parent_ok = match dir.parent() {
            Some(parent) => {
                self.checked_dir(&parent).is_ok()
                    && (parent.is_root() || self.verified.borrow().contains(&parent))
            }
            None => true,
        };
        self.op();
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
        self.op();
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
        // In a directory already known to be canonical and under the root, the attribute is
        // opened at once: `O_NOFOLLOW` refuses a symlink in its place (which then takes the
        // checked path below), and a missing one is absent. One `open` instead of an `lstat`
        // and an `open`, with the same guarantees.
        if self.verified.borrow().contains(dir) {
            component(name)?;
            let full = self.full(dir).join(name);
            self.op();
            match os::open_attr(&full) {
                Ok(file) => return self.read_open(file, &full, || dir.join(name)),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(ResolveError::io(&full, e)),
            }
        }
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
        self.op();
        let file = os::open_attr(&full).map_err(|e| ResolveError::io(&full, e))?;
        self.read_open(file, &full, || Ok(p.clone()))
    }

    /// Read an attribute opened by [`os::open_attr`]: check that it is a regular file, read at
    /// most `max_attr` bytes, record it.
    fn read_open(
        &self,
        file: std::fs::File,
        full: &Path,
        p: impl Fn() -> Result<SysPath, ResolveError>,
    ) -> Result<Option<Vec<u8>>, ResolveError> {
        let md = file.metadata().map_err(|e| ResolveError::io(full, e))?;
        if md.is_dir() && self.recording() {
            // What a walk to it would have recorded (an attribute that is a directory).
            self.record(&p()?, Recorded::Dir);
        }
        if !md.is_file() {
            return Err(ResolveError::io(
                full,
                std::io::Error::other("not a regular file (a FIFO, socket or device node)"),
            ));
        }
        let mut buf = Vec::new();
        file.take(self.max_attr + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ResolveError::io(full, e))?;
        if buf.len() as u64 > self.max_attr {
            buf.truncate(self.max_attr as usize);
            if self.recording() {
                self.cut.borrow_mut().push(p()?);
            }
        }
        if self.recording() {
            self.record(&p()?, Recorded::File(buf.clone()));
        }
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
        // A verified directory was seen to be a real one (not a link) by the walk that reached it.
        let full = if dir.is_root() || self.verified.borrow().contains(dir) {
            self.full(dir)
        } else {
            let full = self.full(dir);
            self.op();
            match std::fs::symlink_metadata(&full) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(ResolveError::io(&full, e)),
            }
            self.checked_dir(dir)?
        };
        self.op();
        let d = os::open_dir(&full, false).map_err(|e| ResolveError::io(&full, e))?;
        let out = self.listing(dir, &full, d)?;
        if self.recording.borrow().is_some() {
            // A snapshot must list the same entries, so record what each one is.
            for n in &out.names {
                let p = dir.join(n)?;
                let f = full.join(n);
                self.op();
                match std::fs::symlink_metadata(&f) {
                    Ok(m) if m.file_type().is_symlink() => {
                        self.op();
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

/// What a walk was asked to resolve, for messages (built only when there is one).
#[derive(Clone, Copy)]
enum Asked<'a> {
    Path(&'a SysPath),
    In(&'a SysPath, &'a str),
}

impl Asked<'_> {
    fn path(self) -> SysPath {
        match self {
            Asked::Path(p) => p.clone(),
            Asked::In(dir, name) => {
                let mut p = dir.clone();
                p.push(name);
                p
            }
        }
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
