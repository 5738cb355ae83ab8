//! Real QEMU: every runnable fixture's command line is started by `qemu-system-x86_64` under
//! TCG with `-S`, and QMP must show the topology the XML asked for (device ids, SCSI bus,
//! channel, scsi-id, lun; each backend's file). Devices that need real hardware (scsi-generic,
//! scsi-block, vhost-scsi) are checked against `-device NAME,help` instead. Skips when QEMU is
//! not installed.

mod common;
use common::skipped;

use domxml::emit::{Caps, QemuVersion};
use domxml::{convert_bytes, convert_str, Host, Limits, Options};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-system-x86_64";

fn qemu_available() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/domains")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The smallest valid qcow2 v2 image of 16 MiB: header, refcount table and block, empty L1.
/// (qemu-img is not installed on every machine that has QEMU.)
fn write_qcow2(path: &Path) {
    const C: usize = 0x10000;
    let mut img = vec![0u8; 4 * C];
    let put32 = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let put64 = |b: &mut [u8], at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_be_bytes());
    img[0..4].copy_from_slice(b"QFI\xfb");
    put32(&mut img, 4, 2); // version
    put32(&mut img, 20, 16); // cluster_bits
    put64(&mut img, 24, 16 << 20); // size
    put32(&mut img, 36, 1); // l1_size
    put64(&mut img, 40, 3 * C as u64); // l1_table_offset
    put64(&mut img, 48, C as u64); // refcount_table_offset
    put32(&mut img, 56, 1); // refcount_table_clusters
    put64(&mut img, C, 2 * C as u64); // refcount table[0] -> refcount block
    for i in 0..4 {
        img[2 * C + 2 * i + 1] = 1; // refcount 1 for clusters 0..3
    }
    std::fs::write(path, img).unwrap();
}

/// Substitute `@DIR@` and create every disk image the domain names.
fn materialise(xml: &str, dir: &Path) -> String {
    let xml = xml.replace("@DIR@", &dir.to_string_lossy());
    let parsed = domxml::codec::parse_str(&xml).expect("fixture parses");
    let domxml::model::Definition::Domain(d) = parsed.definition else {
        panic!("fixture is a domain")
    };
    for (_, disk) in d.devices.disks() {
        if let Some(f) = disk.source.as_ref().and_then(|s| s.file.as_ref()) {
            if f.ends_with(".qcow2") {
                write_qcow2(Path::new(f));
            } else {
                let file = std::fs::File::create(f).unwrap();
                file.set_len(1 << 20).unwrap();
            }
        }
    }
    xml
}

struct Guest {
    child: Child,
    qmp: BufReader<UnixStream>,
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Guest {
    fn start(argv: &[String], run_dir: &Path) -> Guest {
        let sock = run_dir.join("monitor.sock");
        let mut child = Command::new(QEMU)
            .args(&argv[1..])
            .arg("-S")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qemu");
        let t0 = Instant::now();
        let stream = loop {
            if let Ok(Some(status)) = child.try_wait() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "QEMU exited with {status} before its monitor came up:\n{}\nargv: {argv:?}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            if let Ok(s) = UnixStream::connect(&sock) {
                break s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "QMP socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut g = Guest {
            child,
            qmp: BufReader::new(stream),
        };
        let _greeting = g.read();
        g.cmd(json!({"execute": "qmp_capabilities"}));
        g
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.qmp.read_line(&mut line).expect("QMP read");
        serde_json::from_str(&line).expect("QMP JSON")
    }

    /// Run a command and return its `return` value; events are skipped.
    fn cmd(&mut self, c: Value) -> Value {
        let s = self.qmp.get_mut();
        s.write_all(format!("{c}\n").as_bytes()).unwrap();
        loop {
            let m = self.read();
            if m.get("event").is_some() {
                continue;
            }
            if let Some(e) = m.get("error") {
                panic!("QMP {c} failed: {e}");
            }
            return m["return"].clone();
        }
    }

    fn qom_get(&mut self, id: &str, prop: &str) -> Value {
        self.cmd(json!({"execute": "qom-get",
            "arguments": {"path": format!("/machine/peripheral/{id}"), "property": prop}}))
    }

    fn peripherals(&mut self) -> Vec<String> {
        let r =
            self.cmd(json!({"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}}));
        r.as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"].as_str().is_some_and(|t| t.starts_with("child<")))
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// qdev id → (file, driver) of its inserted medium.
    fn block_files(&mut self) -> Vec<(String, String, String)> {
        let r = self.cmd(json!({"execute": "query-block"}));
        r.as_array()
            .unwrap()
            .iter()
            .filter(|b| b.get("inserted").is_some())
            .map(|b| {
                let qdev = b["qdev"].as_str().unwrap_or_default();
                let id = qdev
                    .trim_start_matches("/machine/peripheral/")
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                (
                    id,
                    b["inserted"]["file"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    b["inserted"]["drv"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }
}

/// What the XML asks for, written down by hand from libvirt's rules (reference §c, d.2, d.3).
struct Want {
    id: &'static str,
    /// The SCSI bus name (`scsi0.0`), or the PCI/IDE bus for non-SCSI devices.
    bus: &'static str,
    /// (channel, scsi-id, lun) for SCSI devices.
    scsi: Option<(u64, u64, u64)>,
    /// The image, relative to the fixture directory.
    file: &'static str,
    /// The top block driver (`file`, `qcow2`).
    drv: &'static str,
}

const fn scsi(
    id: &'static str,
    bus: &'static str,
    chan_id_lun: (u64, u64, u64),
    file: &'static str,
) -> Want {
    Want {
        id,
        bus,
        scsi: Some(chan_id_lun),
        file,
        drv: "file",
    }
}

fn run_fixture(name: &str, version: QemuVersion, wants: &[Want], controllers: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let xml = materialise(&fixture(name), t.path());
    let opts = Options::default().caps(Caps::of(version)).run_dir(&run);
    let conv = convert_str(&xml, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let argv = conv.args.into_argv();
    let mut g = Guest::start(&argv, &run);
    let present = g.peripherals();
    for c in controllers {
        assert!(
            present.iter().any(|p| p == c),
            "{name}: controller {c} missing in {present:?}"
        );
    }
    let blocks = g.block_files();
    for w in wants {
        assert!(
            present.iter().any(|p| p == w.id),
            "{name}: device {} missing; QEMU has {present:?}",
            w.id
        );
        let bus = g.qom_get(w.id, "parent_bus");
        let bus = bus.as_str().unwrap();
        assert!(
            bus.ends_with(&format!("/{}", w.bus)) || bus == w.bus,
            "{name}: {} is on {bus}, wanted {}",
            w.id,
            w.bus
        );
        if let Some((channel, id, lun)) = w.scsi {
            assert_eq!(
                g.qom_get(w.id, "channel"),
                json!(channel),
                "{name}: {} channel",
                w.id
            );
            assert_eq!(
                g.qom_get(w.id, "scsi-id"),
                json!(id),
                "{name}: {} scsi-id",
                w.id
            );
            assert_eq!(g.qom_get(w.id, "lun"), json!(lun), "{name}: {} lun", w.id);
        }
        let want_file = t.path().join(w.file);
        let got = blocks
            .iter()
            .find(|(id, _, _)| id == w.id)
            .unwrap_or_else(|| panic!("{name}: no backend for {} in {blocks:?}", w.id));
        assert_eq!(
            Path::new(&got.1),
            want_file,
            "{name}: {} backend file",
            w.id
        );
        assert_eq!(got.2, w.drv, "{name}: {} backend driver", w.id);
    }
}

fn skip() -> bool {
    if !qemu_available() {
        skipped(&format!("{QEMU} is not installed"));
        return true;
    }
    false
}

#[test]
fn every_scsi_controller_model_starts_with_its_disk_where_libvirt_places_it() {
    if skip() {
        return;
    }
    // LSI-style HBAs (lsi, am53c974, dc390) address by scsi-id = unit; the others by
    // channel = bus, scsi-id = target, lun = unit.
    let wants = [
        scsi("scsi0-0-2-5", "scsi0.0", (0, 2, 5), "d0.img"),
        scsi("scsi1-0-0-1", "scsi1.0", (0, 0, 1), "d1.img"),
        scsi("scsi2-0-3-0", "scsi2.0", (0, 3, 0), "d2.img"),
        scsi("scsi3-0-4", "scsi3.0", (0, 4, 0), "d3.img"),
        scsi("scsi4-0-1-0", "scsi4.0", (0, 1, 0), "d4.img"),
        scsi("scsi5-0-2-0", "scsi5.0", (0, 2, 0), "d5.img"),
        scsi("scsi6-0-3-0", "scsi6.0", (0, 3, 0), "d6.img"),
        scsi("scsi7-0-0-3", "scsi7.0", (0, 3, 0), "d7.img"),
        scsi("scsi8-0-0-6", "scsi8.0", (0, 6, 0), "d8.img"),
    ];
    let ctrls = [
        "scsi0", "scsi1", "scsi2", "scsi3", "scsi4", "scsi5", "scsi6", "scsi7", "scsi8",
    ];
    run_fixture(
        "scsi-controller-models.xml",
        QemuVersion::new(7, 2),
        &wants,
        &ctrls,
    );
}

#[test]
fn implicit_lsilogic_controllers_hold_name_derived_addresses() {
    if skip() {
        return;
    }
    // sda → 0:0:0:0, sdc → 0:0:0:2, sdh → 1:0:0:0, sdj → 1:0:0:2 (7 units per controller).
    let wants = [
        scsi("scsi0-0-0", "scsi0.0", (0, 0, 0), "a.img"),
        scsi("scsi0-0-2", "scsi0.0", (0, 2, 0), "c.img"),
        scsi("scsi1-0-0", "scsi1.0", (0, 0, 0), "h.img"),
        scsi("scsi1-0-2", "scsi1.0", (0, 2, 0), "j.img"),
    ];
    run_fixture(
        "implicit-controllers.xml",
        QemuVersion::new(7, 2),
        &wants,
        &["scsi0", "scsi1"],
    );
}

#[test]
fn disk_properties_fixture_starts_with_qcow2_cdrom_and_extreme_addresses() {
    if skip() {
        return;
    }
    let mut boot = scsi("scsi0-0-0-0", "scsi0.0", (0, 0, 0), "boot.qcow2");
    boot.drv = "qcow2";
    let wants = [
        boot,
        scsi("scsi0-0-1-7", "scsi0.0", (0, 1, 7), "shared.img"),
        scsi("scsi0-0-255-16383", "scsi0.0", (0, 255, 16383), "ro.img"),
        scsi("scsi0-0-0-3", "scsi0.0", (0, 0, 3), "cd.iso"),
    ];
    run_fixture(
        "scsi-disk-properties.xml",
        QemuVersion::new(7, 2),
        &wants,
        &["scsi0"],
    );
}

#[test]
fn ordinary_boot_disks_start_on_virtio_ide_and_sata() {
    if skip() {
        return;
    }
    let wants = [
        Want {
            id: "virtio-disk0",
            bus: "pci.0",
            scsi: None,
            file: "root.qcow2",
            drv: "qcow2",
        },
        Want {
            id: "ide0-1-0",
            bus: "ide.1",
            scsi: None,
            file: "install.iso",
            drv: "file",
        },
        Want {
            id: "sata0-0-0",
            bus: "sata0.0",
            scsi: None,
            file: "data.img",
            drv: "file",
        },
    ];
    run_fixture("boot-disks.xml", QemuVersion::new(7, 2), &wants, &["sata0"]);
}

fn hostile_wants() -> [Want; 3] {
    [
        scsi("scsi0-0-0-0", "scsi0.0", (0, 0, 0), "a,b.img"),
        scsi("scsi0-0-0-1", "scsi0.0", (0, 0, 1), "it's here.img"),
        scsi(
            "scsi0-0-0-2",
            "scsi0.0",
            (0, 0, 2),
            "$(touch pwned) ,,x.img",
        ),
    ]
}

#[test]
fn hostile_paths_reach_qemu_unchanged_in_json_syntax() {
    if skip() {
        return;
    }
    run_fixture(
        "hostile-paths.xml",
        QemuVersion::new(7, 2),
        &hostile_wants(),
        &["scsi0"],
    );
}

#[test]
fn hostile_paths_reach_qemu_unchanged_in_legacy_keyval_syntax() {
    if skip() {
        return;
    }
    // 4.0: -drive file=…,format=raw,if=none and key=value -device, every ',' doubled. The
    // -drive carries an explicit raw format layer.
    let wants = hostile_wants().map(|mut w| {
        w.drv = "raw";
        w
    });
    run_fixture(
        "hostile-paths.xml",
        QemuVersion::new(4, 0),
        &wants,
        &["scsi0"],
    );
}

#[test]
fn legacy_syntax_of_every_controller_model_starts_too() {
    if skip() {
        return;
    }
    let wants = [
        scsi("scsi0-0-2-5", "scsi0.0", (0, 2, 5), "d0.img"),
        scsi("scsi3-0-4", "scsi3.0", (0, 4, 0), "d3.img"),
        scsi("scsi8-0-0-6", "scsi8.0", (0, 6, 0), "d8.img"),
    ];
    run_fixture(
        "scsi-controller-models.xml",
        QemuVersion::new(6, 2),
        &wants,
        &["scsi0"],
    );
}

/// `-device NAME,help` property names of a QEMU device.
fn device_props(name: &str) -> Vec<String> {
    let out = Command::new(QEMU)
        .args(["-device", &format!("{name},help")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().split('=').next().map(str::to_string))
        .collect()
}

#[test]
fn passthrough_device_properties_are_ones_qemu_lists() {
    if skip() {
        return;
    }
    let xml = fixture("hostdev-passthrough.xml");
    let mut checked = 0;
    for version in [QemuVersion::new(7, 2), QemuVersion::new(6, 2)] {
        let opts = Options::default().caps(Caps::of(version));
        let mut argv = convert_str(&xml, &opts).unwrap().args.into_argv();
        // Whole-host passthrough: scsi-block and scsi-generic devices of its own.
        let whole = "<domain type='qemu'><name>w</name><memory>65536</memory><devices>\
            <controller type='scsi' index='0' model='virtio-scsi'><source><adapter parent='pci_0000_00_08_0'/></source></controller>\
            </devices></domain>";
        let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/virtio-multi");
        let c = convert_bytes(
            whole.as_bytes(),
            Limits::default(),
            &opts,
            Host::Sysfs(tree.as_ref()),
        );
        argv.extend(c.unwrap().args.into_argv());
        for w in argv.windows(2).filter(|w| w[0] == "-device") {
            let props: Vec<(String, String)> = if w[1].starts_with('{') {
                let v: Value = serde_json::from_str(&w[1]).unwrap();
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map(str::to_string).unwrap_or_default(),
                        )
                    })
                    .collect()
            } else {
                let mut it = w[1].split(',');
                let drv = it.next().unwrap().to_string();
                std::iter::once(("driver".to_string(), drv))
                    .chain(it.filter_map(|kv| {
                        kv.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                    }))
                    .collect()
            };
            let driver = props.iter().find(|(k, _)| k == "driver").unwrap().1.clone();
            if !matches!(driver.as_str(), "scsi-generic" | "scsi-block")
                && !driver.starts_with("vhost-scsi")
                && driver != "vfio-pci"
            {
                continue;
            }
            let known = device_props(&driver);
            for (k, _) in &props {
                // driver, id and bus are generic qdev options, not device properties.
                if matches!(k.as_str(), "driver" | "id" | "bus") {
                    continue;
                }
                assert!(known.contains(k), "{driver} has no property {k}: {known:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} properties checked");
}

/// Every fixture whose devices need no real hardware (no SCSI or PCI hostdev, no LUN
/// passthrough, no vhost-scsi) starts, and every `-device` id it emits exists in QEMU.
#[test]
fn every_runnable_fixture_starts_and_realises_every_emitted_device() {
    if skip() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/domains");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    let mut started = 0;
    for name in names {
        let raw = fixture(&name);
        if raw.contains("<hostdev") || raw.contains("device='lun'") {
            println!("not runnable here (needs real hardware): {name}");
            continue;
        }
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let xml = materialise(&raw, t.path());
        let opts = Options::default().run_dir(&run);
        let argv = convert_str(&xml, &opts).unwrap().args.into_argv();
        let ids: Vec<String> = argv
            .windows(2)
            .filter(|w| w[0] == "-device")
            .filter_map(|w| {
                let v: Value = serde_json::from_str(&w[1]).ok()?;
                v["id"].as_str().map(str::to_string)
            })
            .collect();
        let mut g = Guest::start(&argv, &run);
        let present = g.peripherals();
        for id in &ids {
            assert!(
                present.contains(id),
                "{name}: {id} missing; QEMU has {present:?}"
            );
        }
        started += 1;
        println!("started {name}: {} devices present", ids.len());
    }
    assert!(started >= 5, "only {started} fixtures were runnable");
}

/// Whole-host passthrough over the virtio-multi sysfs fixture: host4 gives 4:0:2:3 (sdc),
/// 4:0:2:4 (a tape: sg3 only) and 4:1:0:0 (sdd, bus 1); host2 gives 2:0:0:0 (sda). The host
/// nodes do not exist here, so each backend is swapped for an image file named after the node
/// and each passthrough device for `scsi-hd`, keeping every other property; QEMU must then
/// realise every LU with the id, controller, channel, target and LUN domxml chose, in both
/// the JSON and the legacy `-drive` syntax.
#[test]
fn whole_host_lus_start_in_qemu_at_their_host_target_and_lun() {
    if skip() {
        return;
    }
    let xml = "<domain type='qemu'><name>whole</name><memory>131072</memory>\
        <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
        <controller type='scsi' index='0' model='virtio-scsi'><source><adapter parent='pci_0000_00_08_0'/></source></controller>\
        <controller type='scsi' index='1' model='virtio-scsi'><source><adapter name='scsi_host2'/></source></controller>\
        </devices></domain>";
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sysfs/virtio-multi");
    let wants = [
        ("scsi0-0-2-3", "scsi0.0", 2, 3, "sdc"),
        ("scsi0-0-2-4", "scsi0.0", 2, 4, "sg3"),
        ("scsi0-0-0-0", "scsi0.0", 0, 0, "sdd"),
        ("scsi1-0-0-0", "scsi1.0", 0, 0, "sda"),
    ];
    for version in [QemuVersion::new(7, 2), QemuVersion::new(4, 1)] {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let opts = Options::default().caps(Caps::of(version)).run_dir(&run);
        let argv = convert_bytes(
            xml.as_bytes(),
            Limits::default(),
            &opts,
            Host::Sysfs(tree.as_ref()),
        )
        .unwrap()
        .args
        .into_argv();
        let image = |dev: &str| {
            let p = t.path().join(dev.trim_start_matches("/dev/"));
            std::fs::File::create(&p).unwrap().set_len(1 << 20).unwrap();
            p.to_string_lossy().into_owned()
        };
        let mut swapped = 0;
        let argv: Vec<String> = argv
            .iter()
            .map(|a| {
                if a.starts_with('{') && a.contains(r#""driver":"host_device""#) {
                    let mut v: Value = serde_json::from_str(a).unwrap();
                    v["driver"] = json!("file");
                    v["filename"] = json!(image(v["filename"].as_str().unwrap()));
                    swapped += 1;
                    v.to_string()
                } else if let Some(rest) = a.strip_prefix("file=/dev/") {
                    let (dev, tail) = rest.split_once(',').unwrap();
                    swapped += 1;
                    format!("file={},{tail}", image(dev))
                } else {
                    a.replace(r#""driver":"scsi-block""#, r#""driver":"scsi-hd""#)
                        .replace(r#""driver":"scsi-generic""#, r#""driver":"scsi-hd""#)
                        .replacen("scsi-block,", "scsi-hd,", 1)
                        .replacen("scsi-generic,", "scsi-hd,", 1)
                }
            })
            .collect();
        assert_eq!(swapped, wants.len(), "{version}: {argv:?}");
        let mut g = Guest::start(&argv, &run);
        let present = g.peripherals();
        let blocks = g.block_files();
        for (id, bus, target, lun, dev) in wants {
            assert!(
                present.iter().any(|p| p == id),
                "{version}: {id} missing in {present:?}"
            );
            let parent = g.qom_get(id, "parent_bus");
            assert!(
                parent.as_str().unwrap().ends_with(bus),
                "{version}: {id} on {parent}"
            );
            assert_eq!(g.qom_get(id, "channel"), json!(0), "{version}: {id}");
            assert_eq!(g.qom_get(id, "scsi-id"), json!(target), "{version}: {id}");
            assert_eq!(g.qom_get(id, "lun"), json!(lun), "{version}: {id}");
            let file = blocks.iter().find(|(b, _, _)| b == id).map(|b| b.1.clone());
            assert_eq!(
                file.as_deref().map(Path::new),
                Some(t.path().join(dev).as_path()),
                "{version}: {id} backend"
            );
        }
    }
}
