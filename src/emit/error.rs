//! [`EmitError`]: why a valid domain still cannot become a command line.
//!
//! Every emit failure is a located [`Diagnostic`] with a stable `E1xx` code (listed in
//! `docs/error-codes.md`), so a CI job reports it exactly like a validation error: code,
//! element path, line and column when the domain came from a document, and what to do.

use crate::diag::{Code, Diagnostic};
use std::fmt;

/// A domain that validates but cannot be emitted for this QEMU: the device (by element path),
/// a stable code, what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EmitError(Box<Diagnostic>);

impl EmitError {
    /// An error at an element path (`/domain/devices/hostdev[2]`, `/domain`).
    pub(crate) fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        EmitError(Box::new(Diagnostic::new(code, path, message)))
    }

    /// Attach what to do.
    pub(crate) fn with_hint(mut self, h: impl Into<String>) -> Self {
        self.0.hint = Some(h.into());
        self
    }

    /// Fill in the line and column from the document the domain came from.
    pub(crate) fn locate_in(&mut self, tree: &crate::xml::Tree<'_>) {
        self.0.locate_in(tree);
    }

    /// The stable code (`E120` …).
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// The element path of the device.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The diagnostic, to report with the validator's (positions are filled in when the domain
    /// came from a parsed document).
    pub fn diagnostic(&self) -> &Diagnostic {
        &self.0
    }

    /// Take the diagnostic out.
    pub fn into_diagnostic(self) -> Diagnostic {
        *self.0
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.0.path, self.0.message, self.0.code)?;
        if let Some(h) = &self.0.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EmitError {}

impl From<EmitError> for Diagnostic {
    fn from(e: EmitError) -> Self {
        e.into_diagnostic()
    }
}
