//! linuxptp's PI servo (pi.c) steering a virtual clock, with its path delay filter (tsproc.c).

use super::shared::{filtered_path_delay, grandmaster_changed};
use super::{Estimator, Sample, Update};
use crate::filter::MovingMedian;
use crate::mapping::ClockMapping;
use crate::time::{Time, TimeDelta};

/// linuxptp's FREQ_EST_MARGIN.
const FREQ_EST_MARGIN: f64 = 0.001;

/// linuxptp's PI servo constants; the defaults are its software-timestamping ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PiConfig {
    /// pi_proportional_scale (0.1 software, 0.7 hardware).
    pub kp_scale: f64,
    /// pi_proportional_exponent (−0.3).
    pub kp_exponent: f64,
    /// pi_proportional_norm_max (0.7).
    pub kp_norm_max: f64,
    /// pi_integral_scale (0.001 software, 0.3 hardware).
    pub ki_scale: f64,
    /// pi_integral_exponent (0.4).
    pub ki_exponent: f64,
    /// pi_integral_norm_max (0.3).
    pub ki_norm_max: f64,
    /// The sync interval in seconds (AirPlay: 0.125).
    pub sync_interval_s: f64,
    /// first_step_threshold (20 µs): the first lock steps when the offset is larger.
    pub first_step_threshold: TimeDelta,
    /// step_threshold (0 = never step after the first lock, linuxptp's default).
    pub step_threshold: TimeDelta,
    /// max_frequency (900 000 000 ppb).
    pub max_frequency_ppb: f64,
    /// sanity_freq_limit (200 000 000 ppb): a larger output resets the servo.
    pub sanity_freq_limit_ppb: f64,
}

impl Default for PiConfig {
    fn default() -> Self {
        Self {
            kp_scale: 0.1,
            kp_exponent: -0.3,
            kp_norm_max: 0.7,
            ki_scale: 0.001,
            ki_exponent: 0.4,
            ki_norm_max: 0.3,
            sync_interval_s: 0.125,
            first_step_threshold: TimeDelta::from_micros(20),
            step_threshold: TimeDelta::ZERO,
            max_frequency_ppb: 900_000_000.0,
            sanity_freq_limit_ppb: 200_000_000.0,
        }
    }
}

impl PiConfig {
    /// `kp = min(kp_scale · s^kp_exponent, kp_norm_max / s)` (pi_sync_interval).
    pub fn kp(&self) -> f64 {
        let interval = self.sync_interval_s;
        (self.kp_scale * libm::pow(interval, self.kp_exponent)).min(self.kp_norm_max / interval)
    }
    /// `ki = min(ki_scale · s^ki_exponent, ki_norm_max / s)` (pi_sync_interval).
    pub fn ki(&self) -> f64 {
        let interval = self.sync_interval_s;
        (self.ki_scale * libm::pow(interval, self.ki_exponent)).min(self.ki_norm_max / interval)
    }
}

/// linuxptp's PI servo as an estimator: it steers a virtual clock (a [`ClockMapping`] over the
/// local clock) exactly as ptp4l steers a PHC — frequency first estimated from two samples at
/// least `0.016 / ki` apart, then a step if the offset exceeds the first step threshold, then
/// `ppb = kp·offset + ki·Σoffset` — with the offset taken as ptp4l's tsproc does:
/// `t2 − t1 − median(last 10 mean path delays)`. A frequency beyond the sanity limit resets it.
///
/// ```
/// use aptp_clock::{Estimator, PiConfig, PiServo};
/// let servo = PiServo::new(PiConfig::default());
/// assert_eq!(servo.name(), "pi");
/// let config = PiConfig::default();
/// assert!((config.kp() - 0.1866).abs() < 1e-3 && (config.ki() - 0.000435).abs() < 1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct PiServo {
    config: PiConfig,
    kp: f64,
    ki: f64,
    count: u8,
    offsets_ns: [f64; 2],
    locals: [Time; 2],
    drift_ppb: f64,
    first_update: bool,
    delay_filter: MovingMedian<10>,
    clock: Option<ClockMapping>,
    locked: bool,
    grandmaster_identity: Option<u64>,
}

impl Default for PiServo {
    fn default() -> Self {
        Self::new(PiConfig::default())
    }
}

impl PiServo {
    /// A servo with its constants.
    pub fn new(config: PiConfig) -> Self {
        Self {
            config,
            kp: config.kp(),
            ki: config.ki(),
            count: 0,
            offsets_ns: [0.0; 2],
            locals: [Time::EPOCH; 2],
            drift_ppb: 0.0,
            first_update: true,
            delay_filter: MovingMedian::new(),
            clock: None,
            locked: false,
            grandmaster_identity: None,
        }
    }

    /// The servo's constants.
    pub fn config(&self) -> &PiConfig {
        &self.config
    }

    fn steer(&mut self, at: Time, ppb: f64, step_ns: f64) {
        let clock = self.clock.unwrap_or_else(|| ClockMapping::new(at, at, 1.0));
        let remote = clock.to_remote(at) - TimeDelta::from_nanos_f64(step_ns);
        // ptp4l applies −ppb to the clock it steers.
        self.clock = Some(ClockMapping::with_rate_offset(at, remote, -ppb * 1e-9));
    }
}

impl Estimator for PiServo {
    fn name(&self) -> &'static str {
        "pi"
    }

    fn update(&mut self, sample: &Sample) -> Update {
        let mut stepped = false;
        if grandmaster_changed(self.grandmaster_identity, sample) {
            self.reset();
        }
        self.grandmaster_identity = Some(sample.grandmaster_identity);
        // The drift between t2 and t3 taken out at the steered clock's rate.
        let rate_offset = self.clock.map_or(0.0, |clock| clock.rate_offset());
        let delay = filtered_path_delay(&mut self.delay_filter, sample, rate_offset);
        // The virtual clock starts as the free-running local clock, as a PHC would.
        let clock = self
            .clock
            .unwrap_or_else(|| ClockMapping::new(sample.t2, sample.t2, 1.0));
        let offset = clock.to_remote(sample.t2) - (sample.t1 + delay);
        let offset_ns = offset.as_nanos_f64();
        let local = sample.t2;
        match self.count {
            0 => {
                self.offsets_ns[0] = offset_ns;
                self.locals[0] = local;
                self.count = 1;
                self.clock = Some(clock);
            }
            1 => {
                self.offsets_ns[1] = offset_ns;
                self.locals[1] = local;
                if self.locals[0] >= self.locals[1] {
                    self.count = 0;
                    return Update {
                        mapping: self.mapping(),
                        stepped,
                        accepted: true,
                    };
                }
                let local_diff_s = (self.locals[1] - self.locals[0]).as_secs_f64();
                let freq_est_interval = (0.016 / self.ki).min(1000.0);
                if local_diff_s + local_diff_s * FREQ_EST_MARGIN < freq_est_interval {
                    return Update {
                        mapping: self.mapping(),
                        stepped,
                        accepted: true,
                    };
                }
                let local_diff_ns = (self.locals[1] - self.locals[0]).as_nanos_f64();
                self.drift_ppb += (1e9 - self.drift_ppb)
                    * (self.offsets_ns[1] - self.offsets_ns[0])
                    / local_diff_ns;
                self.drift_ppb = self.drift_ppb.clamp(
                    -self.config.max_frequency_ppb,
                    self.config.max_frequency_ppb,
                );
                let magnitude = offset.abs();
                let first_step = self.first_update
                    && self.config.first_step_threshold > TimeDelta::ZERO
                    && self.config.first_step_threshold < magnitude;
                let later_step = self.config.step_threshold > TimeDelta::ZERO
                    && self.config.step_threshold < magnitude;
                let step_ns = if first_step || later_step {
                    offset_ns
                } else {
                    0.0
                };
                stepped = step_ns != 0.0 || !self.locked;
                self.steer(local, self.drift_ppb, step_ns);
                self.first_update = false;
                self.locked = true;
                self.count = 2;
            }
            _ => {
                if self.config.step_threshold > TimeDelta::ZERO
                    && self.config.step_threshold < offset.abs()
                {
                    self.count = 0;
                    return Update {
                        mapping: self.mapping(),
                        stepped,
                        accepted: true,
                    };
                }
                let ki_term = self.ki * offset_ns;
                let mut ppb = self.kp * offset_ns + self.drift_ppb + ki_term;
                if ppb < -self.config.max_frequency_ppb {
                    ppb = -self.config.max_frequency_ppb;
                } else if ppb > self.config.max_frequency_ppb {
                    ppb = self.config.max_frequency_ppb;
                } else {
                    self.drift_ppb += ki_term;
                }
                if ppb.abs() > self.config.sanity_freq_limit_ppb {
                    // ptp4l's clock check: an insane frequency resets the servo (pi_reset:
                    // the count only), which re-estimates the frequency; the clock keeps its
                    // last frequency meanwhile.
                    self.count = 0;
                    return Update {
                        mapping: self.mapping(),
                        stepped,
                        accepted: true,
                    };
                }
                self.steer(local, ppb, 0.0);
            }
        }
        Update {
            mapping: self.mapping(),
            stepped,
            accepted: true,
        }
    }

    fn mapping(&self) -> Option<ClockMapping> {
        if self.locked {
            self.clock
        } else {
            None
        }
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
    fn locks_after_the_frequency_estimate_and_follows() {
        let mut servo = PiServo::default();
        let offset = TimeDelta::from_secs(1_000);
        let ppm = 20e-6;
        let mut locked_at = None;
        for n in 0..2_000u64 {
            let local = Time::from_nanos(1_000_000_000 + n * 125_000_000);
            let elapsed = local - Time::from_nanos(1_000_000_000);
            let remote_now = local + offset + elapsed.mul_f64(ppm);
            let t1 = remote_now - TimeDelta::from_micros(50);
            let t3 = local;
            let t4 = remote_now + TimeDelta::from_micros(50);
            let update = servo.update(&Sample {
                t1,
                t2: local,
                path_delay: PathDelay::Exchange { t3, t4 },
                grandmaster_identity: 1,
            });
            if update.mapping.is_some() && locked_at.is_none() {
                locked_at = Some(n);
                assert!(update.stepped);
            }
        }
        // 0.016 / ki ≈ 36.8 s at 8 Hz: locks after ~295 samples.
        let locked_at = locked_at.unwrap();
        assert!((290..=300).contains(&locked_at), "{locked_at}");
        let mapping = servo.mapping().unwrap();
        assert!(
            (mapping.rate_ppb() - 20_000.0).abs() < 50.0,
            "{}",
            mapping.rate_ppb()
        );
    }
}
