//! Diagnostics rendered for a person (feature `fancy`): the offending source line with a
//! caret, the message, the element path and the hint.

use crate::diag::{Diagnostic, MESSAGE_MAX};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

/// Characters of a source line a snippet shows, at most.
pub const SNIPPET_WIDTH: usize = 160;
/// Of which before the offending column, at most.
const SNIPPET_LEAD: usize = 60;
/// How far (in bytes) a line's start or end is looked for around the offending offset; a
/// neighbouring line further away than that is not shown as context.
const SNIPPET_SCAN: usize = 4096;

/// What a snippet shows: a window of at most [`SNIPPET_WIDTH`] characters of the offending line
/// (and of the lines around it, at the same columns), with `…` where it is cut and control
/// characters shown as their Unicode pictures (␛, ␀) — never the whole line, however long, and
/// never a raw escape sequence.
struct Window {
    name: String,
    /// The window's lines joined by `\n`.
    text: String,
    /// 0-based line number of the first line of `text`.
    first_line: usize,
    /// The label, in `text`.
    label: SourceSpan,
    /// The real 0-based line and column (in characters) of the offending offset.
    line: usize,
    column: usize,
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if before == 0 && after == 0 {
            // The primary label alone: its real position, for the `[file:line:col]` header.
            let data = self
                .text
                .as_bytes()
                .get(span.offset()..span.offset() + span.len())
                .ok_or(MietteError::OutOfBounds)?;
            return Ok(Box::new(MietteSpanContents::new_named(
                self.name.clone(),
                data,
                *span,
                self.line,
                self.column,
                1,
            )));
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            SourceSpan::new(0.into(), self.text.len()),
            self.first_line,
            0,
            self.text.lines().count(),
        )))
    }
}

/// A character as a snippet shows it: control characters as their pictures, tabs as a space
/// (one character each, so columns stay put).
fn shown_char(c: char) -> char {
    match c {
        '\t' => ' ',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() => '\u{fffd}',
        c => c,
    }
}

/// A printed text (message, path) bounded to [`MESSAGE_MAX`] characters, control characters
/// but newlines shown as pictures.
fn shown_text(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MESSAGE_MAX)
        .map(|c| if c == '\n' { c } else { shown_char(c) })
        .collect();
    if s.chars().nth(MESSAGE_MAX).is_some() {
        out.push('…');
    }
    out
}

/// Start of the line holding `at`, if it is within [`SNIPPET_SCAN`] bytes.
fn line_start(src: &str, at: usize) -> Option<usize> {
    let lo = at.saturating_sub(SNIPPET_SCAN);
    match src.as_bytes()[lo..at].iter().rposition(|&b| b == b'\n') {
        Some(i) => Some(lo + i + 1),
        None if lo == 0 => Some(0),
        None => None,
    }
}

/// End (the `\n` or the end of the source) of the line holding `at`, if within the scan.
fn line_end(src: &str, at: usize) -> Option<usize> {
    let hi = (at + SNIPPET_SCAN).min(src.len());
    match src.as_bytes()[at..hi].iter().position(|&b| b == b'\n') {
        Some(i) => Some(at + i),
        None if hi == src.len() => Some(hi),
        None => None,
    }
}

/// Characters `skip..skip + SNIPPET_WIDTH` of the line starting at `start`, as shown.
fn clip_line(src: &str, start: usize, skip: usize) -> String {
    let mut out = String::new();
    if skip > 0 {
        out.push('…');
    }
    let mut chars = src[start..].chars().take_while(|&c| c != '\n').skip(skip);
    for c in chars.by_ref().take(SNIPPET_WIDTH) {
        out.push(shown_char(c));
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

fn window(file: &str, src: &str, pos: crate::xml::Pos) -> Window {
    let mut at = pos.offset.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let column = (pos.column as usize).saturating_sub(1);
    let line = (pos.line as usize).saturating_sub(1);
    // The offending line: whole when it is short, else from up to SNIPPET_LEAD characters
    // before the offset.
    let short = match (line_start(src, at), line_end(src, at)) {
        (Some(s), Some(e)) => src[s..e].chars().count() <= SNIPPET_WIDTH,
        _ => false,
    };
    let ws = match line_start(src, at) {
        Some(s) if short => s,
        _ => src[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| *c != '\n')
            .take(SNIPPET_LEAD)
            .last()
            .map_or(at, |(i, _)| i),
    };
    let skip = column.saturating_sub(src[ws..at].chars().count());
    let mut text = String::new();
    let mut first_line = line;
    // The line before, at the same columns, when its start is near.
    if let Some(cur) = line_start(src, at) {
        if cur > 0 {
            if let Some(prev) = line_start(src, cur - 1) {
                text.push_str(&clip_line(src, prev, skip));
                text.push('\n');
                first_line = first_line.saturating_sub(1);
            }
        }
    }
    if skip > 0 {
        text.push('…');
    }
    text.extend(src[ws..at].chars().map(shown_char));
    let shown_before = src[ws..at].chars().count();
    // The offending token is underlined as far as the window shows it.
    let label_start = text.len();
    let mut label_end = label_start;
    let tlen = token_len(src, at);
    let mut consumed = 0usize;
    let mut rest = src[at..].chars().take_while(|&c| c != '\n');
    for c in rest.by_ref().take(SNIPPET_WIDTH - shown_before) {
        text.push(shown_char(c));
        if consumed < tlen {
            consumed += c.len_utf8();
            label_end = text.len();
        }
    }
    if rest.next().is_some() {
        text.push('…');
    }
    // The line after, at the same columns, when it is near.
    if let Some(end) = line_end(src, at) {
        if end < src.len() && line_end(src, end + 1).is_some() {
            text.push('\n');
            text.push_str(&clip_line(src, end + 1, skip));
        }
    }
    Window {
        name: file.to_string(),
        text,
        first_line,
        label: SourceSpan::new(label_start.into(), label_end - label_start),
        line,
        column,
    }
}

struct Rendered<'a> {
    d: &'a Diagnostic,
    src: Option<Window>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}
impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown_text(&self.d.message))
    }
}
impl std::error::Error for Rendered<'_> {}

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
            h.push_str(&format!("at {}", shown_text(&self.d.path)));
        }
        if let Some(hint) = &self.d.hint {
            if !h.is_empty() {
                h.push('\n');
            }
            h.push_str(&shown_text(hint));
        }
        (!h.is_empty()).then(|| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|w| w as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.src.as_ref()?.label;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".to_string()),
            span,
        ))))
    }
}

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
    // Each diagnostic gets a small window of the source around its position, not the source:
    // a one-line 64 MiB file must not be echoed per finding.
    for d in diags {
        let src_window = d
            .pos
            .filter(|p| p.offset <= src.len())
            .map(|p| window(file, src, p));
        if let (Some(p), None) = (d.pos, &src_window) {
            out.push_str(&format!("{file}:{}:{}\n", p.line, p.column));
        }
        let r = Rendered { d, src: src_window };
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    out
}
