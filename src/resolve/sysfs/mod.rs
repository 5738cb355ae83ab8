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

mod fx;
mod os;
mod path;

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

    fn recording(&self) -> bool {
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

    /// The rest of a walk, `rest` from the verified directory `from`, in one system call: when
    /// `rest` is `../` steps then plain names, several of them not yet verified, one `openat2`
    /// that refuses every symlink tells whether the path it spells is a real directory. If so,
    /// that path is what the walk would reach, and every directory on it is verified. `None`:
    /// not that shape, not worth it, or not so; the walk goes on a component at a time and
    /// finds out what is there (a link, a file, nothing) exactly as before.
    fn whole_target(&self, from: &SysPath, rest: &str) -> Option<SysPath> {
        if !self.openat2.get() || self.recording() {
            return None;
        }
        let p = plain_target(from, rest)?;
        let new = self.unverified_tail(&p);
        // One `openat2` and its `close` against an `lstat` a directory.
        if new < 3 {
            return None;
        }
        self.op();
        match os::whole_dir_without_links(&self.full(&p), false) {
            Ok(_) => {}
            Err(os::NotWhole::Unsupported) => {
                self.openat2.set(false);
                return None;
            }
            Err(os::NotWhole::Other) => return None,
        }
        self.verify_tail(&p, new);
        Some(p)
    }

    /// How many directories at the end of the canonical `p` are not verified yet: its tail
    /// below its deepest verified ancestor (the parent of a verified directory is verified, so
    /// that ancestor is a prefix).
    fn unverified_tail(&self, p: &SysPath) -> usize {
        let verified = self.verified.borrow();
        let mut known = p.clone();
        let mut new = 0;
        while !known.is_root() && !verified.contains(&known) {
            known.pop();
            new += 1;
        }
        new
    }

    /// Verify the last `new` directories of `p`, which the kernel has just found to be real
    /// directories reached through no symlink.
    fn verify_tail(&self, p: &SysPath, new: usize) {
        let mut verified = self.verified.borrow_mut();
        let mut d = p.clone();
        for _ in 0..new {
            verified.insert(d.clone());
            d.pop();
        }
    }

    /// Follow the link `link` (an entry of a verified directory, such as
    /// `sys/bus/scsi/devices/H:B:T:L`) and list the directory `sub` in its target, in three
    /// system calls: `readlink`, then one `openat2` that refuses every symlink on the whole
    /// path, then the listing. This is what [`Self::resolve_link`] and a listing of
    /// `target/sub` give when the target is plain names below the root and `sub` a real
    /// directory; it costs an `lstat` for each new directory less. `None` when it is not so (or
    /// cannot be told cheaply): then nothing is remembered, and the caller asks the long way,
    /// which finds out what is there. After a few misses (a host whose LUs have no `sub`) it is
    /// no longer tried.
    pub(crate) fn follow_and_list(&self, link: &SysPath, sub: &str) -> Option<(SysPath, Listing)> {
        if !self.openat2.get() || self.recording() || self.follow_misses.get() >= FOLLOW_MISSES {
            return None;
        }
        let from = link.parent()?;
        if !(from.is_root() || self.verified.borrow().contains(&from)) || component(sub).is_err() {
            return None;
        }
        let miss = || {
            self.follow_misses.set(self.follow_misses.get() + 1);
            None
        };
        self.op();
        let Ok(target) = std::fs::read_link(self.full(link)) else {
            return miss();
        };
        let Some(t) = target.to_str().filter(|t| !t.starts_with('/')) else {
            return miss();
        };
        if t.split('/')
            .any(|c| !c.is_empty() && c != "." && c != ".." && component(c).is_err())
        {
            return miss();
        }
        let Some(dir) = plain_target(&from, t) else {
            return miss();
        };
        let mut p = dir.clone();
        p.push(sub);
        let new = self.unverified_tail(&p);
        self.op();
        let full = self.full(&p);
        let d = match os::whole_dir_without_links(&full, true) {
            Ok(Some(d)) => d,
            Ok(None) => return miss(),
            Err(os::NotWhole::Unsupported) => {
                self.openat2.set(false);
                return None;
            }
            Err(os::NotWhole::Other) => return miss(),
        };
        self.verify_tail(&p, new);
        let listing = self.listing(&p, &full, d).ok()?;
        Some((dir, listing))
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

impl SysfsRoot {
    /// The entries of `dir/name`, listed when `dir` is verified and `name` is a real directory
    /// in it (then verified too): one `open` where [`Self::resolve_in`] and [`Self::list`] make
    /// an `lstat` first. `Ok(None)` when `name` does not exist. `None` when that is not what
    /// is there (a symlink, a file) or `dir` is not verified: ask `resolve_in` and `list`,
    /// which tell those apart.
    pub(crate) fn list_in(
        &self,
        dir: &SysPath,
        name: &str,
    ) -> Option<Result<Option<Listing>, ResolveError>> {
        if self.recording() || !self.verified.borrow().contains(dir) || component(name).is_err() {
            return None;
        }
        let mut p = dir.clone();
        p.push(name);
        let full = self.full(&p);
        self.op();
        match os::open_dir(&full, true) {
            Ok(d) => {
                self.verified.borrow_mut().insert(p.clone());
                Some(self.listing(&p, &full, d).map(Some))
            }
            // What the walk's `lstat` would have said.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Ok(None)),
            Err(_) => None,
        }
    }

    /// The entries of the open directory `d` (`dir`, at `full`), sorted and split.
    fn listing(
        &self,
        dir: &SysPath,
        full: &Path,
        d: std::fs::File,
    ) -> Result<Listing, ResolveError> {
        let mut out = Listing::default();
        for (name, utf8) in os::entries(d).map_err(|e| ResolveError::io(full, e))? {
            if utf8 && component(&name).is_ok() {
                out.names.push(name);
            } else {
                out.refused.push(name);
            }
        }
        out.names.sort();
        out.refused.sort();
        self.record(dir, Recorded::Dir);
        Ok(out)
    }
}

/// `rest` (`../` steps, then plain names) taken from the canonical directory `from`; `None`
/// for any other shape (`.` or `..` after a name, or above the root), which only a walk can
/// follow.
fn plain_target(from: &SysPath, rest: &str) -> Option<SysPath> {
    let mut p = from.clone();
    let mut names = false;
    for c in rest.split('/').filter(|c| !c.is_empty()) {
        match c {
            // `from` is canonical, so stepping up by name is stepping up for real.
            ".." if !names => {
                if !p.pop() {
                    return None;
                }
            }
            "." | ".." => return None,
            _ => {
                names = true;
                p.push(c);
            }
        }
    }
    Some(p)
}

/// Misses after which [`SysfsRoot::follow_and_list`] stops trying.
const FOLLOW_MISSES: u32 = 8;

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
