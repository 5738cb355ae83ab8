//! The short ways through the root: fewer system calls for what the walk would find anyway.
//!
//! On a host with 1,000 SCSI hosts, naming one by PCI parent follows every class link, and
//! 10,000 hostdevs follow 10,000 bus links and list 10,000 `scsi_generic` directories. The
//! walk checks each new directory with its own `lstat`; here one `openat2` that refuses every
//! symlink checks a whole path of plain names, and a directory known to be real is opened and
//! listed at once. Each short way either gives exactly what the walk gives, or gives up
//! (`None`) before remembering anything, and the walk finds out what is there.

use super::{component, os, Listing, Recorded, SysPath, SysfsRoot};
use crate::resolve::error::ResolveError;
use std::path::Path;

/// Misses after which [`SysfsRoot::follow_and_list`] stops trying.
pub(super) const FOLLOW_MISSES: u32 = 8;

impl SysfsRoot {
    /// The rest of a walk, `rest` from the verified directory `from`, in one system call: when
    /// `rest` is `../` steps then plain names, several of them not yet verified, one `openat2`
    /// that refuses every symlink tells whether the path it spells is a real directory. If so,
    /// that path is what the walk would reach, and every directory on it is verified. `None`:
    /// not that shape, not worth it, or not so; the walk goes on a component at a time and
    /// finds out what is there (a link, a file, nothing) exactly as before.
    pub(super) fn whole_target(&self, from: &SysPath, rest: &str) -> Option<SysPath> {
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
        match os::is_dir_without_links(&self.full(&p)) {
            Ok(()) => {}
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
        let d = match os::open_dir_without_links(&full) {
            Ok(d) => d,
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
    pub(super) fn listing(
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
