//! Which devices the applier manages, and what identifies each across two definitions.
//!
//! Managed: SCSI controllers (whole-host ones included), disks on a SCSI bus and every
//! `device='lun'` disk, SCSI / vhost-scsi / PCI hostdevs. Everything else is never touched.
//!
//! Identity: a disk by its target name, a controller by type and index, a SCSI hostdev by its
//! host LU's stable identity (wwid or VPD page 0x83, when resolved against a host) or else by
//! its adapter and address as written, a PCI hostdev by its host address, a vhost-scsi hostdev
//! by its WWPN, an iSCSI hostdev by its target name.

use crate::model::{
    AdapterForm, ControllerType, Device, DiskBus, DiskDevice, Domain, Hostdev,
    HostdevSourceProtocol, HostdevType,
};
use crate::resolve::{Identity, Resolution, ResolvedDomain};
use serde::Serialize;
use std::fmt;

/// What identifies one managed device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviceKey {
    /// `<controller type='scsi' index='N'>`.
    Controller {
        /// The index.
        index: u32,
    },
    /// A disk on a SCSI bus, or a lun disk, by its target name.
    Disk {
        /// `<target dev>`.
        target: String,
    },
    /// A SCSI hostdev by its host LU: `wwid …` / `vpd83 …` when resolved, else the adapter
    /// and address as written (`scsi_host3 0:0:1`, `pci_0000_01_00_0/0 0:0:1`).
    ScsiLu {
        /// The identity.
        identity: String,
    },
    /// An iSCSI hostdev by its target name (`iqn…/LUN`).
    Iscsi {
        /// `<source name>`.
        name: String,
    },
    /// A vhost-scsi hostdev by its WWPN.
    Vhost {
        /// `<source wwpn>`.
        wwpn: String,
    },
    /// A PCI hostdev by its host address.
    Pci {
        /// `dddd:bb:ss.f`.
        host: String,
    },
}

impl DeviceKey {
    /// True for controllers (attached first, detached last).
    pub fn is_controller(&self) -> bool {
        matches!(self, DeviceKey::Controller { .. })
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceKey::Controller { index } => write!(f, "controller scsi[{index}]"),
            DeviceKey::Disk { target } => write!(f, "disk {target}"),
            DeviceKey::ScsiLu { identity } => write!(f, "hostdev scsi ({identity})"),
            DeviceKey::Iscsi { name } => write!(f, "hostdev iscsi ({name})"),
            DeviceKey::Vhost { wwpn } => write!(f, "hostdev vhost-scsi ({wwpn})"),
            DeviceKey::Pci { host } => write!(f, "hostdev pci ({host})"),
        }
    }
}

/// Why a managed device has no identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A managed device lacks what identifies it.
    #[error("{path}: {what}")]
    Missing {
        /// The element path.
        path: String,
        /// What is missing.
        what: &'static str,
    },
    /// Two devices of one definition have the same identity.
    #[error("{path}: {key} appears twice in the definition (also at {other})")]
    Duplicate {
        /// The second device's path.
        path: String,
        /// The first device's path.
        other: String,
        /// The identity.
        key: String,
    },
}

/// True when the applier manages this device.
pub fn is_managed(d: &Device) -> bool {
    match d {
        Device::Controller(c) => c.kind == ControllerType::Scsi,
        Device::Disk(x) => x.device() == DiskDevice::Lun || x.bus() == Some(DiskBus::Scsi),
        Device::Hostdev(h) => matches!(
            h.kind,
            HostdevType::Scsi | HostdevType::ScsiHost | HostdevType::Pci
        ),
        _ => false,
    }
}

/// The written form of an adapter for an identity (`scsi_host3`, `pci_0000_01_00_0/0`,
/// `fc 2000…/1000…`), or the raw description when it does not parse.
pub fn adapter_identity(a: &crate::model::Adapter) -> String {
    match a.form() {
        Ok(AdapterForm::HostNumber(n)) => format!("scsi_host{n}"),
        Ok(AdapterForm::ByParent { pci, unique_id }) => format!(
            "pci_{:04x}_{:02x}_{:02x}_{:x}/{}",
            pci.domain,
            pci.bus,
            pci.slot,
            pci.function,
            unique_id.map_or("min".to_string(), |u| u.to_string())
        ),
        Ok(AdapterForm::FcHost { wwnn, wwpn }) => format!("fc {wwnn}/{wwpn}"),
        Err(_) => crate::resolve::adapter::describe(a),
    }
}

/// The stable identity of a resolved LU, when it has one that survives a reboot.
pub fn stable_lu_identity(r: Option<&Resolution>) -> Option<String> {
    match r? {
        Resolution::Lu { lu } => match &lu.identity {
            Identity::Wwid(_) | Identity::VpdPg83(_) => Some(lu.identity.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn hostdev_key(
    h: &Hostdev,
    resolution: Option<&Resolution>,
    path: &str,
) -> Result<DeviceKey, KeyError> {
    let missing = |what| KeyError::Missing {
        path: path.to_string(),
        what,
    };
    let src = h.source.as_ref().ok_or_else(|| missing("no <source>"))?;
    match h.kind {
        HostdevType::Pci => {
            let a = src
                .pci_address
                .as_ref()
                .ok_or_else(|| missing("a PCI hostdev needs <source><address>"))?;
            Ok(DeviceKey::Pci { host: a.to_bdf() })
        }
        HostdevType::ScsiHost => Ok(DeviceKey::Vhost {
            wwpn: src
                .wwpn
                .clone()
                .ok_or_else(|| missing("a vhost-scsi hostdev needs <source wwpn>"))?,
        }),
        _ => {
            if h.scsi_protocol() == Some(HostdevSourceProtocol::Iscsi) {
                return Ok(DeviceKey::Iscsi {
                    name: src
                        .name
                        .clone()
                        .ok_or_else(|| missing("an iSCSI hostdev needs <source name>"))?,
                });
            }
            if let Some(identity) = stable_lu_identity(resolution) {
                return Ok(DeviceKey::ScsiLu { identity });
            }
            let a = src
                .adapter
                .as_ref()
                .ok_or_else(|| missing("a SCSI hostdev needs <source><adapter>"))?;
            let addr = src.scsi_address.as_ref();
            let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
            Ok(DeviceKey::ScsiLu {
                identity: format!(
                    "{} {}:{}:{}",
                    adapter_identity(a),
                    n(addr.and_then(|a| a.bus).map(u64::from)),
                    n(addr.and_then(|a| a.target).map(u64::from)),
                    n(addr.and_then(|a| a.unit)),
                ),
            })
        }
    }
}

/// The identity of one managed device (`None` when the device is not managed).
pub fn key_of(
    d: &Device,
    resolution: Option<&Resolution>,
    path: &str,
) -> Option<Result<DeviceKey, KeyError>> {
    if !is_managed(d) {
        return None;
    }
    Some(match d {
        Device::Controller(c) => Ok(DeviceKey::Controller { index: c.idx() }),
        Device::Disk(x) => x
            .dev()
            .map(|t| DeviceKey::Disk {
                target: t.to_string(),
            })
            .ok_or(KeyError::Missing {
                path: path.to_string(),
                what: "a disk needs <target dev>",
            }),
        Device::Hostdev(h) => hostdev_key(h, resolution, path),
        _ => return None,
    })
}

/// One managed device of a definition with its identity.
#[derive(Debug, Clone)]
pub struct Managed {
    /// Its identity.
    pub key: DeviceKey,
    /// Position in `devices.items`.
    pub item: usize,
    /// Element path.
    pub path: String,
    /// The device.
    pub device: Device,
}

/// Every managed device of a domain, in document order, each with its identity; hostdevs are
/// keyed by their resolved LU when `resolved` (of this same domain) has one.
pub fn managed(d: &Domain, resolved: Option<&ResolvedDomain>) -> Result<Vec<Managed>, KeyError> {
    managed_ids(d, resolved, None)
}

/// Like [`managed`], with SCSI hostdevs at the positions in `ids` identified by the stable
/// identity given there (from domxml's metadata, or from resolving the stable form).
pub fn managed_ids(
    d: &Domain,
    resolved: Option<&ResolvedDomain>,
    ids: Option<&std::collections::BTreeMap<usize, String>>,
) -> Result<Vec<Managed>, KeyError> {
    let paths = crate::model::DevicePaths::of(&d.devices);
    let mut out: Vec<Managed> = Vec::new();
    let mut seen: std::collections::HashMap<DeviceKey, String> = Default::default();
    for (i, dev) in d.devices.items.iter().enumerate() {
        let r = resolved.and_then(|r| r.device(i)).map(|rd| &rd.resolution);
        let Some(key) = key_of(dev, r, &paths[i]) else {
            continue;
        };
        let mut key = key?;
        if let (DeviceKey::ScsiLu { .. }, Some(id)) = (&key, ids.and_then(|m| m.get(&i))) {
            key = DeviceKey::ScsiLu {
                identity: id.clone(),
            };
        }
        if let Some(other) = seen.get(&key) {
            return Err(KeyError::Duplicate {
                path: paths[i].to_string(),
                other: other.clone(),
                key: key.to_string(),
            });
        }
        seen.insert(key.clone(), paths[i].to_string());
        out.push(Managed {
            key,
            item: i,
            path: paths[i].to_string(),
            device: dev.clone(),
        });
    }
    Ok(out)
}

/// The guest controller index a managed device sits on (explicit drive address, else the
/// one its target name derives, else 0), `None` for controllers and PCI/vhost hostdevs.
pub fn controller_of(d: &Device) -> Option<u32> {
    let addr = match d {
        Device::Disk(x) => x.address.as_ref(),
        Device::Hostdev(h) if h.kind == HostdevType::Scsi => h.address.as_ref(),
        _ => return None,
    };
    if let Some(a) = addr.and_then(|a| a.as_drive()) {
        return Some(a.controller.unwrap_or(0));
    }
    if let Device::Disk(x) = d {
        let name = crate::assign::parse_disk_name(x.dev()?).ok()?;
        return crate::assign::drive_address_for_index(DiskBus::Scsi, name.index)
            .and_then(|a| a.controller);
    }
    Some(0)
}
