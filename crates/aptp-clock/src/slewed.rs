//! A mapped clock that follows an estimator's mapping smoothly.

use crate::mapping::ClockMapping;
use crate::time::{Time, TimeDelta};

/// The largest slew a [`SlewedClock`] accepts (10 %), keeping its rate positive.
pub const MAX_SLEW_PPB: f64 = 100_000_000.0;

/// Follows the mappings an estimator produces without ever running backwards, and without
/// changing its phase faster than `max_slew_ppb` unless the update says a step was detected.
///
/// After [`update`](Self::update) at local instant `now`, the clock continues from the value it
/// had at `now` and runs at the target's rate ± the slew until it meets the target, then follows
/// the target exactly. A step (or the first update) jumps straight to the target.
///
/// Contract (for queries at or after the latest update's instant, with updates given in
/// non-decreasing `now`): mapped time is non-decreasing in the local instant and across updates,
/// continuous at each non-step update, and within the slew bound of the previous mapping.
/// An update with a `now` earlier than the previous one is applied at the previous one's instant.
///
/// ```
/// use aptp_clock::{ClockMapping, SlewedClock, Time, TimeDelta};
/// let mut clock = SlewedClock::new(500_000.0); // 500 ppm
/// let t0 = Time::from_nanos(1_000_000_000);
/// clock.update(t0, ClockMapping::new(t0, t0, 1.0), false);
/// // The estimate moves 1 ms ahead: the clock takes 2 s to catch up at 500 ppm.
/// let t1 = t0 + TimeDelta::from_secs(1);
/// clock.update(t1, ClockMapping::new(t0, t0 + TimeDelta::from_millis(1), 1.0), false);
/// assert_eq!(clock.to_remote(t1), Some(t1));
/// let t2 = t1 + TimeDelta::from_secs(1);
/// assert_eq!(clock.to_remote(t2), Some(t2 + TimeDelta::from_micros(500)));
/// let t4 = t1 + TimeDelta::from_secs(4);
/// assert_eq!(clock.to_remote(t4), Some(t4 + TimeDelta::from_millis(1)));
/// ```
#[derive(Clone, Debug)]
pub struct SlewedClock {
    max_slew: f64,
    segment: Option<ClockMapping>,
    target: Option<ClockMapping>,
    meets_target_at: Option<Time>,
    last_update: Time,
}

impl SlewedClock {
    /// A clock with no mapping yet; `max_slew_ppb` is clamped to `0..=`[`MAX_SLEW_PPB`].
    pub fn new(max_slew_ppb: f64) -> Self {
        let max_slew_ppb = if max_slew_ppb.is_nan() {
            0.0
        } else {
            max_slew_ppb.clamp(0.0, MAX_SLEW_PPB)
        };
        Self {
            max_slew: max_slew_ppb * 1e-9,
            segment: None,
            target: None,
            meets_target_at: None,
            last_update: Time::from_scaled_nanos(i128::MIN),
        }
    }
    /// The mapping it is converging to.
    pub const fn target(&self) -> Option<ClockMapping> {
        self.target
    }
    /// Forgets everything (the next update jumps).
    pub fn reset(&mut self) {
        *self = Self::new(self.max_slew * 1e9);
    }
    /// Takes a new target mapping at local instant `now`; `step` allows a jump.
    pub fn update(&mut self, now: Time, target: ClockMapping, step: bool) {
        let now = if now < self.last_update {
            self.last_update
        } else {
            now
        };
        self.last_update = now;
        let current = match self.to_remote(now) {
            Some(current) if !step => current,
            _ => {
                self.segment = Some(target);
                self.target = Some(target);
                self.meets_target_at = None;
                return;
            }
        };
        let gap = target.to_remote(now) - current;
        self.target = Some(target);
        if gap == TimeDelta::ZERO || self.max_slew == 0.0 {
            // With no slew allowed the clock keeps the new rate and its own phase.
            self.segment = Some(ClockMapping::with_rate_offset(
                now,
                current,
                target.rate_offset(),
            ));
            self.meets_target_at = if gap == TimeDelta::ZERO {
                Some(now)
            } else {
                None
            };
            return;
        }
        let slew = if gap.is_negative() {
            -self.max_slew
        } else {
            self.max_slew
        };
        self.segment = Some(ClockMapping::with_rate_offset(
            now,
            current,
            target.rate_offset() + slew,
        ));
        let catch_up = TimeDelta::from_nanos_f64(gap.abs().as_nanos_f64() / self.max_slew);
        self.meets_target_at = Some(now + catch_up);
    }
    /// The remote time at a local instant, `None` before the first update.
    pub fn to_remote(&self, local: Time) -> Option<Time> {
        let segment = self.segment?;
        match (self.meets_target_at, self.target) {
            (Some(meet), Some(target)) if local >= meet => {
                // Never below the segment's value at the meeting point: rounding cannot make
                // time run backwards there.
                Some(target.to_remote(local).max(segment.to_remote(meet)))
            }
            _ => Some(segment.to_remote(local)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_jumps_and_backward_gap_slews() {
        let mut clock = SlewedClock::new(1_000_000.0); // 1000 ppm
        let t0 = Time::from_nanos(10_000_000_000);
        assert_eq!(clock.to_remote(t0), None);
        clock.update(t0, ClockMapping::new(t0, t0, 1.0), false);
        let back = ClockMapping::new(t0, t0 - TimeDelta::from_millis(1), 1.0);
        clock.update(t0, back, false);
        let later = t0 + TimeDelta::from_millis(500);
        assert_eq!(
            clock.to_remote(later),
            Some(later - TimeDelta::from_micros(500))
        );
        clock.update(
            later,
            ClockMapping::new(t0, t0 + TimeDelta::from_secs(1), 1.0),
            true,
        );
        assert_eq!(
            clock.to_remote(later),
            Some(later + TimeDelta::from_secs(1))
        );
    }
}
