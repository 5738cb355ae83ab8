//! [`ResolvedDomain`]: the one place where a definition meets a host. Every device that names
//! host hardware (a SCSI hostdev's adapter and LU, a lun disk's `/dev/sdX`, a whole-host
//! controller's adapter, a scsi pool's adapter) is resolved here, once, into today's host
//! numbers and device nodes. `convert` reads it to build the command line, `domxml resolve`
//! prints it as a report, `validate --sysfs-root` turns its failures into located errors, and
//! the applier will key devices on it.
//!
//! Resolution never fails as a whole because one device does: each device carries its own
//! [`Resolution`], so a report can show every problem at once. Whoever needs every device
//! resolved (a command line must never be built with one missing) checks each.

use super::adapter::{describe, resolve_adapter};
use super::error::ResolveError;
use super::index::{Identity, Index, Lu};
use super::lu::{lookup_lu, whole_host, PassthroughLu};
use super::sysfs::{is_block_name, is_sg_name, Hctl, SysfsRoot};
use super::targeted::Targeted;
use crate::model::{
    Adapter, AdapterForm, Definition, Device, DiskDevice, Domain, HostdevSourceProtocol,
    HostdevType, PoolStyleAddress,
};
use serde::Serialize;
use std::collections::HashMap;

/// The kind of device a resolution belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeviceClass {
    /// `<hostdev type='scsi'>`.
    Hostdev,
    /// `<disk device='lun'>`.
    Disk,
    /// A whole-host passthrough `<controller>`.
    Controller,
    /// A `<pool type='scsi'>`.
    Pool,
}

impl DeviceClass {
    /// `hostdev`, `disk`, `controller` or `pool`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Hostdev => "hostdev",
            DeviceClass::Disk => "disk",
            DeviceClass::Controller => "controller",
            DeviceClass::Pool => "pool",
        }
    }
}

/// What one device resolved to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resolution {
    /// A SCSI hostdev or lun disk: its host LU.
    Lu {
        /// The LU.
        lu: Lu,
    },
    /// A whole-host controller or scsi pool: the host and every LU it passes through, in
    /// H:B:T:L order (none: the host has no LU there).
    Host {
        /// The host number.
        host: u32,
        /// The host bus the definition restricts it to.
        bus: Option<u32>,
        /// The host target the definition restricts it to.
        target: Option<u32>,
        /// The LUs.
        lus: Vec<PassthroughLu>,
    },
    /// Names nothing sysfs can check (iSCSI, a `/dev/disk/by-id` path).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Did not resolve.
    Failed {
        /// The host, when the adapter resolved but the LU did not.
        host: Option<u32>,
        /// The LU's address, when known.
        hctl: Option<Hctl>,
        /// Why.
        error: ResolveError,
    },
}

/// One device of the definition that names host hardware, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedDevice {
    /// Position in `Devices::items` (`None` for a pool).
    pub item: Option<usize>,
    /// Element path (`/domain/devices/hostdev[2]`).
    pub path: String,
    /// The kind of device.
    pub class: DeviceClass,
    /// The adapter as written, when the device has one.
    pub adapter: Option<String>,
    /// The outcome.
    pub resolution: Resolution,
}

impl ResolvedDevice {
    /// The error, when the device did not resolve.
    pub fn error(&self) -> Option<&ResolveError> {
        match &self.resolution {
            Resolution::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Every device of a definition that names host hardware, resolved against one host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedDomain {
    /// The devices, in document order.
    pub devices: Vec<ResolvedDevice>,
    /// What the host scan skipped or left incomplete.
    pub warnings: Vec<String>,
    /// `devices` position of each item, for the emitter's per-device lookups.
    #[serde(skip)]
    by_item: HashMap<usize, usize>,
}

impl ResolvedDomain {
    fn push(&mut self, d: ResolvedDevice) {
        if let Some(i) = d.item {
            self.by_item.insert(i, self.devices.len());
        }
        self.devices.push(d);
    }

    /// The resolution of device item `i`, if it names host hardware.
    pub fn device(&self, item: usize) -> Option<&ResolvedDevice> {
        self.by_item.get(&item).map(|&k| &self.devices[k])
    }

    /// The devices that did not resolve.
    pub fn failures(&self) -> impl Iterator<Item = &ResolvedDevice> {
        self.devices.iter().filter(|d| d.error().is_some())
    }
}

/// Which devices to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Everything that names host hardware (a report, a host check).
    All,
    /// Only what a command line needs: SCSI hostdevs and whole-host controllers. A lun disk
    /// names its node itself.
    Passthrough,
}

fn wanted(d: &Device, scope: Scope) -> bool {
    match d {
        Device::Hostdev(h) => h.kind == HostdevType::Scsi,
        Device::Controller(c) => c.source.as_ref().is_some_and(|s| s.adapter.is_some()),
        Device::Disk(x) => scope == Scope::All && x.device() == DiskDevice::Lun,
        _ => false,
    }
}

/// A definition by reference.
#[derive(Clone, Copy)]
enum Def<'a> {
    Domain(&'a Domain),
    Pool(&'a crate::model::Pool),
}

impl<'a> From<&'a Definition> for Def<'a> {
    fn from(d: &'a Definition) -> Self {
        match d {
            Definition::Domain(d) => Def::Domain(d),
            Definition::Pool(p) => Def::Pool(p),
        }
    }
}

/// True when resolving the definition would read the host at all.
fn reads_host(def: Def<'_>, scope: Scope) -> bool {
    match def {
        Def::Pool(p) => p.kind == "scsi",
        Def::Domain(d) => d.devices.items.iter().any(|x| wanted(x, scope)),
    }
}

/// True when converting the domain needs the host: it has SCSI hostdevs or whole-host
/// controllers. Without them no sysfs is read, so a conversion runs anywhere.
pub fn needs_host(d: &Domain) -> bool {
    reads_host(Def::Domain(d), Scope::Passthrough)
}

/// Resolve every device of a domain or pool that names host hardware, reading only what
/// the devices name (`src/resolve/targeted.rs` says what is read for each form): the cost follows the definition, not the size
/// of the host. Answers, errors and their messages are those of [`resolve_with_index`] over
/// a full [`Index::scan`], which is made (once) only when a device does not resolve; the
/// warnings are those of what was read. Fails only when the host cannot be read at all; a
/// device that does not resolve is a [`Resolution::Failed`].
pub fn resolve(def: &Definition, root: &SysfsRoot) -> Result<ResolvedDomain, ResolveError> {
    resolve_scoped(def.into(), root, Scope::All)
}

/// Resolve what a command line needs from the host: the `/dev/sgN` of every SCSI hostdev and
/// the LUs of every whole-host controller. A domain without them never reads the host. Each
/// LU is read for what the command line uses only: a hostdev's [`Lu`] has its `hctl` and
/// `sg`, a whole-host LU also its `block` (which chooses `scsi-block`); the descriptive
/// attributes (`scsi_type`, `vendor`, `model`, `rev`, `identity`) are left empty. [`resolve`]
/// reads everything.
pub fn resolve_passthrough(d: &Domain, root: &SysfsRoot) -> Result<ResolvedDomain, ResolveError> {
    resolve_scoped(Def::Domain(d), root, Scope::Passthrough)
}

fn resolve_scoped(
    def: Def<'_>,
    root: &SysfsRoot,
    scope: Scope,
) -> Result<ResolvedDomain, ResolveError> {
    if !reads_host(def, scope) {
        return Ok(ResolvedDomain::default());
    }
    let mut host = Targeted::new(root, scope == Scope::All);
    if let Def::Domain(d) = def {
        let hctls = hostdev_lus(d, scope, &mut host);
        host.prefetch_lus(&hctls);
    }
    let mut out = resolve_in(def, &mut host, scope);
    out.warnings = host.finish()?;
    Ok(out)
}

/// Resolve against an index already scanned (e.g. one scan for many files).
pub fn resolve_with_index(def: &Definition, idx: &Index) -> ResolvedDomain {
    let mut out = resolve_in(def.into(), &mut Scanned(idx), Scope::All);
    out.warnings = idx.warnings.clone();
    out
}

/// What resolution asks of a host: a full index ([`Scanned`]) or targeted reads
/// ([`Targeted`]), which answer alike.
trait Host {
    /// The number of the host an adapter names.
    fn adapter(&mut self, a: &Adapter) -> Result<u32, ResolveError>;
    /// The LU at `hctl`, which must have an sg node.
    fn lu(&mut self, hctl: Hctl) -> Result<Lu, ResolveError>;
    /// The LUs of a whole-host passthrough.
    fn whole_host(
        &mut self,
        n: u32,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<PassthroughLu>, ResolveError>;
    /// The LU with this block or sg node name.
    fn lu_by_node(&mut self, name: &str) -> Result<Option<Lu>, ResolveError>;
    /// The sysfs root, for messages.
    fn root_shown(&self) -> &str;
}

/// A full index.
struct Scanned<'a>(&'a Index);

impl Host for Scanned<'_> {
    fn adapter(&mut self, a: &Adapter) -> Result<u32, ResolveError> {
        resolve_adapter(self.0, a).map(|h| h.number)
    }

    fn lu(&mut self, hctl: Hctl) -> Result<Lu, ResolveError> {
        lookup_lu(self.0, hctl).cloned()
    }

    fn whole_host(
        &mut self,
        n: u32,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<PassthroughLu>, ResolveError> {
        whole_host(self.0, n, bus, target)
    }

    fn lu_by_node(&mut self, name: &str) -> Result<Option<Lu>, ResolveError> {
        let lu = if is_block_name(name) {
            self.0.lu_by_block(name)
        } else {
            self.0.lu_by_sg(name)
        };
        Ok(lu.cloned())
    }

    fn root_shown(&self) -> &str {
        &self.0.root
    }
}

impl Host for Targeted<'_> {
    fn adapter(&mut self, a: &Adapter) -> Result<u32, ResolveError> {
        Targeted::adapter(self, a)
    }

    fn lu(&mut self, hctl: Hctl) -> Result<Lu, ResolveError> {
        Targeted::lu(self, hctl)
    }

    fn whole_host(
        &mut self,
        n: u32,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<PassthroughLu>, ResolveError> {
        Targeted::whole_host(self, n, bus, target)
    }

    fn lu_by_node(&mut self, name: &str) -> Result<Option<Lu>, ResolveError> {
        Targeted::lu_by_node(self, name)
    }

    fn root_shown(&self) -> &str {
        Targeted::root_shown(self)
    }
}

/// Resolve a domain without a host: every SCSI hostdev passes `/dev/sg0`, which is what
/// libvirt's own test suite mocks, so conversions (and snapshots of them) do not depend on
/// the machine. A whole-host controller has no LUs without a host: it resolves to an error
/// that says to convert against a sysfs tree.
pub fn offline(d: &Domain) -> ResolvedDomain {
    let mut out = ResolvedDomain::default();
    each_device(d, Scope::Passthrough, &mut out, |item| match item {
        Device::Hostdev(h) => {
            let src = h.source.as_ref();
            let a = src.and_then(|s| s.scsi_address.as_ref());
            let hctl = Hctl {
                host: 0,
                bus: a.and_then(|a| a.bus).unwrap_or(0),
                target: a.and_then(|a| a.target).unwrap_or(0),
                lun: a.and_then(|a| a.unit).unwrap_or(0),
            };
            let lu = Lu {
                hctl,
                sg: Some("sg0".into()),
                block: None,
                scsi_type: None,
                vendor: None,
                model: None,
                rev: None,
                identity: Identity::Unknown,
            };
            let adapter = src.and_then(|s| s.adapter.as_ref());
            Some((DeviceClass::Hostdev, adapter, Resolution::Lu { lu }))
        }
        Device::Controller(c) => Some((
            DeviceClass::Controller,
            c.source.as_ref().and_then(|s| s.adapter.as_ref()),
            failed(ResolveError::NoHost),
        )),
        _ => None,
    });
    out
}

/// Resolve each device of `d` in `scope` with `f` (which may still pass one over), in
/// document order.
fn each_device<'d>(
    d: &'d Domain,
    scope: Scope,
    out: &mut ResolvedDomain,
    mut f: impl FnMut(&'d Device) -> Option<(DeviceClass, Option<&'d Adapter>, Resolution)>,
) {
    let paths = crate::model::DevicePaths::of(&d.devices);
    for (i, item) in d.devices.items.iter().enumerate() {
        if !wanted(item, scope) {
            continue;
        }
        if let Some((class, adapter, resolution)) = f(item) {
            out.push(ResolvedDevice {
                item: Some(i),
                path: paths[i].to_string(),
                class,
                adapter: adapter.map(describe),
                resolution,
            });
        }
    }
}

fn failed(error: ResolveError) -> Resolution {
    Resolution::Failed {
        host: None,
        hctl: None,
        error,
    }
}

fn resolve_in(def: Def<'_>, idx: &mut impl Host, scope: Scope) -> ResolvedDomain {
    let mut out = ResolvedDomain::default();
    match def {
        Def::Pool(p) => {
            if p.kind == "scsi" {
                let src = p.source.as_ref();
                let adapter = src.and_then(|s| s.adapter.as_ref());
                let resolution = match adapter {
                    Some(a) => whole(idx, a, src.and_then(|s| s.address.as_ref())),
                    None => failed(ResolveError::Incomplete {
                        what: "the scsi pool has no <source><adapter>",
                    }),
                };
                out.push(ResolvedDevice {
                    item: None,
                    path: if adapter.is_some() {
                        "/pool/source/adapter".into()
                    } else {
                        "/pool/source".into()
                    },
                    class: DeviceClass::Pool,
                    adapter: adapter.map(describe),
                    resolution,
                });
            }
        }
        Def::Domain(d) => each_device(d, scope, &mut out, |dev| match dev {
            Device::Hostdev(h) => {
                let adapter = h.source.as_ref().and_then(|s| s.adapter.as_ref());
                Some((DeviceClass::Hostdev, adapter, hostdev(idx, h)))
            }
            Device::Controller(c) => {
                let src = c.source.as_ref();
                let adapter = src.and_then(|s| s.adapter.as_ref())?;
                let r = whole(idx, adapter, src.and_then(|s| s.address.as_ref()));
                Some((DeviceClass::Controller, Some(adapter), r))
            }
            Device::Disk(disk) => Some((DeviceClass::Disk, None, lun_disk(idx, disk))),
            _ => None,
        }),
    }
    out
}

/// The LUs the SCSI hostdevs of `d` name, in order, when there are enough of them to read
/// ahead ([`Targeted::prefetch_lus`]); empty otherwise. An adapter named by host number
/// needs no reading; one named another way is resolved here through a root and a
/// [`Targeted`] of its own, which leave the real resolution's warnings as they were (its
/// hosts are handed over when that changes nothing: [`Targeted::take_hosts_from`]). A
/// hostdev whose adapter does not resolve is left out: it is read (and fails) when asked.
fn hostdev_lus(d: &Domain, scope: Scope, host: &mut Targeted<'_>) -> Vec<Hctl> {
    let named: Vec<(&Adapter, u32, u32, u64)> = d
        .devices
        .items
        .iter()
        .filter(|item| wanted(item, scope))
        .filter_map(|item| match item {
            Device::Hostdev(h) if h.scsi_protocol() == Some(HostdevSourceProtocol::Adapter) => {
                let src = h.source.as_ref()?;
                let addr = src.scsi_address.as_ref()?;
                Some((src.adapter.as_ref()?, addr.bus?, addr.target?, addr.unit?))
            }
            _ => None,
        })
        .collect();
    if named.len() < super::targeted::PREFETCH_MIN {
        return Vec::new();
    }
    // One root and one reader for every adapter not named by number, as the real
    // resolution has.
    let by_number = |a: &Adapter| match a.form() {
        Ok(AdapterForm::HostNumber(n)) => Some(n),
        _ => None,
    };
    let aux_root = match named.iter().any(|(a, ..)| by_number(a).is_none()) {
        true => match host.root().sibling() {
            Ok(r) => Some(r),
            Err(_) => return Vec::new(),
        },
        false => None,
    };
    let mut aux = aux_root.as_ref().map(|r| Targeted::new(r, false));
    let mut known: HashMap<String, Option<u32>> = HashMap::new();
    let mut hctls = Vec::with_capacity(named.len());
    for (a, bus, target, lun) in named {
        let n = match (by_number(a), aux.as_mut()) {
            (Some(n), _) => Some(n),
            (None, Some(t)) => *known
                .entry(describe(a))
                .or_insert_with(|| t.adapter(a).ok()),
            (None, None) => None,
        };
        if let Some(n) = n {
            hctls.push(Hctl {
                host: n,
                bus,
                target,
                lun,
            });
        }
    }
    if let Some(aux) = aux {
        host.take_hosts_from(aux);
    }
    hctls
}

fn hostdev(idx: &mut impl Host, h: &crate::model::Hostdev) -> Resolution {
    let src = h.source.as_ref();
    if h.scsi_protocol() != Some(HostdevSourceProtocol::Adapter) {
        return Resolution::Skipped {
            reason: "not a host adapter source (iSCSI is resolved by QEMU, not sysfs)".into(),
        };
    }
    let (Some(a), Some(addr)) = (
        src.and_then(|s| s.adapter.as_ref()),
        src.and_then(|s| s.scsi_address.as_ref()),
    ) else {
        return failed(ResolveError::Incomplete {
            what: "a SCSI hostdev needs <source><adapter> and <address bus target unit>",
        });
    };
    let (Some(bus), Some(target), Some(lun)) = (addr.bus, addr.target, addr.unit) else {
        return failed(ResolveError::Incomplete {
            what: "the source <address> needs bus, target and unit",
        });
    };
    let host = match idx.adapter(a) {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let hctl = Hctl {
        host,
        bus,
        target,
        lun,
    };
    match idx.lu(hctl) {
        Ok(lu) => Resolution::Lu { lu },
        Err(error) => Resolution::Failed {
            host: Some(host),
            hctl: Some(hctl),
            error,
        },
    }
}

fn whole(idx: &mut impl Host, adapter: &Adapter, address: Option<&PoolStyleAddress>) -> Resolution {
    let host = match idx.adapter(adapter) {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let bus = address.map(|a| a.bus.unwrap_or(0));
    let target = address.and_then(|a| a.target);
    match idx.whole_host(host, bus, target) {
        Ok(lus) => Resolution::Host {
            host,
            bus,
            target,
            lus,
        },
        Err(error) => Resolution::Failed {
            host: Some(host),
            hctl: None,
            error,
        },
    }
}

fn lun_disk(idx: &mut impl Host, disk: &crate::model::Disk) -> Resolution {
    let crate::model::SourceKind::Block { dev } = disk.source_kind() else {
        return Resolution::Skipped {
            reason: "not a block-device source; nothing to look up in sysfs".into(),
        };
    };
    let name = dev.strip_prefix("/dev/").unwrap_or("");
    let lu = if is_block_name(name) || is_sg_name(name) {
        idx.lu_by_node(name)
    } else {
        return Resolution::Skipped {
            reason: format!(
                "{dev} is not a /dev/sdX, /dev/srN or /dev/sgN name; domxml does not follow /dev links"
            ),
        };
    };
    match lu {
        Ok(Some(lu)) => Resolution::Lu { lu },
        Ok(None) => failed(ResolveError::NoLuForNode {
            node: dev.to_string(),
            root: match idx.root_shown() {
                "/" => String::new(),
                r => r.to_string(),
            },
        }),
        Err(e) => failed(e),
    }
}
