//! One domain on one libvirt host, start to finish (feature `libvirt`): read what the domain
//! has, resolve the desired definition's stable adapters, plan, and carry the plan out
//! through the lifecycle manager, or define (and start) a domain that does not exist.

use super::exec::{self, as_written, ExecError, Options};
use super::libvirt::{Connection, LibvirtDomain, LibvirtError};
use super::lifecycle::{AdoptError, Config};
use super::plan::{diff, diff_both, Plan, PlanError, Side, Targets};
use super::stable::{
    identities, metadata_body, realize, records, with_metadata, RealizeError, Realized,
};
use crate::model::Domain;
use crate::resolve::{Index, ResolveError, SysfsRoot};
use std::path::{Path, PathBuf};

/// What to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    /// Where to change the domain; `None`: live and config when it runs, config otherwise.
    pub targets: Option<Targets>,
    /// Start the domain afterwards (a new one, or one that is shut off).
    pub start: bool,
}

/// Why a host was not brought to the desired definition.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnlineError {
    /// libvirt refused or failed.
    #[error(transparent)]
    Libvirt(#[from] LibvirtError),
    /// A stable adapter did not resolve.
    #[error(transparent)]
    Realize(#[from] RealizeError),
    /// No plan could be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The domain could not be read to pin what it has.
    #[error("domain '{domain}': {source}")]
    Open {
        /// The domain.
        domain: String,
        /// Why.
        #[source]
        source: AdoptError,
    },
    /// A step failed.
    #[error("domain '{domain}': {source}")]
    Step {
        /// The domain.
        domain: String,
        /// Why.
        #[source]
        source: ExecError,
    },
    /// The definition names no domain.
    #[error("the desired definition has no <name>; add one")]
    NoName,
    /// The sysfs root could not be read.
    #[error(transparent)]
    Sysfs(#[from] ResolveError),
    /// The host's SCSI topology changed between the plan and the calls.
    #[error("the SCSI hosts of this machine changed since the plan was made ({what}); nothing was changed: plan again")]
    HostChanged {
        /// What differs.
        what: String,
    },
    /// `--live` for a domain that is not running.
    #[error("domain '{0}' is not running: --live has nothing to change; use --config, or --start")]
    NotRunning(String),
}

/// A plan ready to be carried out on one host.
pub struct Prepared {
    /// The connection.
    pub conn: Connection,
    /// The domain, when it exists.
    pub dom: Option<LibvirtDomain>,
    /// The desired definition as libvirt will get it.
    pub realized: Realized,
    /// The plan (for a new domain: every managed device, to be defined rather than attached).
    pub plan: Plan,
    /// The domain does not exist: it is defined.
    pub define: bool,
    /// It will be started.
    pub start: bool,
    /// Where the changes go.
    pub targets: Targets,
    had_metadata: bool,
    desired: Domain,
    sysfs_root: Option<PathBuf>,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// Nothing to do.
    Unchanged,
    /// The plan was carried out.
    Changed,
    /// The domain was defined.
    Defined,
}

/// The sysfs under `root`, scanned, when the definition needs it (stable adapters,
/// whole-host controllers) or a root was given.
fn scan(desired: &Domain, root: Option<&Path>) -> Result<Option<Index>, ResolveError> {
    if root.is_none() && !crate::resolve::needs_host(desired) {
        return Ok(None);
    }
    let root = SysfsRoot::at(root.unwrap_or(Path::new("/")))?;
    Index::scan(&root).map(Some)
}

/// Connect, read the domain, resolve the desired definition's stable adapters through the
/// sysfs under `sysfs_root` (`None`: `/` when it has any) and plan.
pub fn prepare(
    uri: Option<&str>,
    desired: &Domain,
    sysfs_root: Option<&Path>,
    want: Want,
) -> Result<Prepared, OnlineError> {
    let name = desired.name.clone().ok_or(OnlineError::NoName)?;
    let sysfs = scan(desired, sysfs_root)?;
    let realized = realize(desired, sysfs.as_ref())?;
    let conn = Connection::open(uri)?;
    let dom = conn.domain(&name)?;
    let desired_side = Side {
        domain: &realized.domain,
        resolved: None,
        ids: Some(&realized.ids),
    };
    let Some(dom) = dom else {
        let mut empty = Domain::new(desired.kind);
        empty.name = Some(name);
        let plan = diff(&empty, desired_side, Targets::CONFIG)?;
        return Ok(Prepared {
            conn,
            dom: None,
            realized,
            plan,
            define: true,
            start: want.start,
            targets: Targets::CONFIG,
            had_metadata: false,
            desired: desired.clone(),
            sysfs_root: sysfs_root.map(Path::to_path_buf),
        });
    };
    let running = dom.running()?;
    let targets = want.targets.unwrap_or(if running {
        Targets::BOTH
    } else {
        Targets::CONFIG
    });
    if targets.live && !running {
        return Err(OnlineError::NotRunning(name));
    }
    let live = if targets.live {
        Some(dom.definition(true)?)
    } else {
        None
    };
    let config = dom.definition(false)?;
    let (live_ids, config_ids) = (live.as_ref().map(identities), identities(&config));
    let had_metadata =
        !records(&config).is_empty() || live.as_ref().is_some_and(|l| !records(l).is_empty());
    let plan = diff_both(
        live.as_ref().map(|d| Side {
            domain: d,
            resolved: None,
            ids: live_ids.as_ref(),
        }),
        targets.config.then_some(Side {
            domain: &config,
            resolved: None,
            ids: Some(&config_ids),
        }),
        desired_side,
    )?;
    Ok(Prepared {
        conn,
        dom: Some(dom),
        realized,
        plan,
        define: false,
        start: want.start && !running,
        targets,
        had_metadata,
        desired: desired.clone(),
        sysfs_root: sysfs_root.map(Path::to_path_buf),
    })
}

impl Prepared {
    /// True when nothing will change.
    pub fn is_noop(&self) -> bool {
        !self.define && !self.start && self.plan.is_empty()
    }

    /// Resolve the stable adapters again, right before the calls: a host renumbered since
    /// the plan (e.g. while the user read it) stops the run before anything changes.
    fn recheck(&self) -> Result<(), OnlineError> {
        if self.realized.records.is_empty() {
            return Ok(());
        }
        let sysfs = scan(&self.desired, self.sysfs_root.as_deref())?;
        let now = realize(&self.desired, sysfs.as_ref())?;
        if now.domain != self.realized.domain {
            let what = now
                .records
                .iter()
                .zip(&self.realized.records)
                .find(|(a, b)| a.realized != b.realized)
                .map(|(a, b)| format!("{} was {}", a.realized, b.realized))
                .unwrap_or_else(|| "the resolved devices differ".into());
            return Err(OnlineError::HostChanged { what });
        }
        Ok(())
    }

    /// Carry it out. Stable adapters are resolved again first.
    pub fn execute(self, cfg: Config, opts: Options) -> Result<Done, OnlineError> {
        let name = self.plan.domain.clone();
        self.recheck()?;
        if self.define {
            let d = with_metadata(&self.realized.domain, &self.realized.records);
            let dom = self.conn.define(&name, &crate::codec::write_domain(&d))?;
            if self.start {
                dom.start()?;
            }
            return Ok(Done::Defined);
        }
        let dom = self.dom.expect("an existing domain");
        if self.plan.is_empty() && !self.start {
            return Ok(Done::Unchanged);
        }
        let mut mgr = exec::open(dom, cfg, opts).map_err(|source| OnlineError::Open {
            domain: name.clone(),
            source,
        })?;
        exec::execute(&self.plan, &mut mgr, opts, &mut as_written).map_err(|source| {
            OnlineError::Step {
                domain: name.clone(),
                source,
            }
        })?;
        let dom = mgr.backend();
        if !self.realized.records.is_empty() || self.had_metadata {
            dom.set_metadata(&metadata_body(&self.realized.records), self.targets)?;
        }
        if self.start {
            dom.start()?;
        }
        Ok(if self.plan.is_empty() {
            Done::Unchanged
        } else {
            Done::Changed
        })
    }
}
