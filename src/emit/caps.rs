//! What a QEMU version can do, as far as the command line depends on it. The thresholds are
//! the QEMU releases in which libvirt's capability probes start succeeding; each is explained in
//! `docs/qemu-versions.md`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A QEMU release, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QemuVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
}

impl QemuVersion {
    /// A version.
    pub const fn new(major: u32, minor: u32) -> Self {
        QemuVersion { major, minor }
    }

    /// The QEMU installed on the reference machine, used when `--qemu-version` is not given.
    pub const DEFAULT: QemuVersion = QemuVersion::new(7, 2);

    /// `-blockdev` for disks and SCSI hostdevs (libvirt's `QEMU_CAPS_BLOCKDEV` and
    /// `QEMU_CAPS_BLOCKDEV_HOSTDEV_SCSI`, both enabled from QEMU 4.2).
    pub const BLOCKDEV: QemuVersion = QemuVersion::new(4, 2);

    /// JSON `-object` (`QEMU_CAPS_OBJECT_QAPIFIED`: `object-add` is QAPI-typed from 6.0).
    pub const OBJECT_JSON: QemuVersion = QemuVersion::new(6, 0);

    /// JSON `-device` (`QEMU_CAPS_DEVICE_JSON`: the `json-cli-hotplug` feature of `device_add`,
    /// added in QEMU 7.0).
    pub const DEVICE_JSON: QemuVersion = QemuVersion::new(7, 0);

    /// virtio-blk lost SCSI passthrough (`scsi=on`) in QEMU 9.1.
    pub const NO_VIRTIO_BLK_SCSI: QemuVersion = QemuVersion::new(9, 1);

    /// `scsi-block` gained `migrate-pr` (persistent-reservation migration) in QEMU 11.0: QEMU
    /// adds it with `hw_compat_10_2` setting it off for older machine types.
    pub const MIGRATE_PR: QemuVersion = QemuVersion::new(11, 0);

    /// virtio-scsi appeared in QEMU 1.1.
    pub const VIRTIO_SCSI: QemuVersion = QemuVersion::new(1, 1);

    /// `-accel` replaced `-machine accel=` in libvirt's command lines together with the move to
    /// `-blockdev` era QEMUs; older versions get `accel=` on `-machine`.
    pub const ACCEL_OPTION: QemuVersion = QemuVersion::new(4, 2);
}

impl FromStr for QemuVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut it = s.trim().split('.');
        let bad = || format!("'{s}' is not a QEMU version; write MAJOR.MINOR such as 7.2");
        let major = it.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        let minor = match it.next() {
            Some(m) => m.parse().map_err(|_| bad())?,
            None => 0,
        };
        if let Some(micro) = it.next() {
            micro.parse::<u32>().map_err(|_| bad())?;
        }
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(QemuVersion { major, minor })
    }
}

impl fmt::Display for QemuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The capabilities the emitter consults: a version plus devices explicitly removed (the way
/// libvirt's test harness strips capabilities, e.g. to reproduce
/// `controller-scsi-default-unavailable`, or to describe a distribution build without `lsi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// The QEMU version.
    pub version: QemuVersion,
    /// QEMU device names this build lacks (`lsi`, `virtio-scsi`, …).
    pub without: BTreeSet<String>,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            version: QemuVersion::DEFAULT,
            without: BTreeSet::new(),
        }
    }
}

impl Caps {
    /// Capabilities of one version.
    pub fn of(version: QemuVersion) -> Self {
        Caps {
            version,
            without: BTreeSet::new(),
        }
    }

    /// True when `-blockdev` is used.
    pub fn blockdev(&self) -> bool {
        self.version >= QemuVersion::BLOCKDEV
    }

    /// True when `-device` takes JSON.
    pub fn device_json(&self) -> bool {
        self.version >= QemuVersion::DEVICE_JSON
    }

    /// True when `-object` takes JSON.
    pub fn object_json(&self) -> bool {
        self.version >= QemuVersion::OBJECT_JSON
    }

    /// True when the build has a device (by the name libvirt probes: `lsi`, `virtio-scsi`).
    pub fn has(&self, device: &str) -> bool {
        if self.without.contains(device) {
            return false;
        }
        match device {
            "virtio-scsi" => self.version >= QemuVersion::VIRTIO_SCSI,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_optional_micro() {
        assert_eq!("7.2".parse::<QemuVersion>(), Ok(QemuVersion::new(7, 2)));
        assert_eq!("9.0.0".parse::<QemuVersion>(), Ok(QemuVersion::new(9, 0)));
        assert_eq!("8".parse::<QemuVersion>(), Ok(QemuVersion::new(8, 0)));
        assert!("seven".parse::<QemuVersion>().is_err());
        assert!("1.2.3.4".parse::<QemuVersion>().is_err());
    }

    #[test]
    fn json_device_syntax_starts_at_7_0() {
        assert!(!Caps::of(QemuVersion::new(6, 2)).device_json());
        assert!(Caps::of(QemuVersion::new(7, 0)).device_json());
    }
}
