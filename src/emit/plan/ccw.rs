//! Addresses outside PCI: CCW device numbers on s390x and spapr-vio registers on pSeries.

use super::controllers::Ctrl;
use super::{Key, Plan};
use crate::model::{
    CcwAddress, ControllerType, Device, DeviceAddress, DiskBus, Domain, Hex, HostdevType, ScsiModel,
};
use crate::xml::Element;
use std::collections::{HashMap, HashSet};

type Ccw = (u32, u32, u32);

fn ccw_of(a: &CcwAddress) -> Ccw {
    (
        a.cssid.unwrap_or_default().0,
        a.ssid.unwrap_or_default().0,
        a.devno.unwrap_or_default().0,
    )
}

/// The explicit CCW address of an element kept verbatim.
fn other_ccw(e: &Element) -> Option<Ccw> {
    let a = e
        .elements()
        .find(|c| c.name == "address" && c.attr("type") == Some("ccw"))?;
    let num = |k: &str| a.attr(k).and_then(Hex::parse).map(|h| h.0).unwrap_or(0);
    Some((num("cssid"), num("ssid"), num("devno")))
}

fn fmt((c, s, d): Ccw) -> String {
    format!("{c:x}.{s:x}.{d:04x}")
}

fn explicit_ccw(item: &Device) -> Option<Ccw> {
    let addr = match item {
        Device::Disk(x) => x.address.as_ref(),
        Device::Controller(x) => x.address.as_ref(),
        Device::Hostdev(x) => x.address.as_ref(),
        Device::Other(e) => return other_ccw(e),
        _ => None,
    };
    match addr {
        Some(DeviceAddress::Ccw(a, _)) => Some(ccw_of(a)),
        _ => None,
    }
}

/// CCW addresses on s390x (`qemuDomainAssignS390Addresses`): explicit ones are reserved, then
/// every virtio device without one takes the next free device number in channel subsystem
/// 0xfe, in libvirt's device-iteration order (disks, network interfaces, hostdevs,
/// controllers, inputs, the balloon).
pub(crate) fn assign_ccw(d: &Domain, plan: &Plan<'_>) -> HashMap<Key, String> {
    let mut out = HashMap::new();
    let mut used: HashSet<Ccw> = HashSet::new();
    for (i, item) in d.devices.items.iter().enumerate() {
        if let Some(a) = explicit_ccw(item) {
            used.insert(a);
            out.insert(Key::Item(i), fmt(a));
        }
    }
    let others = super::pci_devices::others(d);
    let mut wanted: Vec<Key> = Vec::new();
    for &i in &plan.disk_order {
        if let Device::Disk(x) = &d.devices.items[i] {
            if x.bus() == Some(DiskBus::Virtio) && x.address.is_none() {
                wanted.push(Key::Item(i));
            }
        }
    }
    for (i, e) in &others {
        if e.name == "interface" && other_ccw(e).is_none() {
            wanted.push(Key::Item(*i));
        }
    }
    for (i, h) in d.devices.hostdevs() {
        if h.kind == HostdevType::ScsiHost && h.address.is_none() {
            wanted.push(Key::Item(i));
        }
    }
    for c in &plan.ctrls {
        let virtio =
            c.model.is_some_and(|m| m.is_virtio()) || c.kind == ControllerType::VirtioSerial;
        if virtio && c.address().is_none() {
            wanted.push(c.key);
        }
    }
    for (i, e) in &others {
        if e.name == "input" && e.attr("bus") == Some("virtio") && other_ccw(e).is_none() {
            wanted.push(Key::Item(*i));
        }
    }
    match others.iter().find(|(_, e)| e.name == "memballoon") {
        Some((i, e)) if e.attr("model") == Some("virtio") && other_ccw(e).is_none() => {
            wanted.push(Key::Item(*i))
        }
        Some(_) => {}
        None => wanted.push(Key::Balloon),
    }
    let mut next = 0u32;
    for k in wanted {
        let a = loop {
            let a = (0xfe, 0, next);
            next += 1;
            if used.insert(a) {
                break a;
            }
        };
        out.insert(k, fmt(a));
    }
    out
}

/// spapr-vio `reg` of ibmvscsi controllers: explicit ones as written, the others 0x2000
/// upward (libvirt's `VIO_ADDR_SCSI`).
pub(crate) fn assign_spapr(ctrls: &[Ctrl<'_>]) -> HashMap<Key, u64> {
    let mut out = HashMap::new();
    let mut reg = 0x2000u64;
    for c in ctrls {
        if c.model != Some(ScsiModel::Ibmvscsi) {
            continue;
        }
        let explicit = match c.address() {
            Some(DeviceAddress::Other { kind, attrs, .. }) if kind == "spapr-vio" => attrs
                .iter()
                .find(|(k, _)| k == "reg")
                .and_then(|(_, v)| Hex::parse(v))
                .map(|h| u64::from(h.0)),
            _ => None,
        };
        let r = explicit.unwrap_or_else(|| {
            let r = reg;
            reg += 0x1000;
            r
        });
        out.insert(c.key, r);
    }
    out
}
