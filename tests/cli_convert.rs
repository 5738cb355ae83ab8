//! The `convert` and `snapshot` subcommands as a user runs them: exit codes, messages, files.

#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};

fn domxml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .output()
        .expect("run domxml")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/domains")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn convert_prints_the_shell_layout_and_exits_0() {
    let o = domxml(&["convert", &fixture("scsi-controller-models.xml")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with(
        "/usr/bin/qemu-system-x86_64 \\\n-name guest=scsi-controller-models,debug-threads=on \\\n"
    ));
    assert!(out.contains("-device '{\"driver\":\"dc390\",\"id\":\"scsi8\""));
}

#[test]
fn convert_argv_json_is_a_json_array() {
    let o = domxml(&[
        "convert",
        "--format",
        "argv-json",
        &fixture("boot-disks.xml"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0], "/usr/bin/qemu-system-x86_64");
    assert!(v.iter().any(|a| a == "-nodefaults"));
}

#[test]
fn convert_of_an_invalid_domain_exits_1_with_the_diagnostic() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("bad.xml");
    std::fs::write(
        &f,
        "<domain type='qemu'><name>b</name><devices>\
         <controller type='scsi' index='0' model='lsilogic'/>\
         <disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/>\
         <address type='drive' controller='0' bus='0' target='1' unit='0'/></disk>\
         </devices></domain>",
    )
    .unwrap();
    let o = domxml(&["convert", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("target must be 0"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn convert_of_a_missing_file_exits_2() {
    let o = domxml(&["convert", "/nonexistent/domain.xml"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A minimal sysfs of the shape the kernel gives: host `hostN` in `class/scsi_host`, and each
/// LU in `bus/scsi/devices` with its `scsi_generic/sgN`.
fn fake_sysfs(root: &std::path::Path, host: u32, lus: &[(&str, &str)]) {
    std::fs::create_dir_all(root.join(format!("sys/class/scsi_host/host{host}"))).unwrap();
    std::fs::create_dir_all(root.join("sys/class/scsi_generic")).unwrap();
    for (hbtl, sg) in lus {
        std::fs::create_dir_all(
            root.join(format!("sys/bus/scsi/devices/{hbtl}/scsi_generic/{sg}")),
        )
        .unwrap();
    }
}

#[test]
fn unresolvable_hostdev_exits_1_naming_the_device_and_the_sysfs_path() {
    let t = tempfile::tempdir().unwrap();
    fake_sysfs(t.path(), 2, &[("2:0:0:0", "sg4")]);
    let o = domxml(&[
        "convert",
        "--sysfs-root",
        t.path().to_str().unwrap(),
        &fixture("hostdev-passthrough.xml"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("/domain/devices/hostdev[1]"), "{e}");
    assert!(e.contains("sys/bus/scsi/devices/2:0:3:1"), "{e}");
    assert!(
        e.contains("2:0:0:0"),
        "the LUs that do exist are named: {e}"
    );
}

#[test]
fn hostdevs_resolve_through_the_given_sysfs_root() {
    let t = tempfile::tempdir().unwrap();
    fake_sysfs(t.path(), 2, &[("2:0:3:1", "sg7"), ("2:0:3:2", "sg8")]);
    let o = domxml(&[
        "convert",
        "--sysfs-root",
        t.path().to_str().unwrap(),
        &fixture("hostdev-passthrough.xml"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains(r#""filename":"/dev/sg7","node-name":"libvirt-2-backend""#),
        "{out}"
    );
    assert!(
        out.contains(r#""filename":"/dev/sg8","node-name":"libvirt-3-backend""#),
        "{out}"
    );
}

#[test]
fn secrets_are_files_and_check_secrets_names_the_missing_one() {
    let t = tempfile::tempdir().unwrap();
    fake_sysfs(t.path(), 2, &[("2:0:3:1", "sg1"), ("2:0:3:2", "sg2")]);
    let secrets = t.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let base = [
        "convert",
        "--sysfs-root",
        t.path().to_str().unwrap(),
        "--secrets-dir",
        secrets.to_str().unwrap(),
        "--check-secrets",
    ];
    let o = domxml(&[&base[..], &[&fixture("hostdev-passthrough.xml")]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("store-chap"), "{}", stderr(&o));
    std::fs::write(secrets.join("store-chap"), "s3cret-value").unwrap();
    let o = domxml(&[&base[..], &[&fixture("hostdev-passthrough.xml")]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains(&format!(
        r#""file":"{}""#,
        secrets.join("store-chap").display()
    )));
    assert!(!out.contains("s3cret-value"));
}

#[test]
fn virtio_lun_is_refused_from_qemu_9_1_with_libvirts_message() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("v.xml");
    std::fs::write(
        &f,
        "<domain type='qemu'><name>v</name><memory>131072</memory><devices>\
         <disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='vda' bus='virtio'/></disk>\
         </devices></domain>",
    )
    .unwrap();
    let ok = domxml(&["convert", "--qemu-version", "9.0", f.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains(r#""scsi":true"#));
    let refused = domxml(&["convert", "--qemu-version", "9.1", f.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused)
        .contains("This QEMU doesn't support SCSI emulation with 'virtio-blk' device"));
}

#[test]
fn bad_qemu_version_is_a_usage_error() {
    let o = domxml(&[
        "convert",
        "--qemu-version",
        "latest",
        &fixture("boot-disks.xml"),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn snapshot_update_then_check_then_drift_and_missing() {
    let t = tempfile::tempdir().unwrap();
    for name in ["boot-disks.xml", "implicit-controllers.xml"] {
        std::fs::copy(fixture(name), t.path().join(name)).unwrap();
    }
    let dir = t.path().to_str().unwrap();
    let o = domxml(&["snapshot", dir]);
    assert_eq!(o.status.code(), Some(1), "missing snapshots must fail");
    assert!(String::from_utf8_lossy(&o.stdout).contains("missing snapshot"));

    let o = domxml(&["snapshot", "--update", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(t.path().join("boot-disks.args").is_file());

    let o = domxml(&["snapshot", dir]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let args = t.path().join("implicit-controllers.args");
    let old = std::fs::read_to_string(&args).unwrap();
    std::fs::write(&args, old.replace("\"lsi\"", "\"megasas\"")).unwrap();
    let o = domxml(&["snapshot", dir]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("-device '{\"driver\":\"megasas\""), "{out}");
    assert!(out.contains("+-device '{\"driver\":\"lsi\""), "{out}");
}

#[test]
fn snapshot_with_another_qemu_version_drifts() {
    let t = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("boot-disks.xml"), t.path().join("boot-disks.xml")).unwrap();
    let dir = t.path().to_str().unwrap();
    assert_eq!(
        domxml(&["snapshot", "--update", dir]).status.code(),
        Some(0)
    );
    let o = domxml(&["snapshot", "--qemu-version", "4.0", dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("+-drive file="));
}

#[test]
fn convert_resolves_every_hostdev_adapter_form_through_sysfs() {
    // The q35 capture's own answers: hostdev[1..4] are 6:0:0:0 (sg1), 6:0:3:5 (sg2, by the flat
    // form behind the root port), 2:0:0:0 (sg0, by parentaddr) and 8:2:1:0 (sg4, flat form
    // without unique_id).
    let root = env!("CARGO_MANIFEST_DIR");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(["convert", "--format", "argv-json", "--sysfs-root"])
        .arg(format!("{root}/fixtures/sysfs/q35"))
        .arg(format!("{root}/fixtures/resolve/q35-hostdevs.xml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let argv: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    let sgs: Vec<String> = argv
        .iter()
        .filter(|a| a.contains("\"host_device\"") && a.contains("-backend"))
        .map(|a| {
            serde_json::from_str::<serde_json::Value>(a).unwrap()["filename"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sgs, ["/dev/sg1", "/dev/sg2", "/dev/sg0", "/dev/sg4"]);
}

#[test]
fn convert_passes_every_lu_of_a_whole_host_controller_at_its_host_target_and_lun() {
    // q35 capture: scsi_debug's host9 has target 1 with LUs 9:0:1:0 (sdh) and 9:0:1:1 (sdi).
    let root = env!("CARGO_MANIFEST_DIR");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(["convert", "--format", "argv-json", "--sysfs-root"])
        .arg(format!("{root}/fixtures/sysfs/q35"))
        .arg(format!("{root}/fixtures/resolve/q35-every-form.xml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let argv: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    let tail: Vec<&str> = argv
        .windows(2)
        .filter(|w| (w[0] == "-blockdev" || w[0] == "-device") && w[1].contains("lu-1-"))
        .map(|w| w[1].as_str())
        .collect();
    assert_eq!(
        tail,
        [
            r#"{"driver":"host_device","filename":"/dev/sdh","node-name":"lu-1-1-0","read-only":false}"#,
            r#"{"driver":"scsi-block","drive":"lu-1-1-0","id":"scsi1-0-1-0","bus":"scsi1.0","channel":0,"scsi-id":1,"lun":0}"#,
            r#"{"driver":"host_device","filename":"/dev/sdi","node-name":"lu-1-1-1","read-only":false}"#,
            r#"{"driver":"scsi-block","drive":"lu-1-1-1","id":"scsi1-0-1-1","bus":"scsi1.0","channel":0,"scsi-id":1,"lun":1}"#,
        ]
    );
}

#[test]
fn an_unusable_sysfs_root_exits_2_like_validate_and_resolve_but_only_when_needed() {
    let t = tempfile::tempdir().unwrap();
    let nowhere = t.path().join("no-such-root");
    let nowhere = nowhere.to_str().unwrap();
    // A domain with SCSI hostdevs needs the host: the root's problem is an I/O error.
    let o = domxml(&[
        "convert",
        "--sysfs-root",
        nowhere,
        &fixture("hostdev-passthrough.xml"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-root"), "{}", stderr(&o));
    // One without them never reads it.
    let o = domxml(&[
        "convert",
        "--sysfs-root",
        nowhere,
        &fixture("boot-disks.xml"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn convert_prints_what_the_host_reads_skipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sysfs/hostile");
    let t = tempfile::tempdir().unwrap();
    let convert = |adapter: &str| {
        let xml = t.path().join("d.xml");
        std::fs::write(
            &xml,
            format!(
                "<domain type='qemu'><name>h</name><devices><hostdev mode='subsystem' type='scsi'>\
                 <source>{adapter}<address bus='0' target='0' unit='0'/></source>\
                 </hostdev></devices></domain>"
            ),
        )
        .unwrap();
        domxml(&[
            "convert",
            "--sysfs-root",
            root.to_str().unwrap(),
            xml.to_str().unwrap(),
        ])
    };
    // Naming the host by PCI parent follows every class entry, the loop among them.
    let o = convert("<adapter parent='pci_0000_00_05_0' unique_id='0'/>");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("domxml: warning:") && stderr(&o).contains("too many symlinks"),
        "{}",
        stderr(&o)
    );
    // Naming it by number reads host0 and its LU only: the broken entries beside it are
    // never read, so nothing is said about them.
    let o = convert("<adapter name='scsi_host0'/>");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
