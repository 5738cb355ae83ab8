//! Stable adapters for libvirt: libvirt accepts a SCSI hostdev only as
//! `<adapter name='scsi_hostN'/>` and knows nothing of whole-host controllers, so before the
//! desired definition meets libvirt every stable form (the flat `parent`/`unique_id`,
//! `<parentaddr>`, `fc_host` WWNs, a whole-host controller) is resolved through sysfs into
//! today's host numbers: a hostdev gets `name='scsi_hostN'`, a whole-host controller becomes
//! a plain controller and one explicit hostdev per host LU ([`realize`]).
//!
//! What each resolved device stood for is recorded in the domain's `<metadata>` under the
//! domxml namespace ([`NAMESPACE`]): the device libvirt holds, the LU's stable identity and
//! the stable form. The next plan reads it back ([`identities`]), so devices are compared by
//! their LU's identity, not today's host numbers: a renumbered host plans nothing, or exactly
//! the re-attach that points the definition at the new number.

use super::key::{adapter_identity, key_of, stable_lu_identity};
use crate::model::{
    Adapter, Controller, Device, DeviceAddress, Domain, DriveAddress, Hostdev, HostdevSource,
    HostdevType, ScsiSourceAddress,
};
use crate::resolve::{Index, Resolution};
use crate::xml::{Element, Node};
use std::collections::BTreeMap;

/// The XML namespace of domxml's metadata.
pub const NAMESPACE: &str = "https://domxml.invalid/ns/apply/1";
/// The prefix (libvirt's metadata key).
pub const PREFIX: &str = "domxml";

/// One device made from a stable form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// The identity libvirt's device has in a plan without metadata
    /// (`hostdev scsi (scsi_host6 0:0:1)`).
    pub realized: String,
    /// The LU's stable identity (`wwid …`), or the stable adapter and address.
    pub identity: String,
    /// The stable form as written (`pci_0000_01_00_0/0 0:0:1`, or the whole-host
    /// controller's adapter).
    pub stable: String,
}

/// A definition ready for libvirt.
#[derive(Debug, Clone)]
pub struct Realized {
    /// The domain with every stable form resolved.
    pub domain: Domain,
    /// Stable identities by device position in `domain.devices.items`.
    pub ids: BTreeMap<usize, String>,
    /// What to record in the metadata.
    pub records: Vec<Record>,
}

/// Why a definition cannot be made ready for libvirt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RealizeError {
    /// A stable form needs the host's sysfs.
    #[error("{path} names its SCSI host by a stable form ({adapter}); resolving it needs the host's sysfs: pass --sysfs-root DIR (the host itself is /)")]
    NeedsHost {
        /// The device's path.
        path: String,
        /// The adapter as written.
        adapter: String,
    },
    /// The device did not resolve on this host.
    #[error("{path} ({adapter}) does not resolve on this host: {reason}")]
    Unresolved {
        /// The device's path.
        path: String,
        /// The adapter as written.
        adapter: String,
        /// Why.
        reason: String,
    },
}

fn named(a: &Adapter) -> bool {
    a.name.is_some()
}

fn hostdev_for(host: u32, bus: u32, target: u32, lun: u64) -> Hostdev {
    let mut h = Hostdev::new(HostdevType::Scsi);
    h.source = Some(HostdevSource {
        adapter: Some(Adapter {
            name: Some(format!("scsi_host{host}")),
            ..Default::default()
        }),
        scsi_address: Some(ScsiSourceAddress {
            bus: Some(bus),
            target: Some(target),
            unit: Some(lun),
            extra: Default::default(),
        }),
        ..Default::default()
    });
    h
}

fn written_key(d: &Device) -> String {
    key_of(d, None, "")
        .and_then(Result::ok)
        .map(|k| k.to_string())
        .unwrap_or_default()
}

/// Resolve every stable form of `d` against the host (`idx`; `None`: no host, which is fine
/// as long as nothing needs one).
pub fn realize(d: &Domain, idx: Option<&Index>) -> Result<Realized, RealizeError> {
    let def = crate::Definition::Domain(Box::new(d.clone()));
    let resolved = idx.map(|i| crate::resolve::resolve_with_index(&def, i));
    let paths = crate::model::DevicePaths::of(&d.devices);
    let mut out = d.clone();
    out.devices.items.clear();
    let mut ids = BTreeMap::new();
    let mut records = Vec::new();
    for (i, dev) in d.devices.items.iter().enumerate() {
        let r = resolved
            .as_ref()
            .and_then(|r| r.device(i))
            .map(|x| &x.resolution);
        let adapter = match dev {
            Device::Hostdev(h) => h.source.as_ref().and_then(|s| s.adapter.as_ref()),
            Device::Controller(c) => c.source.as_ref().and_then(|s| s.adapter.as_ref()),
            _ => None,
        };
        let stable = adapter.is_some_and(|a| !named(a))
            || matches!(dev, Device::Controller(c) if c.source.is_some());
        let unresolved = |reason: String| RealizeError::Unresolved {
            path: paths[i].to_string(),
            adapter: adapter.map(adapter_identity).unwrap_or_default(),
            reason,
        };
        if stable && idx.is_none() {
            return Err(RealizeError::NeedsHost {
                path: paths[i].to_string(),
                adapter: adapter.map(adapter_identity).unwrap_or_default(),
            });
        }
        if let Some(Resolution::Failed { error, .. }) = r {
            if stable {
                return Err(unresolved(crate::resolve::error::chain(error)));
            }
        }
        match (dev, r) {
            (Device::Hostdev(h), Some(Resolution::Lu { lu })) if stable => {
                let mut h = h.clone();
                if let Some(src) = h.source.as_mut() {
                    let written = adapter_identity(src.adapter.as_ref().expect("stable"));
                    src.adapter = Some(Adapter {
                        name: Some(format!("scsi_host{}", lu.hctl.host)),
                        ..Default::default()
                    });
                    let dev = Device::Hostdev(h);
                    let identity = stable_lu_identity(r).unwrap_or_else(|| {
                        format!(
                            "{written} {}:{}:{}",
                            lu.hctl.bus, lu.hctl.target, lu.hctl.lun
                        )
                    });
                    records.push(Record {
                        realized: written_key(&dev),
                        identity: identity.clone(),
                        stable: written,
                    });
                    ids.insert(out.devices.items.len(), identity);
                    out.devices.items.push(dev);
                }
            }
            (Device::Controller(c), Some(Resolution::Host { host, lus, .. })) => {
                let written = adapter.map(adapter_identity).unwrap_or_default();
                let mut plain: Controller = (**c).clone();
                plain.source = None;
                out.devices.items.push(Device::Controller(Box::new(plain)));
                for p in lus {
                    let mut h = hostdev_for(*host, p.lu.hctl.bus, p.lu.hctl.target, p.lu.hctl.lun);
                    h.address = Some(DeviceAddress::Drive(
                        DriveAddress {
                            controller: Some(c.idx()),
                            bus: Some(0),
                            target: Some(p.target),
                            unit: u32::try_from(p.lun).ok(),
                        },
                        Default::default(),
                    ));
                    let dev = Device::Hostdev(Box::new(h));
                    let lr = Resolution::Lu { lu: p.lu.clone() };
                    let identity = stable_lu_identity(Some(&lr)).unwrap_or_else(|| {
                        format!(
                            "{written} {}:{}:{}",
                            p.lu.hctl.bus, p.lu.hctl.target, p.lu.hctl.lun
                        )
                    });
                    records.push(Record {
                        realized: written_key(&dev),
                        identity: identity.clone(),
                        stable: format!("{written} (whole host, controller {})", c.idx()),
                    });
                    ids.insert(out.devices.items.len(), identity);
                    out.devices.items.push(dev);
                }
            }
            (_, r) => {
                if let Some(id) = stable_lu_identity(r) {
                    ids.insert(out.devices.items.len(), id);
                }
                out.devices.items.push(dev.clone());
            }
        }
    }
    Ok(Realized {
        domain: out,
        ids,
        records,
    })
}

/// The metadata element (`<domxml:apply xmlns:domxml=…>`) holding the records.
pub fn metadata_element(records: &[Record]) -> Element {
    let mut el =
        Element::new(format!("{PREFIX}:apply")).with_attr(format!("xmlns:{PREFIX}"), NAMESPACE);
    for r in records {
        el.push(
            Element::new(format!("{PREFIX}:device"))
                .with_attr("realized", r.realized.clone())
                .with_attr("identity", r.identity.clone())
                .with_attr("stable", r.stable.clone()),
        );
    }
    el
}

/// The body `virDomainSetMetadata` takes (libvirt adds the prefix and namespace).
pub fn metadata_body(records: &[Record]) -> String {
    let mut el = Element::new("apply");
    for r in records {
        el.push(
            Element::new("device")
                .with_attr("realized", r.realized.clone())
                .with_attr("identity", r.identity.clone())
                .with_attr("stable", r.stable.clone()),
        );
    }
    crate::xml::write_element(&el)
}

/// The domain with the records in its `<metadata>` (replacing earlier ones).
pub fn with_metadata(d: &Domain, records: &[Record]) -> Domain {
    let mut d = d.clone();
    let apply = metadata_element(records);
    match d.other.iter_mut().find(|e| e.name == "metadata") {
        Some(m) => {
            m.children
                .retain(|n| !matches!(n, Node::Element(e) if is_ours(e)));
            m.push(apply);
        }
        None => d.other.push(Element::new("metadata").with_child(apply)),
    }
    d
}

fn is_ours(e: &Element) -> bool {
    e.name.ends_with(":apply")
        && e.attrs
            .iter()
            .any(|a| a.name.starts_with("xmlns:") && a.value == NAMESPACE)
}

/// The records in a domain's `<metadata>`.
pub fn records(d: &Domain) -> Vec<Record> {
    let Some(m) = d.other.iter().find(|e| e.name == "metadata") else {
        return Vec::new();
    };
    m.elements()
        .filter(|e| is_ours(e))
        .flat_map(|e| e.elements())
        .filter(|e| e.name.ends_with(":device"))
        .filter_map(|e| {
            Some(Record {
                realized: e.attr("realized")?.to_string(),
                identity: e.attr("identity")?.to_string(),
                stable: e.attr("stable").unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// Stable identities of a current definition's devices, from its metadata: the device libvirt
/// holds is matched by its identity as written.
pub fn identities(d: &Domain) -> BTreeMap<usize, String> {
    let recs = records(d);
    let mut out = BTreeMap::new();
    for (i, dev) in d.devices.items.iter().enumerate() {
        let k = written_key(dev);
        if k.is_empty() {
            continue;
        }
        if let Some(r) = recs.iter().find(|r| r.realized == k) {
            out.insert(i, r.identity.clone());
        }
    }
    out
}
