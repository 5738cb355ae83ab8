//! libvirt's own vectors: inputs libvirt rejects are rejected for the same reason, inputs it
//! accepts are accepted, and `fmt` reproduces libvirt's formatted output.

mod common;

use common::{corpus_dir, corpus_inputs, name, skip};
use domxml::xml::Limits;

/// libvirt's `.err` cases that do not depend on QEMU capabilities, with the code domxml gives
/// for the same reason. The two `.err`-less cases are rejected at parse time by libvirt.
const REJECTED: &[(&str, &str)] = &[
    ("disk-device-lun-type-invalid.xml", "E030"),
    ("disk-hostdev-scsi-address-conflict.xml", "E025"),
    ("disk-scsi-disk-vpd-build-error.xml", "E041"),
    ("disk-scsi-incompatible-address.xml", "E012"),
    ("disk-scsi-product-length.xml", "E040"),
    ("disk-target-overflow.xml", "E020"),
    ("hostdev-scsi-vhost-rawio-invalid.xml", "E060"),
    ("hostdev-scsi-vhost-scsi-pci-boot-fail.xml", "E064"),
    ("hostdev-scsi-vhost-sgio-invalid.xml", "E060"),
    ("hostdev-scsi-duplicate.xml", "E027"),
    ("hostdevs-drive-address-conflict.xml", "E026"),
];

/// Cases whose `.err` depends on the QEMU version (the emitter judges them).
const QEMU_DEPENDENT: &[&str] = &["virtio-lun.xml", "controller-scsi-default-unavailable.xml"];

/// The `.err` text libvirt gives, for the message check.
fn err_text(file: &str) -> Option<String> {
    let d = corpus_dir()?;
    let stem = file.strip_suffix(".xml")?;
    std::fs::read_to_string(d.join(format!("{stem}.x86_64-latest.err"))).ok()
}

#[test]
fn libvirt_rejections_are_rejected_for_the_same_reason() {
    if corpus_dir().is_none() {
        return skip("../shared/conformance/libvirt is absent");
    }
    let d = corpus_dir().unwrap();
    let mut matched = 0;
    for (file, code) in REJECTED {
        let checked = domxml::check(&std::fs::read(d.join(file)).unwrap(), Limits::default());
        let hit = checked
            .diagnostics
            .iter()
            .find(|x| x.is_error() && x.code.as_str() == *code);
        let hit =
            hit.unwrap_or_else(|| panic!("{file}: expected {code}, got {:?}", checked.diagnostics));
        // Where libvirt's message is known, ours carries the same words.
        if let Some(err) = err_text(file) {
            let libvirt_msg = err
                .trim()
                .split_once(": ")
                .map(|(_, m)| m)
                .unwrap_or(err.trim());
            assert!(
                hit.message.starts_with(libvirt_msg.trim_end_matches('\'')),
                "{file}: libvirt says {libvirt_msg:?}, domxml says {:?}",
                hit.message
            );
        }
        matched += 1;
    }
    eprintln!(
        "libvirt rejections matched: {matched} of {}",
        REJECTED.len()
    );
}

#[test]
fn no_valid_corpus_input_is_rejected() {
    let inputs = corpus_inputs();
    if inputs.is_empty() {
        return skip("../shared/conformance/libvirt is absent");
    }
    let mut checked_n = 0;
    for f in inputs {
        let n = name(&f);
        if REJECTED.iter().any(|(r, _)| *r == n) || QEMU_DEPENDENT.contains(&n.as_str()) {
            continue;
        }
        let checked = domxml::check(&std::fs::read(&f).unwrap(), Limits::default());
        assert!(checked.is_valid(true), "{n}: {:?}", checked.diagnostics);
        checked_n += 1;
    }
    assert!(
        checked_n >= 20,
        "only {checked_n} valid corpus inputs were checked"
    );
}

#[test]
fn fmt_reproduces_libvirts_formatted_output() {
    let Some(d) = corpus_dir() else {
        return skip("../shared/conformance/libvirt is absent");
    };
    let mut n = 0;
    for e in std::fs::read_dir(&d).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with("-latest.xml") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let parsed = domxml::codec::parse_str(&src).unwrap();
        assert_eq!(domxml::codec::write_document(&parsed), src, "{}", name(&p));
        n += 1;
    }
    assert!(n >= 4);
}
