//! The lifecycle manager's vocabulary: resources, requests, attachment states and errors.

use super::super::backend::BackendError;
use super::super::key::{key_of, DeviceKey};
use super::super::plan::Targets;
use super::super::slots::SlotAddr;
use crate::model::Device;
use std::collections::BTreeSet;
use std::time::Duration;

/// Reservation id.
pub type ReservationId = u64;
/// Attachment id.
pub type AttachmentId = u64;

/// The host resource behind a device: what two reservations must share to share a device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Resource(pub String);

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path made canonical: the real path when it exists, else `.`, `..` and repeated `/`
/// folded lexically, so `/a/../b.img`, `/b.img` and `//b.img` are one resource.
pub fn canonical_path(p: &str) -> String {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c.to_string_lossy().into_owned();
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let s = parts.join("/");
    if p.starts_with('/') {
        format!("/{s}")
    } else {
        s
    }
}

/// The host resource of a device; `lu` is its LU's stable identity when resolved (a lun disk
/// and a hostdev of the same LU then have the same resource).
pub fn resource_of(d: &Device, lu: Option<&str>) -> Option<Resource> {
    if let Some(id) = lu {
        return Some(Resource(format!("lu {id}")));
    }
    Some(Resource(match d {
        Device::Controller(c) => format!("controller {}", c.idx()),
        Device::Disk(x) => {
            let s = x.source.as_ref();
            match (
                s.and_then(|s| s.file.as_deref()),
                s.and_then(|s| s.dev.as_deref()),
            ) {
                // Read-only media can sit in several drives; a writable image cannot.
                (Some(f), _) if x.readonly || x.shareable => {
                    format!("file {} in {}", canonical_path(f), x.dev().unwrap_or("?"))
                }
                (Some(f), _) => format!("file {}", canonical_path(f)),
                (None, Some(b)) => format!("block {}", canonical_path(b)),
                // An empty drive (a cdrom without medium) is its own resource.
                _ => format!("empty {}", x.dev().unwrap_or("?")),
            }
        }
        Device::Hostdev(_) => format!("{}", key_of(d, None, "")?.ok()?),
        _ => return None,
    }))
}

/// The settings of a device that sharers must agree on: the device as written, without its
/// guest address and alias.
pub(crate) fn settings(d: &Device) -> String {
    let mut d = d.clone();
    match &mut d {
        Device::Disk(x) => {
            x.address = None;
            x.alias = None;
            // The resource already names the source, canonically.
            if let Some(s) = x.source.as_mut() {
                s.file = None;
                s.dev = None;
            }
        }
        Device::Hostdev(h) => {
            h.address = None;
            h.alias = None;
        }
        Device::Controller(c) => {
            c.address = None;
            c.alias = None;
        }
        _ => {}
    }
    crate::codec::write_device(&d).unwrap_or_default()
}

/// What one caller asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The device to attach (without an address, one is allocated and written in).
    pub device: Device,
    /// The host resource behind it ([`resource_of`]).
    pub resource: Resource,
    /// Where to attach it.
    pub targets: Targets,
}

impl Request {
    /// A request for a device, its resource from the device as written.
    pub fn new(device: Device, targets: Targets) -> Option<Request> {
        Some(Request {
            resource: resource_of(&device, None)?,
            device,
            targets,
        })
    }
}

/// The state of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachState {
    /// Slots held, nothing sent.
    Reserved,
    /// In the domain and confirmed there.
    Attached,
    /// Is or may be in the domain but unusable (a follow-up failed, an ambiguous error, an
    /// unconfirmed detach): refuses new users; the next release detaches it.
    CleanupPending,
    /// Definitely not attached: nothing to detach; waits for its references to drain.
    AttachFailed,
    /// Detach requested, removal not yet confirmed.
    Detaching,
}

/// One guest device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// The device's identity in the domain XML.
    pub key: DeviceKey,
    /// The host resource.
    pub resource: Resource,
    /// The device as sent (with its address).
    #[serde(skip)]
    pub device: Device,
    /// Where.
    pub targets: Targets,
    /// The slots it holds.
    pub slots: Vec<SlotAddr>,
    /// State.
    pub state: AttachState,
    /// The reservations holding it.
    pub refs: BTreeSet<ReservationId>,
    /// Attach calls sent for it.
    pub attach_calls: u32,
    /// Detach calls sent for it.
    pub detach_calls: u32,
    #[serde(skip)]
    pub(crate) settings: String,
}

/// A reservation's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reserved, not attached.
    Reserved,
    /// Its attachment is attached.
    Active,
    /// Release started; its reference is already dropped.
    Releasing,
}

#[derive(Debug, Clone)]
pub(crate) struct Reservation {
    pub(crate) attachment: AttachmentId,
    pub(crate) phase: Phase,
}

/// Timing of detach confirmation.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How long a detach waits for the device to leave the domain.
    pub detach_deadline: Duration,
    /// How often it looks.
    pub poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            detach_deadline: Duration::from_secs(10),
            poll: Duration::from_millis(20),
        }
    }
}

/// Why a reservation was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReserveError {
    /// The device is one the domain already had (pinned): it is never attached again.
    #[error("{key} is already in the domain (it was there before); it is not attached again")]
    Pinned {
        /// The device.
        key: DeviceKey,
    },
    /// The slot is held by another device.
    #[error("{slot} is held by {by}; detach that device first or choose another address")]
    SlotTaken {
        /// The slot.
        slot: SlotAddr,
        /// Who holds it.
        by: String,
    },
    /// The resource is attached with other settings, or as another kind of device.
    #[error("{resource} is already reserved as {existing} with other settings; one host resource is one guest device")]
    Conflict {
        /// The resource.
        resource: Resource,
        /// The existing device.
        existing: DeviceKey,
    },
    /// The resource's device is being cleaned up or detached.
    #[error("{resource} is {state:?}: release it until the cleanup finishes, then reserve again")]
    Busy {
        /// The resource.
        resource: Resource,
        /// Its attachment's state.
        state: AttachState,
    },
    /// No free drive address on the domain's SCSI controllers.
    #[error("no free drive address for {key} on the domain's SCSI controllers; add a controller")]
    NoFreeSlot {
        /// The device.
        key: DeviceKey,
    },
    /// The device is not one the manager handles or lacks an identity.
    #[error("{0}")]
    Unmanaged(String),
}

/// Why an attach failed. The caller must release the reservation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// No such reservation.
    #[error("reservation {0} is unknown (released already?)")]
    Unknown(ReservationId),
    /// The attachment needs a release before anything else.
    #[error("{key} is {state:?} after an earlier failure; release it first")]
    ReleaseFirst {
        /// The device.
        key: DeviceKey,
        /// Its state.
        state: AttachState,
    },
    /// The backend refused or failed.
    #[error("attaching {key} failed: {source}; release the reservation, then retry")]
    Backend {
        /// The device.
        key: DeviceKey,
        /// The error.
        #[source]
        source: BackendError,
    },
    /// The call succeeded but the device could not be confirmed in the domain.
    #[error(
        "{key} was attached but is not confirmed in the domain ({what}); release it to clean up"
    )]
    FollowUp {
        /// The device.
        key: DeviceKey,
        /// What failed.
        what: String,
    },
}

/// Why a release has not finished. Call it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// No such reservation; after an earlier `Ok` this means it is done.
    #[error("reservation {0} is unknown (already released)")]
    NotFound(ReservationId),
    /// The detach failed.
    #[error("detaching {key} failed: {source}; release again to retry")]
    Backend {
        /// The device.
        key: DeviceKey,
        /// The error.
        #[source]
        source: BackendError,
    },
    /// The device did not leave the domain before the deadline.
    #[error("{key} is still in the domain {waited:?} after the detach; release again to retry")]
    NotConfirmed {
        /// The device.
        key: DeviceKey,
        /// How long we waited.
        waited: Duration,
    },
}

/// Why pinning or adopting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// The domain could not be read.
    #[error("reading the domain failed: {0}")]
    Read(#[source] BackendError),
    /// No pre-existing device with this identity.
    #[error("{0} is not a device the domain had")]
    NotPinned(DeviceKey),
}
