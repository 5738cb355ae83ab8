//! The arena a document is read into, built from quick-xml's events: for the whole
//! document in one pass, or for one part of it when `<devices>` is read in pieces
//! ([`super::split`]).

use super::chars::{
    check_attribute_separation, eol, is_xml_name, normalise_attr, not_a_name, unescape,
};
use super::lines::LineIndex;
use super::read::{err, Limits, ParsedDocument, TreeError, TreeErrorKind};
use super::tree::{AttrData, Kind, NodeData, Str, Tree, NONE};
use super::{Node, Pos};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// No node, as the parent of a piece's top-level nodes: the element the piece belongs to,
/// read by another [`Builder`] (see [`super::split`]).
pub(super) const OUTSIDE: u32 = NONE - 1;

/// Which part of the document a [`Builder`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// All of it, in one pass.
    Whole,
    /// From the start up to `<devices>`'s start tag, where [`Builder::pump`] pauses; all of
    /// it when there is no `<devices>`.
    Head,
    /// A run of `<devices>`'s children, on its own: its top-level nodes hang from
    /// [`OUTSIDE`].
    Piece,
    /// From `</devices>` to the end, after the head and the pieces were joined.
    Tail,
}

/// Where [`Builder::pump`] stopped.
pub(super) enum Pause {
    /// At the end of its input.
    Eof,
    /// Just after `<devices>`'s start tag, which ends at this offset.
    Devices(usize),
}

/// What the reader keeps while it reads: the arena being built, for each open element its
/// node and its last child so far (to link the next one), and what lies outside the root.
pub(super) struct Builder<'a> {
    text: &'a str,
    limits: Limits,
    pub(super) nodes: Vec<NodeData>,
    pub(super) attrs: Vec<AttrData>,
    pub(super) made: Vec<Box<str>>,
    pub(super) stack: Vec<(u32, u32)>,
    root: u32,
    /// Elements open around a piece beyond the one its stack starts with, for the depth bound.
    depth_base: usize,
    /// A piece's first top-level node.
    pub(super) first_top: u32,
    declaration: Option<String>,
    prolog: Vec<Node>,
    epilog: Vec<Node>,
    root_done: bool,
}

/// The most nodes and attributes `part` can make (see [`Builder::reserve_for`]).
pub(super) fn room_for(part: &str) -> (usize, usize) {
    let b = part.as_bytes();
    let lt = memchr::memchr_iter(b'<', b).count();
    (2 * lt + 1, memchr::memchr_iter(b'=', b).count())
}

impl<'a> Builder<'a> {
    pub(super) fn new(text: &'a str, limits: Limits) -> Self {
        Builder {
            text,
            limits,
            nodes: Vec::new(),
            attrs: Vec::new(),
            made: Vec::new(),
            stack: Vec::new(),
            root: NONE,
            depth_base: 0,
            first_top: NONE,
            declaration: None,
            prolog: Vec::new(),
            epilog: Vec::new(),
            root_done: false,
        }
    }

    /// A builder for a piece read inside an element that has `depth` open elements around it,
    /// itself included.
    pub(super) fn piece(text: &'a str, limits: Limits, depth: usize) -> Self {
        let mut b = Builder::new(text, limits);
        b.stack.push((OUTSIDE, NONE));
        b.depth_base = depth.saturating_sub(1);
        b.root_done = true;
        b
    }

    /// Make room for the nodes and attributes of `part` at once. A big document's arena
    /// otherwise grows by doubling: each step copies it, and what it leaves behind is
    /// garbage as large as the arena. The room is a bound, not a guess: every node but text
    /// starts with a `<`, text nodes lie between them (neighbouring text is one node), and
    /// every attribute has its `=`. Counting is a vectorized pass (about 0.1 ms a megabyte);
    /// room that is never filled is never touched, so costs address space, not memory.
    pub(super) fn reserve_for(&mut self, part: &str) {
        let (nodes, attrs) = room_for(part);
        self.nodes.reserve(nodes);
        self.attrs.reserve(attrs);
    }

    /// How many elements are open, around a piece included.
    pub(super) fn depth(&self) -> usize {
        self.depth_base + self.stack.len()
    }

    fn str(&self, s: Str) -> &str {
        s.get(self.text, &self.made)
    }

    /// A string the reader made.
    fn make(&mut self, s: impl Into<Box<str>>) -> Str {
        self.made.push(s.into());
        Str::made(self.made.len() - 1)
    }

    /// Where a slice of the text lies in it. Events borrow from the text, so a slice is
    /// located by its address.
    fn range_of(&self, s: &[u8]) -> Option<Str> {
        let o = (s.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        (o <= self.text.len() && s.len() <= self.text.len() - o).then(|| Tree::range(o, s.len()))
    }

    /// Link a new node as the last child of the innermost open element.
    fn push_node(&mut self, mut n: NodeData) -> u32 {
        let id = self.nodes.len() as u32;
        if let Some((parent, last)) = self.stack.last_mut() {
            n.parent = *parent;
            if *last != NONE {
                self.nodes[*last as usize].next = id;
            } else if *parent == OUTSIDE {
                self.first_top = id;
            } else {
                self.nodes[*parent as usize].first_child = id;
            }
            *last = id;
        }
        self.nodes.push(n);
        id
    }

    /// Character data: joined to the text just before it, if any, as one text node.
    fn push_text(&mut self, s: Str, offset: usize) {
        if let Some(&(_, last)) = self.stack.last() {
            if last != NONE && self.nodes[last as usize].kind == Kind::Text {
                let prev = self.nodes[last as usize].name;
                let joined = format!("{}{}", self.str(prev), self.str(s));
                self.nodes[last as usize].name = self.make(joined);
                return;
            }
        }
        self.push_node(leaf(Kind::Text, s, offset));
    }

    /// Read events from `reader`, which reads the text from offset `base` on, until its end
    /// (or, for the head, until `<devices>` opens).
    pub(super) fn pump(
        &mut self,
        reader: &mut Reader<&'a [u8]>,
        base: usize,
        part: Part,
    ) -> Result<Pause, TreeError> {
        let text = self.text;
        // Positions of errors: the line index is built only when there is one.
        let at = |offset: usize| LineIndex::new(text).pos(text, offset);
        loop {
            let start = base + reader.buffer_position() as usize;
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    return Err(err(
                        TreeErrorKind::Syntax,
                        format!("malformed XML: {e}"),
                        Some("check that every element is closed and every attribute value is quoted"),
                        at(base + reader.error_position() as usize),
                    ));
                }
            };
            match event {
                Event::Start(_) | Event::Empty(_) if self.root_done && self.stack.is_empty() => {
                    return Err(err(
                        TreeErrorKind::Syntax,
                        "malformed XML: more than one root element",
                        Some("a document holds exactly one <domain> or <pool>"),
                        at(start),
                    ));
                }
                Event::Start(ref e) | Event::Empty(ref e) => {
                    if self.depth() + 1 > self.limits.max_depth {
                        return Err(err(
                            TreeErrorKind::Bound,
                            format!("elements nest deeper than the limit of {}", self.limits.max_depth),
                            Some("raise the bound with --max-depth if this file is genuine"),
                            at(start),
                        ));
                    }
                    let id = self.start_element(e, start)?;
                    if self.stack.is_empty() {
                        self.root = id;
                        self.root_done = true;
                    }
                    if matches!(event, Event::Start(_)) {
                        self.stack.push((id, NONE));
                        if part == Part::Head && self.stack.len() == 2 && e.name().as_ref() == b"devices" {
                            return Ok(Pause::Devices(base + reader.buffer_position() as usize));
                        }
                    }
                }
                Event::End(ref e) => {
                    // quick-xml checks end names and unmatched ends for us, except in the
                    // tail, which closes elements its reader never saw open.
                    let closes = match self.stack.pop() {
                        Some((open, _)) if open != OUTSIDE => open,
                        _ => return Err(err(TreeErrorKind::Syntax, "malformed XML: unexpected end tag", None, at(start))),
                    };
                    if part != Part::Whole && self.str(self.nodes[closes as usize].name).as_bytes() != e.name().as_ref() {
                        return Err(err(TreeErrorKind::Syntax, "malformed XML: mismatched end tag", None, at(start)));
                    }
                }
                Event::Text(t) => {
                    let raw = as_str(text, &t);
                    let hint = "only the five predefined entities (&amp; &lt; &gt; &apos; &quot;) and character references are accepted";
                    let s = match self.range_of(raw.as_bytes()) {
                        Some(r) if !raw.contains(['&', '\r']) => r,
                        _ => {
                            let v = unescape(&eol(raw), "", hint)
                                .map_err(|(kind, message, hint)| err(kind, message, Some(hint), at(start)))?;
                            self.make(v)
                        }
                    };
                    if !self.stack.is_empty() {
                        self.push_text(s, start);
                    } else if !self.str(s).trim().is_empty() {
                        return Err(err(
                            TreeErrorKind::Syntax,
                            "malformed XML: text outside the root element",
                            None,
                            at(start),
                        ));
                    }
                }
                Event::CData(c) => {
                    if self.stack.is_empty() {
                        return Err(err(
                            TreeErrorKind::Syntax,
                            "malformed XML: CDATA outside the root element",
                            None,
                            at(start),
                        ));
                    }
                    let s = self.content(&c);
                    self.push_text(s, start);
                }
                Event::Comment(c) => self.misc(Kind::Comment, &c, start),
                Event::PI(p) => self.misc(Kind::Pi, &p, start),
                Event::Decl(_) => {
                    // XML 1.0 §2.8: the declaration, when there is one, is the very first thing
                    // (after a byte order mark). libxml2 refuses one anywhere else.
                    let end = base + reader.buffer_position() as usize;
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
                    self.declaration = Some(eol(decl.trim()).into_owned());
                }
                Event::DocType(_) => {
                    return Err(err(
                        TreeErrorKind::Entity,
                        "document type declarations (<!DOCTYPE …>) are not accepted",
                        Some("remove the DOCTYPE: libvirt XML has none, and entities are refused to rule out entity expansion attacks"),
                        at(start),
                    ))
                }
                Event::Eof => return Ok(Pause::Eof),
            }
        }
    }

    /// The document, once the whole of it was read.
    pub(super) fn finish(self) -> Result<ParsedDocument<'a>, TreeError> {
        let text = self.text;
        let at = |offset: usize| LineIndex::new(text).pos(text, offset);
        if let Some(&(open, _)) = self.stack.last() {
            return Err(err(
                TreeErrorKind::Syntax,
                format!(
                    "malformed XML: <{}> is never closed (the input ends early)",
                    self.str(self.nodes[open as usize].name)
                ),
                Some("the file looks truncated"),
                at(text.len()),
            ));
        }
        if !self.root_done {
            return Err(err(
                TreeErrorKind::Syntax,
                "malformed XML: no root element",
                Some("the file is empty or holds only comments"),
                at(text.len()),
            ));
        }
        // The arenas keep the room `reserve_for` made: what was never filled was never
        // touched, and giving it back would copy the arena where the allocator cannot
        // shrink a block in place.
        // The tree reads the caller's text; it is copied only if the tree is kept.
        let tree = Tree::from_parts(
            std::borrow::Cow::Borrowed(text),
            self.nodes,
            self.attrs,
            self.made,
            self.root,
        );
        Ok(ParsedDocument {
            declaration: self.declaration,
            prolog: self.prolog,
            tree,
            epilog: self.epilog,
        })
    }

    /// A comment or processing instruction: a node of the tree inside the root, else part of
    /// the prolog or epilog.
    fn misc(&mut self, kind: Kind, raw: &[u8], offset: usize) {
        if self.stack.is_empty() {
            let s = eol(&String::from_utf8_lossy(raw)).into_owned();
            let node = if kind == Kind::Comment {
                Node::Comment(s)
            } else {
                Node::Pi(s)
            };
            if self.root_done {
                self.epilog.push(node)
            } else {
                self.prolog.push(node)
            }
        } else {
            let s = self.content(raw);
            self.push_node(leaf(kind, s, offset));
        }
    }

    /// The content of CDATA, a comment or a processing instruction, line ends handled: a range
    /// of the text unless a carriage return had to go.
    fn content(&mut self, raw: &[u8]) -> Str {
        match self.range_of(raw) {
            Some(r) if !raw.contains(&b'\r') => r,
            _ => {
                let s = eol(&String::from_utf8_lossy(raw)).into_owned();
                self.make(s)
            }
        }
    }

    fn start_element(&mut self, e: &BytesStart<'_>, offset: usize) -> Result<u32, TreeError> {
        let text = self.text;
        let limits = self.limits;
        let at = |o: usize| LineIndex::new(text).pos(text, o);
        let qname = e.name();
        let name_bytes = qname.as_ref();
        let name = as_str(text, name_bytes);
        if !is_xml_name(name) {
            return Err(not_a_name("an element", name, at(offset)));
        }
        check_attribute_separation(e, text, name)?;
        let first_attr = self.attrs.len() as u32;
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
            let value = match self.range_of(raw.as_bytes()) {
                Some(r) if !raw.contains(['&', '\r', '\t', '\n']) => r,
                _ => {
                    let v = unescape(
                        &normalise_attr(raw),
                        " in attribute",
                        "only the five predefined entities and character references are accepted",
                    )
                    .map_err(|(kind, message, hint)| err(kind, message, Some(hint), at(aoff)))?;
                    self.make(v)
                }
            };
            let len = self.str(value).len();
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
            let key_str = match self.range_of(key) {
                Some(r) => r,
                None => self.make(String::from_utf8_lossy(key)),
            };
            self.attrs.push(AttrData {
                offset: aoff as u32,
                name: key_str,
                value,
            });
        }
        self.check_unique_attributes(first_attr as usize, name, &at)?;
        let name = match self.range_of(name_bytes) {
            Some(r) => r,
            None => self.make(name),
        };
        let n_attrs = self.attrs.len() as u32 - first_attr;
        Ok(self.push_node(NodeData {
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

    /// XML 1.0 §3.1 (well-formedness constraint "Unique Att Spec"): an attribute appears at
    /// most once in an element, as libxml2 requires ("Attribute x redefined"). A few
    /// attributes are compared pairwise; many go through a set, so the check stays linear.
    fn check_unique_attributes(
        &self,
        first: usize,
        element: &str,
        at: &impl Fn(usize) -> Pos,
    ) -> Result<(), TreeError> {
        let attrs = &self.attrs[first..];
        let dup = if attrs.len() <= 16 {
            (1..attrs.len()).find(|&i| {
                let n = self.str(attrs[i].name);
                attrs[..i].iter().any(|a| self.str(a.name) == n)
            })
        } else {
            let mut seen = std::collections::HashSet::with_capacity(attrs.len());
            (0..attrs.len()).find(|&i| !seen.insert(self.str(attrs[i].name)))
        };
        match dup {
            None => Ok(()),
            Some(i) => Err(err(
                TreeErrorKind::Syntax,
                format!(
                    "malformed XML: attribute {} appears twice in <{element}>",
                    crate::diag::quote(self.str(attrs[i].name))
                ),
                Some("an attribute may be given once per element; remove one of them"),
                at(attrs[i].offset as usize),
            )),
        }
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
