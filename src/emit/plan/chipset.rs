//! The devices a chipset puts at fixed places (`qemuDomainValidateDevicePCISlotsPIIX3` and
//! `…Q35`): PIIX3's IDE and USB functions in slot 1 and the video card in slot 2 on i440fx;
//! on q35 the ICH9 functions in slot 0x1f, the first SATA controller at 0x1f.2, USB2 at 0x1d
//! or 0x1a, a dmi-to-pci-bridge at 0x1e, the video card in slot 1 and ICH9 audio at 0x1b.

use super::pci_devices::{PciDev, Placement, Role};
use super::pci_set::{connect::*, Addr, AddrSet};
use super::Key;
use crate::diag::codes;
use crate::emit::EmitError;
use std::collections::HashMap;

/// Which chipset rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chipset {
    /// An i440fx machine (`pc`, `pc-i440fx-*`).
    Piix3,
    /// A q35 machine.
    Q35,
    /// Anything else: no fixed places.
    None,
}

/// A place the chipset gave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gift {
    pub addr: Addr,
    /// `multifunction`.
    pub multi: Option<bool>,
    /// Written into the domain even in libvirt's first (dry) pass, so the second pass sees it
    /// as explicit; a slot found by searching is only kept in the second.
    pub sticky: bool,
}

/// The places the chipset gave, by device.
pub(crate) type Given = HashMap<Key, Gift>;

fn gift(addr: Addr, multi: Option<bool>) -> Gift {
    Gift {
        addr,
        multi,
        sticky: true,
    }
}

/// The primary video card: slot `slot` on bus 0 when free, else the first free slot.
fn video(
    set: &mut AddrSet,
    v: &PciDev,
    slot: u32,
    flags: u32,
    given: &mut Given,
) -> Result<(), EmitError> {
    let a = at(slot, 0);
    set.validate(a, flags, true).map_err(|m| err(&v.what, m))?;
    if set.slot_in_use(a) {
        let found = set
            .reserve_next(v.flags, None)
            .map_err(|m| err(&v.what, m))?;
        given.insert(
            v.key,
            Gift {
                addr: found,
                multi: None,
                sticky: false,
            },
        );
    } else {
        set.reserve(&mut at(slot, 0), flags, true)
            .map_err(|m| err(&v.what, m))?;
        given.insert(v.key, gift(a, None));
    }
    Ok(())
}

fn err(what: &str, message: impl Into<String>) -> EmitError {
    EmitError::new(codes::E103, what, message)
}

/// Apply the chipset's places. `place` is each device's placement before this step; what the
/// chipset gives is returned (libvirt writes it into the domain, so a later pass sees it as
/// explicit). `legacy` keeps libvirt 5.x's habit of holding slot 2 for a video card the
/// domain does not have.
pub(crate) fn apply(
    chipset: Chipset,
    set: &mut AddrSet,
    devs: &[PciDev],
    place: &dyn Fn(&PciDev) -> Placement,
    legacy: bool,
) -> Result<Given, EmitError> {
    match chipset {
        Chipset::Piix3 => piix3(set, devs, place, legacy),
        Chipset::Q35 => q35(set, devs, place),
        Chipset::None => Ok(Given::new()),
    }
}

fn at(slot: u32, function: u32) -> Addr {
    Addr {
        bus: 0,
        slot,
        function,
    }
}

const PCI: u32 = AUTOASSIGN | PCI_DEVICE;

fn piix3(
    set: &mut AddrSet,
    devs: &[PciDev],
    place: &dyn Fn(&PciDev) -> Placement,
    legacy: bool,
) -> Result<Given, EmitError> {
    let mut given = Given::new();
    for d in devs {
        let (mut want, name) = match d.role {
            Role::Ide0 => (
                at(1, 1),
                "Primary IDE controller must have PCI address 0:0:1.1",
            ),
            Role::Piix3Usb => (
                at(1, 2),
                "PIIX3 USB controller at index 0 must have PCI address 0:0:1.2",
            ),
            _ => continue,
        };
        match place(d) {
            Placement::Fixed { addr, .. } if addr != want => return Err(err(&d.what, name)),
            Placement::Fixed { .. } => {}
            _ => {
                given.insert(d.key, gift(want, None));
            }
        }
        set.reserve(&mut want, PCI, true)
            .map_err(|m| err(&d.what, m))?;
    }
    // The ISA bridge (1.0) and the power management function (1.3).
    for f in [0, 3] {
        set.reserve(&mut at(1, f), PCI, true)
            .map_err(|m| err("/domain/devices", m))?;
    }
    let primary = devs
        .iter()
        .find(|d| d.role == Role::PrimaryVideo && d.flags != 0);
    match primary {
        Some(v) if place(v) == Placement::Wanted => video(set, v, 2, PCI, &mut given)?,
        None if legacy && !set.slot_in_use(at(2, 0)) => {
            set.reserve(&mut at(2, 0), PCI, true)
                .map_err(|m| err("/domain/devices", m))?;
        }
        _ => {}
    }
    Ok(given)
}

fn q35(
    set: &mut AddrSet,
    devs: &[PciDev],
    place: &dyn Fn(&PciDev) -> Placement,
) -> Result<Given, EmitError> {
    const PCIE: u32 = PCIE_DEVICE;
    let mut given = Given::new();
    for d in devs {
        match d.role {
            Role::Sata0 => match place(d) {
                Placement::Fixed { addr, .. } if addr != at(0x1f, 2) => {
                    return Err(err(
                        &d.what,
                        "Primary SATA controller must have PCI address 0:0:1f.2",
                    ))
                }
                Placement::Fixed { .. } => {}
                _ => {
                    given.insert(d.key, gift(at(0x1f, 2), None));
                }
            },
            Role::Uhci1 if place(d) == Placement::Wanted => {
                // Real q35 boards have their USB2 controllers at 0x1d and 0x1a.
                let slot = [0x1d, 0x1a]
                    .into_iter()
                    .find(|&s| !set.slot_in_use(at(s, 0)));
                if let Some(s) = slot {
                    set.reserve(&mut at(s, 0), PCIE, true)
                        .map_err(|m| err(&d.what, m))?;
                    given.insert(d.key, gift(at(s, 0), Some(true)));
                }
            }
            Role::DmiBridge if place(d) == Placement::Wanted && !set.slot_in_use(at(0x1e, 0)) => {
                set.reserve(&mut at(0x1e, 0), PCIE, true)
                    .map_err(|m| err(&d.what, m))?;
                given.insert(d.key, gift(at(0x1e, 0), None));
            }
            _ => {}
        }
    }
    // The LPC bridge (0x1f.0) and the SMBus controller (0x1f.3).
    for f in [0, 3] {
        set.reserve(&mut at(0x1f, f), PCIE, true)
            .map_err(|m| err("/domain/devices", m))?;
    }
    if let Some(v) = devs
        .iter()
        .find(|d| d.role == Role::PrimaryVideo && d.flags != 0)
    {
        if place(v) == Placement::Wanted {
            video(set, v, 1, PCIE, &mut given)?;
        }
    }
    // ICH9 audio is integrated at 0x1b when that slot is free.
    if !set.slot_in_use(at(0x1b, 0)) {
        let sound = devs
            .iter()
            .find(|d| d.role == Role::Ich9Sound && place(d) == Placement::Wanted);
        if let Some(s) = sound {
            set.reserve(&mut at(0x1b, 0), PCIE, true)
                .map_err(|m| err(&s.what, m))?;
            given.insert(s.key, gift(at(0x1b, 0), None));
        }
    }
    Ok(given)
}
