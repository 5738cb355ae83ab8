//! `<adapter>`: how a SCSI host adapter is named, in hostdev, controller and pool sources.
//!
//! The wire struct is flat (every attribute optional) so that any combination a user writes
//! survives `fmt`; [`Adapter::form`] turns it into one of the forms domxml accepts, or says
//! why not. Four forms exist:
//! - `name='scsi_hostN'` (or `hostN`): a host number, unstable across boots;
//! - domxml's flat form `parent='pci_DDDD_BB_SS_F' unique_id='N'` (`unique_id` optional);
//! - libvirt's `type='scsi_host'` with `<parentaddr unique_id='N'><address …/></parentaddr>`;
//! - `type='fc_host'` with `wwnn`/`wwpn` and optional parent selectors.

use super::{xml_enum, Extra, PciAddress};
use crate::diag::{codes, Code};

xml_enum! {
    /// `<adapter type=…>`.
    pub enum AdapterType { ScsiHost = "scsi_host", FcHost = "fc_host" }
}

/// `<parentaddr unique_id='N'><address …/></parentaddr>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ParentAddr {
    /// The kernel's `unique_id` of the host under that PCI function (kept as written).
    pub unique_id: Option<String>,
    /// The PCI function the host sits under.
    pub address: Option<PciAddress>,
    /// Unknown content of `<address>`.
    pub address_extra: Extra,
    /// Unknown content.
    pub extra: Extra,
}

/// `<adapter>` as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Adapter {
    /// `type`.
    pub kind: Option<AdapterType>,
    /// `name='scsi_hostN'`.
    pub name: Option<String>,
    /// `parent`: a PCI device name in the flat form, a SCSI host name for fc_host.
    pub parent: Option<String>,
    /// `unique_id` of the flat form (kept as written; checked by the validator).
    pub unique_id: Option<String>,
    /// `parent_wwnn` (fc_host).
    pub parent_wwnn: Option<String>,
    /// `parent_wwpn` (fc_host).
    pub parent_wwpn: Option<String>,
    /// `parent_fabric_wwn` (fc_host).
    pub parent_fabric_wwn: Option<String>,
    /// `managed` (fc_host).
    pub managed: Option<super::YesNo>,
    /// `wwnn` (fc_host).
    pub wwnn: Option<String>,
    /// `wwpn` (fc_host).
    pub wwpn: Option<String>,
    /// `<parentaddr>` (scsi_host).
    pub parentaddr: Option<ParentAddr>,
    /// Unknown content.
    pub extra: Extra,
}

/// A PCI function named as in the flat form (`pci_0000_00_1f_2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PciName {
    /// PCI domain.
    pub domain: u16,
    /// Bus.
    pub bus: u8,
    /// Slot.
    pub slot: u8,
    /// Function.
    pub function: u8,
}

impl PciName {
    /// Parse `pci_DDDD_BB_SS_F` (exactly 4/2/2/1 hex digits; slot ≤ 0x1f, function ≤ 7).
    pub fn parse(s: &str) -> Option<PciName> {
        let rest = s.strip_prefix("pci_")?;
        let parts: Vec<&str> = rest.split('_').collect();
        if parts.len() != 4 {
            return None;
        }
        let widths = [4, 2, 2, 1];
        for (p, w) in parts.iter().zip(widths) {
            if p.len() != w || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
        }
        let slot = u8::from_str_radix(parts[2], 16).ok()?;
        let function = u8::from_str_radix(parts[3], 16).ok()?;
        if slot > 0x1f || function > 7 {
            return None;
        }
        Some(PciName {
            domain: u16::from_str_radix(parts[0], 16).ok()?,
            bus: u8::from_str_radix(parts[1], 16).ok()?,
            slot,
            function,
        })
    }

    /// The sysfs spelling, `dddd:bb:ss.f`.
    pub fn bdf(&self) -> String {
        // Built by hand: a domain of many hostdevs asks once per adapter.
        let mut s = String::with_capacity(12);
        push_hex(&mut s, u32::from(self.domain), 4);
        s.push(':');
        push_hex(&mut s, u32::from(self.bus), 2);
        s.push(':');
        push_hex(&mut s, u32::from(self.slot), 2);
        s.push('.');
        push_hex(&mut s, u32::from(self.function), 1);
        s
    }
}

/// `v` in lower-case hex, zero-padded to at least `width` digits (`{v:0width$x}`).
fn push_hex(s: &mut String, v: u32, width: usize) {
    let digits = if v == 0 {
        1
    } else {
        (32 - v.leading_zeros() as usize).div_ceil(4)
    };
    for _ in digits..width {
        s.push('0');
    }
    for i in (0..digits).rev() {
        let d = (v >> (i * 4)) & 0xf;
        s.push(char::from_digit(d, 16).expect("a hex digit"));
    }
}

/// What an adapter names, once its attributes are known to make sense together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum AdapterForm {
    /// `scsi_hostN` / `hostN`.
    HostNumber(u32),
    /// The host under a PCI function with a `unique_id` (flat form or parentaddr). `None`
    /// (flat form only) means "the one with the smallest unique_id".
    ByParent {
        /// The PCI function.
        pci: PciName,
        /// The wanted unique_id.
        unique_id: Option<u32>,
    },
    /// An FC host by WWNN/WWPN (lower-case hex, no `0x`).
    FcHost {
        /// World-wide node name.
        wwnn: String,
        /// World-wide port name.
        wwpn: String,
    },
}

/// Why an adapter's attributes do not form an adapter: a code from `docs/error-codes.md`, the
/// attribute at fault (empty for the element) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterProblem {
    /// Diagnostic code.
    pub code: Code,
    /// Relative path of the offending attribute or element (`@unique_id`, `parentaddr`), or "".
    pub at: &'static str,
    /// What is wrong.
    pub message: String,
}

fn problem(code: Code, at: &'static str, message: impl Into<String>) -> AdapterProblem {
    AdapterProblem {
        code,
        at,
        message: message.into(),
    }
}

/// Parse a `scsi_hostN` / `hostN` name, decimal as libvirt's pool helper reads it.
pub fn parse_host_name(s: &str) -> Option<u32> {
    let digits = s
        .strip_prefix("scsi_host")
        .or_else(|| s.strip_prefix("host"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// True for a WWN as libvirt's `virValidateWWN` accepts it: optional `0x`, 16 hex digits.
pub fn is_wwn(s: &str) -> bool {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn norm_wwn(s: &str) -> String {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
        .to_ascii_lowercase()
}

fn parse_unique_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

impl Adapter {
    /// Decide which form this adapter is, checking attribute combinations and value patterns
    /// the way libvirt's `virStorageAdapterParseXML`/`Validate` do, plus domxml's flat form.
    pub fn form(&self) -> Result<AdapterForm, AdapterProblem> {
        let fc_attrs = self.wwnn.is_some()
            || self.wwpn.is_some()
            || self.parent_wwnn.is_some()
            || self.parent_wwpn.is_some()
            || self.parent_fabric_wwn.is_some()
            || self.managed.is_some();
        match self.kind {
            Some(AdapterType::FcHost) => {
                if self.name.is_some() || self.parentaddr.is_some() || self.unique_id.is_some() {
                    return Err(problem(
                        codes::E073,
                        "",
                        "an fc_host adapter is named by wwnn/wwpn; name, unique_id and <parentaddr> belong to scsi_host adapters",
                    ));
                }
                let (wwnn, wwpn) = match (&self.wwnn, &self.wwpn) {
                    (Some(n), Some(p)) => (n, p),
                    _ => {
                        return Err(problem(
                            codes::E074,
                            "",
                            "'wwnn' and 'wwpn' must both be specified for an fc_host adapter",
                        ))
                    }
                };
                for (v, at, what) in [
                    (Some(wwnn), "@wwnn", "wwnn"),
                    (Some(wwpn), "@wwpn", "wwpn"),
                    (self.parent_wwnn.as_ref(), "@parent_wwnn", "parent_wwnn"),
                    (self.parent_wwpn.as_ref(), "@parent_wwpn", "parent_wwpn"),
                    (
                        self.parent_fabric_wwn.as_ref(),
                        "@parent_fabric_wwn",
                        "parent_fabric_wwn",
                    ),
                ] {
                    if let Some(v) = v {
                        if !is_wwn(v) {
                            return Err(problem(
                                codes::E074,
                                at,
                                format!("{what} {v} is not a WWN (16 hex digits, optionally prefixed by 0x)", v = crate::diag::quote(v)),
                            ));
                        }
                    }
                }
                match (&self.parent_wwnn, &self.parent_wwpn) {
                    (Some(n), None) => {
                        return Err(problem(
                            codes::E074,
                            "@parent_wwnn",
                            format!(
                            "when providing parent_wwnn={n}, the parent_wwpn must also be provided",
                            n = crate::diag::quote(n)
                        ),
                        ))
                    }
                    (None, Some(p)) => {
                        return Err(problem(
                            codes::E074,
                            "@parent_wwpn",
                            format!(
                            "when providing parent_wwpn={p}, the parent_wwnn must also be provided",
                            p = crate::diag::quote(p)
                        ),
                        ))
                    }
                    _ => {}
                }
                if let Some(p) = &self.parent {
                    if parse_host_name(p).is_none() && !p.starts_with("fc_host") {
                        return Err(problem(
                            codes::E070,
                            "@parent",
                            format!(
                                "fc_host parent {} is not a SCSI host name such as 'scsi_host5'",
                                crate::diag::quote(p)
                            ),
                        ));
                    }
                }
                Ok(AdapterForm::FcHost {
                    wwnn: norm_wwn(wwnn),
                    wwpn: norm_wwn(wwpn),
                })
            }
            kind => {
                if fc_attrs {
                    return Err(problem(
                        codes::E073,
                        "",
                        if kind.is_none() {
                            "use of 'wwnn', 'wwpn', 'managed' and the parent_* attributes requires the adapter type='fc_host'"
                        } else {
                            "wwnn, wwpn, managed and the parent_* attributes belong to fc_host adapters, not scsi_host"
                        },
                    ));
                }
                if self.parentaddr.is_some() && kind.is_none() {
                    return Err(problem(
                        codes::E073,
                        "parentaddr",
                        "use of the 'parentaddr' element requires the adapter type='scsi_host'",
                    ));
                }
                let named = self.name.is_some();
                let flat = self.parent.is_some() || self.unique_id.is_some();
                let by_addr = self.parentaddr.is_some();
                let forms = [named, flat, by_addr].iter().filter(|b| **b).count();
                if forms > 1 {
                    return Err(problem(
                        codes::E073,
                        "",
                        "an adapter is named one way only: 'name', or 'parent' (+ 'unique_id'), or <parentaddr>",
                    ));
                }
                if forms == 0 {
                    return Err(problem(
                        codes::E073,
                        "",
                        "the adapter names no host: give 'name', 'parent' (+ 'unique_id'), <parentaddr> or type='fc_host' with wwnn/wwpn",
                    ));
                }
                if let Some(n) = &self.name {
                    return parse_host_name(n)
                        .map(AdapterForm::HostNumber)
                        .ok_or_else(|| {
                            problem(
                                codes::E070,
                                "@name",
                                format!(
                                    "adapter name {n} is not of the form 'scsi_hostN' (or 'hostN')",
                                    n = crate::diag::quote(n)
                                ),
                            )
                        });
                }
                if flat {
                    if kind.is_some() {
                        return Err(problem(
                            codes::E073,
                            "@parent",
                            "the flat 'parent'/'unique_id' form takes no type attribute (type='scsi_host' uses <parentaddr>)",
                        ));
                    }
                    let parent = match &self.parent {
                        Some(p) => p,
                        None => {
                            return Err(problem(
                                codes::E073,
                                "@unique_id",
                                "'unique_id' needs 'parent' naming the PCI device (parent='pci_0000_00_1f_2')",
                            ))
                        }
                    };
                    let pci = PciName::parse(parent).ok_or_else(|| {
                        problem(
                            codes::E071,
                            "@parent",
                            format!("parent {parent} is not a PCI device name of the form 'pci_DDDD_BB_SS_F'", parent = crate::diag::quote(parent)),
                        )
                    })?;
                    let unique_id = match &self.unique_id {
                        None => None,
                        Some(u) => Some(parse_unique_id(u).ok_or_else(|| {
                            problem(
                                codes::E072,
                                "@unique_id",
                                format!(
                                    "unique_id {u} is not a non-negative decimal number",
                                    u = crate::diag::quote(u)
                                ),
                            )
                        })?),
                    };
                    return Ok(AdapterForm::ByParent { pci, unique_id });
                }
                let pa = self.parentaddr.as_ref().expect("checked above");
                let addr = pa.address.as_ref().ok_or_else(|| {
                    problem(
                        codes::E075,
                        "parentaddr",
                        "<parentaddr> must contain the PCI <address> of the host's parent",
                    )
                })?;
                let u = pa.unique_id.as_ref().ok_or_else(|| {
                    problem(
                        codes::E075,
                        "parentaddr",
                        "<parentaddr> needs a 'unique_id' attribute",
                    )
                })?;
                let unique_id = parse_unique_id(u).ok_or_else(|| {
                    problem(
                        codes::E072,
                        "parentaddr/@unique_id",
                        format!(
                            "unique_id {u} is not a non-negative decimal number",
                            u = crate::diag::quote(u)
                        ),
                    )
                })?;
                let get = |h: Option<super::Hex>| h.map(|h| h.0).unwrap_or(0);
                let (d, b, s, f) = (
                    get(addr.domain),
                    get(addr.bus),
                    get(addr.slot),
                    get(addr.function),
                );
                if d > 0xffff || b > 0xff || s > 0x1f || f > 7 {
                    return Err(problem(
                        codes::E083,
                        "parentaddr/address",
                        format!("PCI address {d:x}:{b:x}:{s:x}.{f:x} is out of range"),
                    ));
                }
                Ok(AdapterForm::ByParent {
                    pci: PciName {
                        domain: d as u16,
                        bus: b as u8,
                        slot: s as u8,
                        function: f as u8,
                    },
                    unique_id: Some(unique_id),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdf_is_spelled_as_sysfs_spells_it_for_every_width() {
        for (domain, bus, slot, function) in [
            (0, 0, 0, 0),
            (0, 1, 0x1f, 2),
            (0xabcd, 0xff, 0x1f, 7),
            (0x10, 0x0a, 0x03, 0),
            (0xffff, 0x10, 0x10, 1),
        ] {
            let p = PciName {
                domain,
                bus,
                slot,
                function,
            };
            assert_eq!(
                p.bdf(),
                format!("{domain:04x}:{bus:02x}:{slot:02x}.{function:x}")
            );
        }
    }

    fn flat(parent: &str, uid: Option<&str>) -> Adapter {
        Adapter {
            parent: Some(parent.into()),
            unique_id: uid.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn flat_form_without_unique_id_is_accepted() {
        assert_eq!(
            flat("pci_0000_00_1f_2", None).form(),
            Ok(AdapterForm::ByParent {
                pci: PciName {
                    domain: 0,
                    bus: 0,
                    slot: 0x1f,
                    function: 2
                },
                unique_id: None
            })
        );
    }

    #[test]
    fn flat_form_rejects_short_fields() {
        assert_eq!(
            flat("pci_0_0_1f_2", Some("1")).form().unwrap_err().code,
            codes::E071
        );
    }

    #[test]
    fn flat_form_rejects_signed_unique_id() {
        assert_eq!(
            flat("pci_0000_00_1f_2", Some("-1"))
                .form()
                .unwrap_err()
                .code,
            codes::E072
        );
    }

    #[test]
    fn name_and_parent_together_are_refused() {
        let a = Adapter {
            name: Some("scsi_host0".into()),
            ..flat("pci_0000_00_1f_2", None)
        };
        assert_eq!(a.form().unwrap_err().code, codes::E073);
    }

    #[test]
    fn wwnn_without_type_is_refused() {
        let a = Adapter {
            wwnn: Some("20000000c9831b4b".into()),
            wwpn: Some("10000000c9831b4b".into()),
            ..Default::default()
        };
        assert_eq!(a.form().unwrap_err().code, codes::E073);
    }

    #[test]
    fn fc_host_wwns_are_normalised() {
        let a = Adapter {
            kind: Some(AdapterType::FcHost),
            wwnn: Some("0x20000000C9831B4B".into()),
            wwpn: Some("10000000c9831b4b".into()),
            ..Default::default()
        };
        assert_eq!(
            a.form(),
            Ok(AdapterForm::FcHost {
                wwnn: "20000000c9831b4b".into(),
                wwpn: "10000000c9831b4b".into()
            })
        );
    }

    #[test]
    fn host_names_parse_in_decimal() {
        assert_eq!(parse_host_name("scsi_host010"), Some(10));
        assert_eq!(parse_host_name("host3"), Some(3));
        assert_eq!(parse_host_name("scsi_host"), None);
        assert_eq!(parse_host_name("fc_host3"), None);
    }
}
