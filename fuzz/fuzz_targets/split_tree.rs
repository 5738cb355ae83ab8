//! A large `<devices>` is read in pieces on several cores (`xml/split.rs`); the tree it gives,
//! or the error, must be exactly one pass's. The first byte chooses how many pieces (2 to 17)
//! and the rest is the document, so the fuzzer's mutations move, break and add the cuts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, doc)) = data.split_first() else {
        return;
    };
    let limits = domxml::Limits {
        max_bytes: 1 << 16,
        max_depth: 32,
        ..domxml::Limits::default()
    };
    let pieces = 2 + usize::from(first % 16);
    assert!(
        domxml::fuzz_hooks::split_agrees(doc, limits, pieces),
        "read in {pieces} pieces, the document reads differently from one pass"
    );
});
