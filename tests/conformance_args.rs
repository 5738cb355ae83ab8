//! libvirt's own test vectors: every SCSI, vhost-scsi and VFIO `-device` domxml emits must
//! carry exactly libvirt's properties and values, and point at the same backend chain (node
//! names and key order aside). The corpus lives outside the crate (../shared/conformance/libvirt);
//! the test skips with a message when it is absent.

use domxml::emit::{convert_str, parse_shell, Caps, FixedSg, Options, QemuVersion};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The QEMU version libvirt's `latest` capability dump stands for: it has `migrate-pr` (QEMU
/// 11.0) and no virtio-blk SCSI (gone in 9.1).
const LATEST: QemuVersion = QemuVersion::new(11, 0);
/// A QEMU of the legacy files' era (before -blockdev and JSON -device).
const LEGACY: QemuVersion = QemuVersion::new(4, 0);

fn corpus() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/conformance/libvirt"),
        PathBuf::from("/work/shared/conformance/libvirt"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// SCSI controllers, SCSI devices, vhost-scsi and VFIO: what this comparison covers.
fn in_scope(driver: &str) -> bool {
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
fn keyval(s: &str, lead: &str) -> Map<String, Value> {
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

fn props(v: &str, lead: &str) -> Map<String, Value> {
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
fn devices(argv: &[String]) -> BTreeMap<String, Map<String, Value>> {
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
                let raw_only = node.get("driver") == Some(&Value::String("raw".into()))
                    && node
                        .keys()
                        .all(|k| matches!(k.as_str(), "driver" | "file" | "read-only"));
                if raw_only {
                    if let Some(ro) = node.get("read-only").cloned() {
                        c.insert("read-only".into(), ro);
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
        if !(in_scope(&driver) || lun_blk) {
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

fn libvirt_argv(args_file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(args_file).unwrap();
    let words =
        parse_shell(&text).unwrap_or_else(|e| panic!("{}: cannot split: {e}", args_file.display()));
    // Drop the environment assignments before the emulator.
    words
        .into_iter()
        .skip_while(|w| !w.starts_with('/'))
        .collect()
}

struct Case {
    name: String,
    input: PathBuf,
    expected: PathBuf,
    version: QemuVersion,
}

fn cases(dir: &Path) -> Vec<Case> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
    let mut out = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".x86_64-latest.args").map(str::to_string))
        .collect();
    names.sort();
    for name in names {
        let input = [
            dir.join(format!("{name}.xml")),
            fixtures.join(format!("{name}.xml")),
            dir.join(format!("{name}.x86_64-latest.xml")),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no input for {name}"));
        out.push(Case {
            expected: dir.join(format!("{name}.x86_64-latest.args")),
            name,
            input,
            version: LATEST,
        });
    }
    out.push(Case {
        name: "virtio-lun (QEMU 9.0)".into(),
        input: dir.join("virtio-lun.xml"),
        expected: dir.join("virtio-lun.x86_64-9.0.0.args"),
        version: QemuVersion::new(9, 0),
    });
    out.push(Case {
        name: "legacy/hostdev-scsi-lsi".into(),
        input: dir.join("legacy/hostdev-scsi-lsi.xml"),
        expected: dir.join("legacy/hostdev-scsi-lsi.args"),
        version: LEGACY,
    });
    out.push(Case {
        name: "legacy/disk-scsi-lun-passthrough".into(),
        input: dir.join("disk-scsi-lun-passthrough.xml"),
        expected: dir.join("legacy/disk-scsi-lun-passthrough.args"),
        version: LEGACY,
    });
    out
}

fn compare(case: &Case) -> Result<usize, String> {
    let xml = std::fs::read_to_string(&case.input).unwrap();
    let opts = Options {
        caps: Caps::of(case.version),
        ..Options::default()
    };
    let ours = convert_str(&xml, &opts, &FixedSg).map_err(|e| format!("conversion failed: {e}"))?;
    let ours = devices(ours.args.argv());
    let theirs = devices(&libvirt_argv(&case.expected));
    let mut problems = Vec::new();
    for (id, t) in &theirs {
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
    for id in ours.keys().filter(|id| !theirs.contains_key(*id)) {
        problems.push(format!("extra device {id}"));
    }
    if problems.is_empty() {
        Ok(theirs.len())
    } else {
        Err(problems.join("\n    "))
    }
}

#[test]
fn every_libvirt_scsi_vhost_and_vfio_device_matches() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/conformance/libvirt is absent");
        return;
    };
    let cases = cases(&dir);
    let mut failures = Vec::new();
    let mut devices = 0;
    for c in &cases {
        match compare(c) {
            Ok(n) => {
                devices += n;
                println!("match    {} ({n} devices)", c.name);
            }
            Err(e) => {
                println!("MISMATCH {}\n    {e}", c.name);
                failures.push(c.name.clone());
            }
        }
    }
    println!(
        "{} of {} cases match ({devices} devices compared)",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "mismatching cases: {failures:?}");
}

/// libvirt's expected failures (`.x86_64-latest.err`): domxml must refuse each one too.
#[test]
fn every_libvirt_error_case_is_refused() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/conformance/libvirt is absent");
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".x86_64-latest.err").map(str::to_string))
        .collect();
    names.sort();
    // Cases whose error the corpus could not retrieve, but which must be rejected.
    names.push("hostdev-scsi-duplicate".into());
    names.push("hostdevs-drive-address-conflict".into());
    let mut accepted = Vec::new();
    for name in &names {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let mut caps = Caps::of(LATEST);
        if name == "controller-scsi-default-unavailable" {
            // libvirt's harness removes both devices from the capabilities for this case.
            caps.without = ["lsi", "virtio-scsi"]
                .map(String::from)
                .into_iter()
                .collect();
        }
        let opts = Options {
            caps,
            ..Options::default()
        };
        let expected = std::fs::read_to_string(dir.join(format!("{name}.x86_64-latest.err")))
            .unwrap_or_default();
        match convert_str(&xml, &opts, &FixedSg) {
            Ok(_) => accepted.push(name.clone()),
            Err(e) => println!(
                "refused  {name}: {}\n         libvirt: {}",
                e.to_string().trim(),
                expected.trim()
            ),
        }
    }
    println!(
        "{} of {} error cases refused",
        names.len() - accepted.len(),
        names.len()
    );
    assert!(
        accepted.is_empty(),
        "accepted although libvirt refuses: {accepted:?}"
    );
}

/// Emit-time errors carry libvirt's exact message.
#[test]
fn version_dependent_errors_use_libvirts_messages() {
    let Some(dir) = corpus() else {
        println!("skipped: ../shared/conformance/libvirt is absent");
        return;
    };
    for (name, without) in [
        ("virtio-lun", vec![]),
        (
            "controller-scsi-default-unavailable",
            vec!["lsi", "virtio-scsi"],
        ),
    ] {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let expected =
            std::fs::read_to_string(dir.join(format!("{name}.x86_64-latest.err"))).unwrap();
        let mut caps = Caps::of(LATEST);
        caps.without = without.into_iter().map(String::from).collect();
        let opts = Options {
            caps,
            ..Options::default()
        };
        let err = match convert_str(&xml, &opts, &FixedSg) {
            Err(domxml::emit::ConvertError::Emit(e)) => e,
            other => panic!("{name}: expected an emit error, got {other:?}"),
        };
        assert!(
            expected.contains(&err.message),
            "{name}: {} vs {expected}",
            err.message
        );
        assert_eq!(err.code, name);
    }
}
