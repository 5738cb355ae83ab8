//! `<address>` in its several places, and `<adapter>`.

use super::reader::R;
use crate::model::{
    Adapter, AdapterType, CcwAddress, DeviceAddress, DriveAddress, ParentAddr, PciAddress,
    ScsiSourceAddress,
};
use crate::xml::{Child, Element, Node};

pub(crate) fn read_pci_fields(r: &R<'_>) -> PciAddress {
    PciAddress {
        domain: r.hex("domain"),
        bus: r.hex("bus"),
        slot: r.hex("slot"),
        function: r.hex("function"),
        multifunction: r.enumerated("multifunction"),
    }
}

pub(crate) fn write_pci_fields(el: &mut Element, a: &PciAddress) {
    // libvirt's widths: domain 4, bus 2, slot 2, function 1.
    if let Some(v) = a.domain {
        el.push_attr("domain", v.format(4));
    }
    if let Some(v) = a.bus {
        el.push_attr("bus", v.format(2));
    }
    if let Some(v) = a.slot {
        el.push_attr("slot", v.format(2));
    }
    if let Some(v) = a.function {
        el.push_attr("function", v.format(1));
    }
    if let Some(v) = a.multifunction {
        el.push_attr("multifunction", v.as_str());
    }
}

/// A device-level `<address type=…>`.
pub(crate) fn read_device_address(r: R<'_>) -> Option<DeviceAddress> {
    let kind = r.req_string("type")?;
    let addr = match kind.as_str() {
        "drive" => {
            let d = DriveAddress {
                controller: r.u32("controller"),
                bus: r.u32("bus"),
                target: r.u32("target"),
                unit: r.u32("unit"),
            };
            DeviceAddress::Drive(d, r.finish())
        }
        "pci" => {
            let p = read_pci_fields(&r);
            DeviceAddress::Pci(p, r.finish())
        }
        "ccw" => {
            let c = CcwAddress {
                cssid: r.hex("cssid"),
                ssid: r.hex("ssid"),
                devno: r.hex("devno"),
            };
            DeviceAddress::Ccw(c, r.finish())
        }
        _ => {
            // Other address types are kept attribute for attribute, in order.
            let attrs =
                r.el.attrs()
                    .filter(|a| a.name() != "type")
                    .map(|a| (a.name().to_string(), a.value().to_string()))
                    .collect();
            let children =
                r.el.children()
                    .filter_map(|n| match n {
                        Child::Element(e) => Some(Node::Element(e.to_element())),
                        Child::Text(t) if t.trim().is_empty() => None,
                        Child::Text(t) => Some(Node::Text(t.to_string())),
                        Child::Comment(c) => Some(Node::Comment(c.to_string())),
                        Child::Pi(p) => Some(Node::Pi(p.to_string())),
                    })
                    .collect();
            let extra = crate::model::Extra::new(Vec::new(), children);
            DeviceAddress::Other { kind, attrs, extra }
        }
    };
    Some(addr)
}

pub(crate) fn write_device_address(a: &DeviceAddress) -> Element {
    let mut el = Element::new("address").with_attr("type", a.kind());
    match a {
        DeviceAddress::Drive(d, extra) => {
            el = el
                .with_opt_attr("controller", d.controller)
                .with_opt_attr("bus", d.bus)
                .with_opt_attr("target", d.target)
                .with_opt_attr("unit", d.unit);
            extra.apply(&mut el);
        }
        DeviceAddress::Pci(p, extra) => {
            write_pci_fields(&mut el, p);
            extra.apply(&mut el);
        }
        DeviceAddress::Ccw(c, extra) => {
            if let Some(v) = c.cssid {
                el.push_attr("cssid", v.format(1));
            }
            if let Some(v) = c.ssid {
                el.push_attr("ssid", v.format(1));
            }
            if let Some(v) = c.devno {
                el.push_attr("devno", v.format(4));
            }
            extra.apply(&mut el);
        }
        DeviceAddress::Other { attrs, extra, .. } => {
            for (k, v) in attrs {
                el.push_attr(k.clone(), v.clone());
            }
            extra.apply(&mut el);
        }
    }
    el
}

pub(crate) fn read_scsi_source_address(r: R<'_>) -> ScsiSourceAddress {
    let bus = r.u32("bus");
    let target = r.u32("target");
    let unit = r.u64("unit");
    ScsiSourceAddress {
        bus,
        target,
        unit,
        extra: r.finish(),
    }
}

pub(crate) fn write_scsi_source_address(a: &ScsiSourceAddress) -> Element {
    let mut el = Element::new("address")
        .with_opt_attr("bus", a.bus)
        .with_opt_attr("target", a.target)
        .with_opt_attr("unit", a.unit);
    a.extra.apply(&mut el);
    el
}

pub(crate) fn read_adapter(r: R<'_>) -> Adapter {
    let kind = r.enumerated::<AdapterType>("type");
    let parentaddr = r.child("parentaddr").map(|p| {
        let unique_id = p.string("unique_id");
        let (address, address_extra) = match p.child("address") {
            Some(a) => {
                let ty = a.string("type");
                let pci = read_pci_fields(&a);
                let mut extra = a.finish();
                if let Some(t) = ty {
                    extra.attrs.insert(0, ("type".into(), t));
                }
                (Some(pci), extra)
            }
            None => (None, Default::default()),
        };
        ParentAddr {
            unique_id,
            address,
            address_extra,
            extra: p.finish(),
        }
    });
    let a = Adapter {
        kind,
        name: r.string("name"),
        parent: r.string("parent"),
        unique_id: r.string("unique_id"),
        parent_wwnn: r.string("parent_wwnn"),
        parent_wwpn: r.string("parent_wwpn"),
        parent_fabric_wwn: r.string("parent_fabric_wwn"),
        managed: r.enumerated("managed"),
        wwnn: r.string("wwnn"),
        wwpn: r.string("wwpn"),
        parentaddr,
        extra: Default::default(),
    };
    Adapter {
        extra: r.finish(),
        ..a
    }
}

pub(crate) fn write_adapter(a: &Adapter) -> Element {
    // libvirt's order: type, name | parent…, managed, wwnn, wwpn.
    let mut el = Element::new("adapter")
        .with_opt_attr("type", a.kind.map(|k| k.as_str()))
        .with_opt_attr("name", a.name.as_ref())
        .with_opt_attr("parent", a.parent.as_ref())
        .with_opt_attr("unique_id", a.unique_id.as_ref())
        .with_opt_attr("parent_wwnn", a.parent_wwnn.as_ref())
        .with_opt_attr("parent_wwpn", a.parent_wwpn.as_ref())
        .with_opt_attr("parent_fabric_wwn", a.parent_fabric_wwn.as_ref())
        .with_opt_attr("managed", a.managed.map(|m| m.as_str()))
        .with_opt_attr("wwnn", a.wwnn.as_ref())
        .with_opt_attr("wwpn", a.wwpn.as_ref());
    if let Some(p) = &a.parentaddr {
        let mut pe = Element::new("parentaddr").with_opt_attr("unique_id", p.unique_id.as_ref());
        if let Some(addr) = &p.address {
            let mut ae = Element::new("address");
            write_pci_fields(&mut ae, addr);
            p.address_extra.apply(&mut ae);
            pe.push(ae);
        }
        p.extra.apply(&mut pe);
        el.push(pe);
    }
    a.extra.apply(&mut el);
    el
}
