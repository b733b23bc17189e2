//! RTP ↔ time conversion from an AirPlay rate anchor (SETRATEANCHORTIME).

use crate::mapping::ClockMapping;
use crate::time::{div_ceil, Time, NANOSECONDS_PER_SECOND, SCALED_PER_NANOSECOND};

/// Errors from building an [`RtpAnchor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// A sample rate of zero frames a second.
    #[error("sample rate must be above zero")]
    ZeroSampleRate,
}

const SCALED_PER_SECOND: i128 = NANOSECONDS_PER_SECOND * SCALED_PER_NANOSECOND;

/// An anchor: the RTP frame `rtp_timestamp` plays at `remote_time` (grandmaster timescale),
/// and frames follow at `sample_rate_hz`.
///
/// Frames are placed relative to the anchor by the signed 32-bit difference of RTP timestamps
/// (the nearest frame modulo 2^32, i.e. within ±2^31 frames, 12 h at 48 kHz), so a stream that
/// wraps its 32-bit counter converts without a seam. Frame instants are rounded up to the next
/// scaled nanosecond (2^-16 ns), and [`rtp_at_remote`](Self::rtp_at_remote) rounds down, so
/// converting a frame to time and back always gives the same frame.
///
/// ```
/// use aptp_clock::{ClockMapping, RtpAnchor, Time, TimeDelta};
/// let anchor_time = Time::from_secs_nanos(1_000, 0).unwrap();
/// let anchor = RtpAnchor::new(anchor_time, u32::MAX - 99, 44_100).unwrap();
/// // 44 100 frames later the counter has wrapped: still exactly one second later.
/// let frame = (u32::MAX - 99).wrapping_add(44_100);
/// assert_eq!(anchor.remote_time_of(frame), anchor_time + TimeDelta::from_secs(1));
/// assert_eq!(anchor.rtp_at_remote(anchor_time + TimeDelta::from_secs(1)), frame);
/// // Through a mapping, to the local instant at which the frame must play.
/// let mapping = ClockMapping::new(Time::from_nanos(5_000_000_000), anchor_time, 1.0);
/// assert_eq!(anchor.local_time_of(frame, &mapping), Time::from_nanos(6_000_000_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpAnchor {
    remote_time: Time,
    rtp_timestamp: u32,
    sample_rate_hz: u32,
}

impl RtpAnchor {
    /// An anchor.
    ///
    /// # Errors
    /// [`RtpError::ZeroSampleRate`] when `sample_rate_hz` is 0.
    pub const fn new(
        remote_time: Time,
        rtp_timestamp: u32,
        sample_rate_hz: u32,
    ) -> Result<Self, RtpError> {
        if sample_rate_hz == 0 {
            return Err(RtpError::ZeroSampleRate);
        }
        Ok(Self {
            remote_time,
            rtp_timestamp,
            sample_rate_hz,
        })
    }
    /// The anchor's remote time.
    pub const fn remote_time(&self) -> Time {
        self.remote_time
    }
    /// The anchor's RTP timestamp.
    pub const fn rtp_timestamp(&self) -> u32 {
        self.rtp_timestamp
    }
    /// Frames a second.
    pub const fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }
    /// The remote time of a frame `frames` away from the anchor (any `i64`), rounded up to the
    /// next scaled nanosecond.
    pub const fn remote_time_of_offset(&self, frames: i64) -> Time {
        // |frames| × 2^46 < 2^110: no overflow.
        let scaled = div_ceil(
            frames as i128 * SCALED_PER_SECOND,
            self.sample_rate_hz as i128,
        );
        Time::from_scaled_nanos(self.remote_time.scaled_nanos().saturating_add(scaled))
    }
    /// The remote time at which RTP frame `rtp_timestamp` plays (nearest modulo 2^32).
    pub const fn remote_time_of(&self, rtp_timestamp: u32) -> Time {
        let frames = rtp_timestamp.wrapping_sub(self.rtp_timestamp) as i32;
        self.remote_time_of_offset(frames as i64)
    }
    /// The frame offset from the anchor playing at a remote time (rounded down: the frame whose
    /// period contains `remote`), saturating at the `i64` range.
    pub const fn frame_offset_at_remote(&self, remote: Time) -> i64 {
        let elapsed = remote
            .scaled_nanos()
            .saturating_sub(self.remote_time.scaled_nanos());
        // Divide first by the scale to keep the product in range for any elapsed time.
        let seconds = elapsed.div_euclid(SCALED_PER_SECOND);
        let rest = elapsed.rem_euclid(SCALED_PER_SECOND);
        let frames = seconds
            .saturating_mul(self.sample_rate_hz as i128)
            .saturating_add(rest * self.sample_rate_hz as i128 / SCALED_PER_SECOND);
        if frames > i64::MAX as i128 {
            i64::MAX
        } else if frames < i64::MIN as i128 {
            i64::MIN
        } else {
            frames as i64
        }
    }
    /// The 32-bit RTP timestamp playing at a remote time.
    pub const fn rtp_at_remote(&self, remote: Time) -> u32 {
        // Truncation to 32 bits is the RTP counter's wrap-around.
        self.rtp_timestamp
            .wrapping_add(self.frame_offset_at_remote(remote) as u32)
    }
    /// The local instant at which RTP frame `rtp_timestamp` must play.
    pub fn local_time_of(&self, rtp_timestamp: u32, mapping: &ClockMapping) -> Time {
        mapping.to_local(self.remote_time_of(rtp_timestamp))
    }
    /// The RTP timestamp playing at a local instant.
    pub fn rtp_at_local(&self, local: Time, mapping: &ClockMapping) -> u32 {
        self.rtp_at_remote(mapping.to_remote(local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeDelta;

    #[test]
    fn frames_before_the_anchor_and_rounding() {
        let anchor = RtpAnchor::new(Time::from_secs_nanos(10, 0).unwrap(), 5, 48_000).unwrap();
        // One frame is 20833.333… ns: rounded up in scaled ns.
        let one = anchor.remote_time_of(6) - anchor.remote_time();
        assert_eq!(one.scaled_nanos(), div_ceil(SCALED_PER_SECOND, 48_000));
        assert_eq!(anchor.rtp_at_remote(anchor.remote_time_of(6)), 6);
        assert_eq!(
            anchor.rtp_at_remote(anchor.remote_time_of(6) - TimeDelta::from_scaled_nanos(1)),
            5
        );
        // Ten frames before the anchor wraps below zero.
        let before = 5u32.wrapping_sub(10);
        assert_eq!(anchor.rtp_at_remote(anchor.remote_time_of(before)), before);
        assert!(anchor.remote_time_of(before) < anchor.remote_time());
        assert_eq!(
            RtpAnchor::new(Time::EPOCH, 0, 0),
            Err(RtpError::ZeroSampleRate)
        );
    }
}
