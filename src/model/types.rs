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
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Extra {
    /// Unknown attributes, in document order.
    pub attrs: Vec<(String, String)>,
    /// Unknown child elements and comments, in document order.
    pub children: Vec<Node>,
}

impl Extra {
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
