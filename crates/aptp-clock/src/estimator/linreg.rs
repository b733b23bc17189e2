//! Linear regression of remote against local time, after linuxptp's linreg servo (linreg.c).

use super::regression::{fit, Line};
use super::shared::{filtered_path_delay, grandmaster_changed, PointRing};
use super::{Estimator, Sample, Update};
use crate::filter::MovingMedian;
use crate::mapping::ClockMapping;
use crate::time::{Time, TimeDelta};

/// Points held (linuxptp: MAX_POINTS 64).
const MAX_POINTS: usize = 64;
/// Window sizes tried: 4, 8, 16, 32, 64 points (linuxptp: MIN_SIZE 2 … MAX_SIZE 6, as powers).
const SIZES: [usize; 5] = [4, 8, 16, 32, 64];
/// linuxptp's ERR_SMOOTH and ERR_EPSILON.
const ERR_SMOOTH: f64 = 0.02;
const ERR_EPSILON: f64 = 1.2;

/// Tuning of a [`LinregEstimator`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinregConfig {
    /// Weight points against queueing: `w = 1 / (1 + (q / scale)²)` with `q` the round trip's
    /// excess over the window's minimum and `scale` the median excess (at least
    /// `min_queueing_scale`). Off, every point weighs 1 as in linuxptp.
    pub weight_by_queueing: bool,
    /// The smallest queueing scale.
    pub min_queueing_scale: TimeDelta,
}

impl Default for LinregConfig {
    fn default() -> Self {
        Self {
            weight_by_queueing: true,
            min_queueing_scale: TimeDelta::from_nanos(100),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Point {
    local: Time,
    remote_minus_local: TimeDelta,
    round_trip: Option<TimeDelta>,
}

#[derive(Clone, Copy, Debug, Default)]
struct SizeResult {
    line: Option<Line>,
    error: Option<f64>,
}

/// linuxptp's linreg servo read as a mapping: points `(t2, t1 + median path delay)` (its tsproc
/// offsets), regressions over the newest 4, 8, 16, 32 and 64 points, and the mapping taken from
/// the largest window whose smoothed squared prediction error is within 20 % of the best. Unlike
/// linuxptp it weights each point against the queueing its exchange met (see [`LinregConfig`]).
///
/// ```
/// use aptp_clock::{Estimator, LinregEstimator};
/// let estimator = LinregEstimator::default();
/// assert_eq!(estimator.name(), "linreg");
/// assert!(estimator.mapping().is_none());
/// ```
#[derive(Clone, Debug)]
pub struct LinregEstimator {
    config: LinregConfig,
    points: PointRing<Point, MAX_POINTS>,
    offset_ref: TimeDelta,
    results: [SizeResult; SIZES.len()],
    size_index: usize,
    delay_filter: MovingMedian<10>,
    fitted_at: Time,
    mapping: Option<ClockMapping>,
    grandmaster_identity: Option<u64>,
}

impl Default for LinregEstimator {
    fn default() -> Self {
        Self::new(LinregConfig::default())
    }
}

impl LinregEstimator {
    /// An estimator with its tuning.
    pub fn new(config: LinregConfig) -> Self {
        Self {
            config,
            points: PointRing::new(),
            offset_ref: TimeDelta::ZERO,
            results: [SizeResult::default(); SIZES.len()],
            size_index: 0,
            delay_filter: MovingMedian::new(),
            fitted_at: Time::EPOCH,
            mapping: None,
            grandmaster_identity: None,
        }
    }

    /// The newest `count` points, newest first.
    fn newest(&self, count: usize) -> impl Iterator<Item = &Point> + Clone {
        self.points.newest(count)
    }

    fn regress(&self, count: usize, x_ref: Time) -> Option<Line> {
        let points = self.newest(count);
        let min_round_trip = points.clone().filter_map(|point| point.round_trip).min();
        let scale = match (self.config.weight_by_queueing, min_round_trip) {
            (true, Some(minimum)) => {
                let mut excesses = [TimeDelta::ZERO; MAX_POINTS];
                let mut held = 0;
                for round_trip in points.clone().filter_map(|point| point.round_trip) {
                    excesses[held] = round_trip - minimum;
                    held += 1;
                }
                let median = crate::filter::median_in_place(&mut excesses[..held])
                    .unwrap_or(TimeDelta::ZERO);
                Some(median.max(self.config.min_queueing_scale).as_nanos_f64())
            }
            _ => None,
        };
        let offset_ref = self.offset_ref;
        let weighted = points.map(move |point| {
            let x = (point.local - x_ref).as_nanos_f64();
            let y = (point.remote_minus_local - offset_ref).as_nanos_f64();
            let weight = match (scale, point.round_trip, min_round_trip) {
                (Some(scale), Some(round_trip), Some(minimum)) => {
                    let ratio = (round_trip - minimum).as_nanos_f64() / scale;
                    1.0 / (1.0 + ratio * ratio)
                }
                _ => 1.0,
            };
            (x, y, weight)
        });
        fit(weighted, 0.0, 0.0)
    }
}

impl Estimator for LinregEstimator {
    fn name(&self) -> &'static str {
        "linreg"
    }

    fn update(&mut self, sample: &Sample) -> Update {
        let mut stepped = false;
        if grandmaster_changed(self.grandmaster_identity, sample) {
            self.reset();
        }
        self.grandmaster_identity = Some(sample.grandmaster_identity);
        // The drift between t2 and t3 taken out at the current rate.
        let rate_offset = self.mapping.map_or(0.0, |mapping| mapping.rate_offset());
        let delay = filtered_path_delay(&mut self.delay_filter, sample, rate_offset);
        let point = Point {
            local: sample.t2,
            remote_minus_local: sample.t1 + delay - sample.t2,
            round_trip: sample
                .round_trip_at_rate(self.mapping.map_or(0.0, |mapping| mapping.rate_offset())),
        };
        if self.points.len() == 0 {
            self.offset_ref = point.remote_minus_local;
        }
        // Score every window on how well it predicted this point (linreg.c: regress()).
        let x_ref = sample.t2;
        let x_previous = (sample.t2 - self.fitted_at).as_nanos_f64();
        let y = (point.remote_minus_local - self.offset_ref).as_nanos_f64();
        for result in &mut self.results {
            if let Some(line) = result.line {
                let diff = y - line.at(x_previous);
                let squared = diff * diff;
                result.error = Some(match result.error {
                    Some(error) => error + ERR_SMOOTH * (squared - error),
                    None => squared,
                });
            }
        }
        self.points.push(point);
        // Refit every window on the newest points, x measured from this sample.
        for (index, size) in SIZES.iter().enumerate() {
            self.results[index].line = if self.points.len() >= *size {
                self.regress(*size, x_ref)
            } else {
                None
            };
        }
        self.fitted_at = x_ref;
        // Largest window whose error is within ERR_EPSILON of the best so far (update_size()).
        let mut best: Option<(usize, f64)> = None;
        for (index, result) in self.results.iter().enumerate() {
            if result.line.is_none() {
                continue;
            }
            let error = result.error.unwrap_or(f64::INFINITY);
            match best {
                None => best = Some((index, error)),
                Some((_, best_error))
                    if best_error * ERR_EPSILON > error || best_error.is_infinite() =>
                {
                    best = Some((index, error))
                }
                _ => {}
            }
        }
        if let Some((index, _)) = best {
            self.size_index = index;
            if let Some(line) = self.results[index].line {
                let remote = sample.t2 + self.offset_ref + TimeDelta::from_nanos_f64(line.at(0.0));
                stepped = self.mapping.is_none();
                self.mapping = Some(ClockMapping::with_rate_offset(
                    sample.t2, remote, line.slope,
                ));
            }
        }
        Update {
            mapping: self.mapping,
            stepped,
            accepted: true,
        }
    }

    fn mapping(&self) -> Option<ClockMapping> {
        self.mapping
    }

    fn reset(&mut self) {
        *self = Self::new(self.config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::PathDelay;

    #[test]
    fn finds_rate_and_offset_of_a_clean_line() {
        let mut estimator = LinregEstimator::default();
        let start = Time::from_nanos(1_000_000_000);
        for n in 0..100u64 {
            let local = start + TimeDelta::from_nanos((n * 125_000_000) as i64);
            let remote_now = local + TimeDelta::from_secs(3) + (local - start).mul_f64(-40e-6);
            let t1 = remote_now - TimeDelta::from_micros(30);
            let t3 = local;
            let t4 = remote_now + TimeDelta::from_micros(30);
            estimator.update(&Sample {
                t1,
                t2: local,
                path_delay: PathDelay::Exchange { t3, t4 },
                grandmaster_identity: 9,
            });
        }
        let mapping = estimator.mapping().unwrap();
        assert!(
            (mapping.rate_ppb() + 40_000.0).abs() < 0.01,
            "{}",
            mapping.rate_ppb()
        );
        let local = start + TimeDelta::from_secs(20);
        let truth = local + TimeDelta::from_secs(3) + TimeDelta::from_secs(20).mul_f64(-40e-6);
        assert!((mapping.to_remote(local) - truth).abs() < TimeDelta::from_nanos(2));
    }
}
