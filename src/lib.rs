//! domxml reads libvirt-style domain and storage-pool XML into a typed model, validates it
//! with libvirt's SCSI rules (and some libvirt lacks), and formats it canonically.
//!
//! The pipeline: `XML --parse--> model --validate--> checked model --resolve(sysfs)-->
//! resolved devices --emit--> QEMU argv | libvirt calls`. [`emit`] turns a validated domain
//! into the QEMU command line libvirt would build; host SCSI LUs are looked up through
//! [`emit::LuLookup`].
//!
//! ```
//! let xml = "<domain type='qemu'><name>g</name><devices>\
//!   <controller type='scsi' index='0' model='lsilogic'/>\
//!   <disk type='file' device='disk'><source file='/tmp/a.img'/>\
//!   <target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>\
//!   </devices></domain>";
//! let parsed = domxml::codec::parse_str(xml).unwrap();
//! let report = domxml::validate::validate(&parsed.definition);
//! assert_eq!(report[0].code.as_str(), "E011"); // lsilogic takes target 0 only
//! ```

pub mod assign;
pub mod codec;
pub mod diag;
pub mod emit;
pub mod input;
pub mod model;
pub mod report;
pub mod resolve;
pub mod validate;
pub mod xml;

use diag::{Diagnostic, Severity};

/// The outcome of checking one document: every diagnostic (parse errors, warnings and
/// validation errors), located, in source order.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The parsed document, when it parsed.
    pub parsed: Option<codec::Parsed>,
    /// Every diagnostic, errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when nothing is an error. With `strict`, warnings count as errors.
    pub fn is_valid(&self, strict: bool) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.is_error() || (strict && d.severity == Severity::Warning))
    }
}

/// Resolve the host devices of a checked document (SCSI hostdevs, lun disks on `/dev/sdX`,
/// whole-host controllers, a scsi pool's adapter) through a sysfs index, adding an error
/// `E092` at the element of each one that does not resolve. Runs only on a document without
/// errors: an incomplete `<source>` is already reported by the validator, and resolving it
/// would say the same thing twice.
///
/// This is what `domxml validate --sysfs-root DIR` adds: a definition checked against the
/// host it is meant for (or a `domxml sysfs-snapshot` of it), with located errors.
pub fn check_host(checked: &mut Checked, idx: &resolve::Index) {
    if !checked.is_valid(false) {
        return;
    }
    let Some(parsed) = &checked.parsed else {
        return;
    };
    let rep = resolve::report::resolve_definition(&parsed.definition, idx);
    let mut seen = std::collections::HashSet::new();
    for row in &rep.rows {
        if row.status != resolve::report::Status::Error
            || !seen.insert((row.path.clone(), row.message.clone()))
        {
            continue;
        }
        let mut d = Diagnostic::new(
            diag::codes::E092,
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
    checked
        .diagnostics
        .sort_by_key(|d| (d.pos.map(|p| p.offset).unwrap_or(usize::MAX), d.code));
}

/// Parse and validate one document.
pub fn check(bytes: &[u8], limits: xml::Limits) -> Checked {
    match codec::parse_bytes(bytes, limits) {
        Err(diagnostics) => Checked {
            parsed: None,
            diagnostics,
        },
        Ok(parsed) => {
            let mut diagnostics = parsed.warnings.clone();
            for mut d in validate::validate(&parsed.definition) {
                d.locate(&parsed.source_map);
                diagnostics.push(d);
            }
            diagnostics.sort_by_key(|d| (d.pos.map(|p| p.offset).unwrap_or(usize::MAX), d.code));
            Checked {
                parsed: Some(parsed),
                diagnostics,
            }
        }
    }
}
