//! Controller indexes and order as libvirt holds them after parsing: `index` is optional in
//! the XML, and a controller written without one gets the lowest index its type does not use
//! yet (`virDomainAssignControllerIndexes`), in libvirt's list order, after the explicit ones
//! and after the SCSI controllers a SCSI hostdev makes libvirt add while the document is still
//! being parsed.
//!
//! The list order is `virDomainControllerInsertPreAlloced`'s: controllers of one type stay
//! together, sorted by index; one without an index goes after the last of its type.

use crate::model::{Controller, ControllerType, DeviceAddress, Domain, HostdevType};
use std::collections::{BTreeSet, HashMap};

/// The controllers of a domain with their effective indexes, in libvirt's list order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControllerIndexes {
    /// Item positions of the defined controllers, in libvirt's list order.
    pub order: Vec<usize>,
    /// Item position → effective index.
    index: HashMap<usize, u32>,
}

impl ControllerIndexes {
    /// Resolve the indexes of a domain's controllers.
    pub fn of(d: &Domain) -> ControllerIndexes {
        // The list as parsing builds it.
        let mut list: Vec<(usize, &Controller)> = Vec::new();
        for (i, c) in d.devices.controllers() {
            let pos = insert_position(&list, c);
            list.insert(pos, (i, c));
        }
        let mut used: HashMap<ControllerType, BTreeSet<u32>> = HashMap::new();
        for (_, c) in &list {
            if let Some(x) = c.index {
                used.entry(c.kind).or_default().insert(x);
            }
        }
        // SCSI hostdevs add the SCSI controllers up to theirs while being parsed, before any
        // index is assigned: a controller without an index cannot be one of those.
        // Held as a floor (every SCSI index below it is taken), never as a set of the indices
        // themselves: a hostdev on controller 4294967295 must not cost four billion entries.
        let mut highest: Option<u32> = None;
        for (_, h) in d.devices.hostdevs() {
            if h.kind != HostdevType::Scsi {
                continue;
            }
            let c = match &h.address {
                Some(DeviceAddress::Drive(a, _)) => a.tuple().0,
                _ => 0,
            };
            if highest.is_none_or(|m| c > m) {
                highest = Some(c);
            }
        }
        let scsi_floor = highest.map_or(0, |h| h.saturating_add(1));
        let mut index = HashMap::new();
        for (pos, (i, c)) in list.iter().enumerate() {
            let idx = match c.index {
                Some(x) => x,
                None => {
                    let set = used.entry(c.kind).or_default();
                    let floor = if c.kind == ControllerType::Scsi {
                        scsi_floor
                    } else {
                        0
                    };
                    // Each step past `floor` skips an index in `set`: the search costs at most
                    // the number of controllers, whatever the values.
                    let x = usb2_companion_index(&list, pos, &index).unwrap_or_else(|| {
                        (floor..=u32::MAX)
                            .find(|x| !set.contains(x))
                            .unwrap_or(floor)
                    });
                    set.insert(x);
                    x
                }
            };
            index.insert(*i, idx);
        }
        ControllerIndexes {
            order: list.iter().map(|(i, _)| *i).collect(),
            index,
        }
    }

    /// The effective index of the controller at item `i`.
    pub fn get(&self, i: usize) -> u32 {
        self.index.get(&i).copied().unwrap_or(0)
    }
}

/// Where libvirt inserts a controller into its list.
fn insert_position(list: &[(usize, &Controller)], c: &Controller) -> usize {
    let mut at: Option<usize> = None;
    for (pos, (_, cur)) in list.iter().enumerate().rev() {
        if cur.kind != c.kind {
            continue;
        }
        let Some(new) = c.index else {
            // No index yet: right after the last controller of its type.
            return pos + 1;
        };
        match cur.index {
            Some(old) if old > new => at = Some(pos),
            _ if at.is_none() => at = Some(pos + 1),
            _ => {}
        }
    }
    at.unwrap_or(list.len())
}

/// USB2 companion controllers: one without an index joins the USB2 controller just before it
/// in the list, unless that index already has one of its model.
fn usb2_companion_index(
    list: &[(usize, &Controller)],
    pos: usize,
    assigned: &HashMap<usize, u32>,
) -> Option<u32> {
    let c = list[pos].1;
    if c.kind != ControllerType::Usb || !is_usb2(c) {
        return None;
    }
    let (prev_item, prev) = list[..pos]
        .iter()
        .rev()
        .find(|(_, x)| x.kind == ControllerType::Usb)?;
    if !is_usb2(prev) {
        return None;
    }
    let idx = assigned.get(prev_item).copied().or(prev.index)?;
    let taken = list.iter().any(|(i, x)| {
        x.kind == ControllerType::Usb
            && x.model_name() == c.model_name()
            && assigned.get(i).copied().or(x.index) == Some(idx)
    });
    (!taken).then_some(idx)
}

/// `ich9-ehci1` and its UHCI companions.
pub(crate) fn is_usb2(c: &Controller) -> bool {
    matches!(
        c.model_name(),
        Some("ich9-ehci1" | "ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(devices: &str) -> Domain {
        let xml =
            format!("<domain type='qemu'><name>t</name><devices>{devices}</devices></domain>");
        match crate::codec::parse_str(&xml).unwrap().definition {
            crate::model::Definition::Domain(d) => *d,
            _ => unreachable!(),
        }
    }

    #[test]
    fn controllers_without_index_take_the_lowest_free_ones_in_list_order() {
        let d = domain(
            "<controller type='scsi' index='1' model='virtio-scsi'/>\
             <controller type='scsi' model='lsilogic'/>\
             <controller type='scsi' model='vmpvscsi'/>",
        );
        let ix = ControllerIndexes::of(&d);
        assert_eq!((ix.get(0), ix.get(1), ix.get(2)), (1, 0, 2));
        // The index-less ones stay after the last SCSI controller, in document order.
        assert_eq!(ix.order, vec![0, 1, 2]);
    }

    #[test]
    fn explicit_indexes_are_sorted_within_their_type() {
        let d = domain(
            "<controller type='scsi' index='2'/><controller type='usb' index='0'/>\
             <controller type='scsi' index='0'/>",
        );
        assert_eq!(ControllerIndexes::of(&d).order, vec![2, 0, 1]);
    }

    #[test]
    fn a_scsi_hostdev_takes_its_controllers_before_indexes_are_assigned() {
        let d = domain(
            "<controller type='scsi' model='virtio-scsi'/>\
             <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>\
             <address bus='0' target='0' unit='0'/></source>\
             <address type='drive' controller='1' bus='0' target='0' unit='0'/></hostdev>",
        );
        assert_eq!(ControllerIndexes::of(&d).get(0), 2);
    }

    #[test]
    fn usb2_companions_share_the_index_of_the_controller_before_them() {
        let d = domain(
            "<controller type='usb' model='ich9-ehci1'/><controller type='usb' model='ich9-uhci1'/>\
             <controller type='usb' model='ich9-ehci1'/>",
        );
        let ix = ControllerIndexes::of(&d);
        assert_eq!((ix.get(0), ix.get(1), ix.get(2)), (0, 0, 1));
    }
}
