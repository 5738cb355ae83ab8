//! No input makes domxml panic, and hostile input is refused with a clear error.

mod common;

use common::xml_files;
use domxml::xml::Limits;
use proptest::prelude::*;

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
            let out = domxml::codec::write_document(&parsed);
            prop_assert!(domxml::codec::parse_str(&out).is_ok(), "formatted output does not parse:\n{}", out);
        }
    }
}
