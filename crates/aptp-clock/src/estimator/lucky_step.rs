//! The default estimator's plausibility check before the fit: suspicious exchanges are held
//! back until following ones confirm a step of the master's clock (or never do), and a
//! confirmed step moves the held points instead of restarting.

use super::{LuckyRegression, Point, PointNumbers, SETTLED_POINTS};
use crate::estimator::{PathDelay, Sample, Update};
use crate::filter::StepVerdict;
use crate::time::{Time, TimeDelta};

/// Held-back Syncs remembered for a step backwards (`falling_syncs_agree`) …
pub(super) const FALLING_SYNCS: usize = 4;
/// … for this long.
const FALLING_SYNC_AGE: TimeDelta = TimeDelta::from_secs(4);

/// Exchanges after a step that measure the error of its first estimate.
const STEP_REFINEMENT_SAMPLES: usize = 3;

/// The residuals of the first accepted exchanges after a step.
#[derive(Clone, Copy, Debug)]
pub(super) struct StepRefinement {
    /// The local time the step was declared: points before it were moved.
    declared_at: Time,
    residuals: [TimeDelta; STEP_REFINEMENT_SAMPLES],
    count: usize,
    /// The correction applied so far.
    applied: TimeDelta,
}

impl LuckyRegression {
    /// The sample as a raw point; `None` for a one-way sample among two-way ones (it would
    /// carry its whole path delay).
    pub(super) fn point_of(&self, sample: &Sample) -> Option<Point> {
        let two_way_held = self.newest().any(|point| point.round_trip_raw.is_some());
        let (offset_raw, gap) = match sample.path_delay {
            PathDelay::Exchange { t3, .. } => (sample.remote_minus_local()?, t3 - sample.t2),
            PathDelay::Measured(_) => (sample.remote_minus_local()?, TimeDelta::ZERO),
            PathDelay::Unknown if two_way_held => return None,
            PathDelay::Unknown => (sample.t1 - sample.t2, TimeDelta::ZERO),
        };
        Some(Point {
            local: sample.t2,
            offset_raw,
            round_trip_raw: sample.round_trip(),
            gap,
            numbers: PointNumbers::default(),
        })
    }

    /// Plausibility before the fit: `None` when the sample goes in as usual, else what the
    /// step detector made of it (held back while suspect, a step once confirmed).
    pub(super) fn judge_step(
        &mut self,
        sample: &Sample,
        point: &Point,
        round_trip: Option<TimeDelta>,
    ) -> Option<StepVerdict> {
        // Until the window has settled (its round-trip minimum found), a large residual may
        // mean the first fit was poor rather than that the master stepped: the threshold is
        // then a conservative one from the points so far, so that a poor fit still corrects
        // itself while a forged timestamp (or a real step) is held back from the first mapping.
        let settled = self.points.len() >= SETTLED_POINTS
            && self
                .points
                .oldest()
                .is_some_and(|oldest| sample.t2 - oldest.local >= self.config.windows[0]);
        let predicted = self.predict(sample.t2)?;
        let residual = point.offset(self.rate_offset) - predicted;
        let noise =
            TimeDelta::from_nanos_f64(self.residual_mad_ns * self.config.step_noise_multiple);
        let mut threshold = self.config.step.threshold.max(noise);
        if !settled {
            threshold = threshold
                .max(self.config.unsettled_step_floor)
                .max(self.spread().mul_f64(self.config.unsettled_spread_multiple));
        }
        if round_trip.is_none() {
            threshold = threshold.max(self.config.one_way_step_floor);
        }
        self.step_detector.set_threshold(threshold);
        // A step moves every residual alike; queueing moves one by at most half its round
        // trip's excess. So only exchanges whose excess is below the threshold, or whose
        // residual goes beyond the threshold by more than half their excess, can confirm a
        // step: on a clean link that is nearly all of them (fast re-lock), on Wi-Fi the lucky
        // ones (no false steps). Others beyond the threshold are only held back.
        let excess = round_trip
            .zip(self.round_trips.min_round_trip(self.rate_offset))
            .map(|(round_trip, minimum)| round_trip - minimum);
        let exchange = sample.t2 + point.gap;
        let verdict = match excess {
            None => {
                // One way, a fall of remote − local is what queueing looks like too: only one
                // that outlasts any burst is a step.
                let hold = if residual.is_negative() {
                    self.config.one_way_fall_hold
                } else {
                    TimeDelta::ZERO
                };
                self.step_detector
                    .observe_envelope(sample.t2, residual, hold)
            }
            Some(excess) => {
                // The Sync alone: `residual − excess / 2` is how far its t1 − t2 lies from the
                // line, whatever Delay_Req it is paired with (one from before a step, too), and
                // queueing can only lower it. Beyond the threshold upwards, only a step of the
                // master's clock (or a bad t1, which the next Sync will not confirm) explains it.
                let forward = residual - excess.half();
                let seen =
                    self.suspect_exchange == Some(exchange) || self.suspect_sync == Some(sample.t2);
                // The Delay_Req alone: `t4 − t3` against the line; queueing only raises it.
                let backward = residual + excess.half();
                let falling = forward <= -threshold && residual <= -threshold;
                let agreed = falling
                    && backward <= -threshold
                    && self.falling_syncs_agree(sample.t2, forward, threshold);
                if falling {
                    self.remember_falling_sync(sample.t2, forward);
                }
                if agreed {
                    // A step backwards: this Delay_Req fell below the line, and so did this
                    // Sync and an earlier distinct one (held back while paired with a Delay_Req
                    // from before the step), as far. One forged packet moves either one `t1`
                    // or one `t4`, never both: at 1 Hz this re-locks a Delay_Req sooner.
                    self.step_detector.reset();
                    self.falling_syncs = [None; FALLING_SYNCS];
                    StepVerdict::Step(residual)
                } else if (forward >= threshold || residual.abs() >= threshold) && seen {
                    // The same Sync or Delay_Resp again: it cannot confirm itself.
                    StepVerdict::Suspect
                } else if forward >= threshold {
                    let verdict = self.step_detector.observe_at(
                        sample.t2,
                        forward,
                        self.config.step_quick_span,
                    );
                    self.suspect_sync = Some(sample.t2);
                    verdict
                } else if excess.abs() <= threshold
                    || (excess > threshold && residual.abs() >= threshold + excess.half())
                {
                    let verdict = self.step_detector.observe_at(
                        sample.t2,
                        residual,
                        self.config.step_quick_span,
                    );
                    let suspect = verdict != StepVerdict::Normal;
                    self.suspect_exchange = suspect.then_some(exchange);
                    self.suspect_sync = suspect.then_some(sample.t2);
                    verdict
                } else if residual.abs() >= threshold {
                    StepVerdict::Suspect
                } else {
                    StepVerdict::Normal
                }
            }
        };
        (verdict != StepVerdict::Normal).then_some(verdict)
    }

    /// A Sync whose `t1 − t2` fell `forward` below the line (a step backwards, or queueing).
    fn remember_falling_sync(&mut self, t2: Time, forward: TimeDelta) {
        if self.falling_syncs[0].is_some_and(|(at, _)| at == t2) {
            return;
        }
        self.falling_syncs.rotate_right(1);
        self.falling_syncs[0] = Some((t2, forward));
    }

    /// Whether a Sync before the one at `t2`, within the last `FALLING_SYNC_AGE`, fell as far
    /// as `residual` (within `threshold`).
    fn falling_syncs_agree(&self, t2: Time, residual: TimeDelta, threshold: TimeDelta) -> bool {
        self.falling_syncs.iter().flatten().any(|(at, forward)| {
            *at != t2
                && *at < t2
                && t2 - *at <= FALLING_SYNC_AGE
                && (*forward - residual).abs() <= threshold
        })
    }

    /// How far apart the offsets held lie, read at the current rate.
    fn spread(&self) -> TimeDelta {
        let rate = self.rate_offset;
        let lowest = self.newest().map(|point| point.offset(rate)).min();
        let highest = self.newest().map(|point| point.offset(rate)).max();
        lowest
            .zip(highest)
            .map_or(TimeDelta::ZERO, |(lowest, highest)| highest - lowest)
    }

    /// After a step, the first accepted exchanges say how far off the detector's estimate was
    /// (its confirmations may be Syncs alone, lowered by queueing): the points from before
    /// the step are moved by the median of their residuals so far, at once from the first
    /// (at 1 Hz, waiting for all three took 3 s of a 2 s re-lock budget).
    pub(super) fn refine_step(&mut self, point: &Point) {
        let Some(mut refinement) = self.step_refinement else {
            return;
        };
        let Some(predicted) = self.predict(point.local) else {
            return;
        };
        if point.round_trip_raw.is_none() {
            self.step_refinement = None;
            return;
        }
        // Residuals against the line before any correction.
        refinement.residuals[refinement.count] =
            point.offset(self.rate_offset) - predicted + refinement.applied;
        refinement.count += 1;
        let mut residuals = refinement.residuals;
        let Some(target) = crate::filter::median_in_place(&mut residuals[..refinement.count])
        else {
            return;
        };
        let correction = target - refinement.applied;
        refinement.applied = target;
        self.step_refinement = (refinement.count < STEP_REFINEMENT_SAMPLES).then_some(refinement);
        for held in self.points.slots_mut() {
            if held.local < refinement.declared_at {
                held.shift(correction);
            }
        }
        self.bins.shift(correction, Some(refinement.declared_at));
        let correction_ns = correction.as_nanos_f64();
        for candidate in &mut self.candidates {
            if let Some(line) = candidate.line.as_mut() {
                line.intercept += correction_ns;
            }
        }
        // The lucky edges still place the uncorrected points: the next exchange must fit,
        // not be judged against them (and perhaps skip the fit that maps the correction).
        self.lucky_edges = None;
    }

    /// A sample kept out of the fit: it still counts towards a step, and is applied when it
    /// confirms one.
    pub(super) fn held_back(
        &mut self,
        sample: &Sample,
        point: &Point,
        round_trip: Option<TimeDelta>,
        rejected: Update,
    ) -> Update {
        match self.judge_step(sample, point, round_trip) {
            Some(StepVerdict::Step(step)) => self.apply_step(step, *point),
            _ => rejected,
        }
    }

    /// The master's clock jumped by `step`: every held point moves with it, so the rate and
    /// the windows carry on as if nothing happened.
    pub(super) fn apply_step(&mut self, step: TimeDelta, point: Point) -> Update {
        for held in self.points.slots_mut() {
            held.shift(step);
        }
        self.bins.shift(step, None);
        let step_ns = step.as_nanos_f64();
        for candidate in &mut self.candidates {
            if let Some(line) = candidate.line.as_mut() {
                line.intercept += step_ns;
            }
        }
        self.suspect_exchange = None;
        self.suspect_sync = None;
        self.falling_syncs = [None; FALLING_SYNCS];
        self.step_refinement = Some(StepRefinement {
            declared_at: point.local,
            residuals: [TimeDelta::ZERO; STEP_REFINEMENT_SAMPLES],
            count: 0,
            applied: TimeDelta::ZERO,
        });
        self.refit(point.local);
        Update {
            mapping: self.mapping,
            stepped: true,
            accepted: true,
        }
    }
}
