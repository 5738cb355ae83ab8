//! Rendering diagnostics for people (source line and caret), for tools (JSON, see
//! `schemas/validate-report.schema.json`) and for GitHub Actions (workflow annotations).

use crate::diag::{Diagnostic, Severity};
#[cfg(feature = "fancy")]
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
#[cfg(feature = "fancy")]
use std::fmt;

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

#[cfg(feature = "fancy")]
struct Rendered<'a> {
    d: &'a Diagnostic,
    src: NamedSource<std::sync::Arc<String>>,
    span: Option<SourceSpan>,
}

#[cfg(feature = "fancy")]
impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}
#[cfg(feature = "fancy")]
impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
#[cfg(feature = "fancy")]
impl std::error::Error for Rendered<'_> {}

#[cfg(feature = "fancy")]
impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.d.is_error() {
            miette::Severity::Error
        } else {
            miette::Severity::Warning
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut h = String::new();
        if !self.d.path.is_empty() {
            h.push_str(&format!("at {}", self.d.path));
        }
        if let Some(hint) = &self.d.hint {
            if !h.is_empty() {
                h.push('\n');
            }
            h.push_str(hint);
        }
        (!h.is_empty()).then(|| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span.map(|_| &self.src as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".to_string()),
            span,
        ))))
    }
}

#[cfg(feature = "fancy")]
/// The length of the token at `offset` (an element or attribute name), for the caret.
fn token_len(src: &str, offset: usize) -> usize {
    let rest = match src.get(offset..) {
        Some(r) => r,
        None => return 0,
    };
    let mut n = 0;
    for (i, c) in rest.char_indices() {
        if i > 0 && (c.is_whitespace() || "=>/".contains(c)) {
            break;
        }
        n = i + c.len_utf8();
        if i > 200 {
            break;
        }
    }
    n.max(1)
}

#[cfg(feature = "fancy")]
/// Render diagnostics for a person. `color` turns ANSI styling on.
pub fn human(file: &str, src: &str, diags: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    let mut out = String::new();
    // One shared copy of the source for every diagnostic: a file with many findings must not
    // cost a copy of itself per finding.
    let shared = std::sync::Arc::new(src.to_string());
    for d in diags {
        let span = d
            .pos
            .filter(|p| p.offset <= src.len())
            .map(|p| SourceSpan::from((p.offset, token_len(src, p.offset))));
        let r = Rendered {
            d,
            src: NamedSource::new(file, shared.clone()),
            span,
        };
        if let (Some(p), None) = (d.pos, span) {
            out.push_str(&format!("{file}:{}:{}\n", p.line, p.column));
        }
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    out
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
