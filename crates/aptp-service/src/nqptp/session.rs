//! The drop-in's policy, sans-IO: what each control command does to the follower, and which
//! clock record is published.
//!
//! - `T <ip>...` replaces the timing peers. The record is the one of the grandmaster the new
//!   list elects: a grandmaster no longer listed is never published again (zeros until the new
//!   one is measured), while a list that keeps the grandmaster (a speaker joining the group
//!   mid-play) keeps the record going without a gap. `T` alone clears the peers.
//! - `B` starts publishing: a valid record at once when a clock is followed; when the last
//!   measurement is older than [`RELOCK_AFTER_NS`] (the sender paused, its clock stalled), the
//!   follower re-locks first, so the first record after the pause comes from fresh
//!   measurements instead of stale smoothing.
//! - `E` stops publishing (the record is all zeros); `P` changes nothing.
//! - A measurement arriving after a silence longer than [`RELOCK_AFTER_NS`] also re-locks,
//!   while the grandmaster is still announced (its clock stalled, as an idle Apple
//!   device's does).
//! - A silence long enough to lose the grandmaster (its Announces time out: a Wi-Fi
//!   dropout, a sender gone quiet) is the follower's: it holds the grandmaster
//!   (`ReceiverConfig::grandmaster_holdover_ns`). Meanwhile the record of its last
//!   measurement stays published, as nqptp keeps a silent timing peer's (it never forgets
//!   a listed clock for silence), so a player plays on through the dropout (not for a clock
//!   that had stalled first: nothing published since tracked it). When the same
//!   clock is back, its measurement goes on from where it stopped, without a re-lock; when
//!   the hold ends (the clock not back in time, its peer removed, another one elected) the
//!   record is zeros until the next grandmaster is measured.
//!
//! The record: `master_clock_id` the grandmasterIdentity, `local_time` the CLOCK_MONOTONIC_RAW
//! instant of the latest measurement, `local_to_master_time_offset` the mapping's remote time
//! there minus `local_time` (mod 2^64), `master_clock_start_time` the local instant of this
//! mastership's first Follow_Up.

use std::net::IpAddr;

use aptp_clock::{Time, TimeDelta};

use super::follower::{ClockFollower, FollowedGrandmaster};
use super::{ControlCommand, NqptpRecord};

/// A silence between measurements longer than this (ns) makes the estimator start afresh.
pub const RELOCK_AFTER_NS: i64 = 3_000_000_000;

/// The drop-in's state: peers, playing, and the latest measurement instant.
///
/// ```
/// use aptp_service::nqptp::{ControlCommand, Session};
/// let session = Session::new();
/// assert!(!session.playing());
/// assert!(session.timing_peers().is_empty());
/// # let _ = ControlCommand::Play;
/// ```
#[derive(Debug, Default, Clone)]
pub struct Session {
    peers: Vec<IpAddr>,
    playing: bool,
    measured_at: Option<Time>,
    /// The held grandmaster whose last measurement the record still shows.
    held: Option<FollowedGrandmaster>,
    /// The held grandmaster is back: its next measurement continues the record whatever
    /// the silence before it.
    resumed: bool,
    relocks: u64,
}

impl Session {
    /// No peers, not playing.
    pub fn new() -> Session {
        Session::default()
    }

    /// The timing peers in force.
    pub fn timing_peers(&self) -> &[IpAddr] {
        &self.peers
    }

    /// Whether the player said `B` and not `E` since.
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Whether the record shows a grandmaster that fell silent and is held (its last
    /// measurement, published on as nqptp does).
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// How many times the follower was told to re-lock.
    pub fn relocks(&self) -> u64 {
        self.relocks
    }

    /// Applies one control command at local instant `now`.
    pub fn handle_command(
        &mut self,
        now: Time,
        command: &ControlCommand,
        follower: &mut impl ClockFollower,
    ) {
        match command {
            ControlCommand::SetTimingPeers(peers) => {
                if *peers != self.peers {
                    self.peers = peers.clone();
                    let before = published_clock(follower);
                    follower.set_timing_peers(now, &self.peers);
                    if published_clock(follower) != before {
                        self.forget();
                    }
                }
            }
            ControlCommand::ClearTimingPeers => {
                self.peers.clear();
                self.forget();
                follower.set_timing_peers(now, &[]);
            }
            ControlCommand::Play => {
                self.playing = true;
                // A held grandmaster is silent, not stalled: its record stands until it is
                // back or its hold ends, and its first measurement back continues it (unless
                // it comes back stalled).
                let held = (self.held.is_some() || self.resumed) && !follower.stalled();
                let stale = !held && self.measured_at.is_some_and(|at| silence(now, at));
                if stale && follower.mapping().is_some() {
                    self.relock(now, follower);
                }
            }
            ControlCommand::End => self.playing = false,
            ControlCommand::Pause => {}
        }
    }

    /// The follower produced a new mapping from a measurement received at `measured_at`
    /// (its kernel receive timestamp).
    pub fn on_mapping_updated(&mut self, measured_at: Time, follower: &mut impl ClockFollower) {
        let resumed = std::mem::take(&mut self.resumed);
        if !resumed && self.measured_at.is_some_and(|at| silence(measured_at, at)) {
            self.relock(measured_at, follower);
            return;
        }
        self.measured_at = Some(measured_at);
    }

    /// The grandmaster changed, or was lost, or the hold of a lost one ended (the follower
    /// says which): a grandmaster held or back from its hold keeps its record; any other
    /// change makes the record wait for a fresh mapping.
    pub fn on_grandmaster_changed(&mut self, follower: &impl ClockFollower) {
        match (follower.grandmaster(), follower.held_grandmaster()) {
            // A stalled clock that then fell silent is not held: what it published since
            // it stalled no longer tracked it.
            (None, Some(held)) if self.measured_at.is_some() && !follower.stalled() => {
                self.held = Some(held)
            }
            (Some(back), _) if self.held.is_some_and(|held| same_clock(&held, &back)) => {
                self.held = None;
                self.resumed = true;
            }
            _ => self.forget(),
        }
    }

    /// The follower restarted its measurement (asked to re-lock, or a stalled grandmaster
    /// resumed): the record waits for a fresh mapping.
    pub fn on_measurement_restarted(&mut self) {
        self.forget();
    }

    fn relock(&mut self, now: Time, follower: &mut impl ClockFollower) {
        self.relocks += 1;
        self.forget();
        follower.relock(now);
    }

    /// Nothing measured stands: the record is zeros until the next mapping.
    fn forget(&mut self) {
        self.measured_at = None;
        self.held = None;
        self.resumed = false;
    }

    /// The record to publish now: all zeros unless playing, with peers, a grandmaster and a
    /// mapping measured since the last change.
    pub fn record(&self, follower: &impl ClockFollower) -> NqptpRecord {
        let valid = || {
            if !self.playing || self.peers.is_empty() {
                return None;
            }
            let measured_at = self.measured_at?;
            let grandmaster = published_clock(follower)?;
            let mapping = follower.mapping()?;
            let local_time = wrapping_nanos(measured_at);
            let master_time = wrapping_nanos(mapping.to_remote(measured_at));
            Some(NqptpRecord {
                master_clock_id: grandmaster.clock_id,
                local_time,
                local_to_master_time_offset: master_time.wrapping_sub(local_time),
                master_clock_start_time: wrapping_nanos(
                    grandmaster.mastership_start.unwrap_or(measured_at),
                ),
            })
        };
        valid().unwrap_or_default()
    }
}

/// The grandmaster whose measurement the record shows: the one followed, or the one held.
fn published_clock(follower: &impl ClockFollower) -> Option<FollowedGrandmaster> {
    follower
        .grandmaster()
        .or_else(|| follower.held_grandmaster())
}

/// The same clock reached at the same peer (its mastership start may have been set since).
fn same_clock(held: &FollowedGrandmaster, back: &FollowedGrandmaster) -> bool {
    held.clock_id == back.clock_id && held.address == back.address
}

/// Whether more than [`RELOCK_AFTER_NS`] separates `earlier` from `later`.
fn silence(later: Time, earlier: Time) -> bool {
    later - earlier > TimeDelta::from_nanos(RELOCK_AFTER_NS)
}

/// A time as nanoseconds modulo 2^64, as nqptp's u64 fields hold them.
pub(crate) fn wrapping_nanos(time: Time) -> u64 {
    // Truncating an i128 to u64 is exactly reduction modulo 2^64.
    time.nanos_rounded() as u64
}

#[cfg(test)]
mod tests {
    use super::super::follower::FollowedGrandmaster;
    use super::*;
    use aptp_clock::ClockMapping;

    /// A follower that follows whatever it is told, for the policy's tests.
    #[derive(Default)]
    struct Scripted {
        peers: Vec<IpAddr>,
        grandmaster: Option<FollowedGrandmaster>,
        held: Option<FollowedGrandmaster>,
        mapping: Option<ClockMapping>,
        stalled: bool,
        relocks: u32,
    }

    impl Scripted {
        /// The grandmaster falls silent and is held, its mapping kept.
        fn hold(&mut self) {
            self.held = self.grandmaster.take();
        }
        /// The held grandmaster is back.
        fn resume(&mut self) {
            self.grandmaster = self.held.take();
        }
        /// The hold ran out: everything measured is forgotten.
        fn end_hold(&mut self) {
            self.held = None;
            self.mapping = None;
        }
    }

    impl ClockFollower for Scripted {
        fn set_timing_peers(&mut self, _now: Time, peers: &[IpAddr]) {
            self.peers = peers.to_vec();
            if self
                .grandmaster
                .is_some_and(|gm| !peers.contains(&gm.address))
            {
                self.grandmaster = None;
                self.mapping = None;
            }
            if self.held.is_some_and(|gm| !peers.contains(&gm.address)) {
                self.end_hold();
            }
        }
        fn relock(&mut self, _now: Time) {
            self.relocks += 1;
            self.mapping = None;
        }
        fn grandmaster(&self) -> Option<FollowedGrandmaster> {
            self.grandmaster
        }
        fn held_grandmaster(&self) -> Option<FollowedGrandmaster> {
            self.held
        }
        fn stalled(&self) -> bool {
            self.stalled
        }
        fn mapping(&self) -> Option<ClockMapping> {
            self.mapping
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn at(secs: u64) -> Time {
        Time::from_secs_nanos(secs, 0).unwrap()
    }

    /// A follower locked on `address` with remote = local + 1000 s + 5 ns.
    fn locked(follower: &mut Scripted, address: &str, clock_id: u64) {
        follower.grandmaster = Some(FollowedGrandmaster {
            clock_id,
            address: ip(address),
            mastership_start: Some(at(10)),
        });
        follower.mapping = Some(ClockMapping::new(
            at(10),
            at(1_010) + TimeDelta::from_nanos(5),
            1.0,
        ));
    }

    #[test]
    fn nothing_is_published_before_play_nor_after_end() {
        let mut session = Session::new();
        let mut follower = Scripted::default();
        let peers = ControlCommand::SetTimingPeers(vec![ip("192.0.2.1")]);
        session.handle_command(at(11), &peers, &mut follower);
        assert_eq!(follower.peers, vec![ip("192.0.2.1")]);
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(12), &mut follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        session.handle_command(at(12), &ControlCommand::Pause, &mut follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        session.handle_command(at(12), &ControlCommand::Play, &mut follower);
        let record = session.record(&follower);
        assert_eq!(record.master_clock_id, 7);
        assert_eq!(record.local_time, 12_000_000_000);
        assert_eq!(record.local_to_master_time_offset, 1_000_000_000_005);
        assert_eq!(record.master_clock_start_time, 10_000_000_000);
        assert_eq!(follower.relocks, 0, "a fresh clock is published at once");
        session.handle_command(at(13), &ControlCommand::End, &mut follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
    }

    #[test]
    fn a_new_peer_list_starts_a_new_record_and_clear_forgets() {
        let mut session = Session::new();
        let mut follower = Scripted::default();
        let first = ControlCommand::SetTimingPeers(vec![ip("192.0.2.1")]);
        session.handle_command(at(11), &first, &mut follower);
        session.handle_command(at(11), &ControlCommand::Play, &mut follower);
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(12), &mut follower);
        assert!(session.record(&follower).is_valid());
        // The same list again changes nothing; a list that keeps the grandmaster (a speaker
        // joins the group) keeps the record going.
        session.handle_command(at(12), &first, &mut follower);
        assert!(session.record(&follower).is_valid());
        let joined = ControlCommand::SetTimingPeers(vec![ip("192.0.2.1"), ip("192.0.2.9")]);
        session.handle_command(at(12), &joined, &mut follower);
        assert_eq!(session.record(&follower).master_clock_id, 7);
        // A list without the grandmaster: nothing until the new one is measured.
        let second = ControlCommand::SetTimingPeers(vec![ip("2001:db8::2"), ip("192.0.2.9")]);
        session.handle_command(at(13), &second, &mut follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        locked(&mut follower, "2001:db8::2", 9);
        session.on_mapping_updated(at(14), &mut follower);
        assert_eq!(session.record(&follower).master_clock_id, 9);
        session.handle_command(at(15), &ControlCommand::ClearTimingPeers, &mut follower);
        assert!(follower.peers.is_empty());
        assert_eq!(session.record(&follower), NqptpRecord::default());
    }

    #[test]
    fn play_after_a_long_pause_relocks_instead_of_using_stale_state() {
        let mut session = Session::new();
        let mut follower = Scripted::default();
        let peers = ControlCommand::SetTimingPeers(vec![ip("192.0.2.1")]);
        session.handle_command(at(11), &peers, &mut follower);
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(12), &mut follower);
        // Ten seconds without a measurement (a stalled Apple clock), then B.
        session.handle_command(at(22), &ControlCommand::Play, &mut follower);
        assert_eq!(follower.relocks, 1);
        assert_eq!(session.relocks(), 1);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(23), &mut follower);
        assert_eq!(session.record(&follower).local_time, 23_000_000_000);
    }

    #[test]
    fn a_measurement_after_a_silence_relocks() {
        let (mut session, mut follower) = playing_with(&["192.0.2.1"]);
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(12), &mut follower);
        session.on_mapping_updated(at(20), &mut follower);
        assert_eq!(follower.relocks, 1);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        // A grandmaster change also waits for a new measurement.
        locked(&mut follower, "192.0.2.1", 8);
        session.on_mapping_updated(at(21), &mut follower);
        assert!(session.record(&follower).is_valid());
        follower.grandmaster = None;
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
    }

    /// A session told `peers` and `B` at 11 s, its follower locked on nothing yet.
    fn playing_with(peers: &[&str]) -> (Session, Scripted) {
        let mut session = Session::new();
        let mut follower = Scripted::default();
        let peers = ControlCommand::SetTimingPeers(peers.iter().map(|peer| ip(peer)).collect());
        session.handle_command(at(11), &peers, &mut follower);
        session.handle_command(at(11), &ControlCommand::Play, &mut follower);
        (session, follower)
    }

    /// A session playing on a grandmaster measured at 12 s.
    fn playing_on_a_measured_grandmaster() -> (Session, Scripted) {
        let (mut session, mut follower) = playing_with(&["192.0.2.1", "192.0.2.9"]);
        locked(&mut follower, "192.0.2.1", 7);
        session.on_mapping_updated(at(12), &mut follower);
        assert!(session.record(&follower).is_valid());
        (session, follower)
    }

    #[test]
    fn a_held_grandmaster_stays_published_and_goes_on_without_a_relock() {
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        let before = session.record(&follower);
        // Its Announces time out 2 s into a dropout: held, the record stays, as nqptp's.
        follower.hold();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), before);
        // B during the hold is no reason to re-lock: the clock is silent, not stalled.
        session.handle_command(at(20), &ControlCommand::Play, &mut follower);
        assert_eq!(session.record(&follower), before);
        // Back 8 s later: the next measurement continues the record (a silence that long
        // re-locks a grandmaster still announced, not one back from a hold), and so does a
        // `B` before it.
        follower.resume();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), before);
        session.handle_command(at(20), &ControlCommand::Play, &mut follower);
        assert_eq!(session.record(&follower), before);
        session.on_mapping_updated(at(20), &mut follower);
        assert_eq!(follower.relocks, 0);
        assert_eq!(session.record(&follower).local_time, 20_000_000_000);
        // Only that first one: a silence after it re-locks as before.
        session.on_mapping_updated(at(30), &mut follower);
        assert_eq!(follower.relocks, 1);
    }

    #[test]
    fn the_end_of_a_hold_unpublishes_the_record() {
        // The hold runs out.
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        follower.hold();
        session.on_grandmaster_changed(&follower);
        follower.end_hold();
        assert_eq!(session.record(&follower), NqptpRecord::default());
        session.on_grandmaster_changed(&follower);
        locked(&mut follower, "192.0.2.1", 7);
        assert_eq!(session.record(&follower), NqptpRecord::default(), "waits");
        // The held grandmaster's peer is removed from the list.
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        follower.hold();
        session.on_grandmaster_changed(&follower);
        let other = ControlCommand::SetTimingPeers(vec![ip("192.0.2.9")]);
        session.handle_command(at(13), &other, &mut follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        locked(&mut follower, "192.0.2.9", 9);
        assert_eq!(session.record(&follower), NqptpRecord::default(), "waits");
        // Another grandmaster is elected while one is held.
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        follower.hold();
        session.on_grandmaster_changed(&follower);
        follower.end_hold();
        locked(&mut follower, "192.0.2.9", 9);
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        session.on_mapping_updated(at(14), &mut follower);
        assert_eq!(session.record(&follower).master_clock_id, 9);
    }

    #[test]
    fn a_stalled_grandmaster_that_falls_silent_is_not_published() {
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        follower.stalled = true;
        follower.hold();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        follower.stalled = false;
        follower.resume();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default(), "waits");
    }

    #[test]
    fn a_held_grandmaster_back_stalled_relocks_at_play() {
        let (mut session, mut follower) = playing_on_a_measured_grandmaster();
        follower.hold();
        session.on_grandmaster_changed(&follower);
        assert!(session.holding());
        // Back, but repeating its last preciseOriginTimestamp: no measurement comes, and
        // `B` must not leave the old record standing.
        follower.resume();
        session.on_grandmaster_changed(&follower);
        assert!(!session.holding());
        follower.stalled = true;
        session.handle_command(at(20), &ControlCommand::Play, &mut follower);
        assert_eq!(follower.relocks, 1);
        assert_eq!(session.record(&follower), NqptpRecord::default());
    }

    #[test]
    fn a_grandmaster_lost_before_it_was_measured_is_not_published() {
        let (mut session, mut follower) = playing_with(&["192.0.2.1"]);
        locked(&mut follower, "192.0.2.1", 7);
        follower.hold();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        follower.resume();
        session.on_grandmaster_changed(&follower);
        assert_eq!(session.record(&follower), NqptpRecord::default());
        session.on_mapping_updated(at(12), &mut follower);
        assert!(session.record(&follower).is_valid());
    }

    #[test]
    fn the_offset_wraps_modulo_two_to_the_64() {
        let mut session = Session::new();
        let mut follower = Scripted::default();
        let peers = ControlCommand::SetTimingPeers(vec![ip("192.0.2.1")]);
        session.handle_command(at(1), &peers, &mut follower);
        session.handle_command(at(1), &ControlCommand::Play, &mut follower);
        follower.grandmaster = Some(FollowedGrandmaster {
            clock_id: 1,
            address: ip("192.0.2.1"),
            mastership_start: None,
        });
        // The master is behind the local clock: the offset is "negative", i.e. wraps.
        follower.mapping = Some(ClockMapping::new(at(100), at(40), 1.0));
        session.on_mapping_updated(at(100), &mut follower);
        let record = session.record(&follower);
        assert_eq!(
            record.local_to_master_time_offset,
            0u64.wrapping_sub(60_000_000_000)
        );
        assert_eq!(record.master_time_at(record.local_time), 40_000_000_000);
        assert_eq!(record.master_clock_start_time, record.local_time);
    }
}
