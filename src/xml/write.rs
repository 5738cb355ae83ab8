//! [`Element`] trees to text in libvirt's layout: two-space indentation, single-quoted
//! attributes in the order given, empty elements self-closed, text-only elements on one line.
//! An element whose content mixes text with elements or comments is written on one line as it
//! is, without indentation inside: there the whitespace is content, and reindenting it would
//! change what the next reader sees.

use super::{Document, Element, Node};
use std::fmt::Write as _;

/// Escape the way libvirt does (`virBufferEscapeString`): the five XML specials everywhere.
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            // Tabs, newlines and carriage returns in attributes would be normalised away by the
            // next reader; keep them as character references so they survive.
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Write a whole document, prolog and epilog included, ending with a newline.
pub fn write_document(doc: &Document) -> String {
    write_document_with(
        doc.declaration.as_deref(),
        &doc.prolog,
        &doc.epilog,
        &mut |out| write_into(out, &doc.root, 0),
    )
}

/// [`write_document`] with the root element written by `root`.
pub(crate) fn write_document_with(
    declaration: Option<&str>,
    prolog: &[Node],
    epilog: &[Node],
    root: &mut dyn FnMut(&mut String),
) -> String {
    let mut out = String::new();
    if let Some(d) = declaration {
        out.push_str(d);
        out.push('\n');
    }
    for n in prolog {
        write_misc(&mut out, n, 0);
    }
    root(&mut out);
    for n in epilog {
        write_misc(&mut out, n, 0);
    }
    out
}

/// Write one element (and its subtree) at indentation 0, ending with a newline.
pub fn write_element(el: &Element) -> String {
    let mut out = String::new();
    write_into(&mut out, el, 0);
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_misc(out: &mut String, n: &Node, depth: usize) {
    match n {
        Node::Comment(c) => {
            indent(out, depth);
            let _ = writeln!(out, "<!--{c}-->");
        }
        Node::Pi(p) => {
            indent(out, depth);
            let _ = writeln!(out, "<?{p}?>");
        }
        Node::Text(t) if !t.trim().is_empty() => {
            indent(out, depth);
            escape_text(out, t.trim());
            out.push('\n');
        }
        _ => {}
    }
}

fn write_start(out: &mut String, el: &Element) {
    out.push('<');
    out.push_str(&el.name);
    for a in &el.attrs {
        out.push(' ');
        out.push_str(&a.name);
        out.push_str("='");
        escape(out, &a.value);
        out.push('\'');
    }
}

/// Mixed content: text beside elements, comments or processing instructions. An empty text
/// node counts: it is how the model marks a text-valued element (`<serial>`) whose value is
/// empty, and indenting such an element's kept children would give it whitespace for a value.
fn is_mixed(el: &Element) -> bool {
    el.children.iter().any(|n| matches!(n, Node::Text(_)))
        && el.children.iter().any(|n| !matches!(n, Node::Text(_)))
}

/// An element and everything in it exactly as it is, on one line.
fn write_inline(out: &mut String, el: &Element) {
    write_start(out, el);
    if el
        .children
        .iter()
        .all(|n| matches!(n, Node::Text(t) if t.is_empty()))
    {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for n in &el.children {
        match n {
            Node::Element(c) => write_inline(out, c),
            Node::Text(t) => escape_text(out, t),
            Node::Comment(c) => {
                let _ = write!(out, "<!--{c}-->");
            }
            Node::Pi(p) => {
                let _ = write!(out, "<?{p}?>");
            }
        }
    }
    let _ = write!(out, "</{}>", el.name);
}

/// Appends the children of an element to the output it is given, each written as
/// [`write_node`] would at the element's depth + 1.
pub(crate) type NodeStream<'a> = dyn FnMut(&mut String) + 'a;

/// Write `root` as [`write_into`] would at depth 0, except that its child `at` (the same
/// element, by address) gets its children from `stream`, as written text, instead of from
/// the tree: a caller need not build every device before writing the first. Returns false,
/// having written nothing, when `root` has mixed content (written on one line as it is, so
/// it needs the whole tree).
pub(crate) fn write_streaming(
    out: &mut String,
    root: &Element,
    at: &Element,
    stream: &mut NodeStream<'_>,
) -> bool {
    if is_mixed(root) {
        return false;
    }
    write_start(out, root);
    out.push_str(">\n");
    for n in &root.children {
        match n {
            Node::Element(c) if std::ptr::eq(c, at) => {
                indent(out, 1);
                write_start(out, c);
                let mark = out.len();
                out.push_str(">\n");
                stream(out);
                if out.len() == mark + 2 {
                    out.truncate(mark);
                    out.push_str("/>\n");
                } else {
                    indent(out, 1);
                    let _ = writeln!(out, "</{}>", c.name);
                }
            }
            Node::Element(c) => write_into(out, c, 1),
            other => write_misc(out, other, 1),
        }
    }
    let _ = writeln!(out, "</{}>", root.name);
    true
}

/// One child node of an element that has no mixed content, at `depth`.
pub(crate) fn write_node(out: &mut String, n: &Node, depth: usize) {
    match n {
        Node::Element(e) => write_into(out, e, depth),
        other => write_misc(out, other, depth),
    }
}

pub(crate) fn write_into(out: &mut String, el: &Element, depth: usize) {
    indent(out, depth);
    if is_mixed(el) {
        write_inline(out, el);
        out.push('\n');
        return;
    }
    write_start(out, el);
    let structured = el.children.iter().any(|n| !matches!(n, Node::Text(_)));
    if !structured {
        let text = el.text();
        if text.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push('>');
            escape_text(out, &text);
            let _ = writeln!(out, "</{}>", el.name);
        }
        return;
    }
    out.push_str(">\n");
    for n in &el.children {
        match n {
            Node::Element(c) => write_into(out, c, depth + 1),
            other => write_misc(out, other, depth + 1),
        }
    }
    indent(out, depth);
    let _ = writeln!(out, "</{}>", el.name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn parse_document(
        src: &[u8],
        limits: Limits,
    ) -> Result<Document, super::super::read::TreeError> {
        crate::xml::parse_document(src, limits).map(|d| d.to_document())
    }

    #[test]
    fn layout_matches_libvirt() {
        let el = Element::new("disk")
            .with_attr("type", "file")
            .with_child(Element::new("source").with_attr("file", "/a'b"))
            .with_child(Element::new("serial").with_text("x&y"));
        assert_eq!(
            write_element(&el),
            "<disk type='file'>\n  <source file='/a&apos;b'/>\n  <serial>x&amp;y</serial>\n</disk>\n"
        );
    }

    #[test]
    fn writing_is_idempotent_with_comments_and_mixed_text() {
        let src = "<a x='1'>\n <!-- note -->\n <b>t</b> tail <c/>\n</a>";
        let once = write_document(&parse_document(src.as_bytes(), Limits::default()).unwrap());
        let twice = write_document(&parse_document(once.as_bytes(), Limits::default()).unwrap());
        assert_eq!(once, twice);
        assert!(once.contains("<!-- note -->"));
        assert!(once.contains("tail"));
    }

    #[test]
    fn mixed_content_is_written_as_it_is() {
        // Finding F3: `<memory>16<ok/></memory>` lost `<ok/>`, and reindenting mixed content
        // changes its text.
        for src in [
            "<a>\n  <m u=''>16<ok/></m>\n</a>",
            "<a>\n  <n> x <!-- c --> y </n>\n</a>",
            "<a>\n  <d>Some <b>bold <i/> </b> text<?pi x?></d>\n</a>",
        ] {
            let doc = parse_document(src.as_bytes(), Limits::default()).unwrap();
            let once = write_document(&doc);
            let back = parse_document(once.as_bytes(), Limits::default()).unwrap();
            let inner = |d: &Document| d.root.elements().next().unwrap().without_positions();
            assert_eq!(inner(&back), inner(&doc), "{once}");
            assert_eq!(write_document(&back), once);
        }
    }

    #[test]
    fn newlines_in_attributes_survive() {
        let el = Element::new("a").with_attr("v", "x\ny");
        let back = parse_document(write_element(&el).as_bytes(), Limits::default()).unwrap();
        assert_eq!(back.root.attr("v"), Some("x\ny"));
    }
}
