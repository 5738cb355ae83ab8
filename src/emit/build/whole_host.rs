//! Whole-host passthrough: a virtio-scsi controller with `<source><adapter>` gives the guest
//! every LU of that host adapter (or of one bus/target of it), each as its own QEMU device on
//! the controller's bus.
//!
//! libvirt has no such controller, so nothing here mirrors a libvirt function; the devices are
//! the ones libvirt would build for the equivalent explicit XML (a `<disk device='lun'>` for an
//! LU with a block device, a `<hostdev type='scsi'>` for one without), which
//! `tests/libvirt_crosscheck.rs` checks. The names are domxml's own and are chosen to be
//! stable across reboots, because the applier will key hot-plug on them:
//!
//! * device id `ALIAS-0-T-L` (the controller's alias, guest channel 0, target, lun), the shape
//!   of libvirt's alias for a SCSI disk at that drive address;
//! * block node `lu-C-T-L` (C the controller index), at most 23 characters, well inside
//!   QEMU's 31-character node-name limit whatever the alias is.
//!
//! The guest sees the host's target and LUN: virtio-scsi has one channel, 256 targets and
//! 16384 LUNs, so an LU outside that, or two LUs on different host buses that would meet at
//! one guest address, is refused with what to change rather than renumbered silently.

use super::{Cx, Out};
use crate::diag::codes;
use crate::emit::plan::Key;
use crate::emit::{EmitError, Props};
use crate::model::{Device, HostdevSourceProtocol, HostdevType, SourceKind};
use crate::resolve::error::chain;
use crate::resolve::{PassthroughLu, Resolution};
use std::collections::HashMap;

/// What whole-host LUs must not collide with.
#[derive(Default)]
struct Seen {
    /// (controller, target, lun) on guest channel 0 → who holds it; `true` when it is an LU
    /// of a whole-host controller (from another host bus), `false` for a disk or hostdev.
    taken: HashMap<(u32, u32, u64), (String, bool)>,
    /// Host LU → the whole-host controller that already passes it.
    passed: HashMap<crate::resolve::Hctl, String>,
    /// `/dev/sgN` of every SCSI hostdev → the hostdev.
    hostdev_sg: HashMap<String, String>,
    /// `<disk type='block'>` source path → its item.
    block_disks: HashMap<String, usize>,
}

use crate::resolve::{VIRTIO_SCSI_MAX_LUN as MAX_LUN, VIRTIO_SCSI_MAX_TARGET as MAX_TARGET};

/// Emit the LUs of every whole-host passthrough controller, after the hostdevs.
pub(super) fn build(cx: &Cx<'_>, out: &mut Out) -> Result<(), EmitError> {
    let ctrls: Vec<usize> =
        cx.d.devices
            .controllers()
            .filter(|(_, c)| c.source.is_some())
            .map(|(i, _)| i)
            .collect();
    if ctrls.is_empty() {
        return Ok(());
    }
    // Everything an LU could collide with, gathered once so that N LUs against M disks and
    // hostdevs cost O(N + M): guest addresses by controller, hostdevs by sg node, block disks
    // by node.
    let mut seen = Seen::default();
    for p in &cx.plan.layout.placed {
        if p.addr.1 == 0 {
            seen.taken.insert(
                (p.addr.0, p.addr.2, u64::from(p.addr.3)),
                (cx.path(p.item).to_string(), false),
            );
        }
    }
    for (i, h) in cx.d.devices.hostdevs() {
        if h.kind != HostdevType::Scsi || h.scsi_protocol() != Some(HostdevSourceProtocol::Adapter)
        {
            continue;
        }
        if let Some(Resolution::Lu { lu }) = cx.resolved.device(i).map(|r| &r.resolution) {
            if let Some(sg) = &lu.sg {
                let alias = &cx.plan.names.hostdev[&i];
                seen.hostdev_sg
                    .insert(format!("/dev/{sg}"), format!("{} ({alias})", cx.path(i)));
            }
        }
    }
    for (di, d) in cx.d.devices.disks() {
        if let SourceKind::Block { dev } = d.source_kind() {
            seen.block_disks.entry(dev.to_string()).or_insert(di);
        }
    }
    for i in ctrls {
        controller(cx, out, i, &mut seen)?;
    }
    Ok(())
}

fn controller(cx: &Cx<'_>, out: &mut Out, i: usize, seen: &mut Seen) -> Result<(), EmitError> {
    let Device::Controller(c) = &cx.d.devices.items[i] else {
        return Ok(());
    };
    let idx = cx
        .plan
        .ctrls
        .iter()
        .find(|x| x.key == Key::Item(i))
        .map_or(c.idx(), |x| x.idx);
    let (alias, path) = (cx.plan.names.scsi(idx), cx.path(i));
    let here = format!("{path} ({alias})");
    let lookup_failed = |why: String| {
        EmitError::new(
            codes::E120,
            path,
            format!("cannot list the LUs of the whole-host adapter ({alias}): {why}"),
        )
        .with_hint("`domxml resolve` shows what the adapter resolves to; check it against `lsscsi -H`, or pass --sysfs-root for a recorded tree")
    };
    let (lus, target, bus) = match cx.resolved.device(i).map(|r| &r.resolution) {
        Some(Resolution::Host {
            lus, bus, target, ..
        }) => (lus, *target, *bus),
        Some(Resolution::Failed { error, .. }) => return Err(lookup_failed(chain(error))),
        _ => {
            return Err(lookup_failed(
                "the controller was not resolved against a host: resolve the domain (domxml::resolve) before converting it".into(),
            ))
        }
    };
    if lus.is_empty() {
        let which = match target {
            Some(t) => format!(" on bus {} target {t}", bus.unwrap_or(0)),
            None => String::new(),
        };
        out.note(
            path,
            format!("the whole-host adapter of {alias} has no LU{which}; the controller is emitted empty"),
        );
        return Ok(());
    }

    for lu in lus {
        let hctl = lu.lu.hctl;
        let (t, l) = (lu.target, lu.lun);
        let sg = lu.lu.sg.as_ref().map(|n| format!("/dev/{n}"));
        let block = lu.lu.block.as_ref().map(|n| format!("/dev/{n}"));
        let Some(node_path) = lu.dev_path() else {
            return Err(lookup_failed(format!(
                "LU {hctl} has neither a block nor a SCSI generic device"
            )));
        };
        if t > MAX_TARGET || l > MAX_LUN {
            return Err(EmitError::new(
                codes::E123,
                path,
                format!(
                    "host LU {hctl} cannot keep its address in the guest: virtio-scsi has targets 0..{MAX_TARGET} and LUNs 0..{MAX_LUN}"
                ),
            )
            .with_hint("pass this LU as a <hostdev type='scsi'> at a guest address of your choice, and restrict the controller to other targets with <address type='scsi' bus target>"));
        }
        if let Some(other) = seen.passed.get(&hctl) {
            return Err(EmitError::new(
                codes::E121,
                path,
                format!("host LU {hctl} is already passed through by {other}"),
            )
            .with_hint("one host LU can be given to the guest once: restrict one of the controllers with <address type='scsi' bus target>"));
        }
        if let Some(other) = sg.as_ref().and_then(|sg| seen.hostdev_sg.get(sg)) {
            return Err(EmitError::new(
                codes::E121,
                path,
                format!(
                    "host LU {hctl} ({}) is also passed through by the hostdev {other}",
                    sg.as_deref().unwrap_or_default()
                ),
            )
            .with_hint("remove the hostdev (the whole-host controller already gives the guest this LU), or restrict the controller to other targets"));
        }
        if let Some(block) = &block {
            if let Some(&di) = seen.block_disks.get(block) {
                return Err(EmitError::new(
                    codes::E121,
                    path,
                    format!(
                        "host LU {hctl} ({block}) is also used by the disk {}",
                        cx.path(di)
                    ),
                )
                .with_hint("remove the disk (the whole-host controller already gives the guest this LU), or restrict the controller to other targets"));
            }
        }
        if let Some((other, ours)) = seen.taken.get(&(idx, t, l)) {
            return Err(EmitError::new(
                codes::E122,
                path,
                format!(
                    "host LU {hctl} would be guest target {t} lun {l} on {alias}, which {other} already holds"
                ),
            )
            .with_hint(if *ours {
                "virtio-scsi has a single channel, so LUs of different host buses meet at one guest address: split the controller, one per bus and target, with <address type='scsi' bus target>".to_string()
            } else {
                format!("give {other} an address on another controller: every target and LUN of {alias} belongs to the host adapter")
            }));
        }
        seen.taken.insert(
            (idx, t, l),
            (format!("host LU {hctl} of the same adapter"), true),
        );
        seen.passed.insert(hctl, here.clone());
        emit_lu(cx, out, idx, &alias, lu, node_path);
    }
    Ok(())
}

/// The device (and backend) of one LU, named `ALIAS-0-T-L` with node `lu-C-T-L`.
fn emit_lu(
    cx: &Cx<'_>,
    out: &mut Out,
    idx: u32,
    alias: &str,
    lu: &PassthroughLu,
    node_path: String,
) {
    let (t, l) = (lu.target, lu.lun);
    let id = format!("{alias}-0-{t}-{l}");
    let addr = Props::new()
        .s("bus", format!("{alias}.0"))
        .n("channel", 0)
        .n("scsi-id", u64::from(t))
        .n("lun", l);
    if cx.opts.caps.blockdev() {
        let node = format!("lu-{idx}-{t}-{l}");
        out.blockdev(
            &Props::new()
                .s("driver", "host_device")
                .s("filename", node_path)
                .s("node-name", node.clone())
                .b("read-only", false),
        );
        out.device(
            Props::new()
                .s("driver", lu.driver)
                .s("drive", node)
                .s("id", id)
                .extend(addr),
        );
    } else {
        let drive = format!("drive-{id}");
        out.drive(
            &Props::new()
                .s("file", node_path)
                .s("if", "none")
                .s("format", "raw")
                .s("id", drive.clone()),
        );
        out.device(
            Props::new()
                .s("driver", lu.driver)
                .extend(addr)
                .s("drive", drive)
                .s("id", id),
        );
    }
}
