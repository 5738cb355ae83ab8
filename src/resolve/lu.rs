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
            return Err(idx.missing_host(hctl.host));
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

/// Largest target a virtio-scsi bus addresses (QEMU's `VIRTIO_SCSI_MAX_TARGET`): a whole-host
/// LU on a higher host target cannot keep its address in the guest.
pub const VIRTIO_SCSI_MAX_TARGET: u32 = 255;
/// Largest LUN a virtio-scsi bus addresses (QEMU's `VIRTIO_SCSI_MAX_LUN`).
pub const VIRTIO_SCSI_MAX_LUN: u64 = 16383;

/// One LU of a whole-host passthrough, at the guest address that keeps its target and lun.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PassthroughLu {
    /// The host LU.
    pub lu: Lu,
    /// `scsi-block` or `scsi-generic`.
    pub driver: &'static str,
    /// Guest target (`scsi-id`) = host target.
    pub target: u32,
    /// Guest lun = host lun, as QEMU numbers it ([`qemu_lun`]).
    pub lun: u64,
}

impl PassthroughLu {
    /// The node QEMU opens: `/dev/sdX` for `scsi-block`, `/dev/sgN` for `scsi-generic`.
    pub fn dev_path(&self) -> Option<String> {
        let name = if self.driver == "scsi-block" {
            self.lu.block.as_ref()
        } else {
            self.lu.sg.as_ref()
        };
        name.map(|n| format!("/dev/{n}"))
    }
}

/// The LUN a guest device must be given so that the guest sees the same LUN the host does.
///
/// Linux names a LUN by its 64-bit `scsilun_to_int` value, which for LUNs 256..16383 (SAM
/// flat-space addressing) carries the addressing method: QEMU's `lun=300` appears in the
/// guest's sysfs as `H:B:T:16684` (0x4000 | 300), as the kernel boot test shows. QEMU's
/// `lun` property takes the plain number, so the flat-space bit is taken off here.
pub fn qemu_lun(linux_lun: u64) -> u64 {
    if (0x4000..0x8000).contains(&linux_lun) {
        linux_lun & 0x3fff
    } else {
        linux_lun
    }
}

/// Every LU of host `n` (optionally on one bus/target), as a whole-host passthrough gives
/// them to the guest: with a block device as `scsi-block`, else `scsi-generic` (which needs
/// the sg node; without the sg driver that is an error naming `modprobe sg`).
pub fn whole_host(
    idx: &Index,
    host: u32,
    bus: Option<u32>,
    target: Option<u32>,
) -> Result<Vec<PassthroughLu>, ResolveError> {
    let mut out = Vec::new();
    for lu in idx.host_lus(host, bus, target) {
        if lu.block.is_none() && lu.sg.is_none() {
            lookup_lu(idx, lu.hctl)?;
        }
        out.push(PassthroughLu {
            lu: lu.clone(),
            driver: lu.passthrough(),
            target: lu.hctl.target,
            lun: qemu_lun(lu.hctl.lun),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::qemu_lun;

    #[test]
    fn flat_space_luns_lose_their_addressing_bit_for_qemu() {
        assert_eq!(qemu_lun(16684), 300);
        assert_eq!(qemu_lun(5), 5);
        assert_eq!(qemu_lun(255), 255);
        assert_eq!(qemu_lun(0x4000), 0);
        assert_eq!(qemu_lun(0x8000), 0x8000);
    }
}
