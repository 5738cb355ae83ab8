//! Logical units: one LU by `host:bus:target:unit`, or every LU of a host for whole-host
//! passthrough.

use super::error::ResolveError;
use super::index::{list_or_none, Index, Lu};
use super::sysfs::Hctl;

/// The LU at `hctl`, which must have an sg node (QEMU's `scsi-generic` needs `/dev/sgN`).
///
/// A missing sg node is told apart from a missing LU: when no `scsi_generic` directory exists
/// anywhere the sg driver is not loaded and the fix is `modprobe sg`, not a different address.
pub fn lookup_lu(idx: &Index, hctl: Hctl) -> Result<&Lu, ResolveError> {
    let path = |suffix: &str| {
        let root = if idx.root == "/" {
            ""
        } else {
            idx.root.as_str()
        };
        format!("{root}/sys/bus/scsi/devices/{hctl}{suffix}")
    };
    let Some(lu) = idx.lu(hctl) else {
        if idx.host(hctl.host).is_none() {
            return Err(ResolveError::NoSuchHost {
                host: hctl.host,
                path: {
                    let root = if idx.root == "/" {
                        ""
                    } else {
                        idx.root.as_str()
                    };
                    format!("{root}/sys/class/scsi_host/host{}", hctl.host)
                },
                present: idx.host_list(),
            });
        }
        return Err(ResolveError::NoSuchLu {
            hctl: hctl.to_string(),
            host: hctl.host,
            path: path(""),
            present: list_or_none(
                idx.host_lus(hctl.host, None, None)
                    .iter()
                    .map(|l| l.hctl.to_string()),
            ),
        });
    };
    if lu.sg.is_none() {
        return Err(if idx.sg_driver_loaded {
            ResolveError::NoSgNode {
                hctl: hctl.to_string(),
                path: path("/scsi_generic"),
            }
        } else {
            ResolveError::SgDriverMissing {
                hctl: hctl.to_string(),
                root: if idx.root == "/" {
                    String::new()
                } else {
                    idx.root.clone()
                },
            }
        });
    }
    Ok(lu)
}

/// One LU of a whole-host passthrough, at the guest address that keeps its target and lun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassthroughLu<'i> {
    /// The host LU.
    pub lu: &'i Lu,
    /// `scsi-block` or `scsi-generic`.
    pub driver: &'static str,
    /// Guest target (`scsi-id`) = host target.
    pub target: u32,
    /// Guest lun = host lun.
    pub lun: u64,
}

/// Every LU of host `n` (optionally on one bus/target), as a whole-host passthrough gives
/// them to the guest: with a block device as `scsi-block`, else `scsi-generic` (which needs
/// the sg node; without the sg driver that is an error naming `modprobe sg`).
pub fn whole_host(
    idx: &Index,
    host: u32,
    bus: Option<u32>,
    target: Option<u32>,
) -> Result<Vec<PassthroughLu<'_>>, ResolveError> {
    let mut out = Vec::new();
    for lu in idx.host_lus(host, bus, target) {
        if lu.block.is_none() && lu.sg.is_none() {
            lookup_lu(idx, lu.hctl)?;
        }
        out.push(PassthroughLu {
            lu,
            driver: lu.passthrough(),
            target: lu.hctl.target,
            lun: lu.hctl.lun,
        });
    }
    Ok(out)
}
