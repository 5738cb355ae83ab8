//! PCI topologies and placement, each rule checked against what libvirt 9.0's
//! `virsh domxml-to-native qemu-argv` printed for the same XML (its `-device` lines are the
//! expected values below; where domxml differs outside the rule, the comment says how).
//! `tests/libvirt_dumpxml.rs` runs the same comparison against a live libvirt on hundreds of
//! generated domains.

use domxml::{convert_str, Error, Options};

fn domain(machine: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'><name>t</name><memory>131072</memory>\
         <os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>{devices}</devices>\
         <cpu><numa><cell id='0' cpus='0' memory='131072'/></numa></cpu></domain>"
    )
}

/// The `-device` arguments, in order.
fn devices(xml: &str) -> Vec<String> {
    let c = convert_str(xml, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let argv = c.args.into_argv();
    argv.windows(2)
        .filter(|w| w[0] == "-device")
        .map(|w| w[1].clone())
        .collect()
}

/// The notes of a conversion.
fn notes(xml: &str) -> Vec<String> {
    let c = convert_str(xml, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    c.notes.iter().map(|n| n.to_string()).collect()
}

/// The code and message of a conversion that fails.
fn refusal(xml: &str) -> (String, String) {
    match convert_str(xml, &Options::default()) {
        Err(Error::Emit(e)) => (e.code().to_string(), e.message().to_string()),
        Err(Error::Invalid(d)) => (d[0].code.to_string(), d[0].message.clone()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const NO_USB_NO_BALLOON: &str = "<controller type='usb' model='none'/><memballoon model='none'/>";

#[test]
fn every_pci_controller_model_is_emitted_as_libvirt_emits_it() {
    let xml = domain(
        "q35",
        &format!(
            "{NO_USB_NO_BALLOON}<controller type='pci' index='0' model='pcie-root'/>\
             <controller type='pci' index='1' model='pcie-root-port'><target hotplug='off'/></controller>\
             <controller type='pci' index='2' model='pcie-switch-upstream-port'/>\
             <controller type='pci' index='3' model='pcie-switch-downstream-port'/>\
             <controller type='pci' index='4' model='pcie-expander-bus'><target busNr='200'><node>0</node></target></controller>\
             <controller type='pci' index='5' model='pcie-root-port'/>\
             <controller type='pci' index='6' model='pcie-to-pci-bridge'/>\
             <controller type='pci' index='7' model='pci-bridge'/>\
             <controller type='pci' index='8' model='dmi-to-pci-bridge'/>\
             <controller type='pci' index='9' model='pcie-root-port'><alias name='ua-port9'/></controller>\
             <controller type='scsi' index='0' model='virtio-scsi'><address type='pci' bus='9' slot='0'/></controller>\
             <controller type='scsi' index='1' model='lsilogic'><address type='pci' bus='7' slot='3'/></controller>\
             <controller type='scsi' index='2' model='virtio-scsi'><address type='pci' bus='3' slot='0'/></controller>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","hotplug":false,"bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
            r#"{"driver":"x3130-upstream","id":"pci.2","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"xio3130-downstream","port":0,"chassis":3,"id":"pci.3","bus":"pci.2","addr":"0x0"}"#,
            r#"{"driver":"pxb-pcie","bus_nr":200,"id":"pci.4","numa_node":0,"bus":"pcie.0","addr":"0x2"}"#,
            r#"{"driver":"pcie-root-port","port":9,"chassis":5,"id":"pci.5","bus":"pcie.0","addr":"0x1.0x1"}"#,
            r#"{"driver":"pcie-pci-bridge","id":"pci.6","bus":"pci.5","addr":"0x0"}"#,
            r#"{"driver":"pci-bridge","chassis_nr":7,"id":"pci.7","bus":"pci.6","addr":"0x1"}"#,
            r#"{"driver":"i82801b11-bridge","id":"pci.8","bus":"pcie.0","addr":"0x1e"}"#,
            r#"{"driver":"pcie-root-port","port":10,"chassis":9,"id":"ua-port9","bus":"pcie.0","addr":"0x1.0x2"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi0","bus":"ua-port9","addr":"0x0"}"#,
            r#"{"driver":"lsi","id":"scsi1","bus":"pci.7","addr":"0x3"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi2","bus":"pci.3","addr":"0x0"}"#,
        ]
    );
}

#[test]
fn expander_buses_get_bus_numbers_counting_down_from_254() {
    let xml = domain(
        "pc",
        &format!(
            "{NO_USB_NO_BALLOON}\
             <controller type='pci' index='1' model='pci-expander-bus'><target><node>0</node></target></controller>\
             <controller type='pci' index='2' model='pci-expander-bus'/>\
             <controller type='scsi' index='0' model='virtio-scsi'><address type='pci' bus='1' slot='0'/></controller>\
             <controller type='scsi' index='1' model='lsilogic'><address type='pci' bus='2' slot='1'/></controller>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pxb","bus_nr":254,"id":"pci.1","numa_node":0,"bus":"pci.0","addr":"0x2"}"#,
            r#"{"driver":"pxb","bus_nr":252,"id":"pci.2","bus":"pci.0","addr":"0x3"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"lsi","id":"scsi1","bus":"pci.2","addr":"0x1"}"#,
        ]
    );
}

#[test]
fn q35_video_takes_slot_1_so_root_ports_start_at_port_16_and_ich9_audio_is_integrated() {
    // libvirt also emits VGA at pcie.0 0x1 and ich9-intel-hda at 0x1b (with its codec); its
    // virtio disks use a raw format node over domxml's storage node.
    let xml = domain(
        "q35",
        "<controller type='usb' model='none'/>\
         <disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='file' device='disk'><source file='/b.img'/><target dev='vdb' bus='virtio'/></disk>\
         <video><model type='vga'/></video><sound model='ich9'/>",
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":16,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x2"}"#,
            r#"{"driver":"pcie-root-port","port":17,"chassis":2,"id":"pci.2","bus":"pcie.0","addr":"0x2.0x1"}"#,
            r#"{"driver":"pcie-root-port","port":18,"chassis":3,"id":"pci.3","bus":"pcie.0","addr":"0x2.0x2"}"#,
            r#"{"driver":"pcie-root-port","port":19,"chassis":4,"id":"pci.4","bus":"pcie.0","addr":"0x2.0x3"}"#,
            r#"{"driver":"virtio-blk-pci","bus":"pci.1","addr":"0x0","drive":"libvirt-2-storage","id":"virtio-disk0","bootindex":1}"#,
            r#"{"driver":"virtio-blk-pci","bus":"pci.2","addr":"0x0","drive":"libvirt-1-storage","id":"virtio-disk1"}"#,
            r#"{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.3","addr":"0x0"}"#,
        ]
    );
}

#[test]
fn q35_conventional_pci_goes_behind_a_bridge_on_the_first_root_port_numbered_when_first_needed() {
    // The 9p share and the virtio NIC take root ports pci.2 and pci.3 (libvirt emits them
    // there; domxml notes them); the e1000 NIC is the first conventional PCI device, so the
    // bridge is index 4, plugged into root port pci.1, with the NIC in its slot 1.
    let xml = domain(
        "q35",
        "<filesystem type='mount' accessmode='mapped'><source dir='/srv'/><target dir='share'/></filesystem>\
         <interface type='user'><model type='virtio'/></interface>\
         <interface type='user'><model type='e1000'/></interface>\
         <controller type='scsi' index='0' model='lsisas1078'/>\
         <controller type='scsi' index='1' model='vmpvscsi'/>\
         <controller type='usb' index='0' model='ich9-ehci1'/><memballoon model='none'/>",
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
            r#"{"driver":"pcie-root-port","port":9,"chassis":2,"id":"pci.2","bus":"pcie.0","addr":"0x1.0x1"}"#,
            r#"{"driver":"pcie-root-port","port":10,"chassis":3,"id":"pci.3","bus":"pcie.0","addr":"0x1.0x2"}"#,
            r#"{"driver":"pcie-pci-bridge","id":"pci.4","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"pcie-root-port","port":11,"chassis":5,"id":"pci.5","bus":"pcie.0","addr":"0x1.0x3"}"#,
            r#"{"driver":"ich9-usb-ehci1","id":"usb","bus":"pci.4","addr":"0x4.0x7"}"#,
            r#"{"driver":"megasas","id":"scsi0","bus":"pci.4","addr":"0x2"}"#,
            r#"{"driver":"pvscsi","id":"scsi1","bus":"pci.4","addr":"0x3"}"#,
        ]
    );
}

#[test]
fn a_second_sata_controller_is_added_for_a_disk_and_sits_behind_the_bridge() {
    // sdg is SATA controller 1, unit 0; libvirt's ide-cd uses a format node.
    let xml = domain(
        "q35",
        &format!(
            "{NO_USB_NO_BALLOON}<disk type='file' device='cdrom'><source file='/a.iso'/>\
             <target dev='sdg' bus='sata'/><readonly/></disk>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
            r#"{"driver":"pcie-pci-bridge","id":"pci.2","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"pcie-root-port","port":9,"chassis":3,"id":"pci.3","bus":"pcie.0","addr":"0x1.0x1"}"#,
            r#"{"driver":"ahci","id":"sata1","bus":"pci.2","addr":"0x1"}"#,
            r#"{"driver":"ide-cd","bus":"sata1.0","drive":"libvirt-1-storage","id":"sata1-0-0"}"#,
        ]
    );
}

#[test]
fn an_address_on_a_bus_no_controller_provides_makes_libvirt_add_the_controllers() {
    let xml = domain(
        "q35",
        &format!(
            "{NO_USB_NO_BALLOON}\
             <controller type='scsi' index='0' model='virtio-scsi'><address type='pci' bus='3' slot='0'/></controller>\
             <controller type='scsi' index='1' model='lsilogic'/>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
            r#"{"driver":"pcie-root-port","port":9,"chassis":2,"id":"pci.2","bus":"pcie.0","addr":"0x1.0x1"}"#,
            r#"{"driver":"pcie-root-port","port":10,"chassis":3,"id":"pci.3","bus":"pcie.0","addr":"0x1.0x2"}"#,
            r#"{"driver":"pcie-root-port","port":11,"chassis":4,"id":"pci.4","bus":"pcie.0","addr":"0x1.0x3"}"#,
            r#"{"driver":"pcie-pci-bridge","id":"pci.5","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.3","addr":"0x0"}"#,
            r#"{"driver":"lsi","id":"scsi1","bus":"pci.5","addr":"0x1"}"#,
        ]
    );
}

#[test]
fn a_slot_a_root_port_does_not_have_is_refused_with_libvirts_message() {
    let xml = domain(
        "q35",
        &format!(
            "{NO_USB_NO_BALLOON}<controller type='pci' index='1' model='pcie-root-port'/>\
             <controller type='scsi' index='0' model='virtio-scsi'><address type='pci' bus='1' slot='2'/></controller>"
        ),
    );
    // libvirt 9.0: "XML error: Invalid PCI address 0000:01:02.0. slot must be <= 0"
    assert_eq!(
        refusal(&xml),
        (
            "E103".to_string(),
            "Invalid PCI address 0000:01:02.0. slot must be <= 0".to_string()
        )
    );
}

#[test]
fn a_full_i440fx_root_bus_spills_onto_a_pci_bridge_in_the_slot_held_for_it() {
    let mut ctrls = String::from(NO_USB_NO_BALLOON);
    for i in 0..31 {
        ctrls.push_str(&format!(
            "<controller type='scsi' index='{i}' model='lsilogic'/>"
        ));
    }
    let devs = devices(&domain("pc", &ctrls));
    assert_eq!(
        devs[0],
        r#"{"driver":"pci-bridge","chassis_nr":1,"id":"pci.1","bus":"pci.0","addr":"0x2"}"#
    );
    assert_eq!(
        devs[1],
        r#"{"driver":"lsi","id":"scsi0","bus":"pci.0","addr":"0x3"}"#
    );
    assert_eq!(
        devs[31],
        r#"{"driver":"lsi","id":"scsi30","bus":"pci.1","addr":"0x2"}"#
    );
}

#[test]
fn controllers_without_index_take_the_lowest_free_ones_but_slots_in_document_order() {
    let xml = domain(
        "pc",
        &format!(
            "{NO_USB_NO_BALLOON}<controller type='scsi' index='1' model='virtio-scsi'/>\
             <controller type='scsi' model='lsilogic'/><controller type='scsi' model='vmpvscsi'/>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"virtio-scsi-pci","id":"scsi1","bus":"pci.0","addr":"0x2"}"#,
            r#"{"driver":"lsi","id":"scsi0","bus":"pci.0","addr":"0x3"}"#,
            r#"{"driver":"pvscsi","id":"scsi2","bus":"pci.0","addr":"0x4"}"#,
        ]
    );
}

#[test]
fn usb2_companions_share_a_slot_and_multifunction_is_written_as_given_or_needed() {
    let xml = domain(
        "pc",
        "<controller type='usb' index='0' model='ich9-ehci1'/>\
         <controller type='usb' index='0' model='ich9-uhci1'/>\
         <controller type='usb' index='0' model='ich9-uhci2'/>\
         <controller type='scsi' index='0' model='virtio-scsi'><address type='pci' bus='0' slot='5' multifunction='on'/></controller>\
         <controller type='scsi' index='1' model='virtio-scsi'><address type='pci' bus='0' slot='5' function='1'/></controller>\
         <controller type='scsi' index='2' model='lsilogic'><address type='pci' bus='0' slot='6' multifunction='off'/></controller>\
         <memballoon model='none'/>",
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"ich9-usb-ehci1","id":"usb","bus":"pci.0","addr":"0x2.0x7"}"#,
            r#"{"driver":"ich9-usb-uhci1","masterbus":"usb.0","firstport":0,"bus":"pci.0","multifunction":true,"addr":"0x2"}"#,
            r#"{"driver":"ich9-usb-uhci2","masterbus":"usb.0","firstport":2,"bus":"pci.0","addr":"0x2.0x1"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.0","multifunction":true,"addr":"0x5"}"#,
            r#"{"driver":"virtio-scsi-pci","id":"scsi1","bus":"pci.0","addr":"0x5.0x1"}"#,
            r#"{"driver":"lsi","id":"scsi2","bus":"pci.0","multifunction":false,"addr":"0x6"}"#,
        ]
    );
}

#[test]
fn a_9p_share_takes_its_slot_and_virtio_options_and_transitional_models_are_emitted() {
    // libvirt emits virtio-9p-pci at 0x2 (domxml notes it) and raw format nodes.
    let xml = domain(
        "pc",
        "<controller type='usb' model='none'/>\
         <filesystem type='mount' accessmode='mapped'><source dir='/srv'/><target dir='share'/></filesystem>\
         <controller type='scsi' index='0' model='virtio-scsi'><driver iommu='on' ats='on' packed='on' page_per_vq='on' queues='2'/></controller>\
         <disk type='file' device='disk' model='virtio-transitional'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='file' device='disk' model='virtio-non-transitional'><source file='/b.img'/><target dev='vdb' bus='virtio'/></disk>",
    );
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"virtio-scsi-pci","iommu_platform":true,"ats":true,"packed":true,"page-per-vq":true,"id":"scsi0","num_queues":2,"bus":"pci.0","addr":"0x3"}"#,
            r#"{"driver":"virtio-blk-pci-transitional","bus":"pci.0","addr":"0x4","drive":"libvirt-2-storage","id":"virtio-disk0","bootindex":1}"#,
            r#"{"driver":"virtio-blk-pci-non-transitional","bus":"pci.0","addr":"0x5","drive":"libvirt-1-storage","id":"virtio-disk1"}"#,
            r#"{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.0","addr":"0x6"}"#,
        ]
    );
    assert!(notes(&xml)
        .iter()
        .any(|n| n.contains("<filesystem> is not emitted")));
}

#[test]
fn devices_outside_domxmls_scope_are_notes_never_refusals() {
    let xml = domain(
        "pc",
        "<disk type='file' device='disk'><source file='/u.img'/><target dev='sda' bus='usb'/></disk>\
         <disk type='network' device='disk'><source protocol='nbd' name='x'><host name='h'/></source><target dev='vda' bus='virtio'/></disk>\
         <input type='tablet' bus='usb'/><input type='mouse' bus='ps2'/>\
         <hostdev mode='subsystem' type='pci' managed='no'><driver name='vfio'/><source><address domain='0' bus='3' slot='0' function='0'/></source><address type='unassigned'/></hostdev>\
         <hostdev mode='subsystem' type='pci' managed='no' display='on' ramfb='on'><driver name='vfio'/><source><address domain='0' bus='4' slot='0' function='0'/></source></hostdev>",
    );
    let n = notes(&xml);
    let has = |s: &str| n.iter().any(|x| x.contains(s));
    assert!(
        has("/domain/devices/disk[1]: <disk> on bus 'usb' is not emitted"),
        "{n:?}"
    );
    assert!(
        has("/domain/devices/disk[2]: <disk type='network'> with protocol 'nbd' is not emitted"),
        "{n:?}"
    );
    assert!(
        has("<input> (type='tablet' bus='usb') is not emitted"),
        "{n:?}"
    );
    assert!(
        !has("type='mouse'"),
        "a PS/2 mouse is part of the machine: {n:?}"
    );
    assert!(
        has("/domain/devices/hostdev[1]: <hostdev> 0000:03:00.0 with <address type='unassigned'>"),
        "{n:?}"
    );
    assert!(
        has("/domain/devices/hostdev[2]: display and ramfb on a PCI <hostdev> has no effect"),
        "{n:?}"
    );
    // libvirt 9.0 gives the second hostdev a plain vfio-pci, the unassigned one nothing; the
    // nbd disk (usb-storage and virtio-blk-pci in libvirt, notes here) keeps slot 2.
    let devs = devices(&xml);
    assert!(devs.iter().any(|d| d == r#"{"driver":"vfio-pci","host":"0000:04:00.0","id":"hostdev1","bus":"pci.0","addr":"0x3"}"#), "{devs:?}");
    assert!(!devs.iter().any(|d| d.contains("0000:03:00.0")));
}

#[test]
fn a_mediated_device_is_emitted_as_libvirt_emits_it() {
    let dev = |attrs: &str, extra: &str| {
        domain(
            "pc",
            &format!(
                "{NO_USB_NO_BALLOON}<graphics type='vnc'/><video><model type='none'/></video>\
                 <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' {attrs}>\
                 <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source>{extra}</hostdev>"
            ),
        )
    };
    let mdev = |attrs: &str| {
        devices(&dev(attrs, ""))
            .into_iter()
            .find(|d| d.contains("sysfsdev"))
            .unwrap()
    };
    assert_eq!(
        mdev("display='on' ramfb='on'"),
        r#"{"driver":"vfio-pci-nohotplug","id":"hostdev0","sysfsdev":"/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dc","display":"on","ramfb":true,"bus":"pci.0","addr":"0x2"}"#
    );
    assert_eq!(
        mdev(""),
        r#"{"driver":"vfio-pci","id":"hostdev0","sysfsdev":"/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dc","display":"off","bus":"pci.0","addr":"0x2"}"#
    );
    assert_eq!(
        refusal(&dev("", "<boot order='1'/>")),
        (
            "E125".to_string(),
            "booting from assigned devices is not supported by mediated devices of model vfio-pci"
                .to_string()
        )
    );
    let no_graphics = domain(
        "pc",
        "<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'>\
         <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
    );
    assert_eq!(
        refusal(&no_graphics).1,
        "graphics device is needed for attribute value 'display=on' in <hostdev>"
    );
}

#[test]
fn zpci_on_x86_is_refused_as_libvirt_refuses_it() {
    let xml = domain(
        "pc",
        "<controller type='scsi' index='0' model='virtio-scsi'>\
         <address type='pci' domain='0' bus='0' slot='5' function='0'><zpci uid='0x0001' fid='0x00000000'/></address>\
         </controller>",
    );
    assert_eq!(
        refusal(&xml),
        (
            "E124".to_string(),
            "This QEMU binary doesn't support zPCI".to_string()
        )
    );
}

#[test]
fn an_iscsi_disk_secret_is_named_as_libvirt_names_it() {
    // libvirt's test vectors (disk-network-iscsi): libvirt-N-storage-auth-secret0, while a
    // hostdev's is libvirt-N-backend-secret0 (conformance corpus, hostdev-scsi-lsi).
    let xml = domain(
        "pc",
        "<controller type='scsi' index='0' model='virtio-scsi'/>\
         <disk type='network' device='disk'><source protocol='iscsi' name='iqn.2013-07.com.example:pool/1'>\
         <host name='192.0.2.10' port='3260'/><auth username='guest'><secret type='iscsi' usage='s'/></auth>\
         </source><target dev='sda' bus='scsi'/></disk>",
    );
    let c = convert_str(&xml, &Options::default()).unwrap();
    let argv = c.args.into_argv();
    assert!(argv
        .iter()
        .any(|a| a.contains(r#""id":"libvirt-1-storage-auth-secret0""#)));
    assert!(argv
        .iter()
        .any(|a| a.contains(r#""password-secret":"libvirt-1-storage-auth-secret0""#)));
}

#[test]
fn live_xml_carries_libvirts_aliases_without_warnings() {
    let live = "<domain type='qemu' id='7'><name>t</name><memory>131072</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <controller type='scsi' index='0' model='virtio-scsi'><alias name='scsi0'/></controller>\
         </devices></domain>";
    let checked = domxml::check_str(live);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let inactive = live.replace(" id='7'", "");
    let checked = domxml::check_str(&inactive);
    assert_eq!(checked.diagnostics[0].code.to_string(), "W003");
}

#[test]
fn iothread_vq_mapping_is_ignored_as_libvirt_9_ignores_it_with_a_note() {
    // libvirt 9.0: {"driver":"virtio-scsi-pci","id":"scsi0","num_queues":2,"bus":"pci.0","addr":"0x2"}
    let xml = domain(
        "pc",
        &format!(
            "{NO_USB_NO_BALLOON}<controller type='scsi' index='0' model='virtio-scsi'>\
             <driver queues='2'><iothreads><iothread id='1'><queue id='0'/></iothread></iothreads></driver>\
             </controller>"
        ),
    );
    assert_eq!(
        devices(&xml),
        [r#"{"driver":"virtio-scsi-pci","id":"scsi0","num_queues":2,"bus":"pci.0","addr":"0x2"}"#]
    );
    assert!(notes(&xml)[0].contains("iothread-vq-mapping) has no effect"));
}

#[test]
fn the_balloon_carries_its_model_and_options_and_other_controllers_are_notes() {
    let xml = domain(
        "q35",
        "<controller type='usb' model='none'/><controller type='virtio-serial' index='0'/>\
         <memballoon model='virtio-transitional' autodeflate='on' freePageReporting='on'>\
         <driver iommu='on' ats='on'/><stats period='10'/></memballoon>",
    );
    // libvirt 9.0 also emits virtio-serial-pci on pci.2 (the root port domxml leaves to it).
    assert_eq!(
        devices(&xml),
        [
            r#"{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}"#,
            r#"{"driver":"pcie-root-port","port":9,"chassis":2,"id":"pci.2","bus":"pcie.0","addr":"0x1.0x1"}"#,
            r#"{"driver":"pcie-pci-bridge","id":"pci.3","bus":"pci.1","addr":"0x0"}"#,
            r#"{"driver":"pcie-root-port","port":10,"chassis":4,"id":"pci.4","bus":"pcie.0","addr":"0x1.0x2"}"#,
            r#"{"driver":"virtio-balloon-pci-transitional","iommu_platform":true,"ats":true,"id":"balloon0","deflate-on-oom":true,"free-page-reporting":true,"bus":"pci.3","addr":"0x1"}"#,
        ]
    );
    assert_eq!(
        notes(&xml),
        ["/domain/devices/controller[2]: <controller type='virtio-serial'> is not emitted by domxml"]
    );
}
