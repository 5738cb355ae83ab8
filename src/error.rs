//! [`Error`]: what the root functions return, one variant per stage, each wrapping that
//! stage's own error type so `?` works across layers and a caller can still match the stage.

use crate::diag::Diagnostic;
use crate::emit::EmitError;
use crate::resolve::ResolveError;
use std::fmt;

/// Every error diagnostic of a document that does not parse or does not validate, located.
///
/// ```
/// use domxml::{Disk, Domain};
/// let twice = Domain::builder("vm1").disk(Disk::file("/a.img", "vda")).disk(Disk::file("/b.img", "vda"));
/// let ds: domxml::Diagnostics = twice.build().unwrap_err();
/// assert_eq!(ds.len(), ds.0.len()); // derefs to the slice of diagnostics
/// assert!(ds.to_string().starts_with("the document is invalid (1 error)\nE022 /domain/devices/disk[2]"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the document is invalid ({n} error{})",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.0 {
            write!(f, "\n{} {}: {}", d.code, d.path, d.message)?;
            if let Some(p) = d.pos {
                write!(f, " (line {}, column {})", p.line, p.column)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl std::ops::Deref for Diagnostics {
    type Target = [Diagnostic];
    fn deref(&self) -> &[Diagnostic] {
        &self.0
    }
}

/// Why a root function failed.
///
/// ```
/// use domxml::Error;
/// let opts = domxml::Options::default();
/// let bad = domxml::convert_str("<domain type='qemu'><name>g</domain>", &opts).unwrap_err();
/// assert!(matches!(bad, Error::Invalid(_))); // not well-formed
/// let xen = domxml::convert_str("<domain type='xen'><name>g</name></domain>", &opts).unwrap_err();
/// assert!(matches!(xen, Error::Emit(_))); // valid, but not for QEMU
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document does not parse or does not validate: every error, located.
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
    /// The domain is valid but cannot become a command line for this QEMU, or one of its host
    /// devices does not resolve: a located diagnostic with an `E1xx` code.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The host (its sysfs) cannot be read at all.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

impl Error {
    /// The diagnostics of the error, when it has located ones (invalid documents and emit
    /// errors).
    ///
    /// ```
    /// let err = domxml::convert_str("<domain type='xen'><name>g</name></domain>", &Default::default()).unwrap_err();
    /// let ds = err.diagnostics();
    /// assert_eq!((ds.len(), ds[0].code, ds[0].path.as_str()), (1, domxml::codes::E100, "/domain"));
    /// assert_eq!(ds[0].pos.unwrap().line, 1); // located in the document
    /// ```
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            Error::Invalid(ds) => ds.0.iter().collect(),
            Error::Emit(e) => vec![e.diagnostic()],
            Error::Resolve(_) => Vec::new(),
        }
    }
}
