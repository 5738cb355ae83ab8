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
