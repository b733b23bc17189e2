//! The default estimator's long memory: of every second, only the least-delayed Sync and the
//! least-delayed Delay_Req, for windows longer than the exchanges themselves are kept.
//!
//! On Wi-Fi the line's error at "now" is mostly its slope's (a line fitted over T seconds is
//! twice as uncertain at its end as at its centre), and an oscillator that wanders by a few
//! ppb/√s stays on a line for minutes: longer windows pay. Keeping every exchange for 256 s
//! at 8 Hz would take 2048 points; the best of each direction per second keeps what a
//! lucky-packet fit uses in 256 fixed slots.

use crate::estimator::select::nth_smallest;
use crate::estimator::shared::PointRing;
use crate::time::{Time, TimeDelta};

/// Seconds of bins held (the longest window they can serve).
pub(super) const BIN_COUNT: usize = 256;
/// The span of one bin.
pub(super) const BIN_SPAN: TimeDelta = TimeDelta::from_secs(1);

/// One direction's observation: `t1 − t2` at t2 (forward) or `t4 − t3` at t3 (backward).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Observation {
    pub(super) at: Time,
    pub(super) value: TimeDelta,
}

/// The least-delayed observation of each direction within one second.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Bin {
    start: Time,
    pub(super) forward: Option<Observation>,
    pub(super) backward: Option<Observation>,
}

impl Bin {
    /// When the bin opened.
    pub(super) fn start(&self) -> Time {
        self.start
    }

    /// Keeps `forward` if it lies higher (less delayed) along `rate_offset` than the one held,
    /// `backward` if it lies lower.
    fn offer(&mut self, forward: Observation, backward: Observation, rate_offset: f64) {
        let along = |observation: &Observation| {
            observation.value.as_nanos_f64()
                - rate_offset * (observation.at - self.start).as_nanos_f64()
        };
        if self
            .forward
            .is_none_or(|held| along(&forward) > along(&held))
        {
            self.forward = Some(forward);
        }
        if self
            .backward
            .is_none_or(|held| along(&backward) < along(&held))
        {
            self.backward = Some(backward);
        }
    }

    /// Moves the observations made before `before` (all with `None`) by `by`.
    fn shift(&mut self, by: TimeDelta, before: Option<Time>) {
        for observation in [&mut self.forward, &mut self.backward]
            .into_iter()
            .flatten()
        {
            if before.is_none_or(|before| observation.at < before) {
                observation.value += by;
            }
        }
    }
}

/// The bins of the last [`BIN_COUNT`] seconds, the open one apart.
#[derive(Clone, Debug)]
pub(super) struct Bins {
    closed: PointRing<Bin, BIN_COUNT>,
    open: Option<Bin>,
    /// How many bins (the open one included) are read, at most [`BIN_COUNT`].
    capacity: usize,
    /// A bin opened (so one closed) or the observations moved since the lines over the bins
    /// were last fitted: they must be fitted again. Between two openings the lines stay (the
    /// open bin is at most a second of 128 or 256), which spares seven fits in eight at 8 Hz.
    refit_due: bool,
}

impl Bins {
    /// Bins of which at most `capacity` (clamped to 1 ..= [`BIN_COUNT`]) are read.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            closed: PointRing::new(),
            open: None,
            capacity: capacity.clamp(1, BIN_COUNT),
            refit_due: true,
        }
    }

    /// Whether the bins changed in a way that calls for new lines since the last call; clears
    /// the flag.
    pub(super) fn take_refit_due(&mut self) -> bool {
        core::mem::replace(&mut self.refit_due, false)
    }

    /// Takes an accepted exchange's two directions; a bin closes a second after it opened.
    pub(super) fn offer(&mut self, forward: Observation, backward: Observation, rate_offset: f64) {
        let mut open = match self.open {
            Some(open) if forward.at - open.start < BIN_SPAN => open,
            Some(open) => {
                self.closed.push(open);
                self.refit_due = true;
                Bin {
                    start: forward.at,
                    ..Bin::default()
                }
            }
            None => {
                self.refit_due = true;
                Bin {
                    start: forward.at,
                    ..Bin::default()
                }
            }
        };
        open.offer(forward, backward, rate_offset);
        self.open = Some(open);
    }

    /// The bins that opened at or after `since`, newest (the open one) first; at most
    /// the capacity of them.
    pub(super) fn since(&self, since: Time) -> impl Iterator<Item = &Bin> + Clone {
        self.open
            .iter()
            .chain(self.closed.newest(BIN_COUNT))
            .take_while(move |bin| bin.start >= since)
            .take(self.capacity)
    }

    /// Moves every observation made before `before` (all with `None`) by `by`: the master
    /// stepped.
    pub(super) fn shift(&mut self, by: TimeDelta, before: Option<Time>) {
        self.refit_due = true;
        for bin in self.closed.slots_mut().iter_mut().chain(self.open.as_mut()) {
            bin.shift(by, before);
        }
    }
}

/// Where the newest segment of one direction's observations puts its lucky ones: the least
/// delayed value there and the queueing scale its weights fall off at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LuckyEdge {
    pub(super) best: f64,
    pub(super) threshold: f64,
}

impl LuckyEdge {
    /// How far `value` lies from the least delayed, in queueing scales (`lucky_high`: as in
    /// [`queueing_weights`]); below 0 for a new least delayed.
    pub(super) fn scales_from_best(&self, value: f64, lucky_high: bool) -> f64 {
        let distance = if lucky_high {
            self.best - value
        } else {
            value - self.best
        };
        distance / self.threshold
    }
}

/// [`queueing_weights`] for both directions at once: `forward` holds the Syncs' observations
/// (least delayed highest), `backward` the Delay_Req's (least delayed lowest). Returns each
/// direction's newest segment's [`LuckyEdge`].
pub(super) fn queueing_weights_both(
    forward: &mut [f64],
    backward: &mut [f64],
    fraction: f64,
    min_scale: f64,
    sorted: &mut [f64],
    segment: usize,
) -> (Option<LuckyEdge>, Option<LuckyEdge>) {
    (
        queueing_weights(forward, true, fraction, min_scale, sorted, segment),
        queueing_weights(backward, false, fraction, min_scale, sorted, segment),
    )
}

/// Weights against queueing, one direction: `values` (NaN where there is none) are that
/// direction's observations along the current rate; the least delayed is the highest
/// (`lucky_high`, Syncs: queueing lowers `t1 − t2`) or the lowest (Delay_Req). The least
/// delayed `fraction` of them weigh (nearly) 1 and the rest (nearly) 0: `1 / (1 + (q / t)⁸)`,
/// `q` the distance from the least delayed, `t` the `fraction` quantile of those distances
/// (at least `min_scale`); NaN weighs 0. On log-normal queueing the mean of the least-delayed
/// tenth estimates the path within 1.1 × the Cramér–Rao bound, where weights falling off as
/// `1 / (1 + (q / s)²)` need 1.5 ×.
pub(super) fn queueing_weights(
    values: &mut [f64],
    lucky_high: bool,
    fraction: f64,
    min_scale: f64,
    sorted: &mut [f64],
    segment: usize,
) -> Option<LuckyEdge> {
    let segment = segment.max(1);
    let count = values.len();
    let mut start = 0;
    let mut newest = None;
    while start < count {
        // A short remainder joins the segment before it.
        let end = if count - start < segment + segment / 2 {
            count
        } else {
            start + segment
        };
        let edge = weigh_segment(
            &mut values[start..end],
            lucky_high,
            fraction,
            min_scale,
            sorted,
        );
        if start == 0 {
            newest = edge;
        }
        start = end;
    }
    newest
}

/// Where [`queueing_weights`] starts the last segment of `count` values cut in `segment`s
/// (a short remainder joins the segment before it).
pub(super) fn last_segment_start(count: usize, segment: usize) -> usize {
    let segment = segment.max(1);
    let mut start = 0;
    while count - start >= segment + segment / 2 {
        start += segment;
    }
    start
}

fn weigh_segment(
    values: &mut [f64],
    lucky_high: bool,
    fraction: f64,
    min_scale: f64,
    sorted: &mut [f64],
) -> Option<LuckyEdge> {
    let finite = || values.iter().copied().filter(|value| value.is_finite());
    let best = if lucky_high {
        finite().fold(f64::NEG_INFINITY, f64::max)
    } else {
        finite().fold(f64::INFINITY, f64::min)
    };
    let mut count = 0;
    for (slot, value) in sorted.iter_mut().zip(finite()) {
        *slot = (value - best).abs();
        count += 1;
    }
    let rank = libm::ceil(fraction * count as f64) as usize;
    let threshold = nth_smallest(&mut sorted[..count], rank.clamp(1, count.max(1)) - 1)
        .unwrap_or(0.0)
        .max(min_scale);
    let per_threshold = 1.0 / threshold;
    for value in values.iter_mut() {
        let ratio = (*value - best).abs() * per_threshold;
        *value = if ratio.is_finite() {
            let squared = ratio * ratio;
            let fourth = squared * squared;
            1.0 / (1.0 + fourth * fourth)
        } else {
            0.0
        };
    }
    (count > 0 && threshold > 0.0).then_some(LuckyEdge { best, threshold })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_keeps_the_least_delayed_of_each_direction_and_closes_after_a_second() {
        let mut bins = Bins::new(BIN_COUNT);
        let at = |ms: i64| Time::from_nanos(1_000_000_000) + TimeDelta::from_millis(ms);
        let observation = |ms: i64, value_us: i64| Observation {
            at: at(ms),
            value: TimeDelta::from_micros(value_us),
        };
        // Queueing lowers the forward and raises the backward values.
        bins.offer(observation(0, -300), observation(10, 500), 0.0);
        bins.offer(observation(125, -100), observation(135, 900), 0.0);
        bins.offer(observation(250, -700), observation(260, 200), 0.0);
        bins.offer(observation(1_000, -5), observation(1_010, 5), 0.0);
        assert_eq!(bins.since(at(0)).count(), 2);
        let held = |age: usize| bins.since(at(0)).nth(age).copied().expect("a bin");
        assert_eq!(held(1).forward.unwrap().value, TimeDelta::from_micros(-100));
        assert_eq!(held(1).backward.unwrap().value, TimeDelta::from_micros(200));
        assert_eq!(bins.since(at(500)).count(), 1);
        bins.shift(TimeDelta::from_micros(1), Some(at(1_000)));
        let held = |age: usize| bins.since(at(0)).nth(age).copied().expect("a bin");
        assert_eq!(held(0).forward.unwrap().value, TimeDelta::from_micros(-5));
        assert_eq!(held(1).forward.unwrap().value, TimeDelta::from_micros(-99));
    }

    #[test]
    fn queueing_weights_favour_the_least_delayed() {
        // The least delayed half (of four) weigh 1 and, at the threshold, ½; the others
        // about 0.
        let mut values = [0.0, -10.0, -1000.0, f64::NAN, -20.0];
        let mut sorted = [0.0; 5];
        queueing_weights(&mut values, true, 0.5, 1.0, &mut sorted, 8);
        assert_eq!(values[0], 1.0);
        assert!((values[1] - 0.5).abs() < 1e-12, "{values:?}");
        assert!(
            values[4] < 0.01 && values[2] < 1e-9 && values[3] == 0.0,
            "{values:?}"
        );
        let mut values = [5.0, 0.0, 30.0];
        queueing_weights(&mut values, false, 0.5, 1.0, &mut sorted, 8);
        assert_eq!(values[1], 1.0);
        assert!(
            (values[0] - 0.5).abs() < 1e-12 && values[2] < 1e-6,
            "{values:?}"
        );
        // In segments, each stretch has its own least delayed: a slope across the values
        // (a slightly wrong rate) does not put all the weight at one end.
        let mut values = [0.0, 1.0, 2.0, 3.0, 100.0, 101.0, 102.0, 103.0];
        queueing_weights(&mut values, false, 0.25, 0.01, &mut sorted, 4);
        assert_eq!((values[0], values[4]), (1.0, 1.0), "{values:?}");
    }
}
