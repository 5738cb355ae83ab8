//! Valid fixtures conform to our RelaxNG grammar (`xmllint --relaxng`), and — where they use
//! only libvirt syntax — to libvirt's own schema (`virt-xml-validate`).

mod common;

use common::{name, root, skip, xml_files};
use domxml::model::{Definition, Device};
use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when the document uses syntax only domxml accepts: the flat adapter form or an
/// adapter other than `name=` inside a hostdev, a controller `<source>`, a pool-style
/// `<address type='scsi'>` restriction, or unknown content.
fn domxml_only(path: &Path) -> bool {
    let parsed = domxml::codec::parse_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if !parsed.warnings.is_empty() {
        return true;
    }
    match &parsed.definition {
        Definition::Pool(p) => p.source.as_ref().is_some_and(|s| {
            s.address.is_some()
                || s.adapter
                    .as_ref()
                    .is_some_and(|a| a.parent.is_some() && a.kind.is_none())
        }),
        Definition::Domain(d) => d.devices.items.iter().any(|item| match item {
            Device::Controller(c) => c.source.is_some(),
            Device::Hostdev(h) => h
                .source
                .as_ref()
                .and_then(|s| s.adapter.as_ref())
                .is_some_and(|a| a.name.is_none()),
            _ => false,
        }),
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn valid_fixtures() -> Vec<std::path::PathBuf> {
    let mut v = xml_files("fixtures/domains");
    v.extend(xml_files("fixtures/pools"));
    v
}

#[test]
fn valid_fixtures_conform_to_our_grammar() {
    if !have("xmllint") {
        return skip("xmllint is not installed (apt-get install libxml2-utils)");
    }
    let rng = root().join("schemas/domxml.rng");
    let mut failures = Vec::new();
    let mut n = 0;
    for f in valid_fixtures() {
        // warn-* fixtures carry deliberate typos; the grammar rightly refuses them.
        if name(&f).starts_with("warn-") {
            continue;
        }
        let (ok, out) = run(Command::new("xmllint")
            .arg("--noout")
            .arg("--relaxng")
            .arg(&rng)
            .arg(&f));
        if !ok {
            failures.push(format!("{}: {out}", name(&f)));
        }
        n += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 25);
}

#[test]
fn our_grammar_refuses_what_the_validator_calls_a_shape_error() {
    if !have("xmllint") {
        return skip("xmllint is not installed (apt-get install libxml2-utils)");
    }
    let rng = root().join("schemas/domxml.rng");
    let bad = "<domain type='qemu'><name>g</name><os><type>hvm</type></os><devices><controller type='scsi' index='0' model='virtio-scsii'/></devices></domain>";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.xml");
    std::fs::write(&p, bad).unwrap();
    let (ok, _) = run(Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&rng)
        .arg(&p));
    assert!(!ok, "the grammar accepted an unknown controller model");
}

#[test]
fn libvirt_syntax_fixtures_conform_to_libvirts_schema() {
    if !have("virt-xml-validate") {
        return skip("virt-xml-validate is not installed (apt-get install libvirt-clients)");
    }
    let mut failures = Vec::new();
    let mut n = 0;
    for f in valid_fixtures() {
        if domxml_only(&f) {
            continue;
        }
        let kind = if f.parent().is_some_and(|p| p.ends_with("pools")) {
            "storagepool"
        } else {
            "domain"
        };
        let (ok, out) = run(Command::new("virt-xml-validate").arg(&f).arg(kind));
        if !ok {
            failures.push(format!("{}: {out}", name(&f)));
        }
        n += 1;
    }
    eprintln!("virt-xml-validate checked {n} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 15, "only {n} fixtures use plain libvirt syntax");
}
