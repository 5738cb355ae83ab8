//! `<domain>`, `<devices>` and `<pool>`.

use super::address::{read_adapter, write_adapter};
use super::controller::{read_pool_style_address, write_pool_style_address};
use super::devices::{devices_start, read_devices, stream_devices, write_devices};
use super::reader::{apply_kept, did_you_mean, keep, R};
use crate::diag::{codes, Diagnostic};
use crate::model::{ChildExtra, Domain, DomainType, Memory, Os, OsType, Pool, PoolSource, Vcpu};
use crate::xml::Element;

/// libvirt's top-level domain elements in the order `virsh dumpxml` writes them. Elements
/// domxml models are among them; the rest are carried verbatim.
pub(crate) const DOMAIN_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "throttlegroups",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

const DOMAIN_MODELLED: &[&str] = &[
    "name",
    "uuid",
    "memory",
    "currentMemory",
    "vcpu",
    "iothreads",
    "os",
    "devices",
];

/// Device elements libvirt knows that domxml carries verbatim.
pub(crate) const OTHER_DEVICES: &[&str] = &[
    "interface",
    "input",
    "graphics",
    "video",
    "memballoon",
    "serial",
    "console",
    "channel",
    "sound",
    "audio",
    "watchdog",
    "rng",
    "tpm",
    "redirdev",
    "redirfilter",
    "smartcard",
    "hub",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "filesystem",
    "lease",
    "parallel",
    "crypto",
    "pstore",
    "nvram",
];

fn read_memory(r: R<'_>) -> Option<Memory> {
    let unit = r.string("unit");
    if let Some(u) = &unit {
        if !Memory::UNITS.contains(&u.as_str()) {
            let hint = match did_you_mean(u, Memory::UNITS.iter().copied()) {
                Some(s) => format!(
                    "did you mean '{s}'? Accepted units: {}",
                    Memory::UNITS.join(", ")
                ),
                None => format!("accepted units: {}", Memory::UNITS.join(", ")),
            };
            r.cx().push(
                Diagnostic::new(
                    codes::E004,
                    format!("{}/@unit", r.path()),
                    format!("unit={u} is not a memory unit", u = crate::diag::quote(u)),
                )
                .hint(hint)
                .at(r.attr_raw("unit").map(|a| a.pos()).unwrap_or_default()),
            );
        }
    }
    r.pass(&["slots", "dumpCore"]);
    let text = r.text();
    let value = super::reader::parse_dec::<u64>(&text);
    if value.is_none() {
        r.error(
            codes::E003,
            format!(
                "<{}>{}</{}> is not a decimal number",
                r.el.name(),
                crate::diag::clip(text.trim()),
                r.el.name()
            ),
            Some("write the amount as a whole number, with the unit in unit='…'"),
        );
    }
    let extra = r.finish();
    value.map(|value| Memory { value, unit, extra })
}

fn write_memory(name: &str, m: &Memory) -> Element {
    let mut el = Element::new(name)
        .with_opt_attr("unit", m.unit.as_ref())
        .with_text(m.value.to_string());
    m.extra.apply(&mut el);
    el
}

/// A domain as canonical XML appended to `out`: the same text as writing
/// [`write_domain`]'s tree, but `<devices>` is written a device at a time.
pub(crate) fn write_domain_into(out: &mut String, d: &Domain) {
    let root = write_domain_with(d, false);
    let placeholder = root.elements().find(|e| e.name == "devices");
    let streamed = placeholder.is_some_and(|p| {
        crate::xml::write_streaming(out, &root, p, &mut |out| {
            stream_devices(&d.devices, &d.child_extra, out)
        })
    });
    if !streamed {
        crate::xml::write_into(out, &write_domain(d), 0);
    }
}

fn read_uuid(r: &R<'_>, kept: &mut ChildExtra) -> Option<uuid::Uuid> {
    let c = r.child("uuid")?;
    let t = c.text();
    let v = uuid::Uuid::parse_str(t.trim()).ok();
    if v.is_none() {
        c.cx().push(
            Diagnostic::new(codes::E008, c.path(), format!("{} is not a UUID", crate::diag::quote(t.trim())))
                .hint("write 32 hex digits, optionally grouped 8-4-4-4-12 with dashes (uuidgen makes one)")
                .at(c.el.pos()),
        );
    }
    keep(kept, "uuid", c.finish());
    v
}

pub(crate) fn read_domain(r: R<'_>) -> Option<Domain> {
    let kind = match r.attr_raw("type") {
        None => {
            r.missing_attr("type");
            None
        }
        Some(_) => r.enumerated::<DomainType>("type"),
    };
    let mut d = Domain::new(kind.unwrap_or(DomainType::Qemu));
    d.id = r.parse_with("id", "an integer", |s| s.parse().ok());
    let mut kept = ChildExtra::new();
    d.name = r.child_text("name", &mut kept);
    d.uuid = read_uuid(&r, &mut kept);
    d.memory = r.child("memory").and_then(read_memory);
    d.current_memory = r.child("currentMemory").and_then(read_memory);
    d.vcpu = r.child("vcpu").and_then(|v| {
        let placement = v.string("placement");
        let cpuset = v.string("cpuset");
        let current = v.u32("current");
        let t = v.text();
        let count = super::reader::parse_dec::<u32>(&t);
        if count.is_none() {
            v.error(
                codes::E003,
                format!(
                    "<vcpu>{}</vcpu> is not a decimal number",
                    crate::diag::clip(t.trim())
                ),
                Some("write the vCPU count as a whole number"),
            );
        }
        let extra = v.finish();
        count.map(|count| Vcpu {
            count,
            placement,
            cpuset,
            current,
            extra,
        })
    });
    d.iothreads = r.child_number("iothreads", &mut kept);
    d.os = r.child("os").map(|o| {
        let os_type = o.child("type").map(|t| {
            let ot = OsType {
                arch: t.string("arch"),
                machine: t.string("machine"),
                value: t.text().trim().to_string(),
                extra: Default::default(),
            };
            OsType {
                extra: t.finish(),
                ..ot
            }
        });
        o.pass(&["firmware"]);
        let other = o.opaque(&[
            "boot",
            "loader",
            "nvram",
            "kernel",
            "initrd",
            "cmdline",
            "dtb",
            "bootmenu",
            "smbios",
            "bios",
            "init",
            "initarg",
            "initenv",
            "initdir",
            "inituser",
            "initgroup",
            "idmap",
            "acpi",
            "shim",
            "firmware",
            "varstore",
        ]);
        Os {
            os_type,
            other,
            extra: o.finish(),
        }
    });
    d.devices = r
        .child("devices")
        .map(|x| read_devices(x, &mut kept))
        .unwrap_or_default();
    d.child_extra = kept;
    static OPAQUE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let opaque = OPAQUE.get_or_init(|| {
        DOMAIN_ORDER
            .iter()
            .copied()
            .filter(|n| !DOMAIN_MODELLED.contains(n))
            .collect()
    });
    d.other = r.opaque(opaque);
    // In the order they are written back in (libvirt's), so that fmt keeps the model.
    d.other.sort_by_key(|e| rank(&e.name));
    d.extra = r.finish();
    kind.map(|_| d)
}

fn rank(name: &str) -> usize {
    DOMAIN_ORDER
        .iter()
        .position(|n| *n == name)
        .unwrap_or(DOMAIN_ORDER.len())
}

pub(crate) fn write_domain(d: &Domain) -> Element {
    write_domain_with(d, true)
}

/// The domain's tree; `<devices>` without its children unless `devices`.
fn write_domain_with(d: &Domain, devices: bool) -> Element {
    let mut el = Element::new("domain")
        .with_attr("type", d.kind.as_str())
        .with_opt_attr("id", d.id);
    for (k, v) in &d.extra.attrs {
        el.push_attr(k.clone(), v.clone());
    }
    let mut kids: Vec<Element> = Vec::new();
    let kept = &d.child_extra;
    if let Some(n) = &d.name {
        let mut e = Element::new("name").with_text(n.clone());
        apply_kept(&mut e, kept, "name");
        kids.push(e);
    }
    if let Some(u) = &d.uuid {
        let mut e = Element::new("uuid").with_text(u.hyphenated().to_string());
        apply_kept(&mut e, kept, "uuid");
        kids.push(e);
    }
    if let Some(m) = &d.memory {
        kids.push(write_memory("memory", m));
    }
    if let Some(m) = &d.current_memory {
        kids.push(write_memory("currentMemory", m));
    }
    if let Some(v) = &d.vcpu {
        let mut ve = Element::new("vcpu")
            .with_opt_attr("placement", v.placement.as_ref())
            .with_opt_attr("cpuset", v.cpuset.as_ref())
            .with_opt_attr("current", v.current)
            .with_text(v.count.to_string());
        v.extra.apply(&mut ve);
        kids.push(ve);
    }
    if let Some(n) = d.iothreads {
        let mut e = Element::new("iothreads").with_text(n.to_string());
        apply_kept(&mut e, kept, "iothreads");
        kids.push(e);
    }
    if let Some(o) = &d.os {
        let mut oe = Element::new("os");
        if let Some(t) = &o.os_type {
            let mut te = Element::new("type")
                .with_opt_attr("arch", t.arch.as_ref())
                .with_opt_attr("machine", t.machine.as_ref());
            te = te.with_text(t.value.clone());
            t.extra.apply(&mut te);
            oe.push(te);
        }
        for x in &o.other {
            oe.push(x.clone());
        }
        o.extra.apply(&mut oe);
        kids.push(oe);
    }
    kids.push(if devices {
        write_devices(&d.devices, kept)
    } else {
        devices_start(&d.devices)
    });
    kids.extend(d.other.iter().cloned());
    // Stable: verbatim elements keep their relative order within a rank.
    kids.sort_by_key(|e| rank(&e.name));
    for k in kids {
        el.push(k);
    }
    el.children.extend(d.extra.children.iter().cloned());
    el
}

pub(crate) fn read_pool(r: R<'_>) -> Pool {
    let kind = r.req_string("type").unwrap_or_default();
    let mut child_extra = ChildExtra::new();
    let name = r.child_text("name", &mut child_extra);
    let uuid = read_uuid(&r, &mut child_extra);
    let source = r.child("source").map(|s| {
        let adapter = s.child("adapter").map(read_adapter);
        let address = s.child("address").map(read_pool_style_address);
        s.pass_children(&[
            "vendor",
            "product",
            "device",
            "dir",
            "host",
            "auth",
            "name",
            "format",
            "initiator",
            "protocol",
        ]);
        PoolSource {
            adapter,
            address,
            extra: s.finish(),
        }
    });
    let mut other = r.opaque(&[
        "target",
        "capacity",
        "allocation",
        "available",
        "features",
        "refresh",
    ]);
    other.sort_by_key(|e| pool_rank(&e.name));
    Pool {
        kind,
        name,
        uuid,
        source,
        other,
        extra: r.finish(),
        child_extra,
    }
}

const POOL_ORDER: &[&str] = &[
    "name",
    "uuid",
    "capacity",
    "allocation",
    "available",
    "features",
    "source",
    "target",
    "refresh",
];

fn pool_rank(name: &str) -> usize {
    POOL_ORDER
        .iter()
        .position(|n| *n == name)
        .unwrap_or(POOL_ORDER.len())
}

pub(crate) fn write_pool(p: &Pool) -> Element {
    let mut el = Element::new("pool").with_attr("type", p.kind.clone());
    for (k, v) in &p.extra.attrs {
        el.push_attr(k.clone(), v.clone());
    }
    let mut kids = Vec::new();
    if let Some(n) = &p.name {
        let mut e = Element::new("name").with_text(n.clone());
        apply_kept(&mut e, &p.child_extra, "name");
        kids.push(e);
    }
    if let Some(u) = &p.uuid {
        let mut e = Element::new("uuid").with_text(u.hyphenated().to_string());
        apply_kept(&mut e, &p.child_extra, "uuid");
        kids.push(e);
    }
    if let Some(s) = &p.source {
        let mut se = Element::new("source");
        se.push_opt(s.adapter.as_ref().map(write_adapter));
        se.push_opt(s.address.as_ref().map(write_pool_style_address));
        s.extra.apply(&mut se);
        kids.push(se);
    }
    kids.extend(p.other.iter().cloned());
    kids.sort_by_key(|e| pool_rank(&e.name));
    for k in kids {
        el.push(k);
    }
    el.children.extend(p.extra.children.iter().cloned());
    el
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
