//! Round-trip outlier rejection that stays right while the rate is still being learnt.
//!
//! A round trip `(t2 − t1) + (t4 − t3)` carries the clocks' relative drift between t2 and t3:
//! `(t3 − t2) × rate_offset`. At 1 Hz, with Delay_Req sent at random instants up to 2 s away
//! from the Sync it is paired with, that is up to 40 µs at 20 ppm, far beyond a wired link's
//! noise. [`RoundTripOutlierFilter`](crate::RoundTripOutlierFilter) keeps round trips already
//! corrected at the rate of their time, so the ones corrected at an early, wrong rate stay in
//! its history (and can hold its minimum) for its whole length. This history keeps each round
//! trip raw with its gap `t3 − t2`, and judges at the current rate every time.

use crate::filter::OutlierRule;
use crate::time::TimeDelta;

/// What [`RoundTripHistory::judge`] concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoundTripVerdict {
    /// Within the allowed excess over the recent minimum (or too little history to judge).
    Accepted,
    /// Exceeds the recent minimum by more than the allowed excess: it met queueing.
    TooLong,
    /// Shorter than the recent minimum by more than the allowed excess: no queueing makes a
    /// packet faster, so a timestamp is wrong (garbled, forged, or the master stepped between
    /// the Sync and the Delay_Req it is paired with).
    TooShort,
}

/// The newest `N` round trips, raw, with their t2 → t3 gaps, as `f64` nanoseconds: each
/// judgement reads all of them at a new rate, and 128-bit arithmetic there cost more than
/// the rest of an update (an `f64` holds a round trip of seconds to a picosecond).
#[derive(Clone, Debug)]
pub(crate) struct RoundTripHistory<const N: usize> {
    rule: OutlierRule,
    min_history: usize,
    raw_ns: [f64; N],
    gap_ns: [f64; N],
    len: usize,
    next: usize,
}

impl<const N: usize> RoundTripHistory<N> {
    pub(crate) fn new(rule: OutlierRule, min_history: usize) -> Self {
        Self {
            rule,
            min_history,
            raw_ns: [0.0; N],
            gap_ns: [0.0; N],
            len: 0,
            next: 0,
        }
    }

    /// The held round trips at `rate_offset` (ns).
    fn at_rate(&self, rate_offset: f64) -> impl Iterator<Item = f64> + '_ {
        self.raw_ns
            .iter()
            .zip(self.gap_ns.iter())
            .take(self.len)
            .map(move |(raw, gap)| raw - gap * rate_offset)
    }

    /// The smallest held round trip at `rate_offset`.
    pub(crate) fn min_round_trip(&self, rate_offset: f64) -> Option<TimeDelta> {
        let minimum = self.at_rate(rate_offset).fold(f64::INFINITY, f64::min);
        minimum
            .is_finite()
            .then(|| TimeDelta::from_nanos_f64(minimum))
    }

    /// The minimum and the allowed excess at `rate_offset` (ns).
    fn bounds(&self, rate_offset: f64) -> Option<(f64, f64)> {
        let mut values = [0.0f64; N];
        for (slot, value) in values.iter_mut().zip(self.at_rate(rate_offset)) {
            *slot = value;
        }
        let held = &mut values[..self.len];
        let minimum = held.iter().copied().fold(f64::INFINITY, f64::min);
        if !minimum.is_finite() {
            return None;
        }
        let excess = match self.rule {
            OutlierRule::Threshold(threshold) => threshold.as_nanos_f64(),
            OutlierRule::MadMultiple { k, floor } => {
                let median = super::select::median(held)?;
                for value in held.iter_mut() {
                    *value = (*value - median).abs();
                }
                let mad = super::select::median(held)?;
                (mad * k).max(floor.as_nanos_f64())
            }
        };
        Some((minimum, excess))
    }

    /// Judges a round trip (raw, with its gap) at `rate_offset`, without recording it.
    pub(crate) fn judge(
        &self,
        raw: TimeDelta,
        gap: TimeDelta,
        rate_offset: f64,
    ) -> RoundTripVerdict {
        if self.len < self.min_history.max(1) {
            return RoundTripVerdict::Accepted;
        }
        let Some((minimum, excess)) = self.bounds(rate_offset) else {
            return RoundTripVerdict::Accepted;
        };
        let round_trip = raw.as_nanos_f64() - gap.as_nanos_f64() * rate_offset;
        if round_trip - minimum > excess {
            RoundTripVerdict::TooLong
        } else if minimum - round_trip > excess {
            RoundTripVerdict::TooShort
        } else {
            RoundTripVerdict::Accepted
        }
    }

    /// Records a round trip; the oldest goes when full.
    pub(crate) fn record(&mut self, raw: TimeDelta, gap: TimeDelta) {
        if N == 0 {
            return;
        }
        self.raw_ns[self.next] = raw.as_nanos_f64();
        self.gap_ns[self.next] = gap.as_nanos_f64();
        self.next = (self.next + 1) % N;
        self.len = (self.len + 1).min(N);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_judged_at_the_current_rate() {
        let rule = OutlierRule::MadMultiple {
            k: 3.0,
            floor: TimeDelta::from_micros(2),
        };
        let mut history = RoundTripHistory::<16>::new(rule, 4);
        // True round trip 100 µs; the raw ones carry 20 ppm over gaps of −1 s .. +1 s.
        let rate = 20e-6;
        for gap_ms in [-1_000i64, 1_000, -500, 500, 0, 800] {
            let gap = TimeDelta::from_millis(gap_ms);
            let raw = TimeDelta::from_micros(100) + gap.mul_f64(rate);
            history.record(raw, gap);
        }
        let gap = TimeDelta::from_millis(-900);
        let raw = TimeDelta::from_micros(100) + gap.mul_f64(rate);
        // At the true rate every one agrees; at rate 0 the spread is ±20 µs.
        assert_eq!(history.judge(raw, gap, rate), RoundTripVerdict::Accepted);
        assert_eq!(
            history.min_round_trip(rate),
            Some(TimeDelta::from_micros(100))
        );
        assert_eq!(
            history.judge(raw + TimeDelta::from_micros(10), gap, rate),
            RoundTripVerdict::TooLong
        );
        assert_eq!(
            history.judge(raw - TimeDelta::from_micros(10), gap, rate),
            RoundTripVerdict::TooShort
        );
    }
}
