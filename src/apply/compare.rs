//! Does a device as it is (libvirt's XML, filled in) match the device as desired (what the
//! user wrote)?
//!
//! Both are written canonically by the codec first, so order and spelling do not matter. What
//! the desired device says must hold in the current one, value for value. What the current
//! one has beyond that is a difference too (a removed `<readonly/>` must be noticed), except
//! what libvirt fills in by itself when the user leaves it out: aliases, addresses, a disk
//! source's `index`, `<backingStore>`, the `<driver>` attributes libvirt defaults, a SCSI
//! controller's default model. Those count only when the desired device sets them.

use crate::xml::{Element, Node};

/// Children libvirt adds when the user leaves them out.
const FILLED_CHILDREN: &[&str] = &["alias", "address", "backingStore", "driver"];

/// Attributes libvirt adds to an element when the user leaves them out, by element name.
fn filled_attr(element: &str, attr: &str) -> bool {
    matches!(
        (element, attr),
        ("source", "index")
            | ("driver", _)
            | ("controller", "model")
            | ("controller", "ports")
            | ("controller", "vectors")
            | ("hostdev", "managed")
            | ("target", "tray")
            | ("disk", "model")
    )
}

/// Where the current device differs from the desired one, as short reasons
/// (`source/@file: '/a.img' → '/b.img'`); empty when it matches.
pub fn differences(current: &Element, desired: &Element) -> Vec<String> {
    let mut out = Vec::new();
    diff_el(current, desired, "", &mut out);
    out
}

fn text_of(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|n| match n {
            Node::Text(t) => Some(t.trim()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("")
}

fn diff_el(cur: &Element, want: &Element, path: &str, out: &mut Vec<String>) {
    let at = |name: &str| {
        if path.is_empty() {
            format!("@{name}")
        } else {
            format!("{path}/@{name}")
        }
    };
    for a in &want.attrs {
        match cur.attr(&a.name) {
            Some(v) if v == a.value => {}
            Some(v) => out.push(format!("{}: '{v}' → '{}'", at(&a.name), a.value)),
            None => out.push(format!("{}: unset → '{}'", at(&a.name), a.value)),
        }
    }
    for a in &cur.attrs {
        if want.attr(&a.name).is_none() && !filled_attr(&cur.name, &a.name) {
            out.push(format!("{}: '{}' → unset", at(&a.name), a.value));
        }
    }
    let (ct, wt) = (text_of(cur), text_of(want));
    if ct != wt {
        let p = if path.is_empty() { "text" } else { path };
        out.push(format!("{p}: '{ct}' → '{wt}'"));
    }
    // Children match by name, in order among those of the same name.
    let mut used = vec![false; cur.children.len()];
    for w in want.elements() {
        let sub = if path.is_empty() {
            w.name.clone()
        } else {
            format!("{path}/{}", w.name)
        };
        let found = cur.children.iter().enumerate().find_map(|(i, n)| match n {
            Node::Element(c) if !used[i] && c.name == w.name => Some((i, c)),
            _ => None,
        });
        match found {
            Some((i, c)) => {
                used[i] = true;
                diff_el(c, w, &sub, out);
            }
            None => out.push(format!("{sub}: added")),
        }
    }
    for (i, n) in cur.children.iter().enumerate() {
        if let Node::Element(c) = n {
            if !used[i] && !FILLED_CHILDREN.contains(&c.name.as_str()) {
                let sub = if path.is_empty() {
                    c.name.clone()
                } else {
                    format!("{path}/{}", c.name)
                };
                out.push(format!("{sub}: removed"));
            }
        }
    }
}

/// True when only the medium of a removable disk differs: the `<source>` (its attributes
/// and children) and nothing else, which libvirt changes in place
/// (`virDomainUpdateDeviceFlags`).
pub fn only_media_differs(current: &Element, desired: &Element) -> bool {
    let strip = |e: &Element| {
        let mut e = e.clone();
        e.children
            .retain(|n| !matches!(n, Node::Element(c) if c.name == "source"));
        e
    };
    differences(&strip(current), &strip(desired)).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        let wrapped = format!("<domain type='qemu'><devices>{xml}</devices></domain>");
        let p = crate::codec::parse_str(&wrapped).unwrap();
        let crate::model::Definition::Domain(d) = p.definition else {
            panic!()
        };
        crate::codec::device_element(&d.devices.items[0]).unwrap()
    }

    #[test]
    fn libvirt_filled_alias_address_and_source_index_are_not_differences() {
        let cur = el("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/a.img' index='2'/><backingStore/><target dev='sda' bus='scsi'/><alias name='scsi0-0-0-0'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>");
        let want = el("<disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='scsi'/></disk>");
        assert_eq!(differences(&cur, &want), Vec::<String>::new());
    }

    #[test]
    fn a_removed_readonly_is_a_difference() {
        let cur = el("<disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='scsi'/><readonly/></disk>");
        let want = el("<disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='scsi'/></disk>");
        assert_eq!(differences(&cur, &want), vec!["readonly: removed"]);
    }

    #[test]
    fn a_changed_source_of_a_cdrom_is_media_only() {
        let cur = el("<disk type='file' device='cdrom'><source file='/a.iso'/><target dev='sdb' bus='scsi'/><readonly/></disk>");
        let want = el("<disk type='file' device='cdrom'><source file='/b.iso'/><target dev='sdb' bus='scsi'/><readonly/></disk>");
        assert_eq!(
            differences(&cur, &want),
            vec!["source/@file: '/a.iso' → '/b.iso'"]
        );
        assert!(only_media_differs(&cur, &want));
    }
}
