//! Device addresses (`<address type=…>` on a device) and the host-side SCSI source address.

use super::{Extra, Hex};

/// `<address type='drive' controller bus target unit/>`: where a disk or hostdev sits on a
/// guest controller. Fields are optional in XML; libvirt treats a missing one as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DriveAddress {
    /// Controller index.
    pub controller: Option<u32>,
    /// Bus (QEMU's SCSI "channel").
    pub bus: Option<u32>,
    /// Target (QEMU's "scsi-id").
    pub target: Option<u32>,
    /// Unit (QEMU's "lun", or "scsi-id" on LSI-style controllers).
    pub unit: Option<u32>,
}

impl DriveAddress {
    /// The address with missing fields read as 0, as libvirt does.
    pub fn tuple(&self) -> (u32, u32, u32, u32) {
        (
            self.controller.unwrap_or(0),
            self.bus.unwrap_or(0),
            self.target.unwrap_or(0),
            self.unit.unwrap_or(0),
        )
    }
}

/// A guest or host PCI address. PCI fields are written in libvirt's hex widths.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PciAddress {
    /// PCI domain (segment), 0..=0xffff.
    pub domain: Option<Hex>,
    /// Bus, 0..=0xff.
    pub bus: Option<Hex>,
    /// Slot, 0..=0x1f.
    pub slot: Option<Hex>,
    /// Function, 0..=7.
    pub function: Option<Hex>,
    /// `multifunction='on|off'`.
    pub multifunction: Option<super::OnOff>,
}

impl PciAddress {
    /// `DDDD:BB:SS.F`, with missing fields as 0.
    pub fn to_bdf(&self) -> String {
        format!(
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain.unwrap_or_default().0,
            self.bus.unwrap_or_default().0,
            self.slot.unwrap_or_default().0,
            self.function.unwrap_or_default().0
        )
    }
}

/// `<address type='ccw' cssid ssid devno/>` (s390x).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CcwAddress {
    /// Channel subsystem id.
    pub cssid: Option<Hex>,
    /// Subchannel set id.
    pub ssid: Option<Hex>,
    /// Device number.
    pub devno: Option<Hex>,
}

/// A device-level `<address>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DeviceAddress {
    /// `type='drive'`.
    Drive(DriveAddress, Extra),
    /// `type='pci'`.
    Pci(PciAddress, Extra),
    /// `type='ccw'`.
    Ccw(CcwAddress, Extra),
    /// Any other type (`usb`, `spapr-vio`, `virtio-mmio`, …), kept as written.
    Other {
        /// The `type` attribute.
        kind: String,
        /// The other attributes in order.
        attrs: Vec<(String, String)>,
        /// Unknown children.
        extra: Extra,
    },
}

impl DeviceAddress {
    /// The `type` attribute.
    pub fn kind(&self) -> &str {
        match self {
            DeviceAddress::Drive(..) => "drive",
            DeviceAddress::Pci(..) => "pci",
            DeviceAddress::Ccw(..) => "ccw",
            DeviceAddress::Other { kind, .. } => kind,
        }
    }

    /// The drive address, if this is one.
    pub fn as_drive(&self) -> Option<&DriveAddress> {
        match self {
            DeviceAddress::Drive(d, _) => Some(d),
            _ => None,
        }
    }

    /// The PCI address, if this is one.
    pub fn as_pci(&self) -> Option<&PciAddress> {
        match self {
            DeviceAddress::Pci(p, _) => Some(p),
            _ => None,
        }
    }
}

/// `<source><address bus target unit/></source>` of a SCSI hostdev: the LU on the host
/// adapter. The unit is 64-bit, as in libvirt.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ScsiSourceAddress {
    /// Host bus (channel).
    pub bus: Option<u32>,
    /// Host target.
    pub target: Option<u32>,
    /// Host LUN.
    pub unit: Option<u64>,
    /// Unknown content.
    pub extra: Extra,
}
