//! XML trees: the one a document is read into, and the owned [`Element`] trees the model
//! carries and the writer writes.
//!
//! The typed model is read from a tree rather than straight from the byte stream so that
//! (a) every element and attribute keeps where it came from, for diagnostics, and (b) content
//! domxml does not model can be carried through `fmt` verbatim. A document is read into an
//! arena (`tree`): names and values are ranges of the source text and positions byte
//! offsets, turned into lines and columns only when a diagnostic is located ([`SourceMap`]).
//! Content the model keeps verbatim becomes an owned [`Element`], as do the trees the writer
//! builds. The reader refuses DTDs and entity declarations outright and bounds input size and
//! depth, so hostile input costs at most the bound.

mod build;
mod chars;
mod lines;
mod read;
mod split;
mod tree;
mod write;

pub use read::Limits;
pub(crate) use read::{parse_document, TreeErrorKind};
#[cfg(fuzzing)]
pub(crate) use split::agrees as split_agrees;
pub(crate) use tree::{At, Child, El, Tree};
pub(crate) use write::{
    write_document, write_document_with, write_element, write_into, write_node, write_streaming,
};

/// Where something starts in the source: 1-based line and column (in characters), and the byte
/// offset. A zeroed `Pos` means "not from a source" (a tree built in code).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub column: u32,
    /// Byte offset into the source.
    pub offset: usize,
}

impl std::fmt::Debug for Pos {
    /// Compact, so that snapshots of trees stay readable: `3:5@41`, or `-` when unknown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_known() {
            write!(f, "{}:{}@{}", self.line, self.column, self.offset)
        } else {
            f.write_str("-")
        }
    }
}

impl Pos {
    /// True when this position came from a parsed source.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// An attribute, in document order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attr {
    /// Qualified name as written (`type`, `xmlns:qemu`). Borrowed when the writer names a
    /// known attribute, so building an element allocates only its values.
    pub name: std::borrow::Cow<'static, str>,
    /// Unescaped value.
    pub value: String,
    /// Position of the attribute name.
    pub pos: Pos,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (unescaped), CDATA included.
    Text(String),
    /// A comment's content, without `<!--` and `-->`.
    Comment(String),
    /// A processing instruction's content, without `<?` and `?>`.
    Pi(String),
}

/// An element with its attributes and children, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Element {
    /// Qualified name as written.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<Attr>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// Position of the `<`.
    pub pos: Pos,
}

impl Element {
    /// A new element with no attributes or children.
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Builder: add an attribute.
    pub fn with_attr(
        mut self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.push_attr(name, value);
        self
    }

    /// Builder: add an attribute when the value is present.
    pub fn with_opt_attr(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.push_attr(name, v.to_string());
        }
        self
    }

    /// Append an attribute.
    pub fn push_attr(
        &mut self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<String>,
    ) {
        self.attrs.push(Attr {
            name: name.into(),
            value: value.into(),
            pos: Pos::default(),
        });
    }

    /// Builder: add a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Builder: set text content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }

    /// Append a child element.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Append a child element when present.
    pub fn push_opt(&mut self, child: Option<Element>) {
        if let Some(c) = child {
            self.push(c);
        }
    }

    /// The value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Child elements in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The concatenated character data of the direct children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// True when the element has no children other than whitespace.
    pub fn is_empty(&self) -> bool {
        self.children
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }

    /// A copy with every position cleared, so that trees compare by content alone.
    /// The model stores opaque content this way.
    pub fn without_positions(&self) -> Element {
        Element {
            name: self.name.clone(),
            attrs: self
                .attrs
                .iter()
                .map(|a| Attr {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    pos: Pos::default(),
                })
                .collect(),
            children: self
                .children
                .iter()
                .filter_map(|n| match n {
                    Node::Element(e) => Some(Node::Element(e.without_positions())),
                    // Whitespace between elements is layout, not content.
                    Node::Text(t) if t.trim().is_empty() && self.elements().next().is_some() => {
                        None
                    }
                    other => Some(other.clone()),
                })
                .collect(),
            pos: Pos::default(),
        }
    }
}

/// A parsed document: what precedes the root (declaration, comments) and the root itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Document {
    /// The XML declaration as written (`<?xml version="1.0"?>`), if any.
    pub declaration: Option<String>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    /// The root element.
    pub root: Element,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
}

/// Positions of every element and attribute of a document, by element path
/// (`/domain/devices/hostdev[2]/source/adapter/@unique_id`).
///
/// An element is named `name[k]` (1-based) in a path when its parent has more than one child
/// element of that name, and plain `name` otherwise; attributes are `@name`. The map keeps the
/// document's tree (byte offsets, no strings): a path is followed through it, and the line and
/// column worked out, only when a diagnostic asks. A valid document never does.
#[derive(Clone, Default)]
pub struct SourceMap {
    tree: Option<std::sync::Arc<Tree<'static>>>,
}

impl std::fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceMap")
            .field("nodes", &self.tree.as_ref().map_or(0, |t| t.nodes.len()))
            .finish()
    }
}

impl SourceMap {
    /// Keep a document's tree for later lookups.
    pub(crate) fn new(tree: std::sync::Arc<Tree<'static>>) -> Self {
        SourceMap { tree: Some(tree) }
    }

    /// The position of a path, or of its nearest recorded ancestor (a missing attribute is
    /// reported at its element).
    pub fn lookup(&self, path: &str) -> Option<Pos> {
        self.tree.as_ref()?.lookup(path)
    }
}
