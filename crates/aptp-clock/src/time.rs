//! Time types: [`Time`] (an instant) and [`TimeDelta`] (a signed duration).
//!
//! Both count nanoseconds with 16 fractional bits ("scaled nanoseconds", the unit of the PTP
//! correctionField) in an `i128`, so a correctionField is carried exactly and a 48-bit PTP
//! seconds field (2^48 s ≈ 2.8 × 10^28 scaled ns) is nowhere near the range (≈ 1.7 × 10^38).
//!
//! # Arithmetic rule
//! The operators (`+`, `-`, unary `-`) **saturate** at the `i128` bounds instead of wrapping or
//! panicking; no value converted from a PTP timestamp, correctionField or RTP count can reach
//! them, so saturation only ever happens on nonsense input. Callers that want to know use the
//! `checked_*` methods, which return `None` instead of saturating.

use core::fmt;
use core::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Fractional bits of a scaled nanosecond.
pub const FRACTION_BITS: u32 = 16;
/// Scaled units per nanosecond (2^16).
pub const SCALED_PER_NANOSECOND: i128 = 1 << FRACTION_BITS;
/// Nanoseconds per second.
pub const NANOSECONDS_PER_SECOND: i128 = 1_000_000_000;
const SCALED_PER_SECOND: i128 = NANOSECONDS_PER_SECOND * SCALED_PER_NANOSECOND;

/// Errors from building a [`Time`] out of external fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The nanoseconds field was 10^9 or more.
    #[error("nanoseconds field {0} is not below 10^9")]
    NanosecondsOutOfRange(u32),
}

/// Divides rounding to the nearest integer, ties away from zero; `denominator > 0`. Defined
/// for every numerator, `i128::MIN` and `MAX` included (no intermediate overflows: the
/// engine's fuzzer reached a saturated offset step, where `numerator + half` overflowed).
pub(crate) const fn div_round(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // |remainder| < denominator ≤ i128::MAX, so twice it fits a u128. For an odd denominator
    // `2r ≥ d` is `2r ≥ d + 1`: both round exactly the halves away from zero.
    if remainder.unsigned_abs() * 2 < denominator.unsigned_abs() {
        quotient
    } else if numerator >= 0 {
        // quotient < i128::MAX here (a remainder needs a denominator of at least 2).
        quotient + 1
    } else {
        quotient - 1
    }
}

/// Divides rounding towards positive infinity; `denominator > 0`. Defined for every
/// numerator.
pub(crate) const fn div_ceil(numerator: i128, denominator: i128) -> i128 {
    let floor = numerator.div_euclid(denominator);
    if numerator.rem_euclid(denominator) == 0 {
        floor
    } else {
        floor + 1
    }
}

/// A signed duration in nanoseconds with 16 fractional bits.
///
/// ```
/// use aptp_clock::TimeDelta;
/// let correction = TimeDelta::from_correction_field(0x0001_8000); // 1.5 ns
/// assert_eq!(correction.scaled_nanos(), 0x0001_8000);
/// assert_eq!(TimeDelta::from_micros(3) - TimeDelta::from_nanos(500), TimeDelta::from_nanos(2_500));
/// assert_eq!(TimeDelta::from_nanos(7).nanos_rounded(), 7);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeDelta {
    scaled: i128,
}

impl TimeDelta {
    /// No time at all.
    pub const ZERO: Self = Self { scaled: 0 };
    /// The largest representable duration.
    pub const MAX: Self = Self { scaled: i128::MAX };
    /// The most negative representable duration.
    pub const MIN: Self = Self { scaled: i128::MIN };

    /// From scaled nanoseconds (nanoseconds × 2^16).
    pub const fn from_scaled_nanos(scaled: i128) -> Self {
        Self { scaled }
    }
    /// From a PTP correctionField (an `i64` of nanoseconds × 2^16), exactly.
    pub const fn from_correction_field(correction_field: i64) -> Self {
        Self {
            scaled: correction_field as i128,
        }
    }
    /// From whole nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self {
            scaled: (nanos as i128) << FRACTION_BITS,
        }
    }
    /// From whole nanoseconds in an `i128`, saturating.
    pub const fn from_nanos_i128(nanos: i128) -> Self {
        Self {
            scaled: nanos.saturating_mul(SCALED_PER_NANOSECOND),
        }
    }
    /// From whole microseconds.
    pub const fn from_micros(micros: i64) -> Self {
        Self {
            scaled: (micros as i128) * 1_000 * SCALED_PER_NANOSECOND,
        }
    }
    /// From whole milliseconds.
    pub const fn from_millis(millis: i64) -> Self {
        Self {
            scaled: (millis as i128) * 1_000_000 * SCALED_PER_NANOSECOND,
        }
    }
    /// From whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            scaled: (secs as i128) * SCALED_PER_SECOND,
        }
    }
    /// From (possibly fractional) nanoseconds in an `f64`, rounded to the nearest scaled
    /// nanosecond; saturates on overflow and maps NaN to zero.
    pub fn from_nanos_f64(nanos: f64) -> Self {
        // `as` from f64 to i128 saturates and maps NaN to 0: exactly the documented rule.
        Self {
            scaled: f64_to_scaled(round_half_away(nanos * SCALED_PER_NANOSECOND as f64)),
        }
    }
    /// From (possibly fractional) seconds in an `f64` (same rounding rule as
    /// [`from_nanos_f64`](Self::from_nanos_f64)).
    pub fn from_secs_f64(secs: f64) -> Self {
        Self::from_nanos_f64(secs * 1e9)
    }

    /// Scaled nanoseconds (nanoseconds × 2^16).
    pub const fn scaled_nanos(self) -> i128 {
        self.scaled
    }
    /// As a PTP correctionField, if it fits an `i64`.
    pub const fn to_correction_field(self) -> Option<i64> {
        if self.scaled > i64::MAX as i128 || self.scaled < i64::MIN as i128 {
            None
        } else {
            Some(self.scaled as i64)
        }
    }
    /// Whole nanoseconds, rounded to the nearest (ties away from zero).
    pub const fn nanos_rounded(self) -> i128 {
        div_round(self.scaled, SCALED_PER_NANOSECOND)
    }
    /// Whole nanoseconds, rounded towards negative infinity.
    pub const fn nanos_floor(self) -> i128 {
        self.scaled >> FRACTION_BITS
    }
    /// Nanoseconds as an `f64` (fractional part kept).
    pub fn as_nanos_f64(self) -> f64 {
        scaled_to_f64(self.scaled) / SCALED_PER_NANOSECOND as f64
    }
    /// Seconds as an `f64`.
    pub fn as_secs_f64(self) -> f64 {
        self.as_nanos_f64() * 1e-9
    }
    /// True when below zero.
    pub const fn is_negative(self) -> bool {
        self.scaled < 0
    }
    /// The absolute value (saturating: `MIN.abs()` is `MAX`).
    pub const fn abs(self) -> Self {
        Self {
            scaled: self.scaled.saturating_abs(),
        }
    }
    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.scaled.checked_add(other.scaled) {
            Some(scaled) => Some(Self { scaled }),
            None => None,
        }
    }
    /// `self - other`, or `None` on overflow.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.scaled.checked_sub(other.scaled) {
            Some(scaled) => Some(Self { scaled }),
            None => None,
        }
    }
    /// Half of the duration, rounded towards negative infinity (one scaled unit at most).
    pub const fn half(self) -> Self {
        Self {
            scaled: self.scaled >> 1,
        }
    }
    /// Multiplied by a factor, rounded to the nearest scaled nanosecond (saturating).
    pub fn mul_f64(self, factor: f64) -> Self {
        Self {
            scaled: f64_to_scaled(round_half_away(scaled_to_f64(self.scaled) * factor)),
        }
    }
}

impl Add for TimeDelta {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            scaled: self.scaled.saturating_add(other.scaled),
        }
    }
}
impl Sub for TimeDelta {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self {
            scaled: self.scaled.saturating_sub(other.scaled),
        }
    }
}
impl Neg for TimeDelta {
    type Output = Self;
    fn neg(self) -> Self {
        Self {
            scaled: self.scaled.saturating_neg(),
        }
    }
}
impl AddAssign for TimeDelta {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}
impl SubAssign for TimeDelta {
    fn sub_assign(&mut self, other: Self) {
        *self = *self - other;
    }
}
impl fmt::Debug for TimeDelta {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "TimeDelta({} ns)", self.as_nanos_f64())
    }
}

/// An instant: nanoseconds with 16 fractional bits since the epoch of its timescale (the PTP
/// epoch for a master's time, boot for CLOCK_MONOTONIC_RAW). Negative instants are allowed
/// (a mapping may extrapolate before an epoch) but do not convert to wire forms.
///
/// ```
/// use aptp_clock::{Time, TimeDelta};
/// let t = Time::from_secs_nanos(1_700_000_000, 250_000_000).unwrap();
/// assert_eq!(t.to_secs_nanos(), Some((1_700_000_000, 250_000_000)));
/// // 0.25 s is 0x4000_0000 in a 32.32 binary fraction.
/// assert_eq!(Time::from_secs_nanos(1, 250_000_000).unwrap().to_fixed_32_32(), Some(0x1_4000_0000));
/// assert_eq!((t + TimeDelta::from_millis(750)).to_secs_nanos(), Some((1_700_000_001, 0)));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    scaled: i128,
}

impl Time {
    /// The epoch of the timescale.
    pub const EPOCH: Self = Self { scaled: 0 };

    /// From scaled nanoseconds since the epoch.
    pub const fn from_scaled_nanos(scaled: i128) -> Self {
        Self { scaled }
    }
    /// From whole nanoseconds since the epoch (e.g. CLOCK_MONOTONIC_RAW).
    pub const fn from_nanos(nanos: u64) -> Self {
        Self {
            scaled: (nanos as i128) << FRACTION_BITS,
        }
    }
    /// From whole nanoseconds since the epoch in an `i128`, saturating.
    pub const fn from_nanos_i128(nanos: i128) -> Self {
        Self {
            scaled: nanos.saturating_mul(SCALED_PER_NANOSECOND),
        }
    }
    /// From a PTP timestamp's (seconds, nanoseconds); any `u64` of seconds fits, so 48-bit PTP
    /// seconds always do.
    ///
    /// # Errors
    /// [`TimeError::NanosecondsOutOfRange`] when `nanoseconds >= 10^9`.
    pub const fn from_secs_nanos(seconds: u64, nanoseconds: u32) -> Result<Self, TimeError> {
        if nanoseconds as i128 >= NANOSECONDS_PER_SECOND {
            return Err(TimeError::NanosecondsOutOfRange(nanoseconds));
        }
        Ok(Self {
            scaled: (seconds as i128) * SCALED_PER_SECOND
                + ((nanoseconds as i128) << FRACTION_BITS),
        })
    }
    /// To (seconds, nanoseconds), the fraction of a nanosecond truncated (as
    /// preciseOriginTimestamp does); `None` before the epoch or beyond `u64` seconds.
    pub const fn to_secs_nanos(self) -> Option<(u64, u32)> {
        if self.scaled < 0 {
            return None;
        }
        let seconds = self.scaled / SCALED_PER_SECOND;
        if seconds > u64::MAX as i128 {
            return None;
        }
        let nanoseconds = (self.scaled % SCALED_PER_SECOND) >> FRACTION_BITS;
        Some((seconds as u64, nanoseconds as u32))
    }
    /// From a 32.32 binary fraction (upper 32 bits seconds, lower 32 bits 2^-32 s), rounded to
    /// the nearest scaled nanosecond.
    pub const fn from_fixed_32_32(fixed: u64) -> Self {
        // fixed × 10^9 × 2^16 / 2^32 = fixed × 10^9 / 2^16; fixed × 10^9 < 2^94 fits.
        Self {
            scaled: div_round(fixed as i128 * NANOSECONDS_PER_SECOND, 1 << 16),
        }
    }
    /// To a 32.32 binary fraction, rounded to the nearest 2^-32 s; `None` before the epoch or
    /// from 2^32 s on.
    pub const fn to_fixed_32_32(self) -> Option<u64> {
        if self.scaled < 0 {
            return None;
        }
        let fixed = div_round(self.scaled << 16, NANOSECONDS_PER_SECOND);
        if fixed > u64::MAX as i128 {
            None
        } else {
            Some(fixed as u64)
        }
    }
    /// From whole seconds and a 64-bit binary fraction of a second (AirPlay's
    /// networkTimeSecs / networkTimeFrac), rounded to the nearest scaled nanosecond.
    pub const fn from_secs_fraction(seconds: u64, fraction: u64) -> Self {
        // fraction × 10^9 × 2^16 / 2^64 = fraction × 10^9 / 2^48; fraction × 10^9 < 2^94.
        let sub_second = div_round(fraction as i128 * NANOSECONDS_PER_SECOND, 1 << 48);
        Self {
            scaled: (seconds as i128) * SCALED_PER_SECOND + sub_second,
        }
    }
    /// To whole seconds and a 64-bit binary fraction, rounded to the nearest 2^-64 s;
    /// `None` before the epoch or beyond `u64` seconds.
    pub const fn to_secs_fraction(self) -> Option<(u64, u64)> {
        if self.scaled < 0 {
            return None;
        }
        let mut seconds = self.scaled / SCALED_PER_SECOND;
        let sub_second = self.scaled % SCALED_PER_SECOND;
        // sub_second < 2^46, so the shift stays below 2^94.
        let mut fraction = div_round(sub_second << 48, NANOSECONDS_PER_SECOND);
        if fraction > u64::MAX as i128 {
            seconds += 1;
            fraction = 0;
        }
        if seconds > u64::MAX as i128 {
            return None;
        }
        Some((seconds as u64, fraction as u64))
    }

    /// Scaled nanoseconds since the epoch.
    pub const fn scaled_nanos(self) -> i128 {
        self.scaled
    }
    /// Whole nanoseconds since the epoch, rounded to the nearest.
    pub const fn nanos_rounded(self) -> i128 {
        div_round(self.scaled, SCALED_PER_NANOSECOND)
    }
    /// `self - earlier` as a duration (saturating).
    pub const fn since(self, earlier: Self) -> TimeDelta {
        TimeDelta::from_scaled_nanos(self.scaled.saturating_sub(earlier.scaled))
    }
    /// `self + delta`, or `None` on overflow.
    pub const fn checked_add(self, delta: TimeDelta) -> Option<Self> {
        match self.scaled.checked_add(delta.scaled_nanos()) {
            Some(scaled) => Some(Self { scaled }),
            None => None,
        }
    }
    /// `self - delta`, or `None` on overflow.
    pub const fn checked_sub(self, delta: TimeDelta) -> Option<Self> {
        match self.scaled.checked_sub(delta.scaled_nanos()) {
            Some(scaled) => Some(Self { scaled }),
            None => None,
        }
    }
}

impl Add<TimeDelta> for Time {
    type Output = Self;
    fn add(self, delta: TimeDelta) -> Self {
        Self {
            scaled: self.scaled.saturating_add(delta.scaled_nanos()),
        }
    }
}
impl Sub<TimeDelta> for Time {
    type Output = Self;
    fn sub(self, delta: TimeDelta) -> Self {
        Self {
            scaled: self.scaled.saturating_sub(delta.scaled_nanos()),
        }
    }
}
impl Sub for Time {
    type Output = TimeDelta;
    fn sub(self, other: Self) -> TimeDelta {
        self.since(other)
    }
}
impl AddAssign<TimeDelta> for Time {
    fn add_assign(&mut self, delta: TimeDelta) {
        *self = *self + delta;
    }
}
impl SubAssign<TimeDelta> for Time {
    fn sub_assign(&mut self, delta: TimeDelta) {
        *self = *self - delta;
    }
}
impl fmt::Debug for Time {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.scaled.div_euclid(SCALED_PER_SECOND);
        let rest = self.scaled.rem_euclid(SCALED_PER_SECOND) as f64 / SCALED_PER_NANOSECOND as f64;
        write!(formatter, "Time({seconds} s + {rest} ns)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_nanos_round_trip_at_48_bits() {
        let max_48 = (1u64 << 48) - 1;
        let t = Time::from_secs_nanos(max_48, 999_999_999).unwrap();
        assert_eq!(t.to_secs_nanos(), Some((max_48, 999_999_999)));
        assert_eq!(
            Time::from_secs_nanos(0, 1_000_000_000),
            Err(TimeError::NanosecondsOutOfRange(1_000_000_000))
        );
        assert_eq!(Time::from_scaled_nanos(-1).to_secs_nanos(), None);
    }

    #[test]
    fn correction_field_is_exact() {
        for correction in [i64::MIN, -1, 0, 1, 0x1234_5678_9abc, i64::MAX] {
            let delta = TimeDelta::from_correction_field(correction);
            assert_eq!(delta.to_correction_field(), Some(correction));
        }
        assert_eq!(TimeDelta::from_secs(1_000_000).to_correction_field(), None);
    }

    #[test]
    fn fixed_32_32_round_trips() {
        for fixed in [
            0u64,
            1,
            0x8000_0000,
            0x1_0000_0000,
            0xFFFF_FFFF_FFFF_FFFF,
            0x1234_5678_9ABC_DEF0,
        ] {
            assert_eq!(Time::from_fixed_32_32(fixed).to_fixed_32_32(), Some(fixed));
        }
        assert_eq!(
            Time::from_fixed_32_32(0x2_8000_0000),
            Time::from_secs_nanos(2, 500_000_000).unwrap()
        );
        assert_eq!(
            Time::from_secs_nanos(1 << 32, 0).unwrap().to_fixed_32_32(),
            None
        );
    }

    #[test]
    fn secs_fraction_round_trips() {
        let t = Time::from_secs_fraction(42, 1 << 63);
        assert_eq!(t, Time::from_secs_nanos(42, 500_000_000).unwrap());
        assert_eq!(t.to_secs_fraction(), Some((42, 1 << 63)));
        let t =
            Time::from_secs_nanos(7, 999_999_999).unwrap() + TimeDelta::from_scaled_nanos(65_535);
        let (seconds, fraction) = t.to_secs_fraction().unwrap();
        assert_eq!(Time::from_secs_fraction(seconds, fraction), t);
    }

    #[test]
    fn operators_saturate_and_checked_reports() {
        assert_eq!(TimeDelta::MAX + TimeDelta::from_nanos(1), TimeDelta::MAX);
        assert_eq!(TimeDelta::MAX.checked_add(TimeDelta::from_nanos(1)), None);
        assert_eq!(-TimeDelta::MIN, TimeDelta::MAX);
        let t = Time::from_scaled_nanos(i128::MIN);
        assert_eq!(t - TimeDelta::from_nanos(1), t);
        assert_eq!(t.checked_sub(TimeDelta::from_nanos(1)), None);
    }

    #[test]
    fn rounding() {
        assert_eq!(TimeDelta::from_scaled_nanos(0x1_8000).nanos_rounded(), 2);
        assert_eq!(TimeDelta::from_scaled_nanos(-0x1_8000).nanos_rounded(), -2);
        assert_eq!(TimeDelta::from_scaled_nanos(-0x1_8000).nanos_floor(), -2);
        assert_eq!(TimeDelta::from_nanos_f64(1.5).scaled_nanos(), 0x1_8000);
        assert_eq!(TimeDelta::from_nanos_f64(f64::NAN), TimeDelta::ZERO);
        assert_eq!(div_ceil(-3, 2), -1);
        assert_eq!(div_ceil(3, 2), 2);
    }
}

/// `scaled as f64`, through `i64` whenever the value fits one: the same correctly rounded
/// result, but one instruction instead of the soft-float `i128` conversion, which dominated
/// the estimators' fits (every value they convert is a difference of nearby instants).
#[inline]
fn scaled_to_f64(scaled: i128) -> f64 {
    match i64::try_from(scaled) {
        // `black_box` keeps LLVM from folding `(x as i64) as f64` back into the `i128`
        // conversion it is equal to (it does, and then both arms call `__floattidf`).
        Ok(narrow) => core::hint::black_box(narrow) as f64,
        Err(_) => scaled as f64,
    }
}

/// `libm::round` (half away from zero), without its bit manipulation where the value fits an
/// `i64`: truncating through `i64` and comparing the exact remainder with ½ gives the same
/// integer. Beyond 2^52 every `f64` is already an integer (and NaN or ±∞ pass unchanged).
#[inline]
fn round_half_away(value: f64) -> f64 {
    const INTEGRAL_BEYOND: f64 = 4_503_599_627_370_496.0; // 2^52
    if value.is_nan() || value.abs() >= INTEGRAL_BEYOND {
        return value;
    }
    let truncated = core::hint::black_box(value as i64) as f64;
    // Exact: both are below 2^52 in magnitude and share a sign.
    let remainder = value - truncated;
    if remainder >= 0.5 {
        truncated + 1.0
    } else if remainder <= -0.5 {
        truncated - 1.0
    } else {
        truncated
    }
}

/// `value as i128` (saturating, NaN to 0), through `i64` whenever the value fits one: the same
/// result, without the soft-float conversion.
#[inline]
fn f64_to_scaled(value: f64) -> i128 {
    // 2^63 as f64 is exact; every f64 strictly inside (−2^63, 2^63) truncates into an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if value > -LIMIT && value < LIMIT {
        // As above: without `black_box` the two casts fold back into `__fixdfti`.
        core::hint::black_box(value as i64) as i128
    } else {
        value as i128
    }
}

#[cfg(test)]
mod division_tests {
    use super::{div_ceil, div_round};

    #[test]
    fn division_rounds_at_every_edge_without_overflow() {
        for denominator in [1i128, 2, 3, 7, 1 << 16, 1_000_000_000, i128::MAX] {
            for numerator in [
                i128::MIN,
                i128::MIN + 1,
                -denominator,
                denominator.saturating_mul(-3) / 2,
                -1,
                0,
                1,
                denominator / 2,
                denominator.saturating_mul(3) / 2,
                i128::MAX - 1,
                i128::MAX,
            ] {
                // Checked in i256-free terms: n = q·d + r exactly, so compare r with d / 2.
                let rounded = div_round(numerator, denominator);
                let (quotient, remainder) = (numerator / denominator, numerator % denominator);
                let expected = if remainder.unsigned_abs() * 2 < denominator.unsigned_abs() {
                    quotient
                } else {
                    quotient + numerator.signum()
                };
                assert_eq!(rounded, expected, "{numerator} / {denominator}");
                // The nearest, ties away from zero, wherever the product is representable.
                if let Some(error) = rounded
                    .checked_mul(denominator)
                    .and_then(|product| numerator.checked_sub(product))
                {
                    assert!(error.unsigned_abs() * 2 <= denominator.unsigned_abs());
                    if error.unsigned_abs() * 2 == denominator.unsigned_abs() {
                        assert_eq!(error.signum(), -numerator.signum(), "tie of {numerator}");
                    }
                }
                let ceiling = div_ceil(numerator, denominator);
                let floor = numerator.div_euclid(denominator);
                let exact = numerator.rem_euclid(denominator) == 0;
                assert_eq!(ceiling, if exact { floor } else { floor + 1 });
            }
        }
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-5, 3), -2);
        assert_eq!(div_round(i128::MAX, 1 << 16), (i128::MAX >> 16) + 1);
        assert_eq!(div_round(i128::MIN, 1 << 16), i128::MIN >> 16);
        assert_eq!(div_ceil(-5, 2), -2);
        assert_eq!(div_ceil(5, 2), 3);
    }
}

#[cfg(test)]
mod conversion_tests {
    #[test]
    fn round_half_away_is_libm_round() {
        let edges = [
            0.0,
            -0.0,
            0.49999999999999994,
            -0.49999999999999994,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            -9.3e18,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for value in edges {
            assert_eq!(super::round_half_away(value), libm::round(value), "{value}");
        }
        assert!(super::round_half_away(f64::NAN).is_nan());
        let mut state = 0x1234_5678_u64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let value = f64::from_bits(state);
            if value.is_nan() {
                continue;
            }
            let expected = libm::round(value);
            let got = super::round_half_away(value);
            // −0.0 and 0.0 are the same integer (both convert to scaled 0).
            assert!(got == expected, "{value:e}: {got} against {expected}");
            let small = (state >> 11) as f64 / 1024.0 - 4e12;
            assert_eq!(super::round_half_away(small), libm::round(small), "{small}");
        }
    }

    use super::*;

    #[test]
    fn narrow_conversions_agree_with_the_wide_ones() {
        let values: [i128; 9] = [
            0,
            1,
            -1,
            (1 << 53) + 1,
            -(1 << 60) - 12_345,
            i64::MAX as i128,
            i64::MIN as i128,
            i64::MAX as i128 + 1,
            i128::MIN,
        ];
        for value in values {
            assert_eq!(scaled_to_f64(value).to_bits(), (value as f64).to_bits());
        }
        let floats = [
            0.0,
            -0.0,
            0.9,
            -0.9,
            1e18,
            -1e18,
            9.2e18,
            -9.3e18,
            1e30,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for value in floats {
            assert_eq!(f64_to_scaled(value), value as i128, "{value}");
        }
    }
}
