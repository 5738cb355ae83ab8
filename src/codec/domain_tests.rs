//! Tests of the domain writer.

use super::*;
use crate::model::Definition;

/// The tree a domain is written from, written whole.
fn written_whole(d: &Domain) -> String {
    crate::xml::write_element(&write_domain(d))
}

fn streamed(d: &Domain) -> String {
    let mut out = String::new();
    write_domain_into(&mut out, d);
    out
}

fn domain(xml: &str) -> Box<Domain> {
    match super::super::parse_str(xml).expect("parses").definition {
        Definition::Domain(d) => d,
        Definition::Pool(_) => panic!("not a domain"),
    }
}

#[test]
fn streaming_devices_writes_the_same_text_as_the_whole_tree() {
    let mut n = 0;
    for dir in [
        "fixtures/domains",
        "fixtures/libvirt-cases",
        "fixtures/fuzz",
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "xml") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(p) = super::super::parse_bytes(&bytes, crate::xml::Limits::default()) else {
                continue;
            };
            if let Definition::Domain(d) = &p.definition {
                assert_eq!(streamed(d), written_whole(d), "{}", path.display());
                n += 1;
            }
        }
    }
    assert!(n > 50, "only {n} fixture domains were compared");
}

#[test]
fn streaming_handles_empty_comment_only_and_mixed_content_roots() {
    for xml in [
        "<domain type='qemu'><name>g</name></domain>",
        "<domain type='qemu'><devices extra='1'/></domain>",
        "<domain type='qemu'><devices><!-- only a comment --></devices></domain>",
        "<domain type='qemu'>text beside <name>g</name><devices><disk type='file'/></devices></domain>",
        "<domain type='qemu'><!-- c --><devices><emulator>/usr/bin/qemu</emulator><disk type='file' device='disk'><source file='/a'/><target dev='vda'/></disk></devices><on_poweroff>destroy</on_poweroff></domain>",
    ] {
        let d = domain(xml);
        assert_eq!(streamed(&d), written_whole(&d), "{xml}");
    }
}

/// Everything a read gives, as text: the model, the warnings, or the errors.
fn read_outcome(bytes: &[u8]) -> String {
    match super::super::parse_bytes(bytes, crate::xml::Limits::default()) {
        Ok(p) => {
            let written = match &p.definition {
                Definition::Domain(d) => streamed(d),
                Definition::Pool(_) => String::new(),
            };
            format!("{:?}\n{:?}\n{written}", p.definition, p.warnings)
        }
        Err(diags) => format!("{diags:?}"),
    }
}

/// Read and write `bytes` with `<devices>` cut into `runs` runs.
fn read_in_runs(bytes: &[u8], runs: usize) -> String {
    crate::par::with_runs(runs, || read_outcome(bytes))
}

#[test]
fn devices_read_and_written_in_runs_give_exactly_what_one_pass_gives() {
    // Every kind of child of <devices>: emulators (whose unknown content is kept by index),
    // comments, stray text, devices that fail to read and are dropped (an index shift),
    // unknown devices (warnings with hints), errors, in an order that puts them across runs.
    let mut xml = String::from("<domain type='qemu'><name>g</name><devices a='1'>");
    for i in 0..40 {
        let emulator = format!("<emulator x='{i}'>/usr/bin/qemu<k{i}/></emulator>");
        xml.push_str(match i % 8 {
            0 => &emulator,
            1 => "<!-- note -->",
            2 => "<controller type='scsi' index='x'/>",
            3 => "<disk type='block' device='lun'><source dev='/dev/sda'/><target dev='sda' bus='scsi'/><odd/></disk>",
            4 => "<dsik/>stray",
            5 => "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source></hostdev>",
            6 => "<controller type='scsi' index='1' model='virtio-scsi' bogus='y'/>",
            _ => "<interface type='user'/>",
        });
    }
    xml.push_str("</devices></domain>");
    let mut inputs = vec![("mixed".to_string(), xml.clone().into_bytes())];
    inputs.push((
        "mixed, valid".into(),
        xml.replace("index='x'", "index='2'").into_bytes(),
    ));
    for dir in [
        "fixtures/domains",
        "fixtures/libvirt-cases",
        "fixtures/fuzz",
    ] {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "xml") {
                if let Ok(b) = std::fs::read(e.path()) {
                    inputs.push((e.path().display().to_string(), b));
                }
            }
        }
    }
    assert!(inputs.len() > 50, "only {} inputs", inputs.len());
    for (name, bytes) in &inputs {
        let one = read_in_runs(bytes, 1);
        for runs in [2, 3, 7] {
            assert_eq!(read_in_runs(bytes, runs), one, "{name} in {runs} runs");
        }
    }
    // The mixed domain really exercises the runs: it warns, and errors.
    assert!(read_in_runs(&inputs[0].1, 3).contains("W001"));
    let valid = read_in_runs(&inputs[1].1, 3);
    assert!(valid.starts_with("Domain("), "{valid}");
    assert!(valid.contains("<emulator x='32'>"), "{valid}");
}
