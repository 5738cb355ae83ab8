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

use super::{EmitError, Props, B};
use crate::model::{Device, DiskType};
use std::collections::HashMap;

/// What whole-host LUs must not collide with.
#[derive(Default)]
struct Seen {
    /// (controller, target, lun) on guest channel 0 → who holds it; `true` when it is an LU
    /// of a whole-host controller (from another host bus), `false` for a disk or hostdev.
    taken: HashMap<(u32, u32, u64), (String, bool)>,
    /// Host LU → the whole-host controller that already passes it.
    passed: HashMap<crate::resolve::Hctl, String>,
    /// `<disk type='block'>` source path → its item.
    block_disks: HashMap<String, usize>,
}

use crate::resolve::{VIRTIO_SCSI_MAX_LUN as MAX_LUN, VIRTIO_SCSI_MAX_TARGET as MAX_TARGET};

impl B<'_> {
    /// Emit the LUs of every whole-host passthrough controller, after the hostdevs.
    pub(super) fn whole_host_controllers(&mut self) -> Result<(), EmitError> {
        let ctrls: Vec<usize> = self
            .d
            .devices
            .controllers()
            .filter(|(_, c)| c.source.is_some())
            .map(|(i, _)| i)
            .collect();
        if ctrls.is_empty() {
            return Ok(());
        }
        // Everything an LU could collide with, gathered once so that N LUs against M disks
        // and hostdevs cost O(N + M): guest addresses by controller, block disks by node.
        let mut seen = Seen::default();
        for p in &self.layout.placed {
            if p.addr.1 == 0 {
                seen.taken.insert(
                    (p.addr.0, p.addr.2, u64::from(p.addr.3)),
                    (self.paths[p.item].clone(), false),
                );
            }
        }
        for (di, d) in self.d.devices.disks() {
            if d.kind == Some(DiskType::Block) {
                if let Some(dev) = d.source.as_ref().and_then(|s| s.dev.clone()) {
                    seen.block_disks.entry(dev).or_insert(di);
                }
            }
        }
        for i in ctrls {
            self.whole_host_controller(i, &mut seen)?;
        }
        Ok(())
    }

    fn whole_host_controller(&mut self, i: usize, seen: &mut Seen) -> Result<(), EmitError> {
        let Device::Controller(c) = &self.d.devices.items[i] else {
            return Ok(());
        };
        let (idx, alias, path) = (c.idx(), self.scsi_alias(c.idx()), self.item_path(i));
        let here = format!("{path} ({alias})");
        let Some(adapter) = c.source.as_ref().and_then(|s| s.adapter.as_ref()) else {
            return Err(EmitError::new(
                here,
                "unsupported",
                "the whole-host <source> names no <adapter>",
            ));
        };
        let restrict = c.source.as_ref().and_then(|s| s.address.as_ref());
        let bus = restrict.map(|a| a.bus.unwrap_or(0));
        let target = restrict.and_then(|a| a.target);
        let lus = self.lookup.host_lus(adapter, bus, target).map_err(|e| {
            EmitError::new(
                here.clone(),
                "host-lookup",
                format!("cannot list the LUs of the whole-host adapter: {e}"),
            )
            .hint("`domxml resolve` shows what the adapter resolves to; check it against `lsscsi -H`, or pass --sysfs-root for a recorded tree")
        })?;
        if lus.is_empty() {
            let which = match target {
                Some(t) => format!(" on bus {} target {t}", bus.unwrap_or(0)),
                None => String::new(),
            };
            self.notes.push(format!(
                "{here}: the whole-host adapter has no LU{which}; the controller is emitted empty"
            ));
            return Ok(());
        }

        for lu in lus {
            let (t, l) = (lu.hctl.target, lu.qemu_lun);
            if t > MAX_TARGET || l > MAX_LUN {
                return Err(EmitError::new(
                    here,
                    "unsupported",
                    format!(
                        "host LU {} cannot keep its address in the guest: virtio-scsi has targets 0..{MAX_TARGET} and LUNs 0..{MAX_LUN}",
                        lu.hctl
                    ),
                )
                .hint("pass this LU as a <hostdev type='scsi'> at a guest address of your choice, and restrict the controller to other targets with <address type='scsi' bus target>"));
            }
            if let Some(other) = seen.passed.get(&lu.hctl) {
                return Err(EmitError::new(
                    here,
                    "duplicate-lu",
                    format!("host LU {} is already passed through by {other}", lu.hctl),
                )
                .hint("one host LU can be given to the guest once: restrict one of the controllers with <address type='scsi' bus target>"));
            }
            if let Some(other) = lu.sg.as_ref().and_then(|sg| self.passed_sg.get(sg)) {
                return Err(EmitError::new(
                    here,
                    "duplicate-lu",
                    format!(
                        "host LU {} ({}) is also passed through by the hostdev {other}",
                        lu.hctl,
                        lu.sg.as_deref().unwrap_or_default()
                    ),
                )
                .hint("remove the hostdev (the whole-host controller already gives the guest this LU), or restrict the controller to other targets"));
            }
            if let Some(block) = &lu.block {
                if let Some(&di) = seen.block_disks.get(block) {
                    return Err(EmitError::new(
                        here,
                        "duplicate-lu",
                        format!(
                            "host LU {} ({block}) is also used by the disk {}",
                            lu.hctl,
                            self.item_path(di)
                        ),
                    )
                    .hint("remove the disk (the whole-host controller already gives the guest this LU), or restrict the controller to other targets"));
                }
            }
            if let Some((other, ours)) = seen.taken.get(&(idx, t, l)) {
                return Err(EmitError::new(
                    here,
                    "address-conflict",
                    format!(
                        "host LU {} would be guest target {t} lun {l} on {alias}, which {other} already holds",
                        lu.hctl
                    ),
                )
                .hint(if *ours {
                    "virtio-scsi has a single channel, so LUs of different host buses meet at one guest address: split the controller, one per bus and target, with <address type='scsi' bus target>".to_string()
                } else {
                    format!("give {other} an address on another controller: every target and LUN of {alias} belongs to the host adapter")
                }));
            }
            seen.taken.insert(
                (idx, t, l),
                (format!("host LU {} of the same adapter", lu.hctl), true),
            );
            seen.passed.insert(lu.hctl, here.clone());

            let id = format!("{alias}-0-{t}-{l}");
            let addr = Props::new()
                .s("bus", format!("{alias}.0"))
                .n("channel", 0)
                .n("scsi-id", u64::from(t))
                .n("lun", l);
            if self.opts.caps.blockdev() {
                let node = format!("lu-{idx}-{t}-{l}");
                let b = Props::new()
                    .s("driver", "host_device")
                    .s("filename", lu.path.clone())
                    .s("node-name", node.clone())
                    .b("read-only", false);
                self.out.json("-blockdev", &b);
                self.device(
                    Props::new()
                        .s("driver", lu.driver)
                        .s("drive", node)
                        .s("id", id)
                        .extend(addr),
                );
            } else {
                let drive = format!("drive-{id}");
                let dp = Props::new()
                    .s("file", lu.path.clone())
                    .s("if", "none")
                    .s("format", "raw")
                    .s("id", drive.clone());
                self.out.keyval("-drive", &dp, None);
                self.device(
                    Props::new()
                        .s("driver", lu.driver)
                        .extend(addr)
                        .s("drive", drive)
                        .s("id", id),
                );
            }
        }
        Ok(())
    }
}
