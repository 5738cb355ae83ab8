//! Whole-host passthrough in `convert`: a virtio-scsi controller with `<source><adapter>`
//! becomes one device per host LU, over the sysfs fixtures. Agreement with the guest's own
//! report for whole real captures is in `tests/resolve.rs`; libvirt's view of the equivalent
//! explicit devices is in `tests/libvirt_crosscheck.rs`. These are the rules and refusals.

mod common;
use domxml::emit::{Caps, QemuVersion};
use domxml::{codes, convert_bytes, Converted, EmitError, Error, Host, Limits, Options};
use serde_json::Value;
use std::path::PathBuf;

fn sysfs(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/fixtures/sysfs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// Convert against a sysfs tree.
fn convert_str(xml: &str, opts: &Options, root: &std::path::Path) -> Result<Converted, Error> {
    convert_bytes(xml.as_bytes(), Limits::default(), opts, Host::Sysfs(root))
}

fn domain(devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>w</name><memory>131072</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <controller type='usb' model='none'/><memballoon model='none'/>{devices}</devices></domain>"
    )
}

/// `-device` objects of the SCSI passthrough devices, with the file their drive opens.
fn passthrough(xml: &str, tree: &str) -> Vec<(String, String, u64, u64, String)> {
    let c = convert_str(xml, &Options::default(), &sysfs(tree)).unwrap();
    common::passthrough_devices(&c.args.into_argv())
        .into_iter()
        .map(|d| (d.driver, d.id, d.scsi_id, d.lun, d.file))
        .collect()
}

fn refusal(xml: &str, tree: &str) -> EmitError {
    match convert_str(xml, &Options::default(), &sysfs(tree)) {
        Err(Error::Emit(e)) => e,
        Err(other) => panic!("expected an emit error, got {other}"),
        Ok(c) => panic!("expected a refusal, got {:?}", c.args.into_argv()),
    }
}

fn whole(index: u32, adapter: &str, restrict: &str) -> String {
    format!(
        "<controller type='scsi' index='{index}' model='virtio-scsi'><source>{adapter}{restrict}</source></controller>"
    )
}

#[test]
fn an_lu_without_block_device_is_scsi_generic_on_its_sg_node_and_bus_one_lands_on_channel_zero() {
    // virtio-multi host4: 4:0:2:3 (sdc), 4:0:2:4 (a tape, sg3 only), 4:1:0:0 (sdd, bus 1).
    let xml = domain(&whole(0, "<adapter parent='pci_0000_00_08_0'/>", ""));
    assert_eq!(
        passthrough(&xml, "virtio-multi"),
        [
            (
                "scsi-block".into(),
                "scsi0-0-2-3".into(),
                2,
                3,
                "/dev/sdc".into()
            ),
            (
                "scsi-generic".into(),
                "scsi0-0-2-4".into(),
                2,
                4,
                "/dev/sg3".into()
            ),
            (
                "scsi-block".into(),
                "scsi0-0-0-0".into(),
                0,
                0,
                "/dev/sdd".into()
            ),
        ]
    );
}

#[test]
fn a_restriction_passes_only_that_bus_and_target() {
    let xml = domain(&whole(
        0,
        "<adapter parent='pci_0000_00_06_0' unique_id='48'/>",
        "<address type='scsi' bus='2' target='1'/>",
    ));
    assert_eq!(
        passthrough(&xml, "multi-bus"),
        [(
            "scsi-block".into(),
            "scsi0-0-1-0".into(),
            1,
            0,
            "/dev/sdb".into()
        )]
    );
}

#[test]
fn legacy_syntax_names_each_drive_after_its_device() {
    let xml = domain(&whole(
        2,
        "<adapter name='scsi_host9'/>",
        "<address type='scsi' bus='0' target='1'/>",
    ));
    let opts = Options::default().caps(Caps::of(QemuVersion::new(4, 1)));
    let argv = convert_str(&xml, &opts, &sysfs("q35"))
        .unwrap()
        .args
        .into_argv();
    let lines: Vec<String> = argv
        .windows(2)
        .filter(|w| w[1].contains("scsi2-0-1-"))
        .map(|w| format!("{} {}", w[0], w[1]))
        .collect();
    assert_eq!(
        lines,
        [
            "-drive file=/dev/sdh,if=none,format=raw,id=drive-scsi2-0-1-0",
            "-device scsi-block,bus=scsi2.0,channel=0,scsi-id=1,lun=0,drive=drive-scsi2-0-1-0,id=scsi2-0-1-0",
            "-drive file=/dev/sdi,if=none,format=raw,id=drive-scsi2-0-1-1",
            "-device scsi-block,bus=scsi2.0,channel=0,scsi-id=1,lun=1,drive=drive-scsi2-0-1-1,id=scsi2-0-1-1",
        ]
    );
}

#[test]
fn a_user_alias_on_the_controller_names_its_lus_and_node_names_stay_short() {
    let long = "ua-".to_string() + &"x".repeat(60);
    let xml = domain(&format!(
        "<controller type='scsi' index='3' model='virtio-scsi'><alias name='{long}'/><source><adapter name='scsi_host9'/><address type='scsi' bus='0' target='1'/></source></controller>"
    ));
    let argv = convert_str(&xml, &Options::default(), &sysfs("q35"))
        .unwrap()
        .args
        .into_argv();
    let nodes: Vec<String> = argv
        .windows(2)
        .filter(|w| w[0] == "-blockdev")
        .map(|w| {
            serde_json::from_str::<Value>(&w[1]).unwrap()["node-name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(nodes, ["lu-3-1-0", "lu-3-1-1"]);
    assert!(argv
        .iter()
        .any(|a| a.contains(&format!(r#""id":"{long}-0-1-1","bus":"{long}.0""#))));
}

#[test]
fn luns_of_two_host_channels_meeting_at_one_guest_address_are_refused() {
    let xml = domain(&whole(0, "<adapter parent='pci_0000_00_06_0'/>", ""));
    let e = refusal(&xml, "multi-bus");
    assert_eq!(e.code(), codes::E122);
    assert!(
        e.message()
            .contains("host LU 0:2:1:0 would be guest target 1 lun 0"),
        "{e}"
    );
    assert!(e.message().contains("0:0:1:0"), "{e}");
    assert!(e.hint().unwrap().contains("bus target"));
}

#[test]
fn a_target_above_255_or_a_lun_above_16383_is_refused_not_renumbered() {
    for (target, lu) in [(300, "1:0:300:0"), (5, "1:0:5:49152")] {
        let xml = domain(&whole(
            0,
            "<adapter parent='pci_0000_00_07_0' unique_id='49'/>",
            &format!("<address type='scsi' bus='0' target='{target}'/>"),
        ));
        let e = refusal(&xml, "multi-bus");
        assert_eq!(e.code(), codes::E123);
        assert!(
            e.message()
                .contains(&format!("host LU {lu} cannot keep its address")),
            "{e}"
        );
    }
}

#[test]
fn a_disk_at_an_address_the_host_adapter_fills_is_a_conflict_naming_the_disk() {
    let xml = domain(&format!(
        "{}<disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/>\
         <address type='drive' controller='0' bus='0' target='1' unit='1'/></disk>",
        whole(
            0,
            "<adapter name='scsi_host9'/>",
            "<address type='scsi' bus='0' target='1'/>"
        )
    ));
    let e = refusal(&xml, "q35");
    assert_eq!(e.code(), codes::E122);
    assert!(e.message().contains("host LU 9:0:1:1"), "{e}");
    assert!(e.message().contains("/domain/devices/disk"), "{e}");
}

#[test]
fn an_lu_given_to_the_guest_twice_is_refused_whoever_gives_it() {
    let ctrl = whole(
        1,
        "<adapter name='scsi_host9'/>",
        "<address type='scsi' bus='0' target='1'/>",
    );
    // By a hostdev (the same /dev/sg7).
    let hostdev = "<controller type='scsi' index='0' model='virtio-scsi'/>\
        <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host9'/>\
        <address bus='0' target='1' unit='0'/></source></hostdev>";
    // By a block disk on its /dev/sdX.
    let disk = "<controller type='scsi' index='0' model='virtio-scsi'/>\
        <disk type='block' device='lun'><source dev='/dev/sdi'/><target dev='sda' bus='scsi'/></disk>";
    // By a second whole-host controller on the same adapter, named another way.
    let again = whole(2, "<adapter name='host9'/>", "");
    for (other, lu, by) in [
        (hostdev.to_string(), "9:0:1:0", "hostdev"),
        (disk.to_string(), "9:0:1:1", "disk"),
        (again, "9:0:1:0", "controller[2]"),
    ] {
        let e = refusal(&domain(&format!("{ctrl}{other}")), "q35");
        assert_eq!(e.code(), codes::E121, "{e}");
        assert!(e.message().contains(&format!("host LU {lu}")), "{e}");
        assert!(e.message().contains(by), "{e}");
    }
}

#[test]
fn an_adapter_that_does_not_resolve_names_the_controller_and_what_exists() {
    let xml = domain(&whole(0, "<adapter parent='pci_0000_00_1c_0'/>", ""));
    let e = refusal(&xml, "q35");
    assert_eq!(e.code(), codes::E120);
    assert!(e.path().starts_with("/domain/devices/controller"), "{e}");
    // The root port is not the host's PCI parent; the function below it is named.
    assert!(e.message().contains("0000:01:00.0"), "{e}");
}

#[test]
fn without_sysfs_a_whole_host_controller_is_refused_and_says_how_to_convert_it() {
    let xml = domain(&whole(0, "<adapter name='scsi_host9'/>", ""));
    match domxml::convert_str(&xml, &Options::default()) {
        Err(Error::Emit(e)) => {
            assert_eq!(e.code(), codes::E120);
            assert!(e.message().contains("--sysfs-root"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_adapter_without_lus_gives_an_empty_controller_and_a_note() {
    // q35 capture: AHCI port 1 (host0, unique_id 1) has no disk.
    let xml = domain(&whole(
        0,
        "<adapter parent='pci_0000_00_1f_2' unique_id='1'/>",
        "",
    ));
    let c = convert_str(&xml, &Options::default(), &sysfs("q35")).unwrap();
    let argv = c.args.into_argv();
    assert!(argv
        .iter()
        .any(|a| a.contains(r#""driver":"virtio-scsi-pci","id":"scsi0""#)));
    assert!(!argv
        .iter()
        .any(|a| a.contains("scsi-block") || a.contains("scsi-generic")));
    assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    assert!(c.notes[0].message.contains("has no LU"), "{:?}", c.notes);
}

#[test]
fn every_adapter_form_names_a_whole_host() {
    // fc_host by WWNs (a vHBA on its parent HBA), libvirt's parentaddr, and the host number.
    let fc = "<adapter type='fc_host' parent='scsi_host5' wwnn='2000001A4A7F1234' wwpn='0x2100001a4a7f1234'/>";
    assert_eq!(
        passthrough(&domain(&whole(0, fc, "")), "fc"),
        [(
            "scsi-block".into(),
            "scsi0-0-0-0".into(),
            0,
            0,
            "/dev/sdc".into()
        )]
    );
    // q35 capture: AHCI port 3 (unique_id 3 under 0000:00:1f.2) is host2 with LU 2:0:0:0 (sda).
    let parentaddr = "<adapter type='scsi_host'><parentaddr unique_id='3'>\
        <address domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/></parentaddr></adapter>";
    assert_eq!(
        passthrough(&domain(&whole(0, parentaddr, "")), "q35"),
        [(
            "scsi-block".into(),
            "scsi0-0-0-0".into(),
            0,
            0,
            "/dev/sda".into()
        )]
    );
    assert_eq!(
        passthrough(&domain(&whole(0, "<adapter name='host2'/>", "")), "q35"),
        [(
            "scsi-block".into(),
            "scsi0-0-0-0".into(),
            0,
            0,
            "/dev/sda".into()
        )]
    );
}
