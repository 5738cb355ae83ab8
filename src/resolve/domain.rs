//! The typed result of resolving a domain, for the emitter: every SCSI hostdev with its
//! `/dev/sgN`, every whole-host controller with the devices it passes through. Unlike the
//! report (`report.rs`, for people), this fails as a whole when any device does not resolve:
//! a command line must never be emitted with a device missing.

use super::adapter::resolve_adapter;
use super::error::ResolveError;
use super::index::{Index, Lu};
use super::lu::{lookup_lu, whole_host, PassthroughLu};
use super::sysfs::Hctl;
use crate::model::{Device, Domain, HostdevSourceProtocol, HostdevType};

/// A `<hostdev type='scsi'>` with an adapter source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedHostdev<'i> {
    /// Position in `Devices::items`.
    pub item: usize,
    /// The host LU.
    pub lu: &'i Lu,
    /// `/dev/sgN`, what QEMU's `host_device` backend opens.
    pub sg_path: String,
}

/// A whole-host passthrough controller, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedController<'i> {
    /// Position in `Devices::items`.
    pub item: usize,
    /// The host number.
    pub host: u32,
    /// Every LU it passes through, in H:B:T:L order.
    pub lus: Vec<PassthroughLu<'i>>,
}

impl PassthroughLu<'_> {
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

/// Everything in a domain that names host SCSI hardware, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedDomain<'i> {
    /// SCSI hostdevs with an adapter source, in document order.
    pub hostdevs: Vec<ResolvedHostdev<'i>>,
    /// Whole-host controllers, in document order.
    pub controllers: Vec<ResolvedController<'i>>,
}

/// Resolve a domain's SCSI hostdevs and whole-host controllers. Every failure is returned,
/// each with the element path of its device. Hostdevs that name no host adapter (iSCSI,
/// vhost) and incomplete sources (the validator reports those) are left out.
pub fn resolve_domain<'i>(
    d: &Domain,
    idx: &'i Index,
) -> Result<ResolvedDomain<'i>, Vec<(String, ResolveError)>> {
    let mut out = ResolvedDomain::default();
    let mut errors = Vec::new();
    for (item, dev) in d.devices.items.iter().enumerate() {
        match dev {
            Device::Hostdev(h)
                if h.kind == HostdevType::Scsi
                    && h.scsi_protocol() == Some(HostdevSourceProtocol::Adapter) =>
            {
                let src = h.source.as_ref();
                let (Some(a), Some(addr)) = (
                    src.and_then(|s| s.adapter.as_ref()),
                    src.and_then(|s| s.scsi_address.as_ref()),
                ) else {
                    continue;
                };
                let (Some(bus), Some(target), Some(lun)) = (addr.bus, addr.target, addr.unit)
                else {
                    continue;
                };
                let r = resolve_adapter(idx, a).and_then(|host| {
                    lookup_lu(
                        idx,
                        Hctl {
                            host: host.number,
                            bus,
                            target,
                            lun,
                        },
                    )
                });
                match r {
                    Ok(lu) => out.hostdevs.push(ResolvedHostdev {
                        item,
                        lu,
                        sg_path: format!("/dev/{}", lu.sg.as_deref().unwrap_or_default()),
                    }),
                    Err(e) => errors.push((d.devices.path_of(item), e)),
                }
            }
            Device::Controller(c) => {
                let Some(src) = c.source.as_ref() else {
                    continue;
                };
                let Some(a) = src.adapter.as_ref() else {
                    continue;
                };
                let bus = src.address.as_ref().map(|x| x.bus.unwrap_or(0));
                let target = src.address.as_ref().and_then(|x| x.target);
                let r = resolve_adapter(idx, a).and_then(|host| {
                    whole_host(idx, host.number, bus, target).map(|lus| (host.number, lus))
                });
                match r {
                    Ok((host, lus)) => out.controllers.push(ResolvedController { item, host, lus }),
                    Err(e) => errors.push((d.devices.path_of(item), e)),
                }
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
