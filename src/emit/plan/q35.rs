//! q35 placement as libvirt does it: every PCI Express device gets its own `pcie-root-port`
//! (ports on pcie.0 slot 1 functions 0..7, then slot 2, …), conventional PCI devices go behind
//! a `pcie-pci-bridge` that itself sits on the first root port, and one spare root port is added
//! for hotplug. Controller indices follow the order in which the devices asked for them (a
//! bridge right after its root port); then root ports are handed out in index order, bridges
//! first.

use super::pci::{PciPlan, Want};
use super::slots::{PciSlots, Slot, SLOTS};
use crate::diag::codes;
use crate::emit::EmitError;
use std::collections::{HashMap, VecDeque};

/// A PCI controller libvirt adds on q35.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PcieCtrl {
    /// `pcie-root-port` on pcie.0.
    RootPort {
        /// The `port` property.
        port: u32,
        /// Its place on pcie.0.
        slot: Slot,
        /// Function 0 of a slot holding several ports.
        multi: bool,
    },
    /// `pcie-pci-bridge` on a root port.
    Bridge {
        /// Index of the root port it sits on.
        parent: u32,
    },
}

fn exhausted(what: impl Into<String>, message: &str) -> EmitError {
    EmitError::new(codes::E103, what, message)
        .with_hint("give devices explicit addresses, or use fewer PCI devices")
}

/// Place every wanting device behind root ports and bridges, recording the controllers.
pub(crate) fn place_behind_root_ports(
    mut slots: PciSlots,
    wants: Vec<Want>,
    out: &mut PciPlan,
) -> Result<(), EmitError> {
    let mut next_index = 1u32;
    let mut ports: Vec<u32> = Vec::new();
    let mut bridges: Vec<u32> = Vec::new();
    let mut bridge_free = 0u32;
    for w in &wants {
        if w.pcie {
            ports.push(next_index);
            next_index += 1;
        } else {
            if bridge_free == 0 {
                ports.push(next_index);
                bridges.push(next_index + 1);
                next_index += 2;
                bridge_free = 31;
            }
            bridge_free -= 1;
        }
    }
    if !ports.is_empty() {
        ports.push(next_index);
    }
    // Root ports on pcie.0, eight functions per slot.
    let mut placed_ports: Vec<(u32, Slot)> = Vec::new();
    let mut slot = 0u32;
    let mut func = 8u32;
    for &idx in &ports {
        if func == 8 {
            slot += 1;
            while slots.is_used(0, slot) {
                slot += 1;
            }
            if slot >= SLOTS {
                return Err(exhausted(
                    "/domain/devices",
                    "no free pcie.0 slot is left for a pcie-root-port",
                ));
            }
            slots.reserve(0, slot);
            func = 0;
        }
        placed_ports.push((
            idx,
            Slot {
                bus: 0,
                slot,
                function: func,
            },
        ));
        func += 1;
    }
    let mut free_ports: VecDeque<u32> = ports.iter().copied().collect();
    let mut bridge_parent: Vec<(u32, u32)> = Vec::new();
    for &b in &bridges {
        let parent = free_ports
            .pop_front()
            .ok_or_else(|| exhausted("/domain/devices", "no root port left for a bridge"))?;
        bridge_parent.push((b, parent));
    }
    let mut bridge_iter = bridges.iter().copied();
    let mut current_bridge: Option<(u32, u32)> = None; // (index, next slot)
    for w in wants {
        let s = if w.pcie {
            let port = free_ports
                .pop_front()
                .ok_or_else(|| exhausted(w.what.clone(), "no pcie-root-port left"))?;
            Slot {
                bus: port,
                slot: 0,
                function: 0,
            }
        } else {
            let (b, next) = match current_bridge {
                Some((b, next)) if next < SLOTS => (b, next),
                _ => {
                    let b = bridge_iter
                        .next()
                        .ok_or_else(|| exhausted(w.what.clone(), "no pcie-pci-bridge slot left"))?;
                    (b, 1)
                }
            };
            current_bridge = Some((b, next + 1));
            Slot {
                bus: b,
                slot: next,
                function: 0,
            }
        };
        if let Some(k) = w.key {
            out.slots.insert(k, s);
        }
    }
    // Count functions per slot for the multifunction flag.
    let mut per_slot: HashMap<u32, u32> = HashMap::new();
    for (_, s) in &placed_ports {
        *per_slot.entry(s.slot).or_default() += 1;
    }
    for (k, (idx, s)) in placed_ports.into_iter().enumerate() {
        let multi = s.function == 0 && per_slot[&s.slot] > 1;
        out.pcie_controllers.push((
            idx,
            PcieCtrl::RootPort {
                port: 8 + k as u32,
                slot: s,
                multi,
            },
        ));
    }
    for (b, parent) in bridge_parent {
        out.pcie_controllers.push((b, PcieCtrl::Bridge { parent }));
    }
    out.pcie_controllers.sort_by_key(|(i, _)| *i);
    Ok(())
}
