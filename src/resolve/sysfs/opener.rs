//! Roots for helper threads: a [`SysfsRoot`] caches what it verified in cells, so it is not
//! `Sync`; a thread that reads the same tree opens a root of its own at the same directory,
//! and its operations are counted on the caller's.

use super::SysfsRoot;
use crate::resolve::ResolveError;
use std::path::PathBuf;

/// A root's directory and bound on attributes, to open another root like it (one a helper
/// thread owns: a root is not `Sync`).
#[derive(Debug, Clone)]
pub(crate) struct RootOpener {
    dir: PathBuf,
    max_attr: u64,
}

impl RootOpener {
    pub(crate) fn open(&self) -> Result<SysfsRoot, ResolveError> {
        Ok(SysfsRoot::at(&self.dir)?.with_max_attr_bytes(self.max_attr))
    }
}

impl SysfsRoot {
    /// Count operations another root made on this one's behalf (a helper thread's).
    pub(crate) fn add_operations(&self, n: u64) {
        self.ops.set(self.ops.get() + n);
    }

    /// Another root at the same directory, with the same bound on attributes and nothing
    /// verified or counted yet: what a helper thread reads through (a root is not `Sync`).
    pub(crate) fn sibling(&self) -> Result<SysfsRoot, ResolveError> {
        self.opener().open()
    }

    /// What opens a [`SysfsRoot::sibling`] on another thread.
    pub(crate) fn opener(&self) -> RootOpener {
        RootOpener {
            dir: self.given.clone(),
            max_attr: self.max_attr,
        }
    }
}
