//! Every fixture is judged as its file says: valid ones pass, invalid ones fail with the code
//! in their `<!-- expect: CODE -->` header, at a line, column and path.

mod common;

use common::{header, name, xml_files};
use domxml::xml::Limits;

#[test]
fn there_are_enough_fixtures() {
    assert!(
        xml_files("fixtures/domains").len() >= 25,
        "need at least 25 valid domain fixtures"
    );
    assert!(
        xml_files("fixtures/invalid").len() >= 40,
        "need at least 40 invalid fixtures"
    );
}

#[test]
fn every_valid_fixture_has_no_errors() {
    let mut failures = Vec::new();
    for dir in ["fixtures/domains", "fixtures/pools"] {
        for f in xml_files(dir) {
            let checked = domxml::check(&std::fs::read(&f).unwrap(), Limits::default());
            let errors: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            if !errors.is_empty() {
                failures.push(format!("{}: {errors:?}", name(&f)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "valid fixtures with errors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn warning_fixtures_warn_with_their_code_and_no_others_do() {
    for f in xml_files("fixtures/domains")
        .into_iter()
        .chain(xml_files("fixtures/pools"))
    {
        let checked = domxml::check(&std::fs::read(&f).unwrap(), Limits::default());
        let codes: Vec<_> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        match header(&f, "warns") {
            Some(code) => assert!(
                codes.contains(&code.as_str()),
                "{}: expected {code}, got {codes:?}",
                name(&f)
            ),
            None => assert!(
                codes.is_empty(),
                "{}: unexpected diagnostics {codes:?}",
                name(&f)
            ),
        }
    }
}

#[test]
fn every_invalid_fixture_fails_with_its_code_at_a_location() {
    let mut failures = Vec::new();
    for f in xml_files("fixtures/invalid") {
        let Some(expect) = header(&f, "expect") else {
            failures.push(format!("{}: no <!-- expect: CODE --> header", name(&f)));
            continue;
        };
        let checked = domxml::check(&std::fs::read(&f).unwrap(), Limits::default());
        let hit = checked
            .diagnostics
            .iter()
            .find(|d| d.is_error() && d.code.as_str() == expect);
        match hit {
            None => failures.push(format!(
                "{}: expected {expect}, got {:?}",
                name(&f),
                checked
                    .diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
            )),
            Some(d) => {
                if d.pos.is_none() {
                    failures.push(format!("{}: {expect} has no line/column", name(&f)));
                }
                // Document-level syntax errors have no element path; everything else must.
                if d.path.is_empty() && !matches!(expect.as_str(), "E001" | "E006" | "E007") {
                    failures.push(format!("{}: {expect} has no element path", name(&f)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_in_the_catalogue_is_documented() {
    let doc = std::fs::read_to_string(common::root().join("docs/error-codes.md")).unwrap();
    for c in domxml::diag::codes::ALL {
        assert!(
            doc.contains(&format!("| {} |", c.as_str())),
            "{} is not in docs/error-codes.md",
            c.as_str()
        );
    }
}
