//! domxml reads libvirt-style domain and storage-pool XML into a typed model, validates it
//! with libvirt's SCSI rules (and some libvirt lacks), resolves its SCSI host devices through
//! sysfs, and turns it into the QEMU command line libvirt would build.
//!
//! The pipeline, and the root function for each step:
//!
//! ```text
//! XML --check--> model + located diagnostics --resolve(sysfs)--> ResolvedDomain --convert--> QEMU argv
//! ```
//!
//! * [`check_str`] / [`check`]: parse and validate; every [`Diagnostic`] has a stable
//!   [`Code`], an element path, a line and a column.
//! * [`resolve()`]: what each host device names today (`hostN`, `/dev/sgN`, `/dev/sdX`), read
//!   through a [`SysfsRoot`] (`/`, or a tree recorded by `domxml sysfs-snapshot`).
//! * [`convert()`]: the command line of a checked domain and its [`ResolvedDomain`];
//!   [`convert_str`] does all three steps for a document, offline.
//!
//! Asserting on located diagnostics, as a CI test does:
//!
//! ```
//! let checked = domxml::check_str("<domain type='qemu'>\n<devices>\n\
//!   <controller type='scsi' index='0' model='lsilogic'/>\n\
//!   <disk type='file' device='disk'><source file='/tmp/a.img'/>\
//!   <target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>\n\
//!   </devices></domain>");
//! let e = checked.errors().next().unwrap();
//! assert_eq!(e.code, domxml::codes::E011); // lsilogic takes target 0 only
//! assert_eq!(e.pos.unwrap().line, 4);
//! ```
//!
//! Snapshotting a command line (notes about devices domxml does not emit are part of it):
//!
//! ```
//! let xml = "<domain type='qemu'><name>g</name><devices>\
//!   <controller type='scsi' model='virtio-scsi'/>\
//!   <disk type='block' device='lun'><source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>\
//!   </devices></domain>";
//! let text = domxml::shell_snapshot(xml, &domxml::Options::default()).unwrap();
//! assert!(text.contains(r#""driver":"scsi-block""#));
//! ```
//!
//! Building a model in code and writing it back:
//!
//! ```
//! use domxml::{Controller, Disk, Domain};
//! let domain = Domain::builder("vm1")
//!     .controller(Controller::virtio_scsi(0))
//!     .disk(Disk::lun("/dev/sdb", "sda"))
//!     .build()
//!     .unwrap();
//! assert!(domxml::write_domain(&domain).contains("<disk type='block' device='lun'>"));
//! ```

pub mod apply;
pub mod assign;
mod builder;
pub mod codec;
mod controller_index;
mod decimal;
pub mod diag;
pub mod emit;
mod error;
pub mod input;
pub mod model;
mod par;
pub mod report;
pub mod resolve;
pub mod snapshot;
pub mod validate;
pub mod xml;

/// Internal paths the fuzz targets compare with each other; built only with `--cfg fuzzing`
/// (`cargo fuzz`, scripts/fuzz.sh), so not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_hooks {
    /// Whether `bytes` reads the same (the whole tree, or the error) in one pass and with
    /// `<devices>` read in about `pieces` pieces.
    pub fn split_agrees(bytes: &[u8], limits: crate::Limits, pieces: usize) -> bool {
        crate::xml::split_agrees(bytes, limits, pieces)
    }
}

pub use builder::{BuildError, DomainBuilder};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
pub use diag::{codes, Code, Diagnostic, Severity};
pub use emit::{convert, Caps, Converted, EmitError, Note, Options, QemuArgs, QemuVersion};
pub use error::{Diagnostics, Error};
pub use model::{
    Adapter, Controller, ControllerModel, ControllerType, Definition, Device, DeviceAddress, Disk,
    DiskBus, DiskDevice, DiskType, Domain, DomainType, DriveAddress, Hostdev, HostdevType, Pool,
    ScsiModel,
};
pub use resolve::{resolve, ResolveError, ResolvedDomain, SysfsRoot};
pub use xml::Limits;

use std::path::Path;

/// The outcome of checking one document: the model when it parsed, and every diagnostic
/// (parse errors, warnings and validation errors), located, in source order.
///
/// ```
/// let ok = domxml::check_str("<domain type='qemu'><name>g</name></domain>");
/// assert!(ok.parsed.is_some() && ok.diagnostics.is_empty());
/// let broken = domxml::check_str("<domain type='qemu'><name>g</domain>");
/// assert!(broken.parsed.is_none());
/// assert_eq!(broken.diagnostics[0].code, domxml::codes::E001);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Checked {
    /// The parsed document, when it parsed.
    pub parsed: Option<codec::Parsed>,
    /// Every diagnostic, errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when nothing is an error. With `strict`, warnings count as errors.
    ///
    /// ```
    /// let c = domxml::check_str("<domain type='qemu' color='red'><name>g</name></domain>");
    /// assert!(c.is_valid(false)); // an unknown attribute is only a warning
    /// assert!(!c.is_valid(true));
    /// ```
    pub fn is_valid(&self, strict: bool) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.is_error() || (strict && d.severity == Severity::Warning))
    }

    /// The errors.
    ///
    /// ```
    /// let c = domxml::check_str("<domain type='qemu'><devices>\
    ///   <disk type='file'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>\
    ///   <disk type='file'><source file='/b.img'/><target dev='vda' bus='virtio'/></disk>\
    ///   </devices></domain>");
    /// let codes: Vec<_> = c.errors().map(|d| d.code).collect();
    /// assert_eq!(codes, [domxml::codes::E022]); // two disks named vda
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings.
    ///
    /// ```
    /// let c = domxml::check_str("<domain type='qemu' color='red'><name>g</name></domain>");
    /// let w = c.warnings().next().unwrap();
    /// assert_eq!((w.code, w.severity), (domxml::codes::W002, domxml::Severity::Warning));
    /// assert_eq!(c.errors().count(), 0);
    /// ```
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// The domain, when the document parsed and is a domain.
    ///
    /// ```
    /// let c = domxml::check_str("<domain type='kvm'><name>g</name></domain>");
    /// assert_eq!(c.domain().unwrap().kind, domxml::DomainType::Kvm);
    /// let pool = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pools/pool-scsi-adapter-name.xml"));
    /// assert!(domxml::check_str(pool).domain().is_none()); // parsed, but a pool
    /// ```
    pub fn domain(&self) -> Option<&Domain> {
        match &self.parsed.as_ref()?.definition {
            Definition::Domain(d) => Some(d),
            Definition::Pool(_) => None,
        }
    }

    /// `--strict`: every warning becomes an error.
    ///
    /// ```
    /// let c = domxml::check_str("<domain type='qemu'><bogus/></domain>");
    /// assert!(c.is_valid(false));
    /// assert!(!c.strict().is_valid(false));
    /// ```
    pub fn strict(mut self) -> Checked {
        for d in &mut self.diagnostics {
            d.severity = Severity::Error;
        }
        self
    }

    /// The error diagnostics, or the domain (moved out, not copied) and the source map when
    /// there are none.
    fn into_domain(self) -> Result<(Box<Domain>, xml::SourceMap), Error> {
        if !self.is_valid(false) {
            return Err(Diagnostics(
                self.diagnostics
                    .into_iter()
                    .filter(Diagnostic::is_error)
                    .collect(),
            )
            .into());
        }
        let Some(parsed) = self.parsed else {
            return Err(Diagnostics(Vec::new()).into());
        };
        match parsed.definition {
            Definition::Domain(d) => Ok((d, parsed.source_map)),
            Definition::Pool(_) => Err(EmitError::new(
                codes::E100,
                "/pool",
                "a storage pool has no QEMU command line",
            )
            .with_hint("pass a <domain> definition")
            .into()),
        }
    }

    fn sort(&mut self) {
        self.diagnostics
            .sort_by_key(|d| (d.pos.map(|p| p.offset).unwrap_or(usize::MAX), d.code));
    }
}

/// Parse and validate one document.
///
/// ```
/// let xml = b"<domain type='qemu'><name>g</name></domain>";
/// assert!(domxml::check(xml, domxml::Limits::default()).is_valid(true));
/// let tight = domxml::Limits { max_bytes: 16, ..Default::default() };
/// let c = domxml::check(xml, tight);
/// assert_eq!(c.errors().next().unwrap().code, domxml::codes::E006); // over the size bound
/// ```
pub fn check(bytes: &[u8], limits: Limits) -> Checked {
    let (checked, tree) = check_lent(bytes, limits);
    let Some(tree) = tree else {
        return checked;
    };
    let parsed = checked
        .parsed
        .map(|parsed| codec::Lent { parsed, tree }.kept());
    Checked { parsed, ..checked }
}

/// [`check`], with the document's tree still reading `bytes` beside a [`Checked`] whose
/// source map is empty: for a caller that needs no source map afterwards, without the copy of
/// the text a source map keeps.
fn check_lent(bytes: &[u8], limits: Limits) -> (Checked, Option<xml::Tree<'_>>) {
    match codec::parse_lent(bytes, limits) {
        Err(diagnostics) => (
            Checked {
                parsed: None,
                diagnostics,
            },
            None,
        ),
        Ok(codec::Lent { parsed, tree }) => {
            let mut diagnostics = parsed.warnings.clone();
            for mut d in validate::validate(&parsed.definition) {
                d.locate_in(&tree);
                diagnostics.push(d);
            }
            let mut c = Checked {
                parsed: Some(parsed),
                diagnostics,
            };
            c.sort();
            (c, Some(tree))
        }
    }
}

/// Parse and validate a string with default limits.
///
/// ```
/// let c = domxml::check_str("<domain type='qemu'><name>g</name></domain>");
/// assert!(c.is_valid(true));
/// assert_eq!(c.domain().unwrap().name.as_deref(), Some("g"));
/// ```
pub fn check_str(xml: &str) -> Checked {
    check(xml.as_bytes(), Limits::default())
}

/// Resolve the host devices of a checked document (SCSI hostdevs, lun disks on `/dev/sdX`,
/// whole-host controllers, a scsi pool's adapter) against a host, adding an error `E092` at the
/// element of each one that does not resolve. Runs only on a document without errors: an
/// incomplete `<source>` is already reported by the validator, and resolving it would say the
/// same thing twice.
///
/// This is what `domxml validate --sysfs-root DIR` adds: a definition checked against the
/// host it is meant for (or a `domxml sysfs-snapshot` of it), with located errors.
///
/// ```
/// let root = domxml::SysfsRoot::at(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35")).unwrap();
/// let idx = domxml::resolve::Index::scan(&root).unwrap();
/// let mut c = domxml::check_str("<domain type='qemu'><devices><hostdev mode='subsystem' type='scsi'>\
///   <source><adapter name='scsi_host42'/><address bus='0' target='0' unit='0'/></source>\
///   </hostdev></devices></domain>");
/// assert!(c.is_valid(false));
/// domxml::check_host(&mut c, &idx); // the fixture host has no scsi_host42
/// assert_eq!(c.errors().next().unwrap().code, domxml::codes::E092);
/// ```
pub fn check_host(checked: &mut Checked, idx: &resolve::Index) {
    if !checked.is_valid(false) {
        return;
    }
    let Some(parsed) = &checked.parsed else {
        return;
    };
    let resolved = resolve::resolve_with_index(&parsed.definition, idx);
    let rep = resolve::report::Report::of(&resolved);
    let mut seen = std::collections::HashSet::new();
    for row in &rep.rows {
        if row.status != resolve::report::Status::Error
            || !seen.insert((row.path.clone(), row.message.clone()))
        {
            continue;
        }
        let mut d = Diagnostic::new(
            codes::E092,
            row.path.clone(),
            format!(
                "host check failed for this {}: {}",
                row.device,
                row.message.as_deref().unwrap_or("unknown reason")
            ),
        )
        .hint("`domxml resolve --sysfs-root DIR FILE` shows what each device resolves to; fix the adapter or address, or check against the host it is meant for");
        d.locate(&parsed.source_map);
        checked.diagnostics.push(d);
    }
    checked.sort();
}

/// Where a conversion finds the host devices a domain names.
///
/// ```
/// use domxml::{convert_bytes, Host};
/// let xml = b"<domain type='qemu'><name>g</name><devices><hostdev mode='subsystem' type='scsi'>\
///   <source><adapter name='scsi_host6'/><address bus='0' target='3' unit='5'/></source>\
///   </hostdev></devices></domain>";
/// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35");
/// let argv = |host| convert_bytes(xml, Default::default(), &Default::default(), host).unwrap().args.argv().join(" ");
/// assert!(argv(Host::Offline).contains("/dev/sg0"));
/// assert!(argv(Host::Sysfs(root.as_ref())).contains("/dev/sg2")); // 6:0:3:5 in the fixture
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub enum Host<'a> {
    /// No host: every SCSI hostdev passes `/dev/sg0` (what libvirt's test suite mocks), and a
    /// whole-host controller is an error.
    #[default]
    Offline,
    /// The sysfs under this directory (one containing `sys/`: `/`, or a `domxml
    /// sysfs-snapshot`). It is read only when the domain has SCSI hostdevs or whole-host
    /// controllers.
    Sysfs(&'a Path),
}

/// Check, resolve and convert one document. Emit errors are located in the document.
///
/// ```
/// let pool = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pools/pool-scsi-adapter-name.xml"));
/// let opts = domxml::Options::default();
/// let err = domxml::convert_bytes(pool, Default::default(), &opts, domxml::Host::Offline).unwrap_err();
/// assert_eq!(err.diagnostics()[0].code, domxml::codes::E100); // a pool has no command line
/// ```
pub fn convert_bytes(
    bytes: &[u8],
    limits: Limits,
    opts: &Options,
    host: Host<'_>,
) -> Result<Converted, Error> {
    // The tree is as large as the model: it is let go before the command line is built, and
    // read again only to locate an error.
    let (checked, tree) = check_lent(bytes, limits);
    drop(tree);
    let (d, _) = checked.into_domain()?;
    let resolved = match host {
        Host::Sysfs(dir) if resolve::needs_host(&d) => {
            resolve::resolve_passthrough(&d, &SysfsRoot::at(dir)?)?
        }
        Host::Sysfs(_) => ResolvedDomain::default(),
        Host::Offline => resolve::offline(&d),
    };
    convert(&d, &resolved, opts).map_err(|mut e| {
        if let Ok(p) = codec::parse_lent(bytes, limits) {
            e.locate_in(&p.tree);
        }
        e.into()
    })
}

/// Check and convert a document offline ([`Host::Offline`]).
///
/// ```
/// let c = domxml::convert_str("<domain type='qemu'><name>g</name></domain>", &Default::default()).unwrap();
/// assert_eq!(c.args.argv()[0], "/usr/bin/qemu-system-x86_64");
/// ```
pub fn convert_str(xml: &str, opts: &Options) -> Result<Converted, Error> {
    convert_bytes(xml.as_bytes(), Limits::default(), opts, Host::Offline)
}

/// The text a snapshot test compares: the `--format shell` command line, then one `# note:`
/// line per device that is not emitted ([`Converted::snapshot`]). Offline: SCSI hostdevs pass
/// `/dev/sg0`, so the snapshot does not depend on the machine.
///
/// ```
/// let text = domxml::shell_snapshot("<domain type='qemu'><name>g</name></domain>", &Default::default()).unwrap();
/// assert!(text.starts_with("/usr/bin/qemu-system-x86_64 \\\n-name guest=g,debug-threads=on"));
/// ```
pub fn shell_snapshot(xml: &str, opts: &Options) -> Result<String, Error> {
    convert_str(xml, opts).map(|c| c.snapshot())
}

/// Like [`shell_snapshot`], with host devices resolved through the sysfs tree under `root`
/// (e.g. a `domxml sysfs-snapshot` committed beside the domain), so whole-host passthrough
/// controllers, whose devices depend on the host, can be snapshotted too.
///
/// ```
/// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35");
/// let xml = "<domain type='qemu'><name>g</name><memory>65536</memory><devices>\
///   <controller type='scsi' index='0' model='virtio-scsi'><source>\
///   <adapter name='scsi_host9'/><address type='scsi' bus='0' target='1'/></source></controller>\
///   </devices></domain>";
/// let text = domxml::shell_snapshot_with_sysfs(xml, &Default::default(), root.as_ref()).unwrap();
/// assert!(text.contains(r#""driver":"scsi-block","drive":"lu-0-1-0""#));
/// ```
pub fn shell_snapshot_with_sysfs(xml: &str, opts: &Options, root: &Path) -> Result<String, Error> {
    convert_bytes(xml.as_bytes(), Limits::default(), opts, Host::Sysfs(root)).map(|c| c.snapshot())
}

/// Write a domain as canonical XML (libvirt's layout and attribute order).
///
/// ```
/// let d = domxml::Domain::builder("g").build().unwrap();
/// assert_eq!(domxml::write_domain(&d), "<domain type='qemu'>\n  <name>g</name>\n  <devices/>\n</domain>\n");
/// ```
pub fn write_domain(d: &Domain) -> String {
    codec::write_domain(d)
}
