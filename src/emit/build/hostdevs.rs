//! Hostdevs (`qemuBuildHostdevCommandLine`): SCSI LUs as `scsi-generic` over the `/dev/sgN`
//! the host resolution found, vhost-scsi, and VFIO PCI functions.

use super::storage::{iscsi, legacy_file_props};
use super::{Cx, Out};
use crate::diag::codes;
use crate::emit::plan::Key;
use crate::emit::{EmitError, Props};
use crate::model::{DeviceAddress, Hostdev, HostdevSourceProtocol, HostdevType, OnOff, YesNo};
use crate::resolve::error::chain;
use crate::resolve::Resolution;

/// Every hostdev in document order (in runs on several cores for thousands of them).
pub(super) fn build(cx: &Cx<'_>, out: &mut Out) -> Result<(), EmitError> {
    let hostdevs: Vec<(usize, &Hostdev)> = cx.d.devices.hostdevs().collect();
    super::in_runs(out, &hostdevs, |out, &(i, h)| {
        let alias = cx.plan.names.hostdev[&i].as_str();
        match h.kind {
            HostdevType::Scsi => scsi(cx, out, i, h, alias)?,
            HostdevType::ScsiHost => vhost(cx, out, i, h, alias)?,
            HostdevType::Pci => pci(cx, out, i, h, alias),
            HostdevType::Mdev if h.model.as_deref() == Some("vfio-pci") => {
                mdev(cx, out, i, h, alias)?
            }
            other => out.note(
                cx.path(i),
                format!("<hostdev type='{other}'> is not emitted by domxml"),
            ),
        }
        Ok(())
    })
}

/// The `/dev/sgN` a SCSI hostdev passes, from the host resolution.
pub(super) fn sg_path(
    cx: &Cx<'_>,
    i: usize,
    h: &Hostdev,
    alias: &str,
) -> Result<String, EmitError> {
    let path = cx.path(i);
    let a = h.source.as_ref().and_then(|s| s.scsi_address.as_ref());
    let (bus, target, unit) = (
        a.and_then(|a| a.bus).unwrap_or(0),
        a.and_then(|a| a.target).unwrap_or(0),
        a.and_then(|a| a.unit).unwrap_or(0),
    );
    let lookup_failed = |why: String| {
        EmitError::new(
            codes::E120,
            path,
            format!("cannot find the host LU {bus}:{target}:{unit} of the adapter ({alias}): {why}"),
        )
        .with_hint("check the adapter name and the LU address against `lsscsi -g`, or pass --sysfs-root for a recorded tree")
    };
    match cx.resolved.device(i).map(|r| &r.resolution) {
        Some(Resolution::Lu { lu }) => match &lu.sg {
            Some(sg) => Ok(format!("/dev/{sg}")),
            None => Err(lookup_failed(format!(
                "LU {} has no SCSI generic device (is the sg driver loaded? try `modprobe sg`)",
                lu.hctl
            ))),
        },
        Some(Resolution::Failed { error, .. }) => Err(lookup_failed(chain(error))),
        _ => Err(lookup_failed(
            "the hostdev was not resolved against a host: resolve the domain (domxml::resolve) before converting it".into(),
        )),
    }
}

/// `qemuBuildSCSIHostdevDevProps` and its backend.
fn scsi(cx: &Cx<'_>, out: &mut Out, i: usize, h: &Hostdev, alias: &str) -> Result<(), EmitError> {
    let path = cx.path(i);
    let n = cx.plan.names.hostdev_node[&i];
    let node = super::storage::node_name(n, "backend");
    let backend = match (h.scsi_protocol(), h.source.as_ref()) {
        (Some(HostdevSourceProtocol::Iscsi), Some(src)) => iscsi(
            cx,
            out,
            path,
            src.name.as_deref().unwrap_or_default(),
            &src.hosts,
            src.auth.as_ref(),
            src.initiator_iqn.as_deref(),
            &node,
            None,
        )?,
        _ => Props::new()
            .s("driver", "host_device")
            .s("filename", sg_path(cx, i, h, alias)?),
    };
    let addr = cx.plan.placed.get(&i).copied().ok_or_else(|| {
        EmitError::new(codes::E104, path, "the SCSI hostdev has no drive address")
    })?;
    let boot = cx.plan.boot.get(&i).copied().map(u64::from);
    if cx.opts.caps.blockdev() {
        let b = backend
            .s("node-name", node.clone())
            .b("read-only", h.readonly);
        out.blockdev(&b);
        out.device(
            Props::new()
                .s("driver", "scsi-generic")
                .s("drive", node)
                .s("id", alias)
                .on("bootindex", boot)
                .extend(cx.scsi_address(addr)),
        );
    } else {
        let id = format!("drive-{alias}");
        let mut dp = legacy_file_props(&backend)
            .s("if", "none")
            .s("format", "raw")
            .s("id", id.clone());
        if h.readonly {
            dp = dp.s("readonly", "on");
        }
        out.drive(&dp);
        out.device(
            Props::new()
                .s("driver", "scsi-generic")
                .extend(cx.scsi_address(addr))
                .s("drive", id)
                .s("id", alias)
                .on("bootindex", boot),
        );
    }
    Ok(())
}

/// `qemuBuildSCSIVHostHostdevDevProps`, without `vhostfd`: QEMU opens /dev/vhost-scsi itself
/// when no fd is passed, and a printed command line cannot hand over an open fd.
fn vhost(cx: &Cx<'_>, out: &mut Out, i: usize, h: &Hostdev, alias: &str) -> Result<(), EmitError> {
    let wwpn = h
        .source
        .as_ref()
        .and_then(|s| s.wwpn.clone())
        .ok_or_else(|| {
            EmitError::new(codes::E104, cx.path(i), "vhost-scsi hostdev without wwpn")
        })?;
    let ccw = cx.plan.ccw.contains_key(&Key::Item(i));
    let mut name = if ccw {
        "vhost-scsi-ccw"
    } else {
        "vhost-scsi-pci"
    }
    .to_string();
    if !ccw {
        match h.model.as_deref() {
            Some("virtio-transitional") => name.push_str("-transitional"),
            Some("virtio-non-transitional") => name.push_str("-non-transitional"),
            _ => {}
        }
    }
    let p = Props::new()
        .s("driver", name)
        .s("wwpn", wwpn)
        .s("id", alias);
    out.device(cx.pci_props(Key::Item(i), p));
    Ok(())
}

/// An attribute of `<hostdev>` domxml keeps verbatim (`display`, `ramfb`).
fn extra_attr<'a>(h: &'a Hostdev, name: &str) -> Option<&'a str> {
    h.extra
        .attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `qemuBuildHostdevMediatedDevProps`: a VFIO mediated device (`<hostdev type='mdev'
/// model='vfio-pci'>`), `vfio-pci-nohotplug` when it has a ramfb boot display.
fn mdev(cx: &Cx<'_>, out: &mut Out, i: usize, h: &Hostdev, alias: &str) -> Result<(), EmitError> {
    let path = cx.path(i);
    let uuid = h
        .source
        .iter()
        .flat_map(|s| s.extra.children.iter())
        .find_map(|n| match n {
            crate::xml::Node::Element(e) if e.name == "address" => e.attr("uuid"),
            _ => None,
        })
        .ok_or_else(|| {
            EmitError::new(
                codes::E125,
                path,
                "the mediated device has no <source><address uuid>",
            )
        })?;
    if h.boot.is_some() {
        return Err(EmitError::new(
            codes::E125,
            path,
            "booting from assigned devices is not supported by mediated devices of model vfio-pci",
        )
        .with_hint("drop <boot order> from the mediated device"));
    }
    let display = extra_attr(h, "display").unwrap_or("off");
    let ramfb = extra_attr(h, "ramfb") == Some("on");
    let graphics =
        cx.d.devices
            .items
            .iter()
            .any(|x| matches!(x, crate::model::Device::Other(e) if e.name == "graphics"));
    if display == "on" && !graphics {
        return Err(EmitError::new(
            codes::E125,
            path,
            "graphics device is needed for attribute value 'display=on' in <hostdev>",
        )
        .with_hint("add a <graphics> device, or set display='off'"));
    }
    let driver = if ramfb {
        "vfio-pci-nohotplug"
    } else {
        "vfio-pci"
    };
    let mut p = Props::new()
        .s("driver", driver)
        .s("id", alias)
        .s("sysfsdev", format!("/sys/bus/mdev/devices/{uuid}"))
        .s("display", display);
    if ramfb {
        p = p.b("ramfb", true);
    }
    out.device(cx.pci_props(Key::Item(i), p));
    Ok(())
}

/// `qemuBuildPCIHostdevDevProps`: VFIO assignment.
fn pci(cx: &Cx<'_>, out: &mut Out, i: usize, h: &Hostdev, alias: &str) {
    let Some(host) = h.source.as_ref().and_then(|s| s.pci_address.as_ref()) else {
        // The validator refuses a PCI hostdev without a source address (E066).
        return;
    };
    if matches!(&h.address, Some(DeviceAddress::Other { kind, .. }) if kind == "unassigned") {
        out.note(
            cx.path(i),
            format!(
                "<hostdev> {} with <address type='unassigned'> is not given to the guest (libvirt only detaches it from the host)",
                host.to_bdf()
            ),
        );
        return;
    }
    let ignored: Vec<&str> = ["display", "ramfb"]
        .into_iter()
        .filter(|a| extra_attr(h, a).is_some())
        .collect();
    if !ignored.is_empty() {
        out.note(
            cx.path(i),
            format!(
                "{} on a PCI <hostdev> has no effect: libvirt 9.0 accepts and ignores it (a VFIO display needs <hostdev type='mdev'>)",
                ignored.join(" and ")
            ),
        );
    }
    let mut p = Props::new()
        .s("driver", "vfio-pci")
        .s("host", host.to_bdf())
        .s("id", alias)
        .on("bootindex", cx.plan.boot.get(&i).copied().map(u64::from));
    p = cx.pci_props(Key::Item(i), p);
    if let Some(rom) = &h.rom {
        if let Some(bar) = rom.bar {
            p = p.n("rombar", u64::from(bar == OnOff::On));
        }
        if rom.enabled == Some(YesNo::No) {
            p = p.s("romfile", "");
        } else if let Some(f) = &rom.file {
            p = p.s("romfile", f.clone());
        }
    }
    out.device(p);
}

#[cfg(test)]
mod tests {
    use super::super::runs_tests::{assert_runs_agree, converted_in_runs, HEAD};

    #[test]
    fn hostdevs_built_in_runs_give_exactly_what_one_pass_gives() {
        // SCSI, PCI and mediated hostdevs and one that becomes a note; the failing copy has
        // two mediated devices that cannot be emitted, in different runs.
        let mut xml = String::from(HEAD);
        for i in 0..24u32 {
            xml.push_str(&match i % 4 {
                0 => format!("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{i}'/><address bus='0' target='0' unit='{i}'/></source></hostdev>"),
                1 => format!("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x{:02x}' slot='0x00' function='0x0'/></source></hostdev>", i + 1),
                2 => format!("<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8{i:03}'/></source></hostdev>"),
                _ => format!("<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x{i:04x}'/></source></hostdev>"),
            });
        }
        xml.push_str("</devices></domain>");
        let failing = xml
            .replacen("model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8006'", "model='vfio-pci' display='on'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8006'", 1)
            .replacen("model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8018'", "model='vfio-pci' display='on'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8018'", 1);
        assert_runs_agree(&[("mixed", &xml), ("failing", &failing)]);
        let mixed = converted_in_runs(&xml, 3);
        assert!(
            mixed.contains("scsi-generic")
                && mixed.contains("vfio-pci")
                && mixed.contains("# note:"),
            "{mixed}"
        );
        let failing = converted_in_runs(&failing, 3);
        assert!(
            failing.contains("E125") && failing.contains("hostdev[7]"),
            "{failing}"
        );
    }
}
