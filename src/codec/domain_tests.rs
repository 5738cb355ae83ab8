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
