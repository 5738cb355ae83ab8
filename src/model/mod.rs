//! The typed model of libvirt domain and storage-pool XML: plain data, no behaviour beyond
//! small accessors. Policy lives in `validate`, reading and writing in `codec`.
//!
//! Every typed element carries an [`Extra`] with the attributes and children domxml does not
//! understand, so that formatting a document never drops what a user wrote.

mod adapter;
mod address;
mod controller;
mod disk;
mod domain;
mod hostdev;
mod paths;
mod pci;
mod pool;
mod types;

pub use adapter::{
    is_wwn, parse_host_name, Adapter, AdapterForm, AdapterProblem, AdapterType, ParentAddr, PciName,
};
pub use address::{CcwAddress, DeviceAddress, DriveAddress, PciAddress, ScsiSourceAddress};
pub use controller::{
    Controller, ControllerDriver, ControllerModel, ControllerSource, ControllerType,
    PoolStyleAddress, ScsiModel, VirtioOptions,
};
pub use disk::{
    Blockio, Disk, DiskBus, DiskDevice, DiskDriver, DiskSource, DiskTarget, DiskType, Geometry,
    NetHost, Reservations, ReservationsSource, SourceAuth, SourceKind, SourceSecret,
};
pub use domain::{Device, Devices, Domain, DomainType, Memory, Os, OsType, Vcpu};
pub use hostdev::{
    Hostdev, HostdevMode, HostdevSource, HostdevSourceProtocol, HostdevType, Rom, ScsiHostModel,
};
pub use paths::DevicePaths;
pub use pci::{PciModel, PciModelName, PciOptions, PciTarget};
pub use pool::{Pool, PoolSource};
pub use types::{Boot, ChildExtra, Extra, Hex, Kept, OnOff, YesNo};

/// Either document domxml reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Definition {
    /// A `<domain>`.
    Domain(Box<Domain>),
    /// A `<pool>`.
    Pool(Box<Pool>),
}

/// A closed vocabulary read from an attribute: a value outside it is an error, never a
/// silent catch-all, so nothing a user wrote is lost or misread.
pub trait XmlEnum: Sized + Copy {
    /// Every XML spelling.
    const NAMES: &'static [&'static str];
    /// Parse the XML spelling.
    fn from_xml(s: &str) -> Option<Self>;
}

/// Define a closed vocabulary: an enum with its XML spellings.
macro_rules! xml_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[doc = concat!("`", $s, "`")] #[serde(rename = $s)] $var),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// Every XML spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            /// The XML spelling.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
            /// Parse the XML spelling.
            pub fn from_xml(s: &str) -> Option<Self> { match s { $($s => Some($name::$var),)+ _ => None } }
        }
        impl $crate::model::XmlEnum for $name {
            const NAMES: &'static [&'static str] = &[$($s),+];
            fn from_xml(s: &str) -> Option<Self> { $name::from_xml(s) }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use xml_enum;
