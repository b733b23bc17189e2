//! Audio scheduling: SETRATEANCHORTIME's anchor and the followed clock's mapping give the
//! local instant of any RTP frame, and the frame playing at any local instant.
//!
//! The mapping is followed through a [`SlewedClock`]: a new estimate moves the schedule by at
//! most `max_slew_ppb` (so audio never jumps), unless it is a new timeline or the gap exceeds
//! the step threshold, where the schedule jumps at once. RTP timestamps wrap at 2^32 without a
//! seam ([`RtpAnchor`]).

use super::wire_time::time_of_network_time;
use aptp_clock::{ClockMapping, RtpAnchor, SlewedClock, Time, TimeDelta};
use thiserror::Error;

/// SETRATEANCHORTIME's timing fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateAnchor {
    /// networkTimeSecs: seconds of the grandmaster's timescale.
    pub network_time_secs: u64,
    /// networkTimeFrac: a 64-bit binary fraction of a second.
    pub network_time_frac: u64,
    /// networkTimeTimelineID: the grandmaster's clock identity as a big-endian u64.
    pub timeline_id: u64,
    /// rtpTime: the RTP frame that plays at that network time.
    pub rtp_time: u32,
}

impl RateAnchor {
    /// The anchor's instant in the grandmaster's timescale.
    pub fn network_time(&self) -> Time {
        time_of_network_time(self.network_time_secs, self.network_time_frac)
    }
}

/// SETRATEANCHORTIME's rate: playing (1) or paused (0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackRate {
    /// Frames advance with the clock.
    Playing,
    /// Frames stand still at the anchor's frame.
    Paused,
}

impl PlaybackRate {
    /// From SETRATEANCHORTIME's `rate` (any positive rate plays).
    pub fn from_rate(rate: f64) -> Self {
        if rate > 0.0 {
            PlaybackRate::Playing
        } else {
            PlaybackRate::Paused
        }
    }
}

/// Why the schedule cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// No SETRATEANCHORTIME yet.
    #[error("no rate anchor set")]
    NoAnchor,
    /// The sample rate is zero.
    #[error("the sample rate must be above zero")]
    ZeroSampleRate,
    /// No clock mapping yet (the grandmaster is not measured).
    #[error("no clock mapping yet")]
    NoMapping,
    /// The anchor's timeline is not the grandmaster being followed.
    #[error("the anchor's timeline {anchor:#018x} is not the grandmaster followed ({followed})")]
    TimelineMismatch {
        /// networkTimeTimelineID of the anchor.
        anchor: u64,
        /// The followed grandmaster's identity, printed; "none" when none is followed.
        followed: FollowedTimeline,
    },
    /// Paused: no frame is scheduled to play.
    #[error("playback is paused")]
    Paused,
}

/// The followed timeline in a [`ScheduleError::TimelineMismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowedTimeline(pub Option<u64>);

impl core::fmt::Display for FollowedTimeline {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(id) => write!(f, "{id:#018x}"),
            None => f.write_str("none"),
        }
    }
}

/// From SETRATEANCHORTIME and the followed clock to "when does frame n play here".
///
/// ```
/// use aptp::airplay::{PlaybackRate, PlaybackSchedule, RateAnchor};
/// use aptp_clock::{ClockMapping, Time, TimeDelta};
///
/// let mut schedule = PlaybackSchedule::new(500_000.0, TimeDelta::from_millis(20));
/// // The grandmaster 0x11.. is 1000 s ahead of the local clock.
/// let now = Time::from_nanos(5_000_000_000);
/// let mapping = ClockMapping::new(now, now + TimeDelta::from_secs(1_000), 1.0);
/// schedule.update_mapping(now, 0x1111_1111_1111_1111, mapping);
/// schedule.set_anchor(
///     RateAnchor { network_time_secs: 1_006, network_time_frac: 0, timeline_id: 0x1111_1111_1111_1111, rtp_time: u32::MAX },
///     44_100,
///     PlaybackRate::Playing,
/// ).unwrap();
/// // One second of frames later (across the RTP wrap) is local 7 s.
/// let frame = u32::MAX.wrapping_add(44_100);
/// assert_eq!(schedule.local_time_of(frame), Ok(Time::from_nanos(7_000_000_000)));
/// assert_eq!(schedule.rtp_at(Time::from_nanos(7_000_000_000)), Ok(frame));
/// ```
#[derive(Clone, Debug)]
pub struct PlaybackSchedule {
    anchor: Option<(RateAnchor, RtpAnchor)>,
    rate: PlaybackRate,
    clock: SlewedClock,
    timeline: Option<u64>,
    step_threshold: TimeDelta,
}

impl PlaybackSchedule {
    /// A schedule that slews at most `max_slew_ppb` and jumps when the mapping moves more
    /// than `step_threshold` at once.
    pub fn new(max_slew_ppb: f64, step_threshold: TimeDelta) -> Self {
        PlaybackSchedule {
            anchor: None,
            rate: PlaybackRate::Paused,
            clock: SlewedClock::new(max_slew_ppb),
            timeline: None,
            step_threshold: step_threshold.abs(),
        }
    }

    /// Takes SETRATEANCHORTIME: the anchor, the stream's sample rate and the rate.
    ///
    /// # Errors
    /// [`ScheduleError::ZeroSampleRate`].
    pub fn set_anchor(
        &mut self,
        anchor: RateAnchor,
        sample_rate_hz: u32,
        rate: PlaybackRate,
    ) -> Result<(), ScheduleError> {
        let rtp = RtpAnchor::new(anchor.network_time(), anchor.rtp_time, sample_rate_hz)
            .map_err(|_| ScheduleError::ZeroSampleRate)?;
        self.anchor = Some((anchor, rtp));
        self.rate = rate;
        Ok(())
    }

    /// The anchor in use.
    pub fn anchor(&self) -> Option<RateAnchor> {
        self.anchor.map(|(anchor, _)| anchor)
    }

    /// Takes the followed clock's mapping at local instant `now` (from the receiver's
    /// `MappingUpdated`, with the grandmaster's identity as `timeline_id`).
    pub fn update_mapping(&mut self, now: Time, timeline_id: u64, mapping: ClockMapping) {
        if self.timeline != Some(timeline_id) {
            self.timeline = Some(timeline_id);
            self.clock.reset();
            self.clock.update(now, mapping, true);
            return;
        }
        let step = match self.clock.to_remote(now) {
            Some(current) => (mapping.to_remote(now) - current).abs() > self.step_threshold,
            None => true,
        };
        self.clock.update(now, mapping, step);
    }

    /// Forgets the mapping (no grandmaster followed any more).
    pub fn clear_mapping(&mut self) {
        self.timeline = None;
        self.clock.reset();
    }

    /// The grandmaster's time at a local instant, as the schedule follows it.
    pub fn remote_time_at(&self, local: Time) -> Option<Time> {
        self.clock.to_remote(local)
    }

    fn ready(&self) -> Result<RtpAnchor, ScheduleError> {
        let (anchor, rtp) = self.anchor.ok_or(ScheduleError::NoAnchor)?;
        let followed = self.timeline;
        if followed.is_some() && followed != Some(anchor.timeline_id) {
            return Err(ScheduleError::TimelineMismatch {
                anchor: anchor.timeline_id,
                followed: FollowedTimeline(followed),
            });
        }
        if followed.is_none() {
            return Err(ScheduleError::NoMapping);
        }
        Ok(rtp)
    }

    /// The local instant at which RTP frame `rtp_timestamp` plays (the nearest such frame
    /// modulo 2^32 to the anchor).
    ///
    /// # Errors
    /// [`ScheduleError::NoAnchor`], [`ScheduleError::NoMapping`],
    /// [`ScheduleError::TimelineMismatch`], [`ScheduleError::Paused`].
    pub fn local_time_of(&self, rtp_timestamp: u32) -> Result<Time, ScheduleError> {
        let rtp = self.ready()?;
        if self.rate == PlaybackRate::Paused {
            return Err(ScheduleError::Paused);
        }
        let remote = rtp.remote_time_of(rtp_timestamp);
        self.local_of_remote(remote).ok_or(ScheduleError::NoMapping)
    }

    /// The RTP frame playing at local instant `local` (the anchor's frame while paused).
    ///
    /// # Errors
    /// As [`local_time_of`](Self::local_time_of), except `Paused`.
    pub fn rtp_at(&self, local: Time) -> Result<u32, ScheduleError> {
        let rtp = self.ready()?;
        if self.rate == PlaybackRate::Paused {
            return Ok(rtp.rtp_timestamp());
        }
        let remote = self
            .clock
            .to_remote(local)
            .ok_or(ScheduleError::NoMapping)?;
        Ok(rtp.rtp_at_remote(remote))
    }

    /// The earliest local instant the slewed clock maps to `remote` or later: Newton steps on
    /// the piecewise-linear clock, then a nudge to the exact scaled nanosecond.
    fn local_of_remote(&self, remote: Time) -> Option<Time> {
        let target = self.clock.target()?;
        let mut local = target.to_local(remote);
        for _ in 0..4 {
            let error = remote - self.clock.to_remote(local)?;
            if error == TimeDelta::ZERO {
                break;
            }
            local += TimeDelta::from_scaled_nanos(
                (error.scaled_nanos() as f64 / (1.0 + target.rate_offset())) as i128,
            );
        }
        // Up to the first instant at or after `remote`, then back while still at or after.
        let mut step = TimeDelta::from_scaled_nanos(1);
        while self.clock.to_remote(local)? < remote {
            local += step;
            step = step + step;
        }
        let mut step = TimeDelta::from_scaled_nanos(1 << 20);
        while step > TimeDelta::ZERO {
            if self.clock.to_remote(local - step)? >= remote {
                local -= step;
            } else {
                step = TimeDelta::from_scaled_nanos(step.scaled_nanos() / 2);
            }
        }
        Some(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMELINE: u64 = 0x0011_22ff_fe33_4455;

    fn schedule_at(now: Time, offset: TimeDelta) -> PlaybackSchedule {
        let mut schedule = PlaybackSchedule::new(500_000.0, TimeDelta::from_millis(20));
        schedule.update_mapping(now, TIMELINE, ClockMapping::new(now, now + offset, 1.0));
        schedule
    }

    fn anchor(secs: u64, rtp_time: u32, timeline_id: u64) -> RateAnchor {
        RateAnchor {
            network_time_secs: secs,
            network_time_frac: 1 << 62,
            timeline_id,
            rtp_time,
        }
    }

    #[test]
    fn frames_and_instants_are_inverse_across_the_wrap() {
        let now = Time::from_nanos(10_000_000_000);
        let mut schedule = schedule_at(now, TimeDelta::from_secs(100));
        schedule
            .set_anchor(
                anchor(110, u32::MAX - 1_000, TIMELINE),
                48_000,
                PlaybackRate::Playing,
            )
            .unwrap();
        for frame in [u32::MAX - 1_000, u32::MAX, 0, 1, 47_999, 1_000_000] {
            let local = schedule.local_time_of(frame).unwrap();
            assert_eq!(schedule.rtp_at(local).unwrap(), frame, "frame {frame}");
            assert_eq!(
                schedule
                    .rtp_at(local - TimeDelta::from_scaled_nanos(1))
                    .unwrap(),
                frame.wrapping_sub(1)
            );
        }
        // 48 000 frames are one second.
        let a = schedule.local_time_of(5).unwrap();
        let b = schedule.local_time_of(48_005).unwrap();
        assert_eq!(b - a, TimeDelta::from_secs(1));
    }

    #[test]
    fn a_mapping_update_slews_instead_of_jumping() {
        let now = Time::from_nanos(10_000_000_000);
        let mut schedule = schedule_at(now, TimeDelta::from_secs(100));
        schedule
            .set_anchor(anchor(120, 0, TIMELINE), 44_100, PlaybackRate::Playing)
            .unwrap();
        let before = schedule.local_time_of(44_100).unwrap();
        // The estimate moves 1 ms (below the 20 ms step threshold).
        let later = now + TimeDelta::from_secs(1);
        let moved = ClockMapping::new(
            now,
            now + TimeDelta::from_secs(100) + TimeDelta::from_millis(1),
            1.0,
        );
        schedule.update_mapping(later, TIMELINE, moved);
        let right_after = schedule.local_time_of(44_100).unwrap();
        // The frame is 11 s away: at 500 ppm it may move at most 5.5 ms, and moves the full 1 ms.
        let moved_by = (before - right_after).abs();
        assert!(moved_by <= TimeDelta::from_micros(5_500), "{moved_by:?}");
        // ...whereas a frame due now cannot move by more than the slew over no time.
        let frame_now = schedule.rtp_at(later).unwrap();
        let at = schedule.local_time_of(frame_now).unwrap();
        assert!((at - later).abs() < TimeDelta::from_micros(30));
        // A 50 ms change is a step.
        let stepped = ClockMapping::new(
            now,
            now + TimeDelta::from_secs(100) + TimeDelta::from_millis(50),
            1.0,
        );
        schedule.update_mapping(later, TIMELINE, stepped);
        let after_step = schedule.local_time_of(44_100).unwrap();
        assert_eq!(
            after_step,
            stepped.to_local(schedule.anchor().unwrap().network_time() + TimeDelta::from_secs(1))
        );
    }

    #[test]
    fn errors_are_clear() {
        let now = Time::from_nanos(10_000_000_000);
        let mut schedule = PlaybackSchedule::new(500_000.0, TimeDelta::from_millis(20));
        assert_eq!(schedule.local_time_of(0), Err(ScheduleError::NoAnchor));
        schedule
            .set_anchor(anchor(120, 0, TIMELINE), 44_100, PlaybackRate::Playing)
            .unwrap();
        assert_eq!(schedule.local_time_of(0), Err(ScheduleError::NoMapping));
        schedule.update_mapping(now, 0x42, ClockMapping::new(now, now, 1.0));
        let error = schedule.local_time_of(0).unwrap_err();
        assert_eq!(
            error,
            ScheduleError::TimelineMismatch {
                anchor: TIMELINE,
                followed: FollowedTimeline(Some(0x42))
            }
        );
        assert!(error.to_string().contains("0x001122fffe334455"));
        assert_eq!(
            schedule.set_anchor(anchor(1, 0, 0x42), 0, PlaybackRate::Playing),
            Err(ScheduleError::ZeroSampleRate)
        );
        schedule
            .set_anchor(anchor(1, 77, 0x42), 44_100, PlaybackRate::Paused)
            .unwrap();
        assert_eq!(schedule.local_time_of(80), Err(ScheduleError::Paused));
        assert_eq!(schedule.rtp_at(now + TimeDelta::from_secs(9)), Ok(77));
    }
}
