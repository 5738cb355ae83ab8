//! Adapter resolution: which SCSI host an `<adapter>` names today.
//!
//! Semantics follow libvirt where libvirt is right and fix it where it is not
//! (`../shared/reference/libvirt-scsi-semantics.md` f.1–f.4):
//! - a PCI parent matches the host's *nearest* PCI function as a whole path component, so a
//!   root port or bridge above the function never matches (libvirt: substring match);
//! - hosts with an unreadable `unique_id` are skipped with a warning instead of aborting;
//! - with `unique_id` omitted (flat form only), the host with the smallest `unique_id` wins,
//!   and a tie is an error listing the candidates rather than a readdir-order guess;
//! - WWNs compare case-insensitively, with or without `0x` (libvirt: case-sensitive);
//! - every form works in `<hostdev>`, `<controller><source>` and `<pool>` alike.

use super::error::ResolveError;
use super::index::{list_or_none, Index, ScsiHost};
use crate::model::{is_wwn, parse_host_name, Adapter, AdapterForm, AdapterType};

/// A one-line rendering of an adapter as written, for messages and reports.
pub fn describe(a: &Adapter) -> String {
    // One buffer, no `format!`: every resolved device of a report carries one.
    let mut out = String::with_capacity(64);
    out.push_str("<adapter");
    let part = |out: &mut String, k: &str, v: &str| {
        out.push(' ');
        out.push_str(k);
        out.push_str("='");
        out.push_str(v);
        out.push('\'');
    };
    if let Some(k) = a.kind {
        part(&mut out, "type", &k.to_string());
    }
    let attrs = [
        ("name", &a.name),
        ("parent", &a.parent),
        ("unique_id", &a.unique_id),
        ("parent_wwnn", &a.parent_wwnn),
        ("parent_wwpn", &a.parent_wwpn),
        ("parent_fabric_wwn", &a.parent_fabric_wwn),
        ("wwnn", &a.wwnn),
        ("wwpn", &a.wwpn),
    ];
    for (k, v) in attrs {
        if let Some(v) = v {
            part(&mut out, k, v);
        }
    }
    if let Some(pa) = &a.parentaddr {
        let pci = pa
            .address
            .as_ref()
            .map(|ad| ad.to_bdf())
            .unwrap_or_else(|| "?".into());
        out.push_str(" parentaddr(unique_id='");
        out.push_str(pa.unique_id.as_deref().unwrap_or(""));
        out.push_str("', ");
        out.push_str(&pci);
        out.push(')');
    }
    if out.len() == "<adapter".len() {
        // As `parts.join(" ")` of nothing gave it.
        out.push(' ');
    }
    out.push('>');
    out
}

fn norm(s: &str) -> String {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
        .to_ascii_lowercase()
}

fn fc_list(idx: &Index) -> String {
    list_or_none(idx.hosts().filter_map(|h| {
        let fc = h.fc.as_ref()?;
        Some(format!(
            "host{} (wwnn {}, wwpn {}{}{})",
            h.number,
            fc.node_name.as_deref().unwrap_or("?"),
            fc.port_name.as_deref().unwrap_or("?"),
            fc.fabric_name
                .as_deref()
                .map(|f| format!(", fabric {f}"))
                .unwrap_or_default(),
            if h.vport_capable {
                ", vport-capable"
            } else {
                ""
            }
        ))
    }))
}

/// Resolve an adapter to the host it names.
pub fn resolve_adapter<'i>(idx: &'i Index, a: &Adapter) -> Result<&'i ScsiHost, ResolveError> {
    // Described only for an error: a domain of many hostdevs resolves every adapter.
    let adapter = || describe(a);
    let form = a.form().map_err(|p| ResolveError::InvalidAdapter {
        adapter: adapter(),
        reason: p.message,
    })?;
    match form {
        AdapterForm::HostNumber(n) => idx.host(n).ok_or_else(|| idx.missing_host(n)),
        AdapterForm::ByParent { pci, unique_id } => by_parent(idx, &adapter, &pci.bdf(), unique_id),
        AdapterForm::FcHost { wwnn, wwpn } => by_wwn(idx, a, &adapter, &wwnn, &wwpn),
    }
}

fn root_prefix(idx: &Index) -> &str {
    if idx.root == "/" {
        ""
    } else {
        &idx.root
    }
}

fn by_parent<'i>(
    idx: &'i Index,
    adapter: &dyn Fn() -> String,
    bdf: &str,
    unique_id: Option<u32>,
) -> Result<&'i ScsiHost, ResolveError> {
    let under = idx.hosts_under_pci(bdf);
    if under.is_empty() {
        // Say what is really there: hosts further below this device (a bridge or root
        // port), or else every PCI parent that has hosts.
        let below: Vec<String> = idx
            .hosts()
            .filter(|h| h.device_path.iter().any(|c| c == bdf))
            .map(|h| {
                format!(
                    "host{} sits under {} below it",
                    h.number,
                    h.pci_parent.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let nearby = if !below.is_empty() {
            format!(
                "; {bdf} is a bridge or root port: {} (name that device instead)",
                below.join(", ")
            )
        } else {
            let mut parents: Vec<String> = idx
                .hosts()
                .filter_map(|h| {
                    h.pci_parent
                        .as_ref()
                        .map(|p| format!("{p} (host{})", h.number))
                })
                .collect();
            parents.dedup();
            format!(
                "; PCI devices with SCSI hosts: {}",
                list_or_none(parents.into_iter())
            )
        };
        return Err(ResolveError::NoHostUnderPci {
            adapter: adapter(),
            pci: bdf.to_string(),
            path: format!("{}/sys/class/scsi_host", root_prefix(idx)),
            nearby,
        });
    }
    // For the errors only (a domain of many hostdevs resolves this once each).
    let candidates = || list_or_none(under.iter().map(|h| h.describe()));
    let wanted = match unique_id {
        Some(u) => u,
        None => match under.iter().filter_map(|h| h.unique_id).min() {
            Some(u) => u,
            None => {
                return Err(ResolveError::UniqueIdNotFound {
                    adapter: adapter(),
                    pci: bdf.to_string(),
                    unique_id: None,
                    candidates: candidates(),
                })
            }
        },
    };
    let hits: Vec<&ScsiHost> = under
        .iter()
        .copied()
        .filter(|h| h.unique_id == Some(wanted))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(ResolveError::UniqueIdNotFound {
            adapter: adapter(),
            pci: bdf.to_string(),
            unique_id: Some(wanted),
            candidates: candidates(),
        }),
        many => Err(ResolveError::Ambiguous {
            adapter: adapter(),
            pci: bdf.to_string(),
            unique_id: Some(wanted),
            candidates: many
                .iter()
                .map(|h| format!("host{}", h.number))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Which physical HBA the adapter's parent selectors choose, if any.
fn chosen_parent<'i>(
    idx: &'i Index,
    a: &Adapter,
    adapter: &dyn Fn() -> String,
) -> Result<Option<(&'i ScsiHost, String)>, ResolveError> {
    let not_found = |selector: String| ResolveError::FcParentNotFound {
        adapter: adapter(),
        selector,
        present: fc_list(idx),
    };
    if let Some(p) = &a.parent {
        let n = parse_host_name(p).or_else(|| {
            p.strip_prefix("fc_host")
                .and_then(|d| parse_host_name(&format!("host{d}")))
        });
        let selector = format!("parent='{p}'");
        let Some(n) = n else {
            return Err(not_found(selector));
        };
        return match idx.host(n) {
            Some(h) if h.fc.is_some() => Ok(Some((h, selector))),
            _ => Err(not_found(selector + " (no such fc_host)")),
        };
    }
    if let (Some(n), Some(p)) = (&a.parent_wwnn, &a.parent_wwpn) {
        let (n, p) = (norm(n), norm(p));
        let selector = format!("parent_wwnn='{n}' parent_wwpn='{p}'");
        let hit = idx.hosts().find(|h| {
            h.fc.as_ref().is_some_and(|f| {
                f.node_name.as_deref() == Some(n.as_str())
                    && f.port_name.as_deref() == Some(p.as_str())
            })
        });
        return hit
            .map(|h| Some((h, selector.clone())))
            .ok_or_else(|| not_found(selector));
    }
    if let Some(f) = &a.parent_fabric_wwn {
        let f = norm(f);
        let selector = format!("parent_fabric_wwn='{f}' (a vport-capable HBA on that fabric)");
        let hit = idx.hosts().find(|h| {
            h.vport_capable
                && h.fc
                    .as_ref()
                    .is_some_and(|x| x.fabric_name.as_deref() == Some(f.as_str()))
        });
        return hit
            .map(|h| Some((h, selector.clone())))
            .ok_or_else(|| not_found(selector));
    }
    Ok(None)
}

fn by_wwn<'i>(
    idx: &'i Index,
    a: &Adapter,
    adapter: &dyn Fn() -> String,
    wwnn: &str,
    wwpn: &str,
) -> Result<&'i ScsiHost, ResolveError> {
    debug_assert!(a.kind == Some(AdapterType::FcHost) && is_wwn(wwnn) && is_wwn(wwpn));
    let parent = chosen_parent(idx, a, adapter)?;
    let hit = idx.hosts().find(|h| {
        h.fc.as_ref().is_some_and(|f| {
            f.node_name.as_deref() == Some(wwnn) && f.port_name.as_deref() == Some(wwpn)
        })
    });
    let Some(h) = hit else {
        return Err(ResolveError::FcHostNotFound {
            adapter: adapter(),
            wwns: format!("wwnn {wwnn} and wwpn {wwpn}"),
            path: format!("{}/sys/class/fc_host", root_prefix(idx)),
            present: fc_list(idx),
            parent_note: match &parent {
                Some((p, _)) => format!(
                    "; the vHBA does not exist yet: create it on host{} (echo '{wwpn}:{wwnn}' > /sys/class/fc_host/host{}/vport_create) or start the libvirt pool",
                    p.number, p.number
                ),
                None => String::new(),
            },
        });
    };
    if let Some((p, selector)) = parent {
        // A pool on the physical HBA itself names it as its own parent (libvirt f.4).
        let ok = p.number == h.number || h.parent_host == Some(p.number);
        if !ok {
            return Err(ResolveError::FcParentMismatch {
                adapter: adapter(),
                host: h.number,
                actual: h
                    .parent_host
                    .map(|n| format!("host{n}"))
                    .unwrap_or_else(|| "none (it is a physical HBA)".into()),
                wanted: format!("host{} ({selector})", p.number),
            });
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AdapterType, ParentAddr};

    #[test]
    fn describe_lists_the_attributes_as_written_in_a_fixed_order() {
        let a = Adapter {
            kind: Some(AdapterType::ScsiHost),
            parent: Some("pci_0000_01_00_0".into()),
            unique_id: Some("3".into()),
            ..Default::default()
        };
        assert_eq!(
            describe(&a),
            "<adapter type='scsi_host' parent='pci_0000_01_00_0' unique_id='3'>"
        );
        let fc = Adapter {
            wwpn: Some("2000000000000002".into()),
            wwnn: Some("1000000000000001".into()),
            ..Default::default()
        };
        assert_eq!(
            describe(&fc),
            "<adapter wwnn='1000000000000001' wwpn='2000000000000002'>"
        );
        assert_eq!(describe(&Adapter::default()), "<adapter >");
        let pa = Adapter {
            parentaddr: Some(ParentAddr {
                unique_id: Some("1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(describe(&pa), "<adapter parentaddr(unique_id='1', ?)>");
    }
}
