//! `<disk>`.

use super::{xml_enum, Boot, ChildExtra, DeviceAddress, Extra, OnOff, YesNo};

xml_enum! {
    /// `<disk type=…>`.
    pub enum DiskType { File = "file", Block = "block", Network = "network", Volume = "volume", Dir = "dir", Nvme = "nvme", VhostUser = "vhostuser", VhostVdpa = "vhostvdpa" }
}
xml_enum! {
    /// `<disk device=…>`.
    pub enum DiskDevice { Disk = "disk", Lun = "lun", Cdrom = "cdrom", Floppy = "floppy" }
}
xml_enum! {
    /// `<target bus=…>`.
    pub enum DiskBus { Ide = "ide", Fdc = "fdc", Scsi = "scsi", Virtio = "virtio", Xen = "xen", Usb = "usb", Uml = "uml", Sata = "sata", Sd = "sd" }
}

/// `<driver>` of a disk.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DiskDriver {
    /// `name` (qemu).
    pub name: Option<String>,
    /// `type`: the image format (raw, qcow2, …).
    pub format: Option<String>,
    /// `cache`.
    pub cache: Option<String>,
    /// `error_policy`: what a write error does (`stop`, `report`, `ignore`, `enospace`).
    pub error_policy: Option<String>,
    /// `rerror_policy`: what a read error does; the write policy when unset.
    pub rerror_policy: Option<String>,
    /// `io`.
    pub io: Option<String>,
    /// `discard`.
    pub discard: Option<String>,
    /// `iothread`.
    pub iothread: Option<u32>,
    /// `queues`.
    pub queues: Option<u32>,
    /// `copy_on_read`.
    pub copy_on_read: Option<OnOff>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<geometry cyls heads secs trans>`: the CHS geometry the guest sees.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Geometry {
    /// `cyls`.
    pub cyls: Option<u32>,
    /// `heads`.
    pub heads: Option<u32>,
    /// `secs`.
    pub secs: Option<u32>,
    /// `trans` (`auto`, `none`, `lba`; IDE only).
    pub trans: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<blockio logical_block_size physical_block_size discard_granularity>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Blockio {
    /// `logical_block_size`, bytes.
    pub logical_block_size: Option<u32>,
    /// `physical_block_size`, bytes.
    pub physical_block_size: Option<u32>,
    /// `discard_granularity`, bytes.
    pub discard_granularity: Option<u32>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<host>` of a network source.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct NetHost {
    /// `name`.
    pub name: Option<String>,
    /// `port`.
    pub port: Option<String>,
    /// `transport`.
    pub transport: Option<String>,
    /// `socket`.
    pub socket: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<secret>` of an `<auth>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceSecret {
    /// `type` (iscsi, ceph).
    pub kind: Option<String>,
    /// `usage`.
    pub usage: Option<String>,
    /// `uuid`.
    pub uuid: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<auth username>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceAuth {
    /// `username`.
    pub username: Option<String>,
    /// `<secret>`.
    pub secret: Option<SourceSecret>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<source type='unix' path mode/>` inside `<reservations>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ReservationsSource {
    /// `type` (unix).
    pub kind: Option<String>,
    /// `path`.
    pub path: Option<String>,
    /// `mode` (client/server).
    pub mode: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<reservations managed migration>`: SCSI persistent reservations through qemu-pr-helper.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Reservations {
    /// `managed`.
    pub managed: Option<YesNo>,
    /// `migration`.
    pub migration: Option<YesNo>,
    /// `<source>` of an unmanaged helper.
    pub source: Option<ReservationsSource>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<source>` of a disk: which attributes apply depends on the disk type.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DiskSource {
    /// `file` (type file).
    pub file: Option<String>,
    /// `dev` (type block).
    pub dev: Option<String>,
    /// `dir` (type dir).
    pub dir: Option<String>,
    /// `protocol` (type network).
    pub protocol: Option<String>,
    /// `name` (type network).
    pub name: Option<String>,
    /// `pool` (type volume).
    pub pool: Option<String>,
    /// `volume` (type volume).
    pub volume: Option<String>,
    /// `mode` (type volume: host|direct).
    pub mode: Option<String>,
    /// `startupPolicy`.
    pub startup_policy: Option<String>,
    /// `<host>` entries (network).
    pub hosts: Vec<NetHost>,
    /// `<auth>` (network).
    pub auth: Option<Box<SourceAuth>>,
    /// `<initiator><iqn name/></initiator>` (iSCSI).
    pub initiator_iqn: Option<String>,
    /// `<reservations>`.
    pub reservations: Option<Box<Reservations>>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of single-valued children (`<initiator>`, `initiator/iqn`), by child name.
    pub child_extra: ChildExtra,
}

/// What a disk's source is, by the disk's type: one variant per kind, borrowed from the
/// [`DiskSource`]. The model keeps `<source>`'s attributes as written (a `type='file'` disk
/// with a `dev=` attribute is kept, reported by the validator as E047, and written back by
/// `fmt` unchanged); code that uses a source reads it through this view, which only offers
/// what the type means.
///
/// ```
/// use domxml::model::SourceKind;
/// let d = domxml::Disk::lun("/dev/sdb", "sda");
/// assert_eq!(d.source_kind(), SourceKind::Block { dev: "/dev/sdb" });
/// let cd = domxml::Disk::cdrom("/iso/a.iso", "sdb");
/// assert_eq!(cd.source_kind(), SourceKind::File { path: "/iso/a.iso" });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind<'a> {
    /// No source to open (an empty CD-ROM), or the attribute the type reads is missing.
    Empty,
    /// `type='file'`: an image file.
    File {
        /// `file`.
        path: &'a str,
    },
    /// `type='block'`: a host block device.
    Block {
        /// `dev`.
        dev: &'a str,
    },
    /// `type='dir'`: a host directory.
    Dir {
        /// `dir`.
        dir: &'a str,
    },
    /// `type='network'`: a network protocol.
    Network {
        /// `protocol` (`iscsi`, `nbd`, `rbd`, …).
        protocol: &'a str,
        /// `name`: for iSCSI, `IQN[/LUN]`.
        name: Option<&'a str>,
        /// `<host>` entries.
        hosts: &'a [NetHost],
        /// `<auth>`.
        auth: Option<&'a SourceAuth>,
        /// `<initiator><iqn name>`.
        initiator_iqn: Option<&'a str>,
    },
    /// `type='volume'`: a volume of a storage pool.
    Volume {
        /// `pool`.
        pool: &'a str,
        /// `volume`.
        volume: &'a str,
    },
    /// A type this view has no variant for (`nvme`, `vhostuser`, `vhostvdpa`).
    Other,
}

impl Disk {
    /// The source as its type means it ([`SourceKind`]); a disk without `type` is a file.
    pub fn source_kind(&self) -> SourceKind<'_> {
        let Some(s) = &self.source else {
            return SourceKind::Empty;
        };
        match self.kind.unwrap_or(DiskType::File) {
            DiskType::File => s
                .file
                .as_deref()
                .map_or(SourceKind::Empty, |path| SourceKind::File { path }),
            DiskType::Block => s
                .dev
                .as_deref()
                .map_or(SourceKind::Empty, |dev| SourceKind::Block { dev }),
            DiskType::Dir => s
                .dir
                .as_deref()
                .map_or(SourceKind::Empty, |dir| SourceKind::Dir { dir }),
            DiskType::Network => match s.protocol.as_deref() {
                Some(protocol) => SourceKind::Network {
                    protocol,
                    name: s.name.as_deref(),
                    hosts: &s.hosts,
                    auth: s.auth.as_deref(),
                    initiator_iqn: s.initiator_iqn.as_deref(),
                },
                None => SourceKind::Empty,
            },
            DiskType::Volume => match (s.pool.as_deref(), s.volume.as_deref()) {
                (Some(pool), Some(volume)) => SourceKind::Volume { pool, volume },
                _ => SourceKind::Empty,
            },
            _ => SourceKind::Other,
        }
    }
}

/// `<target dev bus …>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DiskTarget {
    /// `dev`: the guest name that also fixes the default address (`sdb`).
    pub dev: Option<String>,
    /// `bus`.
    pub bus: Option<DiskBus>,
    /// `removable`.
    pub removable: Option<OnOff>,
    /// `rotation_rate`.
    pub rotation_rate: Option<u32>,
    /// `tray`.
    pub tray: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Disk {
    /// `type`.
    pub kind: Option<DiskType>,
    /// `device` (defaults to disk).
    pub device: Option<DiskDevice>,
    /// `model`.
    pub model: Option<String>,
    /// `rawio`.
    pub rawio: Option<YesNo>,
    /// `sgio` (`filtered`|`unfiltered`, kept as written).
    pub sgio: Option<String>,
    /// `snapshot`.
    pub snapshot: Option<String>,
    /// `<driver>`.
    pub driver: Option<DiskDriver>,
    /// `<source>`.
    pub source: Option<DiskSource>,
    /// `<geometry>`.
    pub geometry: Option<Box<Geometry>>,
    /// `<blockio>`.
    pub blockio: Option<Box<Blockio>>,
    /// `<target>`.
    pub target: Option<DiskTarget>,
    /// `<boot>`.
    pub boot: Option<Box<Boot>>,
    /// `<readonly/>`.
    pub readonly: bool,
    /// `<shareable/>`.
    pub shareable: bool,
    /// `<transient/>`.
    pub transient: bool,
    /// `<serial>`.
    pub serial: Option<String>,
    /// `<wwn>`.
    pub wwn: Option<String>,
    /// `<vendor>`.
    pub vendor: Option<String>,
    /// `<product>`.
    pub product: Option<String>,
    /// `<alias name>`.
    pub alias: Option<String>,
    /// `<address>`.
    pub address: Option<DeviceAddress>,
    /// Unknown content (also holds libvirt elements kept verbatim: backingStore, iotune, …).
    pub extra: Extra,
    /// Unknown content of single-valued children (`<serial>`, `<wwn>`, `<vendor>`, `<product>`, `<alias>`, `<readonly>`, `<shareable>`, `<transient>`), by child name.
    pub child_extra: ChildExtra,
}

impl Disk {
    /// `device`, defaulting to disk.
    pub fn device(&self) -> DiskDevice {
        self.device.unwrap_or(DiskDevice::Disk)
    }

    /// The target bus as libvirt infers it when unset: from the target name prefix.
    pub fn bus(&self) -> Option<DiskBus> {
        let t = self.target.as_ref()?;
        if let Some(b) = t.bus {
            return Some(b);
        }
        if self.device() == DiskDevice::Floppy {
            return Some(DiskBus::Fdc);
        }
        let dev = t.dev.as_deref()?;
        Some(if dev.starts_with("hd") {
            DiskBus::Ide
        } else if dev.starts_with("sd") {
            DiskBus::Scsi
        } else if dev.starts_with("vd") {
            DiskBus::Virtio
        } else if dev.starts_with("xvd") {
            DiskBus::Xen
        } else if dev.starts_with("ubd") {
            DiskBus::Uml
        } else {
            DiskBus::Ide
        })
    }

    /// The target name.
    pub fn dev(&self) -> Option<&str> {
        self.target.as_ref()?.dev.as_deref()
    }
}
