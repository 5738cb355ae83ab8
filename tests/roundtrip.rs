//! Nothing a user wrote is lost: parse → write → parse gives the same model, `fmt` is
//! idempotent, and content domxml does not model survives.

mod common;

use common::{corpus_inputs, name, xml_files};
use domxml::codec::{parse_str, write_definition, write_document};

fn all_inputs() -> Vec<std::path::PathBuf> {
    let mut v = xml_files("fixtures/domains");
    v.extend(xml_files("fixtures/pools"));
    // Invalid fixtures that parse must round-trip too: fmt formats what fails validation.
    v.extend(xml_files("fixtures/invalid"));
    v.extend(corpus_inputs());
    v
}

#[test]
fn model_survives_a_write_and_reread() {
    let mut n = 0;
    for f in all_inputs() {
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        let Ok(first) = parse_str(&src) else { continue };
        let written = write_definition(&first.definition);
        let second = parse_str(&written).unwrap_or_else(|e| {
            panic!(
                "{}: rewritten XML does not parse: {e:?}\n{written}",
                name(&f)
            )
        });
        assert_eq!(
            first.definition,
            second.definition,
            "{}: model changed through a write",
            name(&f)
        );
        n += 1;
    }
    assert!(n >= 60, "only {n} inputs round-tripped");
}

#[test]
fn fmt_is_idempotent() {
    for f in all_inputs() {
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        let Ok(first) = parse_str(&src) else { continue };
        let once = write_document(&first);
        let twice = write_document(&parse_str(&once).unwrap());
        assert_eq!(once, twice, "{}: fmt of fmt differs", name(&f));
    }
}

#[test]
fn fmt_keeps_unknown_elements_attributes_and_comments() {
    let src = "<!-- top -->\n<domain type='qemu' xmlns:my='urn:x'>\n  <name>g</name>\n  <frobnicate level='3'><inner/></frobnicate>\n  <devices>\n    <!-- the boot disk -->\n    <disk type='file' device='disk' shiny='yes'>\n      <source file='/a.img'/>\n      <target dev='sda' bus='scsi'/>\n      <sparkle/>\n    </disk>\n    <my:thing x='1'/>\n  </devices>\n  <metadata><my:app>v</my:app></metadata>\n</domain>\n";
    let parsed = parse_str(src).unwrap();
    let out = write_document(&parsed);
    for needle in [
        "<!-- top -->",
        "xmlns:my='urn:x'",
        "<frobnicate level='3'>",
        "<inner/>",
        "<!-- the boot disk -->",
        "shiny='yes'",
        "<sparkle/>",
        "<my:thing x='1'/>",
        "<my:app>v</my:app>",
    ] {
        assert!(out.contains(needle), "lost {needle:?}:\n{out}");
    }
    let codes: Vec<_> = parsed
        .warnings
        .iter()
        .map(|w| (w.code.as_str(), w.path.as_str()))
        .collect();
    assert!(codes.contains(&("W001", "/domain/frobnicate")), "{codes:?}");
    assert!(
        codes.contains(&("W002", "/domain/devices/disk/@shiny")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("W001", "/domain/devices/disk/sparkle")),
        "{codes:?}"
    );
    // Namespaced extensions are not mistakes.
    assert!(!codes.iter().any(|(_, p)| p.contains("my:")), "{codes:?}");
}

#[test]
fn near_miss_names_get_a_did_you_mean() {
    let src = "<domain type='qemu'><name>g</name><devices><contoller type='scsi' index='0'/><disk type='file'><source file='/a'/><target dev='sda' buss='scsi'/></disk></devices></domain>";
    let parsed = parse_str(src).unwrap();
    let hints: Vec<_> = parsed
        .warnings
        .iter()
        .filter_map(|w| w.hint.as_deref())
        .collect();
    assert!(hints.contains(&"did you mean <controller>?"), "{hints:?}");
    assert!(hints.contains(&"did you mean 'bus'?"), "{hints:?}");
}

#[test]
fn pci_numbers_are_written_the_way_libvirt_writes_them() {
    let src = "<domain type='qemu'><name>g</name><devices><hostdev mode='subsystem' type='pci'><source><address domain='0' bus='3' slot='0x1F' function='2'/></source></hostdev></devices></domain>";
    let out = write_document(&parse_str(src).unwrap());
    assert!(
        out.contains("<address domain='0x0000' bus='0x03' slot='0x1f' function='0x2'/>"),
        "{out}"
    );
}
