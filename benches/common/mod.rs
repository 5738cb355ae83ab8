//! Helpers shared by the benchmarks.

use std::time::Duration;

/// The letters of the `i`-th disk name (`a`, …, `z`, `aa`, …), as libvirt numbers `sdX`.
pub fn disk_letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// The median of a few timings (they are noisy on a shared machine).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
