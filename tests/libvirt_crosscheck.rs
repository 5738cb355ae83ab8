//! Cross-check with libvirt where libvirt is right: its hostdev sg lookup
//! (`virSCSIDeviceGetSgName`, first entry of `H:B:T:U/scsi_generic`) run over a fixture
//! bind-mounted on /sys in a private mount namespace must name the same `/dev/sgN` as domxml,
//! for every LU of every real capture.
//!
//! Needs root (for `unshare -m`), `virsh` with the QEMU driver and `qemu-system-x86_64`; it is
//! `#[ignore]`d and skips with a message when any of them is missing. libvirt's pool
//! resolution (the substring match, which domxml fixes) needs the storage driver, which is not
//! checked here.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// `H:B:T:L` of every LU in a capture's `truth.txt`, in file order (sorted by the guest's shell).
fn lus(tree: &Path) -> Vec<(u32, u32, u32, u64)> {
    let text = std::fs::read_to_string(tree.join("truth.txt")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("--- /sys/bus/scsi/devices/"))
        .map(|rest| {
            let f: Vec<&str> = rest.split(' ').next().unwrap().split(':').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

fn domain(lus: &[(u32, u32, u32, u64)]) -> String {
    let mut xml = String::from(
        "<domain type='qemu'><name>crosscheck</name><memory unit='KiB'>65536</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <emulator>/usr/bin/qemu-system-x86_64</emulator>\
         <controller type='scsi' index='0' model='virtio-scsi'/>",
    );
    for (i, (h, b, t, l)) in lus.iter().enumerate() {
        xml.push_str(&format!(
            "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{h}'/>\
             <address bus='{b}' target='{t}' unit='{l}'/></source>\
             <address type='drive' controller='0' bus='0' target='{i}' unit='0'/></hostdev>"
        ));
    }
    xml + "</devices></domain>"
}

/// The `/dev/sgN` of every hostdev, in order, as libvirt's command line has them.
fn libvirt_sgs(tree: &Path, dom: &Path, embed: &Path) -> Result<Vec<String>, String> {
    let sys = tree.join("sys");
    let script = format!(
        "set -e; for d in bus devices class; do mount --bind '{}/'$d /sys/$d; done; \
         virsh -c 'qemu:///embed?root={}' domxml-to-native qemu-argv '{}'",
        sys.display(),
        embed.display(),
        dom.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split("\"filename\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|f| f.starts_with("/dev/sg"))
        .map(str::to_string)
        .collect())
}

#[test]
#[ignore = "needs root, virsh (QEMU driver) and unshare; run with --ignored"]
fn libvirt_hostdev_sg_lookup_agrees_with_domxml_on_every_real_capture() {
    let missing: Vec<&str> = ["virsh", "unshare", "qemu-system-x86_64"]
        .into_iter()
        .filter(|c| !have(c))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "libvirt cross-check skipped: {} not installed",
            missing.join(", ")
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let embed = tmp.path().join("embed");
    std::fs::create_dir_all(embed.join("etc")).unwrap();
    std::fs::write(
        embed.join("etc/qemu.conf"),
        "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n",
    )
    .unwrap();
    for name in ["q35", "pc-i440fx", "pc-bridge"] {
        let tree = repo("fixtures/sysfs").join(name);
        let lus = lus(&tree);
        let dom = tmp.path().join(format!("{name}.xml"));
        std::fs::write(&dom, domain(&lus)).unwrap();
        let theirs = match libvirt_sgs(&tree, &dom, &embed) {
            Ok(v) => v,
            Err(e) if e.contains("Operation not permitted") || e.contains("unshare failed") => {
                eprintln!("libvirt cross-check skipped: cannot make a mount namespace: {e}");
                return;
            }
            Err(e) => panic!("{name}: virsh failed: {e}"),
        };
        let out = Command::new(env!("CARGO_BIN_EXE_domxml"))
            .args(["resolve", "--format", "json", "--sysfs-root"])
            .arg(&tree)
            .arg(&dom)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours: Vec<String> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["sg"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(ours.len(), lus.len(), "{name}");
        assert_eq!(ours, theirs, "{name}: domxml vs libvirt");
        eprintln!("{name}: libvirt and domxml agree on {} LUs", ours.len());
    }
}
