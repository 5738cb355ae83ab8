//! `<hostdev>`: SCSI LUs (`type='scsi'`), vhost-scsi (`type='scsi_host'`) and PCI functions
//! (`type='pci'`). Other types (usb, mdev) keep their type typed and the rest verbatim.

use super::{
    xml_enum, Adapter, Boot, ChildExtra, DeviceAddress, Extra, NetHost, OnOff, PciAddress,
    ScsiSourceAddress, SourceAuth, YesNo,
};

xml_enum! {
    /// `<hostdev mode=…>`.
    pub enum HostdevMode { Subsystem = "subsystem", Capabilities = "capabilities" }
}
xml_enum! {
    /// `<hostdev type=…>`.
    pub enum HostdevType { Scsi = "scsi", ScsiHost = "scsi_host", Pci = "pci", Usb = "usb", Mdev = "mdev", Storage = "storage", Misc = "misc", Net = "net" }
}
xml_enum! {
    /// `<source protocol=…>` of a SCSI hostdev (`adapter` is the default).
    pub enum HostdevSourceProtocol { Adapter = "adapter", Iscsi = "iscsi", Vhost = "vhost" }
}
xml_enum! {
    /// `model` of a vhost-scsi hostdev.
    pub enum ScsiHostModel { Virtio = "virtio", VirtioTransitional = "virtio-transitional", VirtioNonTransitional = "virtio-non-transitional" }
}

/// `<source>` of a hostdev. Which fields apply depends on the hostdev type and protocol.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct HostdevSource {
    /// `protocol`, as written (`adapter`, `iscsi`, `vhost`; checked by the validator).
    pub protocol: Option<String>,
    /// `name` (iSCSI target IQN with optional `/LUN`).
    pub name: Option<String>,
    /// `wwpn` (vhost-scsi).
    pub wwpn: Option<String>,
    /// `<adapter>` (SCSI host adapter form).
    pub adapter: Option<Adapter>,
    /// `<address bus target unit>` (SCSI host adapter form).
    pub scsi_address: Option<ScsiSourceAddress>,
    /// `<address domain bus slot function>` (PCI).
    pub pci_address: Option<PciAddress>,
    /// Unknown content of the PCI `<address>`.
    pub pci_address_extra: Extra,
    /// `<host>` entries (iSCSI).
    pub hosts: Vec<NetHost>,
    /// `<auth>` (iSCSI).
    pub auth: Option<SourceAuth>,
    /// `<initiator><iqn name/></initiator>` (iSCSI).
    pub initiator_iqn: Option<String>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of single-valued children (`<initiator>`, `initiator/iqn`), by child name.
    pub child_extra: ChildExtra,
}

/// `<rom bar file enabled/>` of a PCI hostdev.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rom {
    /// `bar`.
    pub bar: Option<OnOff>,
    /// `file`.
    pub file: Option<String>,
    /// `enabled`.
    pub enabled: Option<YesNo>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<hostdev>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hostdev {
    /// `mode`.
    pub mode: Option<HostdevMode>,
    /// `type`.
    pub kind: HostdevType,
    /// `managed`.
    pub managed: Option<YesNo>,
    /// `sgio` (as written).
    pub sgio: Option<String>,
    /// `rawio`.
    pub rawio: Option<YesNo>,
    /// `model` (as written; vhost-scsi models are checked by the validator).
    pub model: Option<String>,
    /// `<driver name>` (PCI: vfio).
    pub driver_name: Option<String>,
    /// Unknown content of `<driver>`.
    pub driver_extra: Option<Extra>,
    /// `<source>`.
    pub source: Option<HostdevSource>,
    /// `<boot order>`.
    pub boot: Option<Boot>,
    /// `<rom>`.
    pub rom: Option<Rom>,
    /// `<readonly/>`.
    pub readonly: bool,
    /// `<shareable/>`.
    pub shareable: bool,
    /// `<alias name>`.
    pub alias: Option<String>,
    /// `<address>` (guest side).
    pub address: Option<DeviceAddress>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of single-valued children (`<alias>`, `<readonly>`, `<shareable>`), by child name.
    pub child_extra: ChildExtra,
}

impl Hostdev {
    /// A hostdev of a type with nothing else set.
    pub fn new(kind: HostdevType) -> Self {
        Hostdev {
            mode: Some(HostdevMode::Subsystem),
            kind,
            managed: None,
            sgio: None,
            rawio: None,
            model: None,
            driver_name: None,
            driver_extra: None,
            source: None,
            boot: None,
            rom: None,
            readonly: false,
            shareable: false,
            alias: None,
            address: None,
            extra: Extra::default(),
            child_extra: ChildExtra::default(),
        }
    }

    /// The source protocol of a SCSI hostdev, `adapter` when unset.
    pub fn scsi_protocol(&self) -> Option<HostdevSourceProtocol> {
        let p = self
            .source
            .as_ref()?
            .protocol
            .as_deref()
            .unwrap_or("adapter");
        HostdevSourceProtocol::from_xml(p)
    }
}
