//! PCI addresses and PCI controllers as libvirt assigns them (`qemuDomainAssignPCIAddresses`).
//!
//! Two passes over the same device list ([`super::pci_devices`]). The first is a dry run:
//! explicit addresses are reserved, the chipset takes its fixed places, every device without
//! an address takes the next slot it may use, and whenever none is left a bus is added (a
//! `pcie-root-port` per PCI Express device, a `pcie-to-pci-bridge` behind a root port for
//! conventional PCI on q35, `pci-bridge`s on i440fx). The buses that run added become PCI
//! controllers. The second pass assigns for real with every controller known, PCI controllers
//! first; then root ports get their `chassis`/`port`, bridges their `chassis_nr`, expander
//! buses their `busNr`, and function 0 of a slot with several functions `multifunction`.

use super::chipset::{self, Chipset, Given};
use super::pci_devices::{self, PciDev, Placement, Role};
use super::pci_set::{connect::*, controller_connect, Addr, AddrSet};
use super::slots::Slot;
use super::{Key, Plan};
use crate::diag::codes;
use crate::emit::{Caps, EmitError, QemuVersion};
use crate::model::{Controller, ControllerType, Domain, OnOff, PciModel, PciModelName};
use std::collections::HashMap;

/// A PCI controller as it goes on the command line.
#[derive(Debug, Clone)]
pub(crate) struct PciCtrl {
    pub key: Key,
    pub idx: u32,
    pub model: PciModel,
    /// The QEMU device.
    pub name: Option<PciModelName>,
    /// Its id, and the name of the bus it provides.
    pub alias: String,
    pub chassis_nr: Option<u32>,
    pub chassis: Option<u32>,
    pub port: Option<u32>,
    pub bus_nr: Option<u32>,
    pub numa_node: Option<u32>,
    pub hotplug: Option<OnOff>,
}

/// What PCI assignment decided.
#[derive(Debug, Default)]
pub(crate) struct PciPlan {
    /// The address of every device that has one.
    pub slots: HashMap<Key, Slot>,
    /// Every PCI controller, defined and added, in libvirt's list order.
    pub controllers: Vec<PciCtrl>,
}

/// One PCI controller of the domain during assignment.
#[derive(Debug, Clone, Copy)]
struct Bus<'d> {
    key: Key,
    idx: u32,
    model: PciModel,
    def: Option<&'d Controller>,
}

fn err(what: &str, message: impl Into<String>) -> EmitError {
    EmitError::new(codes::E103, what, message)
}

/// Assign every PCI address.
pub(crate) fn assign(d: &Domain, plan: &Plan<'_>, caps: &Caps) -> Result<PciPlan, EmitError> {
    let machine = &plan.machine;
    let chipset = if machine.q35 {
        Chipset::Q35
    } else if machine.x86() && is_i440fx(&machine.name) {
        Chipset::Piix3
    } else {
        Chipset::None
    };
    let legacy = caps.version < QemuVersion::BLOCKDEV;
    let mut buses: Vec<Bus> = plan
        .ctrls
        .iter()
        .filter(|c| c.kind == ControllerType::Pci)
        .filter_map(|c| {
            Some(Bus {
                key: c.key,
                idx: c.idx,
                model: c.pci?,
                def: c.def,
            })
        })
        .collect();
    let Some(root) = buses.iter().find(|b| b.idx == 0).copied() else {
        return Ok(PciPlan::default());
    };
    let expected = if machine.q35 {
        Some(PciModel::PcieRoot)
    } else if chipset == Chipset::Piix3 {
        Some(PciModel::PciRoot)
    } else {
        None
    };
    if let Some(m) = expected.filter(|&m| m != root.model) {
        return Err(err(
            &path_of(plan, root.key),
            format!(
                "The PCI controller with index='0' must be model='{m}' for this machine type, but model='{}' was found instead",
                root.model
            ),
        ));
    }
    let mut devs = pci_devices::list(d, plan);
    let max_idx = buses.iter().map(|b| b.idx).max().unwrap_or(0);
    let multiple_roots = machine.pseries;

    // First pass: how many buses the devices need.
    let mut set = AddrSet::new(max_idx as usize + 1, true, multiple_roots);
    set_models(&mut set, &buses, root.model, machine.pseries);
    reserve_explicit(&mut set, &devs, &|x| x.place)?;
    let given = chipset::apply(chipset, &mut set, &devs, &|x| x.place, legacy)?;
    let sticky: Given = given.into_iter().filter(|(_, g)| g.sticky).collect();
    let place = |x: &PciDev| match sticky.get(&x.key) {
        Some(g) => Placement::Fixed {
            addr: g.addr,
            multi: g.multi,
        },
        None => x.place,
    };
    if root.model == PciModel::PciRoot && !set.all_fully_reserved() {
        // A slot held back for a pci-bridge, so that the root bus keeps room to grow.
        set.reserve_next(AUTOASSIGN | PCI_DEVICE, None)
            .map_err(|m| err("/domain/devices", m))?;
    }
    assign_wanted(&mut set, &devs, &place, false, &mut HashMap::new())?;
    if max_idx == 0 && set.buses.len() > 1 && root.model == PciModel::PcieRoot {
        // One spare root port for hotplug, for domains whose PCI controllers libvirt manages.
        set.reserve_next(AUTOASSIGN | PCIE_DEVICE, None)
            .map_err(|m| err("/domain/devices", m))?;
    }
    let mut idx = 1;
    while idx < set.buses.len() as u32 {
        if !buses.iter().any(|b| b.idx == idx) {
            let model = set.buses[idx as usize]
                .as_ref()
                .map(|b| b.model)
                .ok_or_else(|| err("/domain/devices", format!("PCI bus {idx} has no model")))?;
            buses.push(Bus {
                key: Key::Pci(idx),
                idx,
                model,
                def: None,
            });
            if !model.is_root() {
                set.reserve_next(controller_connect(model), None)
                    .map_err(|m| err("/domain/devices", m))?;
            }
        }
        idx += 1;
    }

    // Second pass, with every controller in place: the added ones join the PCI controllers
    // at the end of libvirt's list.
    let added: Vec<PciDev> = buses
        .iter()
        .filter(|b| b.def.is_none() && !b.model.is_root())
        .filter(|b| !plan.ctrls.iter().any(|c| c.key == b.key))
        .map(|b| PciDev {
            key: b.key,
            what: format!("/domain/devices (added {} controller {})", b.model, b.idx),
            flags: controller_connect(b.model),
            place: Placement::Wanted,
            role: Role::Plain,
            usb2: None,
            pci_controller: true,
        })
        .collect();
    let at = devs
        .iter()
        .rposition(|x| x.pci_controller)
        .map_or(0, |p| p + 1);
    devs.splice(at..at, added);
    let mut set = AddrSet::new(set.buses.len(), false, multiple_roots);
    set_models(&mut set, &buses, root.model, machine.pseries);
    reserve_explicit(&mut set, &devs, &place)?;
    let given = chipset::apply(chipset, &mut set, &devs, &place, legacy)?;
    let mut out: HashMap<Key, Slot> = HashMap::new();
    for x in &devs {
        if let Placement::Fixed { addr, multi } = place(x) {
            out.insert(x.key, slot(addr, multi));
        }
    }
    for (k, g) in &given {
        out.insert(*k, slot(g.addr, g.multi));
    }
    let place2 = |x: &PciDev| match given.get(&x.key) {
        Some(g) => Placement::Fixed {
            addr: g.addr,
            multi: g.multi,
        },
        None => place(x),
    };
    assign_wanted(&mut set, &devs, &place2, true, &mut out)?;
    // Devices domxml keeps verbatim also hold their slot here: their function-0 neighbours
    // may need multifunction.
    set_all_multi(&mut out);
    buses.sort_by_key(|b| (b.def.is_none(), list_pos(plan, b.key), b.idx));
    let controllers = controller_options(plan, &buses, &out)?;
    Ok(PciPlan {
        slots: out,
        controllers,
    })
}

/// `qemuDomainIsI440FX`.
fn is_i440fx(machine: &str) -> bool {
    machine == "pc"
        || machine.starts_with("pc-0.")
        || machine.starts_with("pc-1.")
        || machine.starts_with("pc-i440")
        || machine.starts_with("rhel")
}

fn path_of(plan: &Plan<'_>, key: Key) -> String {
    match key {
        Key::Item(i) => plan.path(i).to_string(),
        _ => "/domain/devices".to_string(),
    }
}

fn list_pos(plan: &Plan<'_>, key: Key) -> usize {
    plan.ctrls
        .iter()
        .position(|c| c.key == key)
        .unwrap_or(usize::MAX)
}

fn slot(a: Addr, multi: Option<bool>) -> Slot {
    Slot {
        bus: a.bus,
        slot: a.slot,
        function: a.function,
        multi,
    }
}

/// Give every bus its model; buses no controller defines get the machine's default
/// (`qemuDomainPCIAddressSetCreate`).
fn set_models(set: &mut AddrSet, buses: &[Bus<'_>], root: PciModel, pseries: bool) {
    for b in buses {
        if (b.idx as usize) < set.buses.len() {
            let hotplug = b
                .def
                .and_then(|c| c.pci.as_ref())
                .and_then(|p| p.target.as_ref())
                .and_then(|t| t.hotplug)
                != Some(OnOff::Off);
            set.set_model(b.idx, b.model, hotplug);
        }
    }
    let default = if pseries {
        PciModel::PciRoot
    } else if root == PciModel::PcieRoot {
        PciModel::PcieRootPort
    } else {
        PciModel::PciBridge
    };
    for i in 1..set.buses.len() {
        if set.buses[i].is_none() {
            set.set_model(i as u32, default, true);
        }
    }
}

/// Reserve every explicit address (`qemuDomainCollectPCIAddress`). PIIX3's own functions are
/// left to the chipset step.
fn reserve_explicit(
    set: &mut AddrSet,
    devs: &[PciDev],
    place: &dyn Fn(&PciDev) -> Placement,
) -> Result<(), EmitError> {
    for x in devs {
        let Placement::Fixed { mut addr, .. } = place(x) else {
            continue;
        };
        let piix3 = match x.role {
            Role::Ide0 => addr.bus == 0 && addr.slot == 1 && addr.function == 1,
            Role::Piix3Usb => addr.bus == 0 && addr.slot == 1 && addr.function == 2,
            _ => false,
        };
        if piix3 {
            continue;
        }
        // A device that should have no PCI address but has one is reserved as a PCI device.
        let flags = if x.flags == 0 { PCI_DEVICE } else { x.flags };
        set.reserve(&mut addr, flags, true)
            .map_err(|m| err(&x.what, m))?;
    }
    Ok(())
}

/// Give every device that wants an address one (`qemuDomainAssignDevicePCISlots`). In the
/// real pass the addresses go into `out`; in the dry run only the set changes, as in libvirt,
/// where a dry run does not write addresses into the domain.
fn assign_wanted(
    set: &mut AddrSet,
    devs: &[PciDev],
    place: &dyn Fn(&PciDev) -> Placement,
    real: bool,
    out: &mut HashMap<Key, Slot>,
) -> Result<(), EmitError> {
    for x in devs {
        if place(x) != Placement::Wanted || x.flags == 0 || x.role == Role::Ide0 {
            continue;
        }
        let (a, multi) = match x.usb2 {
            Some((idx, function)) => {
                let multi = (function == 0).then_some(true);
                // Companions share the slot of the first of their index that has one.
                let mate = devs.iter().find_map(|y| {
                    let (yi, _) = y.usb2?;
                    if yi != idx || y.key == x.key {
                        return None;
                    }
                    match place(y) {
                        Placement::Fixed { addr, .. } => Some(addr),
                        _ => out.get(&y.key).map(|s| Addr {
                            bus: s.bus,
                            slot: s.slot,
                            function: s.function,
                        }),
                    }
                });
                let a = match mate {
                    Some(m) => {
                        let mut a = Addr { function, ..m };
                        set.reserve(&mut a, x.flags, true)
                            .map_err(|m| err(&x.what, m))?;
                        a
                    }
                    None => set
                        .reserve_next(x.flags, Some(function))
                        .map_err(|m| err(&x.what, m))?,
                };
                (a, multi)
            }
            None => (
                set.reserve_next(x.flags, None)
                    .map_err(|m| err(&x.what, m))?,
                None,
            ),
        };
        if real {
            out.insert(x.key, slot(a, multi));
        }
    }
    Ok(())
}

/// Function 0 of a slot whose other functions are used gets `multifunction` on, unless the
/// domain says otherwise (`virDomainPCIAddressSetAllMulti`).
fn set_all_multi(out: &mut HashMap<Key, Slot>) {
    let shared: Vec<(u32, u32)> = out
        .values()
        .filter(|s| s.function != 0)
        .map(|s| (s.bus, s.slot))
        .collect();
    for s in out.values_mut() {
        if s.function == 0 && s.multi.is_none() && shared.contains(&(s.bus, s.slot)) {
            s.multi = Some(true);
        }
    }
}

/// The command-line options of every PCI controller, with libvirt's defaults for what the
/// domain does not say.
fn controller_options(
    plan: &Plan<'_>,
    buses: &[Bus<'_>],
    slots: &HashMap<Key, Slot>,
) -> Result<Vec<PciCtrl>, EmitError> {
    let mut out: Vec<PciCtrl> = Vec::new();
    for b in buses {
        let opts = b.def.and_then(|c| c.pci.as_ref());
        let t = opts.and_then(|p| p.target.as_ref());
        let addr = slots.get(&b.key);
        let user_alias = b
            .def
            .and_then(|c| c.alias.as_ref())
            .filter(|a| a.starts_with("ua-"));
        let alias = match b.model {
            PciModel::PcieRoot => "pcie.0".to_string(),
            PciModel::PciRoot if b.idx == 0 => "pci.0".to_string(),
            _ => user_alias
                .cloned()
                .unwrap_or_else(|| format!("pci.{}", b.idx)),
        };
        let mut c = PciCtrl {
            key: b.key,
            idx: b.idx,
            model: b.model,
            name: opts.and_then(|p| p.model_name).or(b.model.default_name()),
            alias,
            chassis_nr: t.and_then(|t| t.chassis_nr),
            chassis: t.and_then(|t| t.chassis),
            port: t.and_then(|t| t.port).map(|h| h.0),
            bus_nr: t.and_then(|t| t.bus_nr),
            numa_node: t.and_then(|t| t.node),
            hotplug: t.and_then(|t| t.hotplug),
        };
        match b.model {
            PciModel::PciBridge => {
                c.chassis_nr.get_or_insert(b.idx);
                if let Some(a) = addr.filter(|a| b.idx <= a.bus) {
                    return Err(err(
                        &path_of(plan, b.key),
                        format!(
                            "PCI controller at index {} (0x{:02x}) has bus='0x{:02x}', but index must be larger than bus",
                            b.idx, b.idx, a.bus
                        ),
                    ));
                }
            }
            PciModel::PcieRootPort => {
                c.chassis.get_or_insert(b.idx);
                if let Some(a) = addr {
                    c.port.get_or_insert((a.slot << 3) + a.function);
                }
            }
            PciModel::PcieSwitchDownstreamPort => {
                c.chassis.get_or_insert(b.idx);
                if let Some(a) = addr {
                    c.port.get_or_insert(a.slot);
                }
            }
            PciModel::PciExpanderBus | PciModel::PcieExpanderBus if c.bus_nr.is_none() => {
                // Two bus numbers below the lowest one in use (the expander and its
                // built-in bridge), leaving the most room to the buses behind pci-root.
                let lowest = out
                    .iter()
                    .filter_map(|o| o.bus_nr)
                    .chain(buses.iter().filter_map(|o| {
                        o.def
                            .and_then(|c| c.pci.as_ref())
                            .and_then(|p| p.target.as_ref())
                            .and_then(|t| t.bus_nr)
                    }))
                    .min()
                    .unwrap_or(256);
                if lowest <= 2 {
                    return Err(err(
                        &path_of(plan, b.key),
                        format!("No free busNr lower than current lowest busNr is available to auto-assign to bus {}. Must be manually assigned", addr.map_or(0, |a| a.bus)),
                    ));
                }
                c.bus_nr = Some(lowest - 2);
            }
            _ => {}
        }
        out.push(c);
    }
    Ok(out)
}
