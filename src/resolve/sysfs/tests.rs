//! Tests of the sysfs root: names, links, bounds.
use super::short::FOLLOW_MISSES;
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

/// `openat2` works on this machine (the short ways are taken only then).
fn has_openat2() -> bool {
    os::is_dir_without_links(Path::new("/")).is_ok()
}

#[test]
fn a_link_through_a_symlinked_directory_resolves_as_the_walk_resolves_it() {
    let t = tempfile::tempdir().unwrap();
    let sys = t.path().join("sys");
    let real = sys.join("devices/real/0000:01:00.0/host3/scsi_host/host3");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(sys.join("devices/pci0000:00")).unwrap();
    std::fs::create_dir_all(sys.join("devices/plain/a/b/c")).unwrap();
    std::fs::create_dir_all(sys.join("class/scsi_host")).unwrap();
    // The PCI function is a symlink: its hosts' canonical paths are not the link's text.
    std::os::unix::fs::symlink(
        "../real/0000:01:00.0",
        sys.join("devices/pci0000:00/0000:01:00.0"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../devices/pci0000:00/0000:01:00.0/host3/scsi_host/host3",
        sys.join("class/scsi_host/host3"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../devices/plain/a/b/c",
        sys.join("class/scsi_host/host4"),
    )
    .unwrap();
    let root = SysfsRoot::at(t.path()).unwrap();
    let p = |s: &str| SysPath::parse(s).unwrap();
    root.resolve(&p("sys/class/scsi_host")).unwrap();
    assert_eq!(
        root.resolve_link(&p("sys/class/scsi_host/host3")).unwrap(),
        Some(p("sys/devices/real/0000:01:00.0/host3/scsi_host/host3"))
    );
    assert!(!root
        .verified
        .borrow()
        .contains(&p("sys/devices/pci0000:00/0000:01:00.0/host3")));
    // A plain target is one `readlink` and one `openat2`, and every directory on it is
    // verified as the walk would verify it.
    let before = root.operations();
    assert_eq!(
        root.resolve_link(&p("sys/class/scsi_host/host4")).unwrap(),
        Some(p("sys/devices/plain/a/b/c"))
    );
    if has_openat2() {
        assert_eq!(root.operations() - before, 2);
    }
    for d in [
        "sys/devices/plain",
        "sys/devices/plain/a/b",
        "sys/devices/plain/a/b/c",
    ] {
        assert!(root.verified.borrow().contains(&p(d)), "{d}");
    }
}

#[test]
fn an_lu_listing_taken_the_short_way_is_the_listing_of_the_long_way() {
    let t = tempfile::tempdir().unwrap();
    let sys = t.path().join("sys");
    let host = sys.join("devices/pci0000:00/0000:00:05.0/host0");
    let bus = sys.join("bus/scsi/devices");
    std::fs::create_dir_all(&bus).unwrap();
    std::fs::create_dir_all(sys.join("class")).unwrap();
    // 0:0:0:0 plain; 0:0:0:1 with its scsi_generic a symlink; 0:0:0:2 without one.
    for (lu, sg) in [
        ("0:0:0:0", Some("sg0")),
        ("0:0:0:1", None),
        ("0:0:0:2", None),
    ] {
        let d = host.join("target0:0:0").join(lu);
        std::fs::create_dir_all(&d).unwrap();
        if let Some(sg) = sg {
            std::fs::create_dir_all(d.join("scsi_generic").join(sg)).unwrap();
        }
        std::os::unix::fs::symlink(
            format!("../../../devices/pci0000:00/0000:00:05.0/host0/target0:0:0/{lu}"),
            bus.join(lu),
        )
        .unwrap();
    }
    std::fs::create_dir_all(sys.join("devices/elsewhere/sg1")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../elsewhere",
        host.join("target0:0:0/0:0:0:1/scsi_generic"),
    )
    .unwrap();
    let root = SysfsRoot::at(t.path()).unwrap();
    let p = |s: &str| SysPath::parse(s).unwrap();
    let bus = root.resolve(&p("sys/bus/scsi/devices")).unwrap().unwrap();
    let lu0 = p("sys/devices/pci0000:00/0000:00:05.0/host0/target0:0:0/0:0:0:0");
    let short = root.follow_and_list(&bus.join("0:0:0:0").unwrap(), "scsi_generic");
    if has_openat2() {
        let (dir, listing) = short.expect("a plain LU is listed the short way");
        assert_eq!(dir, lu0);
        assert_eq!(listing.names, ["sg0"]);
        assert_eq!(
            Some(listing),
            root.list(&lu0.join("scsi_generic").unwrap()).unwrap()
        );
    }
    // A symlinked scsi_generic and a missing one are left to the long way, which follows
    // the first and finds nothing for the second; neither is remembered as verified.
    for lu in ["0:0:0:1", "0:0:0:2"] {
        assert!(root
            .follow_and_list(&bus.join(lu).unwrap(), "scsi_generic")
            .is_none());
    }
    let lu1 = root
        .resolve_link(&bus.join("0:0:0:1").unwrap())
        .unwrap()
        .unwrap();
    let sg1 = root.resolve_in(&lu1, "scsi_generic").unwrap().unwrap();
    assert_eq!(sg1, p("sys/devices/elsewhere"));
    assert_eq!(root.list(&sg1).unwrap().unwrap().names, ["sg1"]);
    assert!(!root
        .verified
        .borrow()
        .contains(&lu1.join("scsi_generic").unwrap()));
    // Misses add up: after a few, the short way is not tried any more.
    for _ in 0..FOLLOW_MISSES {
        root.follow_and_list(&bus.join("0:0:0:2").unwrap(), "scsi_generic");
    }
    let before = root.operations();
    assert!(root
        .follow_and_list(&bus.join("0:0:0:0").unwrap(), "scsi_generic")
        .is_none());
    assert_eq!(root.operations(), before);
}
