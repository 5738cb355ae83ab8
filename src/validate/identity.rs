//! Aliases and PCI addresses: duplicates libvirt does not catch before QEMU does.

use super::Cx;
use crate::diag::{codes, Diagnostic};
use crate::model::{Device, Hex, HostdevType, PciAddress};
use crate::xml::Element;
use std::collections::HashMap;

fn other_alias(e: &Element) -> Option<String> {
    e.elements()
        .find(|c| c.name == "alias")
        .and_then(|a| a.attr("name"))
        .map(str::to_string)
}

fn other_pci(e: &Element) -> Option<PciAddress> {
    let a = e
        .elements()
        .find(|c| c.name == "address" && c.attr("type") == Some("pci"))?;
    let f = |n: &str| a.attr(n).and_then(Hex::parse);
    Some(PciAddress {
        domain: f("domain"),
        bus: f("bus"),
        slot: f("slot"),
        function: f("function"),
        multifunction: None,
    })
}

fn check_range(a: &PciAddress, path: &str, out: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    for (name, v, max) in [
        ("domain", a.domain, 0xffff),
        ("bus", a.bus, 0xff),
        ("slot", a.slot, 0x1f),
        ("function", a.function, 7),
    ] {
        if let Some(v) = v {
            if v.0 > max {
                ok = false;
                out.push(
                    Diagnostic::new(
                        codes::E083,
                        format!("{path}/@{name}"),
                        format!("PCI {name} {:#x} is out of range (at most {max:#x})", v.0),
                    )
                    .hint(
                        "PCI addresses have domain ≤ 0xffff, bus ≤ 0xff, slot ≤ 0x1f, function ≤ 7",
                    ),
                );
            }
        }
    }
    ok
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let mut aliases: HashMap<String, usize> = HashMap::new();
    let mut guest_pci: HashMap<String, usize> = HashMap::new();
    let mut host_pci: HashMap<String, usize> = HashMap::new();
    for (i, item) in cx.domain.devices.items.iter().enumerate() {
        let p = cx.path(i);
        let (alias, pci) = match item {
            Device::Disk(d) => (
                d.alias.clone(),
                d.address.as_ref().and_then(|a| a.as_pci()).cloned(),
            ),
            Device::Controller(c) => (
                c.alias.clone(),
                c.address.as_ref().and_then(|a| a.as_pci()).cloned(),
            ),
            Device::Hostdev(h) => (
                h.alias.clone(),
                h.address.as_ref().and_then(|a| a.as_pci()).cloned(),
            ),
            Device::Other(e) => (other_alias(e), other_pci(e)),
            _ => (None, None),
        };
        if let Some(a) = alias {
            match a.strip_prefix("ua-") {
                Some(rest)
                    if rest.is_empty()
                        || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    out.push(
                        Diagnostic::new(
                            codes::E081,
                            format!("{p}/alias/@name"),
                            format!("user alias {a} must be 'ua-' followed by letters, digits, '_' or '-'", a = crate::diag::quote(&a)),
                        )
                        .hint("e.g. <alias name='ua-boot-disk'/>"),
                    );
                }
                Some(_) => {}
                // Live XML (`<domain id=…>`, what `virsh dumpxml` prints for a running
                // domain) carries libvirt's own aliases on every device.
                None if cx.domain.id.is_some() => {}
                None => out.push(
                    Diagnostic::new(
                        codes::W003,
                        format!("{p}/alias/@name"),
                        format!("alias {a} is not a user alias: libvirt drops it when the domain is defined", a = crate::diag::quote(&a)),
                    )
                    .hint(format!(
                        "name it 'ua-{a}' to keep it; aliases without 'ua-' only appear in the XML of a running domain"
                    )),
                ),
            }
            if let Some(first) = aliases.insert(a.clone(), i) {
                out.push(
                    Diagnostic::new(
                        codes::E080,
                        format!("{p}/alias/@name"),
                        format!(
                            "alias {a} is already used by {}",
                            cx.path(first),
                            a = crate::diag::quote(&a)
                        ),
                    )
                    .hint("aliases become QEMU device ids and must be unique"),
                );
            }
        }
        if let Some(a) = pci {
            let ap = format!("{p}/address");
            // A PCI address with no slot is a request for automatic placement, not a position.
            if check_range(&a, &ap, out) && a.slot.is_some() {
                let key = a.to_bdf();
                if let Some(first) = guest_pci.insert(key.clone(), i) {
                    out.push(
                        Diagnostic::new(codes::E084, ap, format!("guest PCI address {key} is already used by {}", cx.path(first)))
                            .hint("give each device its own slot (or function), or drop <address> to let one be chosen"),
                    );
                }
            }
        }
        if let Device::Hostdev(h) = item {
            if h.kind == HostdevType::Pci {
                if let Some(a) = h.source.as_ref().and_then(|s| s.pci_address.as_ref()) {
                    let ap = format!("{p}/source/address");
                    if check_range(a, &ap, out) {
                        let key = a.to_bdf();
                        if let Some(first) = host_pci.insert(key.clone(), i) {
                            out.push(
                                Diagnostic::new(
                                    codes::E082,
                                    ap,
                                    format!(
                                        "host PCI device {key} is already assigned by {}",
                                        cx.path(first)
                                    ),
                                )
                                .hint("a host PCI function can be assigned to a guest once"),
                            );
                        }
                    }
                }
            }
        }
    }
}
