//! Arbitrary bytes through the reader and the validator: an error or a model, never a panic,
//! and work bounded by the limits (small ones here, so the fuzzer explores shapes, not sizes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = domxml::Limits {
        max_bytes: 1 << 16,
        max_depth: 32,
        ..domxml::Limits::default()
    };
    let checked = domxml::check(data, limits);
    // Every error is located or at least pathed, and a valid document has a definition.
    for d in &checked.diagnostics {
        assert!(!d.code.as_str().is_empty());
    }
    if checked.is_valid(false) {
        assert!(checked.parsed.is_some());
    }
});
