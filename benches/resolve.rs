//! Host resolution at scale: a synthetic sysfs tree of N LUs (virtio-scsi hosts of 1,000 LUs
//! each, every host under its own PCI function, with sg and block nodes and the class and bus
//! links the kernel makes) and five measurements per size:
//!
//! * `scan`: building the full index ([`domxml::resolve::Index::scan`]), which
//!   `validate --sysfs-root` and `sysfs-snapshot` use;
//! * `hostdevs`: `convert` of a domain naming every LU as a `<hostdev>` by its flat adapter
//!   (PCI parent + unique_id), targeted resolution included, and `hd resolve`, that
//!   resolution alone ([`domxml::resolve::resolve_passthrough`]);
//! * `whole-host`: `convert` of a domain with one whole-host passthrough controller per host;
//! * `one (name)` and `one (parent)`: `convert` of a domain with one hostdev, its adapter
//!   named `scsi_host0` or by PCI parent + unique_id: what a domain that names one device
//!   costs on a host of N LUs.
//!
//! The claims under test: resolving N devices costs O(N) (the µs/LU columns stay flat as N
//! grows by 100×), and one device costs the same whatever the size of the host (the `one`
//! columns and their filesystem operations, `SysfsRoot::operations`, stay flat). Run with
//! `cargo bench --bench resolve` (sizes 1,000, 10,000, 100,000) or
//! `cargo bench --bench resolve -- N`.

mod common;
use common::{disk_letters, median};
use domxml::model::Definition;
use domxml::resolve::{Index, SysfsRoot};
use domxml::{convert_bytes, Host, Limits, Options};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

const LUS_PER_HOST: usize = 1000;
/// 250 targets × 4 LUNs per host.
const LUNS_PER_TARGET: usize = 4;

/// PCI function of host `h`: 0000:00:SS.F from slot 1, eight functions per slot.
fn pci(h: usize) -> (usize, usize) {
    (1 + h / 8, h % 8)
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn link(at: &Path, target: &Path) {
    fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
    let rel = pathdiff(target, at.parent().expect("parent"));
    symlink(rel, at).expect("symlink");
}

/// `target` relative to directory `from` (both under the same root, no symlinks).
fn pathdiff(target: &Path, from: &Path) -> std::path::PathBuf {
    let t: Vec<_> = target.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

fn build_tree(root: &Path, lus: usize) {
    let sys = root.join("sys");
    let hosts = lus.div_ceil(LUS_PER_HOST);
    let mut n = 0;
    for h in 0..hosts {
        let (slot, func) = pci(h);
        let hd = sys.join(format!(
            "devices/pci0000:00/0000:00:{slot:02x}.{func}/virtio{h}/host{h}"
        ));
        let cd = hd.join(format!("scsi_host/host{h}"));
        write(&hd.join("uevent"), "DEVTYPE=scsi_host\n");
        write(&cd.join("unique_id"), "0\n");
        write(&cd.join("proc_name"), "virtio_scsi\n");
        link(&sys.join(format!("class/scsi_host/host{h}")), &cd);
        link(&sys.join(format!("bus/scsi/devices/host{h}")), &hd);
        for i in 0..LUS_PER_HOST.min(lus - n) {
            let (t, l) = (i / LUNS_PER_TARGET, i % LUNS_PER_TARGET);
            let hctl = format!("{h}:0:{t}:{l}");
            let ld = hd.join(format!("target{h}:0:{t}")).join(&hctl);
            write(&ld.join("type"), "0\n");
            write(&ld.join("vendor"), "QEMU    \n");
            write(&ld.join("model"), "QEMU HARDDISK   \n");
            write(&ld.join("rev"), "2.5+\n");
            let sg = format!("sg{n}");
            let sd = format!("sd{}", disk_letters(n));
            write(
                &ld.join(format!("scsi_generic/{sg}/dev")),
                &format!("21:{n}\n"),
            );
            link(
                &sys.join(format!("class/scsi_generic/{sg}")),
                &ld.join(format!("scsi_generic/{sg}")),
            );
            write(
                &ld.join(format!("block/{sd}/dev")),
                &format!("8:{}\n", n * 16),
            );
            link(
                &sys.join(format!("class/block/{sd}")),
                &ld.join(format!("block/{sd}")),
            );
            link(&sys.join(format!("bus/scsi/devices/{hctl}")), &ld);
            n += 1;
        }
    }
}

fn head() -> String {
    "<domain type='qemu'><name>bench</name><memory>65536</memory>\
     <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        .to_string()
}

/// Every LU as a hostdev, named by its flat adapter, on controller = host.
fn hostdev_domain(lus: usize) -> String {
    let mut x = head();
    let hosts = lus.div_ceil(LUS_PER_HOST);
    for h in 0..hosts {
        let _ = write!(
            x,
            "<controller type='scsi' index='{h}' model='virtio-scsi'/>"
        );
    }
    for i in 0..lus {
        let (h, j) = (i / LUS_PER_HOST, i % LUS_PER_HOST);
        let (t, l) = (j / LUNS_PER_TARGET, j % LUNS_PER_TARGET);
        let (slot, func) = pci(h);
        let _ = write!(
            x,
            "<hostdev mode='subsystem' type='scsi'><source>\
             <adapter parent='pci_0000_00_{slot:02x}_{func}' unique_id='0'/>\
             <address bus='0' target='{t}' unit='{l}'/></source>\
             <address type='drive' controller='{h}' bus='0' target='{t}' unit='{l}'/></hostdev>"
        );
    }
    x + "</devices></domain>"
}

/// One hostdev on LU 0:0:0:0, named by host name or by PCI parent + unique_id.
fn one_hostdev(by_parent: bool) -> String {
    let adapter = if by_parent {
        "<adapter parent='pci_0000_00_01_0' unique_id='0'/>"
    } else {
        "<adapter name='scsi_host0'/>"
    };
    head()
        + "<controller type='scsi' index='0' model='virtio-scsi'/>\
           <hostdev mode='subsystem' type='scsi'><source>"
        + adapter
        + "<address bus='0' target='0' unit='0'/></source>\
           <address type='drive' controller='0' bus='0' target='0' unit='0'/></hostdev>\
           </devices></domain>"
}

fn domain(xml: &str) -> domxml::model::Domain {
    let Definition::Domain(d) = domxml::codec::parse_str(xml).expect("parses").definition else {
        panic!("not a domain");
    };
    *d
}

/// `convert`'s resolution (`resolve_passthrough`) of `d`: its time and filesystem operations.
fn resolve_only(d: &domxml::model::Domain, root: &Path) -> (Duration, u64) {
    let t = Instant::now();
    let r = SysfsRoot::at(root).expect("root");
    let res = domxml::resolve::resolve_passthrough(d, &r).expect("resolves");
    let took = t.elapsed();
    assert_eq!(res.failures().count(), 0);
    (took, r.operations())
}

/// Filesystem operations `convert` costs (its resolution).
fn convert_ops(xml: &str, root: &Path) -> u64 {
    resolve_only(&domain(xml), root).1
}

/// One whole-host controller per host.
fn whole_host_domain(lus: usize) -> String {
    let mut x = head();
    for h in 0..lus.div_ceil(LUS_PER_HOST) {
        let (slot, func) = pci(h);
        let _ = write!(
            x,
            "<controller type='scsi' index='{h}' model='virtio-scsi'><source>\
             <adapter parent='pci_0000_00_{slot:02x}_{func}' unique_id='0'/></source></controller>"
        );
    }
    x + "</devices></domain>"
}

fn main() {
    let sizes: Vec<usize> = match std::env::args().nth(1).and_then(|a| a.parse().ok()) {
        Some(n) => vec![n],
        None => vec![1_000, 10_000, 100_000],
    };
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>11} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "LUs",
        "build",
        "scan",
        "hostdevs",
        "hd resolve",
        "whole-host",
        "one(name)",
        "one(parent)",
        "scan/LU",
        "hd/LU",
        "wh/LU",
        "scan ops",
        "hd ops",
        "one ops",
        "one(p) ops"
    );
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = Instant::now();
        build_tree(dir.path(), n);
        let build = t.elapsed();
        let hd_xml = hostdev_domain(n);
        let wh_xml = whole_host_domain(n);
        let one_xml = [one_hostdev(false), one_hostdev(true)];
        let runs = if n >= 100_000 { 3 } else { 5 };
        let (mut s, mut h, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut one: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        let mut hr = Vec::new();
        let hd_model = domain(&hd_xml);
        for _ in 0..runs {
            let t = Instant::now();
            let idx = Index::scan(&SysfsRoot::at(dir.path()).expect("root")).expect("scan");
            s.push(t.elapsed());
            assert_eq!(idx.lus().count(), n);

            drop(idx);
            for (xml, times) in one_xml.iter().zip(one.iter_mut()) {
                let convert = || {
                    convert_bytes(
                        xml.as_bytes(),
                        Limits::default(),
                        &Options::default(),
                        Host::Sysfs(dir.path()),
                    )
                    .expect("one hostdev converts")
                };
                // Once untimed: the first allocation of a directory buffer after the scan's
                // frees pays for consolidating the allocator's free lists, which a fresh
                // process (the CLI) never does.
                convert();
                let t = Instant::now();
                let c = convert();
                times.push(t.elapsed());
                assert!(c.args.argv().iter().any(|a| a.contains("/dev/sg0")));
            }

            let t = Instant::now();
            let c = convert_bytes(
                hd_xml.as_bytes(),
                Limits::default(),
                &Options::default(),
                Host::Sysfs(dir.path()),
            )
            .expect("hostdev domain converts");
            h.push(t.elapsed());
            let sgs = c
                .args
                .argv()
                .iter()
                .filter(|a| a.contains("\"filename\":\"/dev/sg"))
                .count();
            assert_eq!(sgs, n);
            drop(c);
            hr.push(resolve_only(&hd_model, dir.path()).0);

            let t = Instant::now();
            let c = convert_bytes(
                wh_xml.as_bytes(),
                Limits::default(),
                &Options::default(),
                Host::Sysfs(dir.path()),
            )
            .expect("whole-host domain converts");
            w.push(t.elapsed());
            let blocks = c
                .args
                .argv()
                .iter()
                .filter(|a| a.contains("\"driver\":\"scsi-block\""))
                .count();
            assert_eq!(blocks, n);
        }
        let (s, h, w, hr) = (median(s), median(h), median(w), median(hr));
        let [one_name, one_parent] = one.map(median);
        let scan_ops = {
            let r = SysfsRoot::at(dir.path()).expect("root");
            Index::scan(&r).expect("scan");
            r.operations()
        };
        let hd_ops = convert_ops(&hd_xml, dir.path());
        let one_ops = convert_ops(&one_xml[0], dir.path());
        let one_p_ops = convert_ops(&one_xml[1], dir.path());
        let per = |d: Duration| format!("{:.1}µs", d.as_secs_f64() * 1e6 / n as f64);
        println!(
            "{n:>8} {:>9.1?} {:>10.1?} {:>10.1?} {:>10.1?} {:>10.1?} {:>10.1?} {:>11.1?} {:>8} {:>8} {:>8} {scan_ops:>9} {hd_ops:>9} {one_ops:>9} {one_p_ops:>9}",
            build,
            s,
            h,
            hr,
            w,
            one_name,
            one_parent,
            per(s),
            per(h),
            per(w)
        );
    }
}
