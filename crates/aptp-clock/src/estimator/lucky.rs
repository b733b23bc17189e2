//! aptp's default estimator: a regression that believes the lucky packets.

use super::regression::{fit_moments, fit_two_way_moments, Line, RunningMoments};
use super::round_trips::{RoundTripHistory, RoundTripVerdict};
use super::select::nth_smallest;
use super::shared::PointRing;
use super::{Estimator, Sample, Update};
use crate::filter::{OutlierRule, StepDetector, StepDetectorConfig, StepVerdict};
use crate::mapping::ClockMapping;
use crate::time::{Time, TimeDelta};
use bins::{queueing_weights_both, Bins, LuckyEdge, Observation, BIN_COUNT};
use step::StepRefinement;
use table::PointTable;

/// Points held at most (64 s at 8 Hz).
const CAPACITY: usize = 512;
/// Round trips the outlier filter judges against.
const ROUND_TRIP_HISTORY: usize = 64;
/// Points held before step detection starts (with the shortest window's span).
const SETTLED_POINTS: usize = 16;
/// Exchanges held before the first mapping, two way (the least delayed of them carries it).
const FIRST_MAPPING_EXCHANGES: usize = 3;
/// How many window lengths compete.
pub const WINDOW_COUNT: usize = 6;
/// Windows up to this long fit every exchange held; longer ones the least-delayed Sync and
/// Delay_Req of each second (`lucky_bins`).
const POINT_HORIZON: TimeDelta = TimeDelta::from_secs(64);
/// Each direction's lucky exchanges are chosen within stretches of this many (16 s at 8 Hz),
/// so that a slightly wrong rate cannot favour one end of the window …
const LUCKY_SEGMENT_POINTS: usize = 128;
/// … and of this many bins (16 s).
const LUCKY_SEGMENT_BINS: usize = 16;
/// On a noisy link, a fit over the bins is renewed once the time since it is this fraction
/// (1/64) of the span the fit read: every second while a young window grows (its line
/// still moves by tens of µs between fits), every 2 s over 128 s, every 4 s over 256 s.
const NOISY_REFIT_DIVISOR: i128 = 64;
/// The points' `f64` local times count from an instant at most this far back (2^50 ns,
/// 13 days: an `f64` holds every nanosecond up to 2^53).
const TIME_REF_REBASE: TimeDelta = TimeDelta::from_nanos(1 << 50);

/// Tuning of [`LuckyRegression`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LuckyRegressionConfig {
    /// The window lengths that compete, shortest first: each is fitted at every fit (see
    /// `refit_lucky_within`), and the mapping comes from the one that has predicted the lucky
    /// exchanges best lately (the longest within 10 % of the best). A noisy link picks a long window, a drifting
    /// oscillator a short one. Windows up to 64 s fit the exchanges held (`CAPACITY`
    /// points); longer ones, up to 256 s, each second's least-delayed Sync and Delay_Req.
    pub windows: [TimeDelta; WINDOW_COUNT],
    /// Weight of a new prediction error in each window's smoothed error.
    pub error_smoothing: f64,
    /// The rate is fitted once the points span this much; before, the last rate is kept.
    pub min_rate_span: TimeDelta,
    /// Exchanges whose round trip exceeds the recent minimum by more than this rule are dropped.
    pub outlier_rule: OutlierRule,
    /// One way (and for scoring the windows), a point's weight is `1 / (1 + (q / scale)^2)`
    /// where `q` is its queueing and `scale` this fraction of the median …
    pub queueing_scale_fraction: f64,
    /// … but at least this.
    pub min_queueing_scale: TimeDelta,
    /// Two way, each direction apart: the least-delayed fraction of the Syncs, and of the
    /// Delay_Req, that carries the windows over exchanges.
    pub lucky_fraction: f64,
    /// The same over the bins (each already its second's least delayed) of windows longer than
    /// 64 s.
    pub lucky_bin_fraction: f64,
    /// Step detection; its threshold is raised to `step_noise_multiple` × the residuals' MAD
    /// when the link is noisier. Default: 20 µs, 3 confirmations, 500 µs tolerance.
    pub step: StepDetectorConfig,
    /// Two agreeing suspicious exchanges at least this far apart declare a step (at 1 Hz the
    /// third confirmation would come too late for a 2 s re-lock); faster, `step.confirmations`.
    pub step_quick_span: TimeDelta,
    /// The smallest step threshold without round trips (one way, queueing cannot be told from
    /// the residual itself).
    pub one_way_step_floor: TimeDelta,
    /// See `step`.
    pub step_noise_multiple: f64,
    /// Without round trips, how long a fall beyond the step threshold must last before it is
    /// taken for a step rather than a burst of queueing (held-back samples meanwhile).
    pub one_way_fall_hold: TimeDelta,
    /// Before the window has settled, the step threshold is at least this …
    pub unsettled_step_floor: TimeDelta,
    /// … and this many times the spread of the offsets held (a poor first fit must still
    /// reach the fit; a forged timestamp seconds away must not).
    pub unsettled_spread_multiple: f64,
    /// A fit that moves the mapping by more than this at the sample's instant reports a step,
    /// whatever moved it: a slewed clock would otherwise take minutes to follow.
    pub report_step_beyond: TimeDelta,
    /// Two way, an exchange whose Sync and Delay_Req both lie more than this many queueing
    /// scales from their direction's least delayed (weights below 1/257 at 2) joins the
    /// points without a new fit: it would not move the lines. The fit waits at most
    /// `refit_interval` for a lucky one (so windows still slide). One way, every exchange fits.
    pub refit_lucky_within: f64,
    /// See `refit_lucky_within`.
    pub refit_interval: TimeDelta,
    /// Two way, on a noisy link (the lucky residuals' MAD above `noisy_link_mad`) whose
    /// selected window runs over the bins (longer than 64 s), the fit waits whatever the
    /// exchanges until the time since it is 1/64 of the span of bins it read, at least
    /// `refit_interval` and at most this (this, if the two cross): a line through minutes
    /// of Wi-Fi moves by nanoseconds in a few seconds (the simulator's Wi-Fi p99 within 1 %
    /// of a fit every second or at every lucky exchange), and those fits were most of a
    /// Wi-Fi receiver's work; a young window's line, with a minute or two of packets, still
    /// moves by tens of µs, and is refitted every second or two (and a link that settles on
    /// the 128 s window every 2 s). A quiet link keeps `refit_interval` and the lucky
    /// exchanges' fits.
    pub noisy_refit_interval: TimeDelta,
    /// See `noisy_refit_interval`. Wired links' residuals stay within a few µs, Wi-Fi's are
    /// hundreds.
    pub noisy_link_mad: TimeDelta,
    /// Exchanges held at most, 1 to [`LuckyRegression::MAX_POINTS`] (the default: 64 s at
    /// 8 Hz); when full, the oldest is forgotten. The windows over exchanges see no more.
    pub max_points: usize,
    /// One-second bins held at most, 1 to [`LuckyRegression::MAX_BINS`] (the default); when
    /// full, the oldest is forgotten. The windows over bins see no more.
    ///
    /// Storage is the type's fixed maximum either way (no allocation, ever): these two bound
    /// what the fit reads, and so its cost.
    pub max_bins: usize,
}

/// A [`LuckyRegressionConfig`] value out of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("LuckyRegressionConfig::{field} is {value}; it must be 1 to {max}")]
pub struct LuckyRegressionConfigError {
    /// The field.
    pub field: &'static str,
    /// Its value.
    pub value: usize,
    /// The largest allowed.
    pub max: usize,
}

impl LuckyRegressionConfig {
    /// Checks the capacities; [`LuckyRegression::new`] clamps them into range instead.
    ///
    /// ```
    /// use aptp_clock::{LuckyRegression, LuckyRegressionConfig};
    /// let mut config = LuckyRegressionConfig::default();
    /// assert!(config.validate().is_ok());
    /// config.max_points = LuckyRegression::MAX_POINTS + 1;
    /// assert_eq!(config.validate().unwrap_err().field, "max_points");
    /// ```
    pub fn validate(&self) -> Result<(), LuckyRegressionConfigError> {
        for (field, value, max) in [
            ("max_points", self.max_points, LuckyRegression::MAX_POINTS),
            ("max_bins", self.max_bins, LuckyRegression::MAX_BINS),
        ] {
            if !(1..=max).contains(&value) {
                return Err(LuckyRegressionConfigError { field, value, max });
            }
        }
        Ok(())
    }
}

impl Default for LuckyRegressionConfig {
    fn default() -> Self {
        Self {
            windows: [
                TimeDelta::from_secs(8),
                TimeDelta::from_secs(16),
                TimeDelta::from_secs(32),
                TimeDelta::from_secs(64),
                TimeDelta::from_secs(128),
                TimeDelta::from_secs(256),
            ],
            error_smoothing: 0.1,
            min_rate_span: TimeDelta::from_secs(1),
            outlier_rule: OutlierRule::MadMultiple {
                k: 3.0,
                floor: TimeDelta::from_micros(2),
            },
            queueing_scale_fraction: 0.25,
            min_queueing_scale: TimeDelta::from_nanos(50),
            lucky_fraction: 0.1,
            lucky_bin_fraction: 0.5,
            step: StepDetectorConfig {
                threshold: TimeDelta::from_micros(20),
                ..StepDetectorConfig::default()
            },
            step_quick_span: TimeDelta::from_millis(750),
            one_way_step_floor: TimeDelta::from_millis(1),
            step_noise_multiple: 10.0,
            one_way_fall_hold: TimeDelta::from_secs(5),
            unsettled_step_floor: TimeDelta::from_millis(20),
            unsettled_spread_multiple: 4.0,
            report_step_beyond: TimeDelta::from_millis(20),
            refit_lucky_within: 2.0,
            refit_interval: TimeDelta::from_secs(1),
            noisy_refit_interval: TimeDelta::from_secs(4),
            noisy_link_mad: TimeDelta::from_micros(20),
            max_points: CAPACITY,
            max_bins: BIN_COUNT,
        }
    }
}

/// One accepted exchange, raw: its offset and round trip at rate 0 and the gap t3 − t2 they
/// are corrected with at the current rate (an early rate was wrong; the points stay right).
#[derive(Clone, Copy, Debug, Default)]
struct Point {
    local: Time,
    offset_raw: TimeDelta,
    round_trip_raw: Option<TimeDelta>,
    gap: TimeDelta,
    /// The same as plain nanoseconds, set when the point is held (each fit reads every
    /// point: converting 128-bit times there cost more than the fit itself).
    numbers: PointNumbers,
}

/// A held point's times as `f64` nanoseconds: `local` relative to the estimator's
/// `time_ref`, the offset relative to its `offset_ref`; NaN round trip without Delay_Req.
#[derive(Clone, Copy, Debug, Default)]
struct PointNumbers {
    local_ns: f64,
    offset_raw_ns: f64,
    round_trip_raw_ns: f64,
    gap_ns: f64,
}

impl Point {
    /// Moves the offset by `by` (a step of the master's clock).
    fn shift(&mut self, by: TimeDelta) {
        self.offset_raw += by;
        self.numbers.offset_raw_ns += by.as_nanos_f64();
    }

    /// Remote minus local at `local`, the drift between t2 and t3 taken out at `rate_offset`.
    fn offset(&self, rate_offset: f64) -> TimeDelta {
        self.offset_raw - self.gap.mul_f64(rate_offset).half()
    }
    /// The round trip at `rate_offset`.
    fn round_trip(&self, rate_offset: f64) -> Option<TimeDelta> {
        self.round_trip_raw
            .map(|round_trip| round_trip - self.gap.mul_f64(rate_offset))
    }
    /// The Sync alone, `t1 − t2` at `local` (t2): the offset minus the master-to-slave delay.
    fn forward(&self) -> Option<TimeDelta> {
        self.round_trip_raw
            .map(|round_trip| self.offset_raw - round_trip.half())
    }
    /// The Delay_Req alone, `t4 − t3` at `local + gap` (t3): the offset plus the
    /// slave-to-master delay.
    fn backward(&self) -> Option<(Time, TimeDelta)> {
        let forward = self.forward()?;
        let round_trip = self.round_trip_raw?;
        Some((self.local + self.gap, forward + round_trip))
    }
}

/// Each direction's [`LuckyEdge`] of a fit, along the rate and from the instant it used.
#[derive(Clone, Copy, Debug)]
struct LuckyEdges {
    forward: LuckyEdge,
    backward: LuckyEdge,
    rate: f64,
    at: Time,
}

#[derive(Clone, Copy, Debug, Default)]
struct Candidate {
    line: Option<Line>,
    error: Option<f64>,
}

/// aptp's default estimator, chosen by the accuracy simulator (see the crate README).
///
/// - Each exchange gives its own offset, `((t1 − t2) + (t4 − t3)) / 2` corrected for the drift
///   between t2 and t3, and its round trip (not a filtered delay, as ptp4l uses).
/// - Exchanges whose round trip exceeds the recent minimum by more than 3 × MAD (at least
///   2 µs) are dropped, judged at the current rate (the drift between t2 and t3 of the
///   exchanges held is re-read at each new rate, so an early wrong rate leaves no trace);
///   one shorter than the minimum by as much is a wrong timestamp and held back.
/// - Two way, each direction on its own: one line (one slope, two intercepts) through the
///   Syncs' `t1 − t2` and the Delay_Req's `t4 − t3`, each carried by its least-delayed tenth
///   (chosen within 16 s stretches), whichever exchange the lucky half came in; the offset is
///   the mean of the two intercepts. One way, the old weighting by queueing.
/// - Windows of 8, 16, 32 and 64 s over the exchanges, and 128 and 256 s over each second's
///   least-delayed Sync and Delay_Req, compete on how well they predicted the lucky
///   exchanges; the longest of the near-best wins (long on a noisy link, short while the
///   oscillator drifts).
/// - A [`StepDetector`] on the residuals holds back a suspicious exchange until two (1 Hz)
///   or three (faster) distinct following ones confirm a step of the master's clock; a step
///   forwards is seen by the Syncs alone (queueing only delays). The held points then move by
///   the step, keeping rate and windows; a new grandmaster restarts everything.
/// - Without Delay_Req (AirPlay) the queueing is read from the one-way residuals instead.
///
/// ```
/// use aptp_clock::{Estimator, LuckyRegression};
/// let estimator = LuckyRegression::default();
/// assert_eq!(estimator.name(), "lucky-regression");
/// ```
#[derive(Clone, Debug)]
pub struct LuckyRegression {
    config: LuckyRegressionConfig,
    points: PointRing<Point, CAPACITY>,
    /// Beyond [`POINT_HORIZON`]: each second's least-delayed Sync and Delay_Req.
    bins: Bins,
    offset_ref: TimeDelta,
    /// The instant the points' `f64` local times count from.
    time_ref: Time,
    /// The rate every point is read at during one update (the last fit's slope).
    rate_offset: f64,
    round_trips: RoundTripHistory<ROUND_TRIP_HISTORY>,
    step_detector: StepDetector,
    /// t3 of the last exchange that counted towards a step: one bad Delay_Resp paired with
    /// several Syncs must not confirm itself.
    suspect_exchange: Option<Time>,
    /// t2 of the last exchange that counted towards a step: one bad Sync re-paired with
    /// several Delay_Req must not confirm itself either.
    suspect_sync: Option<Time>,
    /// Consecutive too-short round trips from distinct exchanges (a shorter route, once
    /// they persist), and the last one's t3.
    short_run: u8,
    short_exchange: Option<Time>,
    /// Syncs held back whose `t1 − t2` fell below the line (t2, how far): with a consistent
    /// exchange falling as far they declare a step backwards.
    falling_syncs: [Option<(Time, TimeDelta)>; step::FALLING_SYNCS],
    /// After a step: the points from before it were moved by the detector's estimate; the
    /// first accepted exchanges after it measure what that estimate missed.
    step_refinement: Option<StepRefinement>,
    /// When the lines were last fitted: their x counts from it, and `refit_interval` too.
    fitted_at: Time,
    /// On a noisy link, how long the last fit stands (see `noisy_refit_wait`).
    noisy_refit_wait: TimeDelta,
    /// Two way, where the last fit put each direction's lucky exchanges (its rate and
    /// instant with them): what a new exchange is judged against for a new fit.
    lucky_edges: Option<LuckyEdges>,
    candidates: [Candidate; WINDOW_COUNT],
    selected: usize,
    min_round_trip: Option<TimeDelta>,
    queueing_scale_ns: f64,
    residual_mad_ns: f64,
    mapping: Option<ClockMapping>,
    grandmaster_identity: Option<u64>,
}

impl Default for LuckyRegression {
    fn default() -> Self {
        Self::new(LuckyRegressionConfig::default())
    }
}

impl LuckyRegression {
    /// The most exchanges it can hold (`LuckyRegressionConfig::max_points`).
    pub const MAX_POINTS: usize = CAPACITY;
    /// The most one-second bins it can hold (`LuckyRegressionConfig::max_bins`).
    pub const MAX_BINS: usize = BIN_COUNT;

    /// An estimator with its tuning; `max_points` and `max_bins` out of range are clamped
    /// into it ([`LuckyRegressionConfig::validate`] reports them).
    pub fn new(mut config: LuckyRegressionConfig) -> Self {
        config.max_points = config.max_points.clamp(1, CAPACITY);
        config.max_bins = config.max_bins.clamp(1, BIN_COUNT);
        Self {
            config,
            points: PointRing::new(),
            bins: Bins::new(config.max_bins),
            offset_ref: TimeDelta::ZERO,
            time_ref: Time::EPOCH,
            rate_offset: 0.0,
            round_trips: RoundTripHistory::new(config.outlier_rule, 8),
            step_detector: StepDetector::new(config.step),
            suspect_exchange: None,
            suspect_sync: None,
            short_run: 0,
            short_exchange: None,
            falling_syncs: [None; step::FALLING_SYNCS],
            step_refinement: None,
            fitted_at: Time::EPOCH,
            noisy_refit_wait: config.noisy_refit_interval,
            lucky_edges: None,
            candidates: [Candidate::default(); WINDOW_COUNT],
            selected: 0,
            min_round_trip: None,
            queueing_scale_ns: 0.0,
            residual_mad_ns: 0.0,
            mapping: None,
            grandmaster_identity: None,
        }
    }

    /// The window length the mapping currently comes from.
    pub fn selected_window(&self) -> TimeDelta {
        self.config.windows[self.selected]
    }

    fn newest(&self) -> impl Iterator<Item = &Point> + Clone {
        self.points.newest(CAPACITY)
    }

    /// How long exchanges are held: the longest window that fits them (not the bins).
    fn longest_window(&self) -> TimeDelta {
        self.config
            .windows
            .iter()
            .copied()
            .filter(|window| *window <= POINT_HORIZON)
            .max()
            .unwrap_or(TimeDelta::ZERO)
    }

    fn selected_line(&self) -> Option<Line> {
        self.candidates[self.selected].line
    }

    fn push(&mut self, mut point: Point) {
        if self.points.len() == 0 {
            self.offset_ref = point.offset_raw;
            self.time_ref = point.local;
        }
        if point.local - self.time_ref > TIME_REF_REBASE {
            // Keep the `f64` nanoseconds small enough to hold every nanosecond.
            self.time_ref = point.local;
            let time_ref = self.time_ref;
            for held in self.points.slots_mut() {
                held.numbers.local_ns = (held.local - time_ref).as_nanos_f64();
            }
        }
        point.numbers = PointNumbers {
            local_ns: (point.local - self.time_ref).as_nanos_f64(),
            offset_raw_ns: (point.offset_raw - self.offset_ref).as_nanos_f64(),
            round_trip_raw_ns: point
                .round_trip_raw
                .map_or(f64::NAN, TimeDelta::as_nanos_f64),
            gap_ns: point.gap.as_nanos_f64(),
        };
        self.points.push(point);
        if let (Some(forward), Some((at, backward))) = (point.forward(), point.backward()) {
            let forward = Observation {
                at: point.local,
                value: forward,
            };
            let backward = Observation {
                at,
                value: backward,
            };
            self.bins.offer(forward, backward, self.rate_offset);
        }
        // Drop what fell out of the longest window (the oldest are at the tail of `newest`),
        // and beyond the configured capacity.
        while self.points.len() > self.config.max_points {
            self.points.drop_oldest();
        }
        let longest = self.longest_window();
        while self.points.len() > 1 {
            match self.points.oldest() {
                Some(oldest) if point.local - oldest.local > longest => self.points.drop_oldest(),
                _ => break,
            }
        }
    }

    /// The predicted remote-minus-local at a local instant from the selected line.
    fn predict(&self, local: Time) -> Option<TimeDelta> {
        let line = self.selected_line()?;
        let x = (local - self.fitted_at).as_nanos_f64();
        Some(self.offset_ref + TimeDelta::from_nanos_f64(line.at(x)))
    }

    /// The weight of a point with this round trip under the last fit's minimum and scale.
    fn weight_of(&self, round_trip: Option<TimeDelta>) -> f64 {
        match (round_trip, self.min_round_trip) {
            (Some(round_trip), Some(minimum)) if self.queueing_scale_ns > 0.0 => {
                let ratio = (round_trip - minimum).as_nanos_f64().max(0.0) / self.queueing_scale_ns;
                1.0 / (1.0 + ratio * ratio)
            }
            _ => 1.0,
        }
    }

    /// Each point's queueing excess: over the minimum round trip, or (one-way) over the
    /// smallest delay seen by the current line's residuals.
    fn excesses(&self, table: &PointTable, now: Time, out: &mut [f64; CAPACITY]) {
        let count = table.count;
        if let Some(minimum) = table.min_round_trip {
            let minimum = minimum.as_nanos_f64();
            for (slot, round_trip) in out.iter_mut().zip(table.round_trip.iter()).take(count) {
                *slot = round_trip - minimum;
            }
            return;
        }
        // One way: a delayed packet lowers remote − local below the line.
        let Some(line) = self.selected_line() else {
            out[..count].fill(0.0);
            return;
        };
        // The line's x is relative to the last fit, the table's to `now`.
        let since_fit = (now - self.fitted_at).as_nanos_f64();
        let mut lowest = f64::INFINITY;
        for (slot, (x, y)) in out
            .iter_mut()
            .zip(table.local_x.iter().zip(table.offset_y.iter()))
            .take(count)
        {
            let below = line.at(x + since_fit) - y;
            *slot = below;
            lowest = lowest.min(below);
        }
        for slot in out.iter_mut().take(count) {
            *slot -= lowest;
        }
    }

    /// How long a fit made `now` stands on a noisy link: the span of the bins the selected
    /// window reads over [`NOISY_REFIT_DIVISOR`], within `refit_interval ..=
    /// noisy_refit_interval` (the latter wins if they cross). Read once per fit.
    fn noisy_refit_wait(&self, now: Time) -> TimeDelta {
        let window = self.selected_window();
        let span = self
            .bins
            .since(now - window)
            .last()
            .map_or(TimeDelta::ZERO, |oldest| now - oldest.start());
        let wait = TimeDelta::from_scaled_nanos(span.scaled_nanos() / NOISY_REFIT_DIVISOR);
        wait.max(self.config.refit_interval)
            .min(self.config.noisy_refit_interval)
    }

    /// Whether `point` calls for a new fit (see `refit_lucky_within`).
    fn refit_due(&self, point: &Point, now: Time) -> bool {
        if self.mapping.is_none()
            || self.step_refinement.is_some()
            || self.points.len() < SETTLED_POINTS
        {
            return true;
        }
        let Some(edges) = self.lucky_edges else {
            // One way: every exchange fits.
            return true;
        };
        let since_fit = now - self.fitted_at;
        if self.selected_window() > POINT_HORIZON
            && self.residual_mad_ns > self.config.noisy_link_mad.as_nanos_f64()
        {
            return since_fit >= self.noisy_refit_wait;
        }
        if since_fit >= self.config.refit_interval {
            return true;
        }
        let (Some(forward), Some((at, backward))) = (point.forward(), point.backward()) else {
            // Without its Delay_Req it has no part in the two-way lines.
            return false;
        };
        let along = |at: Time, value: TimeDelta| {
            (value - self.offset_ref).as_nanos_f64() - edges.rate * (at - edges.at).as_nanos_f64()
        };
        let within = self.config.refit_lucky_within;
        edges
            .forward
            .scales_from_best(along(point.local, forward), true)
            <= within
            || edges.backward.scales_from_best(along(at, backward), false) <= within
    }

    /// Scores every window on how well it predicted `point` (before it joins the fit).
    fn score(&mut self, point: &Point) {
        let rate = self.rate_offset;
        let weight = self.weight_of(point.round_trip(rate));
        let x = (point.local - self.fitted_at).as_nanos_f64();
        let y = (point.offset(rate) - self.offset_ref).as_nanos_f64();
        let smoothing = self.config.error_smoothing * weight;
        for candidate in &mut self.candidates {
            if let Some(line) = candidate.line {
                let diff = y - line.at(x);
                let squared = diff * diff;
                candidate.error = Some(match candidate.error {
                    Some(error) => error + smoothing * (squared - error),
                    None => squared,
                });
            }
        }
    }

    /// Two way, each direction's own queueing: how far each Sync's `t1 − t2` lies below the
    /// highest (the least delayed Sync), and each Delay_Req's `t4 − t3` above the lowest, both
    /// along the current rate, weighted by [`queueing_weights`]: the least-delayed packets of
    /// each direction carry its line, whether or not the other half of their exchange was
    /// lucky too. `table` holds the points' coordinates; the weights replace nothing else.
    fn direction_weights(
        &self,
        table: &PointTable,
        now: Time,
        forward_weights: &mut [f64; CAPACITY],
        backward_weights: &mut [f64; CAPACITY],
    ) -> Option<LuckyEdges> {
        let count = table.count;
        let rate = self.rate_offset;
        for index in 0..count {
            // `along_rate`: the value less the current rate's drift since `now`.
            forward_weights[index] = table.forward_y[index] - rate * table.local_x[index];
            backward_weights[index] = table.backward_y[index] - rate * table.backward_x[index];
        }
        let mut sorted = [0.0f64; CAPACITY];
        let fraction = self.config.lucky_fraction;
        let min_scale = self.config.min_queueing_scale.as_nanos_f64();
        let segment = LUCKY_SEGMENT_POINTS;
        let edges = queueing_weights_both(
            &mut forward_weights[..count],
            &mut backward_weights[..count],
            fraction,
            min_scale,
            &mut sorted,
            segment,
        );
        match edges {
            (Some(forward), Some(backward)) => Some(LuckyEdges {
                forward,
                backward,
                rate,
                at: now,
            }),
            _ => None,
        }
    }

    /// The lines through each second's least-delayed Sync and Delay_Req, for every window
    /// longer than [`POINT_HORIZON`] at once (the others stay `None`): the bins are read once,
    /// for the longest, and a shorter window (a prefix of it, newest first) shares its weights
    /// but for its own last segment, the only one `queueing_weights` cuts differently.
    // Not inlined: its arrays (tens of kB) would otherwise sit in the frame of every
    // update, probed page by page, though most updates never fit.
    #[inline(never)]
    fn fit_bin_windows(&self, now: Time, fallback_slope: f64) -> [Option<Line>; WINDOW_COUNT] {
        let mut lines = [None; WINDOW_COUNT];
        let Some(longest) = self
            .config
            .windows
            .iter()
            .copied()
            .filter(|window| *window > POINT_HORIZON)
            .max()
        else {
            return lines;
        };
        // Each direction's observations (x from `now`, y from `offset_ref`) and, first, their
        // values along the current rate, which `queueing_weights` turns into weights.
        let mut forward_x = [f64::NAN; BIN_COUNT];
        let mut forward_y = [f64::NAN; BIN_COUNT];
        let mut backward_x = [f64::NAN; BIN_COUNT];
        let mut backward_y = [f64::NAN; BIN_COUNT];
        let mut forward_along = [f64::NAN; BIN_COUNT];
        let mut backward_along = [f64::NAN; BIN_COUNT];
        // How many of the bins read each window holds; the windows over bins and the
        // instant each starts at.
        let mut ends = [0usize; WINDOW_COUNT];
        let mut long_windows = [(0usize, now); WINDOW_COUNT];
        let mut long_count = 0;
        for (index, window) in self.config.windows.iter().enumerate() {
            if *window > POINT_HORIZON {
                long_windows[long_count] = (index, now - *window);
                long_count += 1;
            }
        }
        let long_windows = &long_windows[..long_count];
        let rate = self.rate_offset;
        let mut count = 0;
        // x from `now`, y from `offset_ref`, and y along the current rate.
        let numbers = |observation: Observation| {
            let x = (observation.at - now).as_nanos_f64();
            let y = (observation.value - self.offset_ref).as_nanos_f64();
            (x, y, y - rate * x)
        };
        for bin in self.bins.since(now - longest) {
            // (Not a loop over the two directions: building that array of tuples for each
            // bin cost more than the rest of the pass.)
            if let Some(observation) = bin.forward {
                (forward_x[count], forward_y[count], forward_along[count]) = numbers(observation);
            }
            if let Some(observation) = bin.backward {
                (backward_x[count], backward_y[count], backward_along[count]) =
                    numbers(observation);
            }
            count += 1;
            for &(index, since) in long_windows {
                if bin.start() >= since {
                    ends[index] = count;
                }
            }
        }
        let fraction = self.config.lucky_bin_fraction;
        let min_scale = self.config.min_queueing_scale.as_nanos_f64();
        let mut sorted = [0.0f64; BIN_COUNT];
        let mut full_forward = forward_along;
        let mut full_backward = backward_along;
        queueing_weights_both(
            &mut full_forward[..count],
            &mut full_backward[..count],
            fraction,
            min_scale,
            &mut sorted,
            LUCKY_SEGMENT_BINS,
        );
        let min_rate_span = self.config.min_rate_span.as_nanos_f64();
        for &(index, _) in long_windows {
            let end = ends[index];
            let mut forward_weights = full_forward;
            let mut backward_weights = full_backward;
            if end < count {
                let last = bins::last_segment_start(end, LUCKY_SEGMENT_BINS);
                forward_weights[last..end].copy_from_slice(&forward_along[last..end]);
                backward_weights[last..end].copy_from_slice(&backward_along[last..end]);
                queueing_weights_both(
                    &mut forward_weights[last..end],
                    &mut backward_weights[last..end],
                    fraction,
                    min_scale,
                    &mut sorted,
                    end - last,
                );
            }
            let mut forward = RunningMoments::default();
            let mut backward = RunningMoments::default();
            for bin in 0..end {
                forward.add(forward_x[bin], forward_y[bin], forward_weights[bin]);
                backward.add(backward_x[bin], backward_y[bin], backward_weights[bin]);
            }
            lines[index] = forward
                .moments()
                .zip(backward.moments())
                .map(|(forward, backward)| {
                    fit_two_way_moments(forward, backward, min_rate_span, fallback_slope)
                });
        }
        lines
    }

    // Not inlined: its arrays (tens of kB) would otherwise sit in the frame of every
    // update, probed page by page, though most updates never fit.
    #[inline(never)]
    fn refit(&mut self, now: Time) {
        let table = PointTable::gather(self, now);
        let count = table.count;
        let mut excesses = [0.0f64; CAPACITY];
        self.excesses(&table, now, &mut excesses);
        let mut sorted = [0.0f64; CAPACITY];
        let mut finite = 0;
        for excess in excesses
            .iter()
            .take(count)
            .filter(|excess| excess.is_finite())
        {
            sorted[finite] = *excess;
            finite += 1;
        }
        let median = nth_smallest(&mut sorted[..finite], finite / 2).unwrap_or(0.0);
        let scale = (median * self.config.queueing_scale_fraction)
            .max(self.config.min_queueing_scale.as_nanos_f64());
        self.queueing_scale_ns = scale;
        self.min_round_trip = table.min_round_trip;
        let fallback_slope = self.selected_line().map_or(0.0, |line| line.slope);
        let two_way = self.min_round_trip.is_some();
        // Two way, each direction's own weights; one way, each point's by its queueing.
        let mut forward_weights = [0.0f64; CAPACITY];
        let mut backward_weights = [0.0f64; CAPACITY];
        self.lucky_edges = None;
        if two_way {
            self.lucky_edges =
                self.direction_weights(&table, now, &mut forward_weights, &mut backward_weights);
        } else {
            for (weight, excess) in forward_weights.iter_mut().zip(excesses.iter()).take(count) {
                let ratio = if excess.is_finite() {
                    excess / scale
                } else {
                    f64::INFINITY
                };
                *weight = 1.0 / (1.0 + ratio * ratio);
            }
        }
        // The lines over the bins change only when a bin opens (or a step moved them): in
        // between, the last ones are carried over to this fit's frame (x relative to `now`).
        let bin_lines = self
            .bins
            .take_refit_due()
            .then(|| self.fit_bin_windows(now, fallback_slope));
        let moved_ns = (now - self.fitted_at).as_nanos_f64();
        // The windows over the exchanges are prefixes of the newest-first points: one pass
        // gives every window's moments.
        let mut ends = [(0usize, 0usize); WINDOW_COUNT];
        let mut prefix_windows = 0;
        for (index, window) in self.config.windows.iter().enumerate() {
            if *window > POINT_HORIZON {
                self.candidates[index].line = if let Some(lines) = bin_lines {
                    lines[index]
                } else {
                    self.candidates[index].line.map(|line| Line {
                        x_center: line.x_center - moved_ns,
                        ..line
                    })
                };
                continue;
            }
            let window_ns = window.as_nanos_f64();
            let in_window = table.local_x[..count]
                .iter()
                .take_while(|x| -**x <= window_ns)
                .count();
            ends[prefix_windows] = (in_window, index);
            prefix_windows += 1;
        }
        let ends = &mut ends[..prefix_windows];
        ends.sort_unstable();
        let min_rate_span = self.config.min_rate_span.as_nanos_f64();
        let mut forward = RunningMoments::default();
        let mut backward = RunningMoments::default();
        let mut added = 0;
        for &(end, index) in ends.iter() {
            while added < end {
                if two_way {
                    forward.add(
                        table.local_x[added],
                        table.forward_y[added],
                        forward_weights[added],
                    );
                    backward.add(
                        table.backward_x[added],
                        table.backward_y[added],
                        backward_weights[added],
                    );
                } else {
                    forward.add(
                        table.local_x[added],
                        table.offset_y[added],
                        forward_weights[added],
                    );
                }
                added += 1;
            }
            // The window's span is from `now` back to its oldest point.
            let span = if end == 0 {
                0.0
            } else {
                -table.local_x[end - 1]
            };
            let min_span = if span >= min_rate_span {
                0.0
            } else {
                f64::INFINITY
            };
            self.candidates[index].line = if two_way {
                forward
                    .moments()
                    .zip(backward.moments())
                    .map(|(f, b)| fit_two_way_moments(f, b, min_span, fallback_slope))
            } else {
                forward
                    .moments()
                    .map(|m| fit_moments(m, min_span, fallback_slope))
            };
        }
        self.fitted_at = now;
        // The longest window whose smoothed error is within 10 % of the best so far.
        let mut best: Option<(usize, f64)> = None;
        for (index, candidate) in self.candidates.iter().enumerate() {
            if candidate.line.is_none() {
                continue;
            }
            let error = candidate.error.unwrap_or(f64::INFINITY);
            best = match best {
                Some((_, best_error)) if error > best_error * 1.1 => best,
                Some((_, best_error)) => Some((index, error.min(best_error))),
                None => Some((index, error)),
            };
        }
        let Some((selected, _)) = best else {
            return;
        };
        self.selected = selected;
        self.noisy_refit_wait = self.noisy_refit_wait(now);
        let Some(line) = self.selected_line() else {
            return;
        };
        // Noise scale for the step threshold: MAD of the lucky half's residuals.
        let mut residuals = [0.0f64; CAPACITY];
        let mut lucky = 0;
        let selected_window_ns = self.config.windows[selected].as_nanos_f64();
        let points = excesses
            .iter()
            .zip(table.local_x.iter().zip(table.offset_y.iter()))
            .take(count);
        for (excess, (x, y)) in points {
            if excess.is_finite() && *excess <= median && -x <= selected_window_ns {
                residuals[lucky] = (y - line.at(*x)).abs();
                lucky += 1;
            }
        }
        self.residual_mad_ns = nth_smallest(&mut residuals[..lucky], lucky / 2).unwrap_or(0.0);
        // One way, queueing only ever delays: the truth is the upper envelope of the points,
        // not their (weighted) middle. Lift the line to the least delayed point.
        let lift = if self.min_round_trip.is_none() {
            table.local_x[..count]
                .iter()
                .zip(table.offset_y.iter())
                .take_while(|(x, _)| -**x <= selected_window_ns)
                .map(|(x, y)| y - line.at(*x))
                .fold(0.0f64, f64::max)
        } else {
            0.0
        };
        let remote = now + self.offset_ref + TimeDelta::from_nanos_f64(line.at(0.0) + lift);
        self.mapping = Some(ClockMapping::with_rate_offset(now, remote, line.slope));
    }
}

impl Estimator for LuckyRegression {
    fn name(&self) -> &'static str {
        "lucky-regression"
    }

    fn update(&mut self, sample: &Sample) -> Update {
        if self
            .grandmaster_identity
            .is_some_and(|known| known != sample.grandmaster_identity)
        {
            self.reset();
        }
        self.grandmaster_identity = Some(sample.grandmaster_identity);
        self.rate_offset = self.selected_line().map_or(0.0, |line| line.slope);
        let rejected = Update {
            mapping: self.mapping,
            stepped: false,
            accepted: false,
        };
        let Some(point) = self.point_of(sample) else {
            return rejected;
        };
        let rate = self.rate_offset;
        let round_trip = point.round_trip(rate);
        let t3 = sample.t2 + point.gap;
        if let Some(round_trip_raw) = point.round_trip_raw {
            // A round trip at or below zero pairs a Sync with a Delay_Req from before a step
            // of the master's clock (or carries a bad timestamp): only the step detector
            // may use it, through its Sync alone.
            if round_trip.is_some_and(|round_trip| round_trip <= TimeDelta::ZERO) {
                return self.held_back(sample, &point, round_trip, rejected);
            }
            match self.round_trips.judge(round_trip_raw, point.gap, rate) {
                RoundTripVerdict::Accepted => {
                    self.short_run = 0;
                    self.round_trips.record(round_trip_raw, point.gap);
                }
                RoundTripVerdict::TooLong => {
                    self.round_trips.record(round_trip_raw, point.gap);
                    // Queueing explains at most half its excess: beyond that, this exchange
                    // still says the master stepped. Within it, it still goes in: one of its
                    // halves may be the luckiest Sync or Delay_Req of its second, and each
                    // direction's weights see to the other (before each direction had its
                    // own, half the Wi-Fi exchanges were dropped here).
                    if self.step_refinement.is_some() {
                        return self.held_back(sample, &point, round_trip, rejected);
                    }
                }
                RoundTripVerdict::TooShort => {
                    // Faster than any packet lately: a wrong timestamp, or a Sync paired with
                    // a Delay_Req from before a master step. Held back, and kept out of the
                    // history (one forged packet must not become the minimum); only a
                    // shorter route confirmed by several distinct exchanges gets in.
                    if self.short_exchange != Some(t3) {
                        self.short_exchange = Some(t3);
                        self.short_run = self.short_run.saturating_add(1);
                    }
                    if self.short_run < self.config.step.confirmations.max(2) {
                        return self.held_back(sample, &point, round_trip, rejected);
                    }
                    self.round_trips.record(round_trip_raw, point.gap);
                }
            }
        }
        // Right after a step, the exchanges that passed the round-trip check measure what the
        // step's estimate missed (refine_step): they go in without another step judgement.
        let refining = self.step_refinement.is_some() && round_trip.is_some();
        if let Some(step) = self
            .judge_step(sample, &point, round_trip)
            .filter(|_| !refining)
        {
            return match step {
                StepVerdict::Step(step) => self.apply_step(step, point),
                _ => rejected,
            };
        }
        let before = self.mapping;
        self.refine_step(&point);
        self.score(&point);
        let refit = self.refit_due(&point, sample.t2);
        self.push(point);
        if refit {
            self.refit(sample.t2);
        }
        // The first mapping waits for a few exchanges, two way: one delayed 50 ms would
        // otherwise be the mapping until the next ones moved it (a step, reported).
        if before.is_none()
            && point.round_trip_raw.is_some()
            && self.points.len() < FIRST_MAPPING_EXCHANGES.min(self.config.max_points)
        {
            self.mapping = None;
        }
        let stepped = match (before, self.mapping) {
            (Some(before), Some(after)) => {
                (after.to_remote(sample.t2) - before.to_remote(sample.t2)).abs()
                    > self.config.report_step_beyond
            }
            (None, after) => after.is_some(),
            (Some(_), None) => false,
        };
        Update {
            mapping: self.mapping,
            stepped,
            accepted: true,
        }
    }

    fn mapping(&self) -> Option<ClockMapping> {
        self.mapping
    }

    // Not inlined: a whole estimator (about 86 kB) is built here, and inlined into `update`
    // (which resets on a new grandmaster) it made every update probe a 172 kB frame.
    #[inline(never)]
    fn reset(&mut self) {
        *self = Self::new(self.config);
    }
}

#[path = "lucky_bins.rs"]
mod bins;
#[path = "lucky_step.rs"]
mod step;
#[path = "lucky_table.rs"]
mod table;

#[cfg(test)]
#[path = "lucky_tests.rs"]
mod tests;
