//! The applier's plan engine on two fuzzed definitions (the input split at its first NUL byte):
//! plan(A, A) is empty, and applying plan(A, B) to A gives B's managed devices, each as B
//! writes it. Definitions that do not parse or do not validate are skipped, as `plan` refuses
//! them.
#![no_main]

use domxml::apply::compare::differences;
use domxml::apply::plan::{desired_managed, diff};
use domxml::apply::Targets;
use libfuzzer_sys::fuzz_target;

fn domain(bytes: &[u8]) -> Option<domxml::Domain> {
    let limits = domxml::Limits {
        max_bytes: 1 << 15,
        max_depth: 32,
        ..domxml::Limits::default()
    };
    let c = domxml::check(bytes, limits);
    if !c.is_valid(false) {
        return None;
    }
    c.domain().cloned()
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&x| x == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let (Some(a), Some(b)) = (domain(a), domain(b)) else {
        return;
    };
    if let Ok(p) = diff(&a, &a, Targets::BOTH) {
        assert!(p.is_empty(), "plan(A, A) is not empty");
    }
    let Ok(plan) = diff(&a, &b, Targets::BOTH) else {
        return;
    };
    let mut got = a.clone();
    plan.apply_to(&mut got, Targets::BOTH);
    let (Ok(want), Ok(have)) = (desired_managed(&b, None), desired_managed(&got, None)) else {
        return;
    };
    assert_eq!(have.len(), want.len(), "applying plan(A, B) to A");
    for w in &want {
        let h = have.iter().find(|h| h.key == w.key).expect("a device of B is missing");
        let (he, we) = (
            domxml::codec::device_element(&h.device).unwrap(),
            domxml::codec::device_element(&w.device).unwrap(),
        );
        assert_eq!(differences(&he, &we), Vec::<String>::new(), "{}", w.key);
    }
});
