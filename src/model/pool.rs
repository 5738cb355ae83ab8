//! `<pool type='scsi'>`. Only the source is modelled; everything else is kept verbatim.

use super::{Adapter, ChildExtra, Extra, PoolStyleAddress};
use crate::xml::Element;

/// `<source>` of a SCSI pool.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PoolSource {
    /// `<adapter>`.
    pub adapter: Option<Adapter>,
    /// `<address type='scsi' bus target/>`: restricts the pool to one target.
    pub address: Option<PoolStyleAddress>,
    /// Unknown content (`<vendor>`, `<product>` and the like are kept here).
    pub extra: Extra,
}

/// `<pool>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    /// `type` (scsi; other pool types are kept but not checked).
    pub kind: String,
    /// `<name>`.
    pub name: Option<String>,
    /// `<uuid>`.
    pub uuid: Option<uuid::Uuid>,
    /// `<source>`.
    pub source: Option<PoolSource>,
    /// Known libvirt elements kept verbatim (`<target>`, `<capacity>`, …).
    pub other: Vec<Element>,
    /// Unknown content.
    pub extra: Extra,
    /// Unknown content of single-valued children (`<name>`, `<uuid>`), by child name.
    pub child_extra: ChildExtra,
}
