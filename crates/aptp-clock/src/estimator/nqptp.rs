//! nqptp's one-way offset smoother, reproduced so that users migrating from Shairport Sync can
//! compare like with like.

use super::{Estimator, Sample, Update};
use crate::mapping::ClockMapping;
use crate::time::{Time, TimeDelta};

/// The jitter nqptp clamps a fall at before dividing it (−2.5 ms).
const CLAMPING_LIMIT: TimeDelta = TimeDelta::from_micros(-2_500);
/// For this long after a (re)start rises are believed in full and falls ignored (nqptp: 1 s).
const SETTLING: TimeDelta = TimeDelta::from_secs(1);

/// nqptp's smoother (nqptp-message-handlers.c, `handle_follow_up`): the raw offset is
/// `t1 + corrections − t2` (remote minus local, path delay ignored); against the previous
/// smoothed offset a rise is believed in full during the first second and by 1/16 after, a fall
/// is ignored during the first second and believed by 1/256 after (clamped at −2.5 ms first);
/// a new grandmaster restarts it. It estimates no rate: its mapping has rate 1.
///
/// ```
/// use aptp_clock::{Estimator, NqptpSmoother, PathDelay, Sample, Time, TimeDelta};
/// let mut smoother = NqptpSmoother::new();
/// let sample = |local: u64, remote: u64| Sample {
///     t1: Time::from_nanos(remote), t2: Time::from_nanos(local),
///     path_delay: PathDelay::Unknown, grandmaster_identity: 7,
/// };
/// smoother.update(&sample(1_000_000_000, 9_000_000_000));
/// // 2 s later a packet 256 µs slower: the offset falls by 1 µs only.
/// smoother.update(&sample(3_000_256_000, 11_000_000_000));
/// let mapping = smoother.mapping().unwrap();
/// assert_eq!(mapping.offset_at(Time::from_nanos(3_000_256_000)), TimeDelta::from_nanos(7_999_999_000));
/// ```
#[derive(Clone, Debug, Default)]
pub struct NqptpSmoother {
    previous_offset: Option<TimeDelta>,
    mastership_start: Time,
    last_local: Time,
    grandmaster_identity: u64,
}

impl NqptpSmoother {
    /// A smoother that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Estimator for NqptpSmoother {
    fn name(&self) -> &'static str {
        "nqptp"
    }

    fn update(&mut self, sample: &Sample) -> Update {
        let raw = sample.t1 - sample.t2;
        let restart = self.previous_offset.is_none()
            || sample.grandmaster_identity != self.grandmaster_identity;
        let smoothed = match self.previous_offset {
            Some(previous) if !restart => {
                let jitter = raw - previous;
                let settled = sample.t2 - self.mastership_start > SETTLING;
                if jitter.is_negative() {
                    let clamped = if jitter < CLAMPING_LIMIT {
                        CLAMPING_LIMIT
                    } else {
                        jitter
                    };
                    if settled {
                        // C integer division truncates towards zero.
                        previous + TimeDelta::from_scaled_nanos(clamped.scaled_nanos() / 256)
                    } else {
                        previous
                    }
                } else if settled {
                    previous + TimeDelta::from_scaled_nanos(jitter.scaled_nanos() / 16)
                } else {
                    raw
                }
            }
            _ => {
                self.mastership_start = sample.t2;
                raw
            }
        };
        self.grandmaster_identity = sample.grandmaster_identity;
        self.previous_offset = Some(smoothed);
        self.last_local = sample.t2;
        Update {
            mapping: self.mapping(),
            stepped: restart,
            accepted: true,
        }
    }

    fn mapping(&self) -> Option<ClockMapping> {
        let offset = self.previous_offset?;
        Some(ClockMapping::new(
            self.last_local,
            self.last_local + offset,
            1.0,
        ))
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::PathDelay;

    fn sample(local_ns: u64, remote_ns: u64, grandmaster_identity: u64) -> Sample {
        Sample {
            t1: Time::from_nanos(remote_ns),
            t2: Time::from_nanos(local_ns),
            path_delay: PathDelay::Unknown,
            grandmaster_identity,
        }
    }

    #[test]
    fn rises_fast_falls_slow_restarts_on_new_grandmaster() {
        let mut smoother = NqptpSmoother::new();
        assert!(
            smoother
                .update(&sample(1_000_000_000, 5_000_000_000, 1))
                .stepped
        );
        // Within the first second a fall is ignored, a rise taken in full.
        smoother.update(&sample(1_100_000_000, 5_099_000_000, 1));
        assert_eq!(
            smoother
                .mapping()
                .unwrap()
                .offset_at(Time::from_nanos(1_100_000_000)),
            TimeDelta::from_secs(4)
        );
        smoother.update(&sample(1_200_000_000, 5_201_000_000, 1));
        assert_eq!(
            smoother
                .mapping()
                .unwrap()
                .offset_at(Time::from_nanos(1_200_000_000)),
            TimeDelta::from_nanos(4_001_000_000)
        );
        // After a second, a 10 ms fall is clamped to 2.5 ms, then divided by 256.
        let update = smoother.update(&sample(3_000_000_000, 6_991_000_000, 1));
        assert!(!update.stepped);
        let offset = smoother
            .mapping()
            .unwrap()
            .offset_at(Time::from_nanos(3_000_000_000));
        assert_eq!(
            offset,
            TimeDelta::from_nanos(4_001_000_000)
                - TimeDelta::from_scaled_nanos((2_500_000i128 << 16) / 256)
        );
        // A rise of 16 µs moves it by 1 µs.
        let before = offset;
        smoother.update(&sample(
            4_000_000_000,
            4_000_000_000 + (before.nanos_rounded() as u64) + 16_000,
            1,
        ));
        let risen = smoother
            .mapping()
            .unwrap()
            .offset_at(Time::from_nanos(4_000_000_000))
            - before;
        // 16 µs (± the sub-ns rounding of the test's integer remote time) over 16.
        assert!(
            (risen - TimeDelta::from_micros(1)).abs() < TimeDelta::from_nanos(1),
            "{risen:?}"
        );
        // A new grandmaster restarts.
        assert!(smoother.update(&sample(5_000_000_000, 1_000, 2)).stepped);
        assert_eq!(
            smoother
                .mapping()
                .unwrap()
                .offset_at(Time::from_nanos(5_000_000_000)),
            TimeDelta::from_nanos(1_000 - 5_000_000_000)
        );
    }
}
