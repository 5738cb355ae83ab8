//! `fmt` keeps the model: for every input that parses, the formatted output parses to the same
//! model, and formatting it again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = domxml::Limits {
        max_bytes: 1 << 16,
        max_depth: 32,
        ..domxml::Limits::default()
    };
    let Ok(first) = domxml::codec::parse_bytes(data, limits) else {
        return;
    };
    let once = domxml::codec::write_document(&first);
    let second = domxml::codec::parse_bytes(once.as_bytes(), domxml::Limits::default())
        .unwrap_or_else(|e| panic!("fmt output does not parse: {e:?}\n{once}"));
    assert_eq!(second.definition, first.definition, "the model changed through fmt:\n{once}");
    let twice = domxml::codec::write_document(&second);
    assert_eq!(twice, once, "fmt is not idempotent");
});
