//! Host logical-unit lookup: which `/dev/sgN` serves a SCSI hostdev's host address, and which
//! LUs a whole-host passthrough controller gives the guest.
//!
//! The emitter needs only these two answers from the host, so it asks through a trait: the
//! sysfs resolver ([`HostLookup`], every adapter form, scanning sysfs once on first use)
//! implements it for `convert`, tests use [`FixedSg`], and [`SysfsSg`] reads only the one
//! directory libvirt reads (for comparing with libvirt over a fake tree).

use crate::model::{Adapter, AdapterForm};
use crate::resolve::{lookup_lu, resolve_adapter, whole_host, Hctl, Index, SysfsRoot};
use std::cell::OnceCell;
use std::path::PathBuf;

/// Finds the SCSI generic device node of a host LU.
pub trait LuLookup {
    /// The `/dev/sgN` path of LU `bus:target:unit` on the host adapter. The error text names
    /// what was looked at and what exists instead; the emitter prefixes the device.
    fn sg_path(
        &self,
        adapter: &Adapter,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Result<String, String>;

    /// Every LU of the host adapter (only those on `bus`/`target` when given), in H:B:T:L
    /// order, for a whole-host passthrough controller. Lookups that cannot enumerate a real
    /// host refuse rather than invent devices.
    fn host_lus(
        &self,
        adapter: &Adapter,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<HostLu>, String> {
        let _ = (adapter, bus, target);
        Err("whole-host passthrough lists the LUs of a real host, and this conversion has no sysfs to read them from: convert with a sysfs root (`domxml convert --sysfs-root DIR`, DIR from `domxml sysfs-snapshot`)".to_string())
    }
}

/// One host LU that a whole-host passthrough controller passes to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLu {
    /// Its host address.
    pub hctl: Hctl,
    /// `scsi-block` (the LU has a block device) or `scsi-generic`.
    pub driver: &'static str,
    /// The node QEMU opens: `/dev/sdX` for `scsi-block`, `/dev/sgN` for `scsi-generic`.
    pub path: String,
    /// `/dev/sgN`, when the LU has one (to catch a hostdev passing the same LU again).
    pub sg: Option<String>,
    /// `/dev/sdX` (or `srN`, …), when the LU has one (to catch a disk using it).
    pub block: Option<String>,
    /// The guest LUN that shows the guest the host's LUN ([`crate::resolve::qemu_lun`]).
    pub qemu_lun: u64,
}

/// The real lookup: resolves any adapter form through the sysfs index. The index is built on
/// the first hostdev, so a domain without SCSI hostdevs never reads the host.
#[derive(Debug)]
pub struct HostLookup {
    root: PathBuf,
    index: OnceCell<Result<Index, String>>,
}

impl HostLookup {
    /// Look LUs up under `root` (a directory containing `sys/`; `/` on a real host).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HostLookup {
            root: root.into(),
            index: OnceCell::new(),
        }
    }

    fn index(&self) -> Result<&Index, String> {
        self.index
            .get_or_init(|| {
                let root = SysfsRoot::at(&self.root).map_err(|e| e.to_string())?;
                Index::scan(&root).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl LuLookup for HostLookup {
    fn sg_path(
        &self,
        adapter: &Adapter,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Result<String, String> {
        let idx = self.index()?;
        let host = resolve_adapter(idx, adapter).map_err(|e| e.to_string())?;
        let lu = lookup_lu(
            idx,
            Hctl {
                host: host.number,
                bus,
                target,
                lun: unit,
            },
        )
        .map_err(|e| e.to_string())?;
        match &lu.sg {
            Some(sg) => Ok(format!("/dev/{sg}")),
            None => Err(format!(
                "LU {} has no SCSI generic device (is the sg driver loaded? try `modprobe sg`)",
                lu.hctl
            )),
        }
    }

    fn host_lus(
        &self,
        adapter: &Adapter,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<HostLu>, String> {
        let idx = self.index()?;
        let host = resolve_adapter(idx, adapter).map_err(|e| e.to_string())?;
        let lus = whole_host(idx, host.number, bus, target).map_err(|e| e.to_string())?;
        lus.iter()
            .map(|p| {
                let path = p.dev_path().ok_or_else(|| {
                    format!(
                        "LU {} has neither a block nor a SCSI generic device",
                        p.lu.hctl
                    )
                })?;
                Ok(HostLu {
                    hctl: p.lu.hctl,
                    driver: p.driver,
                    path,
                    sg: p.lu.sg.as_ref().map(|n| format!("/dev/{n}")),
                    block: p.lu.block.as_ref().map(|n| format!("/dev/{n}")),
                    qemu_lun: p.lun,
                })
            })
            .collect()
    }
}

/// Every LU is `/dev/sg0`: what libvirt's test suite mocks, so outputs compare with its
/// `.args` files.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedSg;

impl LuLookup for FixedSg {
    fn sg_path(&self, _: &Adapter, _: u32, _: u32, _: u64) -> Result<String, String> {
        Ok("/dev/sg0".to_string())
    }
}

/// Reads `ROOT/sys/bus/scsi/devices/H:B:T:U/scsi_generic/` and returns `/dev/<first entry>`,
/// as libvirt's `virSCSIDeviceGetSgName` does. Handles adapters named by host number only;
/// the other adapter forms need the full resolver.
#[derive(Debug, Clone)]
pub struct SysfsSg {
    /// The filesystem root under which `sys/` is read (`/` on a real host).
    pub root: PathBuf,
}

impl LuLookup for SysfsSg {
    fn sg_path(
        &self,
        adapter: &Adapter,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Result<String, String> {
        let form = adapter.form().map_err(|p| p.message)?;
        let AdapterForm::HostNumber(host) = form else {
            return Err(
                "this build resolves only adapters named 'scsi_hostN'; the PCI-parent and fc_host forms need the sysfs resolver"
                    .to_string(),
            );
        };
        let hbtl = format!("{host}:{bus}:{target}:{unit}");
        let dir = self
            .root
            .join("sys/bus/scsi/devices")
            .join(&hbtl)
            .join("scsi_generic");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                let parent = self.root.join("sys/bus/scsi/devices");
                let mut present: Vec<String> = std::fs::read_dir(&parent)
                    .map(|rd| {
                        rd.filter_map(|x| x.ok())
                            .map(|x| x.file_name().to_string_lossy().into_owned())
                            .filter(|n| n.starts_with(&format!("{host}:")))
                            .collect()
                    })
                    .unwrap_or_default();
                present.sort();
                let instead = if present.is_empty() {
                    format!("no LU of host {host} exists under {}", parent.display())
                } else {
                    format!("host {host} has LUs {}", present.join(", "))
                };
                return Err(format!("cannot read {}: {e}; {instead}", dir.display()));
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        match names.first() {
            Some(n) => Ok(format!("/dev/{n}")),
            None => Err(format!(
                "{} is empty: LU {hbtl} has no SCSI generic device (is the sg driver loaded?)",
                dir.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_lookup_returns_the_sg_entry_of_the_lu() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(
            t.path()
                .join("sys/bus/scsi/devices/2:0:3:1/scsi_generic/sg7"),
        )
        .unwrap();
        let l = SysfsSg {
            root: t.path().to_path_buf(),
        };
        assert_eq!(
            l.sg_path(&named("scsi_host2"), 0, 3, 1),
            Ok("/dev/sg7".to_string())
        );
    }

    #[test]
    fn sysfs_lookup_error_names_path_and_existing_lus() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(
            t.path()
                .join("sys/bus/scsi/devices/2:0:0:0/scsi_generic/sg1"),
        )
        .unwrap();
        let l = SysfsSg {
            root: t.path().to_path_buf(),
        };
        let e = l.sg_path(&named("scsi_host2"), 0, 3, 1).unwrap_err();
        assert!(e.contains("2:0:3:1/scsi_generic"), "{e}");
        assert!(e.contains("host 2 has LUs 2:0:0:0"), "{e}");
    }

    fn named(n: &str) -> Adapter {
        Adapter {
            name: Some(n.to_string()),
            ..Default::default()
        }
    }

    fn q35() -> HostLookup {
        HostLookup::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35"))
    }

    #[test]
    fn host_lookup_resolves_the_flat_form_behind_a_root_port() {
        // q35 capture: virtio-scsi at 0000:01:00.0 behind root port 0000:00:1c.0 is host6;
        // the guest reported 6:0:3:5 as sg2.
        let flat = Adapter {
            parent: Some("pci_0000_01_00_0".into()),
            unique_id: Some("0".into()),
            ..Default::default()
        };
        assert_eq!(q35().sg_path(&flat, 0, 3, 5), Ok("/dev/sg2".to_string()));
    }

    #[test]
    fn host_lookup_refuses_the_root_ports_address_and_says_why() {
        let port = Adapter {
            parent: Some("pci_0000_00_1c_0".into()),
            ..Default::default()
        };
        let e = q35().sg_path(&port, 0, 3, 5).unwrap_err();
        assert!(e.contains("0000:01:00.0"), "{e}");
    }

    #[test]
    fn host_lookup_names_the_missing_lu() {
        let e = q35().sg_path(&named("scsi_host6"), 0, 9, 9).unwrap_err();
        assert!(e.contains("6:0:9:9"), "{e}");
    }
}
