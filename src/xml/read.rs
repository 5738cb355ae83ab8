//! Bytes to a [`Tree`], with bounds; positions are byte offsets (see [`super::lines`]).

use super::build::{Builder, Part, Pause};
use super::chars::{char_name, check_single_bom, first_forbidden_char};
use super::lines::LineIndex;
use super::tree::Tree;
use super::{Node, Pos};
use quick_xml::Reader;

/// Bounds on what the reader accepts. Defaults suit any real domain definition with room to
/// spare: libvirt itself refuses documents over 10 MiB on its RPC path.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest input, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most children of `<devices>` (devices and comments).
    pub max_devices: usize,
    /// Longest attribute value, in bytes after unescaping.
    pub max_attr_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 64,
            max_devices: 1_000_000,
            max_attr_bytes: 64 * 1024,
        }
    }
}

/// Why a document could not be read as a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeErrorKind {
    /// Not well-formed XML.
    Syntax,
    /// Larger or deeper than [`Limits`] allow.
    Bound,
    /// DTDs and entity declarations are refused; undefined entities too.
    Entity,
}

/// An error reading the tree, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    /// What went wrong, broadly.
    pub kind: TreeErrorKind,
    /// A sentence saying what.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Where.
    pub pos: Pos,
}

pub(super) fn err(
    kind: TreeErrorKind,
    message: impl Into<String>,
    hint: Option<&str>,
    pos: Pos,
) -> TreeError {
    TreeError {
        kind,
        message: message.into(),
        hint: hint.map(str::to_string),
        pos,
    }
}

/// A document read into a [`Tree`]: what precedes the root (declaration, comments), the
/// root's tree, and what follows it.
#[derive(Debug)]
pub(crate) struct ParsedDocument<'s> {
    /// The XML declaration as written (`<?xml version="1.0"?>`), if any.
    pub declaration: Option<String>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    /// The root element and everything in it.
    pub tree: Tree<'s>,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
}

impl ParsedDocument<'_> {
    /// The document as an owned tree, exactly as read.
    #[cfg(test)]
    pub(crate) fn to_document(&self) -> super::Document {
        super::Document {
            declaration: self.declaration.clone(),
            prolog: self.prolog.clone(),
            root: self.tree.root().to_element_as_read(),
            epilog: self.epilog.clone(),
        }
    }
}

/// A reader of `text` as domxml configures it.
pub(super) fn reader(text: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(text);
    let cfg = reader.config_mut();
    cfg.check_end_names = true;
    cfg.check_comments = true;
    cfg.expand_empty_elements = false;
    cfg.trim_text(false);
    reader
}

/// Read a document. Text is kept as written (unescaped); whitespace between elements is kept
/// too, so a caller may decide what is layout.
pub(crate) fn parse_document(
    bytes: &[u8],
    limits: Limits,
) -> Result<ParsedDocument<'_>, TreeError> {
    parse_with(bytes, limits, super::split::Plan::for_this_machine())
}

/// [`parse_document`], `<devices>` read in pieces as `plan` says.
pub(super) fn parse_with(
    bytes: &[u8],
    limits: Limits,
    plan: super::split::Plan,
) -> Result<ParsedDocument<'_>, TreeError> {
    // Offsets are kept as 32 bits: larger documents are refused whatever the limit says.
    let max_bytes = limits.max_bytes.min(u32::MAX as usize - 1);
    if bytes.len() > max_bytes {
        return Err(err(
            TreeErrorKind::Bound,
            format!(
                "input is {} bytes, over the limit of {} bytes",
                bytes.len(),
                max_bytes
            ),
            Some("raise the bound with --max-bytes if this file is genuine"),
            Pos {
                line: 1,
                column: 1,
                offset: 0,
            },
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
            return Err(err(
                TreeErrorKind::Syntax,
                format!(
                    "input is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                Some("libvirt XML is UTF-8; convert the file (iconv) or check it is not binary"),
                LineIndex::new(valid).pos(valid, e.valid_up_to()),
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_single_bom(text)?;
    // XML 1.0 §2.2: a document is made of `Char`s only, comments and CDATA included. libxml2
    // refuses the others, so libvirt never reads them; and echoed to a terminal (a raw ESC),
    // they would act on it.
    if let Some((off, c)) = first_forbidden_char(text) {
        return Err(err(
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: character {} is not allowed in an XML document",
                char_name(c)
            ),
            Some("XML 1.0 allows no control character but tab, newline and carriage return; remove it (or check that the file is not binary)"),
            LineIndex::new(text).pos(text, off),
        ));
    }
    if plan.worth_it(text.len()) {
        // Read up to `<devices>` as one pass would; then its children in pieces, if they
        // split cleanly. Anything else, errors included, is read again in one pass, so that
        // a document reads the same, and fails with the same message, either way.
        let mut head = Builder::new(text, limits);
        // Room for the whole document: the pieces are appended to the head's arena.
        head.reserve_for(text);
        match head.pump(&mut reader(text), 0, Part::Head)? {
            Pause::Eof => return head.finish(),
            Pause::Devices(after) => {
                if let Some(doc) = super::split::read_rest(head, text, after, limits, plan) {
                    return Ok(doc);
                }
            }
        }
    }
    let mut b = Builder::new(text, limits);
    b.reserve_for(text);
    b.pump(&mut reader(text), 0, Part::Whole)?;
    b.finish()
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
