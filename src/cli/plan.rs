//! `domxml plan`: what `apply` would change, offline (`--current FILE`) or against libvirt
//! (`--connect URI`, feature `libvirt`).

use super::input::{eprint_diagnostics, read_input};
use super::resolve::scan_sysfs;
use domxml::apply::plan::{diff, Side, Targets};
use domxml::apply::render;
use domxml::resolve::ResolvedDomain;
use domxml::xml::Limits;
use domxml::Domain;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output formats of `plan` and `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PlanFormat {
    /// Terraform's layout: one line per device change with its reasons, then the libvirt
    /// calls in order.
    Human,
    /// One JSON object, see `schemas/plan.schema.json`.
    Json,
}

/// Where the domain is changed: `--live`, `--config`, both, or libvirt's choice.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct TargetArgs {
    /// Change the running domain (VIR_DOMAIN_AFFECT_LIVE).
    #[arg(long)]
    pub live: bool,
    /// Change the persistent definition (VIR_DOMAIN_AFFECT_CONFIG).
    #[arg(long)]
    pub config: bool,
}

impl TargetArgs {
    /// The targets asked for, or `default` when neither flag is given.
    pub fn or(self, default: Targets) -> Targets {
        if self.live || self.config {
            Targets {
                live: self.live,
                config: self.config,
            }
        } else {
            default
        }
    }
}

/// A domain definition read and validated; on failure the diagnostics are printed and the
/// exit code returned (1 invalid, 2 unreadable).
pub(crate) fn read_domain(path: &Path, limits: Limits) -> Result<Domain, ExitCode> {
    let bytes = read_input(path, limits.max_bytes).map_err(|e| {
        eprintln!("domxml: {e}");
        ExitCode::from(2)
    })?;
    let name = path.display().to_string();
    let checked = domxml::check(&bytes, limits);
    if !checked.is_valid(false) {
        let errors: Vec<_> = checked.errors().cloned().collect();
        eprint_diagnostics(&name, &bytes, &errors);
        eprintln!("domxml: {name} is invalid; nothing was planned");
        return Err(ExitCode::from(1));
    }
    match checked.domain() {
        Some(d) => Ok(d.clone()),
        None => {
            eprintln!("domxml: {name} is not a <domain> definition");
            Err(ExitCode::from(1))
        }
    }
}

/// Resolve a domain against a scanned host (for hostdev identities by wwid).
pub(crate) fn resolve_on(
    d: &Domain,
    idx: Option<&domxml::resolve::Index>,
) -> Option<ResolvedDomain> {
    let def = domxml::Definition::Domain(Box::new(d.clone()));
    idx.map(|i| domxml::resolve::resolve_with_index(&def, i))
}

/// Print a plan in a format.
pub(crate) fn print_plan(plan: &domxml::apply::Plan, desired: &str, format: PlanFormat) -> bool {
    let text = match format {
        PlanFormat::Human => render::human(plan, desired),
        PlanFormat::Json => format!("{:#}\n", render::to_json(plan)),
    };
    std::io::stdout().lock().write_all(text.as_bytes()).is_ok()
}

/// `domxml plan --current CURRENT DESIRED`.
pub(crate) fn offline(
    current: &Path,
    desired: &Path,
    targets: TargetArgs,
    sysfs_root: Option<&PathBuf>,
    format: PlanFormat,
    limits: Limits,
) -> ExitCode {
    let (c, d) = match (read_domain(current, limits), read_domain(desired, limits)) {
        (Ok(c), Ok(d)) => (c, d),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let idx = match sysfs_root.map(|r| scan_sysfs(r)) {
        Some(Ok(i)) => Some(i),
        Some(Err(code)) => return code,
        None => None,
    };
    let (rc, rd) = (resolve_on(&c, idx.as_ref()), resolve_on(&d, idx.as_ref()));
    let plan = diff(
        Side {
            domain: &c,
            resolved: rc.as_ref(),
            ids: None,
        },
        Side {
            domain: &d,
            resolved: rd.as_ref(),
            ids: None,
        },
        targets.or(Targets::BOTH),
    );
    match plan {
        Ok(p) => {
            if print_plan(&p, &desired.display().to_string(), format) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("domxml: {e}");
            ExitCode::from(1)
        }
    }
}

/// `domxml plan --connect URI DESIRED`: the plan against what libvirt has.
pub(crate) fn online(
    connect: &[String],
    desired: &Path,
    targets: TargetArgs,
    sysfs_root: Option<&PathBuf>,
    format: PlanFormat,
    limits: Limits,
) -> ExitCode {
    let a = super::apply::ApplyArgs {
        connect: connect.to_vec(),
        hosts: None,
        jobs: 4,
        targets,
        start: false,
        yes: true,
        sysfs_root: sysfs_root.cloned(),
        format,
        desired: desired.to_path_buf(),
    };
    super::apply::run(&a, limits, true)
}
