//! Bytes to a [`Tree`], with bounds; positions are byte offsets (see [`super::lines`]).

use super::chars::{
    char_name, check_attribute_separation, check_single_bom, eol, first_forbidden_char,
    is_xml_name, normalise_attr, not_a_name, unescape,
};
use super::lines::LineIndex;
use super::tree::{AttrData, Kind, NodeData, Str, Tree, NONE};
use super::{Node, Pos};
use quick_xml::events::{BytesStart, Event};
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
pub(crate) struct ParsedDocument {
    /// The XML declaration as written (`<?xml version="1.0"?>`), if any.
    pub declaration: Option<String>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    /// The root element and everything in it.
    pub tree: Tree,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
}

impl ParsedDocument {
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

/// What the reader keeps while it reads: the tree being built and, for each open element, its
/// node and its last child so far (to link the next one).
struct Builder {
    tree: Tree,
    stack: Vec<(u32, u32)>,
}

impl Builder {
    /// Link a new node as the last child of the innermost open element.
    fn push_node(&mut self, mut n: NodeData) -> u32 {
        let id = self.tree.nodes.len() as u32;
        if let Some((parent, last)) = self.stack.last_mut() {
            n.parent = *parent;
            if *last == NONE {
                self.tree.nodes[*parent as usize].first_child = id;
            } else {
                self.tree.nodes[*last as usize].next = id;
            }
            *last = id;
        }
        self.tree.nodes.push(n);
        id
    }

    /// Character data: joined to the text just before it, if any, as one text node.
    fn push_text(&mut self, s: Str, offset: usize) {
        if let Some(&(_, last)) = self.stack.last() {
            if last != NONE && self.tree.nodes[last as usize].kind == Kind::Text {
                let prev = self.tree.nodes[last as usize].name;
                let joined = format!("{}{}", self.tree.str(prev), self.tree.str(s));
                self.tree.nodes[last as usize].name = self.tree.make(joined);
                return;
            }
        }
        self.push_node(leaf(Kind::Text, s, offset));
    }
}

fn leaf(kind: Kind, s: Str, offset: usize) -> NodeData {
    NodeData {
        kind,
        parent: NONE,
        first_child: NONE,
        next: NONE,
        offset: offset as u32,
        name: s,
        first_attr: 0,
        n_attrs: 0,
    }
}

/// Read a document. Text is kept as written (unescaped); whitespace between elements is kept
/// too, so a caller may decide what is layout.
pub(crate) fn parse_document(bytes: &[u8], limits: Limits) -> Result<ParsedDocument, TreeError> {
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
    // Positions of errors: the line index is built only when there is one.
    let at = |offset: usize| LineIndex::new(text).pos(text, offset);
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
            at(off),
        ));
    }
    // The tree keeps its own copy of the text; offsets into `text` are offsets into it.
    let mut b = Builder {
        tree: Tree::new(text.into()),
        stack: Vec::new(),
    };
    let base = text.as_ptr() as usize;
    // Where a slice of `text` starts in it (the tree's copy has the same offsets).
    let off_of = |s: &[u8]| (s.as_ptr() as usize).wrapping_sub(base);
    let range_of = |s: &[u8]| {
        let o = off_of(s);
        (o <= text.len() && s.len() <= text.len() - o).then(|| Tree::range(o, s.len()))
    };
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }

    let mut declaration = None;
    let mut prolog = Vec::new();
    let mut epilog = Vec::new();
    let mut root_done = false;

    loop {
        let start = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(err(
                    TreeErrorKind::Syntax,
                    format!("malformed XML: {e}"),
                    Some("check that every element is closed and every attribute value is quoted"),
                    at(reader.error_position() as usize),
                ));
            }
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root_done && b.stack.is_empty() => {
                return Err(err(
                    TreeErrorKind::Syntax,
                    "malformed XML: more than one root element",
                    Some("a document holds exactly one <domain> or <pool>"),
                    at(start),
                ));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                if b.stack.len() + 1 > limits.max_depth {
                    return Err(err(
                        TreeErrorKind::Bound,
                        format!("elements nest deeper than the limit of {}", limits.max_depth),
                        Some("raise the bound with --max-depth if this file is genuine"),
                        at(start),
                    ));
                }
                let id = start_element(&mut b, e, text, start, limits, &range_of)?;
                if b.stack.is_empty() {
                    b.tree.root = id;
                    root_done = true;
                }
                if matches!(event, Event::Start(_)) {
                    b.stack.push((id, NONE));
                }
            }
            Event::End(_) => {
                // quick-xml checks end names and unmatched ends for us.
                if b.stack.pop().is_none() {
                    return Err(err(TreeErrorKind::Syntax, "malformed XML: unexpected end tag", None, at(start)));
                }
            }
            Event::Text(t) => {
                let raw = as_str(text, &t);
                let hint = "only the five predefined entities (&amp; &lt; &gt; &apos; &quot;) and character references are accepted";
                let s = match range_of(raw.as_bytes()) {
                    Some(r) if !raw.contains(['&', '\r']) => r,
                    _ => {
                        let v = unescape(&eol(raw), "", hint)
                            .map_err(|(kind, message, hint)| err(kind, message, Some(hint), at(start)))?;
                        b.tree.make(v)
                    }
                };
                if !b.stack.is_empty() {
                    b.push_text(s, start);
                } else if !b.tree.str(s).trim().is_empty() {
                    return Err(err(
                        TreeErrorKind::Syntax,
                        "malformed XML: text outside the root element",
                        None,
                        at(start),
                    ));
                }
            }
            Event::CData(c) => {
                if b.stack.is_empty() {
                    return Err(err(
                        TreeErrorKind::Syntax,
                        "malformed XML: CDATA outside the root element",
                        None,
                        at(start),
                    ));
                }
                let s = content(&mut b, &c, &range_of);
                b.push_text(s, start);
            }
            Event::Comment(c) => misc(&mut b, Kind::Comment, &c, start, root_done, &mut prolog, &mut epilog, &range_of),
            Event::PI(p) => misc(&mut b, Kind::Pi, &p, start, root_done, &mut prolog, &mut epilog, &range_of),
            Event::Decl(_) => {
                // XML 1.0 §2.8: the declaration, when there is one, is the very first thing
                // (after a byte order mark). libxml2 refuses one anywhere else.
                let end = reader.buffer_position() as usize;
                let decl = match text.get(start..end) {
                    Some(d) if start == 0 => d,
                    _ => {
                        return Err(err(
                            TreeErrorKind::Syntax,
                            "malformed XML: the XML declaration (<?xml …?>) is not at the start of the document",
                            Some("move <?xml …?> to the very beginning of the file, before any space, comment or line break"),
                            at(start),
                        ))
                    }
                };
                declaration = Some(eol(decl.trim()).into_owned());
            }
            Event::DocType(_) => {
                return Err(err(
                    TreeErrorKind::Entity,
                    "document type declarations (<!DOCTYPE …>) are not accepted",
                    Some("remove the DOCTYPE: libvirt XML has none, and entities are refused to rule out entity expansion attacks"),
                    at(start),
                ))
            }
            Event::Eof => break,
        }
    }
    if let Some(&(open, _)) = b.stack.last() {
        return Err(err(
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: <{}> is never closed (the input ends early)",
                b.tree.str(b.tree.nodes[open as usize].name)
            ),
            Some("the file looks truncated"),
            at(text.len()),
        ));
    }
    if !root_done {
        return Err(err(
            TreeErrorKind::Syntax,
            "malformed XML: no root element",
            Some("the file is empty or holds only comments"),
            at(text.len()),
        ));
    }
    drop(reader);
    b.tree.nodes.shrink_to_fit();
    b.tree.attrs.shrink_to_fit();
    Ok(ParsedDocument {
        declaration,
        prolog,
        tree: b.tree,
        epilog,
    })
}

/// A slice of an event as text. Events borrow from `text`, which is known to be UTF-8, so the
/// slice is found by its address (two boundary checks) rather than decoded again; anything
/// else is decoded.
fn as_str<'a>(text: &'a str, s: &'a [u8]) -> &'a str {
    let off = (s.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    match off.checked_add(s.len()).and_then(|end| text.get(off..end)) {
        Some(t) => t,
        None => std::str::from_utf8(s).unwrap_or_default(),
    }
}

/// A comment or processing instruction: a node of the tree inside the root, else part of the
/// prolog or epilog.
#[allow(clippy::too_many_arguments)]
fn misc(
    b: &mut Builder,
    kind: Kind,
    raw: &[u8],
    offset: usize,
    root_done: bool,
    prolog: &mut Vec<Node>,
    epilog: &mut Vec<Node>,
    range_of: &impl Fn(&[u8]) -> Option<Str>,
) {
    if b.stack.is_empty() {
        let s = eol(&String::from_utf8_lossy(raw)).into_owned();
        let node = if kind == Kind::Comment {
            Node::Comment(s)
        } else {
            Node::Pi(s)
        };
        if root_done {
            epilog.push(node)
        } else {
            prolog.push(node)
        }
    } else {
        let s = content(b, raw, range_of);
        b.push_node(leaf(kind, s, offset));
    }
}

/// The content of CDATA, a comment or a processing instruction, line ends handled: a range
/// of the text unless a carriage return had to go.
fn content(b: &mut Builder, raw: &[u8], range_of: &impl Fn(&[u8]) -> Option<Str>) -> Str {
    match range_of(raw) {
        Some(r) if !raw.contains(&b'\r') => r,
        _ => {
            let s = eol(&String::from_utf8_lossy(raw)).into_owned();
            b.tree.make(s)
        }
    }
}

fn start_element(
    b: &mut Builder,
    e: &BytesStart<'_>,
    text: &str,
    offset: usize,
    limits: Limits,
    range_of: &impl Fn(&[u8]) -> Option<Str>,
) -> Result<u32, TreeError> {
    let at = |o: usize| LineIndex::new(text).pos(text, o);
    let qname = e.name();
    let name_bytes = qname.as_ref();
    let name = as_str(text, name_bytes);
    if !is_xml_name(name) {
        return Err(not_a_name("an element", name, at(offset)));
    }
    check_attribute_separation(e, text, name)?;
    let first_attr = b.tree.attrs.len() as u32;
    let base = text.as_ptr() as usize;
    // Duplicates are checked below, in time linear in the number of attributes: quick-xml's
    // own check compares each attribute with every earlier one (a 2 MB element of 200,000
    // attributes took 51 s).
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err_| {
            err(
                TreeErrorKind::Syntax,
                format!("malformed attribute in <{name}>: {err_}"),
                Some("attribute values must be quoted and each attribute may appear once"),
                at(offset),
            )
        })?;
        let key = a.key.as_ref();
        // Events borrow from the input, so the key's address locates it in the source.
        let off = (key.as_ptr() as usize).wrapping_sub(base);
        let aoff = if off < text.len() { off } else { offset };
        let key_name = as_str(text, key);
        if !is_xml_name(key_name) {
            return Err(not_a_name(
                &format!("an attribute of <{name}>"),
                key_name,
                at(aoff),
            ));
        }
        let raw = as_str(text, &a.value);
        let value = match range_of(raw.as_bytes()) {
            Some(r) if !raw.contains(['&', '\r', '\t', '\n']) => r,
            _ => {
                let v = unescape(
                    &normalise_attr(raw),
                    " in attribute",
                    "only the five predefined entities and character references are accepted",
                )
                .map_err(|(kind, message, hint)| err(kind, message, Some(hint), at(aoff)))?;
                b.tree.make(v)
            }
        };
        let len = b.tree.str(value).len();
        if len > limits.max_attr_bytes {
            return Err(err(
                TreeErrorKind::Bound,
                format!(
                    "attribute {} of <{name}> is {len} bytes long, over the limit of {} bytes",
                    String::from_utf8_lossy(key),
                    limits.max_attr_bytes
                ),
                Some("raise the bound with --max-attr-bytes if this file is genuine"),
                at(aoff),
            ));
        }
        let key_str = match range_of(key) {
            Some(r) => r,
            None => b.tree.make(String::from_utf8_lossy(key)),
        };
        b.tree.attrs.push(AttrData {
            offset: aoff as u32,
            name: key_str,
            value,
        });
    }
    check_unique_attributes(&b.tree, first_attr as usize, name, &at)?;
    let name = match range_of(name_bytes) {
        Some(r) => r,
        None => b.tree.make(name),
    };
    let n_attrs = b.tree.attrs.len() as u32 - first_attr;
    Ok(b.push_node(NodeData {
        kind: Kind::Element,
        parent: NONE,
        first_child: NONE,
        next: NONE,
        offset: offset as u32,
        name,
        first_attr,
        n_attrs,
    }))
}

/// XML 1.0 §3.1 (well-formedness constraint "Unique Att Spec"): an attribute appears at most
/// once in an element, as libxml2 requires ("Attribute x redefined"). A few attributes are
/// compared pairwise; many go through a set, so the check stays linear.
fn check_unique_attributes(
    tree: &Tree,
    first: usize,
    element: &str,
    at: &impl Fn(usize) -> Pos,
) -> Result<(), TreeError> {
    let attrs = &tree.attrs[first..];
    let dup = if attrs.len() <= 16 {
        (1..attrs.len()).find(|&i| {
            let n = tree.str(attrs[i].name);
            attrs[..i].iter().any(|a| tree.str(a.name) == n)
        })
    } else {
        let mut seen = std::collections::HashSet::with_capacity(attrs.len());
        (0..attrs.len()).find(|&i| !seen.insert(tree.str(attrs[i].name)))
    };
    match dup {
        None => Ok(()),
        Some(i) => Err(err(
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: attribute {} appears twice in <{element}>",
                crate::diag::quote(tree.str(attrs[i].name))
            ),
            Some("an attribute may be given once per element; remove one of them"),
            at(attrs[i].offset as usize),
        )),
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
