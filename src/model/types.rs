//! Small shared value types.

use super::xml_enum;
use crate::xml::{Element, Node};

xml_enum! {
    /// libvirt's yes/no.
    pub enum YesNo { Yes = "yes", No = "no" }
}
xml_enum! {
    /// libvirt's on/off.
    pub enum OnOff { On = "on", Off = "off" }
}

/// A number libvirt writes in hex with a fixed width (`0x001f`), read in any base libvirt
/// accepts (decimal, `0x` hex, leading-zero octal).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Hex(pub u32);

impl Hex {
    /// Parse the way libvirt's `virStrToLong_uip(…, 0, …)` does: base from the prefix.
    pub fn parse(s: &str) -> Option<Hex> {
        let t = s.trim();
        let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            u32::from_str_radix(h, 16).ok()?
        } else if t.len() > 1 && t.starts_with('0') {
            u32::from_str_radix(&t[1..], 8).ok()?
        } else {
            t.parse().ok()?
        };
        Some(Hex(v))
    }

    /// Write as libvirt does: `0x` and at least `width` hex digits.
    pub fn format(self, width: usize) -> String {
        format!("0x{:0width$x}", self.0, width = width)
    }
}

/// `<boot order='N'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Boot {
    /// Boot order, 1-based.
    pub order: Option<u32>,
    /// Unknown content.
    pub extra: Extra,
}

/// What [`Extra`] is for an element, for the children of a typed element that hold a single
/// value and so have no model of their own (`<name>`, `<serial>`, `<alias name>`,
/// `<readonly/>`): their unknown attributes, child elements and comments, by child name (a
/// nested child as `initiator/iqn`). Written back on that child, after its value.
pub type ChildExtra = std::collections::BTreeMap<String, Extra>;

/// Attributes and children of a typed element that domxml does not model. They are written
/// back after the known ones, in the order they were read.
///
/// Nearly every element has none, and a big domain has hundreds of thousands of elements, so
/// an empty `Extra` is one null pointer (8 bytes, where two vectors took 48) and what was kept
/// lives in a [`Kept`] behind a box. Read and change it through `Deref`/`DerefMut` to
/// [`Kept`] (`extra.attrs`, `extra.children.push(…)`); a change allocates the box. Two
/// `Extra`s are equal when they hold the same content, boxed or not. `Debug` and serde see
/// the fields `attrs` and `children`, as before.
///
/// ```
/// use domxml::model::Extra;
/// let mut e = Extra::default();
/// assert!(e.is_empty());
/// e.attrs.push(("x".into(), "1".into()));
/// assert_eq!(e, Extra::new(vec![("x".into(), "1".into())], vec![]));
/// assert_eq!(std::mem::size_of::<Extra>(), 8);
/// ```
#[derive(Clone, Default)]
pub struct Extra(Option<Box<Kept>>);

/// What an [`Extra`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename = "Extra")]
pub struct Kept {
    /// Unknown attributes, in document order.
    pub attrs: Vec<(String, String)>,
    /// Unknown child elements and comments, in document order.
    pub children: Vec<Node>,
}

static NOTHING_KEPT: Kept = Kept {
    attrs: Vec::new(),
    children: Vec::new(),
};

impl Extra {
    /// Kept attributes and children.
    pub fn new(attrs: Vec<(String, String)>, children: Vec<Node>) -> Extra {
        Extra::from(Kept { attrs, children })
    }

    /// True when nothing unknown was kept.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty()
    }

    /// Append the kept attributes and children to an element being written.
    pub fn apply(&self, el: &mut Element) {
        for (k, v) in &self.attrs {
            el.push_attr(k.clone(), v.clone());
        }
        el.children.extend(self.children.iter().cloned());
    }
}

impl From<Kept> for Extra {
    fn from(k: Kept) -> Extra {
        if k.attrs.is_empty() && k.children.is_empty() {
            Extra(None)
        } else {
            Extra(Some(Box::new(k)))
        }
    }
}

impl std::ops::Deref for Extra {
    type Target = Kept;
    fn deref(&self) -> &Kept {
        self.0.as_deref().unwrap_or(&NOTHING_KEPT)
    }
}

impl std::ops::DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Kept {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Extra) -> bool {
        **self == **other
    }
}

impl Eq for Extra {}

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extra")
            .field("attrs", &self.attrs)
            .field("children", &self.children)
            .finish()
    }
}

impl serde::Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Extra {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Extra, D::Error> {
        Kept::deserialize(d).map(Extra::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A big domain is hundreds of thousands of these, and the memory (and the page faults
    /// and cache misses behind it) grows with their size: a field added inline where a box
    /// or an `Extra` would do shows here first.
    #[test]
    fn the_model_of_a_device_stays_small() {
        use crate::model::{Controller, DeviceAddress, Disk, Hostdev};
        use std::mem::size_of;
        assert_eq!(size_of::<Extra>(), 8);
        assert!(
            size_of::<DeviceAddress>() <= 64,
            "{}",
            size_of::<DeviceAddress>()
        );
        assert!(size_of::<Disk>() <= 900, "{}", size_of::<Disk>());
        assert!(size_of::<Hostdev>() <= 912, "{}", size_of::<Hostdev>());
        assert!(
            size_of::<Controller>() <= 640,
            "{}",
            size_of::<Controller>()
        );
    }

    #[test]
    fn an_extra_emptied_after_a_change_equals_an_untouched_one() {
        let mut touched = Extra::default();
        touched.attrs.push(("a".into(), "1".into()));
        touched.attrs.clear();
        assert_eq!(touched, Extra::default());
        assert!(touched.is_empty());
        assert_ne!(Extra::new(vec![("a".into(), "1".into())], vec![]), touched);
    }

    #[test]
    fn an_extra_reads_writes_and_prints_as_the_two_vectors_it_holds() {
        let e = Extra::new(
            vec![("k".into(), "v".into())],
            vec![Node::Comment(" c ".into())],
        );
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"attrs":[["k","v"]],"children":[{"Comment":" c "}]}"#
        );
        assert_eq!(serde_json::from_str::<Extra>(&json).unwrap(), e);
        let empty: Extra = serde_json::from_str(r#"{"attrs":[],"children":[]}"#).unwrap();
        assert_eq!(empty.0, None, "empty content is not boxed");
        assert_eq!(
            format!("{:?}", Extra::default()),
            "Extra { attrs: [], children: [] }"
        );
        assert_eq!(
            format!("{e:?}"),
            r#"Extra { attrs: [("k", "v")], children: [Comment(" c ")] }"#
        );
    }
}
