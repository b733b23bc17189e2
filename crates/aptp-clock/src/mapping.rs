//! The clock mapping: `remote = remote_ref + (local − local_ref) × rate`.

use crate::time::{Time, TimeDelta};

/// The largest |rate − 1| a mapping accepts (50 %): far beyond any real oscillator (PTP's
/// sanity limit is 20 %), and it keeps every mapping strictly increasing and invertible.
pub const MAX_RATE_OFFSET: f64 = 0.5;

/// A linear mapping between the local timescale and the remote (master's) one.
///
/// `rate` is remote seconds per local second; it is held as `rate − 1` in an `f64` so that the
/// product with a local interval keeps sub-nanosecond precision over days. Both conversions
/// are non-decreasing, and `to_local(to_remote(x))` is within a nanosecond of `x`.
///
/// ```
/// use aptp_clock::{ClockMapping, Time, TimeDelta};
/// let local_ref = Time::from_nanos(1_000_000_000);
/// let remote_ref = Time::from_secs_nanos(1_700_000_000, 0).unwrap();
/// let mapping = ClockMapping::with_rate_offset(local_ref, remote_ref, 50e-6); // remote 50 ppm fast
/// let later = local_ref + TimeDelta::from_secs(10);
/// assert_eq!(mapping.to_remote(later) - remote_ref, TimeDelta::from_nanos(10_000_500_000));
/// assert_eq!(mapping.to_local(mapping.to_remote(later)), later);
/// assert!((mapping.rate_ppb() - 50_000.0).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockMapping {
    local_ref: Time,
    remote_ref: Time,
    rate_offset: f64,
}

impl ClockMapping {
    /// A mapping through (`local_ref`, `remote_ref`) with `rate` remote seconds per local
    /// second; the rate is clamped to 1 ± [`MAX_RATE_OFFSET`] (a NaN rate becomes 1).
    pub fn new(local_ref: Time, remote_ref: Time, rate: f64) -> Self {
        Self::with_rate_offset(local_ref, remote_ref, rate - 1.0)
    }
    /// Same as [`new`](Self::new) with the rate given as `rate − 1`, which keeps precision
    /// for tiny offsets.
    pub fn with_rate_offset(local_ref: Time, remote_ref: Time, rate_offset: f64) -> Self {
        let rate_offset = if rate_offset.is_nan() {
            0.0
        } else {
            rate_offset.clamp(-MAX_RATE_OFFSET, MAX_RATE_OFFSET)
        };
        Self {
            local_ref,
            remote_ref,
            rate_offset,
        }
    }
    /// The local reference instant.
    pub const fn local_ref(&self) -> Time {
        self.local_ref
    }
    /// The remote time at the local reference instant.
    pub const fn remote_ref(&self) -> Time {
        self.remote_ref
    }
    /// Remote seconds per local second.
    pub fn rate(&self) -> f64 {
        1.0 + self.rate_offset
    }
    /// `rate − 1`.
    pub const fn rate_offset(&self) -> f64 {
        self.rate_offset
    }
    /// `(rate − 1) × 10^9`: how many ns a second the remote clock gains on the local one.
    pub fn rate_ppb(&self) -> f64 {
        self.rate_offset * 1e9
    }
    /// The remote time at a local instant.
    pub fn to_remote(&self, local: Time) -> Time {
        let elapsed = local - self.local_ref;
        self.remote_ref + elapsed + elapsed.mul_f64(self.rate_offset)
    }
    /// The local instant at which the remote clock shows `remote`.
    pub fn to_local(&self, remote: Time) -> Time {
        let elapsed = remote - self.remote_ref;
        // elapsed / (1 + r) = elapsed − elapsed × r / (1 + r): the big part stays integer.
        let shrink = -self.rate_offset / (1.0 + self.rate_offset);
        self.local_ref + elapsed + elapsed.mul_f64(shrink)
    }
    /// Remote minus local at a local instant.
    pub fn offset_at(&self, local: Time) -> TimeDelta {
        self.to_remote(local) - local
    }
    /// The same line, re-anchored at another local instant.
    pub fn rebased(&self, local: Time) -> Self {
        Self {
            local_ref: local,
            remote_ref: self.to_remote(local),
            rate_offset: self.rate_offset,
        }
    }
    /// The same rate, with the remote side shifted by `delta`.
    pub fn shifted(&self, delta: TimeDelta) -> Self {
        Self {
            remote_ref: self.remote_ref + delta,
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_clamped_and_nan_is_one() {
        let mapping = ClockMapping::new(Time::EPOCH, Time::EPOCH, 3.0);
        assert_eq!(mapping.rate(), 1.5);
        let mapping = ClockMapping::new(Time::EPOCH, Time::EPOCH, f64::NAN);
        assert_eq!(mapping.rate(), 1.0);
    }

    #[test]
    fn negative_rate_offset_and_rebase() {
        let mapping =
            ClockMapping::with_rate_offset(Time::from_nanos(0), Time::from_nanos(500), -1e-4);
        let local = Time::from_nanos(1_000_000);
        assert_eq!(mapping.to_remote(local), Time::from_nanos(1_000_400));
        assert_eq!(mapping.to_local(Time::from_nanos(1_000_400)), local);
        let rebased = mapping.rebased(local);
        assert_eq!(rebased.remote_ref(), Time::from_nanos(1_000_400));
        assert_eq!(
            rebased.to_remote(Time::from_nanos(0)),
            Time::from_nanos(500)
        );
        assert_eq!(mapping.offset_at(local), TimeDelta::from_nanos(400));
        assert_eq!(
            mapping.shifted(TimeDelta::from_nanos(7)).to_remote(local),
            Time::from_nanos(1_000_407)
        );
    }
}
