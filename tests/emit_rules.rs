//! Single emission rules, each checked against what libvirt 9.0's
//! `virsh domxml-to-native qemu-argv` printed for the same XML (quoted in each test).

use domxml::{convert_str, Error, Options};

fn domain(devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>r</name><memory>131072</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <controller type='usb' model='none'/><memballoon model='none'/>{devices}</devices></domain>"
    )
}

fn device_lines(xml: &str) -> Vec<String> {
    let c = convert_str(xml, &Options::default()).unwrap();
    let argv = c.args.into_argv();
    argv.windows(2)
        .filter(|w| w[0] == "-device")
        .map(|w| w[1].clone())
        .collect()
}

#[test]
fn error_policy_blockio_and_geometry_follow_libvirts_key_order() {
    // libvirt 9.0: {"driver":"scsi-hd","bus":"scsi0.0","channel":0,"scsi-id":0,"lun":0,
    // "device_id":"drive-scsi0-0-0-0","drive":"libvirt-1-format","id":"scsi0-0-0-0",
    // "bootindex":1,"logical_block_size":4096,"physical_block_size":4096,"cyls":16383,
    // "heads":16,"secs":63,"werror":"enospc"}  (its drive is a raw format layer over ours)
    let xml = domain(
        "<controller type='scsi' model='virtio-scsi'/>\
         <disk type='file' device='disk'><driver name='qemu' error_policy='enospace'/>\
         <source file='/a'/><target dev='sda' bus='scsi'/>\
         <blockio logical_block_size='4096' physical_block_size='4096'/>\
         <geometry cyls='16383' heads='16' secs='63'/></disk>",
    );
    let devs = device_lines(&xml);
    assert_eq!(
        devs[1],
        r#"{"driver":"scsi-hd","bus":"scsi0.0","channel":0,"scsi-id":0,"lun":0,"device_id":"drive-scsi0-0-0-0","drive":"libvirt-1-storage","id":"scsi0-0-0-0","bootindex":1,"logical_block_size":4096,"physical_block_size":4096,"cyls":16383,"heads":16,"secs":63,"werror":"enospc"}"#
    );
}

#[test]
fn chs_translation_on_a_scsi_disk_is_refused_with_libvirts_message() {
    // libvirt 9.0: "CHS translation mode can only be set for 'ide' bus not 'scsi'"
    let xml = domain(
        "<disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/>\
         <geometry cyls='16383' heads='16' secs='63' trans='lba'/></disk>",
    );
    match convert_str(&xml, &Options::default()) {
        Err(Error::Emit(e)) => assert_eq!(
            e.message(),
            "CHS translation mode can only be set for 'ide' bus not 'scsi'"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_shared_qcow2_disk_is_refused_with_libvirts_message() {
    // libvirt 9.0: "shared access for disk 'sda' requires use of supported storage format"
    let xml = domain(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a'/>\
         <target dev='sda' bus='scsi'/><shareable/></disk>",
    );
    match convert_str(&xml, &Options::default()) {
        Err(Error::Emit(e)) => assert_eq!(
            e.message(),
            "shared access for disk 'sda' requires use of supported storage format"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_shared_writable_disk_defaults_to_cache_none() {
    // libvirt 9.0 storage: {"driver":"file","filename":"/a",…,"cache":{"direct":true,
    // "no-flush":false},…}; device: …,"share-rw":true,…,"write-cache":"on"
    let xml = domain(
        "<controller type='scsi' model='virtio-scsi'/>\
         <disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/>\
         <shareable/></disk>",
    );
    let c = convert_str(&xml, &Options::default()).unwrap();
    let text = c.args.argv().join("\n");
    assert!(
        text.contains(r#""cache":{"direct":true,"no-flush":false}"#),
        "{text}"
    );
    assert!(text.contains(r#""share-rw":true"#), "{text}");
    assert!(text.contains(r#""write-cache":"on""#), "{text}");
}

#[test]
fn disks_are_numbered_per_bus_in_target_order_like_libvirts_disk_list() {
    // libvirt 9.0 for [vdb (lun), hda] in that document order: vdb is libvirt-2 with
    // bootindex 1 and comes first; hda is libvirt-1.
    let xml = domain(
        "<disk type='block' device='lun'><source dev='/dev/x'/><target dev='vdb' bus='virtio'/></disk>\
         <disk type='file' device='disk'><source file='/y'/><target dev='hda' bus='ide'/></disk>",
    );
    let devs = device_lines(&xml);
    assert!(
        devs[0].contains(r#""drive":"libvirt-2-storage","id":"virtio-disk1","bootindex":1"#),
        "{devs:?}"
    );
    assert!(
        devs[1].contains(r#""drive":"libvirt-1-storage","id":"ide0-0-0"}"#),
        "{devs:?}"
    );
}

#[test]
fn ncr53c90_on_a_pc_machine_is_refused_with_libvirts_message() {
    // libvirt 9.0: "ncr53c90 SCSI controller is not a built-in for this machine"
    let xml = domain("<controller type='scsi' index='0' model='ncr53c90'/>");
    match convert_str(&xml, &Options::default()) {
        Err(Error::Emit(e)) => assert_eq!(
            e.message(),
            "ncr53c90 SCSI controller is not a built-in for this machine"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
