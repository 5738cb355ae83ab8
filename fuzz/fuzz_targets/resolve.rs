//! Small generated sysfs trees (fuzzed host names, unique_ids, WWNs, H:B:T:L names and link
//! targets, including loops and links out of the root) scanned and resolved for every adapter
//! form: an answer or an error, never a panic, never a path outside the root.
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
    for (name, parent, unique_id, wwn) in &input.adapters {
        for a in [
            domxml::Adapter::named(name.clone()),
            domxml::Adapter::by_parent(parent.clone(), unique_id.bytes().next().unwrap_or(0).into()),
            domxml::Adapter::fc_host(wwn.clone(), wwn.clone()),
        ] {
            if let Ok(h) = domxml::resolve::resolve_adapter(&idx, &a) {
                for lu in idx.host_lus(h.number, None, None) {
                    let _ = domxml::resolve::lookup_lu(&idx, lu.hctl);
                }
                let _ = domxml::resolve::whole_host(&idx, h.number, None, None);
            }
        }
    }
});
