//! Resolving a whole definition: one row per SCSI device that names host hardware, for
//! `domxml resolve` (human table or JSON, `schemas/resolve-report.schema.json`).

use super::adapter::{describe, resolve_adapter};
use super::index::{Identity, Index, Lu};
use super::lu::{lookup_lu, whole_host};
use super::sysfs::{is_block_name, is_sg_name, Hctl};
use crate::model::{
    Adapter, Definition, DiskDevice, DiskType, HostdevSourceProtocol, HostdevType, PoolStyleAddress,
};
use serde::Serialize;

/// Whether a row resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Resolved.
    Ok,
    /// Did not resolve; `message` says why.
    Error,
    /// Resolved to a host with no LUs (whole-host passthrough gives the guest nothing).
    Empty,
    /// Names nothing sysfs can check (iSCSI, a `/dev/disk/by-id` path); `message` says why.
    Skipped,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Element path of the device (`/domain/devices/hostdev[2]`).
    pub path: String,
    /// `hostdev`, `controller`, `disk` or `pool`.
    pub device: &'static str,
    /// The adapter as written, when the device has one.
    pub adapter: Option<String>,
    /// Outcome.
    pub status: Status,
    /// The resolved host number.
    pub host: Option<u32>,
    /// The LU's host address `H:B:T:L`.
    pub hctl: Option<String>,
    /// `/dev/sgN`.
    pub sg: Option<String>,
    /// `/dev/sdX` or `/dev/srN`.
    pub block: Option<String>,
    /// SCSI peripheral type name (`disk`, `cd-rom`, …).
    #[serde(rename = "type")]
    pub scsi_type: Option<String>,
    /// Vendor, model and revision.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Revision.
    pub rev: Option<String>,
    /// Stable identity.
    pub identity: Option<Identity>,
    /// For whole-host passthrough: `scsi-block` or `scsi-generic`.
    pub passthrough: Option<&'static str>,
    /// For whole-host passthrough: the guest target and lun (the host's).
    pub guest: Option<GuestAddr>,
    /// Why it did not resolve, or a note.
    pub message: Option<String>,
}

/// The guest address a whole-host LU gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuestAddr {
    /// `scsi-id`.
    pub target: u32,
    /// `lun`.
    pub lun: u64,
}

/// The report for one definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One row per device (several per whole-host controller or pool).
    pub rows: Vec<Row>,
    /// Scan warnings (entries skipped or incomplete).
    pub warnings: Vec<String>,
}

impl Report {
    /// True when any row failed.
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| r.status == Status::Error)
    }
}

/// `0` → `disk`, … (SPC peripheral device types).
pub fn type_name(t: u32) -> String {
    match t {
        0 => "disk".into(),
        1 => "tape".into(),
        3 => "processor".into(),
        5 => "cd-rom".into(),
        7 => "optical".into(),
        8 => "changer".into(),
        12 => "raid".into(),
        13 => "enclosure".into(),
        14 => "rbc".into(),
        t => format!("type {t}"),
    }
}

fn row(path: String, device: &'static str, adapter: Option<&Adapter>) -> Row {
    Row {
        path,
        device,
        adapter: adapter.map(describe),
        status: Status::Ok,
        host: None,
        hctl: None,
        sg: None,
        block: None,
        scsi_type: None,
        vendor: None,
        model: None,
        rev: None,
        identity: None,
        passthrough: None,
        guest: None,
        message: None,
    }
}

fn fill(mut r: Row, lu: &Lu) -> Row {
    r.host = Some(lu.hctl.host);
    r.hctl = Some(lu.hctl.to_string());
    r.sg = lu.sg.as_ref().map(|s| format!("/dev/{s}"));
    r.block = lu.block.as_ref().map(|s| format!("/dev/{s}"));
    r.scsi_type = lu.scsi_type.map(type_name);
    r.vendor = lu.vendor.clone();
    r.model = lu.model.clone();
    r.rev = lu.rev.clone();
    r.identity = Some(lu.identity.clone());
    r
}

fn failed(mut r: Row, msg: impl Into<Failure>) -> Row {
    r.status = Status::Error;
    r.message = Some(msg.into().0);
    r
}

/// A failure message: a plain text, or an error printed with its causes.
struct Failure(String);

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Failure(s.to_string())
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

impl From<super::error::ResolveError> for Failure {
    fn from(e: super::error::ResolveError) -> Self {
        Failure(super::error::chain(&e))
    }
}

fn skipped(mut r: Row, msg: impl ToString) -> Row {
    r.status = Status::Skipped;
    r.message = Some(msg.to_string());
    r
}

fn whole_host_rows(
    idx: &Index,
    path: String,
    device: &'static str,
    adapter: &Adapter,
    address: Option<&PoolStyleAddress>,
    out: &mut Vec<Row>,
) {
    let base = row(path, device, Some(adapter));
    let host = match resolve_adapter(idx, adapter) {
        Ok(h) => h.number,
        Err(e) => return out.push(failed(base, e)),
    };
    let bus = address.map(|a| a.bus.unwrap_or(0));
    let target = address.and_then(|a| a.target);
    match whole_host(idx, host, bus, target) {
        Err(e) => out.push(failed(
            Row {
                host: Some(host),
                ..base
            },
            e,
        )),
        Ok(lus) if lus.is_empty() => out.push(Row {
            host: Some(host),
            status: Status::Empty,
            message: Some(match (bus, target) {
                (Some(b), Some(t)) => format!("host{host} has no LUs on bus {b} target {t}"),
                _ => format!("host{host} has no LUs"),
            }),
            ..base
        }),
        Ok(lus) => {
            // A controller gives each LU to the guest at the host's target and LUN on its one
            // channel: flag what `convert` would refuse (a pool has no guest addresses).
            let mut at: std::collections::HashMap<(u32, u64), String> = Default::default();
            for p in lus {
                let mut r = fill(base.clone(), p.lu);
                r.passthrough = Some(p.driver);
                r.guest = Some(GuestAddr {
                    target: p.target,
                    lun: p.lun,
                });
                if device == "controller" {
                    let (t, l) = (p.target, p.lun);
                    if t > super::lu::VIRTIO_SCSI_MAX_TARGET || l > super::lu::VIRTIO_SCSI_MAX_LUN {
                        r = failed(r, format!(
                            "guest target {t} lun {l} is beyond virtio-scsi (targets 0..{}, LUNs 0..{}), so this LU cannot keep its address; pass it as a <hostdev> or restrict the controller to other targets",
                            super::lu::VIRTIO_SCSI_MAX_TARGET,
                            super::lu::VIRTIO_SCSI_MAX_LUN
                        ));
                    } else if let Some(other) = at.get(&(t, l)) {
                        r = failed(r, format!(
                            "host LU {other} already takes guest target {t} lun {l} (virtio-scsi has one channel); split the controller by host bus with <address type='scsi' bus target>"
                        ));
                    } else {
                        at.insert((t, l), p.lu.hctl.to_string());
                    }
                }
                out.push(r);
            }
        }
    }
}

/// Resolve every SCSI device of a domain or pool that names host hardware.
pub fn resolve_definition(def: &Definition, idx: &Index) -> Report {
    let mut rows = Vec::new();
    match def {
        Definition::Pool(p) => {
            if p.kind == "scsi" {
                match p.source.as_ref().and_then(|s| s.adapter.as_ref()) {
                    Some(a) => whole_host_rows(
                        idx,
                        "/pool/source/adapter".into(),
                        "pool",
                        a,
                        p.source.as_ref().and_then(|s| s.address.as_ref()),
                        &mut rows,
                    ),
                    None => rows.push(failed(
                        row("/pool/source".into(), "pool", None),
                        "the scsi pool has no <source><adapter>",
                    )),
                }
            }
        }
        Definition::Domain(d) => {
            for (i, dev) in d.devices.items.iter().enumerate() {
                let path = d.devices.path_of(i);
                match dev {
                    crate::model::Device::Hostdev(h) if h.kind == HostdevType::Scsi => {
                        let src = h.source.as_ref();
                        let adapter = src.and_then(|s| s.adapter.as_ref());
                        let base = row(path, "hostdev", adapter);
                        match h.scsi_protocol() {
                            Some(HostdevSourceProtocol::Adapter) => {}
                            _ => {
                                rows.push(skipped(base, "not a host adapter source (iSCSI is resolved by QEMU, not sysfs)"));
                                continue;
                            }
                        }
                        let (Some(a), Some(addr)) =
                            (adapter, src.and_then(|s| s.scsi_address.as_ref()))
                        else {
                            rows.push(failed(base, "a SCSI hostdev needs <source><adapter> and <address bus target unit>"));
                            continue;
                        };
                        let (Some(bus), Some(target), Some(unit)) =
                            (addr.bus, addr.target, addr.unit)
                        else {
                            rows.push(failed(
                                base,
                                "the source <address> needs bus, target and unit",
                            ));
                            continue;
                        };
                        let host = match resolve_adapter(idx, a) {
                            Ok(h) => h.number,
                            Err(e) => {
                                rows.push(failed(base, e));
                                continue;
                            }
                        };
                        let hctl = Hctl {
                            host,
                            bus,
                            target,
                            lun: unit,
                        };
                        match lookup_lu(idx, hctl) {
                            Ok(lu) => rows.push(fill(base, lu)),
                            Err(e) => rows.push(failed(
                                Row {
                                    host: Some(host),
                                    hctl: Some(hctl.to_string()),
                                    ..base
                                },
                                e,
                            )),
                        }
                    }
                    crate::model::Device::Controller(c) => {
                        if let Some(a) = c.source.as_ref().and_then(|s| s.adapter.as_ref()) {
                            whole_host_rows(
                                idx,
                                path,
                                "controller",
                                a,
                                c.source.as_ref().and_then(|s| s.address.as_ref()),
                                &mut rows,
                            );
                        }
                    }
                    crate::model::Device::Disk(disk) if disk.device() == DiskDevice::Lun => {
                        let base = row(path, "disk", None);
                        let dev = disk.source.as_ref().and_then(|s| s.dev.as_deref());
                        let (Some(DiskType::Block), Some(dev)) = (disk.kind, dev) else {
                            rows.push(skipped(
                                base,
                                "not a block-device source; nothing to look up in sysfs",
                            ));
                            continue;
                        };
                        let name = dev.strip_prefix("/dev/").unwrap_or("");
                        let lu = if is_block_name(name) {
                            idx.lu_by_block(name)
                        } else if is_sg_name(name) {
                            idx.lu_by_sg(name)
                        } else {
                            rows.push(skipped(base, format!("{dev} is not a /dev/sdX, /dev/srN or /dev/sgN name; domxml does not follow /dev links")));
                            continue;
                        };
                        match lu {
                            Some(lu) => rows.push(fill(base, lu)),
                            None => rows.push(failed(base, format!(
                                "no SCSI LU on this host has {dev} (looked in every {}/sys/bus/scsi/devices/*/{{block,scsi_generic}})",
                                if idx.root == "/" { "" } else { idx.root.as_str() }
                            ))),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Report {
        rows,
        warnings: idx.warnings.clone(),
    }
}

/// The human table: one line per row, with the message indented under failed rows.
pub fn human(name: &str, root: &str, report: &Report) -> String {
    let header = [
        "DEVICE",
        "ADAPTER",
        "HOST",
        "H:B:T:L",
        "SG",
        "BLOCK",
        "TYPE",
        "PASSTHROUGH",
        "IDENTITY",
    ];
    let dash = || "-".to_string();
    let cells: Vec<[String; 9]> = report
        .rows
        .iter()
        .map(|r| {
            [
                r.path.clone(),
                r.adapter.clone().unwrap_or_else(dash),
                r.host.map(|h| format!("host{h}")).unwrap_or_else(dash),
                r.hctl.clone().unwrap_or_else(dash),
                r.sg.clone().unwrap_or_else(dash),
                r.block.clone().unwrap_or_else(dash),
                r.scsi_type.clone().unwrap_or_else(dash),
                match (r.passthrough, r.guest) {
                    (Some(p), Some(g)) => format!("{p} {}:{}", g.target, g.lun),
                    _ => dash(),
                },
                r.identity
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_else(dash),
            ]
        })
        .collect();
    let mut w = header.map(str::len);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            w[i] = w[i].max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::new();
        for (i, v) in c.iter().enumerate() {
            if i + 1 == c.len() {
                s.push_str(v);
            } else {
                s.push_str(&format!("{v:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!("{name} (sysfs root {root})\n");
    if report.rows.is_empty() {
        out.push_str("no SCSI device in this definition names host hardware\n");
    } else {
        out.push_str(&line(&header.map(String::from)));
        for (r, c) in report.rows.iter().zip(&cells) {
            out.push_str(&line(c));
            if let Some(m) = &r.message {
                let tag = match r.status {
                    Status::Error => "error",
                    _ => "note",
                };
                out.push_str(&format!("  {tag}: {m}\n"));
            }
        }
    }
    for wmsg in &report.warnings {
        out.push_str(&format!("warning: {wmsg}\n"));
    }
    let errors = report
        .rows
        .iter()
        .filter(|r| r.status == Status::Error)
        .count();
    out.push_str(&format!(
        "{} row{}, {errors} unresolved\n",
        report.rows.len(),
        if report.rows.len() == 1 { "" } else { "s" }
    ));
    out
}
