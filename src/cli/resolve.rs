//! `domxml resolve` and `domxml sysfs-snapshot`.

use super::input::read_and_parse;
use domxml::resolve::error::chain;
use domxml::resolve::{report::Report, Index, SysfsRoot};
use domxml::xml::Limits;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Output formats of `domxml resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ResolveFormat {
    /// A table, one row per device or LU, messages under failed rows.
    Human,
    /// One JSON object, see `schemas/resolve-report.schema.json`.
    Json,
}

/// Scan the sysfs under `root` once; on failure print why and give exit status 2.
pub(crate) fn scan_sysfs(root: &Path) -> Result<Index, ExitCode> {
    SysfsRoot::at(root)
        .and_then(|r| Index::scan(&r))
        .map_err(|e| {
            eprintln!("domxml: {}", chain(&e));
            ExitCode::from(2)
        })
}

pub(crate) fn run(
    sysfs_root: &Path,
    format: ResolveFormat,
    path: &Path,
    limits: Limits,
) -> ExitCode {
    let (_, name, parsed) = match read_and_parse(path, limits, "resolved") {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Targeted: only what the definition names is read (see `domxml::resolve::resolve`).
    let resolved =
        SysfsRoot::at(sysfs_root).and_then(|r| domxml::resolve::resolve(&parsed.definition, &r));
    let rep = match resolved {
        Ok(r) => Report::of(&r),
        Err(e) => {
            eprintln!("domxml: {}", chain(&e));
            return ExitCode::from(2);
        }
    };
    let root_shown = sysfs_root.display().to_string();
    let text = match format {
        ResolveFormat::Human => domxml::resolve::report::human(&name, &root_shown, &rep),
        ResolveFormat::Json => rep.to_json(&name, &root_shown),
    };
    if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if rep.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn sysfs_snapshot(root: &Path, out: &Path) -> ExitCode {
    let src = match SysfsRoot::at(root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("domxml: {}", chain(&e));
            return ExitCode::from(2);
        }
    };
    match domxml::resolve::snapshot::snapshot(&src, out) {
        Ok(st) => {
            st.warnings
                .iter()
                .for_each(|w| eprintln!("domxml: warning: {w}"));
            println!(
                "recorded {} SCSI hosts and {} LUs from {} into {} ({} directories, {} files, {} links)",
                st.hosts,
                st.lus,
                root.display(),
                out.display(),
                st.dirs,
                st.files,
                st.links
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domxml: {}", chain(&e));
            ExitCode::from(2)
        }
    }
}
