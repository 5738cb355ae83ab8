//! `<controller type='pci'>`: the PCI topology of a guest (root buses, bridges, root ports,
//! switches, expander buses), typed as libvirt models it (`virDomainControllerModelPCI`,
//! `virDomainPCIControllerOpts`).

use super::{xml_enum, Extra, Hex, OnOff};

xml_enum! {
    /// `model` of a PCI controller: what kind of bus it provides.
    pub enum PciModel {
        PciRoot = "pci-root", PcieRoot = "pcie-root", PciBridge = "pci-bridge",
        DmiToPciBridge = "dmi-to-pci-bridge", PcieRootPort = "pcie-root-port",
        PcieSwitchUpstreamPort = "pcie-switch-upstream-port",
        PcieSwitchDownstreamPort = "pcie-switch-downstream-port",
        PciExpanderBus = "pci-expander-bus", PcieExpanderBus = "pcie-expander-bus",
        PcieToPciBridge = "pcie-to-pci-bridge"
    }
}

xml_enum! {
    /// `<model name>` of a PCI controller: the QEMU device that implements it.
    pub enum PciModelName {
        PciBridge = "pci-bridge", I82801b11Bridge = "i82801b11-bridge", Ioh3420 = "ioh3420",
        PcieRootPort = "pcie-root-port", X3130Upstream = "x3130-upstream",
        Xio3130Downstream = "xio3130-downstream", Pxb = "pxb", PxbPcie = "pxb-pcie",
        PciePciBridge = "pcie-pci-bridge", SpaprPciHostBridge = "spapr-pci-host-bridge"
    }
}

impl PciModel {
    /// The QEMU device libvirt picks for this model when `<model name>` is not given
    /// (`qemuDomainPCIControllerSetDefaultModelName`, for a QEMU that has `pcie-root-port`).
    /// The root buses have none: they are part of the machine.
    pub fn default_name(self) -> Option<PciModelName> {
        Some(match self {
            PciModel::PciBridge => PciModelName::PciBridge,
            PciModel::DmiToPciBridge => PciModelName::I82801b11Bridge,
            PciModel::PcieToPciBridge => PciModelName::PciePciBridge,
            PciModel::PcieRootPort => PciModelName::PcieRootPort,
            PciModel::PcieSwitchUpstreamPort => PciModelName::X3130Upstream,
            PciModel::PcieSwitchDownstreamPort => PciModelName::Xio3130Downstream,
            PciModel::PciExpanderBus => PciModelName::Pxb,
            PciModel::PcieExpanderBus => PciModelName::PxbPcie,
            PciModel::PciRoot | PciModel::PcieRoot => return None,
        })
    }

    /// `pci-root` or `pcie-root`: the machine's own bus 0.
    pub fn is_root(self) -> bool {
        matches!(self, PciModel::PciRoot | PciModel::PcieRoot)
    }
}

/// `<target>` of a PCI controller.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PciTarget {
    /// `chassisNr` (pci-bridge).
    pub chassis_nr: Option<u32>,
    /// `chassis` (root and downstream ports).
    pub chassis: Option<u32>,
    /// `port` (root and downstream ports), written in hex.
    pub port: Option<Hex>,
    /// `busNr` (expander buses).
    pub bus_nr: Option<u32>,
    /// `index` (pSeries host bridges).
    pub index: Option<u32>,
    /// `hotplug='on|off'`.
    pub hotplug: Option<OnOff>,
    /// `<node>`: the guest NUMA node of an expander bus.
    pub node: Option<u32>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of `<node>`.
    pub child_extra: super::ChildExtra,
}

/// What a PCI controller has beyond type, index and model.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PciOptions {
    /// `<model name>`.
    pub model_name: Option<PciModelName>,
    /// Unknown content of `<model>`.
    pub model_extra: Extra,
    /// `<target>`.
    pub target: Option<PciTarget>,
}
