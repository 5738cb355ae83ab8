//! `domxml resolve` and `domxml sysfs-snapshot`, run as a user runs them: the built binary on
//! fixture domains (`fixtures/resolve/`) against fixture sysfs trees (`fixtures/sysfs/`).

#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn domxml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run domxml")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let o = domxml(args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
    (o.status.code().unwrap_or(-1), v)
}

fn schema_errors(v: &serde_json::Value) -> Vec<String> {
    let text = std::fs::read_to_string(repo("schemas/resolve-report.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn resolve_table_shows_every_form_resolved_on_the_q35_capture() {
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        "fixtures/resolve/q35-every-form.xml",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("/domain")).collect();
    let expect = [
        ("hostdev[1]", "host6  6:0:0:0  /dev/sg1  /dev/sdb"),
        ("hostdev[2]", "host6  6:0:3:5  /dev/sg2  /dev/sdc"),
        ("hostdev[3]", "host2  2:0:0:0  /dev/sg0  /dev/sda"),
        ("hostdev[4]", "host8  8:2:1:0  /dev/sg4  /dev/sde"),
        ("disk ", "host7  7:0:2:0  /dev/sg3  /dev/sdd"),
        (
            "controller[2]",
            "host9  9:0:1:0  /dev/sg7  /dev/sdh  disk  scsi-block 1:0",
        ),
        (
            "controller[2]",
            "host9  9:0:1:1  /dev/sg8  /dev/sdi  disk  scsi-block 1:1",
        ),
    ];
    assert_eq!(rows.len(), expect.len(), "{out}");
    for (row, (path, cells)) in rows.iter().zip(expect) {
        assert!(
            row.contains(path) && row.contains(cells),
            "{row:?} lacks {path} / {cells}"
        );
    }
    assert!(out.ends_with("7 rows, 0 unresolved\n"), "{out}");
}

#[test]
fn resolve_json_follows_the_schema_and_matches_the_table() {
    let (code, v) = json(&[
        "resolve",
        "--format",
        "json",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        "fixtures/resolve/q35-every-form.xml",
    ]);
    assert_eq!(code, 0);
    assert_eq!(schema_errors(&v), Vec::<String>::new());
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[1]["sg"], "/dev/sg2");
    assert_eq!(rows[1]["hctl"], "6:0:3:5");
    assert_eq!(rows[0]["identity"]["kind"], "dev_numbers");
    assert_eq!(rows[0]["identity"]["value"]["block"], "8:16");
    assert_eq!(rows[6]["guest"]["lun"], 1);
    assert_eq!(rows[6]["passthrough"], "scsi-block");
    assert_eq!(v["unresolved"], 0);
}

#[test]
fn resolve_exits_1_for_the_root_port_and_names_the_device_below_it() {
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        "fixtures/resolve/q35-root-port.xml",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("  error: adapter <adapter parent='pci_0000_00_1c_0' unique_id='0'>: no SCSI host has PCI device 0000:00:1c.0 as its nearest PCI parent"), "{out}");
    assert!(out.contains("host6 sits under 0000:01:00.0"), "{out}");
    let (code, v) = json(&[
        "resolve",
        "--format=json",
        "--sysfs-root=fixtures/sysfs/q35",
        "fixtures/resolve/q35-root-port.xml",
    ]);
    assert_eq!(code, 1);
    assert_eq!(schema_errors(&v), Vec::<String>::new());
    assert_eq!(v["rows"][0]["status"], "error");
    assert_eq!(v["unresolved"], 1);
}

#[test]
fn resolve_of_an_fc_pool_lists_the_vhbas_lus() {
    let (code, v) = json(&[
        "resolve",
        "--format",
        "json",
        "--sysfs-root",
        "fixtures/sysfs/fc",
        "fixtures/resolve/fc-pool.xml",
    ]);
    assert_eq!(code, 0);
    assert_eq!(schema_errors(&v), Vec::<String>::new());
    assert_eq!(v["rows"][0]["host"], 7);
    assert_eq!(
        v["rows"][0]["identity"]["value"],
        "naa.600a0b80001f2a3b0000c1d2e3f40001"
    );
}

#[test]
fn resolve_without_the_sg_driver_says_modprobe_sg() {
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/no-sg",
        "fixtures/resolve/no-sg.xml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("run `modprobe sg`"), "{}", stdout(&o));
}

#[test]
fn resolve_exits_2_for_a_missing_sysfs_root_or_file() {
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/none",
        "fixtures/resolve/no-sg.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fixtures/sysfs/none"));
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        "fixtures/resolve/nope.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = domxml(&["resolve", "--format", "yaml", "fixtures/resolve/no-sg.xml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn resolve_reports_hostile_tree_entries_as_warnings_and_still_resolves() {
    let o = domxml(&[
        "resolve",
        "--sysfs-root",
        "fixtures/sysfs/hostile",
        "fixtures/resolve/no-sg.xml",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("host0  0:0:0:0  /dev/sg0  /dev/sda"), "{out}");
    assert!(
        out.contains("warning: ") && out.contains("leads outside the sysfs root"),
        "{out}"
    );
}

#[test]
fn snapshot_then_resolve_gives_the_same_rows_as_the_original_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("snap");
    let snap_s = snap.to_str().unwrap();
    let o = domxml(&["sysfs-snapshot", "--root", "fixtures/sysfs/q35", snap_s]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).starts_with("recorded 10 SCSI hosts and 9 LUs"),
        "{}",
        stdout(&o)
    );
    let args = |root: &str| {
        json(&[
            "resolve",
            "--format",
            "json",
            "--sysfs-root",
            root,
            "fixtures/resolve/q35-every-form.xml",
        ])
    };
    let (c1, a) = args("fixtures/sysfs/q35");
    let (c2, b) = args(snap_s);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(a["rows"], b["rows"]);
    let o = domxml(&["sysfs-snapshot", "--root", "fixtures/sysfs/q35", snap_s]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a second snapshot into a full directory must fail"
    );
}

#[test]
fn schema_rejects_a_report_with_an_unknown_status() {
    let (_, mut v) = json(&[
        "resolve",
        "--format",
        "json",
        "--sysfs-root",
        "fixtures/sysfs/fc",
        "fixtures/resolve/fc-pool.xml",
    ]);
    v["rows"][0]["status"] = serde_json::json!("fine");
    assert_eq!(schema_errors(&v).len(), 1, "{:?}", schema_errors(&v));
}

#[test]
fn validate_with_a_sysfs_root_passes_a_domain_on_the_host_it_was_written_for() {
    let o = domxml(&[
        "validate",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        "fixtures/resolve/q35-every-form.xml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn validate_with_a_sysfs_root_locates_every_device_another_host_lacks() {
    // The q35 domain against the pc capture: host6 and host9 do not exist there, the q35
    // PCI functions have no hosts, and host3 is a different card without LU 3:2:1:0.
    let (code, v) = json(&[
        "validate",
        "--format",
        "json",
        "--sysfs-root",
        "fixtures/sysfs/pc-i440fx",
        "fixtures/resolve/q35-every-form.xml",
    ]);
    assert_eq!(code, 1);
    let got: Vec<(String, u64, u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let e092 = |line, path: &str| ("E092".to_string(), line, 5, path.to_string());
    assert_eq!(
        got,
        [
            e092(10, "/domain/devices/hostdev[1]"),
            e092(18, "/domain/devices/hostdev[2]"),
            e092(26, "/domain/devices/hostdev[3]"),
            e092(38, "/domain/devices/hostdev[4]"),
            e092(52, "/domain/devices/controller[2]"),
        ]
    );
    assert!(v[0]["message"].as_str().unwrap().contains("no SCSI host 6"));
}

#[test]
fn validate_with_a_sysfs_root_reports_document_errors_alone_when_there_are_some() {
    // An invalid document is not resolved: its own errors come first, without E092 echoes.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.xml");
    std::fs::write(
        &f,
        "<domain type='qemu'><name>b</name><devices>\
         <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host42'/></source></hostdev>\
         </devices></domain>",
    )
    .unwrap();
    let (code, v) = json(&[
        "validate",
        "--format",
        "json",
        "--sysfs-root",
        "fixtures/sysfs/q35",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(!codes.is_empty());
    assert!(!codes.contains(&"E092"), "{codes:?}");
}

#[test]
fn validate_with_a_missing_sysfs_root_is_a_usage_error() {
    let o = domxml(&[
        "validate",
        "--sysfs-root",
        "/nonexistent/domxml",
        "fixtures/resolve/q35-every-form.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/domxml"));
}

#[test]
fn whole_host_lus_that_cannot_keep_their_address_are_errors_in_resolve_and_validate() {
    // multi-bus: host0 has 0:0:1:0 and 0:2:1:0 (one guest channel: both would be 1:0); host1
    // has target 300 and LUN 49152, beyond virtio-scsi.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mb.xml");
    std::fs::write(
        &f,
        "<domain type='qemu'><name>mb</name><devices>\
         <controller type='scsi' index='0' model='virtio-scsi'><source><adapter parent='pci_0000_00_06_0'/></source></controller>\
         <controller type='scsi' index='1' model='virtio-scsi'><source><adapter name='scsi_host1'/></source></controller>\
         </devices></domain>",
    )
    .unwrap();
    let f = f.to_str().unwrap();
    let root = "fixtures/sysfs/multi-bus";
    let (code, v) = json(&["resolve", "--format", "json", "--sysfs-root", root, f]);
    assert_eq!(code, 1);
    let rows: Vec<(&str, &str)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["hctl"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("0:0:1:0", "ok"),
            ("0:2:1:0", "error"),
            ("0:2:3:0", "ok"),
            ("1:0:5:49152", "error"),
            ("1:0:300:0", "error"),
        ]
    );
    assert!(schema_errors(&v).is_empty());
    let (code, v) = json(&["validate", "--format", "json", "--sysfs-root", root, f]);
    assert_eq!(code, 1);
    let e092: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E092")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(e092.len(), 3, "{e092:?}");
    assert!(e092[0].contains("host LU 0:0:1:0 already takes guest target 1 lun 0"));
}
