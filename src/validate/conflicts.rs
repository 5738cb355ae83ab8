//! Address conflicts between SCSI disks and hostdevs, and the same host LU given twice.

use super::Cx;
use crate::assign::Origin;
use crate::diag::{codes, Diagnostic};
use crate::model::{AdapterForm, Device, HostdevSourceProtocol, HostdevType};
use std::collections::HashMap;

fn fmt_addr(a: (u32, u32, u32, u32)) -> String {
    format!(
        "controller='{}' bus='{}' target='{}' unit='{}'",
        a.0, a.1, a.2, a.3
    )
}

/// What names one host LU, for finding it given twice: an adapter's host and the LU's
/// address on it, or an iSCSI portal and target/LUN.
#[derive(PartialEq, Eq, Hash)]
enum LuKey {
    Adapter(AdapterForm, u32, u32, u64),
    Iscsi(String),
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let placed = &cx.layout.placed;
    // Disk vs disk.
    let mut disks: HashMap<(u32, u32, u32, u32), usize> = HashMap::with_capacity(placed.len());
    for p in placed.iter().filter(|p| !p.hostdev) {
        if let Some(first) = disks.insert(p.addr, p.item) {
            out.push(
                Diagnostic::new(
                    codes::E023,
                    if p.origin == Origin::Explicit { format!("{}/address", cx.path(p.item)) } else { format!("{}/target/@dev", cx.path(p.item)) },
                    format!("SCSI address {} is already used by the disk at {}", fmt_addr(p.addr), cx.path(first)),
                )
                .hint(if p.origin == Origin::FromName {
                    "this disk has no <address>, so its address comes from its target name (sdX: controller = index/7, unit = index%7); give it an explicit <address>"
                } else {
                    "give each disk its own controller/target/unit"
                }),
            );
        }
    }
    // Hostdevs vs disks, and hostdev vs hostdev.
    let mut hostdevs: HashMap<(u32, u32, u32, u32), usize> = HashMap::new();
    for p in placed
        .iter()
        .filter(|p| p.hostdev && p.origin == Origin::Explicit)
    {
        if let Some(first) = hostdevs.insert(p.addr, p.item) {
            out.push(
                Diagnostic::new(
                    codes::E026,
                    format!("{}/address", cx.path(p.item)),
                    format!(
                        "SCSI host device address {} is already used by the hostdev at {}",
                        fmt_addr(p.addr),
                        cx.path(first)
                    ),
                )
                .hint("give each hostdev its own unit, or drop <address> to let one be chosen"),
            );
        }
    }
    for p in placed.iter().filter(|p| p.hostdev) {
        if let Some(&disk) = disks.get(&p.addr) {
            let disk_placed = placed
                .iter()
                .find(|d| !d.hostdev && d.item == disk)
                .expect("disk is placed");
            if disk_placed.origin == Origin::FromName && p.origin == Origin::Explicit {
                let dev = match &cx.domain.devices.items[disk] {
                    Device::Disk(d) => d.dev().unwrap_or_default().to_string(),
                    _ => String::new(),
                };
                out.push(
                    Diagnostic::new(
                        codes::E025,
                        format!("{}/target/@dev", cx.path(disk)),
                        format!(
                            "using disk target name '{dev}' conflicts with SCSI host device address {} (the hostdev at {})",
                            fmt_addr(p.addr),
                            cx.path(p.item)
                        ),
                    )
                    .hint("the disk has no <address>, so it takes one from its name; give it an explicit <address> or another target name"),
                );
            } else {
                out.push(
                    Diagnostic::new(
                        codes::E024,
                        format!("{}/address", cx.path(p.item)),
                        format!("SCSI host address {} in use by a SCSI disk ({})", fmt_addr(p.addr), cx.path(disk)),
                    )
                    .hint("move the hostdev to a free unit, or drop its <address> to let one be chosen"),
                );
            }
        }
    }
    // The same host LU twice.
    let mut lus: HashMap<LuKey, usize> = HashMap::new();
    for (i, h) in cx.domain.devices.hostdevs() {
        if h.kind != HostdevType::Scsi {
            continue;
        }
        let Some(src) = &h.source else { continue };
        let key = match h.scsi_protocol() {
            Some(HostdevSourceProtocol::Adapter) => {
                let (Some(a), Some(addr)) = (&src.adapter, &src.scsi_address) else {
                    continue;
                };
                let Ok(form) = a.form() else { continue };
                LuKey::Adapter(
                    form,
                    addr.bus.unwrap_or(0),
                    addr.target.unwrap_or(0),
                    addr.unit.unwrap_or(0),
                )
            }
            Some(HostdevSourceProtocol::Iscsi) => {
                let mut name = src.name.clone().unwrap_or_default();
                if !name.contains('/') {
                    name.push_str("/0");
                }
                let host = src
                    .hosts
                    .first()
                    .map(|h| {
                        format!(
                            "{}:{}",
                            h.name.as_deref().unwrap_or(""),
                            h.port.as_deref().unwrap_or("3260")
                        )
                    })
                    .unwrap_or_default();
                LuKey::Iscsi(format!("{host}:{name}"))
            }
            _ => continue,
        };
        if let Some(first) = lus.insert(key, i) {
            out.push(
                Diagnostic::new(
                    codes::E027,
                    format!("{}/source", cx.path(i)),
                    format!(
                        "this host SCSI device is already assigned by the hostdev at {}",
                        cx.path(first)
                    ),
                )
                .hint("a host LU can be given to a guest once; remove the duplicate <hostdev>"),
            );
        }
    }
}
