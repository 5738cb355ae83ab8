//! A cursor over one element that records which attributes and children were read, so that
//! whatever was not read is kept (in [`Extra`]) and reported as unknown, with a did-you-mean.

use super::names::{name_bit, List, Names, Pool};
use crate::diag::{clip, codes, quote, Code, Diagnostic};
use crate::model::{ChildExtra, Extra, Hex, XmlEnum};
use crate::xml::{At, Child, El, Element, Node};
use std::cell::{Cell, RefCell};

/// Collects diagnostics while a document is read.
#[derive(Default)]
pub(crate) struct Ctx {
    pub diags: RefCell<Vec<Diagnostic>>,
    /// Buffers for the names each element's reader is given (see [`Names`]).
    names: Pool,
}

impl Ctx {
    pub fn push(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }
}

/// Keep the unknown content of a single-valued child under `key` (nothing when there is none).
pub(crate) fn keep(kept: &mut ChildExtra, key: &str, extra: Extra) {
    if !extra.is_empty() {
        kept.insert(key.to_string(), extra);
    }
}

/// Write back what [`keep`] kept under `key`, after the child's value.
pub(crate) fn apply_kept(el: &mut Element, kept: &ChildExtra, key: &str) {
    if let Some(x) = kept.get(key) {
        x.apply(el);
    }
}

/// Suggest the closest of `known` to `got`, if it is close enough to be a typo.
pub fn did_you_mean<'k>(got: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let mut best: Option<(&str, usize)> = None;
    for k in known {
        let d = if k.eq_ignore_ascii_case(got) {
            0
        } else {
            strsim::levenshtein(got, k)
        };
        let limit = if k.len() <= 4 { 1 } else { 2 };
        if d <= limit && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((k, d));
        }
    }
    best.map(|(k, _)| k)
}

/// Which attributes or children of an element were read: a bit each, in a word for the first
/// 64 and in a vector beyond (only `<devices>` has more).
struct Used {
    low: Cell<u64>,
    high: Vec<Cell<bool>>,
}

impl Used {
    fn new(n: usize) -> Self {
        Used {
            low: Cell::new(0),
            high: (64..n.max(64)).map(|_| Cell::new(false)).collect(),
        }
    }

    fn set(&self, i: usize) {
        match i.checked_sub(64) {
            None => self.low.set(self.low.get() | 1 << i),
            Some(k) => self.high[k].set(true),
        }
    }

    fn get(&self, i: usize) -> bool {
        match i.checked_sub(64) {
            None => self.low.get() & 1 << i != 0,
            Some(k) => self.high[k].get(),
        }
    }
}

pub(crate) struct R<'a> {
    cx: &'a Ctx,
    pub el: El<'a>,
    /// [`name_bit`]s of the element's attributes and child elements.
    attr_bits: u64,
    child_bits: u64,
    attr_used: Used,
    child_used: Used,
    attr_names: Names<'a>,
    child_names: Names<'a>,
    text_read: Cell<bool>,
    pass_all: Cell<bool>,
}

impl<'a> R<'a> {
    pub fn new(cx: &'a Ctx, el: El<'a>) -> Self {
        let (mut children, mut child_bits) = (0, 0);
        for c in el.elements() {
            children += 1;
            child_bits |= name_bit(c.name_bytes());
        }
        R {
            cx,
            el,
            attr_bits: el.attrs().fold(0, |b, a| b | name_bit(a.name_bytes())),
            child_bits,
            attr_used: Used::new(el.n_attrs()),
            child_used: Used::new(children),
            attr_names: Names::new(&cx.names),
            child_names: Names::new(&cx.names),
            text_read: Cell::new(false),
            pass_all: Cell::new(false),
        }
    }

    pub fn cx(&self) -> &'a Ctx {
        self.cx
    }

    /// The element path (`/domain/devices/disk[3]`), made when a diagnostic needs it.
    pub fn path(&self) -> String {
        self.el.path()
    }

    fn attr_path(&self, name: &str) -> String {
        format!("{}/@{name}", self.path())
    }

    fn emit(
        &self,
        code: Code,
        path: String,
        msg: String,
        hint: Option<String>,
        at: Option<At<'a>>,
    ) {
        let mut d = Diagnostic::new(code, path, msg).at(match at {
            Some(a) => a.pos(),
            None => self.el.pos(),
        });
        d.hint = hint;
        self.cx.push(d);
    }

    /// Report an error about this element.
    pub fn error(&self, code: Code, msg: impl Into<String>, hint: Option<&str>) {
        self.emit(
            code,
            self.path(),
            msg.into(),
            hint.map(str::to_string),
            None,
        );
    }

    /// The raw attribute, marked as read.
    pub fn attr_raw(&self, name: &'static str) -> Option<At<'a>> {
        self.attr_names.one(name);
        if self.attr_bits & name_bit(name.as_bytes()) == 0 {
            return None;
        }
        let i = self.el.attrs().position(|a| a.is(name))?;
        self.attr_used.set(i);
        Some(self.el.attr_at(i))
    }

    /// A string attribute.
    pub fn string(&self, name: &'static str) -> Option<String> {
        self.attr_raw(name).map(|a| a.value().to_string())
    }

    /// A string attribute that must be present.
    pub fn req_string(&self, name: &'static str) -> Option<String> {
        let v = self.string(name);
        if v.is_none() {
            self.missing_attr(name);
        }
        v
    }

    pub fn missing_attr(&self, name: &str) {
        let el = self.el.name();
        self.emit(
            codes::E005,
            self.attr_path(name),
            format!("<{el}> needs a '{name}' attribute"),
            Some(format!("add {name}='…' to <{el}>")),
            None,
        );
    }

    /// An attribute parsed by `f`; a value `f` refuses is an E003 error described by `what`.
    pub fn parse_with<T>(
        &self,
        name: &'static str,
        what: &str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let a = self.attr_raw(name)?;
        match f(a.value().trim()) {
            Some(v) => Some(v),
            None => {
                self.emit(
                    codes::E003,
                    self.attr_path(name),
                    format!(
                        "{name}={} on <{}> is not {what}",
                        quote(a.value()),
                        clip(self.el.name())
                    ),
                    Some(format!("write {name} as {what}")),
                    Some(a),
                );
                None
            }
        }
    }

    /// A decimal unsigned attribute (libvirt's `virXMLPropUInt(…, 10, …)`).
    pub fn u32(&self, name: &'static str) -> Option<u32> {
        self.parse_with(
            name,
            "a decimal number between 0 and 4294967295",
            parse_dec::<u32>,
        )
    }

    /// A decimal unsigned 64-bit attribute.
    pub fn u64(&self, name: &'static str) -> Option<u64> {
        self.parse_with(
            name,
            "a decimal number between 0 and 18446744073709551615",
            parse_dec::<u64>,
        )
    }

    /// A number in libvirt's base-0 reading, written back in hex.
    pub fn hex(&self, name: &'static str) -> Option<Hex> {
        self.parse_with(
            name,
            "a number (decimal, or hexadecimal with 0x)",
            Hex::parse,
        )
    }

    /// An attribute from a closed vocabulary; anything else is E004 with a did-you-mean.
    pub fn enumerated<E: XmlEnum>(&self, name: &'static str) -> Option<E> {
        let a = self.attr_raw(name)?;
        match E::from_xml(a.value()) {
            Some(v) => Some(v),
            None => {
                let hint = match did_you_mean(a.value(), E::NAMES.iter().copied()) {
                    Some(s) => format!(
                        "did you mean '{s}'? Accepted values: {}",
                        E::NAMES.join(", ")
                    ),
                    None => format!("accepted values: {}", E::NAMES.join(", ")),
                };
                self.emit(
                    codes::E004,
                    self.attr_path(name),
                    format!(
                        "{name}={} is not a valid {name} for <{}>",
                        quote(a.value()),
                        clip(self.el.name())
                    ),
                    Some(hint),
                    Some(a),
                );
                None
            }
        }
    }

    /// The only child of that name; a second one is E009.
    pub fn child(&self, name: &'static str) -> Option<R<'a>> {
        self.child_names.one(name);
        if self.child_bits & name_bit(name.as_bytes()) == 0 {
            return None;
        }
        let (mut first, mut second) = (None, None);
        for (i, c) in self.el.elements().enumerate() {
            if c.is(name) {
                self.child_used.set(i);
                if first.is_none() {
                    first = Some(c);
                } else if second.is_none() {
                    second = Some(c);
                }
            }
        }
        if let Some(second) = second {
            self.cx.push(
                Diagnostic::new(
                    codes::E009,
                    second.path(),
                    format!("<{name}> may appear only once in <{}>", self.el.name()),
                )
                .hint(format!("remove or merge the extra <{name}>"))
                .at(second.pos()),
            );
        }
        first.map(|c| R::new(self.cx, c))
    }

    /// Every child of that name, in order.
    pub fn children(&self, name: &'static str) -> Vec<R<'a>> {
        self.child_names.one(name);
        let mut out = Vec::new();
        if self.child_bits & name_bit(name.as_bytes()) == 0 {
            return out;
        }
        for (i, c) in self.el.elements().enumerate() {
            if c.is(name) {
                self.child_used.set(i);
                out.push(R::new(self.cx, c));
            }
        }
        out
    }

    /// Presence of an empty marker element (`<readonly/>`); its unknown content goes to `kept`.
    pub fn flag(&self, name: &'static str, kept: &mut ChildExtra) -> bool {
        self.child(name)
            .map(|c| keep(kept, name, c.finish()))
            .is_some()
    }

    /// Children of these names, verbatim and in document order (libvirt content domxml does
    /// not model but knows).
    pub fn opaque(&self, names: &'static [&'static str]) -> Vec<Element> {
        let mut out = Vec::new();
        for (i, c) in self.el.elements().enumerate() {
            if names.contains(&c.name()) {
                self.child_used.set(i);
                out.push(c.to_element());
            }
        }
        self.child_names.list(List::Listed(names));
        out
    }

    /// Attributes libvirt defines that domxml carries without interpreting: kept in
    /// [`Extra`] by [`finish`](Self::finish) without a warning.
    pub fn pass(&self, names: &'static [&'static str]) {
        self.attr_names.list(List::Passed(names));
    }

    /// Child elements libvirt defines that domxml carries without interpreting (`<iotune>`,
    /// `<backingStore>`): kept in [`Extra`] without a warning.
    pub fn pass_children(&self, names: &'static [&'static str]) {
        self.child_names.list(List::Passed(names));
    }

    /// Keep everything not read yet without warnings: for elements whose other content is
    /// libvirt syntax domxml carries but does not model (non-SCSI controllers).
    pub fn pass_everything(&self) {
        self.pass_all.set(true);
    }

    /// The text content.
    pub fn text(&self) -> String {
        self.text_read.set(true);
        self.el.text()
    }

    /// The text of a single-valued child element; its unknown content goes to `kept`.
    pub fn child_text(&self, name: &'static str, kept: &mut ChildExtra) -> Option<String> {
        self.child(name).map(|c| {
            let t = c.text();
            keep(kept, name, c.finish());
            t
        })
    }

    /// A child's text parsed as a decimal number.
    pub fn child_number<T: std::str::FromStr>(
        &self,
        name: &'static str,
        kept: &mut ChildExtra,
    ) -> Option<T> {
        let c = self.child(name)?;
        let t = c.text();
        let v = parse_dec::<T>(t.trim());
        if v.is_none() {
            self.cx.push(
                Diagnostic::new(
                    codes::E003,
                    c.path(),
                    format!("<{name}>{}</{name}> is not a decimal number", clip(&t)),
                )
                .hint(format!("write a whole number inside <{name}>"))
                .at(c.el.pos()),
            );
        }
        keep(kept, name, c.finish());
        v
    }

    /// Keep whatever was not read and report it as unknown.
    pub fn finish(self) -> Extra {
        let mut extra = Extra::default();
        for (i, a) in self.el.attrs().enumerate() {
            if self.attr_used.get(i) {
                continue;
            }
            let name = a.name();
            extra.attrs.push((name.to_string(), a.value().to_string()));
            // Namespace declarations and namespaced attributes are extensions, not mistakes.
            if name.contains(':')
                || name == "xmlns"
                || self.pass_all.get()
                || self.attr_names.passed(name)
            {
                continue;
            }
            let mut d = Diagnostic::new(
                codes::W002,
                format!("{}/@{name}", self.path()),
                format!(
                    "unknown attribute {} on <{}> (kept as written)",
                    quote(name),
                    clip(self.el.name())
                ),
            )
            .at(a.pos());
            if let Some(s) = did_you_mean(name, self.attr_names.all()) {
                d = d.hint(format!("did you mean '{s}'?"));
            }
            self.cx.push(d);
        }
        if !self.text_read.get() {
            stray_text(self.cx, self.el);
        }
        let mut elem_i = 0;
        for n in self.el.children() {
            match n {
                Child::Element(c) => {
                    let i = elem_i;
                    elem_i += 1;
                    if self.child_used.get(i) {
                        continue;
                    }
                    extra.children.push(Node::Element(c.to_element()));
                    let name = c.name();
                    if name.contains(':') || self.pass_all.get() || self.child_names.passed(name) {
                        continue;
                    }
                    let mut d = Diagnostic::new(
                        codes::W001,
                        c.path(),
                        format!(
                            "unknown element <{}> in <{}> (kept as written)",
                            clip(name),
                            clip(self.el.name())
                        ),
                    )
                    .at(c.pos());
                    if let Some(s) = did_you_mean(name, self.child_names.all()) {
                        d = d.hint(format!("did you mean <{s}>?"));
                    }
                    self.cx.push(d);
                }
                Child::Comment(c) => extra.children.push(Node::Comment(c.to_string())),
                Child::Pi(p) => extra.children.push(Node::Pi(p.to_string())),
                // Text where libvirt expects elements only: reported by `stray_text`.
                Child::Text(_) => {}
            }
        }
        extra
    }
}

/// Report text between the elements of an element whose content is elements only (W004).
/// libvirt reads such elements through XPath and never sees the text, so it is left out of
/// the model (and so out of `fmt`'s output), like libvirt's own `virsh dumpxml` does — and
/// said so, once per element.
pub(crate) fn stray_text(cx: &Ctx, el: El<'_>) {
    let mut text = String::new();
    for n in el.children() {
        if let Child::Text(t) = n {
            if !t.trim().is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(t.trim());
            }
        }
    }
    if text.is_empty() {
        return;
    }
    cx.push(
        Diagnostic::new(
            codes::W004,
            el.path(),
            format!(
                "text {} in <{}> is not libvirt syntax: libvirt ignores text between elements, and `domxml fmt` leaves it out",
                quote(&text),
                el.name()
            ),
        )
        .hint(format!(
            "remove the text, or make it a comment (<!-- … -->) inside <{}>",
            el.name()
        ))
        .at(el.pos()),
    );
}

/// Decimal as libvirt's `virStrToLong_*(…, 10, …)`: optional surrounding whitespace, digits only.
pub(crate) fn parse_dec<T: std::str::FromStr>(s: &str) -> Option<T> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
