//! Resolution against sysfs fixtures: the two real captures (checked against the guest's
//! own report in `truth.txt`) and the synthetic trees for what the captures lack.

mod common;
use domxml::model::{Adapter, AdapterType, Hex, ParentAddr, PciAddress};
use domxml::resolve::{
    lookup_lu, resolve_adapter, whole_host, DeviceClass, Hctl, Index, Resolution, ResolveError,
    SysPath, SysfsRoot,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sysfs")
        .join(name)
}

fn index(name: &str) -> Index {
    let root = SysfsRoot::at(fixture(name)).expect("fixture root");
    Index::scan(&root).expect("scan")
}

/// One host line of `truth.txt`.
#[derive(Debug)]
struct TruthHost {
    unique_id: u32,
    pci: Option<String>,
    /// Every PCI function on the host's path, outermost first.
    pci_path: Vec<String>,
}

/// One LU line of `truth.txt`.
#[derive(Debug)]
struct TruthLu {
    sg: String,
    block: String,
    scsi_type: u32,
    vendor: String,
    model: String,
    rev: String,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!(" {key}=")).expect(key) + key.len() + 2;
    let rest = &line[start..];
    if let Some(r) = rest.strip_prefix('[') {
        &r[..r.find(']').expect("]")]
    } else {
        rest.split(' ').next().unwrap_or("")
    }
}

fn truth(dir: &Path) -> (BTreeMap<u32, TruthHost>, BTreeMap<Hctl, TruthLu>) {
    let text = std::fs::read_to_string(dir.join("truth.txt")).expect("truth.txt");
    let mut hosts = BTreeMap::new();
    let mut lus = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("--- /sys/class/scsi_host/host") {
            let n: u32 = rest.split(' ').next().unwrap().parse().unwrap();
            let realpath = field(line, "realpath");
            let comps: Vec<&str> = realpath.split('/').collect();
            let host_pos = comps.iter().position(|c| *c == format!("host{n}")).unwrap();
            let pci_path: Vec<String> = comps[..host_pos]
                .iter()
                .filter(|c| domxml::resolve::index::is_pci_bdf(c))
                .map(|s| s.to_string())
                .collect();
            hosts.insert(
                n,
                TruthHost {
                    unique_id: field(line, "unique_id").parse().unwrap(),
                    pci: pci_path.last().cloned(),
                    pci_path,
                },
            );
        } else if let Some(rest) = line.strip_prefix("--- /sys/bus/scsi/devices/") {
            let hctl = Hctl::parse(rest.split(' ').next().unwrap()).unwrap();
            lus.insert(
                hctl,
                TruthLu {
                    sg: field(line, "sg").into(),
                    block: field(line, "block").into(),
                    scsi_type: field(line, "type").parse().unwrap(),
                    vendor: field(line, "vendor").trim().into(),
                    model: field(line, "model").trim().into(),
                    rev: field(line, "rev").trim().into(),
                },
            );
        }
    }
    (hosts, lus)
}

fn pci_parts(bdf: &str) -> (u32, u32, u32, u32) {
    let (d, rest) = bdf.split_once(':').unwrap();
    let (b, rest) = rest.split_once(':').unwrap();
    let (s, f) = rest.split_once('.').unwrap();
    let h = |x: &str| u32::from_str_radix(x, 16).unwrap();
    (h(d), h(b), h(s), h(f))
}

fn flat(bdf: &str, unique_id: Option<u32>) -> Adapter {
    Adapter {
        parent: Some(format!("pci_{}", bdf.replace([':', '.'], "_"))),
        unique_id: unique_id.map(|u| u.to_string()),
        ..Default::default()
    }
}

fn parentaddr(bdf: &str, unique_id: u32) -> Adapter {
    let (d, b, s, f) = pci_parts(bdf);
    Adapter {
        kind: Some(AdapterType::ScsiHost),
        parentaddr: Some(ParentAddr {
            unique_id: Some(unique_id.to_string()),
            address: Some(PciAddress {
                domain: Some(Hex(d)),
                bus: Some(Hex(b)),
                slot: Some(Hex(s)),
                function: Some(Hex(f)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn named(name: &str) -> Adapter {
    Adapter {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn fc(wwnn: &str, wwpn: &str) -> Adapter {
    Adapter {
        kind: Some(AdapterType::FcHost),
        wwnn: Some(wwnn.into()),
        wwpn: Some(wwpn.into()),
        ..Default::default()
    }
}

/// Every adapter form that can name `host` in a capture: both names, and where the host has
/// a PCI parent, the flat form and parentaddr with its unique_id, plus the flat form without
/// one when this host has the smallest unique_id under its device.
fn forms_naming(host: u32, hosts: &BTreeMap<u32, TruthHost>) -> Vec<Adapter> {
    let mut v = vec![
        named(&format!("scsi_host{host}")),
        named(&format!("host{host}")),
    ];
    let t = &hosts[&host];
    if let Some(pci) = &t.pci {
        v.push(flat(pci, Some(t.unique_id)));
        v.push(parentaddr(pci, t.unique_id));
        let min = hosts
            .values()
            .filter(|h| h.pci.as_ref() == Some(pci))
            .map(|h| h.unique_id)
            .min();
        if min == Some(t.unique_id) {
            v.push(flat(pci, None));
        }
    }
    v
}

/// Check a tree against its guest's `truth.txt`: every host (number, unique_id, nearest PCI
/// parent), every LU through every adapter form that can name it (sg, block, type, vendor,
/// model, rev), every LU by its sg and block names, and every PCI function above a host's
/// own (a bridge or root port) resolving to no host. Returns LU × form resolutions done.
fn check_tree_against_truth(dir: &Path, expected_lus: usize) -> usize {
    let name = dir.display().to_string();
    let idx = Index::scan(&SysfsRoot::at(dir).expect("root")).expect("scan");
    let (hosts, lus) = truth(dir);
    assert_eq!(lus.len(), expected_lus, "{name}: truth.txt parsed");
    assert_eq!(
        idx.hosts().map(|h| h.number).collect::<Vec<_>>(),
        hosts.keys().copied().collect::<Vec<_>>()
    );
    for (n, t) in &hosts {
        let h = idx.host(*n).unwrap();
        assert_eq!(h.unique_id, Some(t.unique_id), "{name} host{n} unique_id");
        assert_eq!(h.pci_parent, t.pci, "{name} host{n} PCI parent");
        for outer in &t.pci_path[..t.pci_path.len().saturating_sub(1)] {
            if hosts.values().any(|o| o.pci.as_ref() == Some(outer)) {
                continue;
            }
            let e = resolve_adapter(&idx, &flat(outer, Some(t.unique_id))).unwrap_err();
            assert!(
                matches!(e, ResolveError::NoHostUnderPci { .. }),
                "{name} {outer}: {e}"
            );
            let e = resolve_adapter(&idx, &parentaddr(outer, t.unique_id)).unwrap_err();
            assert!(
                matches!(e, ResolveError::NoHostUnderPci { .. }),
                "{name} {outer}: {e}"
            );
        }
    }
    let mut checked = 0;
    for (hctl, t) in &lus {
        for adapter in forms_naming(hctl.host, &hosts) {
            let host = resolve_adapter(&idx, &adapter)
                .unwrap_or_else(|e| panic!("{name} {hctl}: {adapter:?}: {e}"));
            assert_eq!(host.number, hctl.host, "{name} {hctl} via {adapter:?}");
            let lu = lookup_lu(
                &idx,
                Hctl {
                    host: host.number,
                    ..*hctl
                },
            )
            .unwrap();
            assert_eq!(lu.sg.as_deref(), Some(t.sg.as_str()), "{name} {hctl} sg");
            assert_eq!(
                lu.block.as_deref(),
                Some(t.block.as_str()),
                "{name} {hctl} block"
            );
            assert_eq!(lu.scsi_type, Some(t.scsi_type));
            assert_eq!(lu.vendor.as_deref(), Some(t.vendor.as_str()));
            assert_eq!(lu.model.as_deref(), Some(t.model.as_str()));
            assert_eq!(lu.rev.as_deref(), Some(t.rev.as_str()));
            checked += 1;
        }
        assert_eq!(idx.lu_by_block(&t.block).map(|l| l.hctl), Some(*hctl));
        assert_eq!(idx.lu_by_sg(&t.sg).map(|l| l.hctl), Some(*hctl));
    }
    assert_eq!(idx.lus().count(), lus.len());
    checked
}

/// LU × form counts: hosts without a PCI parent (scsi_debug) have two forms, hosts with one
/// four, or five when theirs is the smallest unique_id under the device.
fn check_capture_against_truth(name: &str, expected_lus: usize, expected_resolutions: usize) {
    let checked = check_tree_against_truth(&fixture(name), expected_lus);
    assert_eq!(checked, expected_resolutions, "{name}: resolutions");
}

#[test]
fn every_lu_of_the_q35_capture_resolves_to_the_guests_answer_through_every_form() {
    check_capture_against_truth("q35", 9, 32);
}

#[test]
fn every_lu_of_the_pc_capture_resolves_to_the_guests_answer_through_every_form() {
    check_capture_against_truth("pc-i440fx", 9, 32);
}

#[test]
fn flat_form_finds_the_virtio_host_behind_the_pcie_root_port() {
    let idx = index("q35");
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:01:00.0", Some(0)))
            .unwrap()
            .number,
        6
    );
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:01:00.0", None))
            .unwrap()
            .number,
        6
    );
    assert_eq!(
        resolve_adapter(&idx, &parentaddr("0000:01:00.0", 0))
            .unwrap()
            .number,
        6
    );
}

#[test]
fn root_port_address_resolves_to_no_host_and_points_at_the_device_below() {
    let idx = index("q35");
    for a in [
        flat("0000:00:1c.0", Some(0)),
        parentaddr("0000:00:1c.0", 0),
        flat("0000:00:1c.0", None),
    ] {
        let e = resolve_adapter(&idx, &a).unwrap_err();
        assert!(matches!(e, ResolveError::NoHostUnderPci { .. }), "{e}");
        let m = e.to_string();
        assert!(m.contains("0000:00:1c.0 is a bridge or root port"), "{m}");
        assert!(m.contains("host6 sits under 0000:01:00.0"), "{m}");
    }
}

#[test]
fn libata_hosts_are_found_under_their_ahci_function_by_port_number() {
    let idx = index("q35");
    for (uid, host) in [(1, 0), (3, 2), (6, 5)] {
        assert_eq!(
            resolve_adapter(&idx, &flat("0000:00:1f.2", Some(uid)))
                .unwrap()
                .number,
            host
        );
    }
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:00:1f.2", None))
            .unwrap()
            .number,
        0
    );
}

#[test]
fn wrong_unique_id_lists_the_hosts_under_the_device() {
    let idx = index("q35");
    let e = resolve_adapter(&idx, &flat("0000:00:05.0", Some(0))).unwrap_err();
    assert!(matches!(
        e,
        ResolveError::UniqueIdNotFound {
            unique_id: Some(0),
            ..
        }
    ));
    assert!(e.to_string().contains("host7 (unique_id 49152)"), "{e}");
}

#[test]
fn unknown_host_number_names_the_path_and_the_hosts_present() {
    let idx = index("pc-i440fx");
    let e = resolve_adapter(&idx, &named("scsi_host12")).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("/sys/class/scsi_host/host12 does not exist"),
        "{m}"
    );
    assert!(
        m.contains("hosts present: host0, host1, host2, host3, host4"),
        "{m}"
    );
}

#[test]
fn missing_lu_lists_the_lus_the_host_has() {
    let idx = index("pc-i440fx");
    let e = lookup_lu(
        &idx,
        Hctl {
            host: 2,
            bus: 0,
            target: 3,
            lun: 4,
        },
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, ResolveError::NoSuchLu { .. }));
    assert!(
        m.contains("/sys/bus/scsi/devices/2:0:3:4 does not exist"),
        "{m}"
    );
    assert!(m.contains("2:0:0:0, 2:0:1:0, 2:0:3:5"), "{m}");
}

#[test]
fn cdrom_lu_passes_through_as_scsi_block_on_its_sr_device() {
    let idx = index("pc-i440fx");
    let lus = whole_host(&idx, 2, None, None).unwrap();
    let got: Vec<(String, &str, u32, u64)> = lus
        .iter()
        .map(|p| (p.lu.hctl.to_string(), p.driver, p.target, p.lun))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2:0:0:0".into(), "scsi-block", 0, 0),
            ("2:0:1:0".into(), "scsi-block", 1, 0),
            ("2:0:3:5".into(), "scsi-block", 3, 5)
        ]
    );
    assert_eq!(lus[1].lu.block.as_deref(), Some("sr0"));
}

#[test]
fn identity_prefers_wwid_and_falls_back_to_device_numbers() {
    let idx = index("pc-i440fx");
    let wwn = idx
        .lu(Hctl {
            host: 3,
            bus: 0,
            target: 2,
            lun: 0,
        })
        .unwrap();
    assert_eq!(wwn.identity.to_string(), "wwid naa.5000c50015ea71ac");
    let plain = idx
        .lu(Hctl {
            host: 2,
            bus: 0,
            target: 0,
            lun: 0,
        })
        .unwrap();
    assert_eq!(plain.identity.to_string(), "dev sg 21:1, block 8:0");
}

#[test]
fn megaraid_lu_on_channel_two_keeps_its_bus() {
    let idx = index("q35");
    let lus = whole_host(&idx, 8, Some(2), None).unwrap();
    assert_eq!(lus.len(), 1);
    assert_eq!(lus[0].lu.hctl.to_string(), "8:2:1:0");
    assert!(whole_host(&idx, 8, Some(0), None).unwrap().is_empty());
}

// --- FC

const HBA5: (&str, &str) = ("20000000c9831b4b", "10000000c9831b4b");
const HBA6: (&str, &str) = ("20000000c9831b4c", "10000000c9831b4c");
const VHBA: (&str, &str) = ("2000001a4a7f1234", "2100001a4a7f1234");

#[test]
fn fc_host_matches_wwns_ignoring_case_and_0x() {
    let idx = index("fc");
    assert_eq!(
        resolve_adapter(&idx, &fc(VHBA.0, VHBA.1)).unwrap().number,
        7
    );
    assert_eq!(
        resolve_adapter(&idx, &fc("0x2000001A4A7F1234", "0X2100001a4a7f1234"))
            .unwrap()
            .number,
        7
    );
    assert_eq!(
        resolve_adapter(&idx, &fc(HBA5.0, HBA5.1)).unwrap().number,
        5
    );
}

#[test]
fn fc_parent_selectors_accept_the_vhbas_own_parent() {
    let idx = index("fc");
    for a in [
        Adapter {
            parent: Some("scsi_host5".into()),
            ..fc(VHBA.0, VHBA.1)
        },
        Adapter {
            parent: Some("fc_host5".into()),
            ..fc(VHBA.0, VHBA.1)
        },
        Adapter {
            parent_wwnn: Some(HBA5.0.into()),
            parent_wwpn: Some(format!("0x{}", HBA5.1.to_uppercase())),
            ..fc(VHBA.0, VHBA.1)
        },
        Adapter {
            parent_fabric_wwn: Some("2002000573de9a81".into()),
            ..fc(VHBA.0, VHBA.1)
        },
    ] {
        assert_eq!(resolve_adapter(&idx, &a).unwrap().number, 7, "{a:?}");
    }
}

#[test]
fn fc_parent_selectors_naming_another_hba_are_a_mismatch() {
    let idx = index("fc");
    for a in [
        Adapter {
            parent: Some("scsi_host6".into()),
            ..fc(VHBA.0, VHBA.1)
        },
        Adapter {
            parent_wwnn: Some(HBA6.0.into()),
            parent_wwpn: Some(HBA6.1.into()),
            ..fc(VHBA.0, VHBA.1)
        },
        Adapter {
            parent_fabric_wwn: Some("2002000573de9a82".into()),
            ..fc(VHBA.0, VHBA.1)
        },
    ] {
        let e = resolve_adapter(&idx, &a).unwrap_err();
        assert!(
            matches!(e, ResolveError::FcParentMismatch { host: 7, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("whose parent HBA is host5"), "{e}");
    }
}

#[test]
fn fc_parent_that_is_not_an_fc_host_is_reported() {
    let idx = index("fc");
    let a = Adapter {
        parent: Some("scsi_host9".into()),
        ..fc(VHBA.0, VHBA.1)
    };
    let e = resolve_adapter(&idx, &a).unwrap_err();
    assert!(matches!(e, ResolveError::FcParentNotFound { .. }), "{e}");
    assert!(
        e.to_string().contains("host5 (wwnn 20000000c9831b4b"),
        "{e}"
    );
}

#[test]
fn missing_vhba_says_where_it_would_be_created() {
    let idx = index("fc");
    let a = Adapter {
        parent: Some("scsi_host6".into()),
        ..fc("2000001a4a7f9999", "2100001a4a7f9999")
    };
    let e = resolve_adapter(&idx, &a).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, ResolveError::FcHostNotFound { .. }));
    assert!(m.contains("fc_hosts present: host5"), "{m}");
    assert!(m.contains("/sys/class/fc_host/host6/vport_create"), "{m}");
}

#[test]
fn fc_index_records_vport_capability_and_parent_hba() {
    let idx = index("fc");
    assert!(idx.host(5).unwrap().vport_capable);
    assert!(!idx.host(7).unwrap().vport_capable);
    assert_eq!(idx.host(7).unwrap().parent_host, Some(5));
    assert_eq!(
        idx.host(7).unwrap().pci_parent.as_deref(),
        Some("0000:04:00.0")
    );
    let lus = whole_host(&idx, 7, None, None).unwrap();
    assert_eq!(lus.len(), 1);
    assert_eq!(lus[0].lu.sg.as_deref(), Some("sg3"));
}

// --- several hosts under one device

#[test]
fn hosts_sharing_a_unique_id_under_one_device_are_ambiguous() {
    let idx = index("virtio-multi");
    for a in [
        flat("0000:00:07.0", None),
        flat("0000:00:07.0", Some(0)),
        parentaddr("0000:00:07.0", 0),
    ] {
        let e = resolve_adapter(&idx, &a).unwrap_err();
        assert!(matches!(e, ResolveError::Ambiguous { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("host2, host3 all sit under PCI device 0000:00:07.0"),
            "{e}"
        );
    }
    assert_eq!(
        resolve_adapter(&idx, &named("scsi_host3")).unwrap().number,
        3
    );
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:00:08.0", None))
            .unwrap()
            .number,
        4
    );
}

#[test]
fn whole_host_restricted_to_a_target_keeps_target_and_lun_and_picks_the_driver() {
    let idx = index("virtio-multi");
    let got: Vec<(String, &str)> = whole_host(&idx, 4, Some(0), Some(2))
        .unwrap()
        .iter()
        .map(|p| (p.lu.hctl.to_string(), p.driver))
        .collect();
    assert_eq!(
        got,
        vec![
            ("4:0:2:3".into(), "scsi-block"),
            ("4:0:2:4".into(), "scsi-generic")
        ]
    );
    assert_eq!(whole_host(&idx, 4, None, None).unwrap().len(), 3);
}

// --- failure modes

#[test]
fn missing_sg_driver_says_modprobe_sg() {
    let idx = index("no-sg");
    assert!(!idx.sg_driver_loaded);
    let e = lookup_lu(
        &idx,
        Hctl {
            host: 0,
            bus: 0,
            target: 0,
            lun: 0,
        },
    )
    .unwrap_err();
    assert!(matches!(e, ResolveError::SgDriverMissing { .. }), "{e}");
    assert!(e.to_string().contains("modprobe sg"), "{e}");
    let e = whole_host(&idx, 0, None, None).unwrap_err();
    assert!(
        matches!(e, ResolveError::SgDriverMissing { ref hctl, .. } if hctl == "0:0:1:0"),
        "{e}"
    );
}

#[test]
fn unreadable_unique_id_skips_that_host_and_the_search_goes_on() {
    let idx = index("unreadable");
    assert_eq!(
        resolve_adapter(&idx, &parentaddr("0000:00:1f.2", 2))
            .unwrap()
            .number,
        1
    );
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:00:1f.2", None))
            .unwrap()
            .number,
        1
    );
    let w = idx.warnings.join("\n");
    assert!(w.contains("host0: unique_id unreadable"), "{w}");
    assert!(w.contains("\"abc\" is not a number"), "{w}");
    let e = resolve_adapter(&idx, &flat("0000:00:1f.2", Some(7))).unwrap_err();
    assert!(
        e.to_string()
            .contains("host0 (unique_id unusable: unreadable"),
        "{e}"
    );
}

#[test]
fn loops_escapes_and_hostile_entries_are_skipped_with_warnings() {
    let idx = index("hostile");
    assert_eq!(idx.hosts().map(|h| h.number).collect::<Vec<_>>(), vec![0]);
    assert_eq!(
        idx.lus().map(|l| l.hctl.to_string()).collect::<Vec<_>>(),
        vec!["0:0:0:0"]
    );
    let w = idx.warnings.join("\n");
    assert!(w.contains("too many symlinks"), "{w}");
    assert!(
        w.contains("host9 leads outside the sysfs root (to /etc)"),
        "{w}"
    );
    assert!(w.contains("host10 leads outside the sysfs root"), "{w}");
    assert!(w.contains("0:0:5:0 leads outside the sysfs root"), "{w}");
    assert!(w.contains("\"host1;reboot\""), "{w}");
    assert!(w.contains("\"host 2\""), "{w}");
    assert!(w.contains("hostX: skipped: not a hostN name"), "{w}");
    assert!(
        w.contains("\"0:0:0:0;x\": not a name sysfs gives a SCSI device"),
        "{w}"
    );
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:00:05.0", None))
            .unwrap()
            .number,
        0
    );
}

#[test]
fn naming_a_refused_host_says_what_was_refused_not_that_it_is_absent() {
    let idx = index("hostile");
    let named = |n: &str| Adapter {
        name: Some(n.into()),
        ..Default::default()
    };
    let loop_err = resolve_adapter(&idx, &named("scsi_host8")).unwrap_err();
    assert!(matches!(
        loop_err,
        ResolveError::HostRefused { host: 8, .. }
    ));
    let m = loop_err.to_string();
    assert!(
        m.contains("SCSI host 8 was refused") && m.contains("too many symlinks"),
        "{m}"
    );
    let escape = resolve_adapter(&idx, &named("scsi_host9"))
        .unwrap_err()
        .to_string();
    assert!(
        escape.contains("leads outside the sysfs root (to /etc)"),
        "{escape}"
    );
    // A host that is really absent is still reported as absent.
    let absent = resolve_adapter(&idx, &named("scsi_host7")).unwrap_err();
    assert!(matches!(absent, ResolveError::NoSuchHost { host: 7, .. }));
}

#[test]
fn symlinks_out_of_the_root_are_refused_not_followed() {
    let root = SysfsRoot::at(fixture("hostile")).unwrap();
    for p in [
        "sys/class/scsi_host/host9",
        "sys/class/scsi_host/host10",
        "sys/bus/scsi/devices/0:0:5:0",
    ] {
        let e = root.resolve(&SysPath::parse(p).unwrap()).unwrap_err();
        assert!(matches!(e, ResolveError::Escape { .. }), "{p}: {e}");
    }
    let dir = SysPath::parse("sys/bus/scsi").unwrap();
    let e = root.read_text(&dir, "..").unwrap_err();
    assert!(matches!(e, ResolveError::HostileName { .. }), "{e}");
}

#[test]
fn hostile_names_are_refused_before_any_filesystem_access() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("sys/class")).unwrap();
    let root = SysfsRoot::at(tmp.path()).unwrap();
    std::fs::remove_dir_all(tmp.path().join("sys")).unwrap();
    let dir = SysPath::parse("sys/class").unwrap();
    // Had these touched the (now missing) tree, they would report absence, not a bad name.
    for bad in ["../../etc", "host1/../../x", "a\0b", "", ".."] {
        let e = root.resolve_in(&dir, bad).unwrap_err();
        assert!(
            matches!(e, ResolveError::HostileName { .. }),
            "{bad:?}: {e}"
        );
        let e = root.read_text(&dir, bad).unwrap_err();
        assert!(
            matches!(e, ResolveError::HostileName { .. }),
            "{bad:?}: {e}"
        );
    }
    assert!(root.resolve_in(&dir, "fine").unwrap().is_none());
    assert!(SysPath::parse("sys/../etc").is_err());
    let idx = Index::default();
    let e = resolve_adapter(&idx, &named("scsi_host../../etc")).unwrap_err();
    assert!(matches!(e, ResolveError::InvalidAdapter { .. }), "{e}");
}

#[test]
fn resolution_after_the_scan_reads_nothing_from_sysfs() {
    let root = SysfsRoot::at(fixture("q35")).unwrap();
    let idx = Index::scan(&root).unwrap();
    root.start_recording();
    for _ in 0..200 {
        resolve_adapter(&idx, &flat("0000:01:00.0", Some(0))).unwrap();
        lookup_lu(
            &idx,
            Hctl {
                host: 6,
                bus: 0,
                target: 3,
                lun: 5,
            },
        )
        .unwrap();
    }
    assert!(root.take_recording().is_empty());
}

#[test]
fn a_sysfs_directory_given_as_root_gets_a_hint_to_pass_its_parent() {
    let e = SysfsRoot::at(fixture("q35").join("sys")).unwrap_err();
    assert!(matches!(e, ResolveError::NotASysfsRoot { .. }), "{e}");
    assert!(e.to_string().contains("looks like sysfs itself"), "{e}");
}

#[test]
fn snapshot_of_a_capture_resolves_like_the_capture() {
    let root = SysfsRoot::at(fixture("q35")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("snap");
    let st = domxml::resolve::snapshot::snapshot(&root, &out).unwrap();
    assert_eq!((st.hosts, st.lus), (10, 9));
    let a = Index::scan(&root).unwrap();
    let b = Index::scan(&SysfsRoot::at(&out).unwrap()).unwrap();
    assert_eq!(a.hosts().collect::<Vec<_>>(), b.hosts().collect::<Vec<_>>());
    assert_eq!(a.lus().collect::<Vec<_>>(), b.lus().collect::<Vec<_>>());
    assert_eq!(
        resolve_adapter(&b, &flat("0000:01:00.0", Some(0)))
            .unwrap()
            .number,
        6
    );
    let e = domxml::resolve::snapshot::snapshot(&root, &out).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
}

/// The real-kernel test: `scripts/kernel-boot-test.sh` downloads Debian's cloud kernel and
/// busybox, boots them under QEMU TCG with a topology of its own (three virtio-scsi
/// controllers, one behind a PCI bridge, LUs at 0:3:5, 0:2:7 and 0:9:300, a CD-ROM, libata,
/// scsi_debug) and turns the guest's sysfs dump and its own report into a tree. Resolution
/// over that tree must agree with the guest for every LU and adapter form, the bridge must
/// resolve to no host, and `domxml resolve` must print the guest's sg and block names.
#[test]
#[cfg(feature = "cli")]
#[ignore = "boots a real kernel under QEMU TCG (about a minute); run with --ignored"]
fn real_kernel_boot_agrees_with_the_guest_for_every_lu_and_form() {
    let tmp = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kernel-boot-test.sh");
    let status = std::process::Command::new("sh")
        .arg(&script)
        .arg(tmp.path())
        .status()
        .expect("run sh");
    if status.code() == Some(77) {
        eprintln!("real_kernel_boot: skipped, packages or QEMU unavailable (see stderr above)");
        return;
    }
    assert!(status.success(), "kernel-boot-test.sh failed: {status}");
    let tree = tmp.path().join("sysfs");
    let (hosts, lus) = truth(&tree);
    let checked = check_tree_against_truth(&tree, 10);
    assert!(checked >= 2 * lus.len());
    // The host behind the bridge: its own function resolves, the bridge does not (above).
    let behind: Vec<_> = hosts.iter().filter(|(_, t)| t.pci_path.len() > 1).collect();
    assert_eq!(behind.len(), 1, "one host sits behind the bridge");
    // LUN 300 shows in Linux as 16684 (flat-space addressing); the guest device gets 300.
    let idx = Index::scan(&SysfsRoot::at(&tree).unwrap()).unwrap();
    let whole = whole_host(&idx, *behind[0].0, None, None).unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(
        (whole[0].lu.hctl.lun, whole[0].target, whole[0].lun),
        (16684, 9, 300)
    );
    // And the CLI, on a domain naming every LU by its most stable form.
    let mut xml = String::from("<domain type='qemu'><name>boot</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><controller type='scsi' index='0' model='virtio-scsi'/>");
    for (i, hctl) in lus.keys().enumerate() {
        let t = &hosts[&hctl.host];
        let adapter = match &t.pci {
            Some(p) => format!(
                "<adapter parent='pci_{}' unique_id='{}'/>",
                p.replace([':', '.'], "_"),
                t.unique_id
            ),
            None => format!("<adapter name='scsi_host{}'/>", hctl.host),
        };
        xml.push_str(&format!(
            "<hostdev mode='subsystem' type='scsi'><source>{adapter}<address bus='{}' target='{}' unit='{}'/></source><address type='drive' controller='0' bus='0' target='0' unit='{i}'/></hostdev>",
            hctl.bus, hctl.target, hctl.lun
        ));
    }
    xml.push_str("</devices></domain>");
    let file = tmp.path().join("boot.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(["resolve", "--format", "json", "--sysfs-root"])
        .arg(&tree)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), lus.len());
    for (row, (hctl, t)) in rows.iter().zip(&lus) {
        assert_eq!(row["hctl"], hctl.to_string());
        assert_eq!(row["sg"], format!("/dev/{}", t.sg));
        assert_eq!(row["block"], format!("/dev/{}", t.block));
    } // Whole-host passthrough of every host converts to exactly the guest's LUs.
    assert_eq!(check_whole_host_conversion(&tree), lus.len());
}

#[test]
fn every_lu_of_the_bridge_capture_resolves_to_the_guests_answer_through_every_form() {
    // host1: 4 forms; host2 and host3 under their own functions: 5 each; host4 behind the
    // bridge: 5; scsi_debug: 2 each.
    check_capture_against_truth("pc-bridge", 10, 4 + 3 * 5 + 5 + 5 + 4 * 2);
}

#[test]
fn pci_bridge_address_resolves_to_no_host_and_the_function_behind_it_does() {
    let idx = index("pc-bridge");
    assert_eq!(
        resolve_adapter(&idx, &flat("0000:01:03.0", Some(0)))
            .unwrap()
            .number,
        4
    );
    let e = resolve_adapter(&idx, &flat("0000:00:07.0", Some(0))).unwrap_err();
    assert!(
        e.to_string().contains("host4 sits under 0000:01:03.0"),
        "{e}"
    );
}

#[test]
fn flat_space_lun_keeps_the_linux_number_on_the_host_and_the_qemu_number_in_the_guest() {
    let idx = index("pc-bridge");
    let lu = lookup_lu(
        &idx,
        Hctl {
            host: 4,
            bus: 0,
            target: 9,
            lun: 16684,
        },
    )
    .unwrap();
    assert_eq!(lu.sg.as_deref(), Some("sg5"));
    let whole = whole_host(&idx, 4, None, None).unwrap();
    assert_eq!((whole[0].target, whole[0].lun), (9, 300));
}

proptest::proptest! {
    /// Whatever name is asked for inside a directory of a real tree, the answer is a refusal,
    /// an absence, or a canonical path under that directory: never a panic, never a path
    /// outside the root.
    #[test]
    fn arbitrary_names_are_refused_or_stay_under_the_root(name in "\\PC{0,12}|[./a-z0-9:]{0,12}") {
        let root = SysfsRoot::at(fixture("hostile")).unwrap();
        let dir = SysPath::parse("sys/devices/pci0000:00/0000:00:05.0/virtio0/host0").unwrap();
        match root.resolve_in(&dir, &name) {
            Ok(Some(p)) => proptest::prop_assert!(p.components().starts_with(&dir.components()[..1]), "{p}"),
            Ok(None) => {}
            Err(e) => proptest::prop_assert!(
                matches!(e, ResolveError::HostileName { .. } | ResolveError::Escape { .. } | ResolveError::SymlinkLoop { .. }),
                "{e}"
            ),
        }
        let _ = Hctl::parse(&name);
        let _ = SysPath::parse(&name);
    }
}

#[test]
fn a_fifo_in_place_of_an_attribute_is_refused_instead_of_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sys/class/scsi_host/host0");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("unique_id");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable: test skipped");
        return;
    }
    let root = SysfsRoot::at(tmp.path()).unwrap();
    let host = SysPath::parse("sys/class/scsi_host/host0").unwrap();
    let e = root.read_text(&host, "unique_id").unwrap_err();
    assert!(
        domxml::resolve::error::chain(&e).contains("not a regular file"),
        "{e}"
    );
    let idx = Index::scan(&root).unwrap();
    assert_eq!(idx.host(0).and_then(|h| h.unique_id), None);
    assert!(idx
        .warnings
        .join("\n")
        .contains("host0: unique_id unreadable"));
}

fn domain_of(file: &str) -> domxml::model::Domain {
    let bytes = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    match domxml::codec::parse_str(std::str::from_utf8(&bytes).unwrap())
        .unwrap()
        .definition
    {
        domxml::model::Definition::Domain(d) => *d,
        other => panic!("not a domain: {other:?}"),
    }
}

#[test]
fn resolved_domain_gives_the_emitter_sg_paths_and_passthrough_devices() {
    let idx = index("q35");
    let d = domain_of("fixtures/resolve/q35-every-form.xml");
    let r =
        domxml::resolve::resolve_with_index(&domxml::model::Definition::Domain(Box::new(d)), &idx);
    assert_eq!(r.failures().count(), 0);
    let sgs: Vec<String> = r
        .devices
        .iter()
        .filter_map(|x| match &x.resolution {
            Resolution::Lu { lu } if x.class == DeviceClass::Hostdev => {
                Some(format!("/dev/{}", lu.sg.as_deref().unwrap()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sgs, ["/dev/sg1", "/dev/sg2", "/dev/sg0", "/dev/sg4"]);
    let hosts: Vec<(u32, &[domxml::resolve::PassthroughLu])> = r
        .devices
        .iter()
        .filter_map(|x| match &x.resolution {
            Resolution::Host { host, lus, .. } => Some((*host, lus.as_slice())),
            _ => None,
        })
        .collect();
    assert_eq!(hosts.len(), 1);
    let (host, lus) = hosts[0];
    assert_eq!(host, 9);
    let devs: Vec<(Option<String>, &str, u32, u64)> = lus
        .iter()
        .map(|p| (p.dev_path(), p.driver, p.target, p.lun))
        .collect();
    assert_eq!(
        devs,
        vec![
            (Some("/dev/sdh".into()), "scsi-block", 1, 0),
            (Some("/dev/sdi".into()), "scsi-block", 1, 1)
        ]
    );
}

#[test]
fn resolved_domain_names_every_unresolved_device_with_its_error() {
    let idx = index("q35");
    let d = domain_of("fixtures/resolve/q35-root-port.xml");
    let r =
        domxml::resolve::resolve_with_index(&domxml::model::Definition::Domain(Box::new(d)), &idx);
    let errs: Vec<_> = r.failures().collect();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, "/domain/devices/hostdev");
    assert!(matches!(
        errs[0].error(),
        Some(ResolveError::NoHostUnderPci { .. })
    ));
}

#[test]
fn whole_host_tape_without_block_device_passes_through_its_sg_node() {
    let idx = index("virtio-multi");
    let lus = whole_host(&idx, 4, Some(0), Some(2)).unwrap();
    assert_eq!(lus[1].dev_path().as_deref(), Some("/dev/sg3"));
    assert_eq!(lus[0].dev_path().as_deref(), Some("/dev/sdc"));
}

/// Convert a domain with one whole-host passthrough controller per host of a tree (each named
/// by its most stable form: flat parent + unique_id, or the host name for scsi_debug) and
/// check the command line against the guest's own report: exactly the guest's LUs, each as
/// `scsi-block` on the guest's block device, on the controller of its host, at the host's
/// target and at the LUN QEMU needs for the guest to see the host's LUN. Returns the number
/// of LUs checked.
fn check_whole_host_conversion(dir: &Path) -> usize {
    use domxml::{convert_bytes, Host, Limits, Options};
    let (hosts, lus) = truth(dir);
    let mut xml = String::from("<domain type='qemu'><name>whole</name><memory>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>");
    let mut controller_of = BTreeMap::new();
    for (i, (n, t)) in hosts.iter().enumerate() {
        let adapter = match &t.pci {
            Some(p) => format!(
                "<adapter parent='pci_{}' unique_id='{}'/>",
                p.replace([':', '.'], "_"),
                t.unique_id
            ),
            None => format!("<adapter name='scsi_host{n}'/>"),
        };
        controller_of.insert(*n, i);
        xml.push_str(&format!(
            "<controller type='scsi' index='{i}' model='virtio-scsi'><source>{adapter}</source></controller>"
        ));
    }
    xml.push_str("</devices></domain>");
    let c = convert_bytes(
        xml.as_bytes(),
        Limits::default(),
        &Options::default(),
        Host::Sysfs(dir),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let argv = c.args.into_argv();
    let mut got: Vec<(String, u64, u64, String, String)> = common::passthrough_devices(&argv)
        .into_iter()
        .map(|d| (d.bus, d.scsi_id, d.lun, d.driver, d.file))
        .collect();
    got.sort();
    let mut want: Vec<(String, u64, u64, String, String)> = lus
        .iter()
        .map(|(h, t)| {
            (
                format!("scsi{}.0", controller_of[&h.host]),
                u64::from(h.target),
                domxml::resolve::qemu_lun(h.lun),
                "scsi-block".to_string(),
                format!("/dev/{}", t.block),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "{}", dir.display());
    // Hosts without LUs get their controller and a note saying it is empty.
    let empty = hosts
        .keys()
        .filter(|n| !lus.keys().any(|h| h.host == **n))
        .count();
    assert_eq!(
        c.notes
            .iter()
            .filter(|n| n.message.contains("has no LU"))
            .count(),
        empty,
        "{:?}",
        c.notes
    );
    want.len()
}

#[test]
fn whole_host_controllers_pass_the_q35_guests_lus_as_it_saw_them() {
    assert_eq!(check_whole_host_conversion(&fixture("q35")), 9);
}

#[test]
fn whole_host_controllers_pass_the_pc_guests_lus_as_it_saw_them() {
    assert_eq!(check_whole_host_conversion(&fixture("pc-i440fx")), 9);
}

#[test]
fn whole_host_controllers_pass_the_bridge_guests_lus_including_lun_300() {
    assert_eq!(check_whole_host_conversion(&fixture("pc-bridge")), 10);
}
