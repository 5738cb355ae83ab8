//! A fast hash for the resolver's own keys.

use std::hash::{BuildHasherDefault, Hasher};

/// A word-at-a-time multiplicative hash (rustc's FxHash): the set of verified directories is
/// looked up once per path component walked, and its keys are paths the resolver built
/// itself, so a fast hash without flooding resistance fits (the default SipHash was a tenth
/// of the time of a scan).
#[derive(Debug, Default)]
pub(crate) struct Fx(u64);

/// A hash map keyed by the resolver's own values (numbers, addresses, paths).
pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fx>>;

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}
