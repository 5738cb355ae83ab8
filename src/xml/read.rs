//! Bytes to [`Document`], with positions and bounds.

use super::{Attr, Document, Element, Node, Pos};
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

/// Converts byte offsets to line/column, counting columns in characters.
pub(crate) struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// The last position computed (line, offset, column): positions are asked for mostly in
    /// document order, so columns are counted on from there rather than from the line start,
    /// which keeps a long single-line document linear.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex {
            src,
            starts,
            last: std::cell::Cell::new((0, 0, 1)),
        }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let mut end = offset;
        while !self.src.is_char_boundary(end) {
            end -= 1;
        }
        let (last_line, last_end, last_col) = self.last.get();
        let column = if last_line == line && last_end <= end && last_end >= start {
            last_col + self.src[last_end..end].chars().count()
        } else {
            self.src[start..end].chars().count() + 1
        };
        self.last.set((line, end, column));
        Pos {
            line: line as u32 + 1,
            column: column as u32,
            offset,
        }
    }
}

/// XML 1.0 §2.2 `Char`: tab, newline, carriage return and every other character except the
/// C0 controls, the surrogates and U+FFFE/U+FFFF.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// How a character is named in a message: `U+001B`.
fn char_name(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// XML 1.0 §2.11 end-of-line handling: CR LF and a lone CR become LF. (A carriage return
/// written as `&#13;` is not touched: this runs before references are resolved.)
fn eol(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\r') {
        return raw.into();
    }
    raw.replace("\r\n", "\n").replace('\r', "\n").into()
}

/// XML 1.0 §3.3.3 attribute-value normalisation for CDATA attributes, after end-of-line
/// handling: every literal tab and newline becomes a space. References (`&#10;`, `&#9;`) are
/// resolved afterwards, so the characters they name are kept, as libxml2 (and so libvirt)
/// keeps them.
fn normalise_attr(raw: &str) -> std::borrow::Cow<'_, str> {
    let v = eol(raw);
    if !v.contains(['\t', '\n']) {
        return v;
    }
    v.replace(['\t', '\n'], " ").into()
}

/// Resolve references in (end-of-line handled) text. An unknown entity is an entity error
/// (E007); a malformed reference, or one naming a character XML does not allow (`&#x1B;`,
/// `&#xFFFE;`), is not well-formed (E001), as libxml2 says.
fn unescape(
    raw: &str,
    what: &str,
    entity_hint: &'static str,
) -> Result<String, (TreeErrorKind, String, &'static str)> {
    let v = quick_xml::escape::unescape(raw).map_err(|e| match e {
        quick_xml::escape::EscapeError::UnrecognizedEntity(..) => (
            TreeErrorKind::Entity,
            format!("unsupported entity or character reference{what}: {e}"),
            entity_hint,
        ),
        _ => (
            TreeErrorKind::Syntax,
            format!("malformed XML: bad character reference{what}: {e}"),
            "write a character reference as &#NNN; or &#xHHH; naming a character XML allows",
        ),
    })?;
    if let Some(c) = v.chars().find(|c| !is_xml_char(*c)) {
        return Err((
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: a character reference{what} names {}, a character XML does not allow",
                char_name(c)
            ),
            "XML 1.0 allows no control character but tab, newline and carriage return, not even as a reference; remove it",
        ));
    }
    Ok(v.into_owned())
}

fn err(kind: TreeErrorKind, message: impl Into<String>, hint: Option<&str>, pos: Pos) -> TreeError {
    TreeError {
        kind,
        message: message.into(),
        hint: hint.map(str::to_string),
        pos,
    }
}

/// Read a document. Text is kept as written (unescaped); whitespace between elements is kept
/// too, so a caller may decide what is layout.
pub fn parse_document(bytes: &[u8], limits: Limits) -> Result<Document, TreeError> {
    if bytes.len() > limits.max_bytes {
        return Err(err(
            TreeErrorKind::Bound,
            format!(
                "input is {} bytes, over the limit of {} bytes",
                bytes.len(),
                limits.max_bytes
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
            let idx = LineIndex::new(std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""));
            return Err(err(
                TreeErrorKind::Syntax,
                format!(
                    "input is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
                Some("libvirt XML is UTF-8; convert the file (iconv) or check it is not binary"),
                idx.pos(e.valid_up_to()),
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    // XML 1.0 §2.2: a document is made of `Char`s only, comments and CDATA included. libxml2
    // refuses the others, so libvirt never reads them; and echoed to a terminal (a raw ESC),
    // they would act on it.
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        return Err(err(
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: character {} is not allowed in an XML document",
                char_name(c)
            ),
            Some("XML 1.0 allows no control character but tab, newline and carriage return; remove it (or check that the file is not binary)"),
            lines.pos(at),
        ));
    }
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
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;

    loop {
        let start = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let at = reader.error_position() as usize;
                return Err(err(
                    TreeErrorKind::Syntax,
                    format!("malformed XML: {e}"),
                    Some("check that every element is closed and every attribute value is quoted"),
                    lines.pos(at),
                ));
            }
        };
        let pos = lines.pos(start);
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(err(
                    TreeErrorKind::Syntax,
                    "malformed XML: more than one root element",
                    Some("a document holds exactly one <domain> or <pool>"),
                    pos,
                ));
            }
            Event::Start(e) => {
                if stack.len() + 1 > limits.max_depth {
                    return Err(err(
                        TreeErrorKind::Bound,
                        format!("elements nest deeper than the limit of {}", limits.max_depth),
                        Some("raise the bound with --max-depth if this file is genuine"),
                        pos,
                    ));
                }
                stack.push(start_element(&e, text, &lines, pos, limits)?);
            }
            Event::Empty(e) => {
                if stack.len() + 1 > limits.max_depth {
                    return Err(err(
                        TreeErrorKind::Bound,
                        format!("elements nest deeper than the limit of {}", limits.max_depth),
                        Some("raise the bound with --max-depth if this file is genuine"),
                        pos,
                    ));
                }
                let el = start_element(&e, text, &lines, pos, limits)?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                // quick-xml checks end names and unmatched ends for us.
                match stack.pop() {
                    Some(el) => close(el, &mut stack, &mut root),
                    None => {
                        return Err(err(TreeErrorKind::Syntax, "malformed XML: unexpected end tag", None, pos))
                    }
                }
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(&t).unwrap_or_default();
                let s = unescape(&eol(raw), "", "only the five predefined entities (&amp; &lt; &gt; &apos; &quot;) and character references are accepted")
                    .map_err(|(kind, message, hint)| err(kind, message, Some(hint), pos))?;
                match stack.last_mut() {
                    Some(parent) => push_text(parent, &s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(err(
                            TreeErrorKind::Syntax,
                            "malformed XML: text outside the root element",
                            None,
                            pos,
                        ))
                    }
                }
            }
            Event::CData(c) => {
                let s = eol(&String::from_utf8_lossy(&c)).into_owned();
                match stack.last_mut() {
                    Some(parent) => push_text(parent, &s),
                    None => {
                        return Err(err(
                            TreeErrorKind::Syntax,
                            "malformed XML: CDATA outside the root element",
                            None,
                            pos,
                        ))
                    }
                }
            }
            Event::Comment(c) => {
                let node = Node::Comment(eol(&String::from_utf8_lossy(&c)).into_owned());
                match (stack.last_mut(), &root) {
                    (Some(parent), _) => parent.children.push(node),
                    (None, None) => prolog.push(node),
                    (None, Some(_)) => epilog.push(node),
                }
            }
            Event::PI(p) => {
                let node = Node::Pi(eol(&String::from_utf8_lossy(&p)).into_owned());
                match (stack.last_mut(), &root) {
                    (Some(parent), _) => parent.children.push(node),
                    (None, None) => prolog.push(node),
                    (None, Some(_)) => epilog.push(node),
                }
            }
            Event::Decl(_) => {
                let end = reader.buffer_position() as usize;
                declaration = Some(eol(text[start..end].trim()).into_owned());
            }
            Event::DocType(_) => {
                return Err(err(
                    TreeErrorKind::Entity,
                    "document type declarations (<!DOCTYPE …>) are not accepted",
                    Some("remove the DOCTYPE: libvirt XML has none, and entities are refused to rule out entity expansion attacks"),
                    pos,
                ))
            }
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: <{}> is never closed (the input ends early)",
                open.name
            ),
            Some("the file looks truncated"),
            lines.pos(text.len()),
        ));
    }
    match root {
        Some(root) => Ok(Document {
            declaration,
            prolog,
            root,
            epilog,
        }),
        None => Err(err(
            TreeErrorKind::Syntax,
            "malformed XML: no root element",
            Some("the file is empty or holds only comments"),
            lines.pos(text.len()),
        )),
    }
}

fn push_text(parent: &mut Element, s: &str) {
    if let Some(Node::Text(prev)) = parent.children.last_mut() {
        prev.push_str(s);
    } else {
        parent.children.push(Node::Text(s.to_string()));
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn start_element(
    e: &BytesStart<'_>,
    text: &str,
    lines: &LineIndex<'_>,
    pos: Pos,
    limits: Limits,
) -> Result<Element, TreeError> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut el = Element {
        name,
        attrs: Vec::new(),
        children: Vec::new(),
        pos,
    };
    let base = text.as_ptr() as usize;
    check_attribute_separation(e, text, lines, &el.name)?;
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|e| {
            err(
                TreeErrorKind::Syntax,
                format!("malformed attribute in <{}>: {e}", el.name),
                Some("attribute values must be quoted and each attribute may appear once"),
                pos,
            )
        })?;
        let key = a.key.as_ref();
        // Events borrow from the input, so the key's address locates it in the source.
        let off = (key.as_ptr() as usize).wrapping_sub(base);
        let apos = if off < text.len() {
            lines.pos(off)
        } else {
            pos
        };
        let raw = std::str::from_utf8(&a.value).unwrap_or_default();
        let value = unescape(
            &normalise_attr(raw),
            " in attribute",
            "only the five predefined entities and character references are accepted",
        )
        .map_err(|(kind, message, hint)| err(kind, message, Some(hint), apos))?;
        if value.len() > limits.max_attr_bytes {
            return Err(err(
                TreeErrorKind::Bound,
                format!(
                    "attribute {} of <{}> is {} bytes long, over the limit of {} bytes",
                    String::from_utf8_lossy(key),
                    el.name,
                    value.len(),
                    limits.max_attr_bytes
                ),
                Some("raise the bound with --max-attr-bytes if this file is genuine"),
                apos,
            ));
        }
        el.attrs.push(Attr {
            name: String::from_utf8_lossy(key).into_owned(),
            value,
            pos: apos,
        });
    }
    Ok(el)
}

/// XML 1.0 §3.1: attributes are separated by whitespace. quick-xml reads
/// `controller='1'target='2'` as two attributes; libxml2 refuses it ("attributes construct
/// error"), and so must we, or the two readers see different documents.
fn check_attribute_separation(
    e: &BytesStart<'_>,
    text: &str,
    lines: &LineIndex<'_>,
    name: &str,
) -> Result<(), TreeError> {
    let raw = e.attributes_raw();
    let mut quote: Option<u8> = None;
    for (i, &b) in raw.iter().enumerate() {
        match quote {
            Some(q) if b == q => {
                quote = None;
                if let Some(&next) = raw.get(i + 1) {
                    if !(next.is_ascii_whitespace() || next == b'/' || next == b'>') {
                        let off = (raw[i + 1..].as_ptr() as usize)
                            .wrapping_sub(text.as_ptr() as usize)
                            .min(text.len());
                        return Err(err(
                            TreeErrorKind::Syntax,
                            format!(
                                "malformed XML: attributes of <{name}> must be separated by whitespace"
                            ),
                            Some("put a space between an attribute's closing quote and the next attribute"),
                            lines.pos(off),
                        ));
                    }
                }
            }
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_elements_and_attributes() {
        let doc = parse_document(b"<a>\n  <b x='1'  yy=\"2\"/>\n</a>", Limits::default()).unwrap();
        let b = doc.root.elements().next().unwrap();
        assert_eq!((b.pos.line, b.pos.column), (2, 3));
        assert_eq!((b.attrs[0].pos.line, b.attrs[0].pos.column), (2, 6));
        assert_eq!((b.attrs[1].pos.line, b.attrs[1].pos.column), (2, 13));
    }

    #[test]
    fn doctype_is_refused() {
        let e = parse_document(
            b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, TreeErrorKind::Entity);
    }

    #[test]
    fn undefined_entity_is_refused() {
        let e = parse_document(b"<a>&x;</a>", Limits::default()).unwrap_err();
        assert_eq!(e.kind, TreeErrorKind::Entity);
    }

    #[test]
    fn depth_bound_is_enforced() {
        let s = "<a>".repeat(100);
        let e = parse_document(
            s.as_bytes(),
            Limits {
                max_bytes: 1000,
                max_depth: 50,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, TreeErrorKind::Bound);
    }

    #[test]
    fn truncated_input_names_the_open_element() {
        let e = parse_document(b"<domain><devices>", Limits::default()).unwrap_err();
        assert_eq!(e.kind, TreeErrorKind::Syntax);
        assert!(e.message.contains("<devices>"), "{}", e.message);
    }

    #[test]
    fn second_root_is_refused() {
        assert!(parse_document(b"<a/><b/>", Limits::default()).is_err());
    }

    #[test]
    fn attribute_values_are_normalised_and_line_ends_handled() {
        let doc = parse_document(
            b"<a v='x\r\ny\tz\nw' r='p&#10;q&#9;r&#13;'>t\r\nu\rv&#13;</a>",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.root.attr("v"), Some("x y z w"));
        assert_eq!(doc.root.attr("r"), Some("p\nq\tr\r"));
        assert_eq!(doc.root.text(), "t\nu\nv\r");
    }

    #[test]
    fn characters_xml_forbids_are_refused() {
        for src in [
            &b"<a>\x1b</a>"[..],
            b"<a>&#x1B;</a>",
            b"<a>&#0;</a>",
            b"<a x='&#xFFFE;'/>",
            b"<a x='1'y='2'/>",
            b"<!-- \x07 --><a/>",
        ] {
            let e = parse_document(src, Limits::default()).unwrap_err();
            assert_eq!(
                e.kind,
                TreeErrorKind::Syntax,
                "{}",
                String::from_utf8_lossy(src)
            );
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let doc = parse_document("<a>\n<é x='1'/></a>".as_bytes(), Limits::default()).unwrap();
        let e = doc.root.elements().next().unwrap();
        assert_eq!(e.attrs[0].pos.column, 4);
    }
}
