//! `domxml sysfs-snapshot`: record exactly the part of a host's sysfs that resolution reads,
//! so that `--sysfs-root` can resolve offline (in CI, on another machine) as on that host.
//!
//! The snapshot is made by running the real scan with recording switched on in
//! [`SysfsRoot`]: whatever the resolver touches (directories, symlinks with their relative
//! targets, attribute bytes) is written out, and nothing else. Attributes that could not be
//! read are left out, so they read as absent in the snapshot. Attributes longer than
//! [`MAX_ATTR`] are recorded cut to it, as the resolver reads them, and each one is named in
//! the result's warnings.

use super::error::ResolveError;
use super::index::Index;
use super::sysfs::{Recorded, SysfsRoot, MAX_ATTR};
use std::path::Path;

/// What a snapshot wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Directories created.
    pub dirs: usize,
    /// Files written.
    pub files: usize,
    /// Symlinks created.
    pub links: usize,
    /// SCSI hosts seen.
    pub hosts: usize,
    /// LUs seen.
    pub lus: usize,
    /// What the snapshot does not hold as it is on the host (attributes cut to
    /// [`MAX_ATTR`]), one sentence each.
    pub warnings: Vec<String>,
}

/// Why a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading the source tree failed.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The output directory exists and is not empty.
    #[error("{0} exists and is not empty; give a new directory")]
    NotEmpty(String),
    /// Writing failed.
    #[error("cannot write {path}")]
    Write {
        /// The path written.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// Record what scanning `root` reads into the new directory `out`.
pub fn snapshot(root: &SysfsRoot, out: &Path) -> Result<SnapshotStats, SnapshotError> {
    if let Ok(mut rd) = std::fs::read_dir(out) {
        if rd.next().is_some() {
            return Err(SnapshotError::NotEmpty(out.display().to_string()));
        }
    }
    root.start_recording();
    let scanned = Index::scan(root);
    let rec = root.take_recording();
    let cut = root.take_cut();
    let idx = scanned?;
    let mut st = SnapshotStats {
        hosts: idx.hosts().count(),
        lus: idx.lus().count(),
        ..Default::default()
    };
    for p in &cut {
        st.warnings.push(format!(
            "{} is longer than {} KiB; the snapshot holds its first {} KiB, which is all domxml reads of it",
            root.show(p),
            MAX_ATTR / 1024,
            MAX_ATTR / 1024
        ));
    }
    let class = out.join("sys/class");
    std::fs::create_dir_all(&class).map_err(write_err(&class))?;
    for (p, r) in &rec {
        let dest = out.join(p.components().iter().collect::<std::path::PathBuf>());
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        match r {
            Recorded::Dir => {
                std::fs::create_dir_all(&dest).map_err(write_err(&dest))?;
                st.dirs += 1;
            }
            Recorded::File(bytes) => {
                std::fs::write(&dest, bytes).map_err(write_err(&dest))?;
                st.files += 1;
            }
            Recorded::Link(target) => {
                std::os::unix::fs::symlink(target, &dest).map_err(write_err(&dest))?;
                st.links += 1;
            }
        }
    }
    Ok(st)
}
