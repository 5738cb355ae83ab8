//! Controllers (`qemuBuildControllersCommandLine`): the PCI controllers libvirt adds, then USB,
//! SCSI and SATA, each group in libvirt's list order; and the memory balloon, which closes
//! the device list.

use super::{Cx, Out};
use crate::diag::codes;
use crate::emit::plan::controllers::Ctrl;
use crate::emit::plan::pci::PciCtrl;
use crate::emit::plan::Key;
use crate::emit::{EmitError, Props};
use crate::model::{ControllerType, Device, OnOff, PciModel, ScsiModel};

pub(super) fn build(cx: &Cx<'_>, out: &mut Out) -> Result<(), EmitError> {
    let plan = cx.plan;
    for c in &plan.pci_ctrls {
        pci(cx, out, c);
    }
    for c in plan.ctrls.iter().filter(|c| c.kind == ControllerType::Usb) {
        usb(cx, out, c);
    }
    for c in plan.ctrls.iter().filter(|c| c.kind == ControllerType::Scsi) {
        if let Some(model) = c.model {
            scsi(cx, out, c, model)?;
        }
    }
    for c in plan.ctrls.iter().filter(|c| c.kind == ControllerType::Sata) {
        // q35's first SATA controller is part of the machine.
        if (plan.machine.q35 && c.idx == 0) || !plan.pci.contains_key(&c.key) {
            continue;
        }
        let p = cx.pci_props(
            c.key,
            Props::new()
                .s("driver", "ahci")
                .s("id", format!("sata{}", c.idx)),
        );
        out.device(p);
    }
    Ok(())
}

/// `qemuBuildControllerPCIDevProps`: every PCI controller but the machine's root bus.
fn pci(cx: &Cx<'_>, out: &mut Out, c: &PciCtrl) {
    let Some(name) = c.name else {
        return;
    };
    if c.model.is_root() {
        return;
    }
    let mut p = Props::new().s("driver", name.as_str());
    p = match c.model {
        PciModel::PciBridge => p
            .on("chassis_nr", c.chassis_nr.map(u64::from))
            .s("id", c.alias.clone()),
        PciModel::PciExpanderBus | PciModel::PcieExpanderBus => p
            .on("bus_nr", c.bus_nr.map(u64::from))
            .s("id", c.alias.clone())
            .on("numa_node", c.numa_node.map(u64::from)),
        PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort => {
            let p = p
                .on("port", c.port.map(u64::from))
                .on("chassis", c.chassis.map(u64::from))
                .s("id", c.alias.clone());
            match c.hotplug {
                Some(h) => p.b("hotplug", h == OnOff::On),
                None => p,
            }
        }
        _ => p.s("id", c.alias.clone()),
    };
    out.device(cx.pci_props(c.key, p));
}

fn usb(cx: &Cx<'_>, out: &mut Out, c: &Ctrl<'_>) {
    let model = match c.other_model() {
        Some("none") => return,
        // libvirt's default USB model: PIIX3's UHCI on i440fx, qemu-xhci on q35. An implicit
        // controller on q35 is qemu-xhci; one written without a model is PIIX3's UHCI
        // everywhere (checked against libvirt 9.0).
        None if cx.plan.machine.q35 && c.def.is_none() => "qemu-xhci",
        None | Some("piix3-uhci") => "piix3-usb-uhci",
        Some("piix4-uhci") => "piix4-usb-uhci",
        Some("qemu-xhci") => "qemu-xhci",
        Some("nec-xhci") => "nec-usb-xhci",
        Some("ich9-ehci1") => "ich9-usb-ehci1",
        Some(m @ ("ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3")) => {
            return usb_companion(cx, out, c, m);
        }
        Some(other) => {
            let path = match c.key {
                Key::Item(i) => cx.path(i),
                _ => "/domain/devices",
            };
            out.note(
                path,
                format!("USB controller model '{other}' is not emitted by domxml"),
            );
            return;
        }
    };
    let id = if c.idx == 0 {
        "usb".to_string()
    } else {
        format!("usb{}", c.idx)
    };
    let mut p = Props::new().s("driver", model);
    // `ports` sizes both xHCI port sets (qemuBuildUSBControllerDevProps).
    let ports = c
        .def
        .and_then(|d| d.extra.attrs.iter().find(|(k, _)| k == "ports"))
        .and_then(|(_, v)| v.parse::<u64>().ok());
    if let Some(n) = ports.filter(|_| matches!(model, "qemu-xhci" | "nec-usb-xhci")) {
        p = p.n("p2", n).n("p3", n);
    }
    out.device(cx.pci_props(c.key, p.s("id", id)));
}

/// A UHCI companion of an EHCI controller: no id of its own, it serves ports of the
/// controller of its index (`masterbus`) from `<master startport>` on (0, 2 and 4 for
/// UHCI1..3 when the XML does not say, as libvirt fills in).
fn usb_companion(cx: &Cx<'_>, out: &mut Out, c: &Ctrl<'_>, model: &str) {
    let path = match c.key {
        Key::Item(i) => cx.path(i),
        _ => "/domain/devices",
    };
    let master = cx.plan.ctrls.iter().find(|m| {
        m.kind == ControllerType::Usb
            && m.idx == c.idx
            && !matches!(
                m.other_model(),
                Some("ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3")
            )
    });
    let Some(master) = master else {
        out.note(
            path,
            format!("USB controller model '{model}' has no EHCI controller of its index to serve: not emitted by domxml (libvirt: masterbus not found)"),
        );
        return;
    };
    let alias = if master.idx == 0 {
        "usb".to_string()
    } else {
        format!("usb{}", master.idx)
    };
    let startport = c
        .def
        .and_then(|d| {
            d.extra.children.iter().find_map(|n| match n {
                crate::xml::Node::Element(e) if e.name == "master" => e.attr("startport"),
                _ => None,
            })
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(match model {
            "ich9-uhci2" => 2,
            "ich9-uhci3" => 4,
            _ => 0,
        });
    let driver = format!("ich9-usb-{}", model.trim_start_matches("ich9-"));
    out.device(
        cx.pci_props(
            c.key,
            Props::new()
                .s("driver", driver)
                .s("masterbus", format!("{alias}.0"))
                .n("firstport", startport),
        ),
    );
}

/// `qemuBuildControllerSCSIDevProps`.
fn scsi(cx: &Cx<'_>, out: &mut Out, c: &Ctrl<'_>, model: ScsiModel) -> Result<(), EmitError> {
    let id = cx.plan.names.scsi(c.idx);
    let drv = c.def.and_then(|d| d.driver.as_ref());
    let vq_mapping = drv.is_some_and(|d| {
        d.extra
            .children
            .iter()
            .any(|n| matches!(n, crate::xml::Node::Element(e) if e.name == "iothreads"))
    });
    if let (true, Key::Item(i)) = (vq_mapping, c.key) {
        out.note(
            cx.path(i),
            "<driver><iothreads> (iothread-vq-mapping) has no effect: libvirt 9.0 does not know it and QEMU 7.2's virtio-scsi has no such property",
        );
    }
    let p = match model {
        m if m.is_virtio() => {
            let ccw = cx.plan.ccw.contains_key(&c.key);
            let mut name = if ccw {
                "virtio-scsi-ccw".to_string()
            } else {
                "virtio-scsi-pci".to_string()
            };
            if !ccw {
                match m {
                    ScsiModel::VirtioTransitional => name.push_str("-transitional"),
                    ScsiModel::VirtioNonTransitional => name.push_str("-non-transitional"),
                    _ => {}
                }
            }
            let mut p = Props::new().s("driver", name);
            if let Some(v) = drv.map(|d| d.virtio) {
                // qemuBuildVirtioDevProps: the virtio options right after the driver.
                for (key, val) in [
                    ("iommu_platform", v.iommu),
                    ("ats", v.ats),
                    ("packed", v.packed),
                    ("page-per-vq", v.page_per_vq),
                ] {
                    if let Some(on) = val {
                        p = p.b(key, on == OnOff::On);
                    }
                }
            }
            if let Some(t) = drv.and_then(|d| d.iothread) {
                p = p.s("iothread", format!("iothread{t}"));
            }
            p = p.s("id", id);
            if let Some(dr) = drv {
                p = p
                    .on("num_queues", dr.queues.map(u64::from))
                    .on("cmd_per_lun", dr.cmd_per_lun.map(u64::from))
                    .on("max_sectors", dr.max_sectors.map(u64::from));
                if let Some(io) = dr.ioeventfd {
                    p = p.b("ioeventfd", io == OnOff::On);
                }
            }
            p
        }
        ScsiModel::Ncr53c90 => return Ok(()),
        ScsiModel::Ibmvscsi => {
            let reg = cx.plan.spapr.get(&c.key).copied().unwrap_or(0x2000);
            out.device(
                Props::new()
                    .s("driver", "spapr-vscsi")
                    .s("id", id)
                    .n("reg", reg),
            );
            return Ok(());
        }
        other => {
            let driver = match other {
                ScsiModel::Lsilogic => "lsi",
                ScsiModel::Lsisas1068 => "mptsas1068",
                ScsiModel::Lsisas1078 => "megasas",
                ScsiModel::Vmpvscsi => "pvscsi",
                ScsiModel::Am53c974 => "am53c974",
                // libvirt writes "dc-390", a name QEMU does not have (see deviations.md).
                ScsiModel::Dc390 => "dc390",
                m => {
                    let path = match c.key {
                        Key::Item(i) => cx.path(i),
                        _ => "/domain/devices",
                    };
                    return Err(EmitError::new(
                        codes::E101,
                        path,
                        format!("Unsupported controller model: {m}"),
                    ));
                }
            };
            Props::new().s("driver", driver).s("id", id)
        }
    };
    out.device(cx.pci_props(c.key, p));
    Ok(())
}

/// The memory balloon: libvirt's implicit virtio balloon on x86, or the one the domain defines.
pub(super) fn balloon(cx: &Cx<'_>, out: &mut Out) {
    let def =
        cx.d.devices
            .items
            .iter()
            .enumerate()
            .find_map(|(i, x)| match x {
                Device::Other(e) if e.name == "memballoon" => Some((i, e)),
                _ => None,
            });
    let key = def.map(|(i, _)| Key::Item(i)).unwrap_or(Key::Balloon);
    let ccw = cx.plan.ccw.contains_key(&key);
    if !cx.plan.pci.contains_key(&key) && !ccw {
        return;
    }
    // qemuBuildMemballoonCommandLine: the virtio device of its model and transport, its
    // virtio options, then the balloon's own switches.
    let e = def.map(|(_, e)| e);
    let mut driver = String::from(if ccw {
        "virtio-balloon-ccw"
    } else {
        "virtio-balloon-pci"
    });
    if !ccw {
        match e.and_then(|e| e.attr("model")) {
            Some("virtio-transitional") => driver.push_str("-transitional"),
            Some("virtio-non-transitional") => driver.push_str("-non-transitional"),
            _ => {}
        }
    }
    let mut p = Props::new().s("driver", driver);
    let on_off = |v: Option<&str>| match v {
        Some("on") => Some(true),
        Some("off") => Some(false),
        _ => None,
    };
    let drv = e.and_then(|e| e.elements().find(|c| c.name == "driver"));
    for (attr, key) in [
        ("iommu", "iommu_platform"),
        ("ats", "ats"),
        ("packed", "packed"),
        ("page_per_vq", "page-per-vq"),
    ] {
        if let Some(b) = on_off(drv.and_then(|d| d.attr(attr))) {
            p = p.b(key, b);
        }
    }
    p = p.s("id", "balloon0");
    for (attr, key) in [
        ("autodeflate", "deflate-on-oom"),
        ("freePageReporting", "free-page-reporting"),
    ] {
        if let Some(b) = on_off(e.and_then(|e| e.attr(attr))) {
            p = p.b(key, b);
        }
    }
    out.device(cx.pci_props(key, p));
}

/// A note for every controller the domain defines that has no command line here and is not
/// part of the machine (a virtio-serial controller, a CCID smartcard reader, …).
pub(super) fn note_controllers(cx: &Cx<'_>, out: &mut Out) {
    for c in &cx.plan.ctrls {
        let Key::Item(i) = c.key else { continue };
        let builtin = match c.kind {
            ControllerType::Pci
            | ControllerType::Usb
            | ControllerType::Scsi
            | ControllerType::Sata
            | ControllerType::Fdc => true,
            ControllerType::Ide => c.idx == 0 && !cx.plan.machine.q35,
            _ => false,
        };
        if !builtin {
            out.note(
                cx.path(i),
                format!("<controller type='{}'> is not emitted by domxml", c.kind),
            );
        }
    }
}

/// A note for every device kept verbatim that has no command line here.
pub(super) fn note_others(cx: &Cx<'_>, out: &mut Out) {
    for (i, x) in cx.d.devices.items.iter().enumerate() {
        if let Device::Other(e) = x {
            // PS/2 input devices are part of the machine: libvirt writes no argument for them
            // either. Audio backends only serve the devices above.
            let builtin = e.name == "input"
                && match e.attr("bus") {
                    Some(b) => b == "ps2",
                    None => e.attr("type") != Some("tablet"),
                };
            if !builtin && !matches!(e.name.as_str(), "memballoon" | "audio" | "controller") {
                let what = match (e.name.as_str(), e.attr("type"), e.attr("bus")) {
                    ("input", Some(t), b) => {
                        format!("<input> (type='{t}' bus='{}')", b.unwrap_or("usb"))
                    }
                    (n, _, _) => format!("<{n}>"),
                };
                out.note(cx.path(i), format!("{what} is not emitted by domxml"));
            }
        }
    }
}
