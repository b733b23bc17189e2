//! Rate and offset estimation behind one trait, so estimators can be compared and swapped.

mod any;
mod linreg;
mod lucky;
mod nqptp;
mod pi;
mod regression;
mod round_trips;
mod select;
mod shared;

pub use any::{AnyEstimator, EstimatorKind};
pub use linreg::{LinregConfig, LinregEstimator};
pub use lucky::{LuckyRegression, LuckyRegressionConfig, LuckyRegressionConfigError, WINDOW_COUNT};
pub use nqptp::NqptpSmoother;
pub use pi::{PiConfig, PiServo};

use crate::mapping::ClockMapping;
use crate::measurement::{DelayAsymmetry, EndToEndExchange, OneWayMeasurement};
use crate::time::{Time, TimeDelta};

/// What is known about the path delay of a [`Sample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathDelay {
    /// Nothing (AirPlay: Apple receivers do not answer Delay_Req).
    Unknown,
    /// A mean path delay measured elsewhere (peer delay, or a configured value).
    Measured(TimeDelta),
    /// A paired Delay_Req exchange: t3 (local send) and t4 (remote receipt, corrected).
    Exchange {
        /// Delay_Req's origin (local).
        t3: Time,
        /// Delay_Req's receipt at the master, correction folded in (remote).
        t4: Time,
    },
}

/// One measurement as the estimators see it: a Sync's origin (remote) and receipt (local), what
/// is known of the path delay, and the grandmaster it came from (a change restarts estimation).
///
/// ```
/// use aptp_clock::{Sample, PathDelay, Time, TimeDelta};
/// let sample = Sample {
///     t1: Time::from_nanos(1_000_000),
///     t2: Time::from_nanos(3_050_000),
///     path_delay: PathDelay::Exchange { t3: Time::from_nanos(3_100_000), t4: Time::from_nanos(1_150_000) },
///     grandmaster_identity: 0x0011_22ff_fe33_4455,
/// };
/// assert_eq!(sample.round_trip(), Some(TimeDelta::from_micros(100)));
/// // The remote clock is 2 ms behind the local one.
/// assert_eq!(sample.remote_minus_local(), Some(TimeDelta::from_millis(-2)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Sync's origin with the corrections (and any asymmetry) folded in (remote).
    pub t1: Time,
    /// Sync's receipt (local).
    pub t2: Time,
    /// What is known of the path delay.
    pub path_delay: PathDelay,
    /// The grandmasterIdentity (from Announce) as a `u64`.
    pub grandmaster_identity: u64,
}

impl Sample {
    /// From an end-to-end exchange; the asymmetry is folded into t1 and t4 so that the mean of
    /// the two directions is unchanged and the offset comes out corrected.
    pub fn from_end_to_end(
        exchange: &EndToEndExchange,
        asymmetry: DelayAsymmetry,
        grandmaster_identity: u64,
    ) -> Self {
        let excess = asymmetry.master_to_slave_excess();
        Self {
            t1: exchange.corrected_t1() + excess,
            t2: exchange.t2,
            path_delay: PathDelay::Exchange {
                t3: exchange.t3,
                t4: exchange.corrected_t4() + excess,
            },
            grandmaster_identity,
        }
    }
    /// From AirPlay's one-way measurement, with the path delay if one is known.
    pub fn from_one_way(
        measurement: &OneWayMeasurement,
        path_delay: PathDelay,
        grandmaster_identity: u64,
    ) -> Self {
        Self {
            t1: measurement.corrected_origin(),
            t2: measurement.receive,
            path_delay,
            grandmaster_identity,
        }
    }
    /// `t2 − t1`: the master-to-slave delay plus the clocks' offset.
    pub fn forward(&self) -> TimeDelta {
        self.t2 - self.t1
    }
    /// Both one-way delays added, when a Delay_Req exchange is paired.
    pub fn round_trip(&self) -> Option<TimeDelta> {
        match self.path_delay {
            PathDelay::Exchange { t3, t4 } => Some(self.forward() + (t4 - t3)),
            _ => None,
        }
    }
    /// Half the round trip (IEEE 1588 meanPathDelay), when a Delay_Req exchange is paired.
    pub fn mean_path_delay(&self) -> Option<TimeDelta> {
        match self.path_delay {
            PathDelay::Exchange { .. } => self.round_trip().map(TimeDelta::half),
            PathDelay::Measured(delay) => Some(delay),
            PathDelay::Unknown => None,
        }
    }
    /// Remote minus local at t2 from this sample alone, when the path delay is known.
    pub fn remote_minus_local(&self) -> Option<TimeDelta> {
        self.mean_path_delay().map(|delay| delay - self.forward())
    }
    /// The round trip with the clocks' relative drift between t2 and t3 taken out, given
    /// the remote clock's rate relative to the local one minus 1 (`rate_offset`).
    pub fn round_trip_at_rate(&self, rate_offset: f64) -> Option<TimeDelta> {
        match self.path_delay {
            PathDelay::Exchange { t3, .. } => self
                .round_trip()
                .map(|round_trip| round_trip - (t3 - self.t2).mul_f64(rate_offset)),
            _ => None,
        }
    }
    /// [`remote_minus_local`](Self::remote_minus_local) with the drift between t2 and t3 taken
    /// out: the remote clock moves `(t3 − t2) × rate` while the local one moves `t3 − t2`, so
    /// the plain formula is off by half of `(t3 − t2) × (rate − 1)` (1.4 µs for 31 ms at 88 ppm;
    /// far more when Delay_Req runs slower than Sync).
    pub fn remote_minus_local_at_rate(&self, rate_offset: f64) -> Option<TimeDelta> {
        match self.path_delay {
            PathDelay::Exchange { t3, .. } => self
                .remote_minus_local()
                .map(|offset| offset - (t3 - self.t2).mul_f64(rate_offset).half()),
            _ => self.remote_minus_local(),
        }
    }
}

/// What one [`Estimator::update`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Update {
    /// The mapping after the sample (`None` while not locked).
    pub mapping: Option<ClockMapping>,
    /// The estimator jumped (first lock, a detected step, a new grandmaster): a follower may
    /// jump too instead of slewing.
    pub stepped: bool,
    /// The sample was used (not rejected as an outlier or held back as a suspected step).
    pub accepted: bool,
}

/// A rate and offset estimator: fed samples, it produces a local ↔ remote [`ClockMapping`].
///
/// Implementations hold fixed-capacity state only: `update` never allocates.
///
/// ```
/// use aptp_clock::{Estimator, LuckyRegression, PathDelay, Sample, Time, TimeDelta};
/// let mut estimator = LuckyRegression::default();
/// for n in 0..40u64 {
///     let local = Time::from_nanos(1_000_000_000 + n * 125_000_000);
///     // The remote clock is 5 s ahead; 100 µs each way.
///     let t1 = local + TimeDelta::from_secs(5) - TimeDelta::from_micros(100);
///     let t3 = local + TimeDelta::from_millis(1);
///     let t4 = t3 + TimeDelta::from_secs(5) + TimeDelta::from_micros(100);
///     estimator.update(&Sample { t1, t2: local, path_delay: PathDelay::Exchange { t3, t4 }, grandmaster_identity: 1 });
/// }
/// let mapping = estimator.mapping().unwrap();
/// let now = Time::from_nanos(6_000_000_000);
/// assert!((mapping.offset_at(now) - TimeDelta::from_secs(5)).abs() < TimeDelta::from_nanos(1));
/// ```
pub trait Estimator {
    /// The estimator's name as the simulator and CLI print it (`pi`, `linreg`, ...).
    fn name(&self) -> &'static str;
    /// Feeds one sample.
    fn update(&mut self, sample: &Sample) -> Update;
    /// The current mapping, `None` while not locked.
    fn mapping(&self) -> Option<ClockMapping>;
    /// Forgets everything.
    fn reset(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_sample_folds_corrections_and_asymmetry() {
        let at = |ns: u64| Time::from_nanos(ns);
        // Remote = local + 1 ms; master→slave 70 µs, slave→master 30 µs (asymmetry +20 µs).
        let exchange = EndToEndExchange {
            t1: at(10_000_000) - TimeDelta::from_micros(5),
            t2: at(9_070_000),
            t3: at(9_100_000),
            t4: at(10_130_000) + TimeDelta::from_micros(2),
            sync_correction: TimeDelta::from_micros(5),
            delay_response_correction: TimeDelta::from_micros(2),
        };
        let sample = Sample::from_end_to_end(
            &exchange,
            DelayAsymmetry::new(TimeDelta::from_micros(20)),
            1,
        );
        assert_eq!(sample.round_trip(), Some(TimeDelta::from_micros(100)));
        assert_eq!(sample.remote_minus_local(), Some(TimeDelta::from_millis(1)));
        let plain = Sample::from_end_to_end(&exchange, DelayAsymmetry::default(), 1);
        assert_eq!(
            plain.remote_minus_local(),
            Some(TimeDelta::from_micros(980))
        );
    }

    #[test]
    fn drift_between_t2_and_t3_is_taken_out() {
        // The remote clock runs 100 ppm fast; Delay_Req leaves 100 ms after the Sync arrived.
        let rate_offset = 100e-6;
        let local_t2 = Time::from_nanos(1_000_000_000);
        let remote_at =
            |local: Time| local + TimeDelta::from_secs(5) + (local - local_t2).mul_f64(rate_offset);
        let delay = TimeDelta::from_micros(50);
        let t3 = local_t2 + TimeDelta::from_millis(100);
        let sample = Sample {
            t1: remote_at(local_t2) - delay,
            t2: local_t2,
            path_delay: PathDelay::Exchange {
                t3,
                t4: remote_at(t3) + delay,
            },
            grandmaster_identity: 1,
        };
        // Naively the offset is off by half of 100 ms × 100 ppm = 5 µs.
        assert_eq!(
            sample.remote_minus_local(),
            Some(TimeDelta::from_secs(5) + TimeDelta::from_micros(5))
        );
        assert_eq!(
            sample.remote_minus_local_at_rate(rate_offset),
            Some(TimeDelta::from_secs(5))
        );
        assert_eq!(
            sample.round_trip_at_rate(rate_offset),
            Some(TimeDelta::from_micros(100))
        );
        let one_way = Sample {
            path_delay: PathDelay::Measured(delay),
            ..sample
        };
        assert_eq!(
            one_way.remote_minus_local_at_rate(rate_offset),
            Some(TimeDelta::from_secs(5))
        );
        assert_eq!(one_way.round_trip_at_rate(rate_offset), None);
    }
}
