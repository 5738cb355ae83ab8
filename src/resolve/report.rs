//! Resolving a whole definition: one row per SCSI device that names host hardware, for
//! `domxml resolve` (human table or JSON, `schemas/resolve-report.schema.json`).

use super::error::chain;
use super::index::{Identity, Index, Lu};
use super::lu::{PassthroughLu, VIRTIO_SCSI_MAX_LUN, VIRTIO_SCSI_MAX_TARGET};
use super::resolved::{DeviceClass, Resolution, ResolvedDomain};
use crate::model::Definition;
use serde::Serialize;

/// Whether a row resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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

    /// The rows that failed.
    pub fn unresolved(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Error)
            .count()
    }

    /// The JSON document `domxml resolve --format json` prints
    /// (`schemas/resolve-report.schema.json`), for one file resolved under one root, keys in
    /// alphabetical order.
    pub fn to_json(&self, file: &str, sysfs_root: &str) -> String {
        #[derive(Serialize)]
        struct Doc<'a> {
            file: &'a str,
            sysfs_root: &'a str,
            rows: &'a [Row],
            warnings: &'a [String],
            unresolved: usize,
        }
        let doc = Doc {
            file,
            sysfs_root,
            rows: &self.rows,
            warnings: &self.warnings,
            unresolved: self.unresolved(),
        };
        // Through a `Value`, whose maps sort their keys: the printed order is alphabetical at
        // every level, as it has always been.
        let v = serde_json::to_value(&doc).unwrap_or_default();
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
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

fn failed(mut r: Row, msg: String) -> Row {
    r.status = Status::Error;
    r.message = Some(msg);
    r
}

/// The rows of a whole-host controller or pool.
fn whole_host_rows(
    base: Row,
    class: DeviceClass,
    host: u32,
    restriction: (Option<u32>, Option<u32>),
    lus: &[PassthroughLu],
    out: &mut Vec<Row>,
) {
    if lus.is_empty() {
        out.push(Row {
            host: Some(host),
            status: Status::Empty,
            message: Some(match restriction {
                (Some(b), Some(t)) => format!("host{host} has no LUs on bus {b} target {t}"),
                _ => format!("host{host} has no LUs"),
            }),
            ..base
        });
        return;
    }
    // A controller gives each LU to the guest at the host's target and LUN on its one
    // channel: flag what `convert` would refuse (a pool has no guest addresses).
    let mut at: std::collections::HashMap<(u32, u64), String> = Default::default();
    for p in lus {
        let mut r = fill(base.clone(), &p.lu);
        r.passthrough = Some(p.driver);
        r.guest = Some(GuestAddr {
            target: p.target,
            lun: p.lun,
        });
        if class == DeviceClass::Controller {
            let (t, l) = (p.target, p.lun);
            if t > VIRTIO_SCSI_MAX_TARGET || l > VIRTIO_SCSI_MAX_LUN {
                r = failed(r, format!(
                    "guest target {t} lun {l} is beyond virtio-scsi (targets 0..{VIRTIO_SCSI_MAX_TARGET}, LUNs 0..{VIRTIO_SCSI_MAX_LUN}), so this LU cannot keep its address; pass it as a <hostdev> or restrict the controller to other targets"
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

impl Report {
    /// The report of a resolved definition: one row per device, several per whole-host
    /// controller or pool.
    pub fn of(resolved: &ResolvedDomain) -> Report {
        let mut rows = Vec::new();
        for dev in &resolved.devices {
            let base = Row {
                path: dev.path.clone(),
                device: dev.class.as_str(),
                adapter: dev.adapter.clone(),
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
            };
            match &dev.resolution {
                Resolution::Lu { lu } => rows.push(fill(base, lu)),
                Resolution::Host {
                    host,
                    bus,
                    target,
                    lus,
                } => whole_host_rows(base, dev.class, *host, (*bus, *target), lus, &mut rows),
                Resolution::Skipped { reason } => rows.push(Row {
                    status: Status::Skipped,
                    message: Some(reason.clone()),
                    ..base
                }),
                Resolution::Failed { host, hctl, error } => rows.push(failed(
                    Row {
                        host: *host,
                        hctl: hctl.map(|h| h.to_string()),
                        ..base
                    },
                    chain(error),
                )),
            }
        }
        Report {
            rows,
            warnings: resolved.warnings.clone(),
        }
    }
}

/// Resolve every SCSI device of a domain or pool that names host hardware against a scanned
/// index, as a report.
pub fn resolve_definition(def: &Definition, idx: &Index) -> Report {
    Report::of(&super::resolved::resolve_with_index(def, idx))
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
