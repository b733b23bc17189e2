//! The slave role: Sync and Follow_Up paired by sequenceId and source (whichever comes first,
//! one-step Syncs too), Delay_Req at a randomised interval, Delay_Resp paired by sequenceId and
//! requestingPortIdentity, and every complete exchange fed to the estimator.

use super::codec::{correction_of, time_of};
use super::config::{log_interval_ns, Capacities, DelayMechanism};
use super::events::Event;
use super::follow::{DelayMode, Measurement};
use super::io::{Destination, DropReason};
use super::state::PortState;
use super::time::after;
use super::transmit_timestamps::TransmitPurpose;
use super::Engine;
use aptp_clock::{PathDelay, Time, TimeDelta};
use aptp_wire::{Header, Message, PortIdentity, Timestamp};
use core::fmt::Debug;
use std::collections::VecDeque;

/// How many completed Sync sequenceIds are remembered to recognise duplicates.
const RECENT_SYNCS: usize = 16;

/// Half a Sync exchange waiting for the other half.
#[derive(Clone, Copy, Debug)]
struct PendingSync {
    source: PortIdentity,
    sequence_id: u16,
    /// The Sync's receipt and correctionField.
    sync: Option<(Time, TimeDelta)>,
    /// The Follow_Up's preciseOriginTimestamp and correctionField.
    follow_up: Option<(Time, TimeDelta)>,
}

/// A Delay_Req sent and not yet answered.
#[derive(Clone, Copy, Debug)]
struct PendingDelayRequest {
    sequence_id: u16,
    /// Its transmit timestamp, once known.
    t3: Option<Time>,
    /// The master's receipt, correction folded in, once known.
    t4: Option<Time>,
}

/// The slave role's state.
#[derive(Debug)]
pub(crate) struct SlaveRole {
    pending_syncs: VecDeque<PendingSync>,
    recent_syncs: VecDeque<(PortIdentity, u16)>,
    pending_delay_requests: VecDeque<PendingDelayRequest>,
    pub(crate) next_delay_request_at: Option<Time>,
    delay_request_sequence_id: u16,
    /// The latest complete Delay_Req exchange (t3 local, t4 remote).
    latest_delay_exchange: Option<(Time, Time)>,
    /// t2 of the latest exchange fed to the estimator (older ones arrive out of order).
    last_t2: Option<Time>,
    /// The latest Sync fed to the estimator (t1 corrected, t2): a Delay_Req exchange that
    /// completes is paired with it at once, so a held-back measurement (a suspected step)
    /// is confirmed or refuted without waiting for the next Sync.
    latest_sync: Option<(Time, Time)>,
    /// Delay_Req sent in a row without an answer.
    unanswered_delay_requests: u32,
    /// E2E: measuring two-way, or one way after `delay_request_fallback` unanswered.
    delay_mode: DelayMode,
    /// The path delay measured before falling back to one way.
    fallback_path_delay: Option<TimeDelta>,
    sync_capacity: usize,
    delay_capacity: usize,
    /// sequenceId of the followed master's latest Sync in sequence.
    last_sync_sequence_id: Option<u16>,
    /// A backwards jump not yet confirmed: (first sequenceId after the jump, latest
    /// consecutive one since).
    restart_candidate: Option<(u16, u16)>,
}

/// What one Sync's sequenceId says about the followed master's sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncSequence {
    /// In sequence, a duplicate, or a backwards jump not yet confirmed.
    Continues,
    /// A backwards jump followed by two consecutive Syncs: the master restarted.
    Restarted {
        /// The latest sequenceId before the jump.
        previous: u16,
        /// The first sequenceId after it.
        first: u16,
    },
}

impl SlaveRole {
    pub(crate) fn new(capacities: &Capacities) -> Self {
        SlaveRole {
            pending_syncs: VecDeque::new(),
            recent_syncs: VecDeque::new(),
            pending_delay_requests: VecDeque::new(),
            next_delay_request_at: None,
            delay_request_sequence_id: 0,
            latest_delay_exchange: None,
            last_t2: None,
            latest_sync: None,
            unanswered_delay_requests: 0,
            delay_mode: DelayMode::TwoWay,
            fallback_path_delay: None,
            sync_capacity: capacities.pending_syncs.max(1),
            delay_capacity: capacities.pending_delay_requests.max(1),
            last_sync_sequence_id: None,
            restart_candidate: None,
        }
    }

    /// sequenceId of the followed master's latest Sync in sequence.
    pub(crate) fn last_sync_sequence_id(&self) -> Option<u16> {
        self.last_sync_sequence_id
    }

    /// Tracks the master's Syncs from `last` (the same master followed again).
    pub(crate) fn resume_sync_sequence(&mut self, last: Option<u16>) {
        self.last_sync_sequence_id = last;
        self.restart_candidate = None;
    }

    /// Follows the master's Sync sequenceIds. A jump backwards (a restarted process counts
    /// from 0 again) only becomes a restart when the next two Syncs continue consecutively
    /// from it: one replayed or late old Sync is followed by the master's real next one and
    /// is forgotten. Reordering by one or two places never forms such a run.
    pub(crate) fn track_sync_sequence(&mut self, sequence_id: u16) -> SyncSequence {
        let Some(last) = self.last_sync_sequence_id else {
            self.last_sync_sequence_id = Some(sequence_id);
            return SyncSequence::Continues;
        };
        if let Some((first, latest)) = self.restart_candidate {
            if sequence_id == latest.wrapping_add(1) {
                if sequence_id == first.wrapping_add(2) {
                    self.restart_candidate = None;
                    self.last_sync_sequence_id = Some(sequence_id);
                    // Exchanges and duplicate memory of the old numbering are void.
                    self.recent_syncs.clear();
                    self.pending_syncs
                        .retain(|p| p.sequence_id.wrapping_sub(first) <= 2);
                    return SyncSequence::Restarted {
                        previous: last,
                        first,
                    };
                }
                self.restart_candidate = Some((first, sequence_id));
                return SyncSequence::Continues;
            }
        }
        // The signed distance on the 16-bit circle.
        let ahead = sequence_id.wrapping_sub(last) as i16;
        if ahead < 0 {
            self.restart_candidate = Some((sequence_id, sequence_id));
        } else if ahead > 0 {
            self.last_sync_sequence_id = Some(sequence_id);
            self.restart_candidate = None;
        }
        SyncSequence::Continues
    }

    #[cfg(test)]
    pub(crate) fn set_next_sequence_id(&mut self, sequence_id: u16) {
        self.delay_request_sequence_id = sequence_id;
    }

    /// Forgets every exchange (new master, fault). Sequence counters go on.
    pub(crate) fn reset(&mut self) {
        self.pending_syncs.clear();
        self.recent_syncs.clear();
        self.pending_delay_requests.clear();
        self.next_delay_request_at = None;
        self.latest_delay_exchange = None;
        self.last_t2 = None;
        self.last_sync_sequence_id = None;
        self.restart_candidate = None;
        self.latest_sync = None;
        self.unanswered_delay_requests = 0;
        self.delay_mode = DelayMode::TwoWay;
        self.fallback_path_delay = None;
    }

    pub(crate) fn delay_mode(&self) -> DelayMode {
        self.delay_mode
    }

    pub(crate) fn pending_sync_len(&self) -> usize {
        self.pending_syncs.len()
    }

    pub(crate) fn pending_delay_request_len(&self) -> usize {
        self.pending_delay_requests.len()
    }
}

impl<A: Copy + Eq + Debug> Engine<A> {
    /// Starts following the new parent: Delay_Req timer armed at a random point.
    pub(super) fn start_following(&mut self, now: Time) {
        self.slave.reset();
        if self.config.delay_mechanism == DelayMechanism::EndToEnd {
            let delay = self.random_delay_request_interval_ns();
            self.slave.next_delay_request_at = Some(after(now, delay));
        }
    }

    /// A uniformly random interval in [0, 2 × 2^logMinDelayReqInterval), whose mean is the
    /// configured interval (IEEE 1588-2019 §9.5.11.2, as linuxptp does).
    fn random_delay_request_interval_ns(&mut self) -> u64 {
        let interval = log_interval_ns(self.config.log_min_delay_req_interval);
        self.random.below(interval.saturating_mul(2)).max(1)
    }

    /// Sends a Delay_Req when due.
    pub(super) fn slave_timers(&mut self, now: Time) {
        let Some(at) = self.slave.next_delay_request_at else {
            return;
        };
        if now < at {
            return;
        }
        let delay = self.random_delay_request_interval_ns();
        self.slave.next_delay_request_at = Some(after(now, delay));
        let Some(parent) = self.parent else {
            return;
        };
        let Some(origin) = self.wire_now(now) else {
            return;
        };
        let fallback = self.config.delay_request_fallback;
        if fallback > 0
            && self.slave.unanswered_delay_requests >= fallback
            && self.slave.delay_mode == DelayMode::TwoWay
        {
            // The master does not answer (an Apple receiver as master, a filtered port):
            // measure one way rather than never; the estimator restarts on the new kind of
            // measurement. Delay_Req keep going, so an answer brings two-way back.
            self.slave.fallback_path_delay = self.follower.mean_path_delay();
            self.slave.delay_mode = DelayMode::OneWay;
            self.slave.latest_delay_exchange = None;
            self.follower.reset();
        }
        self.slave.unanswered_delay_requests =
            self.slave.unanswered_delay_requests.saturating_add(1);
        let sequence_id = self.slave.delay_request_sequence_id;
        self.slave.delay_request_sequence_id = sequence_id.wrapping_add(1);
        if self.slave.pending_delay_requests.len() >= self.slave.delay_capacity {
            // The oldest request or its answer was lost: forgotten, and counted.
            self.slave.pending_delay_requests.pop_front();
            self.count_drop(now, DropReason::PendingTableFull);
        }
        self.slave
            .pending_delay_requests
            .push_back(PendingDelayRequest {
                sequence_id,
                t3: None,
                t4: None,
            });
        let (destination, flags) = if parent.unicast {
            (
                Destination::Unicast(parent.address),
                aptp_wire::Flags::UNICAST,
            )
        } else {
            (Destination::Multicast, aptp_wire::Flags::EMPTY)
        };
        let message = self
            .outgoing(Message::delay_req(self.port_identity, sequence_id, origin))
            .with_flags(flags);
        self.send(
            now,
            &message,
            destination,
            Some(TransmitPurpose::DelayRequest { sequence_id }),
        );
    }

    /// Checks that a Sync or Follow_Up comes from the followed master's port.
    fn check_from_parent(&self, header: &Header) -> Result<(), DropReason> {
        if !self.state.is_following() {
            return Err(DropReason::NotFromMaster);
        }
        match self.parent {
            Some(parent) if parent.source == header.source_port_identity => Ok(()),
            _ => Err(DropReason::NotFromMaster),
        }
    }

    fn recently_completed(&self, source: PortIdentity, sequence_id: u16) -> bool {
        self.slave.recent_syncs.contains(&(source, sequence_id))
    }

    pub(super) fn on_sync(
        &mut self,
        now: Time,
        _source: A,
        header: &Header,
        origin_timestamp: Timestamp,
        rx_timestamp: Time,
    ) -> Result<(), DropReason> {
        self.check_from_parent(header)?;
        let source = header.source_port_identity;
        let sequence_id = header.sequence_id;
        if let SyncSequence::Restarted { previous, first } =
            self.slave.track_sync_sequence(sequence_id)
        {
            self.counters.master_restarts = self.counters.master_restarts.saturating_add(1);
            self.push_event(Event::MasterRestarted {
                previous_sequence_id: previous,
                sequence_id: first,
            });
        }
        if self.recently_completed(source, sequence_id) {
            return Err(DropReason::Duplicate);
        }
        let correction = correction_of(header.correction_field);
        if !header.flags.two_step() {
            let origin = time_of(origin_timestamp).ok_or(DropReason::Malformed)?;
            return self.complete_sync(now, source, sequence_id, origin + correction, rx_timestamp);
        }
        match self.find_pending_sync(source, sequence_id) {
            Some(index) => {
                let pending = &mut self.slave.pending_syncs[index];
                if pending.sync.is_some() {
                    return Err(DropReason::Duplicate);
                }
                pending.sync = Some((rx_timestamp, correction));
                self.try_complete_sync(now, index)
            }
            None => {
                self.add_pending_sync(
                    now,
                    PendingSync {
                        source,
                        sequence_id,
                        sync: Some((rx_timestamp, correction)),
                        follow_up: None,
                    },
                );
                Ok(())
            }
        }
    }

    pub(super) fn on_follow_up(
        &mut self,
        now: Time,
        header: &Header,
        precise_origin_timestamp: Timestamp,
    ) -> Result<(), DropReason> {
        self.check_from_parent(header)?;
        let source = header.source_port_identity;
        let sequence_id = header.sequence_id;
        if self.recently_completed(source, sequence_id) {
            return Err(DropReason::Duplicate);
        }
        let origin = time_of(precise_origin_timestamp).ok_or(DropReason::Malformed)?;
        let follow_up = (origin, correction_of(header.correction_field));
        match self.find_pending_sync(source, sequence_id) {
            Some(index) => {
                let pending = &mut self.slave.pending_syncs[index];
                if pending.follow_up.is_some() {
                    return Err(DropReason::Duplicate);
                }
                pending.follow_up = Some(follow_up);
                self.try_complete_sync(now, index)
            }
            None => {
                // The Follow_Up came first: keep it for its Sync.
                self.add_pending_sync(
                    now,
                    PendingSync {
                        source,
                        sequence_id,
                        sync: None,
                        follow_up: Some(follow_up),
                    },
                );
                Ok(())
            }
        }
    }

    fn find_pending_sync(&self, source: PortIdentity, sequence_id: u16) -> Option<usize> {
        self.slave
            .pending_syncs
            .iter()
            .position(|p| p.source == source && p.sequence_id == sequence_id)
    }

    fn add_pending_sync(&mut self, now: Time, pending: PendingSync) {
        if self.slave.pending_syncs.len() >= self.slave.sync_capacity {
            // The oldest half-exchange lost its other half on the way: forgotten, and
            // counted.
            self.slave.pending_syncs.pop_front();
            self.count_drop(now, DropReason::PendingTableFull);
        }
        self.slave.pending_syncs.push_back(pending);
    }

    fn try_complete_sync(&mut self, now: Time, index: usize) -> Result<(), DropReason> {
        let pending = self.slave.pending_syncs[index];
        let (Some((t2, sync_correction)), Some((origin, follow_up_correction))) =
            (pending.sync, pending.follow_up)
        else {
            return Ok(());
        };
        self.slave.pending_syncs.remove(index);
        let t1 = origin + sync_correction + follow_up_correction;
        self.complete_sync(now, pending.source, pending.sequence_id, t1, t2)
    }

    /// A complete Sync exchange: fed to the estimator with the path delay in use.
    fn complete_sync(
        &mut self,
        now: Time,
        source: PortIdentity,
        sequence_id: u16,
        t1: Time,
        t2: Time,
    ) -> Result<(), DropReason> {
        if self.slave.recent_syncs.len() >= RECENT_SYNCS {
            self.slave.recent_syncs.pop_front();
        }
        self.slave.recent_syncs.push_back((source, sequence_id));
        if self.slave.last_t2.is_some_and(|last| t2 <= last) {
            return Err(DropReason::OutOfOrder);
        }
        self.slave.last_t2 = Some(t2);
        if self.parent.is_none() {
            return Err(DropReason::NotFromMaster);
        }
        let t1 = t1 - self.utc_correction();
        self.slave.latest_sync = Some((t1, t2));
        let path_delay = match self.config.delay_mechanism {
            DelayMechanism::EndToEnd => {
                match (self.slave.delay_mode, self.slave.latest_delay_exchange) {
                    // Raw timestamps: the estimator takes the drift between t2 and t3 out
                    // with its own rate (Sample::round_trip_at_rate).
                    (DelayMode::TwoWay, Some((t3, t4))) => PathDelay::Exchange { t3, t4 },
                    // Until the first Delay_Resp, an offset would carry the whole path delay
                    // and then jump: wait (delay_request_fallback unanswered requests make
                    // it one way).
                    (DelayMode::TwoWay, None) => return Ok(()),
                    (DelayMode::OneWay, _) => match self.slave.fallback_path_delay {
                        Some(delay) => PathDelay::Measured(delay),
                        None => PathDelay::Unknown,
                    },
                }
            }
            DelayMechanism::PeerToPeer => match self.peer_delay.mean_link_delay() {
                Some(delay) => PathDelay::Measured(delay),
                None => PathDelay::Unknown,
            },
            DelayMechanism::None => PathDelay::Unknown,
        };
        let accepted = self.feed_measurement(now, t1, t2, path_delay);
        if !accepted
            && self.config.delay_mechanism == DelayMechanism::EndToEnd
            && self.slave.delay_mode == DelayMode::TwoWay
        {
            // Held back (a suspected step, a bad timestamp, or a Delay_Req from before a
            // step): a fresh exchange now confirms or refutes it without waiting for the
            // randomised timer. At most one per Sync.
            let at = self
                .slave
                .next_delay_request_at
                .map_or(now, |at| at.min(now));
            self.slave.next_delay_request_at = Some(at);
        }
        if accepted {
            Ok(())
        } else {
            Err(DropReason::MeasurementRejected)
        }
    }

    /// Feeds one measurement to the estimator and reports what came of it; true when the
    /// estimator used it.
    fn feed_measurement(&mut self, now: Time, t1: Time, t2: Time, path_delay: PathDelay) -> bool {
        let Some(parent) = self.parent else {
            return false;
        };
        let outcome = self
            .follower
            .feed(t1, t2, path_delay, parent.dataset.grandmaster_identity);
        self.counters.measurements = self.counters.measurements.saturating_add(1);
        let measurement = Measurement {
            delay_mode: self.delay_mode(),
            ..outcome.measurement
        };
        self.push_event(Event::Measurement(measurement));
        if let Some(step_ns) = outcome.step_ns {
            self.push_event(Event::StepDetected { step_ns });
        }
        if let Some(mapping) = outcome.mapping {
            self.push_event(Event::MappingUpdated(mapping));
        }
        if self.state == PortState::Uncalibrated
            && self.follower.mapping().is_some()
            && self.follower.quality().accepted_measurements
                >= u64::from(self.config.calibration_measurements)
        {
            self.set_state(now, PortState::Slave);
        }
        outcome.measurement.accepted
    }

    /// A Delay_Resp came: two-way again if the port had fallen back to one way.
    fn delay_answered(&mut self) {
        self.slave.unanswered_delay_requests = 0;
        if self.slave.delay_mode == DelayMode::OneWay {
            self.slave.delay_mode = DelayMode::TwoWay;
            self.slave.fallback_path_delay = None;
            self.follower.reset();
        }
    }

    /// The transmit timestamp of a Delay_Req: t3.
    pub(super) fn on_delay_request_sent(&mut self, now: Time, sequence_id: u16, t3: Time) {
        if let Some(index) = self
            .slave
            .pending_delay_requests
            .iter()
            .position(|p| p.sequence_id == sequence_id)
        {
            self.slave.pending_delay_requests[index].t3 = Some(t3);
            self.try_complete_delay(now, index);
        }
    }

    pub(super) fn on_delay_response(
        &mut self,
        now: Time,
        header: &Header,
        receive_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) -> Result<(), DropReason> {
        if !self.state.is_following() || self.config.delay_mechanism != DelayMechanism::EndToEnd {
            return Err(DropReason::NotExpected);
        }
        if requesting_port_identity != self.port_identity {
            // Another slave's answer on the multicast group: normal traffic.
            return Err(DropReason::OtherPortsExchange);
        }
        // Matched by the master's clock identity, not its port number (a HomePod mini
        // answers from another port number than its Sync's).
        match self.parent {
            Some(parent)
                if parent.source.clock_identity == header.source_port_identity.clock_identity => {}
            _ => return Err(DropReason::NotFromMaster),
        }
        let index = self
            .slave
            .pending_delay_requests
            .iter()
            .position(|p| p.sequence_id == header.sequence_id && p.t4.is_none())
            .ok_or(DropReason::Unmatched)?;
        let receipt = time_of(receive_timestamp).ok_or(DropReason::Malformed)?;
        self.slave.pending_delay_requests[index].t4 =
            Some(receipt - correction_of(header.correction_field) - self.utc_correction());
        self.try_complete_delay(now, index);
        Ok(())
    }

    /// What comes off the parent's timestamps (t1, t4) so they are on the local clock's
    /// timescale: `currentUtcOffset` when the local clock is UTC
    /// ([`Config::local_timescale_is_utc`](super::Config::local_timescale_is_utc)) and the
    /// parent announces the PTP timescale (TAI); nothing otherwise. Applied to every master
    /// timestamp before the estimator sees it, so the mapping, the measurements and
    /// offsetFromMaster are all in UTC alike. A change of the announced offset (a leap
    /// second) shows up as a step of the master, which the estimator follows.
    fn utc_correction(&self) -> TimeDelta {
        let nanos = self.parent.map_or(0, |parent| {
            parent
                .time_properties
                .utc_correction_ns(self.config.local_timescale_is_utc)
        });
        TimeDelta::from_nanos(nanos)
    }

    fn try_complete_delay(&mut self, now: Time, index: usize) {
        let pending = self.slave.pending_delay_requests[index];
        if let (Some(t3), Some(t4)) = (pending.t3, pending.t4) {
            self.slave.pending_delay_requests.remove(index);
            self.delay_answered();
            self.slave.latest_delay_exchange = Some((t3, t4));
            // The new exchange with the latest Sync: one more measurement, and the one that
            // confirms (or refutes) a held-back Sync at once.
            if let Some((t1, t2)) = self.slave.latest_sync {
                if self.state.is_following() {
                    self.feed_measurement(now, t1, t2, PathDelay::Exchange { t3, t4 });
                }
            }
        }
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::{SlaveRole, SyncSequence};
    use crate::engine::Capacities;

    fn role_after(ids: &[u16]) -> (SlaveRole, Vec<SyncSequence>) {
        let mut role = SlaveRole::new(&Capacities::default());
        let outcomes = ids.iter().map(|&id| role.track_sync_sequence(id)).collect();
        (role, outcomes)
    }

    #[test]
    fn a_backwards_jump_confirmed_by_two_consecutive_syncs_is_a_restart() {
        let (role, outcomes) = role_after(&[100, 101, 102, 0, 1, 2, 3]);
        assert_eq!(
            outcomes[5],
            SyncSequence::Restarted {
                previous: 102,
                first: 0
            }
        );
        assert_eq!(role.last_sync_sequence_id(), Some(3));
        assert!(outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| i == 5 || *o == SyncSequence::Continues));
    }

    #[test]
    fn a_replayed_old_sync_or_reordering_is_not_a_restart() {
        // One replayed old Sync, then the master's real next ones.
        let (role, outcomes) = role_after(&[100, 101, 40, 102, 103, 41, 104]);
        assert!(outcomes.iter().all(|o| *o == SyncSequence::Continues));
        assert_eq!(role.last_sync_sequence_id(), Some(104));
        // Two late Syncs overtaken by a newer one.
        let (_, outcomes) = role_after(&[100, 103, 101, 102, 104]);
        assert!(outcomes.iter().all(|o| *o == SyncSequence::Continues));
        // Across the 16-bit wrap, forwards.
        let (_, outcomes) = role_after(&[65_534, 65_535, 0, 1, 2]);
        assert!(outcomes.iter().all(|o| *o == SyncSequence::Continues));
    }
}
