//! The three tests a user of the library writes first, as they appear in the README's "Use as
//! a library" section (which also runs, as a doctest): assert on located diagnostics, snapshot
//! a command line, build or edit a model and write it back. They use only the root API.

use domxml::{codes, Adapter, Controller, Disk, Domain, Hostdev, Options};

const VM: &str = "<domain type='qemu'>
  <name>vm1</name>
  <devices>
    <controller type='scsi' index='0' model='lsilogic'/>
    <disk type='file' device='disk'>
      <source file='/var/lib/vm1.img'/>
      <target dev='sda' bus='scsi'/>
      <address type='drive' controller='0' bus='0' target='1' unit='0'/>
    </disk>
  </devices>
</domain>
";

#[test]
fn a_ci_test_asserts_on_the_code_and_line_of_each_error() {
    let checked = domxml::check_str(VM);
    let errors: Vec<_> = checked
        .errors()
        .map(|d| (d.code, d.pos.map(|p| (p.line, p.column)), d.path.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(
            codes::E011,
            Some((8, 52)),
            "/domain/devices/disk/address/@target"
        )]
    );
    // And as JSON, for insta::assert_json_snapshot!.
    let json = serde_json::to_value(checked.errors().next().unwrap()).unwrap();
    assert_eq!(json["code"], "E011");
    assert_eq!(json["pos"]["line"], 8);
}

#[test]
fn a_snapshot_test_sees_the_command_line_and_every_device_left_out() {
    let xml = VM
        .replace("target='1'", "target='0'")
        .replace("</devices>", "<interface type='user'/></devices>");
    let text = domxml::shell_snapshot(&xml, &Options::default()).unwrap();
    assert!(
        text.contains(r#"-device '{"driver":"lsi","id":"scsi0","bus":"pci.0","addr":"0x3"}'"#),
        "{text}"
    );
    assert!(
        text.ends_with("# note: /domain/devices/interface: <interface> is not emitted by domxml\n"),
        "{text}"
    );
}

#[test]
fn a_model_built_in_code_validates_and_writes_back_as_libvirt_xml() {
    let domain = Domain::builder("vm2")
        .machine("q35")
        .memory_mib(1024)
        .controller(Controller::virtio_scsi(0))
        .disk(Disk::lun("/dev/sdb", "sda").drive_address(0, 0, 0, 1))
        .hostdev(Hostdev::scsi(
            Adapter::by_parent("pci_0000_01_00_0", 0),
            0,
            3,
            5,
        ))
        .build()
        .unwrap();
    let xml = domxml::write_domain(&domain);
    let back = domxml::check_str(&xml);
    assert!(back.is_valid(true), "{:?}", back.diagnostics);
    assert_eq!(back.domain(), Some(&domain));

    // An edit goes through the validator again: a second disk named sda is refused.
    let err = domain
        .edit()
        .disk(Disk::file("/tmp/b.img", "sda"))
        .build()
        .unwrap_err();
    assert_eq!(err[0].code, codes::E022);
}

/// An error found while building the command line points at the line of the device, although
/// the document's tree is let go before the command line is built.
#[test]
fn conversion_errors_are_located_in_the_document() {
    let xml = "<domain type='qemu'>\n  <name>g</name>\n  <devices>\n    \
               <disk type='block' device='lun'>\n      <source dev='/dev/sdb'>\n        \
               <reservations managed='no'/>\n      </source>\n      \
               <target dev='sda' bus='scsi'/>\n    </disk>\n  </devices>\n</domain>\n";
    let err = domxml::convert_str(xml, &Default::default()).unwrap_err();
    let d = err.diagnostics()[0];
    assert_eq!(d.path, "/domain/devices/disk");
    let pos = d.pos.expect("the error has a position");
    assert_eq!((pos.line, pos.column), (4, 5), "{err}");
}
