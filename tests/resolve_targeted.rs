//! Targeted resolution (`resolve::resolve`, `resolve::resolve_passthrough`) against the full
//! scan (`resolve_with_index` over `Index::scan`): the same answers and the same errors, word
//! for word, on every fixture tree and on generated trees with the odd things hand-made
//! trees hold; and a cost that follows what a definition names, not the size of the host,
//! counted in filesystem operations (`SysfsRoot::operations`), never in time.

use domxml::model::Definition;
use domxml::resolve::report::Report;
use domxml::resolve::{Index, Resolution, ResolvedDomain, SysfsRoot};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A temporary directory in memory where there is a tmpfs: the trees here write and remove
/// up to 100,000 entries, which a loaded disk makes take minutes.
fn scratch() -> tempfile::TempDir {
    match Path::new("/dev/shm") {
        shm if shm.is_dir() => tempfile::tempdir_in(shm).unwrap(),
        _ => tempfile::tempdir().unwrap(),
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sysfs")
        .join(name)
}

fn parse(xml: &str) -> Definition {
    domxml::codec::parse_str(xml)
        .unwrap_or_else(|e| panic!("{e:?}\n{xml}"))
        .definition
}

fn pci_name(bdf: &str) -> String {
    format!("pci_{}", bdf.replace([':', '.'], "_"))
}

/// Domains naming everything an index holds, every way it can be named, and things it does
/// not hold: every host by number (and numbers no host has), every PCI parent with each
/// unique_id seen, one more, and none, every LU and LUs next to them as hostdevs, every sg
/// and block name as a lun disk, every host as a whole-host controller (by number and by
/// parent, whole and restricted to a target), every FC host by its WWNs with each parent
/// selector. The first domain holds all of them (so that what one device read serves the
/// next); then one domain per adapter and per lun disk, each resolved from nothing.
fn domains_naming_everything(idx: &Index) -> Vec<String> {
    let mut adapters: Vec<String> = Vec::new();
    let mut numbers: Vec<u32> = idx.hosts().map(|h| h.number).collect();
    numbers.extend([77, 4_000_000]);
    for n in &numbers {
        adapters.push(format!("<adapter name='scsi_host{n}'/>"));
    }
    let mut bdfs: Vec<String> = idx.hosts().filter_map(|h| h.pci_parent.clone()).collect();
    bdfs.push("0000:7f:1f.7".into());
    // Every PCI function on a host's path, bridges and root ports included.
    for h in idx.hosts() {
        for c in h.device_path.iter() {
            if domxml::resolve::index::is_pci_bdf(c) {
                bdfs.push(c.to_string());
            }
        }
    }
    bdfs.sort();
    bdfs.dedup();
    let mut uids: Vec<u32> = idx.hosts().filter_map(|h| h.unique_id).collect();
    uids.extend([0, 1, 999]);
    uids.sort();
    uids.dedup();
    for b in &bdfs {
        adapters.push(format!("<adapter parent='{}'/>", pci_name(b)));
        for u in &uids {
            adapters.push(format!(
                "<adapter parent='{}' unique_id='{u}'/>",
                pci_name(b)
            ));
        }
        let (d, rest) = b.split_once(':').unwrap();
        let (bus, rest) = rest.split_once(':').unwrap();
        let (slot, func) = rest.split_once('.').unwrap();
        adapters.push(format!(
            "<adapter type='scsi_host'><parentaddr unique_id='{}'><address domain='0x{d}' bus='0x{bus}' slot='0x{slot}' function='0x{func}'/></parentaddr></adapter>",
            uids[0]
        ));
    }
    let fc: Vec<_> = idx
        .hosts()
        .filter_map(|h| h.fc.clone().map(|f| (h.number, f)))
        .collect();
    let mut wwns: Vec<(String, String)> = fc
        .iter()
        .filter_map(|(_, f)| Some((f.node_name.clone()?, f.port_name.clone()?)))
        .collect();
    wwns.push(("2000000000000001".into(), "2100000000000001".into()));
    for (nn, pn) in &wwns {
        adapters.push(format!("<adapter type='fc_host' wwnn='{nn}' wwpn='{pn}'/>"));
        for n in &numbers {
            adapters.push(format!(
                "<adapter type='fc_host' parent='scsi_host{n}' wwnn='{nn}' wwpn='{pn}'/>"
            ));
        }
        for (pnn, ppn) in &wwns {
            adapters.push(format!(
                "<adapter type='fc_host' parent_wwnn='{pnn}' parent_wwpn='{ppn}' wwnn='{nn}' wwpn='{pn}'/>"
            ));
        }
        for (_, f) in &fc {
            if let Some(fab) = &f.fabric_name {
                adapters.push(format!(
                    "<adapter type='fc_host' parent_fabric_wwn='{fab}' wwnn='{nn}' wwpn='{pn}'/>"
                ));
            }
        }
    }
    // An adapter that is no adapter: the full scan's error, as ever.
    adapters.push("<adapter name='scsi_host1' parent='scsi_host2'/>".into());

    let mut addrs: Vec<(u32, u32, u64)> = idx
        .lus()
        .map(|l| (l.hctl.bus, l.hctl.target, l.hctl.lun))
        .collect();
    addrs.extend([(0, 0, 0), (0, 0, 1), (0, 77, 0), (3, 1, 0)]);
    addrs.sort();
    addrs.dedup();

    let mut devices = Vec::new();
    for a in &adapters {
        let mut x = String::new();
        for (b, t, l) in &addrs {
            let _ = write!(
                x,
                "<hostdev mode='subsystem' type='scsi'><source>{a}\
                 <address bus='{b}' target='{t}' unit='{l}'/></source></hostdev>"
            );
        }
        let _ = write!(
            x,
            "<controller type='scsi' model='virtio-scsi'><source>{a}</source></controller>"
        );
        let _ = write!(
            x,
            "<controller type='scsi' model='virtio-scsi'><source>{a}<address bus='0' target='0'/></source></controller>"
        );
        devices.push(x);
    }
    let mut nodes: Vec<String> = idx
        .lus()
        .flat_map(|l| [l.sg.clone(), l.block.clone()])
        .flatten()
        .collect();
    nodes.extend(["sdzz", "sg999", "sr7"].map(String::from));
    for n in &nodes {
        devices.push(format!(
            "<disk type='block' device='lun'><source dev='/dev/{n}'/><target dev='sda' bus='scsi'/></disk>"
        ));
    }
    let domain = |devices: &str| {
        format!(
            "<domain type='qemu'><name>every</name><memory>65536</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}</devices></domain>"
        )
    };
    std::iter::once(domain(&devices.concat()))
        .chain(devices.iter().map(|d| domain(d)))
        .collect()
}

/// What a command line takes from a resolution: per device, the sg node of a hostdev, the
/// nodes and guest addresses of a whole host's LUs, or the error's message.
fn passthrough_view(r: &ResolvedDomain) -> Vec<String> {
    r.devices
        .iter()
        .map(|d| match &d.resolution {
            Resolution::Lu { lu } => format!("{} lu {} {:?}", d.path, lu.hctl, lu.sg),
            Resolution::Host { host, lus, .. } => format!(
                "{} host{host} {:?}",
                d.path,
                lus.iter()
                    .map(|p| (p.lu.hctl, &p.lu.sg, &p.lu.block, p.driver, p.target, p.lun))
                    .collect::<Vec<_>>()
            ),
            other => format!("{} {}", d.path, serde_json::to_string(other).unwrap()),
        })
        .collect()
}

/// `resolve` and `resolve_passthrough` against the full scan of `root`, for `xml`.
fn assert_targeted_is_full(root: &Path, xml: &str) {
    let def = parse(xml);
    let idx = Index::scan(&SysfsRoot::at(root).unwrap()).unwrap();
    let full = domxml::resolve::resolve_with_index(&def, &idx);
    let targeted = domxml::resolve::resolve(&def, &SysfsRoot::at(root).unwrap()).unwrap();
    let (a, b) = (Report::of(&full).rows, Report::of(&targeted).rows);
    assert_eq!(a.len(), b.len(), "{}", root.display());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "{}", root.display());
    }
    if let Definition::Domain(d) = &def {
        let pass = domxml::resolve::resolve_passthrough(d, &SysfsRoot::at(root).unwrap()).unwrap();
        let full_pass: Vec<String> = passthrough_view(&full)
            .into_iter()
            .filter(|l| !l.contains("/disk"))
            .collect();
        assert_eq!(passthrough_view(&pass), full_pass, "{}", root.display());
    }
}

#[test]
fn targeted_resolution_answers_as_the_full_scan_on_every_fixture_tree() {
    for tree in [
        "q35",
        "pc-i440fx",
        "pc-bridge",
        "fc",
        "virtio-multi",
        "multi-bus",
        "no-sg",
        "unreadable",
        "hostile",
    ] {
        let root = fixture(tree);
        let idx = Index::scan(&SysfsRoot::at(&root).unwrap()).unwrap();
        for xml in domains_naming_everything(&idx) {
            assert_targeted_is_full(&root, &xml);
        }
    }
}

#[test]
fn targeted_pools_answer_as_the_full_scan() {
    for (tree, adapter) in [
        ("fc", "<adapter type='fc_host' parent='scsi_host5' wwnn='2000001A4A7F1234' wwpn='0x2100001a4a7f1234'/>"),
        ("fc", "<adapter type='fc_host' parent='scsi_host6' wwnn='2000001A4A7F1234' wwpn='0x2100001a4a7f1234'/>"),
        ("q35", "<adapter type='scsi_host' name='scsi_host9'/>"),
        ("q35", "<adapter type='scsi_host'><parentaddr unique_id='0'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></parentaddr></adapter>"),
        ("multi-bus", "<adapter type='scsi_host' name='host0'/>"),
    ] {
        let xml = format!(
            "<pool type='scsi'><name>p</name><source>{adapter}</source><target><path>/dev/disk/by-path</path></target></pool>"
        );
        assert_targeted_is_full(&fixture(tree), &xml);
    }
}

/// A relative symlink at `at` to `target`, both under `root`.
fn link(root: &Path, at: &str, target: &str) {
    let at = root.join(at);
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    let from: Vec<_> = Path::new(at.parent().unwrap().strip_prefix(root).unwrap())
        .components()
        .collect();
    let mut rel = PathBuf::new();
    for _ in &from {
        rel.push("..");
    }
    rel.push(target);
    symlink(rel, at).unwrap();
}

fn file(root: &Path, at: &str, text: &str) {
    let at = root.join(at);
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    fs::write(at, format!("{text}\n")).unwrap();
}

/// One generated host: its number, where it sits, what it says.
#[derive(Debug, Clone)]
struct GenHost {
    n: u32,
    /// Index into `PCI`; the host sits under `virtio{n}` below it, or directly.
    pci: usize,
    virtio: bool,
    /// `None`: no attribute; `Some("abc")`: not a number.
    unique_id: Option<&'static str>,
    /// FC WWN pair index, and whether it can create vports.
    fc: Option<(usize, bool)>,
    /// Its class entry: 0 plain, 1 missing (a host known by its LUs), 2 dangling, 3 also
    /// under a name with a leading zero.
    class: u8,
    /// `(target, lun, sg?, block?)` of its LUs.
    lus: Vec<(u32, u64, bool, bool)>,
}

const PCI: [&str; 3] = ["0000:00:05.0", "0000:00:06.0", "0000:02:00.0"];
const WWN: [(&str, &str); 2] = [
    ("20000000c9831b4b", "10000000c9831b4b"),
    ("2000001a4a7f1234", "2100001a4a7f1234"),
];

fn gen_host() -> impl Strategy<Value = GenHost> {
    (
        0u32..6,
        0usize..3,
        any::<bool>(),
        prop_oneof![
            Just(Some("0")),
            Just(Some("1")),
            Just(None),
            Just(Some("abc"))
        ],
        proptest::option::weighted(0.3, (0usize..2, any::<bool>())),
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
        proptest::collection::vec((0u32..3, 0u64..3, any::<bool>(), any::<bool>()), 0..4),
    )
        .prop_map(|(n, pci, virtio, unique_id, fc, class, lus)| GenHost {
            n,
            pci,
            virtio,
            unique_id,
            fc,
            class,
            lus,
        })
}

/// Build a tree: hosts as generated, PCI function 0000:00:06.0 reached through a symlink
/// (`sys/devices/pci0000:00/0000:00:06.0` → `sys/devices/elsewhere/0000:00:06.0`, so its
/// hosts' canonical paths are not the class links' text), 0000:02:00.0 behind the root port
/// 0000:00:1c.0, a bus entry with a leading zero beside each first LU, and a symlink loop
/// among the class entries.
fn build(root: &Path, hosts: &[GenHost]) {
    fs::create_dir_all(root.join("sys/class")).unwrap();
    fs::create_dir_all(root.join("sys/devices/elsewhere/0000:00:06.0")).unwrap();
    link(
        root,
        "sys/devices/pci0000:00/0000:00:06.0",
        "sys/devices/elsewhere/0000:00:06.0",
    );
    let (mut sg, mut sd) = (0, 0);
    let mut seen = std::collections::BTreeSet::new();
    for h in hosts {
        if !seen.insert(h.n) {
            continue;
        }
        let n = h.n;
        let pci = match h.pci {
            2 => "pci0000:00/0000:00:1c.0/0000:02:00.0".to_string(),
            i => format!("pci0000:00/{}", PCI[i]),
        };
        let hd = if h.virtio {
            format!("sys/devices/{pci}/virtio{n}/host{n}")
        } else {
            format!("sys/devices/{pci}/host{n}")
        };
        let cd = format!("{hd}/scsi_host/host{n}");
        file(root, &format!("{hd}/uevent"), "DEVTYPE=scsi_host");
        file(root, &format!("{cd}/proc_name"), "virtio_scsi");
        if let Some(u) = h.unique_id {
            file(root, &format!("{cd}/unique_id"), u);
        }
        match h.class {
            1 => {}
            2 => link(
                root,
                &format!("sys/class/scsi_host/host{n}"),
                "sys/devices/gone",
            ),
            3 => {
                link(root, &format!("sys/class/scsi_host/host{n}"), &cd);
                link(root, &format!("sys/class/scsi_host/host0{n}"), &cd);
            }
            _ => link(root, &format!("sys/class/scsi_host/host{n}"), &cd),
        }
        if let Some((w, vport)) = h.fc {
            let fd = format!("{hd}/fc_host/host{n}");
            file(root, &format!("{fd}/node_name"), &format!("0x{}", WWN[w].0));
            file(root, &format!("{fd}/port_name"), &format!("0x{}", WWN[w].1));
            file(root, &format!("{fd}/fabric_name"), "0x2002000573de9a81");
            file(root, &format!("{fd}/port_state"), "Online");
            if vport {
                file(root, &format!("{fd}/vport_create"), "");
            }
            link(root, &format!("sys/class/fc_host/host{n}"), &fd);
        }
        let mut first = true;
        for (t, l, has_sg, has_block) in &h.lus {
            let hctl = format!("{n}:0:{t}:{l}");
            let ld = format!("{hd}/target{n}:0:{t}/{hctl}");
            if root.join(&ld).exists() {
                continue;
            }
            file(root, &format!("{ld}/type"), "0");
            file(root, &format!("{ld}/vendor"), "QEMU    ");
            file(root, &format!("{ld}/model"), "QEMU HARDDISK   ");
            file(root, &format!("{ld}/rev"), "2.5+");
            if *has_sg {
                let name = format!("sg{sg}");
                sg += 1;
                file(root, &format!("{ld}/scsi_generic/{name}/dev"), "21:0");
                link(
                    root,
                    &format!("sys/class/scsi_generic/{name}"),
                    &format!("{ld}/scsi_generic/{name}"),
                );
            } else {
                fs::create_dir_all(root.join(format!("{ld}/scsi_generic"))).unwrap();
            }
            if *has_block {
                let name = format!("sd{}", (b'a' + sd) as char);
                sd += 1;
                file(root, &format!("{ld}/block/{name}/dev"), "8:0");
                link(
                    root,
                    &format!("sys/class/block/{name}"),
                    &format!("{ld}/block/{name}"),
                );
            }
            link(root, &format!("sys/bus/scsi/devices/{hctl}"), &ld);
            if first {
                link(root, &format!("sys/bus/scsi/devices/0{hctl}"), &ld);
                first = false;
            }
        }
    }
    fs::create_dir_all(root.join("sys/devices/loop")).unwrap();
    symlink("b", root.join("sys/devices/loop/a")).unwrap();
    symlink("a", root.join("sys/devices/loop/b")).unwrap();
    link(root, "sys/class/scsi_host/host9", "sys/devices/loop/a");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// On trees with the odd things hand-made trees hold (hosts known only by their LUs,
    /// dangling and looping class entries, names with leading zeros, a PCI function reached
    /// through a symlink, unusable unique_ids, shared PCI parents, FC hosts), targeted
    /// resolution answers exactly as the full scan.
    #[test]
    fn targeted_resolution_answers_as_the_full_scan_on_generated_trees(
        hosts in proptest::collection::vec(gen_host(), 1..5)
    ) {
        let tmp = scratch();
        build(tmp.path(), &hosts);
        let idx = Index::scan(&SysfsRoot::at(tmp.path()).unwrap()).unwrap();
        for xml in domains_naming_everything(&idx) {
            assert_targeted_is_full(tmp.path(), &xml);
        }
    }
}

/// A tree of `hosts` virtio-scsi hosts with `per_host` LUs each, as the kernel lays it out
/// (each host under its own PCI function behind a root port, class and bus links, sg and
/// block nodes), as `scripts/mk-bench-inputs.py tree` writes it.
fn big_tree(root: &Path, hosts: u32, per_host: u32) {
    let mut n = 0u32;
    for h in 0..hosts {
        let pci = format!(
            "pci0000:00/0000:00:1c.0/0000:{:02x}:{:02x}.{}",
            1 + h / 256,
            (h / 8) % 32,
            h % 8
        );
        let hd = format!("sys/devices/{pci}/virtio{h}/host{h}");
        let cd = format!("{hd}/scsi_host/host{h}");
        file(root, &format!("{cd}/unique_id"), "0");
        file(root, &format!("{cd}/proc_name"), "virtio_scsi");
        link(root, &format!("sys/class/scsi_host/host{h}"), &cd);
        for i in 0..per_host {
            let hctl = format!("{h}:0:{}:{}", i / 4, i % 4);
            let ld = format!("{hd}/target{h}:0:{}/{hctl}", i / 4);
            file(root, &format!("{ld}/type"), "0");
            file(root, &format!("{ld}/scsi_generic/sg{n}/dev"), "21:0");
            file(root, &format!("{ld}/block/sd{n}x/dev"), "8:0");
            link(root, &format!("sys/bus/scsi/devices/{hctl}"), &ld);
            n += 1;
        }
    }
}

/// A domain of the first `n` LUs of a `big_tree` (`per_host` LUs a host) as hostdevs, named
/// by number (`name`) or by PCI parent and unique_id.
fn hostdevs(n: u32, per_host: u32, by_parent: bool) -> Definition {
    parse(&hostdevs_xml(n, per_host, by_parent, ""))
}

/// The XML of [`hostdevs`], with `more` devices after them.
fn hostdevs_xml(n: u32, per_host: u32, by_parent: bool, more: &str) -> String {
    let mut x = String::from("<domain type='qemu'><name>g</name><devices>");
    for i in 0..n {
        let (h, j) = (i / per_host, i % per_host);
        let adapter = if by_parent {
            format!(
                "<adapter parent='pci_0000_{:02x}_{:02x}_{}' unique_id='0'/>",
                1 + h / 256,
                (h / 8) % 32,
                h % 8
            )
        } else {
            format!("<adapter name='scsi_host{h}'/>")
        };
        let _ = write!(
            x,
            "<hostdev mode='subsystem' type='scsi'><source>{adapter}<address bus='0' target='{}' unit='{}'/></source></hostdev>",
            j / 4,
            j % 4
        );
    }
    x + more + "</devices></domain>"
}

/// The warnings of resolving, for a command line, the first `n` LUs of a `big_tree` as
/// hostdevs named by PCI parent (the form that follows every class entry).
fn parent_form_warnings(root: &Path, n: u32, per_host: u32) -> Vec<String> {
    let Definition::Domain(d) = parse(&hostdevs_xml(n, per_host, true, "")) else {
        unreachable!()
    };
    let r = SysfsRoot::at(root).unwrap();
    domxml::resolve::resolve_passthrough(&d, &r)
        .unwrap()
        .warnings
}

/// Filesystem operations `resolve_passthrough` (a command line) or `resolve` (a report)
/// costs for `def` on the tree at `root`, with every device resolved.
/// `openat2` works on this machine (old kernels and some seccomp filters refuse it; the
/// resolver then checks paths a component at a time).
fn has_openat2() -> bool {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    rustix::fs::openat2(
        rustix::fs::CWD,
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS,
    )
    .is_ok()
}

fn ops(root: &Path, def: &Definition, report: bool) -> u64 {
    let r = SysfsRoot::at(root).unwrap();
    let resolved = match (report, def) {
        (false, Definition::Domain(d)) => domxml::resolve::resolve_passthrough(d, &r),
        _ => domxml::resolve::resolve(def, &r),
    }
    .unwrap();
    assert_eq!(
        resolved.failures().count(),
        0,
        "{:?}",
        resolved.failures().next()
    );
    r.operations()
}

#[test]
fn resolution_cost_follows_the_definition_not_the_size_of_the_host() {
    // 10,000 LUs on 100 hosts, and the same hosts with one LU each.
    let big = scratch();
    big_tree(big.path(), 100, 100);
    let small = scratch();
    big_tree(small.path(), 100, 1);
    let full_scan = {
        let r = SysfsRoot::at(big.path()).unwrap();
        Index::scan(&r).unwrap();
        r.operations()
    };
    assert!(full_scan > 100_000, "a full scan costs {full_scan}");

    // One hostdev named by host number: a handful of operations, however big the host.
    let one = hostdevs(1, 100, false);
    let (on_big, on_small) = (ops(big.path(), &one, false), ops(small.path(), &one, false));
    eprintln!("one hostdev by number: {on_big} operations, scan {full_scan}");
    assert!(on_big <= 40, "one hostdev by number: {on_big} operations");
    assert_eq!(on_big, on_small);
    // With every attribute of the LU read (a report): still a handful.
    let report = ops(big.path(), &one, true);
    eprintln!("report: {report}");
    assert!(report <= 60, "one hostdev, report: {report} operations");

    // By PCI parent: every class entry is followed, never an LU of another host. With
    // `openat2` a link costs two operations (its `readlink`, then one check of the whole
    // path it names); without, the directories it leads through are checked one by one
    // (about six a host).
    let fast = has_openat2();
    let one_by_parent = hostdevs(1, 100, true);
    let on_big = ops(big.path(), &one_by_parent, false);
    assert_eq!(on_big, ops(small.path(), &one_by_parent, false));
    eprintln!("by parent: {on_big}");
    let per_host = if fast { 2 } else { 7 };
    assert!(
        on_big <= per_host * 100 + 40,
        "one hostdev by parent: {on_big} operations"
    );

    // N hostdevs: proportional to N, not to the host: with `openat2`, an LU's bus link and
    // its listing of scsi_generic are two operations.
    let per_lu = if fast { 2 } else { 5 };
    let mut last = 0;
    for n in [10u32, 100, 1000] {
        let cost = ops(big.path(), &hostdevs(n, 100, false), false);
        eprintln!("{n}: {cost}");
        assert!(
            cost <= per_lu * u64::from(n) + 80,
            "{n} hostdevs: {cost} operations"
        );
        assert!(cost > last);
        last = cost;
    }
    assert!(
        last * 10 < full_scan,
        "1,000 of 10,000 LUs cost {last}, the scan {full_scan}"
    );
}

#[test]
fn hostdevs_read_ahead_on_helper_threads_answer_as_the_full_scan() {
    // 5,000 hostdevs: over the 4,096 from which their LUs are read ahead on helper threads.
    // One LU has lost its sg node, and two more hostdevs name an LU and a host that are not
    // there: the answers and the errors must be the full scan's, in order.
    let t = scratch();
    big_tree(t.path(), 50, 100);
    // The helpers' reads are counted on the root the caller gave: about two operations an
    // LU, as on one thread, and a few for each run of 512 LUs, which checks the bus
    // directory again on a root of its own.
    let cost = ops(t.path(), &hostdevs(5000, 100, false), false);
    let per_lu = if has_openat2() { 2 } else { 5 };
    assert!(
        cost >= 5000 && cost <= per_lu * 5000 + 500,
        "{cost} operations"
    );
    let lu = t
        .path()
        .join("sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.3/virtio3/host3/target3:0:2/3:0:2:1");
    fs::remove_dir_all(lu.join("scsi_generic")).unwrap();
    let missing = "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host7'/>\
                   <address bus='0' target='99' unit='0'/></source></hostdev>\
                   <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host77'/>\
                   <address bus='0' target='0' unit='0'/></source></hostdev>";
    for by_parent in [false, true] {
        assert_targeted_is_full(t.path(), &hostdevs_xml(5000, 100, by_parent, missing));
    }
    // A class entry that is no host: following every entry (the `parent` form) warns, once,
    // whether the adapters were resolved ahead or not.
    link(
        t.path(),
        "sys/class/scsi_host/hostile",
        "sys/devices/pci0000:00",
    );
    let warnings = |n| parent_form_warnings(t.path(), n, 100);
    let (one, many) = (warnings(1), warnings(5000));
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(one[0].contains("hostile"), "{one:?}");
    assert_eq!(many, one);
}

#[test]
fn class_entries_followed_on_helper_threads_answer_as_the_full_scan() {
    // 300 hosts: over the 256 from which the forms naming a PCI parent follow every class
    // entry on helper threads. Entries that are no host, dangling or not canonical, at
    // several places in the listing: the answers must be the full scan's, and the warnings
    // those of following the entries one by one, in the listing's order.
    let t = scratch();
    big_tree(t.path(), 300, 2);
    link(
        t.path(),
        "sys/class/scsi_host/hostile",
        "sys/devices/pci0000:00",
    );
    link(
        t.path(),
        "sys/class/scsi_host/host1000",
        "sys/devices/nowhere",
    );
    link(
        t.path(),
        "sys/class/scsi_host/host2000",
        "sys/devices/pci0000:00",
    );
    link(
        t.path(),
        "sys/class/scsi_host/host0150",
        "sys/devices/nowhere",
    );
    symlink("/etc", t.path().join("sys/class/scsi_host/host1500")).unwrap();
    symlink("host2500", t.path().join("sys/class/scsi_host/host2500")).unwrap();
    for by_parent in [false, true] {
        assert_targeted_is_full(t.path(), &hostdevs_xml(40, 2, by_parent, ""));
    }
    let warnings = |n| parent_form_warnings(t.path(), n, 2);
    let full = Index::scan(&SysfsRoot::at(t.path()).unwrap()).unwrap();
    let of_class: Vec<&String> = full
        .warnings
        .iter()
        .filter(|w| w.contains("class/scsi_host"))
        .collect();
    let got = warnings(1);
    assert_eq!(got.iter().collect::<Vec<_>>(), of_class);
    assert_eq!(warnings(600), got);
}
