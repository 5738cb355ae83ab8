//! The set of PCI buses and the slots in use on them, with libvirt's rules for what may plug
//! in where (`virDomainPCIAddressSet` in libvirt's `domain_addr.c`): every bus is a PCI
//! controller of some model, which decides its slot range and which kinds of device it
//! accepts; a device states the kinds of connection it can use ("connect flags"). In a dry run
//! the set grows new buses when a device finds no slot, which is how libvirt decides which
//! controllers to add.

use crate::model::PciModel;

/// Connect flags (`VIR_PCI_CONNECT_*`): what a device needs, or what a bus accepts.
pub(crate) mod connect {
    /// Hot-pluggable slot.
    pub const HOTPLUGGABLE: u32 = 1 << 0;
    /// A slot the device may be given automatically.
    pub const AUTOASSIGN: u32 = 1 << 1;
    /// Several devices of this kind may share one slot (root ports on functions 0..7).
    pub const AGGREGATE_SLOT: u32 = 1 << 2;
    /// An integrated endpoint: only bus 0.
    pub const INTEGRATED: u32 = 1 << 3;
    /// A conventional PCI endpoint.
    pub const PCI_DEVICE: u32 = 1 << 4;
    /// A PCI Express endpoint.
    pub const PCIE_DEVICE: u32 = 1 << 5;
    /// A `pcie-root-port`.
    pub const PCIE_ROOT_PORT: u32 = 1 << 6;
    /// A `pcie-switch-upstream-port`.
    pub const PCIE_SWITCH_UPSTREAM_PORT: u32 = 1 << 7;
    /// A `pcie-switch-downstream-port`.
    pub const PCIE_SWITCH_DOWNSTREAM_PORT: u32 = 1 << 8;
    /// A `dmi-to-pci-bridge`.
    pub const DMI_TO_PCI_BRIDGE: u32 = 1 << 9;
    /// A `pcie-expander-bus`.
    pub const PCIE_EXPANDER_BUS: u32 = 1 << 10;
    /// A `pci-expander-bus`.
    pub const PCI_EXPANDER_BUS: u32 = 1 << 11;
    /// A `pcie-to-pci-bridge`.
    pub const PCIE_TO_PCI_BRIDGE: u32 = 1 << 12;
    /// A `pci-bridge`.
    pub const PCI_BRIDGE: u32 = 1 << 13;
    /// Every kind of connection.
    pub const TYPES_MASK: u32 = PCI_DEVICE
        | PCIE_DEVICE
        | PCIE_ROOT_PORT
        | PCIE_SWITCH_UPSTREAM_PORT
        | PCIE_SWITCH_DOWNSTREAM_PORT
        | DMI_TO_PCI_BRIDGE
        | PCIE_EXPANDER_BUS
        | PCI_EXPANDER_BUS
        | PCIE_TO_PCI_BRIDGE
        | PCI_BRIDGE;
    /// Endpoints of either kind.
    pub const TYPES_ENDPOINT: u32 = PCI_DEVICE | PCIE_DEVICE;
}

use connect::*;

/// The connection a PCI controller of a model needs upstream
/// (`virDomainPCIControllerModelToConnectType`); 0 for the root buses.
pub(crate) fn controller_connect(model: PciModel) -> u32 {
    match model {
        PciModel::PciRoot | PciModel::PcieRoot => 0,
        PciModel::PciBridge => PCI_BRIDGE,
        PciModel::PciExpanderBus => PCI_EXPANDER_BUS,
        PciModel::PcieExpanderBus => PCIE_EXPANDER_BUS,
        PciModel::DmiToPciBridge => DMI_TO_PCI_BRIDGE,
        PciModel::PcieToPciBridge => PCIE_TO_PCI_BRIDGE,
        PciModel::PcieRootPort => PCIE_ROOT_PORT | AGGREGATE_SLOT,
        PciModel::PcieSwitchUpstreamPort => PCIE_SWITCH_UPSTREAM_PORT,
        PciModel::PcieSwitchDownstreamPort => PCIE_SWITCH_DOWNSTREAM_PORT,
    }
}

/// A guest PCI address: bus (a controller index), slot and function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Addr {
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl Addr {
    /// libvirt's spelling in messages: `0000:BB:SS.F`.
    pub fn bdf(&self) -> String {
        format!(
            "0000:{:02x}:{:02x}.{:x}",
            self.bus, self.slot, self.function
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SlotUse {
    /// Bit N: function N is reserved.
    functions: u8,
    /// The first function went to a device that shares its slot (a root port).
    aggregate: bool,
}

/// One bus: the controller model behind it, what it accepts and its slots.
#[derive(Debug, Clone)]
pub(crate) struct Bus {
    pub model: PciModel,
    flags: u32,
    min_slot: u32,
    max_slot: u32,
    slots: [SlotUse; 32],
}

impl Bus {
    /// A bus of a controller model (`virDomainPCIAddressBusSetModel`).
    pub fn new(model: PciModel, hotplug: bool) -> Bus {
        let hp = if hotplug { HOTPLUGGABLE } else { 0 };
        let (flags, min_slot, max_slot) = match model {
            PciModel::PciRoot => (
                AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | PCI_EXPANDER_BUS | hp,
                1,
                31,
            ),
            PciModel::PciBridge | PciModel::PcieToPciBridge => {
                (AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hp, 1, 31)
            }
            PciModel::PciExpanderBus => (AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hp, 0, 31),
            PciModel::PcieRoot => (
                PCIE_DEVICE | PCIE_ROOT_PORT | DMI_TO_PCI_BRIDGE | PCIE_EXPANDER_BUS,
                1,
                31,
            ),
            PciModel::DmiToPciBridge => (PCI_DEVICE | PCI_BRIDGE, 0, 31),
            PciModel::PcieRootPort | PciModel::PcieSwitchDownstreamPort => (
                AUTOASSIGN | PCIE_DEVICE | PCIE_SWITCH_UPSTREAM_PORT | PCIE_TO_PCI_BRIDGE | hp,
                0,
                0,
            ),
            PciModel::PcieSwitchUpstreamPort => (PCIE_SWITCH_DOWNSTREAM_PORT, 0, 31),
            PciModel::PcieExpanderBus => (PCIE_ROOT_PORT | DMI_TO_PCI_BRIDGE, 0, 31),
        };
        Bus {
            model,
            flags,
            min_slot,
            max_slot,
            slots: [SlotUse::default(); 32],
        }
    }

    fn fully_reserved(&self) -> bool {
        (self.min_slot..=self.max_slot).all(|s| self.slots[s as usize].functions != 0)
    }
}

/// Whether a device with `dev` flags may use `addr` on a bus with `bus` flags
/// (`virDomainPCIAddressFlagsCompatible`): the reason when it may not.
fn compatible(addr: Addr, mut bus: u32, mut dev: u32, from_config: bool) -> Result<(), String> {
    if dev & INTEGRATED != 0 {
        if addr.bus != 0 {
            return Err(format!(
                "The device at PCI address {} needs to be an integrated device (bus=0)",
                addr.bdf()
            ));
        }
        bus |= AUTOASSIGN;
    }
    if from_config {
        // An address written in the configuration may put a PCI device in a PCIe slot and
        // the other way round, and a pci-bridge wherever a PCI device may go.
        if bus & TYPES_ENDPOINT != 0 {
            bus |= TYPES_ENDPOINT;
        }
        if dev & PCI_BRIDGE != 0 {
            dev |= PCI_DEVICE;
        }
    } else if dev & AUTOASSIGN != 0 && bus & AUTOASSIGN == 0 {
        return Err(format!(
            "The device at PCI address {} was auto-assigned this address, but the PCI controller with index='{}' doesn't allow auto-assignment",
            addr.bdf(),
            addr.bus
        ));
    }
    if dev & HOTPLUGGABLE != 0 && bus & HOTPLUGGABLE == 0 {
        return Err(format!(
            "The device at PCI address {} requires hotplug capability, but the PCI controller with index='{}' doesn't support hotplug",
            addr.bdf(),
            addr.bus
        ));
    }
    if dev & bus & TYPES_MASK == 0 {
        let kind = [
            (PCI_DEVICE, "standard PCI device"),
            (PCIE_DEVICE, "PCI Express device"),
            (PCIE_ROOT_PORT, "pcie-root-port"),
            (PCIE_SWITCH_UPSTREAM_PORT, "pcie-switch-upstream-port"),
            (PCIE_SWITCH_DOWNSTREAM_PORT, "pcie-switch-downstream-port"),
            (DMI_TO_PCI_BRIDGE, "dmi-to-pci-bridge"),
            (PCIE_TO_PCI_BRIDGE, "pcie-to-pci-bridge"),
            (PCI_EXPANDER_BUS, "pci-expander-bus"),
            (PCIE_EXPANDER_BUS, "pcie-expander-bus"),
            (PCI_BRIDGE, "pci-bridge"),
        ]
        .iter()
        .find(|(f, _)| dev & f != 0)
        .map(|(_, s)| *s)
        .unwrap_or("device");
        return Err(format!(
            "The device at PCI address {} cannot be plugged into the PCI controller with index='{}'. It requires a controller that accepts a {kind}.",
            addr.bdf(),
            addr.bus
        ));
    }
    Ok(())
}

/// The buses of a domain and the slots taken on them.
#[derive(Debug, Clone)]
pub(crate) struct AddrSet {
    /// Bus N is `buses[N]`; `None` until a model is set.
    pub buses: Vec<Option<Bus>>,
    /// Grow buses when a device finds no slot (libvirt's first pass).
    dry_run: bool,
    /// Several `pci-root`s (pSeries PHBs).
    multiple_roots: bool,
}

impl AddrSet {
    /// A set of `n` buses without models.
    pub fn new(n: usize, dry_run: bool, multiple_roots: bool) -> AddrSet {
        AddrSet {
            buses: vec![None; n],
            dry_run,
            multiple_roots,
        }
    }

    /// Set the model of bus `idx`.
    pub fn set_model(&mut self, idx: u32, model: PciModel, hotplug: bool) {
        self.buses[idx as usize] = Some(Bus::new(model, hotplug));
    }

    fn bus(&self, idx: u32) -> Option<&Bus> {
        self.buses.get(idx as usize).and_then(Option::as_ref)
    }

    /// True when any function of the slot is taken.
    pub fn slot_in_use(&self, a: Addr) -> bool {
        self.bus(a.bus).is_some_and(|b| {
            b.slots
                .get(a.slot as usize)
                .is_some_and(|s| s.functions != 0)
        })
    }

    /// True when every bus has every slot taken.
    pub fn all_fully_reserved(&self) -> bool {
        self.buses.iter().flatten().all(Bus::fully_reserved)
    }

    /// Check that `a` exists and suits a device with `flags` (`virDomainPCIAddressValidate`).
    pub fn validate(&self, a: Addr, flags: u32, from_config: bool) -> Result<(), String> {
        if self.buses.is_empty() {
            return Err("No PCI buses available".into());
        }
        let Some(bus) = self.bus(a.bus) else {
            return Err(format!(
                "Invalid PCI address {}. Only PCI buses up to {} are available",
                a.bdf(),
                self.buses.len() - 1
            ));
        };
        compatible(a, bus.flags, flags, from_config)?;
        if a.slot < bus.min_slot {
            return Err(format!(
                "Invalid PCI address {}. slot must be >= {}",
                a.bdf(),
                bus.min_slot
            ));
        }
        if a.slot > bus.max_slot {
            return Err(format!(
                "Invalid PCI address {}. slot must be <= {}",
                a.bdf(),
                bus.max_slot
            ));
        }
        if a.function > 7 {
            return Err(format!(
                "Invalid PCI address {}. function must be <= 7",
                a.bdf()
            ));
        }
        Ok(())
    }

    /// Reserve one function (`virDomainPCIAddressReserveAddrInternal`). In a dry run a bus
    /// beyond the last is created first; `a` may then move (a conventional PCI device on a
    /// pure PCIe guest gets a bridge in front of it).
    pub fn reserve(&mut self, a: &mut Addr, flags: u32, from_config: bool) -> Result<(), String> {
        if self.dry_run {
            self.grow(a, flags)?;
        }
        self.validate(*a, flags, from_config)?;
        let bus = self.buses[a.bus as usize].as_mut().expect("validated");
        let slot = &mut bus.slots[a.slot as usize];
        if slot.functions & (1 << a.function) != 0 {
            return Err(format!("Attempted double use of PCI Address {}", a.bdf()));
        }
        if slot.functions == 0 && flags & AGGREGATE_SLOT != 0 {
            slot.aggregate = true;
        }
        slot.functions |= 1 << a.function;
        Ok(())
    }

    /// The first free place for a device on `bus` from `a.slot` on
    /// (`virDomainPCIAddressFindUnusedFunctionOnBus`).
    fn find_on_bus(&self, a: &mut Addr, function: Option<u32>, flags: u32) -> bool {
        let bus = self.bus(a.bus).expect("bus has a model");
        if compatible(*a, bus.flags, flags, false).is_err() {
            return false;
        }
        while a.slot <= bus.max_slot {
            let s = bus.slots[a.slot as usize];
            if s.functions == 0 {
                return true;
            }
            if flags & AGGREGATE_SLOT != 0 && s.aggregate {
                if s.functions & (1 << a.function) == 0 {
                    return true;
                }
                if function.is_none() {
                    while a.function < 8 {
                        if s.functions & (1 << a.function) == 0 {
                            return true;
                        }
                        a.function += 1;
                    }
                    a.function = 0;
                }
            }
            a.slot += 1;
        }
        false
    }

    /// Find and reserve a slot for a device (`virDomainPCIAddressReserveNextAddr`):
    /// `function` is the function it must have, `None` for any.
    pub fn reserve_next(&mut self, flags: u32, function: Option<u32>) -> Result<Addr, String> {
        if self.buses.is_empty() {
            return Err("No PCI buses available".into());
        }
        let mut a = Addr {
            bus: 0,
            slot: 0,
            function: function.unwrap_or(0),
        };
        let mut found = false;
        for b in 0..self.buses.len() as u32 {
            a.bus = b;
            a.slot = self.bus(b).map(|x| x.min_slot).unwrap_or(0);
            if self.find_on_bus(&mut a, function, flags) {
                found = true;
                break;
            }
        }
        if !found {
            if !self.dry_run {
                return Err("No more available PCI slots".into());
            }
            a.bus = self.buses.len() as u32;
            self.grow(&mut a, flags)?;
            a.slot = self.bus(a.bus).expect("grown").min_slot;
        }
        self.reserve(&mut a, flags, false)?;
        Ok(a)
    }

    /// Add buses up to `a.bus` (`virDomainPCIAddressSetGrow`), of the model a device with
    /// `flags` needs: root ports for PCI Express devices; for conventional PCI a pci-bridge,
    /// or, on a guest with no conventional PCI bus at all, a root port holding a
    /// pcie-to-pci-bridge (and `a` moves to the bridge).
    fn grow(&mut self, a: &mut Addr, flags: u32) -> Result<(), String> {
        let have = self.buses.len() as u32;
        if a.bus < have {
            return Ok(());
        }
        let mut add = a.bus - have + 1;
        let mut bridge_first = false;
        let model = if flags & PCI_DEVICE != 0 {
            if self.multiple_roots {
                PciModel::PciRoot
            } else {
                let has_pci = self
                    .buses
                    .iter()
                    .flatten()
                    .any(|b| b.flags & PCI_BRIDGE != 0);
                if !has_pci && add == 1 {
                    bridge_first = true;
                    add += 1;
                    a.bus += 1;
                }
                PciModel::PciBridge
            }
        } else if flags & (PCIE_DEVICE | PCIE_SWITCH_UPSTREAM_PORT) != 0 {
            PciModel::PcieRootPort
        } else {
            return Err(match model_of_connect(flags) {
                Some(m) => format!("a PCI slot is needed to connect a PCI controller model='{m}', but none is available, and it cannot be automatically added"),
                None => format!("Cannot automatically add a new PCI bus for a device with connect flags {flags:02x}"),
            });
        };
        let mut i = have;
        self.buses.resize(self.buses.len() + add as usize, None);
        if bridge_first {
            // The root port is only for the bridge: a spare root port added later must not
            // take it.
            let mut port = Bus::new(PciModel::PcieRootPort, true);
            port.flags = PCIE_TO_PCI_BRIDGE;
            self.buses[i as usize] = Some(port);
            self.buses[i as usize + 1] = Some(Bus::new(PciModel::PcieToPciBridge, true));
            i += 2;
        }
        while (i as usize) < self.buses.len() {
            self.set_model(i, model, true);
            i += 1;
        }
        Ok(())
    }
}

/// The controller model a connect type names, for messages.
fn model_of_connect(flags: u32) -> Option<&'static str> {
    [
        (PCIE_ROOT_PORT, "pcie-root-port"),
        (PCIE_SWITCH_UPSTREAM_PORT, "pcie-switch-upstream-port"),
        (PCIE_SWITCH_DOWNSTREAM_PORT, "pcie-switch-downstream-port"),
        (DMI_TO_PCI_BRIDGE, "dmi-to-pci-bridge"),
        (PCI_EXPANDER_BUS, "pci-expander-bus"),
        (PCIE_EXPANDER_BUS, "pcie-expander-bus"),
        (PCI_BRIDGE, "pci-bridge"),
    ]
    .iter()
    .find(|(f, _)| flags & f != 0)
    .map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PCI: u32 = PCI_DEVICE | AUTOASSIGN;
    const PCIE: u32 = PCIE_DEVICE | AUTOASSIGN;

    fn root(model: PciModel, dry_run: bool) -> AddrSet {
        let mut s = AddrSet::new(1, dry_run, false);
        s.set_model(0, model, true);
        s
    }

    #[test]
    fn a_conventional_device_on_a_pure_pcie_guest_gets_a_root_port_and_a_bridge() {
        let mut s = root(PciModel::PcieRoot, true);
        let a = s.reserve_next(PCI, None).unwrap();
        assert_eq!((a.bus, a.slot), (2, 1));
        assert_eq!(s.buses[1].as_ref().unwrap().model, PciModel::PcieRootPort);
        assert_eq!(
            s.buses[2].as_ref().unwrap().model,
            PciModel::PcieToPciBridge
        );
        // The bridge's root port takes nothing else.
        let b = s.reserve_next(PCIE, None).unwrap();
        assert_eq!(b.bus, 3);
    }

    #[test]
    fn root_ports_share_a_slot_function_by_function() {
        let mut s = root(PciModel::PcieRoot, false);
        let flags = controller_connect(PciModel::PcieRootPort);
        let got: Vec<(u32, u32)> = (0..9)
            .map(|_| {
                s.reserve_next(flags, None)
                    .map(|a| (a.slot, a.function))
                    .unwrap()
            })
            .collect();
        assert_eq!(got[0], (1, 0));
        assert_eq!(got[7], (1, 7));
        assert_eq!(got[8], (2, 0));
    }

    #[test]
    fn an_explicit_address_may_put_a_pci_device_in_a_pcie_slot() {
        let s = {
            let mut s = AddrSet::new(2, false, false);
            s.set_model(0, PciModel::PcieRoot, true);
            s.set_model(1, PciModel::PcieRootPort, true);
            s
        };
        let a = Addr {
            bus: 1,
            slot: 0,
            function: 0,
        };
        assert!(s.validate(a, PCI, true).is_ok());
        assert!(s.validate(a, PCI, false).is_err());
    }

    #[test]
    fn a_full_root_bus_gets_a_pci_bridge_in_a_dry_run() {
        let mut s = root(PciModel::PciRoot, true);
        for _ in 1..32 {
            s.reserve_next(PCI, None).unwrap();
        }
        let a = s.reserve_next(PCI, None).unwrap();
        assert_eq!((a.bus, a.slot), (1, 1));
        assert_eq!(s.buses[1].as_ref().unwrap().model, PciModel::PciBridge);
        let mut real = root(PciModel::PciRoot, false);
        for _ in 1..32 {
            real.reserve_next(PCI, None).unwrap();
        }
        assert!(real.reserve_next(PCI, None).is_err());
    }
}
