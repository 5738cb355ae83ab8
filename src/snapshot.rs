//! Snapshot directories: every `NAME.xml` beside the `NAME.args` it converts to (the
//! [`Converted::snapshot`](crate::Converted::snapshot) text), checked or rewritten in one call,
//! and a readable line diff for the ones that drifted: libvirt's `.args` layout puts one option
//! per line, so a line diff shows exactly which device changed.

use crate::{convert_bytes, Error, Host, Limits, Options};
use std::path::{Path, PathBuf};

/// What happened to one domain of a snapshot directory.
#[derive(Debug)]
#[non_exhaustive]
pub enum Status {
    /// The stored snapshot is what the domain converts to now.
    Matches,
    /// The stored snapshot differs: a [`line_diff`] of stored and now.
    Drifted {
        /// `-` stored, `+` now, with context.
        diff: String,
    },
    /// No `NAME.args` beside the domain.
    Missing,
    /// `NAME.args` was written (update mode).
    Written,
    /// The domain does not convert.
    Failed(Error),
}

/// One domain of a snapshot directory.
#[derive(Debug)]
pub struct Entry {
    /// `DIR/NAME.xml`.
    pub xml: PathBuf,
    /// `DIR/NAME.args`.
    pub args: PathBuf,
    /// The outcome.
    pub status: Status,
}

/// Convert every `NAME.xml` in `dir` (in name order) and compare it with `NAME.args`, or
/// write `NAME.args` when `update` is set. Fails only on I/O: a directory or file that cannot
/// be read, a snapshot that cannot be written.
///
/// ```
/// use domxml::snapshot::{check_dir, Status};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("g.xml"), "<domain type='qemu'><name>g</name></domain>").unwrap();
/// let opts = domxml::Options::default();
/// let run = |update| check_dir(dir.path(), &opts, domxml::Host::Offline, Default::default(), update).unwrap();
/// assert!(matches!(run(false)[0].status, Status::Missing));
/// assert!(matches!(run(true)[0].status, Status::Written));
/// assert!(matches!(run(false)[0].status, Status::Matches));
/// ```
pub fn check_dir(
    dir: &Path,
    opts: &Options,
    host: Host<'_>,
    limits: Limits,
    update: bool,
) -> std::io::Result<Vec<Entry>> {
    let mut xmls: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    xmls.sort();
    let mut out = Vec::with_capacity(xmls.len());
    for xml in xmls {
        let bytes = crate::input::read_bounded(&xml, limits.max_bytes)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let args = xml.with_extension("args");
        let status = match convert_bytes(&bytes, limits, opts, host) {
            Err(e) => Status::Failed(e),
            Ok(c) => {
                let text = c.snapshot();
                if update {
                    std::fs::write(&args, text.as_bytes())?;
                    Status::Written
                } else {
                    match std::fs::read_to_string(&args) {
                        Ok(old) if old == text => Status::Matches,
                        Ok(old) => Status::Drifted {
                            diff: line_diff(&old, &text),
                        },
                        Err(_) => Status::Missing,
                    }
                }
            }
        };
        out.push(Entry { xml, args, status });
    }
    Ok(out)
}

/// A unified-style diff of two texts (`-` stored, `+` new), with one line of context around
/// each change. Uses the longest common subsequence, which is fine for command lines of a few
/// thousand lines; larger inputs fall back to listing both sides.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len().saturating_mul(b.len()) > 25_000_000 {
        let mut out = String::new();
        for l in &a {
            out.push_str(&format!("-{l}\n"));
        }
        for l in &b {
            out.push_str(&format!("+{l}\n"));
        }
        return out;
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<bool> = ops.iter().map(|(c, _)| *c != ' ').collect();
    let mut out = String::new();
    let mut last_printed: Option<usize> = None;
    for (k, (c, l)) in ops.iter().enumerate() {
        let near =
            changed[k] || (k > 0 && changed[k - 1]) || changed.get(k + 1).copied().unwrap_or(false);
        if near {
            if last_printed.is_some_and(|p| p + 1 != k) {
                out.push_str("@@\n");
            }
            out.push_str(&format!("{c}{l}\n"));
            last_printed = Some(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_only_the_changed_line_with_context() {
        let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n");
        assert_eq!(d, " a\n-b\n+B\n c\n");
    }

    #[test]
    fn identical_texts_have_an_empty_diff() {
        assert_eq!(line_diff("a\nb\n", "a\nb\n"), "");
    }
}
