//! Helpers shared by the benchmarks.

use std::time::Duration;

/// The letters of the `i`-th disk name (`a`, …, `z`, `aa`, …), as libvirt numbers `sdX`.
pub fn disk_letters(i: usize) -> String {
    domxml::assign::disk_name("", u32::try_from(i).expect("fewer than 2^32 disks"))
}

/// The median of a few timings (they are noisy on a shared machine).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
