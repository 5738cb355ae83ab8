//! Small generated sysfs trees (fuzzed host names, unique_ids, WWNs, H:B:T:L names and link
//! targets, including loops and links out of the root) scanned and resolved for every adapter
//! form: an answer or an error, never a panic, never a path outside the root; and resolved
//! the targeted way (`resolve`, `resolve_passthrough`: only what the domain names, with the
//! root's short ways through `openat2`) with exactly the full scan's answers and errors.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::os::unix::fs::symlink;
use std::path::Path;

#[derive(Arbitrary, Debug)]
enum Entry {
    /// `class/scsi_host/NAME` → `../../devices/pci0000:00/PCI/NAME/scsi_host/NAME`.
    Host { name: String, pci: String, unique_id: String, proc_name: String },
    /// `class/fc_host/NAME` with WWNs.
    Fc { name: String, node: String, port: String },
    /// `bus/scsi/devices/NAME` → a device directory with sg/block children.
    Lu { name: String, host_dir: String, sg: String, block: String },
    /// A link anywhere under sys/ to an arbitrary target (loops, `..`, absolute paths).
    Link { at: String, target: String },
}

#[derive(Arbitrary, Debug)]
struct Input {
    entries: Vec<Entry>,
    adapters: Vec<(String, String, String, String)>,
}

/// A path component the filesystem accepts (the resolver must cope with any of them).
fn comp(s: &str) -> String {
    let c: String = s.chars().filter(|&c| c != '/' && c != '\0').take(40).collect();
    if c.is_empty() || c == "." || c == ".." {
        "x".into()
    } else {
        c
    }
}

fn write(p: &Path, text: &str) {
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::write(p, text);
}

fuzz_target!(|input: Input| {
    if input.entries.len() > 24 || input.adapters.len() > 8 {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let sys = root.join("sys");
    for d in ["class/scsi_host", "class/fc_host", "bus/scsi/devices", "devices/pci0000:00"] {
        std::fs::create_dir_all(sys.join(d)).unwrap();
    }
    // Something outside the root that a wrong resolution could reach.
    write(&t.path().join("outside/unique_id"), "0\n");
    for e in &input.entries {
        match e {
            Entry::Host { name, pci, unique_id, proc_name } => {
                let (name, pci) = (comp(name), comp(pci));
                let dev = sys.join("devices/pci0000:00").join(&pci).join(&name);
                let class = dev.join("scsi_host").join(&name);
                write(&class.join("unique_id"), unique_id);
                write(&class.join("proc_name"), proc_name);
                let _ = symlink(
                    format!("../../devices/pci0000:00/{pci}/{name}/scsi_host/{name}"),
                    sys.join("class/scsi_host").join(&name),
                );
            }
            Entry::Fc { name, node, port } => {
                let d = sys.join("class/fc_host").join(comp(name));
                write(&d.join("node_name"), node);
                write(&d.join("port_name"), port);
            }
            Entry::Lu { name, host_dir, sg, block } => {
                let (name, host_dir) = (comp(name), comp(host_dir));
                let dev = sys.join("devices/pci0000:00/0000:00:05.0").join(&host_dir).join(&name);
                let _ = std::fs::create_dir_all(dev.join("scsi_generic").join(comp(sg)));
                let _ = std::fs::create_dir_all(dev.join("block").join(comp(block)));
                let _ = symlink(
                    format!("../../../devices/pci0000:00/0000:00:05.0/{host_dir}/{name}"),
                    sys.join("bus/scsi/devices").join(&name),
                );
            }
            Entry::Link { at, target } => {
                let at: Vec<String> = at.split('/').take(4).map(comp).collect();
                let p = sys.join(at.join("/"));
                if let Some(d) = p.parent() {
                    let _ = std::fs::create_dir_all(d);
                }
                let _ = symlink(target.chars().filter(|&c| c != '\0').take(200).collect::<String>(), &p);
            }
        }
    }
    let Ok(sysfs) = domxml::SysfsRoot::at(&root) else {
        return;
    };
    let Ok(idx) = domxml::resolve::Index::scan(&sysfs) else {
        return;
    };
    let canonical_root = root.canonicalize().unwrap();
    for h in idx.hosts() {
        let p = canonical_root.join(h.device_path.to_string().trim_start_matches('/'));
        assert!(p.starts_with(&canonical_root), "a host outside the root: {p:?}");
    }
    let mut devices = String::new();
    let mut addrs: Vec<(u32, u32, u64)> =
        idx.lus().take(3).map(|l| (l.hctl.bus, l.hctl.target, l.hctl.lun)).collect();
    addrs.push((0, 0, 0));
    for (name, parent, unique_id, wwn) in &input.adapters {
        let uid = unique_id.bytes().next().unwrap_or(0);
        for a in [
            domxml::Adapter::named(name.clone()),
            domxml::Adapter::by_parent(parent.clone(), uid.into()),
            domxml::Adapter::fc_host(wwn.clone(), wwn.clone()),
        ] {
            if let Ok(h) = domxml::resolve::resolve_adapter(&idx, &a) {
                for lu in idx.host_lus(h.number, None, None) {
                    let _ = domxml::resolve::lookup_lu(&idx, lu.hctl);
                }
                let _ = domxml::resolve::whole_host(&idx, h.number, None, None);
            }
        }
        for a in [
            format!("name='{}'", esc(name)),
            format!("parent='{}' unique_id='{uid}'", esc(parent)),
            format!("type='fc_host' wwnn='{0}' wwpn='{0}'", esc(wwn)),
        ] {
            for (b, t, l) in &addrs {
                devices.push_str(&format!(
                    "<hostdev mode='subsystem' type='scsi'><source><adapter {a}/>\
                     <address bus='{b}' target='{t}' unit='{l}'/></source></hostdev>"
                ));
            }
            devices.push_str(&format!(
                "<controller type='scsi' model='virtio-scsi'><source><adapter {a}/></source></controller>"
            ));
        }
    }
    let xml = format!(
        "<domain type='qemu'><name>f</name><memory>65536</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}</devices></domain>"
    );
    let Ok(doc) = domxml::codec::parse_str(&xml) else {
        return;
    };
    let def = doc.definition;
    let full = domxml::resolve::resolve_with_index(&def, &idx);
    let Ok(targeted) = domxml::resolve::resolve(&def, &domxml::SysfsRoot::at(&root).unwrap()) else {
        panic!("the full scan read this tree, the targeted reads could not");
    };
    let (a, b) = (
        domxml::resolve::report::Report::of(&full).rows,
        domxml::resolve::report::Report::of(&targeted).rows,
    );
    assert_eq!(a, b, "targeted resolution differs from the full scan");
    if let domxml::model::Definition::Domain(d) = &def {
        let pass = domxml::resolve::resolve_passthrough(d, &domxml::SysfsRoot::at(&root).unwrap())
            .expect("the full scan read this tree");
        assert_eq!(view(&pass), view(&full), "passthrough differs from the full scan");
    }
});

/// What a command line takes from a resolution: per device, the sg node of a hostdev, the
/// nodes and guest addresses of a whole host's LUs, or the error.
fn view(r: &domxml::resolve::ResolvedDomain) -> Vec<String> {
    use domxml::resolve::Resolution;
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

/// Text safe inside a single-quoted XML attribute (control characters dropped).
fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(60)
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '\'' => "&apos;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect()
}
