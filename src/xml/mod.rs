//! A lossless XML element tree with source positions.
//!
//! The typed model is read from this tree rather than straight from the byte stream so that
//! (a) every element and attribute keeps the line and column it came from, for diagnostics,
//! and (b) content domxml does not model can be carried through `fmt` verbatim.
//! The reader refuses DTDs and entity declarations outright and bounds input size and depth,
//! so hostile input costs at most the bound.

mod read;
mod write;

pub use read::Limits;
pub(crate) use read::{parse_document, TreeErrorKind};
pub(crate) use write::{write_document, write_element};

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
    /// Qualified name as written (`type`, `xmlns:qemu`).
    pub name: String,
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
    pub fn with_attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_attr(name, value);
        self
    }

    /// Builder: add an attribute when the value is present.
    pub fn with_opt_attr(mut self, name: &str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.push_attr(name, v.to_string());
        }
        self
    }

    /// Append an attribute.
    pub fn push_attr(&mut self, name: impl Into<String>, value: impl Into<String>) {
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

/// The path segment of every child element, in one pass over the children (a `<devices>` with
/// 100,000 children must not cost 100,000 scans of itself). The rule is shared by the source
/// map, the codec and the validator: an element is named `name[k]` (1-based) when its parent
/// has more than one child element of that name, and plain `name` otherwise. Attributes are
/// `@name`.
pub(crate) fn child_segments(parent: &Element) -> Vec<String> {
    let mut totals: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in parent.elements() {
        *totals.entry(e.name.as_str()).or_default() += 1;
    }
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    parent
        .elements()
        .map(|e| {
            let name = e.name.as_str();
            let nth = seen.entry(name).or_default();
            *nth += 1;
            if totals[name] > 1 {
                format!("{name}[{nth}]")
            } else {
                name.to_string()
            }
        })
        .collect()
}

/// Positions of every element and attribute, keyed by element path
/// (`/domain/devices/hostdev[2]/source/adapter/@unique_id`).
///
/// The path index is built on the first lookup, from the positioned tree kept here: a valid
/// document never needs positions, and a domain with 100,000 devices has millions of paths.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    root: std::sync::Arc<Element>,
    entries: std::sync::Arc<std::sync::OnceLock<std::collections::HashMap<String, Pos>>>,
}

impl SourceMap {
    /// Keep a tree for later lookups.
    pub fn build(root: Element) -> Self {
        SourceMap {
            root: std::sync::Arc::new(root),
            entries: Default::default(),
        }
    }

    fn index(&self) -> &std::collections::HashMap<String, Pos> {
        self.entries.get_or_init(|| {
            let mut entries = std::collections::HashMap::new();
            if !self.root.name.is_empty() {
                walk(&mut entries, &self.root, &format!("/{}", self.root.name));
            }
            entries
        })
    }

    /// The position of a path, or of its nearest recorded ancestor (a missing attribute is
    /// reported at its element).
    pub fn lookup(&self, path: &str) -> Option<Pos> {
        let entries = self.index();
        let mut p = path;
        loop {
            if let Some(pos) = entries.get(p) {
                return Some(*pos);
            }
            match p.rfind('/') {
                Some(0) | None => return None,
                Some(i) => p = &p[..i],
            }
        }
    }
}

fn walk(entries: &mut std::collections::HashMap<String, Pos>, el: &Element, path: &str) {
    entries.insert(path.to_string(), el.pos);
    for a in &el.attrs {
        entries.insert(format!("{path}/@{}", a.name), a.pos);
    }
    for (child, seg) in el.elements().zip(child_segments(el)) {
        let p = format!("{path}/{seg}");
        walk(entries, child, &p);
    }
}
