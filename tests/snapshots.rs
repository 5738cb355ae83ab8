//! insta snapshots: the parsed model, `fmt` output and rendered diagnostics of every fixture.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test` and git diff).

#[test]
fn fmt_output() {
    insta::glob!("../fixtures/domains", "*.xml", |path| {
        let parsed = domxml::codec::parse_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        insta::assert_snapshot!(domxml::codec::write_document(&parsed));
    });
}

#[test]
fn parsed_model() {
    insta::glob!("../fixtures/domains", "*.xml", |path| {
        let parsed = domxml::codec::parse_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        insta::assert_debug_snapshot!(parsed.definition);
    });
}

#[test]
#[cfg(feature = "fancy")]
fn rendered_diagnostics() {
    insta::glob!("../fixtures/invalid", "*.xml", |path| {
        let src = std::fs::read(path).unwrap();
        let checked = domxml::check(&src, domxml::Limits::default());
        let file = format!(
            "fixtures/invalid/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        insta::assert_snapshot!(domxml::report::human(
            &file,
            &String::from_utf8_lossy(&src),
            &checked.diagnostics,
            false
        ));
    });
}
