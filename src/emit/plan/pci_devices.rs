//! Every device of a domain that uses (or may use) a PCI address, in the order libvirt hands
//! out addresses (`qemuDomainAssignDevicePCISlots`: PCI controllers, filesystems, network
//! interfaces, sound cards, other controllers, virtio disks, host devices, the balloon, RNGs,
//! watchdogs, video cards, shared memory, virtio input, PCI serial ports, the IOMMU, vsock,
//! memory devices, crypto devices, panic devices), each with the connection it needs
//! (`qemuDomainDeviceCalculatePCIConnectFlags`) and its explicit address, if any. Devices
//! domxml does not emit are here too: they take their slot all the same.

use super::controllers::Ctrl;
use super::pci_set::{connect::*, controller_connect, Addr};
use super::{Key, Plan};
use crate::controller_index::is_usb2;
use crate::model::{
    ControllerType, Device, DeviceAddress, DiskBus, Domain, Hex, HostdevType, PciAddress, ScsiModel,
};
use crate::xml::Element;

/// How a device's address stands before assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// No address, or an empty PCI one: it wants one (`virDeviceInfoPCIAddressIsWanted`).
    Wanted,
    /// An explicit PCI address.
    Fixed {
        addr: Addr,
        /// `multifunction='on|off'`.
        multi: Option<bool>,
    },
    /// An address of another type (drive, usb, ccw, `unassigned`, …): no PCI slot.
    Elsewhere,
}

/// What the chipset step does with a device (`qemuDomainValidateDevicePCISlots*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Plain,
    /// The first IDE controller (PIIX3 function 1).
    Ide0,
    /// The first USB controller when it is PIIX3's UHCI (function 2).
    Piix3Usb,
    /// q35's first SATA controller (0x1f.2).
    Sata0,
    /// An `ich9-uhci1` (q35: 0x1d or 0x1a).
    Uhci1,
    /// A `dmi-to-pci-bridge` (q35: 0x1e).
    DmiBridge,
    /// The primary video card.
    PrimaryVideo,
    /// An `ich9` sound card (q35: 0x1b).
    Ich9Sound,
}

/// One device that may use a PCI address.
#[derive(Debug, Clone)]
pub(crate) struct PciDev {
    pub key: Key,
    /// The element path, for messages.
    pub what: String,
    /// What it can plug into; 0 for a device with no PCI connection.
    pub flags: u32,
    pub place: Placement,
    pub role: Role,
    /// A USB2 controller: its index and the function its model takes.
    pub usb2: Option<(u32, u32)>,
    /// A PCI controller (placed before every other device).
    pub pci_controller: bool,
}

/// The devices kept verbatim, with their positions.
pub(crate) fn others(d: &Domain) -> Vec<(usize, &Element)> {
    d.devices
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| match x {
            Device::Other(e) => Some((i, e)),
            _ => None,
        })
        .collect()
}

/// The placement a typed `<address>` gives.
pub(crate) fn placement(a: Option<&DeviceAddress>) -> Placement {
    match a {
        None => Placement::Wanted,
        Some(DeviceAddress::Pci(p, _)) => pci_placement(p),
        Some(_) => Placement::Elsewhere,
    }
}

fn pci_placement(p: &PciAddress) -> Placement {
    let n = |h: Option<Hex>| h.unwrap_or_default().0;
    if n(p.domain) == 0 && n(p.bus) == 0 && n(p.slot) == 0 {
        return Placement::Wanted;
    }
    Placement::Fixed {
        addr: Addr {
            bus: n(p.bus),
            slot: n(p.slot),
            function: n(p.function),
        },
        multi: p.multifunction.map(|m| m == crate::model::OnOff::On),
    }
}

/// The placement the `<address>` of an element kept verbatim gives.
pub(crate) fn other_placement(e: &Element) -> Placement {
    let Some(a) = e.elements().find(|c| c.name == "address") else {
        return Placement::Wanted;
    };
    if a.attr("type") != Some("pci") {
        return Placement::Elsewhere;
    }
    let h = |k: &str| a.attr(k).and_then(Hex::parse);
    pci_placement(&PciAddress {
        domain: h("domain"),
        bus: h("bus"),
        slot: h("slot"),
        function: h("function"),
        multifunction: a
            .attr("multifunction")
            .and_then(crate::model::OnOff::from_xml),
    })
}

/// The first device with a zPCI address extension (`<address type='pci'><zpci …/>`), by item.
pub(crate) fn zpci_device(d: &Domain) -> Option<usize> {
    let typed = |a: Option<&DeviceAddress>| match a {
        Some(DeviceAddress::Pci(_, extra)) => extra
            .children
            .iter()
            .any(|n| matches!(n, crate::xml::Node::Element(e) if e.name == "zpci")),
        _ => false,
    };
    d.devices.items.iter().position(|x| match x {
        Device::Disk(v) => typed(v.address.as_ref()),
        Device::Controller(v) => typed(v.address.as_ref()),
        Device::Hostdev(v) => typed(v.address.as_ref()),
        Device::Other(e) => e
            .elements()
            .filter(|a| a.name == "address" && a.attr("type") == Some("pci"))
            .any(|a| a.elements().any(|z| z.name == "zpci")),
        _ => false,
    })
}

/// A child's attribute (`<model type>`, `<driver type>`, `<target type>`).
fn child_attr<'a>(e: &'a Element, child: &str, attr: &str) -> Option<&'a str> {
    e.elements().find(|c| c.name == child)?.attr(attr)
}

/// The connect flags of the two classic kinds and of virtio devices, for one machine.
#[derive(Debug, Clone, Copy)]
struct Kinds {
    pci: u32,
    pcie: u32,
    virtio: u32,
}

/// A virtio device's flags from its `model`: transitional ones are conventional PCI.
fn virtio_model(k: Kinds, model: Option<&str>) -> u32 {
    if model == Some("virtio-transitional") {
        k.pci
    } else {
        k.virtio
    }
}

/// The connect flags of an element kept verbatim (`interface`, `video`, `sound`, …).
fn other_flags(k: Kinds, e: &Element) -> u32 {
    match e.name.as_str() {
        "interface" => {
            if e.attr("type") == Some("hostdev") {
                return 0;
            }
            // libvirt's default NIC on x86 is rtl8139, conventional PCI.
            match child_attr(e, "model", "type") {
                Some("virtio" | "virtio-non-transitional") => k.virtio,
                Some("virtio-transitional") => k.pci,
                Some("e1000e" | "igb") => k.pcie,
                Some("usb-net" | "spapr-vlan") => 0,
                _ => k.pci,
            }
        }
        "sound" => match e.attr("model") {
            Some("sb16" | "pcspk" | "usb" | "ich7") => 0,
            _ => k.pci,
        },
        "video" => match child_attr(e, "model", "type") {
            Some("virtio") => k.virtio,
            Some("bochs") => k.pcie,
            Some("none" | "ramfb" | "gop") => 0,
            _ => k.pci,
        },
        "filesystem" => match child_attr(e, "driver", "type") {
            Some("loop" | "nbd" | "ploop") => 0,
            Some("virtiofs") => k.virtio,
            _ => virtio_model(k, e.attr("model")),
        },
        "input" if e.attr("bus") == Some("virtio") => virtio_model(k, e.attr("model")),
        "rng" => virtio_model(k, e.attr("model")),
        "memballoon" => match e.attr("model") {
            Some("virtio" | "virtio-non-transitional") => k.virtio,
            Some("virtio-transitional") => k.pci,
            _ => 0,
        },
        "watchdog" if e.attr("model") == Some("i6300esb") => k.pci,
        "shmem" | "crypto" => k.pci,
        "serial" if child_attr(e, "target", "type") == Some("pci-serial") => k.pci,
        "iommu" if e.attr("model") == Some("virtio") => k.virtio | INTEGRATED,
        "vsock" => virtio_model(k, e.attr("model")),
        "memory" if matches!(e.attr("model"), Some("virtio-pmem" | "virtio-mem")) => k.virtio,
        "panic" if e.attr("model") == Some("pvpanic") => k.pci | INTEGRATED,
        _ => 0,
    }
}

/// The order in which libvirt hands out addresses to the devices kept verbatim, after the
/// controllers, disks and hostdevs: its position among the device classes.
fn other_class(name: &str) -> Option<u8> {
    Some(match name {
        "filesystem" => 1,
        "interface" => 2,
        "sound" => 3,
        // 4: controllers, 5: disks, 6: hostdevs
        "memballoon" => 7,
        "rng" => 8,
        "watchdog" => 9,
        "video" => 10,
        "shmem" => 11,
        "input" => 12,
        "serial" => 13,
        "iommu" => 14,
        "vsock" => 15,
        "memory" => 16,
        "crypto" => 17,
        "panic" => 18,
        _ => return None,
    })
}

/// The connect flags of a controller (`qemuDomainDeviceCalculatePCIConnectFlags`).
fn controller_flags(k: Kinds, c: &Ctrl<'_>, q35: bool) -> u32 {
    match c.kind {
        ControllerType::Pci => c.pci.map(controller_connect).unwrap_or(0),
        ControllerType::Sata | ControllerType::Ide => k.pci,
        ControllerType::Usb => match c.other_model() {
            Some("none") => 0,
            Some("qemu-xhci" | "nec-xhci") => k.pcie,
            // libvirt's default on q35 is qemu-xhci, on i440fx PIIX3's UHCI.
            None if c.def.is_none() && q35 => k.pcie,
            _ => k.pci,
        },
        ControllerType::Scsi => match c.model {
            Some(ScsiModel::VirtioScsi | ScsiModel::VirtioNonTransitional) => k.virtio,
            // ibmvscsi always gets a spapr-vio address (qemuDomainAssignSpaprVIOAddresses).
            None | Some(ScsiModel::Ncr53c90 | ScsiModel::Ibmvscsi) => 0,
            _ => k.pci,
        },
        ControllerType::VirtioSerial => virtio_model(k, c.other_model()),
        _ => 0,
    }
}

/// The function a USB2 controller model takes in its slot.
fn usb2_function(model: Option<&str>) -> u32 {
    match model {
        Some("ich9-ehci1") => 7,
        Some("ich9-uhci2") => 1,
        Some("ich9-uhci3") => 2,
        _ => 0,
    }
}

/// Every device that may take a PCI address, in assignment order.
pub(crate) fn list(d: &Domain, plan: &Plan<'_>) -> Vec<PciDev> {
    let q35 = plan.machine.q35;
    let pcie = if q35 { PCIE_DEVICE } else { PCI_DEVICE } | AUTOASSIGN;
    let k = Kinds {
        pci: PCI_DEVICE | AUTOASSIGN,
        pcie,
        virtio: pcie,
    };
    let dev = |key: Key, what: &str, flags: u32, place: Placement| PciDev {
        key,
        what: what.to_string(),
        flags,
        place,
        role: Role::Plain,
        usb2: None,
        pci_controller: false,
    };
    let mut out: Vec<(u8, PciDev)> = Vec::new();
    let others = others(d);

    // PCI controllers first, then the rest of the controllers (class 4).
    for c in &plan.ctrls {
        let what = match c.key {
            Key::Item(i) => plan.path(i).to_string(),
            _ => format!("/domain/devices (implicit {} controller {})", c.kind, c.idx),
        };
        let place = match c.def {
            Some(def) => placement(def.address.as_ref()),
            None => Placement::Wanted,
        };
        let mut x = dev(c.key, &what, controller_flags(k, c, q35), place);
        x.role = match c.kind {
            ControllerType::Ide if c.idx == 0 => Role::Ide0,
            ControllerType::Usb
                if c.idx == 0
                    && !(q35 && c.def.is_none())
                    && matches!(c.other_model(), None | Some("piix3-uhci")) =>
            {
                Role::Piix3Usb
            }
            ControllerType::Sata if c.idx == 0 => Role::Sata0,
            ControllerType::Usb if c.other_model() == Some("ich9-uhci1") => Role::Uhci1,
            ControllerType::Pci if c.pci == Some(crate::model::PciModel::DmiToPciBridge) => {
                Role::DmiBridge
            }
            _ => Role::Plain,
        };
        if c.def.is_some_and(is_usb2) {
            x.usb2 = Some((c.idx, usb2_function(c.other_model())));
        }
        if c.kind == ControllerType::Pci {
            x.pci_controller = true;
            out.push((0, x));
        } else {
            out.push((4, x));
        }
    }
    for &i in &plan.disk_order {
        let Device::Disk(disk) = &d.devices.items[i] else {
            continue;
        };
        if disk.bus() != Some(DiskBus::Virtio) {
            continue;
        }
        let flags = virtio_model(k, disk.model.as_deref());
        out.push((
            5,
            dev(
                Key::Item(i),
                plan.path(i),
                flags,
                placement(disk.address.as_ref()),
            ),
        ));
    }
    // A hostdev <interface> is a hostdev to libvirt, parsed (so listed) before the others.
    for (i, e) in &others {
        if e.name == "interface" && e.attr("type") == Some("hostdev") {
            out.push((
                6,
                dev(Key::Item(*i), plan.path(*i), k.pcie, other_placement(e)),
            ));
        }
    }
    for (i, h) in d.devices.hostdevs() {
        let flags = match h.kind {
            // A host device domxml cannot inspect is taken to be PCI Express, as libvirt
            // does when it cannot read the device's config space.
            HostdevType::Pci => k.pcie,
            HostdevType::Mdev if h.model.as_deref() == Some("vfio-pci") => k.pcie,
            HostdevType::ScsiHost => virtio_model(k, h.model.as_deref()),
            _ => 0,
        };
        out.push((
            6,
            dev(
                Key::Item(i),
                plan.path(i),
                flags,
                placement(h.address.as_ref()),
            ),
        ));
    }
    let mut videos: Vec<(usize, &Element)> = Vec::new();
    for (i, e) in &others {
        let Some(class) = other_class(&e.name) else {
            continue;
        };
        if e.name == "video" {
            // The primary card heads libvirt's video list.
            if child_attr(e, "model", "primary") == Some("yes") {
                videos.insert(0, (*i, e));
            } else {
                videos.push((*i, e));
            }
            continue;
        }
        let mut x = dev(
            Key::Item(*i),
            plan.path(*i),
            other_flags(k, e),
            other_placement(e),
        );
        if e.name == "sound" && e.attr("model") == Some("ich9") {
            x.role = Role::Ich9Sound;
        }
        out.push((class, x));
    }
    for (n, (i, e)) in videos.iter().enumerate() {
        let mut x = dev(
            Key::Item(*i),
            plan.path(*i),
            other_flags(k, e),
            other_placement(e),
        );
        if n == 0 {
            x.role = Role::PrimaryVideo;
        }
        out.push((10, x));
    }
    // libvirt adds a video card for <graphics> when there is none (cirrus on x86).
    if videos.is_empty() && others.iter().any(|(_, e)| e.name == "graphics") && plan.machine.x86() {
        let mut x = dev(
            Key::Video,
            "/domain/devices (implicit video)",
            k.pci,
            Placement::Wanted,
        );
        x.role = Role::PrimaryVideo;
        out.push((10, x));
    }
    if plan.machine.x86() && !others.iter().any(|(_, e)| e.name == "memballoon") {
        out.push((
            7,
            dev(Key::Balloon, "memballoon", k.virtio, Placement::Wanted),
        ));
    }
    out.sort_by_key(|(class, _)| *class);
    out.into_iter().map(|(_, x)| x).collect()
}
