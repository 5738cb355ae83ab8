//! The system calls the root makes beyond `std::fs`, through `rustix` (the crate forbids
//! `unsafe`): a whole path checked for symlinks in one call, and directories read without the
//! `fstat` that `std::fs::read_dir` adds.
//!
//! Both exist for cost only. On a host with 1,000 SCSI hosts the `parent`/`unique_id` lookup
//! follows every class link; checking each new directory of a link's target with its own
//! `lstat` is five calls a host, one `openat2` is one (and its `close`).

use rustix::fs::{Dir, Mode, OFlags, ResolveFlags};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why [`is_dir_without_links`] or [`open_dir_without_links`] said no.
pub(super) enum NotWhole {
    /// Missing, not a directory, or a symlink on the way: a walk component by component
    /// finds out which.
    Other,
    /// `openat2` is not available here (old kernel, seccomp filter): do not ask again.
    Unsupported,
}

/// Is `full` a directory whose every component (the root's canonical prefix included) is a
/// real directory, not a symlink? One `openat2(O_PATH, RESOLVE_NO_SYMLINKS)`; the handle is
/// closed at once.
pub(super) fn is_dir_without_links(full: &Path) -> Result<(), NotWhole> {
    openat2_no_links(full, OFlags::PATH).map(drop)
}

/// [`is_dir_without_links`], with the directory opened for listing.
pub(super) fn open_dir_without_links(full: &Path) -> Result<std::fs::File, NotWhole> {
    openat2_no_links(full, OFlags::RDONLY).map(std::fs::File::from)
}

fn openat2_no_links(full: &Path, how: OFlags) -> Result<rustix::fd::OwnedFd, NotWhole> {
    rustix::fs::openat2(
        rustix::fs::CWD,
        full,
        how | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| {
        use rustix::io::Errno;
        if [Errno::NOSYS, Errno::PERM, Errno::INVAL, Errno::TOOBIG].contains(&e) {
            NotWhole::Unsupported
        } else {
            NotWhole::Other
        }
    })
}

/// Open the directory `full` for listing. With `no_follow`, a symlink in its place is refused
/// (`ELOOP`) instead of followed.
pub(super) fn open_dir(full: &Path, no_follow: bool) -> std::io::Result<std::fs::File> {
    let mut flags = libc::O_DIRECTORY;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(full)
}

/// The entries of an open directory, without `.` and `..`, in the order the kernel gives them;
/// names that are not UTF-8 come back lossily converted, flagged `false`.
pub(super) fn entries(dir: std::fs::File) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    let d = Dir::new(dir)?;
    for e in d {
        let e = e?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        match std::str::from_utf8(name) {
            Ok(s) => out.push((s.to_string(), true)),
            Err(_) => out.push((String::from_utf8_lossy(name).into_owned(), false)),
        }
    }
    Ok(out)
}

/// Open an attribute for reading without following a final symlink and without blocking:
/// sysfs attributes are regular files, and a FIFO or a device found in a foreign tree could
/// block forever or read without end, so the file is checked (in `read_open`) before it is
/// read.
pub(super) fn open_attr(full: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(full)
}
