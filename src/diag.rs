//! Diagnostics: what every stage reports, with a stable code, a message, an element path and,
//! once attached to a source, a line and column.
//!
//! The meaning of every code is listed in `docs/error-codes.md`; codes are never renumbered.
//!
//! ```
//! let c = domxml::check_str("<domain type='qemu'><bogus/></domain>");
//! let w = c.warnings().next().unwrap();
//! assert_eq!((w.code.as_str(), w.path.as_str()), ("W001", "/domain/bogus"));
//! let pos = w.pos.unwrap();
//! assert_eq!((pos.line, pos.column), (1, 21));
//! ```

use crate::xml::{Pos, SourceMap};
use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
///
/// ```
/// use domxml::{codes, Severity};
/// assert_eq!(codes::W001.severity(), Severity::Warning);
/// assert!(Severity::Warning < Severity::Error);
/// assert_eq!(serde_json::to_string(&Severity::Error).unwrap(), r#""error""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Content domxml keeps but does not understand; an error under `--strict`.
    Warning,
    /// The document is invalid.
    Error,
}

/// A stable diagnostic code, such as `E011`. See `docs/error-codes.md`; every code is a
/// constant in [`codes`].
///
/// ```
/// let code = domxml::codes::E011;
/// assert_eq!(code.to_string(), "E011");
/// assert_eq!(serde_json::to_string(&code).unwrap(), r#""E011""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Code(pub(crate) &'static str);

impl Code {
    /// Look a code up by its text (`"E011"`), among the codes this build has.
    ///
    /// ```
    /// assert_eq!(domxml::Code::parse("E011"), Some(domxml::codes::E011));
    /// assert_eq!(domxml::Code::parse("E999"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Code> {
        codes::ALL.iter().copied().find(|c| c.0 == s)
    }

    /// The code as text.
    ///
    /// ```
    /// let code = domxml::codes::E092;
    /// assert_eq!(code.as_str(), "E092");
    /// assert_eq!(domxml::Code::parse(code.as_str()), Some(code));
    /// ```
    pub fn as_str(&self) -> &'static str {
        self.0
    }
    /// Warnings are the `W` codes.
    ///
    /// ```
    /// use domxml::{codes, Severity};
    /// assert_eq!(codes::W002.severity(), Severity::Warning);
    /// assert_eq!(codes::E001.severity(), Severity::Error);
    /// ```
    pub fn severity(&self) -> Severity {
        if self.0.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One finding. Serializes as `{code, severity, message, path, hint, pos}`, so a test can
/// snapshot diagnostics as JSON.
///
/// ```
/// let checked = domxml::check_str("<domain type='qemu'><devices><controller type='scsi' model='lsilogic'/>\
///   <disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/>\
///   <address type='drive' controller='0' bus='0' target='1' unit='0'/></disk></devices></domain>");
/// let d = checked.errors().next().unwrap();
/// assert_eq!((d.code, d.pos.unwrap().line), (domxml::codes::E011, 1));
/// let json = serde_json::to_value(d).unwrap();
/// assert_eq!(json["code"], "E011");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Warning or error.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Element path of the offending node, e.g. `/domain/devices/disk[2]/address/@target`.
    pub path: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Where in the source, when known.
    pub pos: Option<Pos>,
}

impl Diagnostic {
    /// A diagnostic at a path; its severity follows its code.
    ///
    /// ```
    /// use domxml::{codes, Diagnostic, Severity};
    /// let d = Diagnostic::new(codes::W002, "/domain/@color", "unknown attribute 'color'");
    /// assert_eq!(d.severity, Severity::Warning);
    /// assert_eq!(d.to_string(), "W002: unknown attribute 'color' (at /domain/@color)");
    /// assert!(d.hint.is_none() && d.pos.is_none());
    /// ```
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: bounded(message.into()),
            path: path.into(),
            hint: None,
            pos: None,
        }
    }

    /// Attach a hint.
    ///
    /// ```
    /// let d = domxml::Diagnostic::new(domxml::codes::W002, "/domain/@color", "unknown attribute")
    ///     .hint("remove it");
    /// assert_eq!(d.hint.as_deref(), Some("remove it"));
    /// ```
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(bounded(hint.into()));
        self
    }

    /// Attach a position.
    ///
    /// ```
    /// use domxml::{codes, xml::Pos, Diagnostic};
    /// let pos = Pos { line: 3, column: 5, offset: 41 };
    /// let d = Diagnostic::new(codes::E005, "/domain", "missing type").at(pos);
    /// assert_eq!(d.pos, Some(pos));
    /// let unknown = Diagnostic::new(codes::E005, "/domain", "missing type").at(Pos::default());
    /// assert_eq!(unknown.pos, None); // a zeroed position is not attached
    /// ```
    pub fn at(mut self, pos: Pos) -> Self {
        if pos.is_known() {
            self.pos = Some(pos);
        }
        self
    }

    /// Fill in the position from a source map when it is not known yet.
    ///
    /// ```
    /// let parsed = domxml::codec::parse_str("<domain type='qemu'>\n  <name>g</name>\n</domain>").unwrap();
    /// let mut d = domxml::Diagnostic::new(domxml::codes::E005, "/domain/name", "a message");
    /// d.locate(&parsed.source_map);
    /// let pos = d.pos.unwrap();
    /// assert_eq!((pos.line, pos.column), (2, 3));
    /// ```
    pub fn locate(&mut self, map: &SourceMap) {
        if self.pos.is_none() {
            self.pos = map.lookup(&self.path);
        }
    }

    /// [`Diagnostic::locate`] in a document's tree.
    pub(crate) fn locate_in(&mut self, tree: &crate::xml::Tree<'_>) {
        if self.pos.is_none() {
            self.pos = tree.lookup(&self.path);
        }
    }

    /// True for errors.
    ///
    /// ```
    /// use domxml::{codes, Diagnostic};
    /// assert!(Diagnostic::new(codes::E022, "/domain/devices/disk[2]", "duplicate").is_error());
    /// assert!(!Diagnostic::new(codes::W001, "/domain/bogus", "unknown element").is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at {})", self.path)?;
        }
        Ok(())
    }
}

/// The longest value a message quotes whole, in characters.
///
/// ```
/// use domxml::diag::{clip, QUOTE_MAX};
/// let fits = "a".repeat(QUOTE_MAX);
/// assert_eq!(clip(&fits), fits);
/// assert_ne!(clip(&format!("{fits}a")), format!("{fits}a"));
/// ```
pub const QUOTE_MAX: usize = 64;

fn clip_parts(value: &str) -> (String, Option<usize>) {
    let mut out = String::new();
    for (n, c) in value.chars().enumerate() {
        if n == QUOTE_MAX {
            return (out, Some(value.chars().count()));
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    (out, None)
}

/// A user's value for a message: cut to [`QUOTE_MAX`] characters with an ellipsis and the full
/// length, and with control characters shown as escapes (`\u{1b}`), so that a 64 KiB
/// attribute or a terminal escape sequence is neither echoed whole nor acted on. Short
/// printable values come back as they are.
///
/// ```
/// use domxml::diag::clip;
/// assert_eq!(clip("sda"), "sda");
/// assert_eq!(clip("\u{1b}[2J"), "\\u{1b}[2J");
/// assert_eq!(clip(&"x".repeat(100)), format!("{}… (100 characters)", "x".repeat(64)));
/// ```
pub fn clip(value: &str) -> String {
    match clip_parts(value) {
        (head, Some(n)) => format!("{head}… ({n} characters)"),
        (head, None) => head,
    }
}

/// [`clip`] in single quotes, as messages quote values: `'sda'`, `'aaaa…' (65536 characters)`.
///
/// ```
/// use domxml::diag::quote;
/// assert_eq!(quote("sda"), "'sda'");
/// assert_eq!(quote(&"x".repeat(100)), format!("'{}…' (100 characters)", "x".repeat(64)));
/// ```
pub fn quote(value: &str) -> String {
    match clip_parts(value) {
        (head, Some(n)) => format!("'{head}…' ({n} characters)"),
        (head, None) => format!("'{head}'"),
    }
}

/// The longest message or hint a diagnostic keeps, in characters: a safety net for messages
/// that pass on text from elsewhere (a host check's reason) unclipped.
///
/// ```
/// use domxml::{codes, diag::MESSAGE_MAX, Diagnostic};
/// let d = Diagnostic::new(codes::E092, "/domain", "x".repeat(5000));
/// assert_eq!(d.message.chars().count(), MESSAGE_MAX + 1); // the kept part and an ellipsis
/// assert!(d.message.ends_with('…'));
/// ```
pub const MESSAGE_MAX: usize = 1000;

fn bounded(s: String) -> String {
    match s.char_indices().nth(MESSAGE_MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Codes, by family. Kept in one place so that a code cannot be used with two meanings.
///
/// ```
/// use domxml::codes;
/// assert!(codes::ALL.contains(&codes::E011));
/// let mut texts: Vec<&str> = codes::ALL.iter().map(|c| c.as_str()).collect();
/// texts.sort();
/// texts.dedup();
/// assert_eq!(texts.len(), codes::ALL.len()); // no code twice
/// ```
pub mod codes {
    use super::Code;
    macro_rules! codes {
        ($($(#[$m:meta])* $name:ident),* $(,)?) => {
            $( $(#[$m])* pub const $name: Code = Code(stringify!($name)); )*
            /// Every code this build can emit.
            pub const ALL: &[Code] = &[$($name),*];
        };
    }
    codes! {
        /// Malformed XML.
        E001,
        /// Wrong root element.
        E002,
        /// Bad number.
        E003,
        /// Value outside a closed vocabulary.
        E004,
        /// Missing required attribute or element.
        E005,
        /// Input over the size or depth bound.
        E006,
        /// DTD or entity.
        E007,
        /// Bad UUID.
        E008,
        /// Element repeated that may appear once.
        E009,
        /// SCSI drive address bus != 0.
        E010,
        /// Target != 0 on lsilogic.
        E011,
        /// Address type does not fit the disk bus.
        E012,
        /// Unit beyond the controller model's limit.
        E013,
        /// Address beyond what QEMU accepts.
        E014,
        /// IDE/SATA/FDC drive address rule.
        E015,
        /// SCSI controller index above what a domain can hold.
        E016,
        /// Unparsable disk target name.
        E020,
        /// Partition in a disk target.
        E021,
        /// Duplicate disk target.
        E022,
        /// Two disks on one SCSI address.
        E023,
        /// Hostdev on a disk's address.
        E024,
        /// Disk name-derived address collides with a hostdev.
        E025,
        /// Two hostdevs on one address.
        E026,
        /// The same host LU twice.
        E027,
        /// Target prefix not a hard-disk prefix.
        E028,
        /// lun on a non-block source.
        E030,
        /// lun on a non-iscsi protocol.
        E031,
        /// lun with a non-raw format.
        E032,
        /// lun on a bus other than scsi/virtio.
        E033,
        /// lun with wwn/vendor/product/serial/copy_on_read.
        E034,
        /// sgio='unfiltered'.
        E035,
        /// sgio/rawio/reservations on a non-lun device.
        E036,
        /// vendor/product too long or not printable.
        E040,
        /// vendor/product on a non-scsi disk.
        E041,
        /// Bad or misplaced wwn.
        E042,
        /// Unsafe serial.
        E043,
        /// Misplaced rotation_rate.
        E044,
        /// Misplaced removable.
        E045,
        /// iothread/queues on a SCSI disk.
        E046,
        /// Source does not fit the disk type.
        E047,
        /// iothread on a non-virtio SCSI controller.
        E050,
        /// Undefined iothread id.
        E051,
        /// SCSI controller model QEMU lacks.
        E052,
        /// ncr53c90 not at index 0.
        E053,
        /// Duplicate controller index.
        E054,
        /// Controller source adapter on a non-virtio model.
        E055,
        /// virtio-scsi iothread with a non-PCI/CCW address.
        E056,
        /// virtio-only driver option on another model.
        E057,
        /// More iothreads than domxml converts.
        E059,
        /// sgio/rawio on a non-scsi hostdev.
        E060,
        /// SCSI hostdev without adapter or source address.
        E061,
        /// Bad iSCSI hostdev source.
        E062,
        /// Bad vhost-scsi source.
        E063,
        /// Boot on vhost-scsi.
        E064,
        /// model on a hostdev type without one.
        E065,
        /// Bad PCI hostdev.
        E066,
        /// Bad adapter name.
        E070,
        /// Bad flat-form parent.
        E071,
        /// Bad unique_id.
        E072,
        /// Adapter attribute combination no form allows.
        E073,
        /// Bad fc_host adapter.
        E074,
        /// Bad parentaddr.
        E075,
        /// Duplicate alias.
        E080,
        /// User alias without ua- prefix.
        E081,
        /// Same host PCI function twice.
        E082,
        /// PCI address field out of range.
        E083,
        /// Two devices on one guest PCI address.
        E084,
        /// Pool address without target.
        E090,
        /// Pool without adapter.
        E091,
        /// Host device that does not resolve under `--sysfs-root`.
        E092,
        /// Not a QEMU domain (`convert`).
        E100,
        /// SCSI controller model this QEMU lacks or this machine cannot have (`convert`).
        E101,
        /// No default SCSI controller model in this QEMU (`convert`).
        E102,
        /// PCI placement impossible: bus not emitted, no slot left (`convert`).
        E103,
        /// Device not emitted: bus, disk type or source domxml does not build (`convert`).
        E104,
        /// virtio-blk SCSI passthrough on a QEMU without it (`convert`).
        E105,
        /// Shared read-write disk on a non-raw image (`convert`).
        E106,
        /// Disk property QEMU cannot take (`convert`).
        E107,
        /// iSCSI source QEMU cannot address (`convert`).
        E108,
        /// Secret that cannot be named as a file (`convert`).
        E109,
        /// Secret file missing under `--check-secrets` (`convert`).
        E110,
        /// Unmanaged reservations without a helper socket (`convert`).
        E111,
        /// Host device that does not resolve (`convert`).
        E120,
        /// The same host LU passed twice (`convert`).
        E121,
        /// Whole-host LU on a guest address already taken (`convert`).
        E122,
        /// Whole-host LU beyond virtio-scsi's address range (`convert`).
        E123,
        /// A zPCI address on a machine without zPCI (`convert`).
        E124,
        /// A mediated device configuration libvirt refuses (`convert`).
        E125,
        /// Unknown element.
        W001,
        /// Unknown attribute.
        W002,
        /// Alias that is not a user alias.
        W003,
        /// Text where libvirt expects elements only.
        W004,
    }
}
