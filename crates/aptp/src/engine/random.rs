//! The engine's deterministic pseudo-random generator (SplitMix64), seeded from the config so
//! that equal seeds give equal runs. Used for the Delay_Req interval randomisation of IEEE
//! 1588-2019 §9.5.11.2; not for anything that needs to be unpredictable.

/// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, full period, good equidistribution,
/// and a few arithmetic instructions per number.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number uniformly distributed in `0..bound` (0 when `bound` is 0), by the
    /// multiply-shift method (Lemire), whose bias is below 2^-64 per value.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let mut c = SplitMix64::new(8);
        let xs: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn known_first_output() {
        // Reference value of SplitMix64 seeded with 0 (as in the Java SplittableRandom tests).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_stays_in_range_and_spreads() {
        let mut rng = SplitMix64::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let x = rng.below(10);
            assert!(x < 10);
            buckets[x as usize] += 1;
        }
        for count in buckets {
            assert!((800..1200).contains(&count), "{buckets:?}");
        }
        assert_eq!(rng.below(0), 0);
    }
}
