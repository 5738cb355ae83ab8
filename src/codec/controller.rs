//! `<controller>`.

use super::address::{read_adapter, read_device_address, write_adapter, write_device_address};
use super::reader::{apply_kept, keep, R};
use crate::model::ChildExtra;
use crate::model::{
    Controller, ControllerDriver, ControllerModel, ControllerSource, ControllerType,
    PoolStyleAddress, ScsiModel,
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
                extra: Default::default(),
            };
            // virtio options domxml passes through but does not interpret.
            d.pass(&["iommu", "ats", "packed", "page_per_vq"]);
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
        // then the verbatim children, then alias and address.
        for (k, v) in &c.extra.attrs {
            el.push_attr(k.clone(), v.clone());
        }
        el.children.extend(c.extra.children.iter().cloned());
        write_alias(&mut el, &c.alias, &c.child_extra);
        el.push_opt(c.address.as_ref().map(write_device_address));
        return el;
    }
    if let Some(d) = &c.driver {
        let mut de = Element::new("driver")
            .with_opt_attr("queues", d.queues)
            .with_opt_attr("cmd_per_lun", d.cmd_per_lun)
            .with_opt_attr("max_sectors", d.max_sectors)
            .with_opt_attr("ioeventfd", d.ioeventfd.map(|v| v.as_str()))
            .with_opt_attr("iothread", d.iothread);
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
