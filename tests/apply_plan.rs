//! `domxml plan` offline: the diff engine on fixtures and on generated pairs of domains.

mod common;

use domxml::apply::compare::differences;
use domxml::apply::key::managed;
use domxml::apply::plan::{desired_managed, diff, Targets};
use domxml::apply::render;
use domxml::model::{Device, Domain};
use proptest::prelude::*;
use std::path::PathBuf;
use std::process::{Command, Output};

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn domxml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn schema_errors(v: &serde_json::Value) -> Vec<String> {
    let text = std::fs::read_to_string(repo("schemas/plan.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn domain(xml: &str) -> Domain {
    domxml::codec::parse_str(xml)
        .map(|p| match p.definition {
            domxml::Definition::Domain(d) => *d,
            _ => panic!("not a domain"),
        })
        .unwrap()
}

#[test]
fn plan_lists_each_change_with_its_reason_and_the_calls_in_order() {
    let o = domxml(&[
        "plan",
        "--current",
        "fixtures/apply/current.xml",
        "fixtures/apply/desired.xml",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let expected = "\
  -/+ disk sdb  (detach and attach again; live, config)
        address/@unit: '1' → '5'
  -   disk sdd  (detach; live, config)
        not in the desired definition (was /domain/devices/disk[4])
  ~   disk sdc  (update in place; live, config)
        source/@file: '/var/lib/images/install-a.iso' → '/var/lib/images/install-b.iso'
  +   disk sde  (attach; live, config)
        new in the desired definition (/domain/devices/disk[4])

Steps:
   1. virDomainDetachDeviceFlags(LIVE|CONFIG)  disk sdb
   2. virDomainDetachDeviceFlags(LIVE|CONFIG)  disk sdd
   3. virDomainUpdateDeviceFlags(LIVE|CONFIG)  disk sdc
   4. virDomainAttachDeviceFlags(LIVE|CONFIG)  disk sdb
   5. virDomainAttachDeviceFlags(LIVE|CONFIG)  disk sde

Plan: 1 to attach, 1 to detach, 1 to update in place, 1 to replace.
";
    assert!(out.ends_with(expected), "{out}");
    assert!(!out.contains("vda"), "a virtio disk is not managed: {out}");
}

#[test]
fn plan_of_a_definition_against_itself_says_no_changes() {
    let o = domxml(&[
        "plan",
        "--current",
        "fixtures/apply/current.xml",
        "fixtures/apply/current.xml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("No changes."), "{}", stdout(&o));
}

#[test]
fn plan_json_follows_its_schema() {
    for (cur, want) in [
        ("fixtures/apply/current.xml", "fixtures/apply/desired.xml"),
        ("fixtures/apply/desired.xml", "fixtures/apply/current.xml"),
        ("fixtures/apply/current.xml", "fixtures/apply/current.xml"),
    ] {
        let o = domxml(&[
            "plan",
            "--format",
            "json",
            "--config",
            "--current",
            cur,
            want,
        ]);
        assert_eq!(o.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(schema_errors(&v), Vec::<String>::new(), "{v:#}");
    }
}

#[test]
fn plan_with_config_only_names_the_config_flag() {
    let o = domxml(&[
        "plan",
        "--config",
        "--current",
        "fixtures/apply/current.xml",
        "fixtures/apply/desired.xml",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("virDomainAttachDeviceFlags(CONFIG)  disk sde"),
        "{out}"
    );
    assert!(!out.contains("LIVE"), "{out}");
}

#[test]
fn plan_refuses_an_invalid_desired_definition_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<domain type='qemu'><name>x</name><devices><disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk><disk type='file'><source file='/b'/><target dev='sda' bus='scsi'/></disk></devices></domain>").unwrap();
    let o = domxml(&[
        "plan",
        "--current",
        "fixtures/apply/current.xml",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[cfg(not(feature = "libvirt"))]
#[test]
fn plan_connect_without_the_libvirt_feature_says_how_to_build_it() {
    let o = domxml(&[
        "plan",
        "--connect",
        "test:///default",
        "fixtures/apply/desired.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--features libvirt"), "{err}");
}

#[test]
fn replacing_a_controller_takes_its_devices_out_first_and_back_after() {
    let a = domain(
        "<domain type='qemu'><name>v</name><devices>\
      <controller type='scsi' index='1' model='lsilogic'/>\
      <disk type='file' device='disk'><source file='/a.img'/><target dev='sdh' bus='scsi'/>\
      <address type='drive' controller='1' bus='0' target='0' unit='0'/></disk></devices></domain>",
    );
    let b = domain(
        "<domain type='qemu'><name>v</name><devices>\
      <controller type='scsi' index='1' model='virtio-scsi'/>\
      <disk type='file' device='disk'><source file='/a.img'/><target dev='sdh' bus='scsi'/>\
      <address type='drive' controller='1' bus='0' target='0' unit='0'/></disk></devices></domain>",
    );
    let p = diff(&a, &b, Targets::LIVE).unwrap();
    let calls: Vec<String> = p
        .ops
        .iter()
        .map(|o| format!("{} {}", o.call.function(), o.key))
        .collect();
    assert_eq!(
        calls,
        [
            "virDomainDetachDeviceFlags disk sdh",
            "virDomainDetachDeviceFlags controller scsi[1]",
            "virDomainAttachDeviceFlags controller scsi[1]",
            "virDomainAttachDeviceFlags disk sdh",
        ]
    );
    assert!(render::human(&p, "b").contains("its controller scsi[1] is replaced"));
}

#[test]
fn hostdevs_are_identified_by_host_address_and_pci_function() {
    let a = domain("<domain type='qemu'><name>v</name><devices>\
      <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host2'/><address bus='0' target='0' unit='1'/></source></hostdev>\
      <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>\
      </devices></domain>");
    let mut b = a.clone();
    b.devices.items.reverse();
    assert!(diff(&a, &b, Targets::BOTH).unwrap().is_empty());
    let keys: Vec<String> = managed(&a, None)
        .unwrap()
        .iter()
        .map(|m| m.key.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "hostdev scsi (scsi_host2 0:0:1)",
            "hostdev pci (0000:03:00.1)"
        ]
    );
}

// ---- generated pairs ----

fn ctrl(i: u32, model: &str) -> String {
    format!("<controller type='scsi' index='{i}' model='{model}'/>")
}

fn disk(name: u32, kind: u32, src: u32, addr: Option<(u32, u32)>, ro: bool) -> String {
    let dev = domxml::assign::disk_name("sd", name);
    let a = addr.map_or(String::new(), |(c, u)| {
        format!("<address type='drive' controller='{c}' bus='0' target='0' unit='{u}'/>")
    });
    let ro = if ro { "<readonly/>" } else { "" };
    match kind {
        0 => format!("<disk type='file' device='disk'><source file='/img/{src}.img'/><target dev='{dev}' bus='scsi'/>{ro}{a}</disk>"),
        1 => format!("<disk type='file' device='cdrom'><source file='/img/{src}.iso'/><target dev='{dev}' bus='scsi'/><readonly/>{a}</disk>"),
        _ => format!("<disk type='block' device='lun'><source dev='/dev/sd{}'/><target dev='{dev}' bus='scsi'/>{a}</disk>", (b'b' + src as u8) as char),
    }
}

fn hostdev(h: u32, unit: u32, pci: bool) -> String {
    if pci {
        format!("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x0{h}' slot='0x00' function='0x{unit}'/></source></hostdev>")
    } else {
        format!("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{h}'/><address bus='0' target='0' unit='{unit}'/></source></hostdev>")
    }
}

fn gen_domain() -> impl Strategy<Value = String> {
    (
        prop::collection::btree_map(0u32..3, prop_oneof![Just("virtio-scsi"), Just("lsilogic")], 0..3),
        prop::collection::btree_map(
            0u32..8,
            (0u32..3, 0u32..3, prop::option::of(0u32..6), any::<bool>()),
            0..6,
        ),
        prop::collection::btree_set((1u32..4, 0u32..4, any::<bool>()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(ctrls, disks, hds, other)| {
            let mut x = String::from("<domain type='qemu'><name>gen</name><devices>");
            for (i, m) in &ctrls {
                x.push_str(&ctrl(*i, m));
            }
            for (name, (kind, src, unit, ro)) in &disks {
                let c = ctrls.keys().next().copied().unwrap_or(0);
                x.push_str(&disk(*name, *kind, *src, unit.map(|u| (c, u)), *ro));
            }
            for (h, u, pci) in &hds {
                x.push_str(&hostdev(*h, *u, *pci));
            }
            if other {
                x.push_str("<disk type='file' device='disk'><source file='/root.img'/><target dev='vda' bus='virtio'/></disk>");
            }
            x.push_str("<interface type='user'/></devices></domain>");
            x
        })
}

proptest! {
    #[test]
    fn plan_of_a_domain_against_itself_is_empty(a in gen_domain()) {
        let a = domain(&a);
        prop_assert!(diff(&a, &a, Targets::BOTH).unwrap().is_empty());
    }

    #[test]
    fn applying_plan_a_b_to_a_gives_bs_managed_devices(a in gen_domain(), b in gen_domain()) {
        let (a, b) = (domain(&a), domain(&b));
        let plan = diff(&a, &b, Targets::BOTH).unwrap();
        let mut got = a.clone();
        plan.apply_to(&mut got, Targets::BOTH);
        let want = desired_managed(&b, None).unwrap();
        let have = desired_managed(&got, None).unwrap();
        prop_assert_eq!(have.len(), want.len(), "{:?}", plan.ops.iter().map(|o| (o.call, o.key.to_string())).collect::<Vec<_>>());
        for w in &want {
            let h = have.iter().find(|h| h.key == w.key);
            prop_assert!(h.is_some(), "{} missing", w.key);
            let (he, we) = (
                domxml::codec::device_element(&h.unwrap().device).unwrap(),
                domxml::codec::device_element(&w.device).unwrap(),
            );
            prop_assert_eq!(differences(&he, &we), Vec::<String>::new());
        }
        // Unmanaged devices are as they were in A.
        let unmanaged = |d: &Domain| -> Vec<Device> {
            d.devices.items.iter().filter(|x| !domxml::apply::key::is_managed(x)).cloned().collect()
        };
        prop_assert_eq!(unmanaged(&got), unmanaged(&a));
        // And a second plan finds nothing to do.
        prop_assert!(diff(&got, &b, Targets::BOTH).unwrap().is_empty());
    }
}

// ---- stable adapters: resolved for libvirt, compared by stable identity ----

mod stable {
    use super::domain;
    use domxml::apply::plan::{diff, Action, Side, Targets};
    use domxml::apply::stable::{identities, realize, with_metadata};
    use domxml::resolve::{Index, SysfsRoot};

    fn q35() -> Index {
        let root =
            SysfsRoot::at(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/q35")).unwrap();
        Index::scan(&root).unwrap()
    }

    const FLAT: &str = "<domain type='qemu'><name>v</name><devices>\
      <controller type='scsi' index='0' model='virtio-scsi'/>\
      <hostdev mode='subsystem' type='scsi'><source><adapter parent='pci_0000_01_00_0' unique_id='0'/>\
      <address bus='0' target='3' unit='5'/></source></hostdev></devices></domain>";

    #[test]
    fn a_flat_adapter_becomes_scsi_host_n_and_is_recorded() {
        let r = realize(&domain(FLAT), Some(&q35())).unwrap();
        let xml = domxml::write_domain(&r.domain);
        assert!(xml.contains("<adapter name='scsi_host6'/>"), "{xml}");
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.records[0].realized, "hostdev scsi (scsi_host6 0:3:5)");
        assert_eq!(r.records[0].identity, "pci_0000_01_00_0/0 0:3:5");
    }

    #[test]
    fn a_stable_adapter_without_a_host_says_to_pass_a_sysfs_root() {
        let e = realize(&domain(FLAT), None).unwrap_err().to_string();
        assert!(e.contains("--sysfs-root"), "{e}");
    }

    #[test]
    fn the_applied_stable_hostdev_plans_nothing_next_time() {
        let want = realize(&domain(FLAT), Some(&q35())).unwrap();
        let current = with_metadata(&want.domain, &want.records);
        let ids = identities(&current);
        let plan = diff(
            Side {
                domain: &current,
                resolved: None,
                ids: Some(&ids),
            },
            Side {
                domain: &want.domain,
                resolved: None,
                ids: Some(&want.ids),
            },
            Targets::CONFIG,
        )
        .unwrap();
        assert!(plan.is_empty(), "{:?}", plan.changes);
    }

    #[test]
    fn a_renumbered_host_plans_exactly_the_reattach_it_needs() {
        let want = realize(&domain(FLAT), Some(&q35())).unwrap();
        // Applied on an earlier boot, when the same host was scsi_host3.
        let old_xml = domxml::write_domain(&want.domain).replace("scsi_host6", "scsi_host3");
        let mut recs = want.records.clone();
        recs[0].realized = "hostdev scsi (scsi_host3 0:3:5)".into();
        let current = with_metadata(&domain(&old_xml), &recs);
        let ids = identities(&current);
        let plan = diff(
            Side {
                domain: &current,
                resolved: None,
                ids: Some(&ids),
            },
            Side {
                domain: &want.domain,
                resolved: None,
                ids: Some(&want.ids),
            },
            Targets::CONFIG,
        )
        .unwrap();
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        assert_eq!(plan.changes[0].action, Action::Replace);
        assert_eq!(
            plan.changes[0].key.to_string(),
            "hostdev scsi (pci_0000_01_00_0/0 0:3:5)"
        );
        assert_eq!(
            plan.changes[0].reasons,
            ["source/adapter/@name: 'scsi_host3' → 'scsi_host6'"]
        );
        // Without the metadata the old device would be a different one: a detach and an
        // attach of two unrelated hostdevs.
        let bare = domain(&old_xml);
        let plan = diff(
            Side {
                domain: &bare,
                resolved: None,
                ids: None,
            },
            Side {
                domain: &want.domain,
                resolved: None,
                ids: Some(&want.ids),
            },
            Targets::CONFIG,
        )
        .unwrap();
        assert_eq!(plan.count(Action::Detach) + plan.count(Action::Attach), 2);
    }

    #[test]
    fn a_host_renumbered_in_sysfs_plans_exactly_the_reattach_and_nothing_after_it() {
        let tmp = tempfile::tempdir().unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sysfs/q35");
        super::common::renumbered_copy(&src, tmp.path(), 6, 16);
        let renumbered = Index::scan(&SysfsRoot::at(tmp.path()).unwrap()).unwrap();
        // Applied on the boot that numbered the host 6 ...
        let before = realize(&domain(FLAT), Some(&q35())).unwrap();
        let current = with_metadata(&before.domain, &before.records);
        let ids = identities(&current);
        // ... planned on the boot that numbers it 16.
        let now = realize(&domain(FLAT), Some(&renumbered)).unwrap();
        assert!(domxml::write_domain(&now.domain).contains("<adapter name='scsi_host16'/>"));
        let plan = diff(
            Side {
                domain: &current,
                resolved: None,
                ids: Some(&ids),
            },
            Side {
                domain: &now.domain,
                resolved: None,
                ids: Some(&now.ids),
            },
            Targets::CONFIG,
        )
        .unwrap();
        let summary: Vec<String> = plan
            .changes
            .iter()
            .map(|c| format!("{} {} {:?}", c.action.symbol(), c.key, c.reasons))
            .collect();
        assert_eq!(
            summary,
            ["-/+ hostdev scsi (pci_0000_01_00_0/0 0:3:5) [\"source/adapter/@name: 'scsi_host6' → 'scsi_host16'\"]"]
        );
        // After the re-attach (and its new record) there is nothing left to do.
        let mut after = current.clone();
        plan.apply_to(&mut after, Targets::CONFIG);
        let after = with_metadata(&after, &now.records);
        let ids = identities(&after);
        let again = diff(
            Side {
                domain: &after,
                resolved: None,
                ids: Some(&ids),
            },
            Side {
                domain: &now.domain,
                resolved: None,
                ids: Some(&now.ids),
            },
            Targets::CONFIG,
        )
        .unwrap();
        assert!(again.is_empty(), "{:?}", again.changes);
    }

    #[test]
    fn a_whole_host_controller_becomes_one_hostdev_per_lu_keyed_by_wwid() {
        let d = domain("<domain type='qemu'><name>v</name><devices>\
          <controller type='scsi' index='1' model='virtio-scsi'><source><adapter name='scsi_host9'/>\
          <address type='scsi' bus='0' target='1'/></source></controller></devices></domain>");
        let r = realize(&d, Some(&q35())).unwrap();
        let xml = domxml::write_domain(&r.domain);
        assert!(
            !xml.contains("<source><adapter name='scsi_host9'/><address type='scsi'"),
            "{xml}"
        );
        assert_eq!(
            xml.matches("<hostdev mode='subsystem' type='scsi'>")
                .count(),
            2,
            "{xml}"
        );
        assert!(
            xml.contains("<address type='drive' controller='1' bus='0' target='1' unit='1'/>"),
            "{xml}"
        );
        let ids: Vec<&String> = r.ids.values().collect();
        assert_eq!(
            ids,
            ["wwid naa.3333333000005208", "wwid naa.3333333000005209"]
        );
    }
}
