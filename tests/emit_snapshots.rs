//! insta snapshots of `--format shell` for every fixture domain, so a change in the emitted
//! command line shows up as a reviewed diff. The devices in these snapshots are checked
//! elsewhere: against libvirt (conformance and live tests) and against QEMU (qemu_real).

use domxml::{shell_snapshot, Options};

#[test]
fn shell_layout_of_every_fixture_domain() {
    insta::glob!("fixtures/domains/*.xml", |path| {
        let xml = std::fs::read_to_string(path).unwrap();
        let text = shell_snapshot(&xml, &Options::default()).unwrap();
        insta::assert_snapshot!("shell", text);
    });
}

#[test]
fn legacy_shell_layout_of_every_fixture_domain() {
    insta::glob!("fixtures/domains/*.xml", |path| {
        let xml = std::fs::read_to_string(path).unwrap();
        let opts = Options::for_qemu(domxml::QemuVersion::new(4, 0));
        let text = shell_snapshot(&xml, &opts).unwrap();
        insta::assert_snapshot!("legacy_shell", text);
    });
}
