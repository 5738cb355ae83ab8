//! `<domain>` and `<devices>`.

use super::{xml_enum, ChildExtra, Controller, Disk, Extra, Hostdev};
use crate::xml::Element;

xml_enum! {
    /// `<domain type=…>`: the hypervisor. domxml emits for `qemu` (TCG) and `kvm`.
    pub enum DomainType {
        Qemu = "qemu", Kqemu = "kqemu", Kvm = "kvm", Xen = "xen", Lxc = "lxc", Uml = "uml",
        Openvz = "openvz", Test = "test", Vmware = "vmware", Hyperv = "hyperv", Vbox = "vbox",
        Phyp = "phyp", Vz = "vz", Bhyve = "bhyve", Ch = "ch"
    }
}

/// `<memory unit='KiB'>N</memory>` and friends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// Amount in `unit`.
    pub value: u64,
    /// Unit as written (KiB when absent).
    pub unit: Option<String>,
    /// Unknown content.
    pub extra: Extra,
}

impl Memory {
    /// Units libvirt accepts.
    pub const UNITS: &'static [&'static str] = &[
        "b", "bytes", "KB", "k", "KiB", "MB", "M", "MiB", "GB", "G", "GiB", "TB", "T", "TiB", "PB",
        "P", "PiB", "EB", "E", "EiB",
    ];

    /// The amount in KiB, as libvirt stores it; `None` when it overflows.
    pub fn kib(&self) -> Option<u64> {
        let (mul, div): (u64, u64) = match self.unit.as_deref().unwrap_or("KiB") {
            "b" | "bytes" => (1, 1024),
            "KB" => (1000, 1024),
            "k" | "KiB" => (1, 1),
            "MB" => (1_000_000, 1024),
            "M" | "MiB" => (1024, 1),
            "GB" => (1_000_000_000, 1024),
            "G" | "GiB" => (1024 * 1024, 1),
            "TB" => (1_000_000_000_000, 1024),
            "T" | "TiB" => (1024 * 1024 * 1024, 1),
            "PB" => (1_000_000_000_000_000, 1024),
            "P" | "PiB" => (1 << 40, 1),
            "EB" => (1_000_000_000_000_000_000, 1024),
            "E" | "EiB" => (1 << 50, 1),
            _ => return None,
        };
        self.value.checked_mul(mul).map(|v| v.div_ceil(div))
    }
}

/// `<vcpu placement cpuset current>N</vcpu>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vcpu {
    /// Maximum vCPUs.
    pub count: u32,
    /// `placement`.
    pub placement: Option<String>,
    /// `cpuset`.
    pub cpuset: Option<String>,
    /// `current`.
    pub current: Option<u32>,
    /// Unknown content.
    pub extra: Extra,
}

/// `<os><type arch machine>hvm</type>…</os>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct OsType {
    /// `arch`.
    pub arch: Option<String>,
    /// `machine`.
    pub machine: Option<String>,
    /// The text (hvm).
    pub value: String,
    /// Unknown content.
    pub extra: Extra,
}

/// `<os>`: `<type>` is modelled, the rest (`<boot>`, `<loader>`, …) kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Os {
    /// `<type>`.
    pub os_type: Option<OsType>,
    /// Other libvirt children, verbatim and in order.
    pub other: Vec<Element>,
    /// Unknown content.
    pub extra: Extra,
}

/// One child of `<devices>`, in document order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Device {
    /// `<emulator>`.
    Emulator(String),
    /// `<disk>`.
    Disk(Box<Disk>),
    /// `<controller>`.
    Controller(Box<Controller>),
    /// `<hostdev>`.
    Hostdev(Box<Hostdev>),
    /// Any other device, kept verbatim (interface, input, memballoon, …, or unknown).
    Other(Element),
    /// A comment between devices.
    Comment(String),
}

impl Device {
    /// The element name this device is written as (empty for comments).
    pub fn element_name(&self) -> &str {
        match self {
            Device::Emulator(_) => "emulator",
            Device::Disk(_) => "disk",
            Device::Controller(_) => "controller",
            Device::Hostdev(_) => "hostdev",
            Device::Other(e) => &e.name,
            Device::Comment(_) => "",
        }
    }
}

/// `<devices>`: one ordered list, as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Devices {
    /// The devices in document order.
    pub items: Vec<Device>,
    /// Unknown attributes.
    pub extra: Extra,
}

impl Devices {
    /// The disks with their positions in `items`.
    pub fn disks(&self) -> impl Iterator<Item = (usize, &Disk)> {
        self.items.iter().enumerate().filter_map(|(i, d)| match d {
            Device::Disk(x) => Some((i, &**x)),
            _ => None,
        })
    }

    /// The controllers with their positions in `items`.
    pub fn controllers(&self) -> impl Iterator<Item = (usize, &Controller)> {
        self.items.iter().enumerate().filter_map(|(i, d)| match d {
            Device::Controller(x) => Some((i, &**x)),
            _ => None,
        })
    }

    /// The hostdevs with their positions in `items`.
    pub fn hostdevs(&self) -> impl Iterator<Item = (usize, &Hostdev)> {
        self.items.iter().enumerate().filter_map(|(i, d)| match d {
            Device::Hostdev(x) => Some((i, &**x)),
            _ => None,
        })
    }

    /// The emulator path, if given.
    pub fn emulator(&self) -> Option<&str> {
        self.items.iter().find_map(|d| match d {
            Device::Emulator(e) => Some(e.as_str()),
            _ => None,
        })
    }

    /// The element paths of every item, in one pass (see [`path_of`](Self::path_of)). For
    /// many devices, [`DevicePaths`](super::DevicePaths) holds them without a string each.
    pub fn paths(&self) -> Vec<String> {
        super::DevicePaths::of(self)
            .iter()
            .map(str::to_string)
            .collect()
    }

    /// The element path of `items[i]` (`/domain/devices/hostdev[2]`), following the same
    /// sibling-numbering rule as the source map. O(n): use [`paths`](Self::paths) for many.
    pub fn path_of(&self, i: usize) -> String {
        let name = self.items[i].element_name();
        let mut count = 0;
        let mut nth = 0;
        for (j, d) in self.items.iter().enumerate() {
            if d.element_name() == name {
                count += 1;
                if j == i {
                    nth = count;
                }
            }
        }
        if count > 1 {
            format!("/domain/devices/{name}[{nth}]")
        } else {
            format!("/domain/devices/{name}")
        }
    }
}

/// `<domain>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Domain {
    /// `type`.
    pub kind: DomainType,
    /// `id` (live domains only).
    pub id: Option<i64>,
    /// `<name>`.
    pub name: Option<String>,
    /// `<uuid>`.
    pub uuid: Option<uuid::Uuid>,
    /// `<memory>`.
    pub memory: Option<Memory>,
    /// `<currentMemory>`.
    pub current_memory: Option<Memory>,
    /// `<vcpu>`.
    pub vcpu: Option<Vcpu>,
    /// `<iothreads>`: how many iothreads exist (ids 1..=N unless `<iothreadids>` says otherwise).
    pub iothreads: Option<u32>,
    /// `<os>`.
    pub os: Option<Os>,
    /// `<devices>`.
    pub devices: Devices,
    /// Other libvirt top-level elements, verbatim (features, clock, cpu, on_*, iothreadids, …).
    pub other: Vec<Element>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of single-valued children (`<name>`, `<uuid>`, `<iothreads>`; an `<emulator>` as `devices/emulator[i]`, i its index in `devices.items`), by child name.
    pub child_extra: ChildExtra,
}

impl Domain {
    /// An empty domain of a type.
    pub fn new(kind: DomainType) -> Self {
        Domain {
            kind,
            id: None,
            name: None,
            uuid: None,
            memory: None,
            current_memory: None,
            vcpu: None,
            iothreads: None,
            os: None,
            devices: Devices::default(),
            other: Vec::new(),
            extra: Extra::default(),
            child_extra: ChildExtra::default(),
        }
    }

    /// The iothread ids the domain defines: `<iothreadids>` when present, else 1..=`<iothreads>`.
    pub fn iothread_ids(&self) -> Vec<u32> {
        if let Some(ids) = self.other.iter().find(|e| e.name == "iothreadids") {
            return ids
                .elements()
                .filter(|e| e.name == "iothread")
                .filter_map(|e| e.attr("id")?.parse().ok())
                .collect();
        }
        (1..=self.iothreads.unwrap_or(0)).collect()
    }

    /// Whether the domain defines iothread `id`: listed in `<iothreadids>` when present, else
    /// 1..=`<iothreads>`. Costs nothing per iothread (`<iothreads>4294967295</iothreads>` is
    /// one number, not four billion ids).
    pub fn has_iothread(&self, id: u32) -> bool {
        if let Some(ids) = self.other.iter().find(|e| e.name == "iothreadids") {
            return ids
                .elements()
                .filter(|e| e.name == "iothread")
                .any(|e| e.attr("id").and_then(|v| v.parse().ok()) == Some(id));
        }
        (1..=self.iothreads.unwrap_or(0)).contains(&id)
    }

    /// The machine type from `<os><type machine>`.
    pub fn machine(&self) -> Option<&str> {
        self.os.as_ref()?.os_type.as_ref()?.machine.as_deref()
    }

    /// The architecture from `<os><type arch>`.
    pub fn arch(&self) -> Option<&str> {
        self.os.as_ref()?.os_type.as_ref()?.arch.as_deref()
    }
}
