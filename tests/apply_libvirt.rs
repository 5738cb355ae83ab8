//! `domxml apply` against real libvirt with no daemon: the embedded QEMU driver
//! (`qemu:///embed?root=DIR`) defines and starts TCG domains, and the applier's changes are
//! checked in libvirt's XML and in QEMU itself (QMP through `virsh qemu-monitor-command`).
//!
//! Each test has its own embedded root, and every libvirt call runs in a child process (the
//! `domxml` binary or `virsh`): one process can host only one embedded root. Missing tools
//! skip a test, or fail it when `DOMXML_REQUIRE_REAL` is set (scripts/test.sh sets it once it
//! has installed them).

mod common;
use common::{missing_tool, skipped};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// Destroys the named domains when dropped, so a failing test leaves no QEMU running. Declare
/// it after the temporary directory: it must go first.
struct Destroy(Vec<(String, &'static str)>);

impl Drop for Destroy {
    fn drop(&mut self) {
        for (uri, dom) in &self.0 {
            let _ = virsh(uri, &["destroy", dom]);
        }
    }
}

/// A fresh embedded root (its URI), or `None` after reporting why not.
fn embedded_root(dir: &Path) -> Option<String> {
    if let Some(t) = missing_tool(&["virsh", "qemu-system-x86_64"]) {
        skipped(&format!(
            "{t} is not installed (apt-get install libvirt-clients qemu-system-x86)"
        ));
        return None;
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so")
        .exists()
    {
        skipped(
            "libvirt's QEMU driver is not installed (apt-get install libvirt-daemon-driver-qemu)",
        );
        return None;
    }
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/qemu.conf"),
        "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n",
    )
    .unwrap();
    Some(format!("qemu:///embed?root={}", root.display()))
}

fn domxml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn virsh(uri: &str, args: &[&str]) -> Output {
    Command::new("virsh")
        .env("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null")
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .unwrap()
}

fn qmp(uri: &str, dom: &str, cmd: &str) -> Value {
    let o = virsh(uri, &["qemu-monitor-command", dom, cmd]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    serde_json::from_slice::<Value>(&o.stdout).unwrap()["return"].clone()
}

/// QEMU's devices under /machine/peripheral (name → type).
fn peripherals(uri: &str, dom: &str) -> BTreeMap<String, String> {
    let v = qmp(
        uri,
        dom,
        r#"{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}"#,
    );
    v.as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"].as_str().is_some_and(|t| t.starts_with("child<")))
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["type"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("child<")
                    .trim_end_matches('>')
                    .to_string(),
            )
        })
        .collect()
}

/// QEMU's block devices: device id → (image, read-only).
fn blocks(uri: &str, dom: &str) -> BTreeMap<String, (String, bool)> {
    let v = qmp(uri, dom, r#"{"execute":"query-block"}"#);
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            Some((
                b["qdev"].as_str()?.to_string(),
                (
                    b["inserted"]["file"].as_str()?.to_string(),
                    b["inserted"]["ro"].as_bool().unwrap_or(false),
                ),
            ))
        })
        .collect()
}

fn images(dir: &Path, names: &[&str]) {
    for n in names {
        let f = std::fs::File::create(dir.join(n)).unwrap();
        f.set_len(8 << 20).unwrap();
    }
}

fn disk(dir: &Path, file: &str, dev: &str, unit: Option<(u32, u32)>, extra: &str) -> String {
    let addr = unit.map_or(String::new(), |(c, u)| {
        format!("<address type='drive' controller='{c}' bus='0' target='0' unit='{u}'/>")
    });
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}/{file}'/><target dev='{dev}' bus='scsi'/>{extra}{addr}</disk>",
        dir.display()
    )
}

fn cdrom(dir: &Path, file: &str, dev: &str) -> String {
    format!(
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}/{file}'/><target dev='{dev}' bus='scsi'/><readonly/></disk>",
        dir.display()
    )
}

fn domain(name: &str, devices: &[String]) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>\
         <devices>{}</devices></domain>",
        devices.join("")
    )
}

fn write(dir: &Path, name: &str, xml: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, xml).unwrap();
    p
}

/// Errors of a value against schemas/apply-report.schema.json (which refers to the plan's).
fn report_schema_errors(v: &Value) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let load = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(n)).unwrap()).unwrap()
    };
    let validator = jsonschema::options()
        .with_resource(
            "https://domxml.invalid/schemas/plan.schema.json",
            jsonschema::Resource::from_contents(load("plan.schema.json")).unwrap(),
        )
        .build(&load("apply-report.schema.json"))
        .unwrap();
    validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn embedded_libvirt_apply_adds_removes_moves_and_changes_scsi_disks_live_and_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(uri) = embedded_root(dir) else {
        return;
    };
    let _destroy = Destroy(vec![(uri.clone(), "apply1")]);
    images(
        dir,
        &[
            "a.img", "b.img", "d.img", "e.img", "f.img", "g.img", "m1.iso", "m2.iso",
        ],
    );
    let ctrl0 = "<controller type='scsi' index='0' model='virtio-scsi'/>".to_string();
    let v1 = write(
        dir,
        "v1.xml",
        &domain(
            "apply1",
            &[
                ctrl0.clone(),
                disk(dir, "a.img", "sda", None, ""),
                disk(dir, "b.img", "sdb", Some((0, 1)), ""),
                cdrom(dir, "m1.iso", "sdc"),
                disk(dir, "d.img", "sdd", Some((0, 3)), ""),
            ],
        ),
    );
    // Changed: sda read-only (detach and attach again), sdb moved to unit 5, the cdrom's
    // medium swapped (in place), sdd gone and sde at its address, a second controller with
    // sdf on it.
    let v2 = write(
        dir,
        "v2.xml",
        &domain(
            "apply1",
            &[
                ctrl0.clone(),
                "<controller type='scsi' index='1' model='virtio-scsi'/>".into(),
                disk(dir, "a.img", "sda", None, "<readonly/>"),
                disk(dir, "b.img", "sdb", Some((0, 5)), ""),
                cdrom(dir, "m2.iso", "sdc"),
                disk(dir, "e.img", "sde", Some((0, 3)), ""),
                disk(dir, "f.img", "sdf", Some((1, 0)), ""),
            ],
        ),
    );

    let t = Instant::now();
    let o = domxml(&["apply", "--connect", &uri, "--start", "--yes", s(&v1)]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    assert!(text(&o).contains("virDomainDefineXML"), "{}", text(&o));
    let define_s = t.elapsed().as_secs_f64();
    assert_eq!(
        peripherals(&uri, "apply1")
            .keys()
            .filter(|k| k.starts_with("scsi"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "scsi0",
            "scsi0-0-0-0",
            "scsi0-0-0-1",
            "scsi0-0-0-2",
            "scsi0-0-0-3"
        ]
    );

    let t = Instant::now();
    let o = domxml(&["apply", "--connect", &uri, "--yes", s(&v2)]);
    let apply_s = t.elapsed().as_secs_f64();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "-/+ disk sda",
        "-/+ disk sdb",
        "~   disk sdc",
        "-   disk sdd",
        "+   disk sde",
        "+   controller scsi[1]",
        "+   disk sdf",
        "Apply complete",
    ] {
        assert!(out.contains(line), "{line} missing in\n{out}");
    }

    // QEMU has exactly the desired devices, each on its image.
    let p = peripherals(&uri, "apply1");
    let scsi: BTreeMap<&str, &str> = p
        .iter()
        .filter(|(k, _)| k.starts_with("scsi"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        scsi,
        BTreeMap::from([
            ("scsi0", "virtio-scsi-pci"),
            ("scsi1", "virtio-scsi-pci"),
            ("scsi0-0-0-0", "scsi-hd"),
            ("scsi0-0-0-2", "scsi-cd"),
            ("scsi0-0-0-3", "scsi-hd"),
            ("scsi0-0-0-5", "scsi-hd"),
            ("scsi1-0-0-0", "scsi-hd"),
        ])
    );
    let b = blocks(&uri, "apply1");
    let img = |n: &str| dir.join(n).display().to_string();
    assert_eq!(
        b,
        BTreeMap::from([
            ("scsi0-0-0-0".to_string(), (img("a.img"), true)),
            ("scsi0-0-0-2".to_string(), (img("m2.iso"), true)),
            ("scsi0-0-0-3".to_string(), (img("e.img"), false)),
            ("scsi0-0-0-5".to_string(), (img("b.img"), false)),
            ("scsi1-0-0-0".to_string(), (img("f.img"), false)),
        ])
    );
    // So do the live and the persistent XML: a second apply has nothing to do.
    let t = Instant::now();
    let o = domxml(&["apply", "--connect", &uri, "--yes", s(&v2)]);
    let noop_s = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // A quick run ends while the embedded driver may still be reconnecting to the running
    // domain; it must wait for that, not die at exit (SIGSEGV in about one run of six,
    // before the wait). Several short runs in a row make a regression show.
    for i in 0..24 {
        let o = domxml(&["plan", "--connect", &uri, s(&v2)]);
        assert!(
            o.status.success() && text(&o).contains("No changes."),
            "run {i}: {:?}\n{}",
            o.status,
            text(&o)
        );
    }
    // Without --connect: LIBVIRT_DEFAULT_URI.
    let o = Command::new(env!("CARGO_BIN_EXE_domxml"))
        .env("LIBVIRT_DEFAULT_URI", &uri)
        .args(["plan", s(&v2)])
        .output()
        .unwrap();
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // A connection that cannot open: libvirt's reason, exit 2.
    let o = domxml(&["apply", "--connect", "qemu:///embed", "--yes", s(&v2)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("cannot connect to libvirt at 'qemu:///embed'"),
        "{}",
        text(&o)
    );
    let inactive =
        String::from_utf8_lossy(&virsh(&uri, &["dumpxml", "--inactive", "apply1"]).stdout)
            .into_owned();
    assert!(
        !inactive.contains("d.img") && inactive.contains("f.img"),
        "{inactive}"
    );

    // --config only: the persistent definition gets sdg, the running domain does not.
    let v3 = write(
        dir,
        "v3.xml",
        &std::fs::read_to_string(&v2).unwrap().replace(
            "</devices>",
            &format!("{}</devices>", disk(dir, "g.img", "sdg", Some((1, 1)), "")),
        ),
    );
    let o = domxml(&["apply", "--connect", &uri, "--config", "--yes", s(&v3)]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    assert!(
        text(&o).contains("virDomainAttachDeviceFlags(CONFIG)  disk sdg"),
        "{}",
        text(&o)
    );
    assert!(!peripherals(&uri, "apply1").contains_key("scsi1-0-0-1"));
    let o = domxml(&["plan", "--connect", &uri, "--live", s(&v3)]);
    assert!(
        text(&o).contains("+   disk sdg  (attach; live)"),
        "{}",
        text(&o)
    );
    let o = domxml(&["plan", "--connect", &uri, "--config", s(&v3)]);
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // The JSON plan follows its schema.
    let o = domxml(&["plan", "--connect", &uri, "--format", "json", s(&v1)]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&v), "{v:#}");
    println!(
        "embedded libvirt: define+start {define_s:.2}s, apply of 7 changes {apply_s:.2}s, no-op apply {noop_s:.2}s"
    );
    // On a terminal, apply shows the plan and asks; anything but "yes" changes nothing.
    // (The change is a medium swap: a PCI controller's live unplug would need a guest OS to
    // acknowledge it, which this domain has not.)
    let v4 = write(
        dir,
        "v4.xml",
        &std::fs::read_to_string(&v3)
            .unwrap()
            .replace("m2.iso", "m1.iso"),
    );
    if missing_tool(&["script"]).is_none() {
        let before = blocks(&uri, "apply1");
        for answer in ["no", "yes"] {
            let cmd = format!(
                "{} apply --connect '{uri}' {}",
                env!("CARGO_BIN_EXE_domxml"),
                s(&v4)
            );
            let mut child = Command::new("script")
                .args(["-qec", &cmd, "/dev/null"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            writeln!(child.stdin.take().unwrap(), "{answer}").unwrap();
            let o = child.wait_with_output().unwrap();
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            assert!(
                out.contains("Apply these changes? Only 'yes' is accepted"),
                "{out}"
            );
            if answer == "no" {
                assert!(out.contains("nothing was changed"), "{out}");
                assert_eq!(blocks(&uri, "apply1"), before);
            } else {
                assert!(out.contains("Apply complete"), "{out}");
                assert_eq!(blocks(&uri, "apply1")["scsi0-0-0-2"].0, img("m1.iso"));
            }
        }
    } else {
        skipped("script (util-linux) is not installed: the terminal prompt is not checked");
    }
}

/// A hostdev named by the flat parent/unique_id adapter: libvirt alone refuses it; resolved
/// against the q35 capture it becomes `scsi_host6`, is attached to the persistent
/// definition, recorded in the metadata, and plans nothing the next time.
#[test]
fn flat_adapter_hostdev_is_resolved_for_libvirt_which_refuses_it_unresolved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(uri) = embedded_root(dir) else {
        return;
    };
    let sysfs = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sysfs/q35");
    let hostdev = "<hostdev mode='subsystem' type='scsi'><source>\
        <adapter parent='pci_0000_01_00_0' unique_id='0'/><address bus='0' target='3' unit='5'/>\
        </source></hostdev>";
    let ctrl = "<controller type='scsi' index='0' model='virtio-scsi'/>".to_string();
    let base = write(dir, "base.xml", &domain("hd1", std::slice::from_ref(&ctrl)));
    let want = write(
        dir,
        "want.xml",
        &domain("hd1", &[ctrl.clone(), hostdev.into()]),
    );
    let raw = write(dir, "raw.xml", &domain("hd2", &[ctrl, hostdev.into()]));

    // libvirt alone: refused.
    let o = virsh(&uri, &["define", s(&raw)]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("'adapter' name must be specified for scsi hostdev source"),
        "{}",
        text(&o)
    );

    let o = domxml(&["apply", "--connect", &uri, "--yes", s(&base)]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    let t = Instant::now();
    let o = domxml(&[
        "apply",
        "--connect",
        &uri,
        "--config",
        "--yes",
        "--sysfs-root",
        s(&sysfs),
        s(&want),
    ]);
    let attach_s = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    assert!(
        text(&o).contains("+   hostdev scsi (pci_0000_01_00_0/0 0:3:5)"),
        "{}",
        text(&o)
    );
    let xml = String::from_utf8_lossy(&virsh(&uri, &["dumpxml", "--inactive", "hd1"]).stdout)
        .into_owned();
    assert!(xml.contains("<adapter name='scsi_host6'/>"), "{xml}");
    assert!(xml.contains("https://domxml.invalid/ns/apply/1"), "{xml}");
    assert!(
        xml.contains("identity=\"pci_0000_01_00_0/0 0:3:5\"")
            || xml.contains("identity='pci_0000_01_00_0/0 0:3:5'"),
        "{xml}"
    );
    // Next time it is the same device: nothing to do.
    let o = domxml(&[
        "plan",
        "--connect",
        &uri,
        "--sysfs-root",
        s(&sysfs),
        s(&want),
    ]);
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // After a reboot that numbers the same host 16: exactly the re-attach, then nothing.
    let renumbered = dir.join("renumbered");
    common::renumbered_copy(&sysfs, &renumbered, 6, 16);
    let o = domxml(&[
        "plan",
        "--connect",
        &uri,
        "--sysfs-root",
        s(&renumbered),
        s(&want),
    ]);
    let out = text(&o);
    assert!(
        out.contains("-/+ hostdev scsi (pci_0000_01_00_0/0 0:3:5)  (detach and attach again; config)\n        source/adapter/@name: 'scsi_host6' → 'scsi_host16'\n"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to attach, 0 to detach, 0 to update in place, 1 to replace."),
        "{out}"
    );
    let o = domxml(&[
        "apply",
        "--connect",
        &uri,
        "--yes",
        "--sysfs-root",
        s(&renumbered),
        s(&want),
    ]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    let xml = String::from_utf8_lossy(&virsh(&uri, &["dumpxml", "--inactive", "hd1"]).stdout)
        .into_owned();
    assert!(
        xml.contains("<adapter name='scsi_host16'/>") && !xml.contains("scsi_host6'"),
        "{xml}"
    );
    let o = domxml(&[
        "plan",
        "--connect",
        &uri,
        "--sysfs-root",
        s(&renumbered),
        s(&want),
    ]);
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // A whole-host controller becomes a controller and one hostdev per LU of the host.
    let whole = write(
        dir,
        "whole.xml",
        &domain(
            "hd1",
            &[
                "<controller type='scsi' index='0' model='virtio-scsi'/>".into(),
                "<controller type='scsi' index='1' model='virtio-scsi'><source>\
                 <adapter name='scsi_host9'/><address type='scsi' bus='0' target='1'/>\
                 </source></controller>"
                    .into(),
            ],
        ),
    );
    let o = domxml(&[
        "apply",
        "--connect",
        &uri,
        "--yes",
        "--sysfs-root",
        s(&sysfs),
        s(&whole),
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "+   controller scsi[1]",
        "+   hostdev scsi (wwid naa.3333333000005208)",
        "+   hostdev scsi (wwid naa.3333333000005209)",
        "-   hostdev scsi (pci_0000_01_00_0/0 0:3:5)",
    ] {
        assert!(out.contains(line), "{line} missing in\n{out}");
    }
    let xml = String::from_utf8_lossy(&virsh(&uri, &["dumpxml", "--inactive", "hd1"]).stdout)
        .into_owned();
    assert_eq!(
        xml.matches("<adapter name='scsi_host9'/>").count(),
        2,
        "{xml}"
    );
    assert!(
        xml.contains("<address type='drive' controller='1' bus='0' target='1' unit='1'/>"),
        "{xml}"
    );
    let o = domxml(&[
        "plan",
        "--connect",
        &uri,
        "--sysfs-root",
        s(&sysfs),
        s(&whole),
    ]);
    assert!(text(&o).contains("No changes."), "{}", text(&o));
    // A new domain with the stable form is defined resolved.
    let o = domxml(&[
        "apply",
        "--connect",
        &uri,
        "--yes",
        "--sysfs-root",
        s(&sysfs),
        s(&raw),
    ]);
    assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    let xml = String::from_utf8_lossy(&virsh(&uri, &["dumpxml", "--inactive", "hd2"]).stdout)
        .into_owned();
    assert!(xml.contains("<adapter name='scsi_host6'/>"), "{xml}");
    // A remote host's stable adapters are not resolved against this machine's sysfs.
    let o = domxml(&[
        "apply",
        "--connect",
        "qemu+ssh://host.invalid/system",
        "--yes",
        s(&want),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("that host's sysfs"), "{}", text(&o));
    // Without a sysfs the stable form cannot be resolved: a clear error, nothing changed.
    let o = domxml(&[
        "apply",
        "--connect",
        &uri,
        "--yes",
        "--sysfs-root",
        s(dir),
        s(&want),
    ]);
    assert!(!o.status.success());
    println!("embedded libvirt: resolved hostdev attached with --config in {attach_s:.2}s");
}

/// Four embedded roots applied at once; one of them cannot start (an image of its persistent
/// definition is missing): the other three converge, and every host is reported.
#[test]
fn fleet_of_four_hosts_one_failing_leaves_the_other_three_converged_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut uris = Vec::new();
    for i in 0..4 {
        let d = dir.join(format!("h{i}"));
        std::fs::create_dir_all(&d).unwrap();
        let Some(uri) = embedded_root(&d) else { return };
        uris.push(uri);
    }
    let _destroy = Destroy(uris.iter().map(|u| (u.clone(), "fleet")).collect());
    images(dir, &["base.img", "data.img", "m1.iso", "m2.iso"]);
    let ctrl = "<controller type='scsi' index='0' model='virtio-scsi'/>".to_string();
    let base = domain(
        "fleet",
        &[
            ctrl.clone(),
            disk(dir, "base.img", "sda", None, "<readonly/>"),
            cdrom(dir, "m1.iso", "sdc"),
        ],
    );
    let basef = write(dir, "base.xml", &base);
    // Host 3 is defined but shut off, with an unmanaged disk whose image is gone.
    let broken = base.replace(
        "</devices>",
        &format!("<disk type='file' device='disk'><source file='{}/missing.img'/><target dev='vda' bus='virtio'/></disk></devices>", dir.display()),
    );
    let brokenf = write(dir, "broken.xml", &broken);
    for (i, uri) in uris.iter().enumerate() {
        let o = if i == 3 {
            domxml(&["apply", "--connect", uri, "--yes", s(&brokenf)])
        } else {
            domxml(&["apply", "--connect", uri, "--start", "--yes", s(&basef)])
        };
        assert!(o.status.success(), "{:?}\n{}", o.status, text(&o));
    }
    let want = write(
        dir,
        "want.xml",
        &domain(
            "fleet",
            &[
                ctrl,
                disk(dir, "base.img", "sda", None, "<readonly/>"),
                disk(dir, "data.img", "sdb", None, "<readonly/>"),
                cdrom(dir, "m2.iso", "sdc"),
            ],
        ),
    );
    let mut args = vec![
        "apply", "--yes", "--start", "--jobs", "4", "--format", "json",
    ];
    for u in &uris {
        args.push("--connect");
        args.push(u);
    }
    args.push(s(&want));
    let t = Instant::now();
    let o = domxml(&args);
    let fleet_s = t.elapsed().as_secs_f64();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let results: Vec<Value> =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(results.len(), 4);
    assert_eq!(
        report_schema_errors(&Value::Array(results.clone())),
        Vec::<String>::new()
    );
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["host"], uris[i].as_str());
        assert_eq!(r["converged"], i != 3, "{r:#}");
    }
    assert!(
        results[3]["error"]
            .as_str()
            .unwrap()
            .contains("missing.img"),
        "{:#}",
        results[3]
    );
    let conv: BTreeSet<usize> = (0..3).collect();
    for i in conv {
        let b = blocks(&uris[i], "fleet");
        let files: BTreeSet<String> = b.values().map(|(f, _)| f.clone()).collect();
        assert_eq!(
            files,
            ["base.img", "data.img", "m2.iso"]
                .iter()
                .map(|n| dir.join(n).display().to_string())
                .collect(),
            "host {i}"
        );
        let o = domxml(&["plan", "--connect", &uris[i], s(&want)]);
        assert!(text(&o).contains("No changes."), "host {i}: {}", text(&o));
    }
    // Again from a hosts file: the three report nothing to do, the fourth fails again.
    let list = write(
        dir,
        "hosts.txt",
        &format!("# fleet\n{}\n\n", uris.join("\n")),
    );
    let o = domxml(&[
        "apply",
        "--hosts",
        s(&list),
        "--yes",
        "--start",
        "--format",
        "json",
        s(&want),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let again: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let done: Vec<&str> = again
        .iter()
        .map(|r| r["done"].as_str().unwrap_or("failed"))
        .collect();
    assert_eq!(done, ["unchanged", "unchanged", "unchanged", "failed"]);
    println!("fleet: 4 embedded hosts applied concurrently in {fleet_s:.2}s (3 converged, 1 reported failing)");
}
