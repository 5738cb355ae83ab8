//! libvirt's own test vectors: every SCSI, vhost-scsi and VFIO `-device` domxml emits must
//! carry exactly libvirt's properties and values, and point at the same backend chain (node
//! names and key order aside). SCSI hostdevs resolve through a fixture sysfs tree that plays
//! libvirt's test mock (every LU's sg is `sg0`). The corpus lives outside the crate
//! (../shared/conformance/libvirt); the test skips with a message when it is absent.

use domxml::emit::{parse_shell, Caps, QemuVersion};
use domxml::{convert_bytes, convert_str, Host, Limits, Options};
mod common;

use common::devices;
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

/// A sysfs tree playing libvirt's test mock: every host LU a hostdev names has `sg0`.
fn mock_sysfs(xml: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let parsed = domxml::codec::parse_str(xml).expect("corpus input parses");
    if let domxml::model::Definition::Domain(d) = parsed.definition {
        for (_, h) in d.devices.hostdevs() {
            let Some(src) = &h.source else { continue };
            let (Some(adapter), Some(a)) = (&src.adapter, &src.scsi_address) else {
                continue;
            };
            let Ok(domxml::model::AdapterForm::HostNumber(host)) = adapter.form() else {
                continue;
            };
            let lu = format!(
                "{host}:{}:{}:{}",
                a.bus.unwrap_or(0),
                a.target.unwrap_or(0),
                a.unit.unwrap_or(0)
            );
            std::fs::create_dir_all(
                t.path()
                    .join("sys/bus/scsi/devices")
                    .join(lu)
                    .join("scsi_generic/sg0"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(t.path().join("sys/class")).unwrap();
    }
    t
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
    // Other architectures in the corpus (beyond what acceptance requires).
    let mut other_arch: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".s390x-latest.args"))
        .collect();
    other_arch.sort();
    for f in other_arch {
        let name = f.trim_end_matches(".s390x-latest.args").to_string();
        let input = dir.join(format!("{name}.xml"));
        if input.is_file() {
            out.push(Case {
                name: format!("{name} (s390x)"),
                input,
                expected: dir.join(f),
                version: LATEST,
            });
        }
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
    let opts = Options::default().caps(Caps::of(case.version));
    let sysfs = mock_sysfs(&xml);
    let ours = convert_bytes(
        xml.as_bytes(),
        Limits::default(),
        &opts,
        Host::Sysfs(sysfs.path()),
    )
    .map_err(|e| format!("conversion failed: {e}"))?;
    let ours = devices(ours.args.argv());
    let theirs = devices(&libvirt_argv(&case.expected));
    let problems = common::diff(&theirs, &ours);
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
        let opts = Options::default().caps(caps);
        let expected = std::fs::read_to_string(dir.join(format!("{name}.x86_64-latest.err")))
            .unwrap_or_default();
        match convert_str(&xml, &opts) {
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
    for (name, without, code) in [
        ("virtio-lun", vec![], domxml::codes::E105),
        (
            "controller-scsi-default-unavailable",
            vec!["lsi", "virtio-scsi"],
            domxml::codes::E102,
        ),
    ] {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let expected =
            std::fs::read_to_string(dir.join(format!("{name}.x86_64-latest.err"))).unwrap();
        let mut caps = Caps::of(LATEST);
        caps.without = without.into_iter().map(String::from).collect();
        let opts = Options::default().caps(caps);
        let err = match convert_str(&xml, &opts) {
            Err(domxml::Error::Emit(e)) => e,
            other => panic!("{name}: expected an emit error, got {other:?}"),
        };
        assert!(
            expected.contains(err.message()),
            "{name}: {} vs {expected}",
            err.message()
        );
        assert_eq!(err.code(), code, "{name}");
    }
}
