//! Reading a document with its size bounded while it is read, not after.
//!
//! [`read_bounded`] reads at most `max_bytes + 1` bytes: a 1 GB (or sparse) file, `/dev/zero`
//! or `yes | domxml validate -` costs the bound, not the input. A regular file whose size is
//! already over the bound is refused without reading it.
//!
//! Opening a FIFO blocks until a writer opens it, so a FIFO nobody writes to used to hang the
//! command line for ever. Files are opened with `O_NONBLOCK`, which never blocks on open, and
//! the flag is cleared on what was opened, so reading then waits for data as usual: a FIFO
//! (`<(cmd)` in a shell, or a named one) is read from the writers it has when it is opened, and
//! one with no writer reads as empty at once and is refused with a clear error. (Refusing
//! non-regular files outright would also have stopped the hang, but it would break
//! `domxml validate <(virsh dumpxml g)`.) Standard input (`-`) is read as it is: it is the
//! caller's own pipe or terminal.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// More than `max_bytes`: reading stopped there.
    #[error(
        "{} is larger than the limit of {max_bytes} bytes (reading stopped there); raise the limit with --max-bytes if the file is genuine",
        shown(path)
    )]
    TooLarge {
        /// The path (`-` for standard input).
        path: PathBuf,
        /// The limit.
        max_bytes: usize,
    },
    /// A FIFO that no process had open for writing: there is nothing to read, and waiting for
    /// a writer could take for ever.
    #[error("{} is a FIFO with no writer: nothing to read", shown(path))]
    NoWriter {
        /// The path.
        path: PathBuf,
    },
    /// Opening or reading failed.
    #[error("cannot read {}: {source}", shown(path))]
    Io {
        /// The path (`-` for standard input).
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

impl InputError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::TooLarge { path, .. }
            | InputError::NoWriter { path }
            | InputError::Io { path, .. } => path,
        }
    }
}

fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Read all of `path` (`-`: standard input), refusing it once it is over `max_bytes`.
pub fn read_bounded(path: &Path, max_bytes: usize) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        return read_at_most(std::io::stdin().lock(), path, max_bytes);
    }
    let file = open_without_blocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > max_bytes as u64 {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            max_bytes,
        });
    }
    let bytes = read_at_most(file, path, max_bytes)?;
    if bytes.is_empty() && meta.file_type().is_fifo_like() {
        return Err(InputError::NoWriter {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Open for reading with `O_NONBLOCK`, so that opening a FIFO returns at once, then make the
/// descriptor blocking again for reading. `std` has no safe `fcntl`, but setting a socket's
/// blocking mode is the same call on the descriptor (`ioctl(FIONBIO)`), so the descriptor is
/// lent to a `UnixStream` for it and taken back.
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if file.metadata()?.is_file() {
        // O_NONBLOCK means nothing for a regular file.
        return Ok(file);
    }
    let stream = std::os::unix::net::UnixStream::from(OwnedFd::from(file));
    stream.set_nonblocking(false)?;
    Ok(std::fs::File::from(OwnedFd::from(stream)))
}

fn read_at_most(r: impl Read, path: &Path, max_bytes: usize) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    r.take((max_bytes as u64).saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if buf.len() > max_bytes {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            max_bytes,
        });
    }
    Ok(buf)
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_bound_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.xml");
        // Sparse: a terabyte of nothing costs nothing to create, and must cost nothing to refuse.
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(1 << 40).unwrap();
        let e = read_bounded(&p, 1024).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::TooLarge {
                    max_bytes: 1024,
                    ..
                }
            ),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("1024") && msg.contains("--max-bytes") && msg.contains("big.xml"),
            "{msg}"
        );
    }

    #[test]
    fn a_file_at_the_bound_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ok.xml");
        std::fs::write(&p, b"<a/>").unwrap();
        assert_eq!(read_bounded(&p, 4).unwrap(), b"<a/>");
        assert!(matches!(
            read_bounded(&p, 3),
            Err(InputError::TooLarge { .. })
        ));
    }

    #[test]
    fn an_endless_device_costs_the_bound() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(e, InputError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn a_fifo_without_a_writer_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return;
        }
        let e = read_bounded(&p, 1024).unwrap_err();
        assert!(matches!(e, InputError::NoWriter { .. }), "{e}");
        assert!(e.to_string().contains("no writer"), "{e}");
    }

    #[test]
    fn a_pipe_with_a_writer_is_read_whole() {
        // What `domxml validate <(cmd)` opens: /dev/fd/N, the read end of a pipe whose writer
        // writes slowly.
        use std::os::fd::AsRawFd;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "printf '<domain'; sleep 0.2; printf '/>'"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let path = PathBuf::from(format!("/proc/self/fd/{}", out.as_raw_fd()));
        let bytes = read_bounded(&path, 1024);
        drop(out);
        child.wait().unwrap();
        assert_eq!(bytes.unwrap(), b"<domain/>");
    }

    #[test]
    fn errors_name_the_path() {
        let e = read_bounded(Path::new("/nonexistent/d.xml"), 10).unwrap_err();
        assert_eq!(e.path(), Path::new("/nonexistent/d.xml"));
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/d.xml: "),
            "{e}"
        );
    }
}
