//! `<controller>` rules (reference §a.6) and domxml's whole-host passthrough source.

use super::{check_adapter, Cx};
use crate::diag::{codes, Diagnostic};
use crate::model::{ControllerType, DeviceAddress, ScsiModel};
use std::collections::HashMap;

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let iothreads = cx.domain.iothread_ids();
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
                    if !iothreads.contains(&t) {
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
                                    "virtio-scsi IOThreads only available for virtio pci and virtio ccw controllers (address type is '{}')",
                                    a.kind()
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
