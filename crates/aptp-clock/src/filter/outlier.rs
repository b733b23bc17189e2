//! Round-trip based outlier rejection.

use crate::time::TimeDelta;

/// When an exchange counts as an outlier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutlierRule {
    /// Reject when the round trip exceeds the recent minimum by more than this.
    Threshold(TimeDelta),
    /// Reject when the round trip exceeds the recent minimum by more than `k` times the median
    /// absolute deviation of the recent round trips, but never below `floor`.
    MadMultiple {
        /// The multiple of the MAD.
        k: f64,
        /// The smallest excess that is ever rejected.
        floor: TimeDelta,
    },
}

/// Drops exchanges whose round trip (both one-way delays added) exceeds the recent minimum by
/// more than the [`OutlierRule`] allows: such an exchange met queueing, so its offset is wrong
/// by up to half of the excess.
///
/// Contract: [`check`](Self::check) judges a round trip against the newest `N` round trips
/// recorded before it (every one is accepted while fewer than `min_history` are held), then
/// records it whatever the verdict, so the minimum follows a lasting change of route within
/// `N` exchanges.
///
/// ```
/// use aptp_clock::{OutlierRule, RoundTripOutlierFilter, TimeDelta};
/// let mut filter = RoundTripOutlierFilter::<32>::new(OutlierRule::Threshold(TimeDelta::from_micros(100)), 4);
/// for micros in [500, 520, 510, 505] {
///     assert!(filter.check(TimeDelta::from_micros(micros)));
/// }
/// assert!(filter.check(TimeDelta::from_micros(590)));
/// assert!(!filter.check(TimeDelta::from_micros(20_000)));
/// ```
#[derive(Clone, Debug)]
pub struct RoundTripOutlierFilter<const N: usize> {
    rule: OutlierRule,
    min_history: usize,
    round_trips: [TimeDelta; N],
    len: usize,
    next: usize,
}

impl<const N: usize> RoundTripOutlierFilter<N> {
    /// A filter with a rule, accepting everything until `min_history` round trips are held.
    pub fn new(rule: OutlierRule, min_history: usize) -> Self {
        Self {
            rule,
            min_history,
            round_trips: [TimeDelta::ZERO; N],
            len: 0,
            next: 0,
        }
    }
    /// Forgets the history.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
    /// The smallest round trip held.
    pub fn min_round_trip(&self) -> Option<TimeDelta> {
        self.round_trips[..self.len].iter().copied().min()
    }
    /// The largest excess over the minimum that is accepted now.
    pub fn accepted_excess(&self) -> Option<TimeDelta> {
        if self.len == 0 {
            return None;
        }
        Some(match self.rule {
            OutlierRule::Threshold(threshold) => threshold,
            OutlierRule::MadMultiple { k, floor } => {
                let mut sorted = self.round_trips;
                let held = &mut sorted[..self.len];
                let median = super::median_in_place(held)?;
                for value in held.iter_mut() {
                    *value = (*value - median).abs();
                }
                let mad = super::median_in_place(held)?;
                let allowed = mad.mul_f64(k);
                if allowed > floor {
                    allowed
                } else {
                    floor
                }
            }
        })
    }
    /// True when `round_trip` is accepted; records it either way.
    pub fn check(&mut self, round_trip: TimeDelta) -> bool {
        let accepted = if self.len < self.min_history.max(1) {
            true
        } else {
            match (self.min_round_trip(), self.accepted_excess()) {
                (Some(minimum), Some(excess)) => round_trip - minimum <= excess,
                _ => true,
            }
        };
        if N > 0 {
            self.round_trips[self.next] = round_trip;
            self.next = (self.next + 1) % N;
            if self.len < N {
                self.len += 1;
            }
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mad_rule_scales_with_spread() {
        let rule = OutlierRule::MadMultiple {
            k: 3.0,
            floor: TimeDelta::from_micros(1),
        };
        let mut filter = RoundTripOutlierFilter::<16>::new(rule, 8);
        for micros in [100, 110, 90, 105, 95, 100, 120, 80] {
            assert!(filter.check(TimeDelta::from_micros(micros)));
        }
        // median 100, MAD 7.5 → 22.5 µs accepted above the minimum of 80.
        assert_eq!(
            filter.accepted_excess(),
            Some(TimeDelta::from_nanos(22_500))
        );
        assert!(filter.check(TimeDelta::from_micros(102)));
        assert!(!filter.check(TimeDelta::from_micros(103)));
    }

    #[test]
    fn minimum_follows_a_route_change() {
        let mut filter =
            RoundTripOutlierFilter::<4>::new(OutlierRule::Threshold(TimeDelta::from_micros(10)), 1);
        filter.check(TimeDelta::from_micros(100));
        for _ in 0..4 {
            filter.check(TimeDelta::from_micros(300));
        }
        assert!(filter.check(TimeDelta::from_micros(305)));
    }
}
