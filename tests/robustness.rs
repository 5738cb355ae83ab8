//! No input makes domxml panic, and hostile input is refused with a clear error.

mod common;

use common::{root, xml_files};
use domxml::xml::Limits;
use proptest::prelude::*;

/// A finding of the fuzz campaign (issue 12), kept as a file under `fixtures/fuzz/`.
fn finding(name: &str) -> Vec<u8> {
    let p = root().join("fixtures/fuzz").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Run the CLI with its address space capped at 256 MiB (and its standard input from
/// `stdin`): an input that costs memory in proportion to a value in it, or to its size, makes
/// it fail here instead of taking the machine down.
fn cli_capped(args: &[&str], stdin: std::process::Stdio) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(root())
        .stdin(stdin)
        .output()
        .expect("run domxml")
}

/// Codes with the path each one is at.
fn located(bytes: &[u8]) -> Vec<(&'static str, String)> {
    domxml::check(bytes, Limits::default())
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.clone()))
        .collect()
}

// F1: a device on a huge SCSI controller index made the layout hold one entry per index below
// it (348 MB for controller 10,000,000, out of memory for 4294967295). Now the work follows the
// devices, and an index above 99 is refused where it is written. (The first input comes
// first: without the fix, the assertion on it fails before the larger ones run.)
#[test]
fn f1_huge_scsi_controller_index_is_refused_where_it_is_written() {
    let got = located(&finding("f1-hostdev-controller-10000000.xml"));
    assert!(
        got.contains(&(
            "E016",
            "/domain/devices/hostdev/address/@controller".to_string()
        )),
        "{got:?}"
    );
    // With a full <source> it used to be reported valid (after 3.4 GB and 44 s).
    for (name, errors) in [
        ("f1-hostdev-full-source-controller-100000000.xml", 1),
        ("f1-hostdev-controller-u32-max.xml", 1),
    ] {
        let got = located(&finding(name));
        assert_eq!(
            got,
            vec![(
                "E016",
                "/domain/devices/hostdev/address/@controller".to_string()
            )],
            "{name}"
        );
        assert_eq!(got.len(), errors);
    }
    // A disk without an address takes its controller from its name: sdzzzzzz is index
    // 321,272,405, controller 45,896,057.
    assert_eq!(
        located(&finding("f1-disk-name-derived-controller.xml")),
        vec![("E016", "/domain/devices/disk/target/@dev".to_string())]
    );
}

/// `<iothreads>4294967295</iothreads>` used to become a vector of four billion ids (16 GB)
/// when a controller's iothread was checked: it is valid, and checking it costs nothing. Run
/// only under the cap, with the other findings.
#[test]
fn f1_findings_validate_in_bounded_memory() {
    for (name, status) in [
        ("f1-hostdev-controller-10000000.xml", 1),
        ("f1-hostdev-full-source-controller-100000000.xml", 1),
        ("f1-hostdev-controller-u32-max.xml", 1),
        ("f1-disk-name-derived-controller.xml", 1),
        ("f1-iothreads-4294967295.xml", 0),
    ] {
        let path = format!("fixtures/fuzz/{name}");
        let o = cli_capped(
            &["validate", "--format", "json", &path],
            std::process::Stdio::null(),
        );
        assert_eq!(
            o.status.code(),
            Some(status),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
        let codes: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["code"].as_str())
            .collect();
        assert_eq!(codes.contains(&"E016"), status == 1, "{name}: {codes:?}");
    }
}

#[test]
fn f1_searched_hostdevs_beyond_the_bound_are_refused_at_the_hostdev() {
    // 701 hostdevs without an address fill controllers 0..=99 (seven units each) and put the
    // last one on controller 100.
    let mut x = String::from("<domain type='qemu'><name>g</name><devices>");
    for i in 0..701 {
        x.push_str(&format!(
            "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{}'/>\
             <address bus='0' target='0' unit='{}'/></source></hostdev>",
            i / 256,
            i % 256
        ));
    }
    x.push_str("</devices></domain>");
    assert_eq!(
        located(x.as_bytes()),
        vec![("E016", "/domain/devices/hostdev[701]".to_string())]
    );
}

fn codes(bytes: &[u8], limits: Limits) -> Vec<&'static str> {
    domxml::check(bytes, limits)
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

#[test]
fn every_truncation_of_a_fixture_is_an_error_not_a_panic() {
    let f = &xml_files("fixtures/domains")[0];
    let src = std::fs::read(f).unwrap();
    // Any cut before the root's end tag is complete leaves the document unfinished.
    let text = String::from_utf8(src.clone()).unwrap();
    let end = text.rfind("</domain>").unwrap() + "</domain".len();
    for cut in (0..end).step_by(7) {
        let checked = domxml::check(&src[..cut], Limits::default());
        assert!(
            !checked.is_valid(false),
            "a file cut at byte {cut} was accepted"
        );
    }
}

#[test]
fn deep_nesting_is_refused_by_the_depth_bound() {
    // 100 MB of nesting: refused at the depth bound long before memory matters.
    let open = "<a>".repeat(33 * 1024 * 1024);
    let got = codes(
        open.as_bytes(),
        Limits {
            max_bytes: usize::MAX,
            max_depth: 64,
        },
    );
    assert_eq!(got, vec!["E006"]);
}

#[test]
fn oversized_input_is_refused_by_the_size_bound() {
    let big = vec![b' '; 2048];
    assert_eq!(
        codes(
            &big,
            Limits {
                max_bytes: 1024,
                max_depth: 64
            }
        ),
        vec!["E006"]
    );
}

#[test]
fn entity_bomb_is_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<domain type='qemu'><name>&lol2;</name></domain>"#;
    assert_eq!(codes(bomb.as_bytes(), Limits::default()), vec!["E007"]);
}

#[test]
fn external_entity_is_refused() {
    let xxe = "<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><domain type='qemu'><name>&x;</name></domain>";
    assert_eq!(codes(xxe.as_bytes(), Limits::default()), vec!["E007"]);
}

#[test]
fn binary_junk_is_a_syntax_error() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert_eq!(codes(&junk, Limits::default()), vec!["E001"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = domxml::check(&bytes, Limits::default());
    }

    #[test]
    fn mutated_fixtures_never_panic(pos in 0usize..4000, byte in any::<u8>(), which in 0usize..1000) {
        let files = xml_files("fixtures/domains");
        let mut src = std::fs::read(&files[which % files.len()]).unwrap();
        if !src.is_empty() {
            let p = pos % src.len();
            src[p] = byte;
        }
        let checked = domxml::check(&src, Limits::default());
        if let Some(parsed) = checked.parsed {
            // Whatever parses also formats and re-parses.
            let out = domxml::codec::format(&parsed);
            prop_assert!(domxml::codec::parse_str(&out).is_ok(), "formatted output does not parse:\n{}", out);
        }
    }
}
