//! Rendering diagnostics for people (source line and caret), for tools (JSON, see
//! `schemas/validate-report.schema.json`) and for GitHub Actions (workflow annotations).

use crate::diag::{Diagnostic, Severity};
use serde::Serialize;

#[cfg(feature = "fancy")]
mod human;
#[cfg(feature = "fancy")]
pub use human::{human, SNIPPET_WIDTH};

/// Output formats of `domxml validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// Source line with a caret, message, path and hint.
    Human,
    /// A JSON array of `{file, line, column, path, severity, code, message, hint}`.
    Json,
    /// `::error file=…,line=…,col=…::…` workflow commands.
    Github,
}

/// One row of the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct JsonRow<'a> {
    /// File name as given (`-` for stdin).
    pub file: &'a str,
    /// 1-based line, or null.
    pub line: Option<u32>,
    /// 1-based column, or null.
    pub column: Option<u32>,
    /// Element path.
    pub path: &'a str,
    /// error | warning.
    pub severity: Severity,
    /// Stable code.
    pub code: &'a str,
    /// Message.
    pub message: &'a str,
    /// Hint, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
}

/// JSON rows for one file's diagnostics.
pub fn json_rows<'a>(file: &'a str, diags: &'a [Diagnostic]) -> Vec<JsonRow<'a>> {
    diags
        .iter()
        .map(|d| JsonRow {
            file,
            line: d.pos.map(|p| p.line),
            column: d.pos.map(|p| p.column),
            path: &d.path,
            severity: d.severity,
            code: d.code.as_str(),
            message: &d.message,
            hint: d.hint.as_deref(),
        })
        .collect()
}

/// Escape a workflow-command property or message (GitHub's rules).
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// A GitHub Actions annotation line.
pub fn github_line(file: &str, d: &Diagnostic) -> String {
    let level = if d.is_error() { "error" } else { "warning" };
    let mut props = format!("file={}", gh_escape(file, true));
    if let Some(p) = d.pos {
        props.push_str(&format!(",line={},col={}", p.line, p.column));
    }
    props.push_str(&format!(
        ",title={}",
        gh_escape(&format!("domxml {}", d.code), true)
    ));
    let mut msg = d.message.clone();
    if !d.path.is_empty() {
        msg.push_str(&format!(" (at {})", d.path));
    }
    if let Some(h) = &d.hint {
        msg.push_str(&format!("\nhelp: {h}"));
    }
    format!("::{level} {props}::{}", gh_escape(&msg, false))
}

/// One line per diagnostic, `file:line:col: severity[code]: message (at path)`; what `human`
/// prints in its header, for logs and tests.
pub fn short(file: &str, d: &Diagnostic) -> String {
    let sev = if d.is_error() { "error" } else { "warning" };
    match d.pos {
        Some(p) => format!(
            "{file}:{}:{}: {sev}[{}]: {}",
            p.line, p.column, d.code, d.message
        ),
        None => format!("{file}: {sev}[{}]: {}", d.code, d.message),
    }
}
