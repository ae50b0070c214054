//! Deterministic seeding: every random choice in mrixai draws from a named stream derived
//! from one user seed, so adding a stream never shifts another and the same seed gives
//! byte-identical artefacts.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random generator used everywhere (portable and reproducible across platforms).
pub type Rng = ChaCha8Rng;

/// A 64-bit sub-seed for the stream `label` under `seed` (SHA-256 based, stable forever).
pub fn derive(seed: u64, label: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(label.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// A generator for the stream `label` under `seed`.
pub fn rng(seed: u64, label: &str) -> Rng {
    let d = {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(label.as_bytes());
        h.finalize()
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(&d);
    ChaCha8Rng::from_seed(key)
}

/// Hex SHA-256 of bytes (used for content addressing and source checksums).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_are_stable_and_distinct() {
        let a: u64 = rng(7, "subjects").random();
        let b: u64 = rng(7, "subjects").random();
        let c: u64 = rng(7, "lesions").random();
        let d: u64 = rng(8, "subjects").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(derive(1, "x"), derive(1, "x"));
        assert_ne!(derive(1, "x"), derive(2, "x"));
    }
}
