//! The applier: bring a domain's SCSI and PCI passthrough devices to a desired definition.
//!
//! * [`plan`]: a pure diff of two definitions ([`plan::diff`]) into an ordered list of libvirt
//!   device calls, with the reason for each change. No host, no libvirt.
//! * [`render`]: the plan for people (Terraform's `+`, `-`, `~`, `-/+`) and as JSON.
//!
//! Only these devices are managed: SCSI controllers (whole-host ones included), disks on a
//! SCSI bus and `device='lun'` disks, SCSI / vhost-scsi / PCI hostdevs. Every other device is
//! left as it is.
//!
//! ```
//! use domxml::apply::plan::{diff, Targets};
//! let a = domxml::check_str("<domain type='qemu'><name>vm</name><devices>\
//!   <controller type='scsi' index='0' model='virtio-scsi'/>\
//!   <disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='scsi'/></disk>\
//!   </devices></domain>").domain().unwrap().clone();
//! let mut b = a.clone();
//! b.devices.items.pop();
//! let plan = diff(&a, &b, Targets::BOTH).unwrap();
//! assert_eq!(plan.ops.len(), 1);
//! assert!(diff(&a, &a, Targets::BOTH).unwrap().is_empty());
//! ```

pub mod compare;
pub mod key;
pub mod plan;
pub mod render;

pub use key::DeviceKey;
pub use plan::{diff, diff_both, Action, Call, Plan, PlanError, Side, Targets};
pub mod backend;
pub mod exec;
pub mod fake;
#[cfg(feature = "libvirt")]
pub mod libvirt;
pub mod lifecycle;
#[cfg(feature = "libvirt")]
pub mod online;
pub mod slots;
pub mod stable;
