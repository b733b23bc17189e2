//! Following a master: complete Sync exchanges become aptp-clock [`Sample`]s for the
//! configured estimator, whose answer is the remote ↔ local mapping.

use aptp_clock::{AnyEstimator, Estimator, MovingMedian, PathDelay, Sample, Time, TimeDelta};
use aptp_wire::ClockIdentity;

pub use aptp_clock::ClockMapping;

use super::config::Config;

/// How the offset from the master is measured.
///
/// ```
/// use aptp::engine::DelayMode;
/// assert_eq!(DelayMode::OneWay.name(), "one_way");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DelayMode {
    /// With the path delay measured: E2E Delay_Req answered, or P2P.
    #[default]
    TwoWay,
    /// From Sync/Follow_Up alone: DelayMechanism::None, or E2E with a master that stopped
    /// answering Delay_Req (the last measured path delay, if any, stands in).
    OneWay,
}

impl DelayMode {
    /// `two_way` or `one_way`, for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            DelayMode::TwoWay => "two_way",
            DelayMode::OneWay => "one_way",
        }
    }
}

/// One complete Sync exchange as the engine measured it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// The Sync's origin in the master's timescale, corrections folded in (t1).
    pub t1: Time,
    /// The Sync's receipt on the local clock (t2).
    pub t2: Time,
    /// The mean path delay in use for this exchange, when known.
    pub mean_path_delay: Option<TimeDelta>,
    /// offsetFromMaster from this exchange alone (local minus master, IEEE 1588's sign),
    /// when the path delay is known.
    pub offset_from_master: Option<TimeDelta>,
    /// The estimator used it (false: rejected as an outlier or held back as a suspected step).
    pub accepted: bool,
    /// How it was measured.
    pub delay_mode: DelayMode,
}

/// How well the mapping predicts the master: the error of each new exchange against the
/// mapping before it, smoothed.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MappingQuality {
    /// Exchanges the estimator accepted since it last started (new master, fault).
    pub accepted_measurements: u64,
    /// Exponentially weighted (1/8) mean of |prediction error| in nanoseconds: how far each
    /// new exchange landed from where the mapping predicted it.
    pub prediction_error_ns: f64,
}

/// What one exchange produced.
pub(crate) struct FeedOutcome {
    pub(crate) measurement: Measurement,
    pub(crate) mapping: Option<ClockMapping>,
    pub(crate) step_ns: Option<i64>,
}

/// The estimator and what the engine tracks around it.
#[derive(Debug)]
pub(crate) struct Follower {
    estimator: AnyEstimator,
    mapping: Option<ClockMapping>,
    quality: MappingQuality,
    /// The mean path delays of the last exchanges: the one reported is their median
    /// (linuxptp's `delay_filter moving_median` of length 10), so one exchange delayed by a
    /// busy host does not show as the path delay.
    mean_path_delays: MovingMedian<10>,
}

impl Follower {
    pub(crate) fn new(config: &Config) -> Self {
        // The PI servo's constants scale with the sync interval (linuxptp's pi_sync_interval).
        let sync_interval_s = super::config::log_interval_ns(config.log_sync_interval) as f64 / 1e9;
        // The default estimator's windows hold at most the configured capacities.
        let lucky_regression = aptp_clock::LuckyRegressionConfig {
            max_points: config.capacities.estimator_points,
            max_bins: config.capacities.estimator_bins,
            ..aptp_clock::LuckyRegressionConfig::default()
        };
        Follower {
            estimator: config
                .estimator
                .build_with(sync_interval_s, lucky_regression),
            mapping: None,
            quality: MappingQuality::default(),
            mean_path_delays: MovingMedian::new(),
        }
    }

    /// Forgets everything (a new master, a fault).
    pub(crate) fn reset(&mut self) {
        self.estimator.reset();
        self.mapping = None;
        self.quality = MappingQuality::default();
        self.mean_path_delays.clear();
    }

    pub(crate) fn mapping(&self) -> Option<ClockMapping> {
        self.mapping
    }

    pub(crate) fn quality(&self) -> MappingQuality {
        self.quality
    }

    /// The median of the last ten mean path delays measured.
    pub(crate) fn mean_path_delay(&self) -> Option<TimeDelta> {
        self.mean_path_delays.median()
    }

    /// Feeds one exchange: `t1` remote with corrections folded in, `t2` local.
    pub(crate) fn feed(
        &mut self,
        t1: Time,
        t2: Time,
        path_delay: PathDelay,
        grandmaster: ClockIdentity,
    ) -> FeedOutcome {
        let sample = Sample {
            t1,
            t2,
            path_delay,
            grandmaster_identity: u64::from_be_bytes(grandmaster.0),
        };
        // The drift between the Sync (t2) and the Delay_Req (t3) taken out at the current
        // rate, as the estimator does.
        let rate_offset = self.mapping.map_or(0.0, |m| m.rate_offset());
        let mean_path_delay = match path_delay {
            PathDelay::Exchange { .. } => {
                sample.round_trip_at_rate(rate_offset).map(TimeDelta::half)
            }
            _ => sample.mean_path_delay(),
        };
        if let Some(delay) = mean_path_delay {
            self.mean_path_delays.push(delay);
        }
        let remote_minus_local = sample.remote_minus_local_at_rate(rate_offset);
        let prediction = self
            .mapping
            .zip(remote_minus_local)
            .map(|(mapping, measured)| (measured - mapping.offset_at(t2)).abs().as_nanos_f64());
        let before = self.mapping;
        let update = self.estimator.update(&sample);
        if update.accepted {
            self.quality.accepted_measurements =
                self.quality.accepted_measurements.saturating_add(1);
            if let Some(error) = prediction {
                self.quality.prediction_error_ns +=
                    (error - self.quality.prediction_error_ns) / 8.0;
            }
        }
        self.mapping = update.mapping.or(self.mapping);
        let step_ns = match (update.stepped, before, update.mapping) {
            (true, Some(old), Some(new)) => {
                let step = new.offset_at(t2) - old.offset_at(t2);
                i64::try_from(step.nanos_rounded()).ok()
            }
            _ => None,
        };
        FeedOutcome {
            measurement: Measurement {
                t1,
                t2,
                mean_path_delay,
                offset_from_master: remote_minus_local.map(|d| -d),
                accepted: update.accepted,
                delay_mode: match path_delay {
                    PathDelay::Unknown => DelayMode::OneWay,
                    _ => DelayMode::TwoWay,
                },
            },
            mapping: update.mapping,
            step_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_clock::EstimatorKind;

    #[test]
    fn the_pi_servo_is_tuned_for_the_configured_sync_interval() {
        for (log_sync_interval, seconds) in [(0, 1.0), (-3, 0.125), (1, 2.0)] {
            let follower = Follower::new(&Config {
                estimator: EstimatorKind::Pi,
                log_sync_interval,
                ..Config::default()
            });
            let AnyEstimator::Pi(servo) = &follower.estimator else {
                panic!("not the PI servo")
            };
            assert_eq!(servo.config().sync_interval_s, seconds);
        }
    }
}
