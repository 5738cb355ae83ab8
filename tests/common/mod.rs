//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `*.xml` files directly in a folder under the crate root, sorted.
pub fn xml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// libvirt's conformance vectors, when `../shared` is beside the checkout.
pub fn corpus_dir() -> Option<PathBuf> {
    let d = root().join("../shared/conformance/libvirt");
    d.is_dir().then_some(d)
}

/// Every input XML of the corpus (top level, legacy/, storagepool/), sorted.
pub fn corpus_inputs() -> Vec<PathBuf> {
    let Some(d) = corpus_dir() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for sub in ["", "legacy", "storagepool"] {
        if let Ok(rd) = std::fs::read_dir(d.join(sub)) {
            v.extend(
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "xml")),
            );
        }
    }
    v.sort();
    v
}

/// Print why a test did nothing, so a skip is visible in the output.
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

/// The value of a leading `<!-- key: VALUE -->` comment.
pub fn header(path: &Path, key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).ok()?).into_owned();
    let needle = format!("<!-- {key}:");
    let start = text.find(&needle)? + needle.len();
    let end = text[start..].find("-->")? + start;
    Some(text[start..end].trim().to_string())
}

/// A file's name for messages.
pub fn name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ---- argv comparison ----
// Comparing QEMU command lines the way the conformance and live tests need: the in-scope
// devices of an argv, each with the backend chain it points at folded in, so that node names
// and key order do not matter.

/// SCSI controllers, SCSI devices, vhost-scsi and VFIO: what this comparison covers.
pub fn in_scope(driver: &str) -> bool {
    matches!(
        driver,
        "scsi-hd"
            | "scsi-cd"
            | "scsi-block"
            | "scsi-generic"
            | "lsi"
            | "mptsas1068"
            | "megasas"
            | "pvscsi"
            | "spapr-vscsi"
            | "am53c974"
            | "dc390"
            | "dc-390"
            | "vfio-pci"
    ) || driver.starts_with("virtio-scsi")
        || driver.starts_with("vhost-scsi")
}

/// Legacy `key=value` list (`,,` is a literal comma); the first bare word is `lead`.
pub fn keyval(s: &str, lead: &str) -> Map<String, Value> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                parts.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    let mut m = Map::new();
    for (i, p) in parts.into_iter().enumerate() {
        match p.split_once('=') {
            Some((k, v)) => {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
            None if i == 0 => {
                m.insert(lead.to_string(), Value::String(p));
            }
            None => {
                m.insert(p, Value::String("on".into()));
            }
        }
    }
    m
}

pub fn props(v: &str, lead: &str) -> Map<String, Value> {
    if v.starts_with('{') {
        match serde_json::from_str(v) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    } else {
        keyval(v, lead)
    }
}

/// The in-scope devices of an argv, each with its backend chain folded in under `drive`,
/// keyed by id.
pub fn devices(argv: &[String]) -> BTreeMap<String, Map<String, Value>> {
    devices_with(argv, |_| false)
}

/// Also compare virtio-blk and IDE/SATA disks (the live test does).
pub fn also_disks(driver: &str) -> bool {
    driver.starts_with("virtio-blk")
        || driver.starts_with("ide-")
        || matches!(driver, "pcie-root-port" | "pcie-pci-bridge" | "pci-bridge")
}

/// [`devices`], with more drivers in scope.
pub fn devices_with(
    argv: &[String],
    extra: fn(&str) -> bool,
) -> BTreeMap<String, Map<String, Value>> {
    let mut nodes: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut devs = Vec::new();
    let mut i = 0;
    while i + 1 < argv.len() {
        let (opt, val) = (&argv[i], &argv[i + 1]);
        match opt.as_str() {
            "-blockdev" => {
                let m = props(val, "driver");
                if let Some(Value::String(n)) = m.get("node-name") {
                    nodes.insert(n.clone(), m.clone());
                }
                i += 2;
            }
            "-drive" => {
                let m = props(val, "file");
                if let Some(Value::String(n)) = m.get("id") {
                    nodes.insert(n.clone(), m.clone());
                }
                i += 2;
            }
            "-device" => {
                devs.push(props(val, "driver"));
                i += 2;
            }
            _ => i += 1,
        }
    }
    let chain = |name: &str| -> Value {
        let mut node = nodes.get(name).cloned().unwrap_or_default();
        node.remove("node-name");
        node.remove("id");
        // Follow a format layer to its storage; a raw format layer with nothing else folds
        // into the storage node.
        if let Some(Value::String(child)) = node.get("file").cloned() {
            if let Some(mut c) = nodes.get(&child).cloned() {
                c.remove("node-name");
                // A raw format layer is folded into its storage node: the storage then carries
                // the format layer's read-only and discard, and loses the auto-read-only and
                // discard libvirt puts on storage nodes that sit under a format layer.
                let raw_only = node.get("driver") == Some(&Value::String("raw".into()))
                    && node.keys().all(|k| {
                        matches!(
                            k.as_str(),
                            "driver" | "file" | "read-only" | "discard" | "cache"
                        )
                    });
                if raw_only {
                    c.remove("auto-read-only");
                    c.remove("discard");
                    for k in ["read-only", "discard", "cache"] {
                        if let Some(v) = node.get(k).cloned() {
                            c.insert(k.into(), v);
                        }
                    }
                    return Value::Object(c);
                }
                node.insert("file".into(), Value::Object(c));
            }
        }
        Value::Object(node)
    };
    let mut out = BTreeMap::new();
    for mut d in devs {
        let Some(Value::String(driver)) = d.get("driver").cloned() else {
            continue;
        };
        // virtio-blk counts when it is SCSI passthrough (device='lun').
        let lun_blk = driver.starts_with("virtio-blk") && d.contains_key("scsi");
        if !(in_scope(&driver) || lun_blk || extra(&driver)) {
            continue;
        }
        if let Some(Value::String(n)) = d.get("drive").cloned() {
            d.insert("drive".into(), chain(&n));
        }
        if driver.starts_with("vhost-scsi") {
            // Deliberate: see docs/deviations.md (QEMU opens /dev/vhost-scsi itself).
            d.remove("vhostfd");
        }
        let id = d
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        out.insert(id, d);
    }
    out
}

/// The differences between libvirt's devices and ours, one line each; empty when they match.
pub fn diff(
    theirs: &BTreeMap<String, Map<String, Value>>,
    ours: &BTreeMap<String, Map<String, Value>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, t) in theirs {
        match ours.get(id) {
            None => problems.push(format!(
                "missing device {id}: libvirt has {}",
                Value::Object(t.clone())
            )),
            Some(o) if o != t => problems.push(format!(
                "device {id} differs:\n      libvirt {}\n      domxml  {}",
                Value::Object(t.clone()),
                Value::Object(o.clone())
            )),
            _ => {}
        }
    }
    for (id, o) in ours.iter().filter(|(id, _)| !theirs.contains_key(*id)) {
        problems.push(format!("extra device {id}: {}", Value::Object(o.clone())));
    }
    problems
}

/// A SCSI passthrough `-device` (`scsi-block` or `scsi-generic`) of a JSON-syntax command
/// line, with the file its drive finally opens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PassDev {
    pub driver: String,
    pub id: String,
    pub bus: String,
    pub channel: u64,
    pub scsi_id: u64,
    pub lun: u64,
    /// The `filename` at the bottom of the drive's node chain (a format layer such as
    /// libvirt's `libvirt-N-format` is followed down to its storage node), or `?`.
    pub file: String,
}

/// Every SCSI passthrough device of `argv`, in command-line order.
pub fn passthrough_devices(argv: &[String]) -> Vec<PassDev> {
    let objs = |flag: &str| -> Vec<Value> {
        argv.windows(2)
            .filter(|w| w[0] == flag)
            .filter_map(|w| serde_json::from_str(&w[1]).ok())
            .collect()
    };
    let nodes = objs("-blockdev");
    let file_of = |drive: &Value| {
        let mut node = drive.clone();
        for _ in 0..4 {
            let Some(n) = nodes.iter().find(|n| n["node-name"] == node) else {
                break;
            };
            if let Some(f) = n["filename"].as_str() {
                return f.to_string();
            }
            node = n["file"].clone();
        }
        "?".to_string()
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    objs("-device")
        .into_iter()
        .filter(|d| matches!(d["driver"].as_str(), Some("scsi-block" | "scsi-generic")))
        .map(|d| PassDev {
            driver: s(&d["driver"]),
            id: s(&d["id"]),
            bus: s(&d["bus"]),
            channel: d["channel"].as_u64().unwrap_or(u64::MAX),
            scsi_id: d["scsi-id"].as_u64().unwrap_or(u64::MAX),
            lun: d["lun"].as_u64().unwrap_or(u64::MAX),
            file: file_of(&d["drive"]),
        })
        .collect()
}

// ---- command lines as text ----

/// Split a POSIX shell command line (what `virsh domxml-to-native` and `domxml convert` print:
/// words separated by blanks, `'…'` and `"…"` quoting, `\` escapes and `\`-newline
/// continuations) into its words. Needs no library API of domxml.
pub fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some('\n') => {}
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated \"".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated \"".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(x) => {
                    in_word = true;
                    cur.push(x);
                }
                None => return Err("trailing \\".into()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// libvirt's `sdX`/`vdX`/`hdX` disk name for a 0-based index (`sda`, …, `sdz`, `sdaa`, …).
pub fn disk_name(prefix: &str, mut idx: u32) -> String {
    let mut tail = Vec::new();
    loop {
        tail.push(b'a' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    tail.reverse();
    format!("{prefix}{}", String::from_utf8(tail).unwrap())
}

// ---- sysfs trees ----

/// Copy a sysfs fixture with SCSI host `from` renumbered to `to` (directory names `hostN`,
/// `targetN:…`, `N:B:T:L`, and symlink targets alike): the same hardware after a reboot
/// that numbered the hosts differently.
pub fn renumbered_copy(src: &Path, dst: &Path, from: u32, to: u32) {
    let ren = |c: &str| -> String {
        let host = format!("host{from}");
        let target = format!("target{from}:");
        let hctl = format!("{from}:");
        if c == host {
            format!("host{to}")
        } else if let Some(rest) = c.strip_prefix(&target) {
            format!("target{to}:{rest}")
        } else if c.starts_with(&hctl) && c.matches(':').count() == 3 {
            format!("{to}:{}", &c[hctl.len()..])
        } else {
            c.to_string()
        }
    };
    fn walk(src: &Path, dst: &Path, ren: &dyn Fn(&str) -> String) {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let to = dst.join(ren(&name));
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let t = std::fs::read_link(e.path()).unwrap();
                let t: Vec<String> = t.to_string_lossy().split('/').map(ren).collect();
                std::os::unix::fs::symlink(t.join("/"), &to).unwrap();
            } else if ft.is_dir() {
                walk(&e.path(), &to, ren);
            } else {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    walk(src, dst, &ren);
}

/// Report a skip. With `DOMXML_REQUIRE_REAL=1` (set by scripts/test.sh once it has installed
/// everything) a skip is a failure: CI must not pass by running nothing.
pub fn skipped(why: &str) {
    assert!(
        std::env::var_os("DOMXML_REQUIRE_REAL").is_none(),
        "required test could not run: {why}"
    );
    println!("skipped: {why}");
}

/// The first of `tools` that is not on PATH.
pub fn missing_tool<'a>(tools: &[&'a str]) -> Option<&'a str> {
    tools.iter().copied().find(|tool| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
    })
}
