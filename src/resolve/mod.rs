//! Host resolution: from the stable names a definition uses (a PCI parent and `unique_id`,
//! FC WWNs, a host number) to today's `hostN`, `H:B:T:L`, `/dev/sgN` and `/dev/sdX`, read
//! from sysfs through a [`SysfsRoot`].
//!
//! [`resolve`] is the one path from a definition to a [`ResolvedDomain`]; `convert`, the
//! `resolve` report and `validate --sysfs-root` all read what it returns.
//!
//! ```
//! use domxml::resolve::{Index, SysfsRoot, resolve_adapter};
//! let root = SysfsRoot::at(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35")).unwrap();
//! let idx = Index::scan(&root).unwrap();
//! let adapter = domxml::model::Adapter { parent: Some("pci_0000_01_00_0".into()), ..Default::default() };
//! assert_eq!(resolve_adapter(&idx, &adapter).unwrap().number, 6);
//! ```

pub mod adapter;
pub mod error;
pub mod index;
pub mod lu;
pub mod report;
pub mod resolved;
pub mod snapshot;
pub mod sysfs;
mod targeted;

pub use adapter::resolve_adapter;
pub use error::ResolveError;
pub use index::{Identity, Index, Lu, ScsiHost};
pub use lu::{
    lookup_lu, qemu_lun, whole_host, PassthroughLu, VIRTIO_SCSI_MAX_LUN, VIRTIO_SCSI_MAX_TARGET,
};
pub use resolved::{
    needs_host, offline, resolve, resolve_passthrough, resolve_with_index, DeviceClass, Resolution,
    ResolvedDevice, ResolvedDomain,
};
pub use sysfs::{Hctl, SysPath, SysfsRoot};
