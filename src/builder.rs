//! Building and editing models in code.
//!
//! Constructors give each device in a complete, valid shape (a lun disk is a block source on a
//! SCSI target; a SCSI hostdev has its adapter and LU address), so a device is one line instead
//! of a struct literal. A [`DomainBuilder`] collects them and [`build`](DomainBuilder::build)
//! runs the validator: what comes out has passed the same checks a parsed document does, and
//! what fails says why at an element path. [`Domain::edit`] starts a builder from an existing
//! domain, so an edited model is checked again before it is used.

use crate::diag::Diagnostic;
use crate::error::Diagnostics;
use crate::model::{
    Adapter, Controller, ControllerModel, ControllerType, Device, DeviceAddress, Disk, DiskBus,
    DiskDevice, DiskDriver, DiskSource, DiskTarget, DiskType, Domain, DomainType, DriveAddress,
    Extra, Hex, Hostdev, HostdevSource, HostdevType, Memory, Os, OsType, PciAddress, ScsiModel,
    ScsiSourceAddress, Vcpu,
};

/// A domain that does not validate: every error, at its element path.
///
/// ```
/// use domxml::{Controller, Disk, Domain, ScsiModel};
/// let err: domxml::BuildError = Domain::builder("vm")
///     .controller(Controller::scsi(0, ScsiModel::Lsilogic))
///     .disk(Disk::file("/a.img", "sda").drive_address(0, 0, 1, 0))
///     .build()
///     .unwrap_err();
/// assert_eq!(err[0].code, domxml::codes::E011); // lsilogic takes target 0 only
/// assert_eq!(err[0].path, "/domain/devices/disk/address/@target");
/// ```
pub type BuildError = Diagnostics;

/// A domain under construction: devices from the constructors below, checked by
/// [`build`](DomainBuilder::build).
///
/// ```
/// let builder: domxml::DomainBuilder = domxml::Domain::builder("vm1").vcpus(4);
/// let d = builder.build().unwrap();
/// assert_eq!(d.name.as_deref(), Some("vm1"));
/// assert_eq!(d.vcpu.unwrap().count, 4);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct DomainBuilder {
    d: Domain,
}

impl Domain {
    /// Start a QEMU (TCG) domain named `name`.
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").machine("q35").memory_mib(2048).vcpus(2).build().unwrap();
    /// assert_eq!(d.machine(), Some("q35"));
    /// ```
    pub fn builder(name: impl Into<String>) -> DomainBuilder {
        let mut d = Domain::new(DomainType::Qemu);
        d.name = Some(name.into());
        DomainBuilder { d }
    }

    /// Edit a copy of this domain; [`DomainBuilder::build`] validates the result.
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").build().unwrap();
    /// let bad = d.edit().disk(domxml::Disk::file("/a.img", "sda")).disk(domxml::Disk::file("/b.img", "sda")).build();
    /// assert_eq!(bad.unwrap_err()[0].code, domxml::codes::E022); // two disks named sda
    /// ```
    pub fn edit(&self) -> DomainBuilder {
        DomainBuilder { d: self.clone() }
    }
}

impl DomainBuilder {
    /// The hypervisor type (`qemu` by default).
    ///
    /// ```
    /// use domxml::{Domain, DomainType};
    /// let d = Domain::builder("vm1").kind(DomainType::Kvm).build().unwrap();
    /// assert_eq!(d.kind, DomainType::Kvm);
    /// assert!(domxml::write_domain(&d).starts_with("<domain type='kvm'>"));
    /// ```
    pub fn kind(mut self, kind: DomainType) -> Self {
        self.d.kind = kind;
        self
    }

    fn os_type(&mut self) -> &mut OsType {
        let os = self.d.os.get_or_insert_with(Os::default);
        os.os_type.get_or_insert_with(|| OsType {
            value: "hvm".into(),
            ..OsType::default()
        })
    }

    /// The machine type (`pc`, `q35`, …).
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").machine("pc").build().unwrap();
    /// assert_eq!(d.machine(), Some("pc"));
    /// assert_eq!(d.os.unwrap().os_type.unwrap().value, "hvm");
    /// ```
    pub fn machine(mut self, machine: impl Into<String>) -> Self {
        self.os_type().machine = Some(machine.into());
        self
    }

    /// The architecture (`x86_64` by default).
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").arch("aarch64").build().unwrap();
    /// assert_eq!(d.arch(), Some("aarch64"));
    /// assert!(domxml::write_domain(&d).contains("<type arch='aarch64'>hvm</type>"));
    /// ```
    pub fn arch(mut self, arch: impl Into<String>) -> Self {
        self.os_type().arch = Some(arch.into());
        self
    }

    /// Memory, in MiB.
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").memory_mib(2048).build().unwrap();
    /// let mem = d.memory.unwrap();
    /// assert_eq!((mem.value, mem.unit.as_deref()), (2048, Some("MiB")));
    /// assert_eq!(mem.kib(), Some(2048 * 1024));
    /// ```
    pub fn memory_mib(mut self, mib: u64) -> Self {
        self.d.memory = Some(Memory {
            value: mib,
            unit: Some("MiB".into()),
            extra: Extra::default(),
        });
        self
    }

    /// The number of vCPUs.
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").vcpus(2).build().unwrap();
    /// assert_eq!(d.vcpu.as_ref().unwrap().count, 2);
    /// assert!(domxml::write_domain(&d).contains("<vcpu>2</vcpu>"));
    /// ```
    pub fn vcpus(mut self, n: u32) -> Self {
        self.d.vcpu = Some(Vcpu {
            count: n,
            placement: None,
            cpuset: None,
            current: None,
            extra: Extra::default(),
        });
        self
    }

    /// The UUID.
    ///
    /// ```
    /// let id = uuid::Uuid::parse_str("c7a5fdbd-cdaf-9455-926a-d65c16db1809").unwrap();
    /// let d = domxml::Domain::builder("vm1").uuid(id).build().unwrap();
    /// assert_eq!(d.uuid, Some(id));
    /// assert!(domxml::write_domain(&d).contains("<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"));
    /// ```
    pub fn uuid(mut self, uuid: uuid::Uuid) -> Self {
        self.d.uuid = Some(uuid);
        self
    }

    /// Add any device.
    ///
    /// ```
    /// use domxml::{Device, Disk, Domain};
    /// let d = Domain::builder("vm1")
    ///     .device(Device::Emulator("/usr/bin/qemu-system-x86_64".into()))
    ///     .device(Disk::file("/a.img", "vda"))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(d.devices.emulator(), Some("/usr/bin/qemu-system-x86_64"));
    /// assert_eq!(d.devices.items.len(), 2);
    /// ```
    pub fn device(mut self, dev: impl Into<Device>) -> Self {
        self.d.devices.items.push(dev.into());
        self
    }

    /// Add a controller.
    ///
    /// ```
    /// use domxml::{Controller, Domain, ScsiModel};
    /// let d = Domain::builder("vm1").controller(Controller::scsi(0, ScsiModel::Lsilogic)).build().unwrap();
    /// let (_, c) = d.devices.controllers().next().unwrap();
    /// assert_eq!(c.scsi_model(), Some(ScsiModel::Lsilogic));
    /// ```
    pub fn controller(self, c: Controller) -> Self {
        self.device(c)
    }

    /// Add a disk.
    ///
    /// ```
    /// let d = domxml::Domain::builder("vm1").disk(domxml::Disk::file("/a.img", "vda")).build().unwrap();
    /// let (i, disk) = d.devices.disks().next().unwrap();
    /// assert_eq!((i, disk.dev()), (0, Some("vda")));
    /// ```
    pub fn disk(self, d: Disk) -> Self {
        self.device(d)
    }

    /// Add a hostdev.
    ///
    /// ```
    /// use domxml::{Domain, Hostdev, HostdevType};
    /// let d = Domain::builder("vm1").hostdev(Hostdev::pci(0, 1, 0, 0)).build().unwrap();
    /// let (_, h) = d.devices.hostdevs().next().unwrap();
    /// assert_eq!(h.kind, HostdevType::Pci);
    /// ```
    pub fn hostdev(self, h: Hostdev) -> Self {
        self.device(h)
    }

    /// Validate and return the domain, or every error.
    ///
    /// ```
    /// use domxml::{Disk, Domain};
    /// assert!(Domain::builder("vm1").disk(Disk::file("/a.img", "vda")).build().is_ok());
    /// let twice = Domain::builder("vm1").disk(Disk::file("/a.img", "vda")).disk(Disk::file("/b.img", "vda"));
    /// let errors = twice.build().unwrap_err();
    /// assert!(errors.iter().all(|e| e.is_error()));
    /// assert_eq!(errors[0].code, domxml::codes::E022);
    /// ```
    pub fn build(self) -> Result<Domain, BuildError> {
        let errors: Vec<Diagnostic> = crate::validate::validate_domain(&self.d)
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if errors.is_empty() {
            Ok(self.d)
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// The domain without validation, for tests that need an invalid one.
    ///
    /// ```
    /// use domxml::{Disk, Domain};
    /// let bad = Domain::builder("vm1").disk(Disk::file("/a.img", "vda")).disk(Disk::file("/b.img", "vda"));
    /// let d = bad.build_unchecked(); // two disks named vda, kept as they are
    /// assert_eq!(d.devices.disks().count(), 2);
    /// assert!(d.edit().build().is_err());
    /// ```
    pub fn build_unchecked(self) -> Domain {
        self.d
    }
}

impl From<Disk> for Device {
    fn from(d: Disk) -> Self {
        Device::Disk(Box::new(d))
    }
}

impl From<Controller> for Device {
    fn from(c: Controller) -> Self {
        Device::Controller(Box::new(c))
    }
}

impl From<Hostdev> for Device {
    fn from(h: Hostdev) -> Self {
        Device::Hostdev(Box::new(h))
    }
}

impl Controller {
    /// A SCSI controller of a model at an index.
    ///
    /// ```
    /// use domxml::{Controller, ScsiModel};
    /// let c = Controller::scsi(1, ScsiModel::Lsilogic);
    /// assert_eq!((c.index, c.scsi_model()), (Some(1), Some(ScsiModel::Lsilogic)));
    /// ```
    pub fn scsi(index: u32, model: ScsiModel) -> Controller {
        let mut c = Controller::new(ControllerType::Scsi);
        c.index = Some(index);
        c.model = Some(ControllerModel::Scsi(model));
        c
    }

    /// A virtio-scsi controller at an index.
    ///
    /// ```
    /// let c = domxml::Controller::virtio_scsi(2);
    /// assert_eq!(c.index, Some(2));
    /// assert_eq!(c.scsi_model(), Some(domxml::ScsiModel::VirtioScsi));
    /// ```
    pub fn virtio_scsi(index: u32) -> Controller {
        Controller::scsi(index, ScsiModel::VirtioScsi)
    }
}

impl Disk {
    fn with_source(kind: DiskType, device: DiskDevice, source: DiskSource, target: &str) -> Disk {
        Disk {
            kind: Some(kind),
            device: Some(device),
            driver: Some(DiskDriver {
                name: Some("qemu".into()),
                format: Some("raw".into()),
                ..DiskDriver::default()
            }),
            source: Some(source),
            target: Some(DiskTarget {
                dev: Some(target.into()),
                bus: Some(bus_of(target)),
                ..DiskTarget::default()
            }),
            ..Disk::default()
        }
    }

    /// A raw image file as a disk; the bus follows the target name (`sdX` → scsi, `vdX` →
    /// virtio, `hdX` → ide).
    ///
    /// ```
    /// let d = domxml::Disk::file("/var/lib/a.img", "vda");
    /// assert_eq!(d.bus(), Some(domxml::DiskBus::Virtio));
    /// ```
    pub fn file(path: impl Into<String>, target: &str) -> Disk {
        let src = DiskSource {
            file: Some(path.into()),
            ..DiskSource::default()
        };
        Disk::with_source(DiskType::File, DiskDevice::Disk, src, target)
    }

    /// A host block device as a disk.
    ///
    /// ```
    /// use domxml::{Disk, DiskDevice, DiskType};
    /// let d = Disk::block("/dev/sdb", "vdb");
    /// assert_eq!((d.kind, d.device()), (Some(DiskType::Block), DiskDevice::Disk));
    /// assert_eq!(d.source.unwrap().dev.as_deref(), Some("/dev/sdb"));
    /// ```
    pub fn block(dev: impl Into<String>, target: &str) -> Disk {
        let src = DiskSource {
            dev: Some(dev.into()),
            ..DiskSource::default()
        };
        Disk::with_source(DiskType::Block, DiskDevice::Disk, src, target)
    }

    /// A host SCSI LU passed through as `scsi-block` (`<disk type='block' device='lun'>`).
    ///
    /// ```
    /// let d = domxml::Disk::lun("/dev/sdb", "sda").drive_address(0, 0, 0, 1);
    /// assert_eq!(d.device(), domxml::DiskDevice::Lun);
    /// ```
    pub fn lun(dev: impl Into<String>, target: &str) -> Disk {
        let mut d = Disk::block(dev, target);
        d.device = Some(DiskDevice::Lun);
        d
    }

    /// A CD-ROM image (read-only).
    ///
    /// ```
    /// let d = domxml::Disk::cdrom("/srv/install.iso", "hdc");
    /// assert_eq!(d.device(), domxml::DiskDevice::Cdrom);
    /// assert!(d.readonly);
    /// assert_eq!(d.bus(), Some(domxml::DiskBus::Ide));
    /// ```
    pub fn cdrom(path: impl Into<String>, target: &str) -> Disk {
        let src = DiskSource {
            file: Some(path.into()),
            ..DiskSource::default()
        };
        let mut d = Disk::with_source(DiskType::File, DiskDevice::Cdrom, src, target);
        d.readonly = true;
        d
    }

    /// Put the disk at a drive address (controller, bus, target, unit).
    ///
    /// ```
    /// let d = domxml::Disk::file("/a.img", "sda").drive_address(1, 0, 0, 3);
    /// let addr = d.address.unwrap();
    /// assert_eq!(addr.as_drive().unwrap().tuple(), (1, 0, 0, 3));
    /// ```
    pub fn drive_address(mut self, controller: u32, bus: u32, target: u32, unit: u32) -> Disk {
        self.address = Some(drive(controller, bus, target, unit));
        self
    }

    /// Set the target bus explicitly.
    ///
    /// ```
    /// use domxml::{Disk, DiskBus};
    /// let d = Disk::file("/a.img", "sdb").on_bus(DiskBus::Usb); // sdX alone would mean scsi
    /// assert_eq!(d.bus(), Some(DiskBus::Usb));
    /// ```
    pub fn on_bus(mut self, bus: DiskBus) -> Disk {
        self.target.get_or_insert_with(DiskTarget::default).bus = Some(bus);
        self
    }

    /// Set the image format (`qcow2`, …).
    ///
    /// ```
    /// let d = domxml::Disk::file("/a.qcow2", "vda");
    /// assert_eq!(d.driver.as_ref().unwrap().format.as_deref(), Some("raw"));
    /// let d = d.format("qcow2");
    /// assert_eq!(d.driver.unwrap().format.as_deref(), Some("qcow2"));
    /// ```
    pub fn format(mut self, format: impl Into<String>) -> Disk {
        self.driver.get_or_insert_with(DiskDriver::default).format = Some(format.into());
        self
    }

    /// Mark the disk read-only.
    ///
    /// ```
    /// let d = domxml::Disk::file("/a.img", "vda");
    /// assert!(!d.readonly);
    /// assert!(d.readonly().readonly);
    /// ```
    pub fn readonly(mut self) -> Disk {
        self.readonly = true;
        self
    }

    /// A user alias (`ua-…`).
    ///
    /// ```
    /// use domxml::{Disk, Domain};
    /// let d = Domain::builder("vm1").disk(Disk::file("/a.img", "vda").alias("ua-data")).build().unwrap();
    /// assert_eq!(d.devices.disks().next().unwrap().1.alias.as_deref(), Some("ua-data"));
    /// let bad = Domain::builder("vm1").disk(Disk::file("/a.img", "vda").alias("ua-my disk")).build();
    /// assert_eq!(bad.unwrap_err()[0].code, domxml::codes::E081); // no spaces after ua-
    /// ```
    pub fn alias(mut self, alias: impl Into<String>) -> Disk {
        self.alias = Some(alias.into());
        self
    }
}

/// A complete drive address.
fn drive(controller: u32, bus: u32, target: u32, unit: u32) -> DeviceAddress {
    DeviceAddress::Drive(
        DriveAddress {
            controller: Some(controller),
            bus: Some(bus),
            target: Some(target),
            unit: Some(unit),
        },
        Extra::default(),
    )
}

fn bus_of(target: &str) -> DiskBus {
    if target.starts_with("vd") {
        DiskBus::Virtio
    } else if target.starts_with("hd") {
        DiskBus::Ide
    } else if target.starts_with("fd") {
        DiskBus::Fdc
    } else {
        DiskBus::Scsi
    }
}

impl Adapter {
    /// An adapter named by today's host number (`scsi_host2`).
    ///
    /// ```
    /// use domxml::model::AdapterForm;
    /// let a = domxml::Adapter::named("scsi_host2");
    /// assert!(matches!(a.form(), Ok(AdapterForm::HostNumber(2))));
    /// ```
    pub fn named(name: impl Into<String>) -> Adapter {
        Adapter {
            name: Some(name.into()),
            ..Adapter::default()
        }
    }

    /// The stable flat form: the host's PCI parent (`pci_0000_00_1f_2`) and `unique_id`.
    ///
    /// ```
    /// let a = domxml::Adapter::by_parent("pci_0000_01_00_0", 0);
    /// assert!(a.form().is_ok());
    /// ```
    pub fn by_parent(parent: impl Into<String>, unique_id: u32) -> Adapter {
        Adapter {
            parent: Some(parent.into()),
            unique_id: Some(unique_id.to_string()),
            ..Adapter::default()
        }
    }

    /// An FC adapter (vHBA) named by its WWNN and WWPN.
    ///
    /// ```
    /// use domxml::model::{AdapterForm, AdapterType};
    /// let a = domxml::Adapter::fc_host("20000000c9831b4b", "10000000c9831b4b");
    /// assert_eq!(a.kind, Some(AdapterType::FcHost));
    /// assert!(matches!(a.form(), Ok(AdapterForm::FcHost { .. })));
    /// ```
    pub fn fc_host(wwnn: impl Into<String>, wwpn: impl Into<String>) -> Adapter {
        Adapter {
            kind: Some(crate::model::AdapterType::FcHost),
            wwnn: Some(wwnn.into()),
            wwpn: Some(wwpn.into()),
            ..Adapter::default()
        }
    }
}

impl Hostdev {
    /// A host SCSI LU passed through as `scsi-generic`: the adapter and the LU's host address.
    ///
    /// ```
    /// use domxml::{Adapter, Domain, Hostdev};
    /// let d = Domain::builder("vm")
    ///     .hostdev(Hostdev::scsi(Adapter::by_parent("pci_0000_01_00_0", 0), 0, 3, 5))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(d.devices.hostdevs().count(), 1);
    /// ```
    pub fn scsi(adapter: Adapter, bus: u32, target: u32, unit: u64) -> Hostdev {
        let mut h = Hostdev::new(HostdevType::Scsi);
        h.source = Some(HostdevSource {
            adapter: Some(adapter),
            scsi_address: Some(ScsiSourceAddress {
                bus: Some(bus),
                target: Some(target),
                unit: Some(unit),
                extra: Extra::default(),
            }),
            ..HostdevSource::default()
        });
        h
    }

    /// A host PCI function assigned with VFIO (`managed='yes'`).
    ///
    /// ```
    /// use domxml::{model::YesNo, Hostdev, HostdevType};
    /// let h = Hostdev::pci(0, 0x3b, 0, 1);
    /// assert_eq!((h.kind, h.managed), (HostdevType::Pci, Some(YesNo::Yes)));
    /// assert_eq!(h.source.unwrap().pci_address.unwrap().to_bdf(), "0000:3b:00.1");
    /// ```
    pub fn pci(domain: u32, bus: u32, slot: u32, function: u32) -> Hostdev {
        let mut h = Hostdev::new(HostdevType::Pci);
        h.managed = Some(crate::model::YesNo::Yes);
        h.source = Some(HostdevSource {
            pci_address: Some(PciAddress {
                domain: Some(Hex(domain)),
                bus: Some(Hex(bus)),
                slot: Some(Hex(slot)),
                function: Some(Hex(function)),
                multifunction: None,
            }),
            ..HostdevSource::default()
        });
        h
    }

    /// Put the hostdev at a guest drive address.
    ///
    /// ```
    /// use domxml::{Adapter, Hostdev};
    /// let h = Hostdev::scsi(Adapter::named("scsi_host6"), 0, 3, 5).drive_address(0, 0, 0, 2);
    /// let addr = h.address.unwrap();
    /// assert_eq!(addr.as_drive().unwrap().tuple(), (0, 0, 0, 2));
    /// ```
    pub fn drive_address(mut self, controller: u32, bus: u32, target: u32, unit: u32) -> Hostdev {
        self.address = Some(drive(controller, bus, target, unit));
        self
    }
}
