//! `<controller>`. SCSI and PCI controllers are modelled in full; other types keep their
//! model and index typed and everything else verbatim.

use super::{xml_enum, Adapter, ChildExtra, DeviceAddress, Extra, OnOff, PciModel, PciOptions};

xml_enum! {
    /// `<controller type=…>`.
    pub enum ControllerType {
        Scsi = "scsi", Pci = "pci", Usb = "usb", Ide = "ide", Sata = "sata", Fdc = "fdc",
        VirtioSerial = "virtio-serial", Ccid = "ccid", Xenbus = "xenbus", Isa = "isa", Nvme = "nvme"
    }
}

xml_enum! {
    /// Every SCSI controller model libvirt knows.
    pub enum ScsiModel {
        Auto = "auto", Buslogic = "buslogic", Lsilogic = "lsilogic", Lsisas1068 = "lsisas1068",
        Vmpvscsi = "vmpvscsi", Ibmvscsi = "ibmvscsi", VirtioScsi = "virtio-scsi",
        Lsisas1078 = "lsisas1078", VirtioTransitional = "virtio-transitional",
        VirtioNonTransitional = "virtio-non-transitional", Ncr53c90 = "ncr53c90",
        Am53c974 = "am53c974", Dc390 = "dc390"
    }
}

impl ScsiModel {
    /// The three virtio-scsi flavours.
    pub fn is_virtio(self) -> bool {
        matches!(
            self,
            ScsiModel::VirtioScsi
                | ScsiModel::VirtioTransitional
                | ScsiModel::VirtioNonTransitional
        )
    }

    /// Single-LUN narrow HBAs whose guest address is `scsi-id = unit` with no channel or lun.
    pub fn is_lsi_style(self) -> bool {
        matches!(
            self,
            ScsiModel::Lsilogic | ScsiModel::Ncr53c90 | ScsiModel::Dc390 | ScsiModel::Am53c974
        )
    }

    /// The highest unit an explicit address may use on this model, where the model has one
    /// (libvirt's `virDomainSCSIDriveAddressIsUsed` table).
    pub fn max_unit(self) -> Option<u32> {
        match self {
            m if m.is_virtio() => Some(16383),
            ScsiModel::Ibmvscsi => Some(31),
            ScsiModel::Lsisas1068 => Some(1),
            ScsiModel::Lsisas1078 => Some(255),
            ScsiModel::Ncr53c90 | ScsiModel::Dc390 | ScsiModel::Am53c974 => Some(6),
            _ => None,
        }
    }

    /// The unit the HBA itself occupies, skipped by automatic assignment.
    pub fn reserved_unit(self) -> Option<u32> {
        match self {
            ScsiModel::Ibmvscsi
            | ScsiModel::Lsilogic
            | ScsiModel::Vmpvscsi
            | ScsiModel::Buslogic => Some(7),
            _ => None,
        }
    }
}

/// `model` of a controller: a closed vocabulary for SCSI and PCI controllers (a value outside
/// it is an error), the spelling as written for every other type (`qemu-xhci`, …), whose
/// models domxml passes through.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ControllerModel {
    /// A SCSI controller's model.
    Scsi(ScsiModel),
    /// A PCI controller's model.
    Pci(PciModel),
    /// Any other controller's model.
    Other(String),
}

impl ControllerModel {
    /// The XML spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ControllerModel::Scsi(m) => m.as_str(),
            ControllerModel::Pci(m) => m.as_str(),
            ControllerModel::Other(s) => s,
        }
    }
}

impl From<ScsiModel> for ControllerModel {
    fn from(m: ScsiModel) -> Self {
        ControllerModel::Scsi(m)
    }
}

/// The virtio options of a `<driver>` (`virDomainVirtioOptions`): QEMU's `iommu_platform`,
/// `ats`, `packed` and `page-per-vq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct VirtioOptions {
    /// `iommu`.
    pub iommu: Option<OnOff>,
    /// `ats`.
    pub ats: Option<OnOff>,
    /// `packed`.
    pub packed: Option<OnOff>,
    /// `page_per_vq`.
    pub page_per_vq: Option<OnOff>,
}

impl VirtioOptions {
    /// True when none is set.
    pub fn is_empty(&self) -> bool {
        *self == VirtioOptions::default()
    }
}

/// `<driver>` of a SCSI controller.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ControllerDriver {
    /// `queues`: virtio-scsi request queues.
    pub queues: Option<u32>,
    /// `cmd_per_lun`.
    pub cmd_per_lun: Option<u32>,
    /// `max_sectors`.
    pub max_sectors: Option<u32>,
    /// `ioeventfd`.
    pub ioeventfd: Option<OnOff>,
    /// `iothread`: id of an iothread from `<iothreads>`.
    pub iothread: Option<u32>,
    /// The virtio options (`iommu`, `ats`, `packed`, `page_per_vq`).
    pub virtio: VirtioOptions,
    /// Unknown content.
    pub extra: Extra,
}

/// `<address type='scsi' bus target/>` restricting a whole-host passthrough or a pool to part
/// of the host. `bus` defaults to 0; `target` is mandatory.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PoolStyleAddress {
    /// Host bus.
    pub bus: Option<u32>,
    /// Host target.
    pub target: Option<u32>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<source>` of a whole-host passthrough controller (domxml's design): every LU of the
/// adapter is given to the guest on this controller.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ControllerSource {
    /// The host adapter.
    pub adapter: Option<Adapter>,
    /// Optional restriction to one bus/target.
    pub address: Option<PoolStyleAddress>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<controller>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Controller {
    /// `type`.
    pub kind: ControllerType,
    /// `index`.
    pub index: Option<u32>,
    /// `model`: typed for SCSI and PCI controllers, as written for the others.
    pub model: Option<ControllerModel>,
    /// `<model name>` and `<target>` of a PCI controller.
    pub pci: Option<PciOptions>,
    /// `<driver>` (SCSI).
    pub driver: Option<ControllerDriver>,
    /// `<source>` (SCSI whole-host passthrough).
    pub source: Option<ControllerSource>,
    /// `<alias name>`.
    pub alias: Option<String>,
    /// `<address>`.
    pub address: Option<DeviceAddress>,
    /// Unknown content (for controllers other than SCSI and PCI, everything but
    /// type/index/model/alias/address).
    pub extra: Extra,
    /// Unknown content of single-valued children (`<alias>`), by child name.
    pub child_extra: ChildExtra,
}

impl Controller {
    /// A controller of a type with nothing else set.
    pub fn new(kind: ControllerType) -> Self {
        Controller {
            kind,
            index: None,
            model: None,
            pci: None,
            driver: None,
            source: None,
            alias: None,
            address: None,
            extra: Extra::default(),
            child_extra: ChildExtra::default(),
        }
    }

    /// The model of a SCSI controller.
    pub fn scsi_model(&self) -> Option<ScsiModel> {
        match &self.model {
            Some(ControllerModel::Scsi(m)) => Some(*m),
            _ => None,
        }
    }

    /// The model of a PCI controller.
    pub fn pci_model(&self) -> Option<PciModel> {
        match &self.model {
            Some(ControllerModel::Pci(m)) => Some(*m),
            _ => None,
        }
    }

    /// The model as written, whatever the controller type.
    pub fn model_name(&self) -> Option<&str> {
        self.model.as_ref().map(ControllerModel::as_str)
    }

    /// The index as written, 0 when absent. A controller written without one gets the lowest
    /// index its type does not use, after the explicit ones (libvirt's
    /// `virDomainAssignControllerIndexes`); validation and conversion number them that way.
    pub fn idx(&self) -> u32 {
        self.index.unwrap_or(0)
    }
}
