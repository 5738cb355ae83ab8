//! `<hostdev>` rules (reference §e.1, e.5) and domxml's adapter forms in hostdevs.

use super::{check_adapter, Cx};
use crate::diag::{codes, Diagnostic};
use crate::model::{DeviceAddress, Hostdev, HostdevSourceProtocol, HostdevType, ScsiHostModel};

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for (i, h) in cx.domain.devices.hostdevs() {
        let p = cx.path(i);
        check_one(cx, h, p, out);
    }
}

fn check_one(cx: &Cx<'_>, h: &Hostdev, p: &str, out: &mut Vec<Diagnostic>) {
    if h.kind != HostdevType::Scsi {
        if h.sgio.is_some() {
            out.push(
                Diagnostic::new(
                    codes::E060,
                    format!("{p}/@sgio"),
                    "sgio is only supported for scsi host device",
                )
                .hint(format!(
                    "drop sgio: it applies to type='scsi' hostdevs, and this one is type='{}'",
                    h.kind
                )),
            );
        }
        if h.rawio.is_some() {
            out.push(
                Diagnostic::new(
                    codes::E060,
                    format!("{p}/@rawio"),
                    "rawio is only supported for scsi host device",
                )
                .hint(format!(
                    "drop rawio: it applies to type='scsi' hostdevs, and this one is type='{}'",
                    h.kind
                )),
            );
        }
    } else if let Some(s) = &h.sgio {
        if s != "filtered" && s != "unfiltered" {
            out.push(
                Diagnostic::new(
                    codes::E004,
                    format!("{p}/@sgio"),
                    format!(
                        "sgio={s} is not a valid sgio for <hostdev>",
                        s = crate::diag::quote(s)
                    ),
                )
                .hint("accepted values: filtered, unfiltered"),
            );
        }
    }
    if h.model.is_some() && !matches!(h.kind, HostdevType::ScsiHost | HostdevType::Mdev) {
        out.push(
            Diagnostic::new(codes::E065, format!("{p}/@model"), format!("'model' attribute in <hostdev> is only supported when type='scsi_host' or 'mdev' (this one is '{}')", h.kind))
                .hint("drop model"),
        );
    }
    match h.kind {
        HostdevType::Scsi => check_scsi(cx, h, p, out),
        HostdevType::ScsiHost => check_vhost(h, p, out),
        HostdevType::Pci => check_pci(h, p, out),
        _ => {}
    }
}

fn check_scsi(cx: &Cx<'_>, h: &Hostdev, p: &str, out: &mut Vec<Diagnostic>) {
    let sp = format!("{p}/source");
    let Some(src) = &h.source else {
        out.push(Diagnostic::new(codes::E061, p, "a SCSI hostdev needs a <source> naming the host LU").hint("add <source><adapter name='scsi_hostN'/><address bus='0' target='0' unit='0'/></source>"));
        return;
    };
    match h.scsi_protocol() {
        None => out.push(
            Diagnostic::new(
                codes::E004,
                format!("{sp}/@protocol"),
                format!(
                    "Unknown SCSI subsystem protocol {}",
                    crate::diag::quote(src.protocol.as_deref().unwrap_or_default())
                ),
            )
            .hint("accepted values: adapter (the default), iscsi"),
        ),
        Some(HostdevSourceProtocol::Vhost) => out.push(
            Diagnostic::new(
                codes::E004,
                format!("{sp}/@protocol"),
                "Unknown SCSI subsystem protocol 'vhost'",
            )
            .hint("vhost-scsi is <hostdev mode='subsystem' type='scsi_host'>"),
        ),
        Some(HostdevSourceProtocol::Adapter) => {
            match &src.adapter {
                Some(a) => check_adapter(a, &format!("{sp}/adapter"), out),
                None => out.push(
                    Diagnostic::new(codes::E061, sp.clone(), "'adapter' must be specified for scsi hostdev source")
                        .hint("add <adapter name='scsi_hostN'/> or a stable form: <adapter parent='pci_0000_00_1f_2' unique_id='1'/>"),
                ),
            }
            match &src.scsi_address {
                None => out.push(
                    Diagnostic::new(codes::E061, sp.clone(), "'address' must be specified for scsi hostdev source")
                        .hint("add <address bus='0' target='0' unit='0'/> naming the LU on the host adapter"),
                ),
                Some(a) => {
                    for (name, set) in [("bus", a.bus.is_some()), ("target", a.target.is_some()), ("unit", a.unit.is_some())] {
                        if !set {
                            out.push(
                                Diagnostic::new(codes::E061, format!("{sp}/address/@{name}"), format!("the host LU address needs '{name}'"))
                                    .hint("write all three: <address bus='0' target='0' unit='0'/>"),
                            );
                        }
                    }
                }
            }
        }
        Some(HostdevSourceProtocol::Iscsi) => {
            if src.name.as_deref().unwrap_or("").is_empty() {
                out.push(
                    Diagnostic::new(
                        codes::E062,
                        format!("{sp}/@name"),
                        "missing iSCSI hostdev source path name",
                    )
                    .hint("add name='iqn.…/LUN'"),
                );
            }
            match src.hosts.len() {
                0 => out.push(
                    Diagnostic::new(
                        codes::E062,
                        sp.clone(),
                        "missing the host address for the iSCSI hostdev",
                    )
                    .hint("add <host name='portal.example' port='3260'/>"),
                ),
                1 => {}
                _ => out.push(Diagnostic::new(
                    codes::E062,
                    format!("{sp}/host[2]"),
                    "only one source host address may be specified for the iSCSI hostdev",
                )),
            }
            if let Some(t) = src
                .auth
                .as_ref()
                .and_then(|a| a.secret.as_ref())
                .and_then(|s| s.kind.as_deref())
            {
                if t != "iscsi" {
                    out.push(
                        Diagnostic::new(
                            codes::E062,
                            format!("{sp}/auth/secret/@type"),
                            format!("hostdev invalid secret type '{t}'"),
                        )
                        .hint("use <secret type='iscsi' …/>"),
                    );
                }
            }
        }
    }
    if let Some(a) = &h.address {
        match a {
            DeviceAddress::Drive(da, _) => {
                let (c, b, t, u) = da.tuple();
                super::disk::check_scsi_drive(cx, c, b, t, u, p, out);
            }
            other => out.push(
                Diagnostic::new(codes::E012, format!("{p}/address/@type"), format!("a SCSI hostdev takes a drive address, not type {}", crate::diag::quote(other.kind())))
                    .hint("use <address type='drive' controller='0' bus='0' target='0' unit='N'/> or none"),
            ),
        }
    }
}

fn check_vhost(h: &Hostdev, p: &str, out: &mut Vec<Diagnostic>) {
    let sp = format!("{p}/source");
    if let Some(m) = &h.model {
        if ScsiHostModel::from_xml(m).is_none() {
            out.push(
                Diagnostic::new(
                    codes::E004,
                    format!("{p}/@model"),
                    format!(
                        "model={m} is not a valid model for a vhost-scsi hostdev",
                        m = crate::diag::quote(m)
                    ),
                )
                .hint(format!(
                    "accepted values: {}",
                    ScsiHostModel::NAMES.join(", ")
                )),
            );
        }
    }
    match &h.source {
        None => out.push(
            Diagnostic::new(codes::E063, p, "Missing scsi_host subsystem protocol")
                .hint("add <source protocol='vhost' wwpn='naa.…'/>"),
        ),
        Some(src) => {
            match src.protocol.as_deref() {
                None => out.push(
                    Diagnostic::new(
                        codes::E063,
                        format!("{sp}/@protocol"),
                        "Missing scsi_host subsystem protocol",
                    )
                    .hint("add protocol='vhost'"),
                ),
                Some("vhost") => {}
                Some(o) => out.push(
                    Diagnostic::new(
                        codes::E063,
                        format!("{sp}/@protocol"),
                        format!(
                            "Unknown scsi_host subsystem protocol {o}",
                            o = crate::diag::quote(o)
                        ),
                    )
                    .hint("the only scsi_host protocol is 'vhost'"),
                ),
            }
            match src.wwpn.as_deref() {
                None => out.push(Diagnostic::new(codes::E063, format!("{sp}/@wwpn"), "missing vhost-scsi hostdev source wwpn").hint("add wwpn='naa.…' naming the vhost target configured in /sys/kernel/config/target/vhost")),
                Some(w) => {
                    let ok = w.strip_prefix("naa.").is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                    if !ok {
                        out.push(Diagnostic::new(codes::E063, format!("{sp}/@wwpn"), format!("malformed 'wwpn' value '{w}'")).hint("write 'naa.' followed by 16 hex digits, e.g. naa.5123456789abcde0"));
                    }
                }
            }
        }
    }
    if h.boot.is_some() {
        out.push(
            Diagnostic::new(
                codes::E064,
                format!("{p}/boot"),
                "booting from assigned devices is not supported by vhost SCSI devices",
            )
            .hint("boot from another disk, or pass the LU as a SCSI hostdev or lun disk"),
        );
    }
}

fn check_pci(h: &Hostdev, p: &str, out: &mut Vec<Diagnostic>) {
    if let Some(n) = &h.driver_name {
        if n != "vfio" {
            out.push(
                Diagnostic::new(
                    codes::E066,
                    format!("{p}/driver/@name"),
                    format!(
                        "PCI device assignment driver {n} is not supported with QEMU",
                        n = crate::diag::quote(n)
                    ),
                )
                .hint("use <driver name='vfio'/> or omit it"),
            );
        }
    }
    match h.source.as_ref().and_then(|s| s.pci_address.as_ref()) {
        None => out.push(
            Diagnostic::new(codes::E066, format!("{p}/source"), "a PCI hostdev needs <source><address domain bus slot function/></source>")
                .hint("see `lspci -D` for the host address, e.g. <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>"),
        ),
        Some(a) => {
            for (name, set) in [("bus", a.bus.is_some()), ("slot", a.slot.is_some()), ("function", a.function.is_some())] {
                if !set {
                    out.push(Diagnostic::new(codes::E066, format!("{p}/source/address/@{name}"), format!("the host PCI address needs '{name}'")));
                }
            }
        }
    }
}
