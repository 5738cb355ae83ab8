//! Turning a validated domain into a QEMU command line, the way libvirt's QEMU driver builds
//! it (`qemuBuildCommandLine` and the functions named on each item below), so a user can read
//! domxml's output against libvirt's line by line.
//!
//! The emitter is a pure function of the domain, the target QEMU's [`Caps`] and a [`LuLookup`]
//! for the host facts it needs (which `/dev/sgN` serves a SCSI hostdev; which LUs a whole-host
//! passthrough controller gives the guest). Everything it
//! writes goes through [`QemuArgs`], which escapes as it goes.
//!
//! ```
//! use domxml::emit::{convert_str, FixedSg, Options};
//! let xml = "<domain type='qemu'><name>g</name><memory>65536</memory><devices>\
//!   <controller type='scsi' index='0' model='virtio-scsi'/>\
//!   <disk type='file' device='disk'><source file='/tmp/a.img'/><target dev='sda' bus='scsi'/></disk>\
//!   </devices></domain>";
//! let out = convert_str(xml, &Options::default(), &FixedSg).unwrap();
//! assert!(out.args.argv().iter().any(|a| a.contains(r#""driver":"scsi-hd""#)));
//! ```

pub mod args;
pub mod caps;
mod devices;
pub mod lookup;
pub mod pci;
pub mod shell;
pub mod snapshot;

pub use args::{escape_keyval, Props, QemuArgs, Val};
pub use caps::{Caps, QemuVersion};
pub use lookup::{FixedSg, HostLookup, HostLu, LuLookup, SysfsSg};
pub use shell::{parse_shell, shell_quote, to_argv_json, to_shell};

use crate::diag::Diagnostic;
use crate::model::{Definition, Domain};
use std::fmt;
use std::path::PathBuf;

/// How to convert.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target QEMU.
    pub caps: Caps,
    /// The domain's runtime directory (QMP socket, managed pr-helper socket). Default
    /// `/run/domxml/NAME`.
    pub run_dir: Option<PathBuf>,
    /// Where `-object secret` files are read from: `DIR/<secret uuid or usage>`.
    pub secrets_dir: PathBuf,
    /// Fail when a secret file does not exist.
    pub check_secrets: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            caps: Caps::default(),
            run_dir: None,
            secrets_dir: PathBuf::from("/etc/domxml/secrets"),
            check_secrets: false,
        }
    }
}

/// Why a valid domain still cannot be turned into a command line: the device, a stable code,
/// what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitError {
    /// The device (`/domain/devices/hostdev[2]` or an alias), or `domain`.
    pub device: String,
    /// A stable code: `virtio-lun`, `controller-scsi-default-unavailable`, `host-lookup`,
    /// `duplicate-lu`, `address-conflict`, `secret-missing`, `unsupported`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl EmitError {
    fn new(device: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        EmitError {
            device: device.into(),
            code,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.device, self.message, self.code)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EmitError {}

/// A converted domain: the command line and notes for the user (devices that were not
/// emitted, whole-host controllers whose adapter has no LU).
#[derive(Debug, Clone)]
pub struct Converted {
    /// The command line.
    pub args: QemuArgs,
    /// Devices domxml does not emit (they still take their PCI slot, so the others land where
    /// libvirt puts them), and whole-host controllers emitted empty.
    pub notes: Vec<String>,
}

/// Why a document could not be converted.
#[derive(Debug, Clone)]
pub enum ConvertError {
    /// The document does not parse or is invalid: every error diagnostic.
    Invalid(Vec<Diagnostic>),
    /// The domain is valid but cannot be emitted (or a host device cannot be resolved).
    Emit(EmitError),
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::Invalid(ds) => {
                for d in ds {
                    writeln!(f, "{} {}: {}", d.code, d.path, d.message)?;
                }
                Ok(())
            }
            ConvertError::Emit(e) => write!(f, "{e}"),
        }
    }
}

/// Convert a validated domain.
pub fn convert(
    domain: &Domain,
    opts: &Options,
    lookup: &dyn LuLookup,
) -> Result<Converted, EmitError> {
    devices::build(domain, opts, lookup)
}

/// Parse, validate and convert a document.
pub fn convert_bytes(
    bytes: &[u8],
    limits: crate::xml::Limits,
    opts: &Options,
    lookup: &dyn LuLookup,
) -> Result<Converted, ConvertError> {
    let checked = crate::check(bytes, limits);
    if !checked.is_valid(false) {
        return Err(ConvertError::Invalid(
            checked
                .diagnostics
                .into_iter()
                .filter(Diagnostic::is_error)
                .collect(),
        ));
    }
    let Some(parsed) = checked.parsed else {
        return Err(ConvertError::Invalid(Vec::new()));
    };
    match &parsed.definition {
        Definition::Domain(d) => convert(d, opts, lookup).map_err(ConvertError::Emit),
        Definition::Pool(_) => Err(ConvertError::Emit(
            EmitError::new(
                "pool",
                "unsupported",
                "a storage pool has no QEMU command line",
            )
            .hint("pass a <domain> definition"),
        )),
    }
}

/// Parse, validate and convert a string.
pub fn convert_str(
    xml: &str,
    opts: &Options,
    lookup: &dyn LuLookup,
) -> Result<Converted, ConvertError> {
    convert_bytes(xml.as_bytes(), crate::xml::Limits::default(), opts, lookup)
}

/// The `--format shell` text of a domain, for snapshot tests in users' crates
/// (`insta::assert_snapshot!(domxml::emit::shell_snapshot(&xml, &opts)?)`). SCSI hostdevs
/// resolve to `/dev/sg0` ([`FixedSg`]), so snapshots do not depend on the machine.
pub fn shell_snapshot(xml: &str, opts: &Options) -> Result<String, String> {
    convert_str(xml, opts, &FixedSg)
        .map(|c| to_shell(&c.args))
        .map_err(|e| e.to_string())
}

/// Like [`shell_snapshot`], but host devices are resolved through the sysfs tree under `root`
/// (a directory containing `sys/`, e.g. one written by `domxml sysfs-snapshot` and committed
/// beside the domain), so whole-host passthrough controllers, whose devices depend on the
/// host, can be snapshotted too.
///
/// ```
/// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35");
/// let xml = "<domain type='qemu'><name>g</name><memory>65536</memory><devices>\
///   <controller type='scsi' index='0' model='virtio-scsi'><source>\
///   <adapter name='scsi_host9'/><address type='scsi' bus='0' target='1'/></source></controller>\
///   </devices></domain>";
/// let text = domxml::emit::shell_snapshot_with_sysfs(xml, &Default::default(), root).unwrap();
/// assert!(text.contains(r#""driver":"scsi-block","drive":"lu-0-1-0""#));
/// ```
pub fn shell_snapshot_with_sysfs(
    xml: &str,
    opts: &Options,
    root: impl Into<PathBuf>,
) -> Result<String, String> {
    convert_str(xml, opts, &HostLookup::new(root))
        .map(|c| to_shell(&c.args))
        .map_err(|e| e.to_string())
}
