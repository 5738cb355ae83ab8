//! Turning a validated domain into a QEMU command line, the way libvirt's QEMU driver builds
//! it (`qemuBuildCommandLine` and the functions named on each builder), so a user can read
//! domxml's output against libvirt's line by line.
//!
//! Conversion is a pure function of three inputs: the domain, what its host devices resolved to
//! ([`ResolvedDomain`], from [`crate::resolve()`] or [`crate::resolve::offline`]) and the
//! [`Options`] (the target QEMU's [`Caps`], directories). It runs in two stages, as libvirt's
//! does: an address plan assigns every PCI/CCW/drive address and every alias once, then one
//! builder per device family writes its arguments. Everything goes through [`QemuArgs`],
//! which escapes as it goes.
//!
//! ```
//! use domxml::emit::{convert, Options};
//! let parsed = domxml::codec::parse_str("<domain type='qemu'><name>g</name><devices>\
//!   <controller type='scsi' index='0' model='virtio-scsi'/>\
//!   <disk type='file' device='disk'><source file='/tmp/a.img'/><target dev='sda' bus='scsi'/></disk>\
//!   </devices></domain>").unwrap();
//! let domxml::model::Definition::Domain(d) = &parsed.definition else { unreachable!() };
//! let out = convert(d, &domxml::resolve::offline(d), &Options::default()).unwrap();
//! assert!(out.args.argv().iter().any(|a| a.contains(r#""driver":"scsi-hd""#)));
//! ```

mod args;
mod build;
mod caps;
mod error;
mod plan;
mod shell;

pub use args::QemuArgs;
pub(crate) use args::{escape_keyval, Props, Val};
pub use caps::{Caps, QemuVersion};
pub use error::EmitError;
pub use shell::{parse_shell, shell_quote, to_argv_json, to_shell, write_shell, ShellError};

use crate::model::Domain;
use crate::resolve::ResolvedDomain;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How to convert.
///
/// ```
/// use std::path::Path;
/// let opts = domxml::Options::default();
/// assert_eq!(opts.caps.version, domxml::QemuVersion::DEFAULT);
/// assert_eq!(opts.secrets_dir, Path::new("/etc/domxml/secrets"));
/// assert!(opts.run_dir.is_none() && !opts.check_secrets);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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

impl Options {
    /// Options for a QEMU release, everything else default.
    ///
    /// ```
    /// use domxml::emit::{Options, QemuVersion};
    /// let opts = Options::for_qemu(QemuVersion::new(4, 1));
    /// assert!(!opts.caps.blockdev()); // QEMU 4.1 gets legacy -drive
    /// ```
    pub fn for_qemu(version: QemuVersion) -> Self {
        Options {
            caps: Caps::of(version),
            ..Options::default()
        }
    }

    /// Set the target QEMU's capabilities.
    ///
    /// ```
    /// use domxml::{codes, Caps, Options};
    /// let mut caps = Caps::default();
    /// caps.without.insert("lsi".into()); // a QEMU built without the LSI adapter
    /// let opts = Options::default().caps(caps);
    /// let xml = "<domain type='qemu'><devices><controller type='scsi' model='lsilogic'/></devices></domain>";
    /// assert_eq!(domxml::convert_str(xml, &opts).unwrap_err().diagnostics()[0].code, codes::E101);
    /// ```
    pub fn caps(mut self, caps: Caps) -> Self {
        self.caps = caps;
        self
    }

    /// Set the runtime directory.
    ///
    /// ```
    /// let opts = domxml::Options::default().run_dir("/tmp/vm1");
    /// let c = domxml::convert_str("<domain type='qemu'><name>g</name></domain>", &opts).unwrap();
    /// assert!(c.args.argv().iter().any(|a| a.contains("path=/tmp/vm1/monitor.sock")));
    /// ```
    pub fn run_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.run_dir = Some(dir.into());
        self
    }

    /// Set where secret files are read from.
    ///
    /// ```
    /// let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/domains/disk-lun-iscsi-network-auth.xml"));
    /// let opts = domxml::Options::default().secrets_dir("/srv/secrets");
    /// let c = domxml::convert_str(xml, &opts).unwrap();
    /// assert!(c.args.argv().iter().any(|a| a.contains("/srv/secrets/libvirtiscsi")));
    /// ```
    pub fn secrets_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.secrets_dir = dir.into();
        self
    }

    /// Fail when a secret file does not exist.
    ///
    /// ```
    /// let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/domains/disk-lun-iscsi-network-auth.xml"));
    /// let opts = domxml::Options::default().secrets_dir("/nonexistent").check_secrets(true);
    /// let err = domxml::convert_str(xml, &opts).unwrap_err();
    /// assert_eq!(err.diagnostics()[0].code, domxml::codes::E110);
    /// ```
    pub fn check_secrets(mut self, check: bool) -> Self {
        self.check_secrets = check;
        self
    }
}

/// A device domxml does not emit (it still takes its PCI slot, so the others land where
/// libvirt puts them), or a whole-host controller emitted empty.
///
/// ```
/// let c = domxml::convert_str("<domain type='qemu'><name>g</name><devices>\
///   <interface type='user'/></devices></domain>", &Default::default()).unwrap();
/// assert_eq!(c.notes[0].path, "/domain/devices/interface");
/// assert_eq!(c.notes[0].to_string(), format!("{}: {}", c.notes[0].path, c.notes[0].message));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The element path of the device.
    pub path: String,
    /// What happened to it.
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A converted domain: the command line and notes for the user.
///
/// ```
/// let c = domxml::convert_str("<domain type='qemu'><name>g</name></domain>", &Default::default()).unwrap();
/// assert_eq!(c.args.argv()[0], "/usr/bin/qemu-system-x86_64");
/// assert!(c.notes.is_empty() && c.host_warnings.is_empty());
/// let json = serde_json::to_value(&c).unwrap(); // args serialize as the argv array
/// assert_eq!(json["args"][0], "/usr/bin/qemu-system-x86_64");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Converted {
    /// The command line.
    pub args: QemuArgs,
    /// Devices that were not emitted, and whole-host controllers emitted empty.
    pub notes: Vec<Note>,
    /// What the host scan skipped or left incomplete (unreadable entries, hostile names).
    pub host_warnings: Vec<String>,
}

impl Converted {
    /// The `--format shell` text with the notes as trailing comments (`# note: …`), which is
    /// what a snapshot test should compare: a device that stops being emitted shows up as a
    /// changed note, not as a silently shorter command line.
    ///
    /// ```
    /// let c = domxml::convert_str("<domain type='qemu'><name>g</name><devices>\
    ///   <interface type='user'/></devices></domain>", &Default::default()).unwrap();
    /// assert!(c.snapshot().ends_with("# note: /domain/devices/interface: <interface> is not emitted by domxml\n"));
    /// ```
    pub fn snapshot(&self) -> String {
        let mut out = to_shell(&self.args);
        for n in &self.notes {
            out.push_str(&format!("# note: {n}\n"));
        }
        out
    }
}

/// Convert a validated domain whose host devices are resolved.
///
/// Validation is the caller's job ([`crate::check`] does it for a document); a domain that does
/// not validate may still convert, or fail with a less helpful error. Thousands of disks or
/// hostdevs are built on up to one scoped thread per core, joined before this returns; the
/// result is the same as on one thread.
///
/// ```
/// let checked = domxml::check_str("<domain type='qemu'><name>g</name></domain>");
/// assert!(checked.is_valid(false));
/// let d = checked.domain().unwrap();
/// let out = domxml::convert(d, &domxml::resolve::offline(d), &Default::default()).unwrap();
/// assert!(out.args.argv().iter().any(|a| a == "guest=g,debug-threads=on"));
/// ```
pub fn convert(
    domain: &Domain,
    resolved: &ResolvedDomain,
    opts: &Options,
) -> Result<Converted, EmitError> {
    let plan = plan::plan(domain, &opts.caps)?;
    build::build(&build::Cx {
        d: domain,
        plan: &plan,
        opts,
        resolved,
    })
}
