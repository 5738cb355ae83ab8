//! The address plan: every name and address the command line will carry, assigned once, before
//! a single argument is written, and immutable afterwards.
//!
//! libvirt keeps the same split: `qemu_domain_address.c` assigns PCI, CCW and drive addresses
//! and `qemuAssignDeviceAliases` names every device, then `qemu_command.c` only reads them.
//! Here [`plan`] builds a [`Plan`] from the domain and the target QEMU, and the per-family
//! builders in `emit::build` read it. Each part of the plan is one module:
//!
//! * [`controllers`]: the controller list as libvirt holds it after post-parse (defined and
//!   implicit controllers, effective SCSI models);
//! * [`pci`]: PCI addresses and the PCI controllers libvirt adds, over the device list of
//!   [`pci_devices`], the bus rules of [`pci_set`] and the fixed places of [`chipset`];
//! * [`ccw`]: s390x CCW device numbers and pSeries spapr-vio registers;
//! * [`order`]: libvirt's disk order and boot indexes;
//! * [`names`]: device aliases and block node names.

pub(crate) mod by_item;
pub(crate) mod ccw;
pub(crate) mod chipset;
pub(crate) mod controllers;
pub(crate) mod names;
pub(crate) mod order;
pub(crate) mod pci;
pub(crate) mod pci_devices;
pub(crate) mod pci_set;
pub(crate) mod slots;

use super::{Caps, EmitError};
use crate::assign::ScsiLayout;
use crate::diag::codes;
use crate::model::{Domain, DomainType, ScsiModel};
pub(crate) use by_item::ByItem;
use controllers::Ctrl;
use pci::PciCtrl;
use slots::Slot;
use std::collections::HashMap;

/// Which device an address or name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// `domain.devices.items[i]`.
    Item(usize),
    /// An implicit SCSI controller.
    Scsi(u32),
    /// The implicit USB controller.
    Usb,
    /// The implicit balloon.
    Balloon,
    /// An implicit SATA controller.
    Sata(u32),
    /// An implicit virtio-serial controller.
    VirtioSerial(u32),
    /// The video card libvirt adds for `<graphics>`.
    Video,
    /// A PCI controller libvirt adds (index 0: the machine's root bus).
    Pci(u32),
}

/// What the machine type decides.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// `<os><type arch>`, x86_64 by default.
    pub arch: String,
    /// `<os><type machine>`, `pc` by default.
    pub name: String,
    /// `tcg` or `kvm`.
    pub accel: &'static str,
    /// A q35 (PCI Express) machine: devices sit behind root ports, the root bus is `pcie.0`.
    pub q35: bool,
    /// A pSeries machine (spapr-vio SCSI).
    pub pseries: bool,
}

impl Machine {
    fn of(d: &Domain) -> Result<Machine, EmitError> {
        let accel = match d.kind {
            DomainType::Qemu => "tcg",
            DomainType::Kvm => "kvm",
            other => {
                return Err(EmitError::new(
                    codes::E100,
                    "/domain",
                    format!("<domain type='{other}'> is not a QEMU domain"),
                )
                .with_hint("use type='qemu' (TCG) or type='kvm'"))
            }
        };
        let arch = d.arch().unwrap_or("x86_64").to_string();
        let name = d.machine().unwrap_or("pc").to_string();
        Ok(Machine {
            q35: name.contains("q35"),
            pseries: arch.starts_with("ppc64") && name.starts_with("pseries"),
            arch,
            name,
            accel,
        })
    }

    /// The name of the root PCI bus.
    pub fn root_bus(&self) -> &'static str {
        if self.q35 {
            "pcie.0"
        } else {
            "pci.0"
        }
    }

    /// 32- or 64-bit x86.
    pub fn x86(&self) -> bool {
        matches!(self.arch.as_str(), "x86_64" | "i686")
    }
}

/// Every address and name of one conversion.
#[derive(Debug)]
pub(crate) struct Plan<'d> {
    /// Machine facts.
    pub machine: Machine,
    /// Element path of every device item.
    pub paths: crate::model::DevicePaths,
    /// SCSI drive addresses and controller models.
    pub layout: ScsiLayout,
    /// SCSI drive address of each placed disk or hostdev item.
    pub placed: ByItem<(u32, u32, u32, u32)>,
    /// Controllers in libvirt's list order, defined and implicit.
    pub ctrls: Vec<Ctrl<'d>>,
    /// Disk items in libvirt's list order.
    pub disk_order: Vec<usize>,
    /// PCI address of every device that has one.
    pub pci: HashMap<Key, Slot>,
    /// Every PCI controller, defined and added, in libvirt's list order.
    pub pci_ctrls: Vec<PciCtrl>,
    /// CCW device numbers (`fe.0.0002`) on s390x.
    pub ccw: HashMap<Key, String>,
    /// spapr-vio `reg` of ibmvscsi controllers.
    pub spapr: HashMap<Key, u64>,
    /// Boot index of disk and hostdev items.
    pub boot: HashMap<usize, u32>,
    /// Aliases and node names.
    pub names: names::Names,
}

impl Plan<'_> {
    /// The element path of a device item.
    pub fn path(&self, item: usize) -> &str {
        &self.paths[item]
    }

    /// The QEMU name of PCI bus `idx`: the alias of the controller providing it.
    pub fn bus_name(&self, idx: u32) -> String {
        match self.pci_ctrls.iter().find(|c| c.idx == idx) {
            Some(c) => c.alias.clone(),
            None if idx == 0 => self.machine.root_bus().to_string(),
            None => format!("pci.{idx}"),
        }
    }
}

/// Plan a domain for a QEMU build: every address and name, or why there is none.
pub(crate) fn plan<'d>(d: &'d Domain, caps: &Caps) -> Result<Plan<'d>, EmitError> {
    let machine = Machine::of(d)?;
    // The default SCSI model depends on what this QEMU build has
    // (qemuDomainDefaultSCSIControllerModel).
    let default_model = if machine.pseries {
        Some(ScsiModel::Ibmvscsi)
    } else if caps.has("lsi") {
        Some(ScsiModel::Lsilogic)
    } else if caps.has("virtio-scsi") {
        Some(ScsiModel::VirtioScsi)
    } else {
        None
    };
    let layout = ScsiLayout::with_default(d, default_model.unwrap_or(ScsiModel::Lsilogic));
    let ctrls = controllers::list(d, &machine, &layout, default_model, caps)?;
    let paths = crate::model::DevicePaths::of(&d.devices);
    let disk_order = order::disk_order(d);
    let placed: ByItem<(u32, u32, u32, u32)> =
        layout.placed.iter().map(|p| (p.item, p.addr)).collect();
    let mut plan = Plan {
        names: names::Names::default(),
        machine,
        paths,
        layout,
        placed,
        ctrls,
        disk_order,
        pci: HashMap::new(),
        pci_ctrls: Vec::new(),
        ccw: HashMap::new(),
        spapr: HashMap::new(),
        boot: HashMap::new(),
    };
    // zPCI (uid/fid on a PCI address) exists on s390x only (qemuValidateDomainDeviceDefZPCIAddress).
    if plan.machine.arch != "s390x" {
        if let Some(i) = pci_devices::zpci_device(d) {
            return Err(EmitError::new(
                codes::E124,
                format!("{}/address/zpci", plan.path(i)),
                "This QEMU binary doesn't support zPCI",
            )
            .with_hint("zPCI identifiers are for s390x guests: drop the <zpci> element"));
        }
    }
    if plan.machine.arch == "s390x" {
        plan.ccw = ccw::assign_ccw(d, &plan);
    } else {
        let pci = pci::assign(d, &plan, caps)?;
        plan.pci = pci.slots;
        plan.pci_ctrls = pci.controllers;
    }
    plan.spapr = ccw::assign_spapr(&plan.ctrls);
    plan.boot = order::boot_indexes(d, &plan.disk_order);
    plan.names = names::Names::assign(d, &plan);
    Ok(plan)
}
