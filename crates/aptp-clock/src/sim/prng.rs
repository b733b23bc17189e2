//! A small deterministic PRNG: xoshiro256** seeded through splitmix64.

/// splitmix64: expands one seed into well-mixed words (used to seed [`Rng`]).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman and Vigna): fast, small, and the same sequence on every platform.
///
/// ```
/// use aptp_clock::sim::Rng;
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!((0.0..1.0).contains(&a.uniform()));
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator from a seed (any seed, zero included).
    pub fn new(seed: u64) -> Self {
        let mut mix = seed;
        Self {
            state: [
                splitmix64(&mut mix),
                splitmix64(&mut mix),
                splitmix64(&mut mix),
                splitmix64(&mut mix),
            ],
        }
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in [low, high).
    pub fn uniform_in(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }
    /// True with probability `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        self.uniform() < probability
    }
    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let radius = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        radius * (2.0 * core::f64::consts::PI * self.uniform()).cos()
    }
    /// Log-normal with the given median and shape σ.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn reference_values_and_moments() {
        // splitmix64's published first output for seed 0.
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
        let mut rng = Rng::new(7);
        let count = 100_000;
        let mean = (0..count).map(|_| rng.exponential(10.0)).sum::<f64>() / count as f64;
        assert!((mean - 10.0).abs() < 0.2, "{mean}");
        let mut values: Vec<f64> = (0..count).map(|_| rng.log_normal(1.0, 0.7)).collect();
        values.sort_by(f64::total_cmp);
        assert!((values[count / 2] - 1.0).abs() < 0.02);
    }
}
