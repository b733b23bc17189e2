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
///
/// The slots are also kept in order of their round trip at the rate last judged at, so that
/// a judgement at the same rate (every one between two fits) reads the minimum, the median and
/// the MAD off the order instead of selecting twice among `N` values: one insertion per
/// record, and a sort only when the rate changed.
#[derive(Clone, Debug)]
pub(crate) struct RoundTripHistory<const N: usize> {
    rule: OutlierRule,
    min_history: usize,
    raw_ns: [f64; N],
    gap_ns: [f64; N],
    len: usize,
    next: usize,
    /// The first `len` are the held slots, by their round trip at `order_rate`
    /// ([`f64::total_cmp`]); `None` when not ordered at any rate yet.
    order: [usize; N],
    order_rate: Option<f64>,
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
            order: [0; N],
            order_rate: None,
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

    /// The round trip held in `slot` at `rate_offset` (ns).
    fn slot_at_rate(&self, slot: usize, rate_offset: f64) -> f64 {
        self.raw_ns[slot] - self.gap_ns[slot] * rate_offset
    }

    /// The smallest held round trip at `rate_offset`.
    pub(crate) fn min_round_trip(&self, rate_offset: f64) -> Option<TimeDelta> {
        let minimum = self.at_rate(rate_offset).fold(f64::INFINITY, f64::min);
        minimum
            .is_finite()
            .then(|| TimeDelta::from_nanos_f64(minimum))
    }

    /// Orders the held slots at `rate_offset`, unless they already are.
    fn order_at(&mut self, rate_offset: f64) {
        if self.order_rate == Some(rate_offset) {
            return;
        }
        // While filling, the held slots are 0..len; once full, all of them.
        for (position, slot) in self.order.iter_mut().enumerate().take(self.len) {
            *slot = position;
        }
        let (raw_ns, gap_ns) = (&self.raw_ns, &self.gap_ns);
        self.order[..self.len].sort_unstable_by(|a, b| {
            let a = raw_ns[*a] - gap_ns[*a] * rate_offset;
            let b = raw_ns[*b] - gap_ns[*b] * rate_offset;
            a.total_cmp(&b)
        });
        self.order_rate = Some(rate_offset);
    }

    /// The median absolute deviation from `median` of the held round trips at `rate_offset`
    /// (`middle_of` the distances), off the
    /// order: from the median outwards the distances grow on both sides, so each middle one
    /// is the rank-th of two ascending sequences (a bisection, no walk).
    fn mad(&self, median: f64, rate_offset: f64) -> f64 {
        let order = &self.order[..self.len];
        let value = |position: usize| self.slot_at_rate(order[position], rate_offset);
        // Below `above` the round trips lie under the median, from `above` on at or over it.
        let above = order.partition_point(|slot| self.slot_at_rate(*slot, rate_offset) < median);
        let below = |index: usize| (value(above - 1 - index) - median).abs();
        let over = |index: usize| (value(above + index) - median).abs();
        middle_of(order.len(), |rank| {
            nth_of_two(above, below, order.len() - above, over, rank)
        })
    }

    /// The minimum and the allowed excess at `rate_offset` (ns).
    fn bounds(&mut self, rate_offset: f64) -> Option<(f64, f64)> {
        if self.len == 0 {
            return None;
        }
        self.order_at(rate_offset);
        let value = |position: usize| self.slot_at_rate(self.order[position], rate_offset);
        let minimum = value(0);
        if !minimum.is_finite() {
            return None;
        }
        let excess = match self.rule {
            OutlierRule::Threshold(threshold) => threshold.as_nanos_f64(),
            OutlierRule::MadMultiple { k, floor } => {
                let median = middle_of(self.len, value);
                (self.mad(median, rate_offset) * k).max(floor.as_nanos_f64())
            }
        };
        Some((minimum, excess))
    }

    /// Judges a round trip (raw, with its gap) at `rate_offset`, without recording it.
    pub(crate) fn judge(
        &mut self,
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
        let slot = self.next;
        // Ordered, the slot's old round trip leaves the order and the new one joins it in
        // place; otherwise the next judgement sorts.
        if self.order_rate.is_some() && self.len == N {
            if let Some(position) = self.order.iter().position(|held| *held == slot) {
                self.order.copy_within(position + 1..N, position);
                self.len -= 1;
            }
        }
        self.raw_ns[slot] = raw.as_nanos_f64();
        self.gap_ns[slot] = gap.as_nanos_f64();
        if let Some(rate_offset) = self.order_rate {
            let value = self.slot_at_rate(slot, rate_offset);
            let position = self.order[..self.len].partition_point(|held| {
                self.slot_at_rate(*held, rate_offset)
                    .total_cmp(&value)
                    .is_lt()
            });
            self.order.copy_within(position..self.len, position + 1);
            self.order[position] = slot;
            self.len += 1;
        } else {
            self.len = (self.len + 1).min(N);
        }
        self.next = (self.next + 1) % N;
    }
}

/// The median of `count` (at least one) values given in ascending order by `nth`: the middle
/// one, or the mean of the two middle ones for an even count, as `select::median`.
fn middle_of(count: usize, nth: impl Fn(usize) -> f64) -> f64 {
    let middle = count / 2;
    if count % 2 == 0 {
        (nth(middle - 1) + nth(middle)) / 2.0
    } else {
        nth(middle)
    }
}

/// The `rank`-th smallest (from 0) of two ascending sequences of `first_len` and
/// `second_len` values (`rank` below their total): how many of it come from the first is
/// found by bisection, the taken ones of each side all lying at or below the other's next.
fn nth_of_two(
    first_len: usize,
    first: impl Fn(usize) -> f64,
    second_len: usize,
    second: impl Fn(usize) -> f64,
    rank: usize,
) -> f64 {
    let take = rank + 1;
    let (mut low, mut high) = (take.saturating_sub(second_len), take.min(first_len));
    // The first split whose next value of the first is not below the last taken of the
    // second (taking more of the first then would skip a smaller value of the second).
    while low < high {
        let from_first = low + (high - low) / 2;
        if first(from_first) < second(take - from_first - 1) {
            low = from_first + 1;
        } else {
            high = from_first;
        }
    }
    let from_first = low;
    let from_second = take - from_first;
    let last_first = if from_first > 0 {
        first(from_first - 1)
    } else {
        f64::NEG_INFINITY
    };
    let last_second = if from_second > 0 {
        second(from_second - 1)
    } else {
        f64::NEG_INFINITY
    };
    last_first.max(last_second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The bounds as they were computed before the order was kept: two selections over the
    /// held round trips at the rate.
    fn selected_bounds<const N: usize>(
        history: &RoundTripHistory<N>,
        rate_offset: f64,
    ) -> Option<(f64, f64)> {
        let mut held: Vec<f64> = history.at_rate(rate_offset).collect();
        let minimum = held.iter().copied().fold(f64::INFINITY, f64::min);
        if !minimum.is_finite() {
            return None;
        }
        let excess = match history.rule {
            OutlierRule::Threshold(threshold) => threshold.as_nanos_f64(),
            OutlierRule::MadMultiple { k, floor } => {
                let median = crate::estimator::select::median(&mut held)?;
                for value in held.iter_mut() {
                    *value = (*value - median).abs();
                }
                let mad = crate::estimator::select::median(&mut held)?;
                (mad * k).max(floor.as_nanos_f64())
            }
        };
        Some((minimum, excess))
    }

    proptest! {
        #[test]
        fn nth_of_two_equals_the_merged_sort(
            mut first in proptest::collection::vec(0u16..50, 0..20),
            mut second in proptest::collection::vec(0u16..50, 0..20),
            rank in 0usize..40,
        ) {
            first.sort_unstable();
            second.sort_unstable();
            let mut merged: Vec<u16> = first.iter().chain(second.iter()).copied().collect();
            merged.sort_unstable();
            prop_assume!(rank < merged.len());
            let value = nth_of_two(
                first.len(),
                |index| f64::from(first[index]),
                second.len(),
                |index| f64::from(second[index]),
                rank,
            );
            prop_assert_eq!(value, f64::from(merged[rank]));
        }

        /// Read off the kept order, the bounds are bit for bit the selections' at every rate,
        /// whether the rate changes between judgements (a sort) or not (insertions only).
        #[test]
        fn ordered_bounds_equal_selected_bounds(
            steps in proptest::collection::vec(
                (0i64..5_000_000, -2_000_000_000i64..2_000_000_000, 0usize..4),
                1..200,
            ),
        ) {
            let rule = OutlierRule::MadMultiple { k: 3.0, floor: TimeDelta::from_micros(2) };
            let mut history = RoundTripHistory::<16>::new(rule, 1);
            let rates = [0.0, 20e-6, -35e-6, 1e-9];
            for (raw_ns, gap_ns, rate) in steps {
                let rate_offset = rates[rate];
                let expected = selected_bounds(&history, rate_offset);
                prop_assert_eq!(history.bounds(rate_offset), expected);
                history.record(TimeDelta::from_nanos(raw_ns), TimeDelta::from_nanos(gap_ns));
            }
        }
    }

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
