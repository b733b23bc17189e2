//! Measuring: complete Sync exchanges, the optional Delay_Req exchange, stall detection and
//! the estimator.

use super::{AirplayReceiver, PendingDelayRequest, RECENT_SYNCS};
use crate::airplay::events::ReceiverEvent;
use crate::airplay::wire_time::{correction_of, encode, time_of};
use crate::engine::{Destination, PortKind, PortState, Transmit, TransmitToken};
use aptp_clock::{Estimator, PathDelay, Sample, Time, TimeDelta};
use aptp_wire::airplay::{APPLE_FLAGS, APPLE_MAJOR_SDO_ID};
use aptp_wire::{Header, Message, PortIdentity, Timestamp};
use core::fmt::Debug;

/// Delay_Req in a row without an answer (over `two_way_timeout_ns`) that make a two-way
/// measurement one way.
const UNANSWERED_TO_ONE_WAY: u32 = 3;

impl<A: Copy + Eq + Debug> AirplayReceiver<A> {
    /// Starts measuring afresh at `now`: forgets the estimator, the mapping and every pending
    /// Sync, Follow_Up and Delay_Req exchange, but keeps the timing peers, their Announces,
    /// the grandmaster followed (with its mastership start) and whether it answers Delay_Req.
    /// No [`GrandmasterChanged`](ReceiverEvent::GrandmasterChanged) follows; a
    /// [`MeasurementRestarted`](ReceiverEvent::MeasurementRestarted) does, and `slave`
    /// falls back to `uncalibrated`. The next complete Sync exchange locks the mapping again
    /// (with no stale state to smooth away): what the nqptp drop-in does when playing
    /// begins after a long pause. The receiver does the same by itself when a stalled
    /// grandmaster's clock runs again (it has usually stepped).
    ///
    /// ```
    /// use aptp::airplay::{AirplayReceiver, ReceiverConfig, ReceiverEvent};
    /// use aptp_clock::Time;
    /// use aptp_wire::ClockIdentity;
    ///
    /// let now = Time::from_secs_nanos(100, 0).unwrap();
    /// let mut receiver: AirplayReceiver<u8> =
    ///     AirplayReceiver::new(ReceiverConfig::new(ClockIdentity([2; 8])), now).unwrap();
    /// receiver.set_timing_peers(now, [1]);
    /// receiver.restart_measurement(now);
    /// assert_eq!(receiver.timing_peers(), &[1]);
    /// assert!(receiver.mapping().is_none());
    /// assert_eq!(receiver.poll_event(), Some(ReceiverEvent::MeasurementRestarted { at: now }));
    /// ```
    pub fn restart_measurement(&mut self, now: Time) {
        self.reset_estimator();
        self.drop_exchanges_in_flight();
        // The next Sync brings its Delay_Req at once.
        self.last_delay_request_at = None;
        self.counters.measurement_restarts += 1;
        self.push_event(ReceiverEvent::MeasurementRestarted { at: now });
        if self.state == PortState::Slave {
            self.set_state(now, PortState::Uncalibrated);
        }
    }

    /// One complete Sync exchange: the stall check, then the estimator (at once one way,
    /// or when its Delay_Req exchange completes two way).
    pub(super) fn complete_sync(
        &mut self,
        now: Time,
        sequence_id: u16,
        precise_origin: Timestamp,
        correction: TimeDelta,
        t2: Time,
    ) {
        if self.recent_syncs.len() >= RECENT_SYNCS {
            self.recent_syncs.pop_front();
        }
        self.recent_syncs.push_back(sequence_id);
        let Some(gm) = self.grandmaster else {
            return;
        };
        if self.check_stall(now, precise_origin, gm.identity) {
            return;
        }
        let Some(origin) = time_of(precise_origin) else {
            self.counters.malformed += 1;
            return;
        };
        let t1 = origin + correction;
        let timeout = TimeDelta::from_nanos_i128(i128::from(self.config.min_announce_timeout_ns));
        self.election.refresh(now, gm.source, timeout);
        let two_way_timeout =
            TimeDelta::from_nanos_i128(i128::from(self.config.two_way_timeout_ns));
        let exchange_fresh = self
            .last_exchange_at
            .is_some_and(|at| now < at + two_way_timeout);
        // A dropout (nothing at all, so no Delay_Req either) is not a grandmaster that stopped
        // answering: that takes Delay_Req sent and unanswered, whatever the Sync interval.
        if self.two_way
            && !exchange_fresh
            && self.unanswered_delay_requests >= UNANSWERED_TO_ONE_WAY
        {
            self.two_way = false;
            self.reset_estimator();
            self.push_event(ReceiverEvent::DelayMeasurementChanged { two_way: false });
        }
        if !self.two_way {
            self.feed(now, t1, t2, PathDelay::Unknown);
        }
        self.unpaired_sync = Some((t1, t2));
        self.maybe_send_delay_request(now, gm.address);
    }

    /// Whether the grandmaster's clock is stalled (this preciseOriginTimestamp repeats the
    /// previous one); raises and clears the stall.
    fn check_stall(
        &mut self,
        now: Time,
        precise_origin: Timestamp,
        identity: aptp_wire::ClockIdentity,
    ) -> bool {
        if self.last_precise_origin == Some(precise_origin) {
            self.counters.stalled_follow_ups += 1;
            let since = *self.stall_since.get_or_insert(now);
            let stall_timeout =
                TimeDelta::from_nanos_i128(i128::from(self.config.stall_timeout_ns));
            if !self.stalled && now >= since + stall_timeout {
                self.stalled = true;
                self.push_event(ReceiverEvent::GrandmasterStalled { identity, since });
                self.send_wake_announce(now);
            }
            return true;
        }
        self.last_precise_origin = Some(precise_origin);
        self.stall_since = None;
        if self.stalled {
            self.stalled = false;
            self.next_wake_at = None;
            self.push_event(ReceiverEvent::GrandmasterResumed { identity });
            // A clock that stopped and runs again has usually stepped: the Sync at hand
            // locks a fresh mapping instead of being judged against the old one.
            self.restart_measurement(now);
        }
        false
    }

    /// An Announce to the stalled grandmaster (as nqptp does to wake an idle Apple device).
    pub(super) fn send_wake_announce(&mut self, now: Time) {
        let wake = TimeDelta::from_nanos_i128(i128::from(self.config.wake_interval_ns));
        self.next_wake_at = Some(now + wake);
        let Some(gm) = self.grandmaster else {
            return;
        };
        let sequence_id = self.next_sequence_id();
        // priority2 255: a wake call, never a candidate to be elected.
        let Ok(announce) = aptp_wire::airplay::announce(self.port_identity, sequence_id, 255)
        else {
            return;
        };
        let mut bytes = vec![0; announce.buffer_len()];
        if announce.emit(&mut bytes).is_err() {
            return;
        }
        self.counters.wake_announces += 1;
        self.transmits.push_back(Transmit {
            destination: Destination::Unicast(gm.address),
            port: PortKind::General,
            bytes,
            timestamp_token: None,
        });
    }

    fn next_sequence_id(&mut self) -> u16 {
        let id = self.sequence_id;
        self.sequence_id = id.wrapping_add(1);
        id
    }

    fn maybe_send_delay_request(&mut self, now: Time, address: A) {
        if !self.config.delay_requests {
            return;
        }
        let log = i32::from(self.config.log_min_delay_request_interval);
        let interval_ns = if log >= 0 {
            1_000_000_000i128 << log
        } else {
            1_000_000_000i128 >> -log
        };
        // 90 %: a Sync arriving a little early must not skip its Delay_Req.
        let interval = TimeDelta::from_nanos_i128(interval_ns * 9 / 10);
        if self
            .last_delay_request_at
            .is_some_and(|at| now < at + interval)
        {
            return;
        }
        self.last_delay_request_at = Some(now);
        self.unanswered_delay_requests = self.unanswered_delay_requests.saturating_add(1);
        let sequence_id = self.next_sequence_id();
        let message = Message::delay_req(self.port_identity, sequence_id, Timestamp::ZERO)
            .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
            .with_flags(APPLE_FLAGS)
            .with_domain_number(self.config.domain_number);
        let Ok(bytes) = encode(&message) else {
            return;
        };
        let token = self.next_token;
        self.next_token += 1;
        if self.pending_delay_requests.len() >= self.config.pending_delay_requests {
            self.pending_delay_requests.pop_front();
            self.counters.pending_table_full += 1;
        }
        self.pending_delay_requests.push_back(PendingDelayRequest {
            sequence_id,
            token,
            sent_at: now,
            t3: None,
            t4: None,
        });
        self.transmits.push_back(Transmit {
            destination: Destination::Unicast(address),
            port: PortKind::Event,
            bytes,
            timestamp_token: Some(TransmitToken(token)),
        });
    }

    pub(super) fn on_delay_response(
        &mut self,
        now: Time,
        header: &Header,
        receive_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) {
        if requesting_port_identity != self.port_identity {
            self.counters.unmatched += 1;
            return;
        }
        if self.check_from_grandmaster(header).is_none() {
            return;
        }
        let Some(index) = self
            .pending_delay_requests
            .iter()
            .position(|p| p.sequence_id == header.sequence_id && p.t4.is_none())
        else {
            self.counters.unmatched += 1;
            return;
        };
        let Some(receipt) = time_of(receive_timestamp) else {
            self.counters.malformed += 1;
            return;
        };
        self.counters.delay_responses += 1;
        self.pending_delay_requests[index].t4 =
            Some(receipt - correction_of(header.correction_field));
        self.try_complete_delay(now, index);
    }

    pub(super) fn try_complete_delay(&mut self, now: Time, index: usize) {
        let pending = self.pending_delay_requests[index];
        let (Some(t3), Some(t4)) = (pending.t3, pending.t4) else {
            return;
        };
        self.pending_delay_requests.remove(index);
        self.last_exchange_at = Some(now);
        self.unanswered_delay_requests = 0;
        if !self.two_way {
            self.two_way = true;
            let unpaired = self.unpaired_sync;
            self.reset_estimator();
            self.unpaired_sync = unpaired;
            self.push_event(ReceiverEvent::DelayMeasurementChanged { two_way: true });
        }
        let Some((t1, t2)) = self.unpaired_sync else {
            return;
        };
        if t2 > t3 {
            // The Sync arrived after this Delay_Req left: wait for the next exchange. (Left at
            // the very instant the Sync completed is in order: a coarse clock does that, and
            // so does a simulator with no processing time, where a Sync arriving after its
            // Follow_Up had half the exchanges dropped.)
            return;
        }
        self.unpaired_sync = None;
        let path_delay = PathDelay::Exchange { t3, t4 };
        let rate = self.mapping.map_or(0.0, |m| m.rate_offset());
        let sample = Sample {
            t1,
            t2,
            path_delay,
            grandmaster_identity: 0,
        };
        if let Some(round_trip) = sample.round_trip_at_rate(rate) {
            self.path_delay = Some(round_trip.half());
        }
        self.feed(now, t1, t2, path_delay);
    }

    /// Feeds one measurement to the estimator and publishes what changed.
    fn feed(&mut self, now: Time, t1: Time, t2: Time, path_delay: PathDelay) {
        if self.last_fed_t2.is_some_and(|last| t2 <= last) {
            return;
        }
        self.last_fed_t2 = Some(t2);
        let Some(gm) = self.grandmaster else {
            return;
        };
        let sample = Sample {
            t1,
            t2,
            path_delay,
            grandmaster_identity: u64::from_be_bytes(gm.identity.0),
        };
        let rate = self.mapping.map_or(0.0, |m| m.rate_offset());
        let measured = sample
            .remote_minus_local_at_rate(rate)
            .unwrap_or(sample.t1 - sample.t2);
        let prediction_error = self
            .mapping
            .map(|m| (measured - m.offset_at(t2)).abs().as_nanos_f64());
        self.counters.measurements += 1;
        let update = self.estimator.update(&sample);
        if update.accepted {
            self.counters.accepted_measurements += 1;
            self.accepted_since_start = self.accepted_since_start.saturating_add(1);
            if let Some(error) = prediction_error {
                let smoothed = self.prediction_error_ns.get_or_insert(error);
                *smoothed += (error - *smoothed) / 8.0;
            }
        }
        if let Some(mapping) = update.mapping {
            let changed = self.mapping != Some(mapping);
            self.mapping = Some(mapping);
            if changed {
                self.push_event(ReceiverEvent::MappingUpdated {
                    mapping,
                    stepped: update.stepped,
                });
            }
        }
        if self.state == PortState::Uncalibrated
            && self.mapping.is_some()
            && self.accepted_since_start >= self.config.calibration_measurements
        {
            self.set_state(now, PortState::Slave);
        }
    }
}
