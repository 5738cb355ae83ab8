//! The guest PCI address a device ends up with, as the command line spells it.

/// One guest PCI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// Bus number (the index of the PCI controller providing the bus).
    pub bus: u32,
    /// Slot.
    pub slot: u32,
    /// Function.
    pub function: u32,
    /// `multifunction`: as written, or on for function 0 of a slot whose other functions are
    /// in use; `None` when neither.
    pub multi: Option<bool>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_is_written_only_when_nonzero() {
        let s = Slot {
            bus: 0,
            slot: 1,
            function: 2,
            multi: None,
        };
        assert_eq!(s.addr(), "0x1.0x2");
        let s = Slot {
            bus: 0,
            slot: 11,
            function: 0,
            multi: None,
        };
        assert_eq!(s.addr(), "0xb");
    }
}
