//! Seedable randomness for tags, branches, Call-IDs and cnonces (SplitMix64).
//!
//! These values must be unique, not secret: SIP tags and branches are visible on the wire.
//! A seeded generator keeps every run replayable in tests; the shell seeds it from the OS.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for unique identifiers.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 16 lower-case hex digits.
    pub(crate) fn hex(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_distinct() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.hex(), b.hex());
        let x = a.hex();
        assert_ne!(x, a.hex());
        assert_eq!(x.len(), 16);
    }
}
