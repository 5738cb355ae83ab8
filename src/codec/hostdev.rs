//! `<hostdev>`.

use super::address::{
    read_adapter, read_device_address, read_pci_fields, read_scsi_source_address, write_adapter,
    write_device_address, write_pci_fields, write_scsi_source_address,
};
use super::controller::{read_alias, write_alias};
use super::disk::{
    read_auth, read_boot, read_host, read_initiator, write_auth, write_boot, write_host,
    write_initiator,
};
use super::reader::{apply_kept, R};
use crate::model::{Hostdev, HostdevSource, HostdevType, Rom};
use crate::xml::Element;

fn read_source(r: R<'_>, kind: HostdevType) -> HostdevSource {
    let mut s = HostdevSource::default();
    match kind {
        HostdevType::Scsi | HostdevType::ScsiHost => {
            s.protocol = r.string("protocol");
            s.name = r.string("name");
            s.wwpn = r.string("wwpn");
            s.adapter = r.child("adapter").map(read_adapter);
            s.scsi_address = r.child("address").map(read_scsi_source_address);
            s.hosts = r.children("host").into_iter().map(read_host).collect();
            s.auth = r.child("auth").map(read_auth);
            s.initiator_iqn = read_initiator(&r, &mut s.child_extra);
        }
        HostdevType::Pci => {
            r.pass(&["writeFiltering"]);
            if let Some(a) = r.child("address") {
                let ty = a.string("type");
                s.pci_address = Some(read_pci_fields(&a));
                s.pci_address_extra = a.finish();
                if let Some(t) = ty {
                    s.pci_address_extra.attrs.insert(0, ("type".into(), t));
                }
            }
        }
        _ => r.pass_everything(),
    }
    s.extra = r.finish();
    s
}

fn write_source(s: &HostdevSource) -> Element {
    let mut el = Element::new("source")
        .with_opt_attr("protocol", s.protocol.as_ref())
        .with_opt_attr("name", s.name.as_ref())
        .with_opt_attr("wwpn", s.wwpn.as_ref());
    // A PCI source's extra may carry writeFiltering: attributes first, children after address.
    el.push_opt(s.adapter.as_ref().map(write_adapter));
    for h in &s.hosts {
        el.push(write_host(h));
    }
    el.push_opt(s.auth.as_ref().map(write_auth));
    el.push_opt(write_initiator(&s.initiator_iqn, &s.child_extra));
    el.push_opt(s.scsi_address.as_ref().map(write_scsi_source_address));
    if let Some(p) = &s.pci_address {
        let mut ae = Element::new("address");
        // A `type='pci'` given by the user is kept in front, where it was.
        let mut extra = s.pci_address_extra.clone();
        if let Some(i) = extra.attrs.iter().position(|(k, _)| k == "type") {
            let (k, v) = extra.attrs.remove(i);
            ae.push_attr(k, v);
        }
        write_pci_fields(&mut ae, p);
        extra.apply(&mut ae);
        el.push(ae);
    }
    s.extra.apply(&mut el);
    el
}

pub(crate) fn read_hostdev(r: R<'_>) -> Option<Hostdev> {
    let kind = match r.attr_raw("type") {
        None => {
            r.missing_attr("type");
            None
        }
        Some(_) => r.enumerated::<HostdevType>("type"),
    }?;
    let mut h = Hostdev::new(kind);
    h.mode = r.enumerated("mode");
    h.managed = r.enumerated("managed");
    h.sgio = r.string("sgio");
    h.rawio = r.enumerated("rawio");
    h.model = r.string("model");
    if let Some(d) = r.child("driver") {
        h.driver_name = d.string("name");
        d.pass(&["model", "iommufd"]);
        h.driver_extra = Some(d.finish());
    }
    h.source = r.child("source").map(|s| read_source(s, kind));
    h.boot = r.child("boot").map(read_boot);
    h.rom = r.child("rom").map(|x| {
        let rom = Rom {
            bar: x.enumerated("bar"),
            file: x.string("file"),
            enabled: x.enumerated("enabled"),
            extra: Default::default(),
        };
        Rom {
            extra: x.finish(),
            ..rom
        }
    });
    h.readonly = r.flag("readonly", &mut h.child_extra);
    h.shareable = r.flag("shareable", &mut h.child_extra);
    h.alias = read_alias(&r, &mut h.child_extra);
    h.address = r.child("address").and_then(read_device_address);
    r.pass_children(&["acpi", "teaming", "origstates"]);
    if !matches!(
        kind,
        HostdevType::Scsi | HostdevType::ScsiHost | HostdevType::Pci
    ) {
        r.pass_everything();
    }
    h.extra = r.finish();
    Some(h)
}

pub(crate) fn write_hostdev(h: &Hostdev) -> Element {
    let mut el = Element::new("hostdev")
        .with_opt_attr("mode", h.mode.map(|v| v.as_str()))
        .with_attr("type", h.kind.as_str())
        .with_opt_attr("managed", h.managed.map(|v| v.as_str()))
        .with_opt_attr("sgio", h.sgio.as_ref())
        .with_opt_attr("rawio", h.rawio.map(|v| v.as_str()))
        .with_opt_attr("model", h.model.as_ref());
    if h.driver_name.is_some() || h.driver_extra.is_some() {
        let mut de = Element::new("driver").with_opt_attr("name", h.driver_name.as_ref());
        if let Some(x) = &h.driver_extra {
            x.apply(&mut de);
        }
        el.push(de);
    }
    el.push_opt(h.source.as_ref().map(write_source));
    for (name, set) in [("readonly", h.readonly), ("shareable", h.shareable)] {
        if set {
            let mut fe = Element::new(name);
            apply_kept(&mut fe, &h.child_extra, name);
            el.push(fe);
        }
    }
    el.push_opt(h.boot.as_ref().map(write_boot));
    write_alias(&mut el, &h.alias, &h.child_extra);
    if let Some(rom) = &h.rom {
        let mut re = Element::new("rom")
            .with_opt_attr("bar", rom.bar.map(|v| v.as_str()))
            .with_opt_attr("file", rom.file.as_ref())
            .with_opt_attr("enabled", rom.enabled.map(|v| v.as_str()));
        rom.extra.apply(&mut re);
        el.push(re);
    }
    el.push_opt(h.address.as_ref().map(write_device_address));
    h.extra.apply(&mut el);
    el
}
