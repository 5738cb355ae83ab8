//! The parsed document as an arena: one flat vector of nodes linked by index, one of
//! attributes, and the source text they point into.
//!
//! Names, attribute values and text are byte ranges of the source; only a value the reader
//! had to change (an entity or character reference resolved, a line end or tab normalised,
//! text pieces joined) is stored on its own. Positions are byte offsets: a line and column
//! are derived when a diagnostic asks for one ([`LineIndex`]). So a document costs its text
//! plus a few dozen bytes an element and an attribute, and reading it allocates a handful of
//! growing vectors rather than strings for every name and value.
//!
//! [`El`] and [`At`] are copyable handles into a [`Tree`]; [`El::to_element`] makes an owned
//! [`Element`] of a subtree for the model's verbatim content.

use super::lines::LineIndex;
use super::{Attr, Element, Node, Pos};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// No node (no parent, no child, no next sibling).
pub(crate) const NONE: u32 = u32::MAX;

/// A string of the tree: a range of the source text, or one of the strings the reader made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Str {
    /// Byte offset into the text, or [`NONE`] for a made string.
    start: u32,
    /// Length in bytes, or the index of the made string.
    len: u32,
}

impl Str {
    /// The `index`th string the reader made.
    pub(crate) fn made(index: usize) -> Str {
        Str {
            start: NONE,
            len: index as u32,
        }
    }

    /// The same string once `base` made strings are put before the ones it counts from (when
    /// a piece read on its own is joined to what was read before it).
    pub(crate) fn after_made(self, base: u32) -> Str {
        if self.start == NONE {
            Str {
                start: NONE,
                len: self.len + base,
            }
        } else {
            self
        }
    }

    /// The string itself, in `text` or among `made`.
    pub(crate) fn get<'a>(self, text: &'a str, made: &'a [Box<str>]) -> &'a str {
        if self.start == NONE {
            &made[self.len as usize]
        } else {
            &text[self.start as usize..(self.start + self.len) as usize]
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Element,
    Text,
    Comment,
    Pi,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeData {
    pub(crate) kind: Kind,
    pub(crate) parent: u32,
    pub(crate) first_child: u32,
    pub(crate) next: u32,
    /// Byte offset of the element's `<` (of the text's start for other nodes).
    pub(crate) offset: u32,
    /// The element's name; the content of text, comments and processing instructions.
    pub(crate) name: Str,
    /// The element's attributes: `attrs[first_attr..first_attr + n_attrs]`.
    pub(crate) first_attr: u32,
    pub(crate) n_attrs: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AttrData {
    /// Byte offset of the attribute's name.
    pub(crate) offset: u32,
    pub(crate) name: Str,
    pub(crate) value: Str,
}

/// A parsed document's element tree (the root element and everything in it), over the text
/// it was read from: borrowed from the caller while the model is read, owned once it is kept
/// ([`Tree::into_owned`], for a [`super::SourceMap`]).
#[derive(Debug)]
pub(crate) struct Tree<'s> {
    pub(crate) text: Cow<'s, str>,
    pub(crate) nodes: Vec<NodeData>,
    pub(crate) attrs: Vec<AttrData>,
    pub(crate) made: Vec<Box<str>>,
    pub(crate) root: u32,
    lines: OnceLock<LineIndex>,
    /// For each node: 0 when it is the only element of its name among its siblings, else its
    /// 1-based rank among them (the `k` of `name[k]` in a path). Built on first use.
    ranks: OnceLock<Vec<u32>>,
    /// (parent, hash of the name, rank) → child element. Built on first lookup by path.
    by_path: OnceLock<HashMap<(u32, u64, u32), u32>>,
}

impl<'s> Tree<'s> {
    /// The tree the reader built: `text` is the source its ranges point into.
    pub(crate) fn from_parts(
        text: Cow<'s, str>,
        nodes: Vec<NodeData>,
        attrs: Vec<AttrData>,
        made: Vec<Box<str>>,
        root: u32,
    ) -> Self {
        Tree {
            text,
            nodes,
            attrs,
            made,
            root,
            lines: OnceLock::new(),
            ranks: OnceLock::new(),
            by_path: OnceLock::new(),
        }
    }

    /// The same tree owning its text (a copy of it, if it was borrowed).
    pub(crate) fn into_owned(self) -> Tree<'static> {
        Tree {
            text: Cow::Owned(self.text.into_owned()),
            nodes: self.nodes,
            attrs: self.attrs,
            made: self.made,
            root: self.root,
            lines: self.lines,
            ranks: self.ranks,
            by_path: self.by_path,
        }
    }

    /// A range of the text as a [`Str`].
    pub(crate) fn range(start: usize, len: usize) -> Str {
        Str {
            start: start as u32,
            len: len as u32,
        }
    }

    pub(crate) fn str(&self, s: Str) -> &str {
        s.get(&self.text, &self.made)
    }

    /// A string of the tree as bytes: for comparing names, without the character-boundary
    /// checks slicing a `str` makes.
    pub(crate) fn bytes(&self, s: Str) -> &[u8] {
        if s.start == NONE {
            self.made[s.len as usize].as_bytes()
        } else {
            &self.text.as_bytes()[s.start as usize..(s.start + s.len) as usize]
        }
    }

    /// The line and column of a byte offset.
    pub(crate) fn pos(&self, offset: usize) -> Pos {
        self.lines
            .get_or_init(|| LineIndex::new(&self.text))
            .pos(&self.text, offset)
    }

    pub(crate) fn root(&self) -> El<'_> {
        El {
            t: self,
            i: self.root,
        }
    }

    fn ranks(&self) -> &[u32] {
        self.ranks.get_or_init(|| {
            let mut ranks = vec![0; self.nodes.len()];
            let mut counts: HashMap<&str, (u32, u32)> = HashMap::new();
            for (p, n) in self.nodes.iter().enumerate() {
                if n.kind != Kind::Element {
                    continue;
                }
                let parent = El {
                    t: self,
                    i: p as u32,
                };
                if parent.elements().nth(1).is_none() {
                    continue;
                }
                counts.clear();
                for c in parent.elements() {
                    counts.entry(c.name()).or_default().0 += 1;
                }
                for c in parent.elements() {
                    let e = counts.get_mut(c.name()).expect("counted above");
                    if e.0 > 1 {
                        e.1 += 1;
                        ranks[c.i as usize] = e.1;
                    }
                }
            }
            ranks
        })
    }

    fn name_hash(name: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut h);
        h.finish()
    }

    fn by_path(&self) -> &HashMap<(u32, u64, u32), u32> {
        self.by_path.get_or_init(|| {
            let ranks = self.ranks();
            let mut map = HashMap::with_capacity(self.nodes.len());
            for (i, n) in self.nodes.iter().enumerate() {
                if n.kind == Kind::Element && n.parent != NONE {
                    let key = (n.parent, Tree::name_hash(self.str(n.name)), ranks[i]);
                    map.entry(key).or_insert(i as u32);
                }
            }
            map
        })
    }

    /// The child element of `parent` a path segment (`disk[3]`, `target`) names.
    fn child_at(&self, parent: El<'_>, seg: &str) -> Option<u32> {
        let (name, rank) = match seg.strip_suffix(']').and_then(|s| s.split_once('[')) {
            Some((name, k)) => {
                let r: u32 = k.parse().ok()?;
                // Only the spelling a path is written with: `disk[3]`, not `disk[03]`.
                (r.to_string() == k && r > 0).then_some((name, r))?
            }
            None => (seg, 0),
        };
        let key = (parent.i, Tree::name_hash(name), rank);
        match self.by_path().get(&key) {
            Some(&c) if self.str(self.nodes[c as usize].name) == name => Some(c),
            // Two names with one hash: look the slow way.
            Some(_) => {
                let ranks = self.ranks();
                parent
                    .elements()
                    .find(|c| c.name() == name && ranks[c.i as usize] == rank)
                    .map(|c| c.i)
            }
            None => None,
        }
    }

    /// The position an element path names (`/domain/devices/hostdev[2]/source/@type`), or that
    /// of its nearest ancestor that exists (a missing attribute is reported at its element).
    pub(crate) fn lookup(&self, path: &str) -> Option<Pos> {
        if self.root == NONE {
            return None;
        }
        let mut segs = path.strip_prefix('/')?.split('/');
        let root = self.root();
        if segs.next()? != root.name() {
            return None;
        }
        let mut cur = root;
        for seg in segs {
            if let Some(name) = seg.strip_prefix('@') {
                return Some(match cur.attrs().find(|a| a.name() == name) {
                    Some(a) => a.pos(),
                    None => cur.pos(),
                });
            }
            match self.child_at(cur, seg) {
                Some(c) => cur = El { t: self, i: c },
                None => break,
            }
        }
        Some(cur.pos())
    }

    /// The element path of an element: `/domain/devices/disk[17]`.
    pub(crate) fn path(&self, i: u32) -> String {
        let ranks = self.ranks();
        let mut chain = Vec::new();
        let mut cur = i;
        while cur != NONE {
            chain.push(cur);
            cur = self.nodes[cur as usize].parent;
        }
        let mut out = String::new();
        for &n in chain.iter().rev() {
            out.push('/');
            out.push_str(self.str(self.nodes[n as usize].name));
            let r = ranks[n as usize];
            if r > 0 {
                use std::fmt::Write as _;
                let _ = write!(out, "[{r}]");
            }
        }
        out
    }
}

/// An element of a [`Tree`].
#[derive(Clone, Copy)]
pub(crate) struct El<'t> {
    t: &'t Tree<'t>,
    i: u32,
}

/// A child of an element.
pub(crate) enum Child<'t> {
    Element(El<'t>),
    Text(&'t str),
    Comment(&'t str),
    Pi(&'t str),
}

impl<'t> Child<'t> {
    fn owned(&self) -> Node {
        match *self {
            Child::Element(e) => Node::Element(e.to_element()),
            Child::Text(t) => Node::Text(t.to_string()),
            Child::Comment(c) => Node::Comment(c.to_string()),
            Child::Pi(p) => Node::Pi(p.to_string()),
        }
    }
}

impl std::fmt::Debug for El<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>@{}", self.name(), self.offset())
    }
}

impl<'t> El<'t> {
    fn data(self) -> &'t NodeData {
        &self.t.nodes[self.i as usize]
    }

    pub(crate) fn name(self) -> &'t str {
        self.t.str(self.data().name)
    }

    /// True when the element is called `name`.
    pub(crate) fn is(self, name: &str) -> bool {
        self.t.bytes(self.data().name) == name.as_bytes()
    }

    /// The element's name as bytes.
    pub(crate) fn name_bytes(self) -> &'t [u8] {
        self.t.bytes(self.data().name)
    }

    pub(crate) fn offset(self) -> usize {
        self.data().offset as usize
    }

    /// Line and column of the `<`.
    pub(crate) fn pos(self) -> Pos {
        self.t.pos(self.offset())
    }

    /// The element path (`/domain/devices/disk[2]`), made on demand.
    pub(crate) fn path(self) -> String {
        self.t.path(self.i)
    }

    pub(crate) fn n_attrs(self) -> usize {
        self.data().n_attrs as usize
    }

    pub(crate) fn attr_at(self, k: usize) -> At<'t> {
        At {
            t: self.t,
            i: self.data().first_attr + k as u32,
        }
    }

    pub(crate) fn attrs(self) -> impl Iterator<Item = At<'t>> {
        (0..self.n_attrs()).map(move |k| self.attr_at(k))
    }

    /// The value of an attribute.
    #[cfg(test)]
    pub(crate) fn attr(self, name: &str) -> Option<&'t str> {
        self.attrs().find(|a| a.name() == name).map(|a| a.value())
    }

    pub(crate) fn children(self) -> impl Iterator<Item = Child<'t>> {
        let t = self.t;
        let mut next = self.data().first_child;
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let i = next;
            let n = &t.nodes[i as usize];
            next = n.next;
            let s = || t.str(n.name);
            Some(match n.kind {
                Kind::Element => Child::Element(El { t, i }),
                Kind::Text => Child::Text(s()),
                Kind::Comment => Child::Comment(s()),
                Kind::Pi => Child::Pi(s()),
            })
        })
    }

    /// Child elements in order.
    pub(crate) fn elements(self) -> impl Iterator<Item = El<'t>> {
        self.children().filter_map(|c| match c {
            Child::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The concatenated character data of the direct children.
    pub(crate) fn text(self) -> String {
        let mut s = String::new();
        for c in self.children() {
            if let Child::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    /// Owned copies of the attributes, with their positions or without.
    fn owned_attrs(self, positions: bool) -> Vec<Attr> {
        self.attrs()
            .map(|a| Attr {
                name: a.name().to_string().into(),
                value: a.value().to_string(),
                pos: if positions { a.pos() } else { Pos::default() },
            })
            .collect()
    }

    /// An owned copy of the subtree exactly as read: positions and whitespace kept.
    #[cfg(test)]
    pub(crate) fn to_element_as_read(self) -> Element {
        Element {
            name: self.name().to_string(),
            attrs: self.owned_attrs(true),
            children: self
                .children()
                .map(|c| match c {
                    Child::Element(e) => Node::Element(e.to_element_as_read()),
                    other => other.owned(),
                })
                .collect(),
            pos: self.pos(),
        }
    }

    /// An owned copy of the subtree without positions, whitespace between elements left out:
    /// how the model keeps content it carries verbatim.
    pub(crate) fn to_element(self) -> Element {
        // Whitespace beside elements, comments or processing instructions is layout (the
        // writer indents such content); text with nothing else is a value and stays.
        let has_markup = self.children().any(|c| !matches!(c, Child::Text(_)));
        Element {
            name: self.name().to_string(),
            attrs: self.owned_attrs(false),
            children: self
                .children()
                .filter(|c| !(has_markup && matches!(c, Child::Text(t) if t.trim().is_empty())))
                .map(|c| c.owned())
                .collect(),
            pos: Pos::default(),
        }
    }
}

/// An attribute of an element of a [`Tree`].
#[derive(Clone, Copy)]
pub(crate) struct At<'t> {
    t: &'t Tree<'t>,
    i: u32,
}

impl<'t> At<'t> {
    fn data(self) -> &'t AttrData {
        &self.t.attrs[self.i as usize]
    }

    pub(crate) fn name(self) -> &'t str {
        self.t.str(self.data().name)
    }

    /// True when the attribute is called `name`.
    pub(crate) fn is(self, name: &str) -> bool {
        self.t.bytes(self.data().name) == name.as_bytes()
    }

    /// The attribute's name as bytes.
    pub(crate) fn name_bytes(self) -> &'t [u8] {
        self.t.bytes(self.data().name)
    }

    /// The value, references resolved and white space normalised.
    pub(crate) fn value(self) -> &'t str {
        self.t.str(self.data().value)
    }

    /// Line and column of the attribute's name.
    pub(crate) fn pos(self) -> Pos {
        self.t.pos(self.data().offset as usize)
    }
}
