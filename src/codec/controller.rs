//! `<controller>`.

use super::address::{read_adapter, read_device_address, write_adapter, write_device_address};
use super::reader::{apply_kept, keep, R};
use crate::model::ChildExtra;
use crate::model::{
    Controller, ControllerDriver, ControllerModel, ControllerSource, ControllerType, OnOff,
    PciModel, PciModelName, PciOptions, PciTarget, PoolStyleAddress, ScsiModel, VirtioOptions,
};
use crate::xml::Element;

pub(crate) fn read_pool_style_address(r: R<'_>) -> PoolStyleAddress {
    let _ = r.string("type");
    let a = PoolStyleAddress {
        bus: r.u32("bus"),
        target: r.u32("target"),
        extra: Default::default(),
    };
    PoolStyleAddress {
        extra: r.finish(),
        ..a
    }
}

pub(crate) fn write_pool_style_address(a: &PoolStyleAddress) -> Element {
    let mut el = Element::new("address")
        .with_attr("type", "scsi")
        .with_opt_attr("bus", a.bus)
        .with_opt_attr("target", a.target);
    a.extra.apply(&mut el);
    el
}

pub(crate) fn read_controller(r: R<'_>) -> Option<Controller> {
    let kind = match r.attr_raw("type") {
        None => {
            r.missing_attr("type");
            None
        }
        Some(_) => r.enumerated::<ControllerType>("type"),
    };
    let index = r.u32("index");
    let mut c = Controller::new(kind.unwrap_or(ControllerType::Scsi));
    c.index = index;
    if kind == Some(ControllerType::Scsi) {
        c.model = r
            .enumerated::<ScsiModel>("model")
            .map(ControllerModel::Scsi);
        c.driver = r.child("driver").map(|d| {
            let drv = ControllerDriver {
                queues: d.u32("queues"),
                cmd_per_lun: d.u32("cmd_per_lun"),
                max_sectors: d.u32("max_sectors"),
                ioeventfd: d.enumerated("ioeventfd"),
                iothread: d.u32("iothread"),
                virtio: read_virtio_options(&d),
                extra: Default::default(),
            };
            let extra = d.finish();
            ControllerDriver { extra, ..drv }
        });
        c.source = r.child("source").map(|s| {
            let adapter = s.child("adapter").map(read_adapter);
            let address = s.child("address").map(read_pool_style_address);
            ControllerSource {
                adapter,
                address,
                extra: s.finish(),
            }
        });
    } else if kind == Some(ControllerType::Pci) {
        c.model = r.enumerated::<PciModel>("model").map(ControllerModel::Pci);
        c.pci = read_pci_options(&r);
    } else if kind.is_some() {
        c.model = r.string("model").map(ControllerModel::Other);
    }
    c.alias = read_alias(&r, &mut c.child_extra);
    c.address = r.child("address").and_then(read_device_address);
    if kind.is_some() && kind != Some(ControllerType::Scsi) {
        // Non-SCSI controllers: everything else is libvirt content kept verbatim.
        r.pass_everything();
    }
    c.extra = r.finish();
    kind.map(|_| c)
}

/// The virtio options of a `<driver>`.
pub(crate) fn read_virtio_options(d: &R<'_>) -> VirtioOptions {
    VirtioOptions {
        iommu: d.enumerated("iommu"),
        ats: d.enumerated("ats"),
        packed: d.enumerated("packed"),
        page_per_vq: d.enumerated("page_per_vq"),
    }
}

/// Write the virtio options of a `<driver>`, in libvirt's order.
pub(crate) fn write_virtio_options(el: Element, v: &VirtioOptions) -> Element {
    let s = |o: Option<OnOff>| o.map(OnOff::as_str);
    el.with_opt_attr("iommu", s(v.iommu))
        .with_opt_attr("ats", s(v.ats))
        .with_opt_attr("packed", s(v.packed))
        .with_opt_attr("page_per_vq", s(v.page_per_vq))
}

/// `<model name>` and `<target>` of a PCI controller; `None` when it has neither.
fn read_pci_options(r: &R<'_>) -> Option<PciOptions> {
    let (model_name, model_extra) = match r.child("model") {
        Some(m) => (m.enumerated::<PciModelName>("name"), m.finish()),
        None => (None, Default::default()),
    };
    let had_model = model_name.is_some() || !model_extra.is_empty();
    let target = r.child("target").map(|t| {
        let num = |k: &'static str| t.hex(k).map(|h| h.0);
        let mut kept = ChildExtra::default();
        let node = t.child_number("node", &mut kept);
        let v = PciTarget {
            chassis_nr: num("chassisNr"),
            chassis: num("chassis"),
            port: t.hex("port"),
            bus_nr: num("busNr"),
            index: num("index"),
            hotplug: t.enumerated("hotplug"),
            node,
            extra: Default::default(),
            child_extra: kept,
        };
        // libvirt content domxml carries without interpreting.
        t.pass(&["memReserve"]);
        PciTarget {
            extra: t.finish(),
            ..v
        }
    });
    (had_model || target.is_some()).then_some(PciOptions {
        model_name,
        model_extra,
        target,
    })
}

fn write_pci_options(el: &mut Element, p: &PciOptions) {
    if p.model_name.is_some() || !p.model_extra.is_empty() {
        let mut m = Element::new("model").with_opt_attr("name", p.model_name.map(|n| n.as_str()));
        p.model_extra.apply(&mut m);
        el.push(m);
    }
    if let Some(t) = &p.target {
        let mut te = Element::new("target")
            .with_opt_attr("chassisNr", t.chassis_nr)
            .with_opt_attr("chassis", t.chassis)
            .with_opt_attr("port", t.port.map(|h| h.format(1)))
            .with_opt_attr("busNr", t.bus_nr)
            .with_opt_attr("index", t.index)
            .with_opt_attr("hotplug", t.hotplug.map(OnOff::as_str));
        for (k, v) in &t.extra.attrs {
            te.push_attr(k.clone(), v.clone());
        }
        if let Some(n) = t.node {
            let mut ne = Element::new("node").with_text(n.to_string());
            apply_kept(&mut ne, &t.child_extra, "node");
            te.push(ne);
        }
        te.children.extend(t.extra.children.iter().cloned());
        el.push(te);
    }
}

pub(crate) fn read_alias(r: &R<'_>, kept: &mut ChildExtra) -> Option<String> {
    r.child("alias").and_then(|a| {
        let n = a.req_string("name");
        keep(kept, "alias", a.finish());
        n
    })
}

pub(crate) fn write_alias(el: &mut Element, alias: &Option<String>, kept: &ChildExtra) {
    if let Some(a) = alias {
        let mut ae = Element::new("alias").with_attr("name", a.clone());
        apply_kept(&mut ae, kept, "alias");
        el.push(ae);
    }
}

pub(crate) fn write_controller(c: &Controller) -> Element {
    let mut el = Element::new("controller")
        .with_attr("type", c.kind.as_str())
        .with_opt_attr("index", c.index)
        .with_opt_attr("model", c.model_name());
    if c.kind != ControllerType::Scsi {
        // Unknown attributes first (libvirt writes e.g. ports/vectors right after model),
        // then a PCI controller's <model name> and <target>, the verbatim children, then
        // alias and address.
        for (k, v) in &c.extra.attrs {
            el.push_attr(k.clone(), v.clone());
        }
        if let Some(p) = &c.pci {
            write_pci_options(&mut el, p);
        }
        el.children.extend(c.extra.children.iter().cloned());
        write_alias(&mut el, &c.alias, &c.child_extra);
        el.push_opt(c.address.as_ref().map(write_device_address));
        return el;
    }
    if let Some(d) = &c.driver {
        let de = Element::new("driver")
            .with_opt_attr("queues", d.queues)
            .with_opt_attr("cmd_per_lun", d.cmd_per_lun)
            .with_opt_attr("max_sectors", d.max_sectors)
            .with_opt_attr("ioeventfd", d.ioeventfd.map(|v| v.as_str()))
            .with_opt_attr("iothread", d.iothread);
        let mut de = write_virtio_options(de, &d.virtio);
        d.extra.apply(&mut de);
        el.push(de);
    }
    if let Some(s) = &c.source {
        let mut se = Element::new("source");
        se.push_opt(s.adapter.as_ref().map(write_adapter));
        se.push_opt(s.address.as_ref().map(write_pool_style_address));
        s.extra.apply(&mut se);
        el.push(se);
    }
    write_alias(&mut el, &c.alias, &c.child_extra);
    el.push_opt(c.address.as_ref().map(write_device_address));
    c.extra.apply(&mut el);
    el
}
