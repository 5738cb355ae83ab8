//! Tests of the sysfs root: names, links, bounds.
use super::*;

#[test]
fn a_directory_behind_a_symlink_is_checked_in_full_and_never_remembered_as_canonical() {
    let t = tempfile::tempdir().unwrap();
    let sys = t.path().join("sys");
    std::fs::create_dir_all(sys.join("class")).unwrap();
    std::fs::create_dir_all(sys.join("real")).unwrap();
    std::fs::write(sys.join("real/attr"), "inside\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("attr"), "secret\n").unwrap();
    std::os::unix::fs::symlink("../real", sys.join("class/in")).unwrap();
    std::os::unix::fs::symlink(outside.path(), sys.join("class/out")).unwrap();
    let root = SysfsRoot::at(t.path()).unwrap();
    let p = |s: &str| SysPath::parse(s).unwrap();
    // Inside the root: read, but the symlinked path is not taken for a canonical one.
    assert_eq!(
        root.read_text(&p("sys/class/in"), "attr")
            .unwrap()
            .as_deref(),
        Some("inside")
    );
    assert!(!root.verified.borrow().contains(&p("sys/class/in")));
    // …nor is a real directory below it.
    std::fs::create_dir_all(sys.join("real/sub")).unwrap();
    std::fs::write(sys.join("real/sub/attr"), "deeper\n").unwrap();
    assert_eq!(
        root.read_text(&p("sys/class/in/sub"), "attr")
            .unwrap()
            .as_deref(),
        Some("deeper")
    );
    assert!(!root.verified.borrow().contains(&p("sys/class/in/sub")));
    assert!(root.verified.borrow().contains(&p("sys/class")));
    // Outside: refused, never read.
    let e = root.read_text(&p("sys/class/out"), "attr").unwrap_err();
    assert!(matches!(e, ResolveError::Escape { .. }), "{e}");
}

#[test]
fn component_refuses_traversal_and_separators() {
    for bad in ["..", ".", "", "a/b", "host1;rm", "host 1", "a\nb", "\u{e9}"] {
        assert!(component(bad).is_err(), "{bad:?} accepted");
    }
    for good in ["0000:00:1f.2", "target6:0:3", "vport-5:0-0", "LNXSYSTM:00"] {
        assert!(component(good).is_ok(), "{good:?} refused");
    }
}

#[test]
fn hctl_parses_decimal_and_refuses_extra_fields() {
    assert_eq!(
        Hctl::parse("8:2:1:0"),
        Some(Hctl {
            host: 8,
            bus: 2,
            target: 1,
            lun: 0
        })
    );
    assert_eq!(Hctl::parse("8:2:1"), None);
    assert_eq!(Hctl::parse("8:2:1:0:0"), None);
    assert_eq!(Hctl::parse("8:-2:1:0"), None);
    assert_eq!(Hctl::parse("target8:2:1"), None);
}

#[test]
fn block_and_sg_names_follow_kernel_shapes() {
    assert!(is_block_name("sdaa"));
    assert!(is_block_name("sr0"));
    assert!(!is_block_name("sda1"));
    assert!(!is_block_name("../sda"));
    assert!(is_sg_name("sg12"));
    assert!(!is_sg_name("sg"));
    assert_eq!(host_number("host007"), Some(7));
    assert_eq!(host_number("host-1"), None);
    assert_eq!(host_number("host99999999999"), None);
}
