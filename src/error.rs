//! [`Error`]: what the root functions return, one variant per stage, each wrapping that
//! stage's own error type so `?` works across layers and a caller can still match the stage.

use crate::diag::Diagnostic;
use crate::emit::EmitError;
use crate::resolve::ResolveError;
use std::fmt;

/// Every error diagnostic of a document that does not parse or does not validate, located.
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
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            Error::Invalid(ds) => ds.0.iter().collect(),
            Error::Emit(e) => vec![e.diagnostic()],
            Error::Resolve(_) => Vec::new(),
        }
    }
}
