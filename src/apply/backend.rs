//! What the lifecycle manager needs from a hypervisor: four device calls and the domain's
//! definitions. [`crate::apply::fake::FakeDomain`] implements it in memory with scripted
//! faults; with the `libvirt` feature, `apply::libvirt::LibvirtDomain` implements it over a
//! real connection.

use super::key::{managed, DeviceKey};
use super::plan::Targets;
use crate::model::{Device, Domain};
use std::time::Duration;

/// How sure we are about what a failed call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The call did nothing (invalid XML, unsupported, address in use, …).
    Definite,
    /// The call may or may not have happened (a timeout, a lost connection): re-read the
    /// domain before deciding anything.
    Ambiguous,
    /// The device is not there (on detach: it is already gone).
    NotFound,
}

/// A failed backend call: its class, libvirt's error code when it came from libvirt, and the
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", code.map(|c| format!(" (libvirt error {c})")).unwrap_or_default())]
pub struct BackendError {
    /// How sure we are about the outcome.
    pub class: ErrorClass,
    /// libvirt's `virErrorNumber`, when the error came from libvirt.
    pub code: Option<i32>,
    /// The message.
    pub message: String,
}

impl BackendError {
    /// A definite error.
    pub fn definite(message: impl Into<String>) -> Self {
        BackendError {
            class: ErrorClass::Definite,
            code: None,
            message: message.into(),
        }
    }

    /// An ambiguous error.
    pub fn ambiguous(message: impl Into<String>) -> Self {
        BackendError {
            class: ErrorClass::Ambiguous,
            code: None,
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        BackendError {
            class: ErrorClass::NotFound,
            code: None,
            message: message.into(),
        }
    }
}

/// One domain on one hypervisor, as the lifecycle manager uses it.
pub trait Backend {
    /// `virDomainAttachDeviceFlags`.
    fn attach(&mut self, xml: &str, targets: Targets) -> Result<(), BackendError>;
    /// `virDomainDetachDeviceFlags`. A detach from a running domain may complete later: the
    /// device leaves the live definition when the guest lets it go.
    fn detach(&mut self, xml: &str, targets: Targets) -> Result<(), BackendError>;
    /// `virDomainUpdateDeviceFlags` (a removable disk's medium).
    fn update(&mut self, xml: &str, targets: Targets) -> Result<(), BackendError>;
    /// The running definition (`live`) or the persistent one.
    fn read(&mut self, live: bool) -> Result<Domain, BackendError>;
    /// Whether the domain is running.
    fn is_running(&mut self) -> Result<bool, BackendError>;
    /// Wait before polling again (the fake advances its clock instead of sleeping).
    fn pause(&mut self, d: Duration);
    /// Time since the backend was made (the fake's clock).
    fn elapsed(&self) -> Duration;
}

/// Where a device is, per target: `Some(true)` present in every target asked,
/// `Some(false)` absent from every one, `None` mixed or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// In every target.
    Present,
    /// In none.
    Absent,
    /// In some, or a definition could not be read.
    Unknown,
}

/// The device with this identity in a definition, if any.
pub fn find(d: &Domain, key: &DeviceKey) -> Option<Device> {
    managed(d, None)
        .ok()?
        .into_iter()
        .find(|m| &m.key == key)
        .map(|m| m.device)
}

/// Is the device with `key` in the definitions `targets` names?
pub fn presence<B: Backend + ?Sized>(b: &mut B, key: &DeviceKey, targets: Targets) -> Presence {
    let mut seen = Vec::new();
    for live in [true, false] {
        if (live && !targets.live) || (!live && !targets.config) {
            continue;
        }
        match b.read(live) {
            Ok(d) => seen.push(find(&d, key).is_some()),
            Err(_) => return Presence::Unknown,
        }
    }
    if seen.iter().all(|p| *p) {
        Presence::Present
    } else if seen.iter().all(|p| !*p) {
        Presence::Absent
    } else {
        Presence::Unknown
    }
}

/// The definitions among `targets` that have the device with `key`; `None` when one could
/// not be read.
pub fn where_present<B: Backend + ?Sized>(
    b: &mut B,
    key: &DeviceKey,
    targets: Targets,
) -> Option<Targets> {
    let mut out = Targets::default();
    if targets.live {
        out.live = find(&b.read(true).ok()?, key).is_some();
    }
    if targets.config {
        out.config = find(&b.read(false).ok()?, key).is_some();
    }
    Some(out)
}
