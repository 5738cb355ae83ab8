//! Side-effect-free checks on the model: libvirt's SCSI rules (reference §b, c.3, d.6, e.1,
//! e.5, f.3, g) plus checks libvirt lacks. Every finding has a stable code
//! (`docs/error-codes.md`), a message naming the values involved, an element path and, where
//! one helps, a hint. Checks report all findings rather than stopping at the first, so one run
//! shows everything to fix.

mod conflicts;
mod controller;
mod disk;
mod hostdev;
mod identity;
mod pool;

use crate::assign::ScsiLayout;
use crate::diag::Diagnostic;
use crate::model::{Adapter, Definition, Domain};

/// Validate a definition. Returns every finding (errors only: warnings come from parsing),
/// with element paths; [`crate::check`] adds lines and columns.
///
/// ```
/// let p = domxml::codec::parse_str("<domain type='qemu'><devices>\
///   <disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>\
///   <disk type='file'><source file='/b'/><target dev='sda' bus='scsi'/></disk>\
///   </devices></domain>").unwrap();
/// let found = domxml::validate::validate(&p.definition);
/// assert_eq!(found[0].code, domxml::codes::E022); // two disks named sda
/// assert_eq!(found[0].path, "/domain/devices/disk[2]/target/@dev");
/// ```
pub fn validate(def: &Definition) -> Vec<Diagnostic> {
    match def {
        Definition::Domain(d) => validate_domain(d),
        Definition::Pool(p) => pool::check(p),
    }
}

/// The most `<iothreads>` a domain may ask for. libvirt sets no bound and would start them
/// all; each is a host thread and an `-object` on the command line, so a count far beyond any
/// host's cores is a typo that would otherwise cost memory and time in proportion to the
/// number, not to the document (a 30-byte `<iothreads>4294967295</iothreads>` asked for four
/// billion).
pub const MAX_IOTHREADS: u32 = 16384;

/// Validate a domain.
pub fn validate_domain(d: &Domain) -> Vec<Diagnostic> {
    let layout = ScsiLayout::of(d);
    let mut out = Vec::new();
    let paths = crate::model::DevicePaths::of(&d.devices);
    let cx = Cx {
        domain: d,
        layout: &layout,
        paths: &paths,
    };
    if let Some(n) = d.iothreads.filter(|&n| n > MAX_IOTHREADS) {
        out.push(
            Diagnostic::new(
                crate::diag::codes::E059,
                "/domain/iothreads",
                format!("{n} iothreads is more than domxml converts (at most {MAX_IOTHREADS})"),
            )
            .hint("each iothread is a host thread and an -object on the command line: give the number the guest's disks and controllers use"),
        );
    }
    controller::check(&cx, &mut out);
    disk::check(&cx, &mut out);
    hostdev::check(&cx, &mut out);
    conflicts::check(&cx, &mut out);
    identity::check(&cx, &mut out);
    out
}

/// What every check reads.
pub(crate) struct Cx<'a> {
    pub domain: &'a Domain,
    pub layout: &'a ScsiLayout,
    pub paths: &'a crate::model::DevicePaths,
}

impl<'a> Cx<'a> {
    pub fn path(&self, item: usize) -> &'a str {
        &self.paths[item]
    }
}

/// Check an adapter's form; on failure push one diagnostic at the offending attribute.
pub(crate) fn check_adapter(adapter: &Adapter, path: &str, out: &mut Vec<Diagnostic>) {
    if let Err(p) = adapter.form() {
        let at = if p.at.is_empty() {
            path.to_string()
        } else {
            format!("{path}/{}", p.at)
        };
        let hint = match p.code.as_str() {
            "E070" => "name a host as 'scsi_hostN' (see /sys/class/scsi_host), or use the stable form parent='pci_DDDD_BB_SS_F' unique_id='N'",
            "E071" => "write the PCI device as in `virsh nodedev-list`: pci_0000_00_1f_2 (domain, bus, slot, function in hex)",
            "E072" => "use the host's /sys/class/scsi_host/hostN/unique_id value, a decimal number such as 0 or 1",
            "E073" => "pick one form: name='scsi_hostN' | parent='pci_…' unique_id='N' | type='scsi_host' with <parentaddr> | type='fc_host' wwnn=… wwpn=…",
            "E074" => "give wwnn and wwpn as 16 hex digits (see /sys/class/fc_host/hostN/node_name and port_name); parent_wwnn and parent_wwpn go together",
            "E075" => "write <parentaddr unique_id='N'><address domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/></parentaddr>",
            _ => "check the PCI address fields: domain ≤ 0xffff, bus ≤ 0xff, slot ≤ 0x1f, function ≤ 7",
        };
        out.push(Diagnostic::new(p.code, at, p.message).hint(hint));
    }
}
