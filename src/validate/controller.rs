//! `<controller>` rules (reference §a.6) and domxml's whole-host passthrough source.

use super::{check_adapter, Cx};
use crate::assign::{Origin, MAX_SCSI_CONTROLLER_INDEX};
use crate::diag::{codes, Diagnostic};
use crate::model::{ControllerType, DeviceAddress, ScsiModel};
use std::collections::HashMap;

/// A device on SCSI controller N makes libvirt add every controller 0..=N (reference §c.3):
/// an index above [`MAX_SCSI_CONTROLLER_INDEX`] is refused at the device that names or gets it.
fn check_indices(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for p in &cx.layout.placed {
        let c = p.addr.0;
        if c <= MAX_SCSI_CONTROLLER_INDEX {
            continue;
        }
        let path = cx.path(p.item);
        let (at, why) = match p.origin {
            Origin::Explicit => (format!("{path}/address/@controller"), "this device names it"),
            Origin::FromName => (
                format!("{path}/target/@dev"),
                "this disk has no <address>, and its target name puts it there (sdX: controller = index/7)",
            ),
            Origin::Searched => (
                path.to_string(),
                "this hostdev has no <address>, and the free-unit search puts it there (7 units per controller)",
            ),
        };
        out.push(
            Diagnostic::new(
                codes::E016,
                at,
                format!(
                    "SCSI controller index {c} is above {MAX_SCSI_CONTROLLER_INDEX} ({why}): libvirt would add every SCSI controller 0..={c}, each a PCI device"
                ),
            )
            .hint(format!(
                "use a controller index of at most {MAX_SCSI_CONTROLLER_INDEX} (libvirt's schema allows controller='0'..'99'); put more devices on one controller (virtio-scsi has 256 targets of 16384 LUNs)"
            )),
        );
    }
}

/// The same bound for SATA: a disk on SATA controller N makes libvirt add every SATA
/// controller 0..=N (`virDomainDefAddDiskControllersForType`).
fn check_sata_indices(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    use crate::assign::{drive_address_for_index, parse_disk_name};
    use crate::model::DiskBus;
    for (i, d) in cx.domain.devices.disks() {
        if d.bus() != Some(DiskBus::Sata) {
            continue;
        }
        let (c, at) = match &d.address {
            Some(DeviceAddress::Drive(a, _)) => (a.tuple().0, "address/@controller"),
            Some(_) => continue,
            None => {
                let Some(n) = d.dev().and_then(|n| parse_disk_name(n).ok()) else {
                    continue;
                };
                let Some(a) = drive_address_for_index(DiskBus::Sata, n.index) else {
                    continue;
                };
                (a.tuple().0, "target/@dev")
            }
        };
        if c > MAX_SCSI_CONTROLLER_INDEX {
            out.push(
                Diagnostic::new(
                    codes::E016,
                    format!("{}/{at}", cx.path(i)),
                    format!(
                        "SATA controller index {c} is above {MAX_SCSI_CONTROLLER_INDEX}: libvirt would add every SATA controller 0..={c}, each a PCI device"
                    ),
                )
                .hint(format!(
                    "use a controller index of at most {MAX_SCSI_CONTROLLER_INDEX} (libvirt's schema allows controller='0'..'99'); a SATA controller has 6 ports"
                )),
            );
        }
    }
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    check_indices(cx, out);
    check_sata_indices(cx, out);
    let mut seen: HashMap<(ControllerType, u32), usize> = HashMap::new();
    let indexes = crate::controller_index::ControllerIndexes::of(cx.domain);
    for (i, c) in cx.domain.devices.controllers() {
        let p = cx.path(i);
        let idx = indexes.get(i);
        // USB2 companions share the index of their EHCI controller, one of each model.
        let companion = crate::controller_index::is_usb2(c)
            && !cx.domain.devices.controllers().any(|(j, o)| {
                j != i && indexes.get(j) == idx && o.kind == c.kind && o.model == c.model
            });
        if companion {
            continue;
        }
        if let Some(first) = seen.insert((c.kind, idx), i) {
            out.push(
                Diagnostic::new(
                    codes::E054,
                    format!("{p}/@index"),
                    format!(
                        "a {} controller with index {} is already defined at {}",
                        c.kind,
                        idx,
                        cx.path(first)
                    ),
                )
                .hint("give each controller of a type its own index"),
            );
        }
        if c.kind != ControllerType::Scsi {
            continue;
        }
        let model = c.scsi_model().unwrap_or(ScsiModel::Auto);
        let effective = cx.layout.model_of(idx).unwrap_or(model);
        if model == ScsiModel::Buslogic {
            out.push(
                Diagnostic::new(
                    codes::E052,
                    format!("{p}/@model"),
                    "Unsupported controller model: buslogic (QEMU has no BusLogic HBA)",
                )
                .hint("use model='virtio-scsi', or 'lsilogic' for guests without virtio drivers"),
            );
        }
        if model == ScsiModel::Ncr53c90 && idx != 0 {
            out.push(Diagnostic::new(
                codes::E053,
                format!("{p}/@index"),
                "ncr53c90 can only be used as first SCSI controller (it is the machine's built-in ESP)",
            ));
        }
        if let Some(d) = &c.driver {
            let dp = format!("{p}/driver");
            if let Some(t) = d.iothread {
                if !effective.is_virtio() {
                    out.push(
                        Diagnostic::new(
                            codes::E050,
                            format!("{dp}/@iothread"),
                            format!("'iothread' attribute only supported for virtio scsi controllers (this one is {effective})"),
                        )
                        .hint("set model='virtio-scsi' or drop the iothread"),
                    );
                } else {
                    if !cx.domain.has_iothread(t) {
                        out.push(
                            Diagnostic::new(
                                codes::E051,
                                format!("{dp}/@iothread"),
                                format!("controller iothread '{t}' not defined in iothreadid"),
                            )
                            .hint(format!("add <iothreads>{t}</iothreads> (or an <iothreadids> entry with id='{t}') to the domain")),
                        );
                    }
                    if let Some(a) = &c.address {
                        if !matches!(a, DeviceAddress::Pci(..) | DeviceAddress::Ccw(..)) {
                            out.push(Diagnostic::new(
                                codes::E056,
                                format!("{p}/address/@type"),
                                format!(
                                    "virtio-scsi IOThreads only available for virtio pci and virtio ccw controllers (address type is {})",
                                    crate::diag::quote(a.kind())
                                ),
                            ));
                        }
                    }
                }
            }
            if !effective.is_virtio() {
                for (name, set) in [
                    ("queues", d.queues.is_some()),
                    ("cmd_per_lun", d.cmd_per_lun.is_some()),
                    ("max_sectors", d.max_sectors.is_some()),
                    ("ioeventfd", d.ioeventfd.is_some()),
                ] {
                    if set {
                        out.push(
                            Diagnostic::new(
                                codes::E057,
                                format!("{dp}/@{name}"),
                                format!("'{name}' is only supported for virtio-scsi controllers (this one is {effective})"),
                            )
                            .hint("set model='virtio-scsi' or drop the option"),
                        );
                    }
                }
            }
        }
        if let Some(src) = &c.source {
            let sp = format!("{p}/source");
            if !effective.is_virtio() {
                out.push(
                    Diagnostic::new(
                        codes::E055,
                        sp.clone(),
                        format!("whole-host passthrough (<source><adapter>) needs a virtio-scsi controller, not {effective}"),
                    )
                    .hint("set model='virtio-scsi': only virtio-scsi addresses every target and LUN a host adapter can have"),
                );
            }
            match &src.adapter {
                Some(a) => check_adapter(a, &format!("{sp}/adapter"), out),
                None => out.push(
                    Diagnostic::new(
                        codes::E005,
                        sp.clone(),
                        "<source> of a controller needs an <adapter> naming the host adapter",
                    )
                    .hint("add e.g. <adapter parent='pci_0000_00_05_0' unique_id='0'/>"),
                ),
            }
            if let Some(addr) = &src.address {
                if addr.target.is_none() {
                    out.push(
                        Diagnostic::new(codes::E090, format!("{sp}/address"), "an <address type='scsi'> restriction needs a 'target' (bus defaults to 0)")
                            .hint("add target='N', or drop the <address> to pass every LU of the adapter"),
                    );
                }
            }
        }
    }
}
