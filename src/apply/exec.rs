//! Carry out a [`Plan`] through a [`Lifecycle`] manager: each step reserved, attached or
//! released through the manager, retried after failures, so that a transient fault (a
//! timeout, a half-done call, a slow unplug) ends with the domain holding the desired devices
//! and the manager's table holding nothing stale.

use super::backend::{find, where_present, Backend, BackendError, ErrorClass};
use super::compare::differences;
use super::key::{key_of, DeviceKey};
use super::lifecycle::{
    resource_of, AdoptError, AttachError, Config, Lifecycle, ReleaseError, Request, ReservationId,
    ReserveError,
};
use super::plan::{Call, Plan, Targets};
use crate::model::Device;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Attempts per step (a definite refusal is retried once, then reported).
    pub attempts: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { attempts: 6 }
    }
}

/// Why a step did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The reservation was refused.
    #[error(transparent)]
    Reserve(#[from] ReserveError),
    /// The attach failed every attempt.
    #[error(transparent)]
    Attach(#[from] AttachError),
    /// The release (detach) failed every attempt; it stays pending in the manager.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The device could not be taken over for a detach.
    #[error(transparent)]
    Adopt(#[from] AdoptError),
    /// An update failed.
    #[error("updating {key} failed: {source}")]
    Update {
        /// The device.
        key: DeviceKey,
        /// The error.
        #[source]
        source: BackendError,
    },
    /// The device could not be prepared for the call (e.g. its stable adapter did not
    /// resolve on this host).
    #[error("{0}")]
    Prepare(String),
}

/// A step that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step} ({call} {key}) failed after {attempts} attempt(s): {source}")]
pub struct ExecError {
    /// 1-based step number.
    pub step: usize,
    /// The libvirt function.
    pub call: &'static str,
    /// The device.
    pub key: DeviceKey,
    /// Attempts made.
    pub attempts: u32,
    /// Why.
    #[source]
    pub source: Box<StepError>,
}

/// What each step took.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Attempts per step, in plan order.
    pub attempts: Vec<u32>,
}

/// Open a manager on a domain: pin what it has (retried on read errors).
pub fn open<B: Backend>(
    backend: B,
    cfg: Config,
    opts: Options,
) -> Result<Lifecycle<B>, AdoptError> {
    let mut m = Lifecycle::new(backend, cfg);
    let mut last = None;
    for _ in 0..opts.attempts.max(1) {
        match m.pin_existing() {
            Ok(()) => return Ok(m),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Turn a desired device into the devices sent to libvirt (a stable adapter resolved into
/// `scsi_hostN`, a whole-host controller into a controller and one hostdev per LU), with the
/// stable identity of each one's LU when known.
pub type Prepare<'a> = dyn FnMut(&Device) -> Result<Vec<(Device, Option<String>)>, String> + 'a;

/// Every device as it is.
pub fn as_written(d: &Device) -> Result<Vec<(Device, Option<String>)>, String> {
    Ok(vec![(d.clone(), None)])
}

/// Carry out the plan.
pub fn execute<B: Backend>(
    plan: &Plan,
    mgr: &mut Lifecycle<B>,
    opts: Options,
    prepare: &mut Prepare<'_>,
) -> Result<Report, ExecError> {
    let mut report = Report::default();
    for (i, op) in plan.ops.iter().enumerate() {
        let mut attempts = 0;
        let r = match op.call {
            Call::Attach => prepare(&op.device)
                .map_err(StepError::Prepare)
                .and_then(|devs| {
                    devs.into_iter().try_for_each(|(d, lu)| {
                        attach_one(mgr, d, lu, op.targets, opts, &mut attempts)
                    })
                }),
            Call::Detach => detach_one(mgr, &op.device, op.targets, opts, &mut attempts),
            Call::Update => prepare(&op.device)
                .map_err(StepError::Prepare)
                .and_then(|devs| {
                    devs.into_iter()
                        .try_for_each(|(d, _)| update_one(mgr, &d, op.targets, opts, &mut attempts))
                }),
        };
        if let Err(source) = r {
            return Err(ExecError {
                step: i + 1,
                call: op.call.function(),
                key: op.key.clone(),
                attempts,
                source: Box::new(source),
            });
        }
        report.attempts.push(attempts);
    }
    Ok(report)
}

/// Release until done (a release that errs keeps its place and resumes).
fn release_all_the_way<B: Backend>(
    mgr: &mut Lifecycle<B>,
    id: ReservationId,
    opts: Options,
    attempts: &mut u32,
) -> Result<(), ReleaseError> {
    let mut last = None;
    let mut unconfirmed = 0;
    for _ in 0..opts.attempts {
        *attempts += 1;
        match mgr.release(id) {
            Ok(()) | Err(ReleaseError::NotFound(_)) => return Ok(()),
            // A removal the guest has not acknowledged in two deadlines (a PCI unplug needs
            // the guest OS) will not be hurried by more waiting here: report it; the
            // reservation stays pending for a later retry.
            Err(e @ ReleaseError::NotConfirmed { .. }) => {
                unconfirmed += 1;
                last = Some(e);
                if unconfirmed >= 2 {
                    break;
                }
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

fn attach_one<B: Backend>(
    mgr: &mut Lifecycle<B>,
    device: Device,
    lu: Option<String>,
    targets: Targets,
    opts: Options,
    attempts: &mut u32,
) -> Result<(), StepError> {
    let resource = resource_of(&device, lu.as_deref())
        .ok_or_else(|| StepError::Prepare("not a managed device".into()))?;
    let mut definite = 0;
    let mut last: Option<StepError> = None;
    for _ in 0..opts.attempts {
        *attempts += 1;
        let req = Request {
            device: device.clone(),
            resource: resource.clone(),
            targets,
        };
        let id = match mgr.reserve(req) {
            Ok(id) => id,
            Err(ReserveError::Busy { .. }) => {
                // An earlier attempt left a cleanup: finish it, then try again.
                mgr.retry_releases();
                last = Some(StepError::Prepare(
                    "an earlier attempt is still being cleaned up".into(),
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match mgr.attach(id) {
            Ok(_) => return Ok(()),
            Err(e) => {
                let is_definite = matches!(&e, AttachError::Backend { source, .. } if source.class == ErrorClass::Definite);
                release_all_the_way(mgr, id, opts, attempts)?;
                if is_definite {
                    definite += 1;
                    if definite >= 2 {
                        return Err(e.into());
                    }
                }
                last = Some(e.into());
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

/// The identity of a device the plan manages (detach and update act only on those).
fn managed_key(device: &Device) -> Result<DeviceKey, StepError> {
    match key_of(device, None, "") {
        Some(Ok(k)) => Ok(k),
        _ => Err(StepError::Prepare("not a managed device".into())),
    }
}

fn detach_one<B: Backend>(
    mgr: &mut Lifecycle<B>,
    device: &Device,
    targets: Targets,
    opts: Options,
    attempts: &mut u32,
) -> Result<(), StepError> {
    let key = managed_key(device)?;
    let id = match mgr.adopt(&key, targets) {
        Ok(id) => id,
        Err(AdoptError::NotPinned(k)) => {
            *attempts += 1;
            // Not there to begin with (or detached by an earlier run): nothing to do.
            let there = where_present(mgr.backend(), &k, targets);
            if there.is_some_and(|t| !t.live && !t.config) {
                return Ok(());
            }
            return Err(AdoptError::NotPinned(k).into());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(release_all_the_way(mgr, id, opts, attempts)?)
}

fn update_one<B: Backend>(
    mgr: &mut Lifecycle<B>,
    device: &Device,
    targets: Targets,
    opts: Options,
    attempts: &mut u32,
) -> Result<(), StepError> {
    let key = managed_key(device)?;
    let xml = crate::codec::write_device(device).unwrap_or_default();
    let want = crate::codec::device_element(device);
    let mut last = None;
    for _ in 0..opts.attempts {
        *attempts += 1;
        // Only where the medium is not yet the desired one (a half-done update).
        let mut todo = Targets::default();
        let mut unknown = false;
        for live in [true, false] {
            if (live && !targets.live) || (!live && !targets.config) {
                continue;
            }
            match mgr.backend().read(live) {
                Ok(d) => {
                    let have = find(&d, &key).and_then(|x| crate::codec::device_element(&x));
                    let done = matches!((&have, &want), (Some(h), Some(w)) if differences(h, w).is_empty());
                    if !done {
                        if live {
                            todo.live = true;
                        } else {
                            todo.config = true;
                        }
                    }
                }
                Err(_) => unknown = true,
            }
        }
        if unknown {
            continue;
        }
        if !todo.live && !todo.config {
            return Ok(());
        }
        if let Err(e) = mgr.backend().update(&xml, todo) {
            if e.class == ErrorClass::Definite && last.is_some() {
                return Err(StepError::Update { key, source: e });
            }
            last = Some(e);
        }
    }
    Err(StepError::Update {
        key,
        source: last.unwrap_or_else(|| BackendError::ambiguous("the domain could not be read")),
    })
}
