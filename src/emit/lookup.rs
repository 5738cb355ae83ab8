//! Host logical-unit lookup: which `/dev/sgN` serves a SCSI hostdev's host address.
//!
//! The emitter only needs this one answer from the host, so it asks through a trait: the real
//! sysfs resolver (module `resolve`, written separately) implements it, tests use
//! [`FixedSg`], and [`SysfsSg`] is a minimal reader of the one sysfs directory libvirt reads.

use crate::model::AdapterForm;
use std::path::PathBuf;

/// Finds the SCSI generic device node of a host LU.
pub trait LuLookup {
    /// The `/dev/sgN` path of LU `bus:target:unit` on the host adapter. The error text names
    /// what was looked at and what exists instead; the emitter prefixes the device.
    fn sg_path(
        &self,
        adapter: &AdapterForm,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Result<String, String>;
}

/// Every LU is `/dev/sg0`: what libvirt's test suite mocks, so outputs compare with its
/// `.args` files.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedSg;

impl LuLookup for FixedSg {
    fn sg_path(&self, _: &AdapterForm, _: u32, _: u32, _: u64) -> Result<String, String> {
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
        adapter: &AdapterForm,
        bus: u32,
        target: u32,
        unit: u64,
    ) -> Result<String, String> {
        let AdapterForm::HostNumber(host) = adapter else {
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
            l.sg_path(&AdapterForm::HostNumber(2), 0, 3, 1),
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
        let e = l.sg_path(&AdapterForm::HostNumber(2), 0, 3, 1).unwrap_err();
        assert!(e.contains("2:0:3:1/scsi_generic"), "{e}");
        assert!(e.contains("host 2 has LUs 2:0:0:0"), "{e}");
    }
}
