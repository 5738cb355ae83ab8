//! `<disk>`.

use super::address::{read_device_address, write_device_address};
use super::controller::{read_alias, write_alias};
use super::reader::{apply_kept, keep, R};
use crate::model::{
    Blockio, Boot, ChildExtra, Disk, DiskDriver, DiskSource, DiskTarget, Geometry, NetHost,
    Reservations, ReservationsSource, SourceAuth, SourceSecret,
};
use crate::xml::Element;

pub(crate) fn read_boot(r: R<'_>) -> Boot {
    let order = r.u32("order");
    r.pass(&["loadparm"]);
    Boot {
        order,
        extra: r.finish(),
    }
}

pub(crate) fn write_boot(b: &Boot) -> Element {
    let mut el = Element::new("boot").with_opt_attr("order", b.order);
    b.extra.apply(&mut el);
    el
}

pub(crate) fn read_host(r: R<'_>) -> NetHost {
    let h = NetHost {
        name: r.string("name"),
        port: r.string("port"),
        transport: r.string("transport"),
        socket: r.string("socket"),
        extra: Default::default(),
    };
    NetHost {
        extra: r.finish(),
        ..h
    }
}

pub(crate) fn write_host(h: &NetHost) -> Element {
    let mut el = Element::new("host")
        .with_opt_attr("name", h.name.as_ref())
        .with_opt_attr("port", h.port.as_ref())
        .with_opt_attr("transport", h.transport.as_ref())
        .with_opt_attr("socket", h.socket.as_ref());
    h.extra.apply(&mut el);
    el
}

pub(crate) fn read_auth(r: R<'_>) -> SourceAuth {
    let username = r.string("username");
    let secret = r.child("secret").map(|s| {
        let sec = SourceSecret {
            kind: s.string("type"),
            usage: s.string("usage"),
            uuid: s.string("uuid"),
            extra: Default::default(),
        };
        SourceSecret {
            extra: s.finish(),
            ..sec
        }
    });
    SourceAuth {
        username,
        secret,
        extra: r.finish(),
    }
}

pub(crate) fn write_auth(a: &SourceAuth) -> Element {
    let mut el = Element::new("auth").with_opt_attr("username", a.username.as_ref());
    if let Some(s) = &a.secret {
        let mut se = Element::new("secret")
            .with_opt_attr("type", s.kind.as_ref())
            .with_opt_attr("usage", s.usage.as_ref())
            .with_opt_attr("uuid", s.uuid.as_ref());
        s.extra.apply(&mut se);
        el.push(se);
    }
    a.extra.apply(&mut el);
    el
}

pub(crate) fn read_initiator(r: &R<'_>, kept: &mut ChildExtra) -> Option<String> {
    let i = r.child("initiator")?;
    let iqn = i.child("iqn").and_then(|q| {
        let n = q.req_string("name");
        keep(kept, "initiator/iqn", q.finish());
        n
    });
    keep(kept, "initiator", i.finish());
    iqn
}

/// `<initiator>`, when it has an iqn or content of its own to keep.
pub(crate) fn write_initiator(iqn: &Option<String>, kept: &ChildExtra) -> Option<Element> {
    if iqn.is_none() && !kept.contains_key("initiator") {
        return None;
    }
    let mut el = Element::new("initiator");
    if let Some(n) = iqn {
        let mut q = Element::new("iqn").with_attr("name", n.clone());
        apply_kept(&mut q, kept, "initiator/iqn");
        el.push(q);
    }
    apply_kept(&mut el, kept, "initiator");
    Some(el)
}

fn read_reservations(r: R<'_>) -> Reservations {
    let managed = r.enumerated("managed");
    let migration = r.enumerated("migration");
    let source = r.child("source").map(|s| {
        let rs = ReservationsSource {
            kind: s.string("type"),
            path: s.string("path"),
            mode: s.string("mode"),
            extra: Default::default(),
        };
        s.pass_children(&["reconnect"]);
        ReservationsSource {
            extra: s.finish(),
            ..rs
        }
    });
    Reservations {
        managed,
        migration,
        source,
        extra: r.finish(),
    }
}

fn write_reservations(r: &Reservations) -> Element {
    let mut el = Element::new("reservations")
        .with_opt_attr("managed", r.managed.map(|v| v.as_str()))
        .with_opt_attr("migration", r.migration.map(|v| v.as_str()));
    if let Some(s) = &r.source {
        let mut se = Element::new("source")
            .with_opt_attr("type", s.kind.as_ref())
            .with_opt_attr("path", s.path.as_ref())
            .with_opt_attr("mode", s.mode.as_ref());
        s.extra.apply(&mut se);
        el.push(se);
    }
    r.extra.apply(&mut el);
    el
}

fn read_source(r: R<'_>) -> DiskSource {
    let mut s = DiskSource {
        file: r.string("file"),
        dev: r.string("dev"),
        dir: r.string("dir"),
        protocol: r.string("protocol"),
        name: r.string("name"),
        pool: r.string("pool"),
        volume: r.string("volume"),
        mode: r.string("mode"),
        startup_policy: r.string("startupPolicy"),
        ..Default::default()
    };
    r.pass(&[
        "index",
        "tls",
        "tlsHostname",
        "query",
        "namespace",
        "type",
        "managed",
        "socket",
        "path",
    ]);
    s.hosts = r.children("host").into_iter().map(read_host).collect();
    s.auth = r.child("auth").map(|a| Box::new(read_auth(a)));
    s.initiator_iqn = read_initiator(&r, &mut s.child_extra);
    s.reservations = r
        .child("reservations")
        .map(|x| Box::new(read_reservations(x)));
    r.pass_children(&[
        "snapshot",
        "config",
        "seclabel",
        "cookies",
        "readahead",
        "timeout",
        "ssl",
        "slices",
        "encryption",
        "privateData",
        "dataStore",
        "address",
        "identity",
        "reconnect",
    ]);
    s.extra = r.finish();
    s
}

fn write_source(s: &DiskSource) -> Element {
    // libvirt writes the type-specific attributes first, then startupPolicy.
    let mut el = Element::new("source")
        .with_opt_attr("file", s.file.as_ref())
        .with_opt_attr("dev", s.dev.as_ref())
        .with_opt_attr("dir", s.dir.as_ref())
        .with_opt_attr("protocol", s.protocol.as_ref())
        .with_opt_attr("name", s.name.as_ref())
        .with_opt_attr("pool", s.pool.as_ref())
        .with_opt_attr("volume", s.volume.as_ref())
        .with_opt_attr("mode", s.mode.as_ref())
        .with_opt_attr("startupPolicy", s.startup_policy.as_ref());
    for h in &s.hosts {
        el.push(write_host(h));
    }
    el.push_opt(s.auth.as_deref().map(write_auth));
    el.push_opt(write_initiator(&s.initiator_iqn, &s.child_extra));
    el.push_opt(s.reservations.as_deref().map(write_reservations));
    s.extra.apply(&mut el);
    el
}

pub(crate) fn read_disk(r: R<'_>) -> Disk {
    let mut d = Disk {
        kind: r.enumerated("type"),
        device: r.enumerated("device"),
        model: r.string("model"),
        rawio: r.enumerated("rawio"),
        sgio: r.string("sgio"),
        snapshot: r.string("snapshot"),
        ..Default::default()
    };
    d.driver = r.child("driver").map(|x| {
        let drv = DiskDriver {
            name: x.string("name"),
            format: x.string("type"),
            cache: x.string("cache"),
            error_policy: x.string("error_policy"),
            rerror_policy: x.string("rerror_policy"),
            io: x.string("io"),
            discard: x.string("discard"),
            iothread: x.u32("iothread"),
            queues: x.u32("queues"),
            copy_on_read: x.enumerated("copy_on_read"),
            extra: Default::default(),
        };
        x.pass(&[
            "ioeventfd",
            "event_idx",
            "detect_zeroes",
            "queue_size",
            "discard_no_unref",
            "iommu",
            "ats",
            "packed",
            "page_per_vq",
            "metadata_cache_max_size",
        ]);
        x.pass_children(&["metadata_cache", "iothreads"]);
        DiskDriver {
            extra: x.finish(),
            ..drv
        }
    });
    d.source = r.child("source").map(read_source);
    d.geometry = r.child("geometry").map(|g| {
        let geo = Geometry {
            cyls: g.u32("cyls"),
            heads: g.u32("heads"),
            secs: g.u32("secs"),
            trans: g.string("trans"),
            extra: Default::default(),
        };
        Box::new(Geometry {
            extra: g.finish(),
            ..geo
        })
    });
    d.blockio = r.child("blockio").map(|b| {
        let bio = Blockio {
            logical_block_size: b.u32("logical_block_size"),
            physical_block_size: b.u32("physical_block_size"),
            discard_granularity: b.u32("discard_granularity"),
            extra: Default::default(),
        };
        Box::new(Blockio {
            extra: b.finish(),
            ..bio
        })
    });
    d.target = r.child("target").map(|t| {
        let tg = DiskTarget {
            dev: t.string("dev"),
            bus: t.enumerated("bus"),
            removable: t.enumerated("removable"),
            rotation_rate: t.u32("rotation_rate"),
            tray: t.string("tray"),
            extra: Default::default(),
        };
        DiskTarget {
            extra: t.finish(),
            ..tg
        }
    });
    d.boot = r.child("boot").map(|b| Box::new(read_boot(b)));
    let kept = &mut d.child_extra;
    d.readonly = r.flag("readonly", kept);
    d.shareable = r.flag("shareable", kept);
    d.transient = r.flag("transient", kept);
    d.serial = r.child_text("serial", kept);
    d.wwn = r.child_text("wwn", kept);
    d.vendor = r.child_text("vendor", kept);
    d.product = r.child_text("product", kept);
    d.alias = read_alias(&r, kept);
    d.address = r.child("address").and_then(read_device_address);
    r.pass_children(&[
        "backingStore",
        "iotune",
        "encryption",
        "mirror",
        "auth",
        "throttlefilters",
        "acpi",
    ]);
    d.extra = r.finish();
    d
}

pub(crate) fn write_disk(d: &Disk) -> Element {
    let mut el = Element::new("disk")
        .with_opt_attr("type", d.kind.map(|v| v.as_str()))
        .with_opt_attr("device", d.device.map(|v| v.as_str()))
        .with_opt_attr("model", d.model.as_ref())
        .with_opt_attr("rawio", d.rawio.map(|v| v.as_str()))
        .with_opt_attr("sgio", d.sgio.as_ref())
        .with_opt_attr("snapshot", d.snapshot.as_ref());
    if let Some(x) = &d.driver {
        let mut de = Element::new("driver")
            .with_opt_attr("name", x.name.as_ref())
            .with_opt_attr("type", x.format.as_ref())
            .with_opt_attr("cache", x.cache.as_ref())
            .with_opt_attr("error_policy", x.error_policy.as_ref())
            .with_opt_attr("rerror_policy", x.rerror_policy.as_ref())
            .with_opt_attr("io", x.io.as_ref())
            .with_opt_attr("copy_on_read", x.copy_on_read.map(|v| v.as_str()))
            .with_opt_attr("discard", x.discard.as_ref())
            .with_opt_attr("iothread", x.iothread)
            .with_opt_attr("queues", x.queues);
        x.extra.apply(&mut de);
        el.push(de);
    }
    el.push_opt(d.source.as_ref().map(write_source));
    // libvirt writes <geometry> and <blockio> between the source and the target.
    if let Some(g) = &d.geometry {
        let mut ge = Element::new("geometry")
            .with_opt_attr("cyls", g.cyls)
            .with_opt_attr("heads", g.heads)
            .with_opt_attr("secs", g.secs)
            .with_opt_attr("trans", g.trans.as_ref());
        g.extra.apply(&mut ge);
        el.push(ge);
    }
    if let Some(b) = &d.blockio {
        let mut be = Element::new("blockio")
            .with_opt_attr("logical_block_size", b.logical_block_size)
            .with_opt_attr("physical_block_size", b.physical_block_size)
            .with_opt_attr("discard_granularity", b.discard_granularity);
        b.extra.apply(&mut be);
        el.push(be);
    }
    if let Some(t) = &d.target {
        let mut te = Element::new("target")
            .with_opt_attr("dev", t.dev.as_ref())
            .with_opt_attr("bus", t.bus.map(|v| v.as_str()))
            .with_opt_attr("tray", t.tray.as_ref())
            .with_opt_attr("removable", t.removable.map(|v| v.as_str()))
            .with_opt_attr("rotation_rate", t.rotation_rate);
        t.extra.apply(&mut te);
        el.push(te);
    }
    for (name, set) in [
        ("readonly", d.readonly),
        ("shareable", d.shareable),
        ("transient", d.transient),
    ] {
        if set {
            let mut fe = Element::new(name);
            apply_kept(&mut fe, &d.child_extra, name);
            el.push(fe);
        }
    }
    for (name, v) in [
        ("serial", &d.serial),
        ("wwn", &d.wwn),
        ("vendor", &d.vendor),
        ("product", &d.product),
    ] {
        if let Some(v) = v {
            let mut te = Element::new(name).with_text(v.clone());
            apply_kept(&mut te, &d.child_extra, name);
            el.push(te);
        }
    }
    el.push_opt(d.boot.as_deref().map(write_boot));
    write_alias(&mut el, &d.alias, &d.child_extra);
    el.push_opt(d.address.as_ref().map(write_device_address));
    d.extra.apply(&mut el);
    el
}
