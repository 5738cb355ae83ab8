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
pub type BuildError = Diagnostics;

/// A domain under construction: devices from the constructors below, checked by
/// [`build`](DomainBuilder::build).
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
    pub fn machine(mut self, machine: impl Into<String>) -> Self {
        self.os_type().machine = Some(machine.into());
        self
    }

    /// The architecture (`x86_64` by default).
    pub fn arch(mut self, arch: impl Into<String>) -> Self {
        self.os_type().arch = Some(arch.into());
        self
    }

    /// Memory, in MiB.
    pub fn memory_mib(mut self, mib: u64) -> Self {
        self.d.memory = Some(Memory {
            value: mib,
            unit: Some("MiB".into()),
            extra: Extra::default(),
        });
        self
    }

    /// The number of vCPUs.
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
    pub fn uuid(mut self, uuid: uuid::Uuid) -> Self {
        self.d.uuid = Some(uuid);
        self
    }

    /// Add any device.
    pub fn device(mut self, dev: impl Into<Device>) -> Self {
        self.d.devices.items.push(dev.into());
        self
    }

    /// Add a controller.
    pub fn controller(self, c: Controller) -> Self {
        self.device(c)
    }

    /// Add a disk.
    pub fn disk(self, d: Disk) -> Self {
        self.device(d)
    }

    /// Add a hostdev.
    pub fn hostdev(self, h: Hostdev) -> Self {
        self.device(h)
    }

    /// Validate and return the domain, or every error.
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
    pub fn drive_address(mut self, controller: u32, bus: u32, target: u32, unit: u32) -> Disk {
        self.address = Some(drive(controller, bus, target, unit));
        self
    }

    /// Set the target bus explicitly.
    pub fn on_bus(mut self, bus: DiskBus) -> Disk {
        self.target.get_or_insert_with(DiskTarget::default).bus = Some(bus);
        self
    }

    /// Set the image format (`qcow2`, …).
    pub fn format(mut self, format: impl Into<String>) -> Disk {
        self.driver.get_or_insert_with(DiskDriver::default).format = Some(format.into());
        self
    }

    /// Mark the disk read-only.
    pub fn readonly(mut self) -> Disk {
        self.readonly = true;
        self
    }

    /// A user alias (`ua-…`).
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
    pub fn drive_address(mut self, controller: u32, bus: u32, target: u32, unit: u32) -> Hostdev {
        self.address = Some(drive(controller, bus, target, unit));
        self
    }
}
