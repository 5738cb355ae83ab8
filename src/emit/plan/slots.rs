//! Guest PCI slot allocation on the root bus, in libvirt's order
//! (`qemuDomainAssignDevicePCISlots`): explicit addresses are reserved first, then devices
//! without one take the first free slot, device class by device class.

use std::collections::HashSet;

/// One guest PCI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// Bus number.
    pub bus: u32,
    /// Slot.
    pub slot: u32,
    /// Function.
    pub function: u32,
}

impl Slot {
    /// libvirt's `addr` spelling: `0x3`, or `0x1.0x2` when the function is not 0.
    pub fn addr(&self) -> String {
        if self.function == 0 {
            format!("{:#x}", self.slot)
        } else {
            format!("{:#x}.{:#x}", self.slot, self.function)
        }
    }
}

/// The slots of the root bus in use.
#[derive(Debug, Clone, Default)]
pub struct PciSlots {
    used: HashSet<(u32, u32)>,
    /// Next (bus, slot) that may still be free: allocation never scans slots it already
    /// filled.
    cursor: (u32, u32),
    /// pci-bridge buses 1..=bridges, whose slots 1..31 follow the root bus's.
    bridges: u32,
}

/// Slots per PCI bus.
pub const SLOTS: u32 = 32;

impl PciSlots {
    /// Slot 0 (host bridge) is always taken.
    pub fn new() -> Self {
        let mut s = PciSlots::default();
        s.reserve(0, 0);
        s.cursor = (0, 1);
        s
    }

    /// Mark a slot used (an explicit address, or a built-in device).
    pub fn reserve(&mut self, bus: u32, slot: u32) {
        self.used.insert((bus, slot));
    }

    /// True when a slot is taken.
    pub fn is_used(&self, bus: u32, slot: u32) -> bool {
        self.used.contains(&(bus, slot))
    }

    /// Offer the slots of `n` pci-bridge buses after the root bus's.
    pub fn add_bridge_buses(&mut self, n: u32) {
        self.bridges = n;
    }

    /// The next free slot (root bus first, then each bridge), reserved; `None` when every
    /// bus is full.
    pub fn take_next(&mut self) -> Option<Slot> {
        loop {
            let (bus, slot) = self.cursor;
            if slot >= SLOTS {
                if bus >= self.bridges {
                    return None;
                }
                self.cursor = (bus + 1, 1);
                continue;
            }
            self.cursor = (bus, slot + 1);
            if !self.is_used(bus, slot) {
                self.reserve(bus, slot);
                return Some(Slot {
                    bus,
                    slot,
                    function: 0,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_skips_reserved_slots_in_order() {
        let mut p = PciSlots::new();
        p.reserve(0, 1);
        p.reserve(0, 3);
        assert_eq!(p.take_next().unwrap().slot, 2);
        assert_eq!(p.take_next().unwrap().slot, 4);
    }

    #[test]
    fn bridge_buses_follow_the_full_root_bus_from_slot_1() {
        let mut p = PciSlots::new();
        for _ in 1..SLOTS {
            p.take_next().unwrap();
        }
        assert_eq!(p.take_next(), None);
        p.add_bridge_buses(1);
        let s = p.take_next().unwrap();
        assert_eq!((s.bus, s.slot), (1, 1));
    }

    #[test]
    fn function_is_written_only_when_nonzero() {
        let s = Slot {
            bus: 0,
            slot: 1,
            function: 2,
        };
        assert_eq!(s.addr(), "0x1.0x2");
        let s = Slot {
            bus: 0,
            slot: 11,
            function: 0,
        };
        assert_eq!(s.addr(), "0xb");
    }
}
