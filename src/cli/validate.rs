//! `domxml validate`.

use super::input::{display_name, read_input};
use super::resolve::scan_sysfs;
use domxml::report::{self, Format};
use domxml::xml::Limits;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What happened to each file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    files: usize,
    invalid: usize,
    unreadable: usize,
}

impl Tally {
    fn valid(&self) -> usize {
        self.files - self.invalid - self.unreadable
    }

    /// The closing line of the human report: every file that could not be read or is
    /// invalid is not valid.
    fn summary(&self) -> String {
        let n = self.files;
        let mut s = format!(
            "{} of {n} file{} valid",
            self.valid(),
            if n == 1 { "" } else { "s" }
        );
        if self.unreadable > 0 {
            s.push_str(&format!(", {} unreadable", self.unreadable));
        }
        s
    }
}

pub(crate) fn run(
    files: &[PathBuf],
    strict: bool,
    format: Format,
    sysfs_root: Option<&Path>,
    limits: Limits,
) -> ExitCode {
    // With --sysfs-root, sysfs is scanned once, before the first file, for all of them.
    let host = match sysfs_root.map(scan_sysfs) {
        Some(Ok(idx)) => {
            for w in &idx.warnings {
                eprintln!("domxml: warning: {w}");
            }
            Some(idx)
        }
        Some(Err(code)) => return code,
        None => None,
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let bar = (stderr_tty && files.len() > 1).then(|| {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut tally = Tally {
        files: files.len(),
        ..Tally::default()
    };
    let mut rows_json = Vec::new();
    let mut out = std::io::stdout().lock();
    for path in files {
        let name = display_name(path);
        if let Some(b) = &bar {
            b.set_message(name.clone());
        }
        let bytes = match read_input(path, limits.max_bytes) {
            Ok(b) => b,
            Err(e) => {
                let line = format!("domxml: {e}");
                match &bar {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
                tally.unreadable += 1;
                continue;
            }
        };
        let mut checked = domxml::check(&bytes, limits);
        if let Some(idx) = &host {
            domxml::check_host(&mut checked, idx);
        }
        if strict {
            checked = checked.strict();
        }
        if !checked.is_valid(false) {
            tally.invalid += 1;
        }
        let text = match format {
            // The source is only quoted around a finding: a clean file is not decoded again.
            Format::Human if checked.diagnostics.is_empty() => String::new(),
            Format::Human => {
                let src = String::from_utf8_lossy(&bytes);
                report::human(&name, &src, &checked.diagnostics, color)
            }
            Format::Github => checked
                .diagnostics
                .iter()
                .map(|d| report::github_line(&name, d) + "\n")
                .collect(),
            Format::Json => {
                let rows = report::json_rows(&name, &checked.diagnostics);
                rows_json.extend(
                    rows.into_iter()
                        .map(|r| serde_json::to_value(r).expect("rows serialise")),
                );
                String::new()
            }
        };
        if !text.is_empty() {
            match &bar {
                Some(b) => b.suspend(|| {
                    let _ = out.write_all(text.as_bytes());
                }),
                None => {
                    let _ = out.write_all(text.as_bytes());
                }
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if format == Format::Json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&rows_json).expect("json")
        );
    } else if format == Format::Human && (files.len() > 1 || tally.invalid > 0) {
        let _ = writeln!(out, "{}", tally.summary());
    }
    if tally.unreadable > 0 {
        ExitCode::from(2)
    } else if tally.invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn unreadable_files_are_not_counted_valid() {
        let t = Tally {
            files: 3,
            invalid: 0,
            unreadable: 2,
        };
        assert_eq!(t.summary(), "1 of 3 files valid, 2 unreadable");
    }
}
