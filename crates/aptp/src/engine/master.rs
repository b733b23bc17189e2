//! The master role: Announce and two-step Sync/Follow_Up at the configured intervals, to the
//! multicast group or to each unicast peer, and Delay_Resp to every Delay_Req.

use super::codec::{correction_field_of, correction_of, encode, timestamp_of};
use super::config::log_interval_ns;
use super::events::FaultReason;
use super::io::{Destination, DropReason, PortKind, Transmit};
use super::state::PortState;
use super::time::after;
use super::transmit_timestamps::TransmitPurpose;
use super::Engine;
use aptp_clock::Time;
use aptp_wire::Timestamp;
use aptp_wire::{AnnounceBody, ClockAccuracy, ClockQuality, Flags, Header, Message, TimeSource};
use core::fmt::Debug;

/// A Delay_Resp's length: a Delay_Req shorter than this (44 bytes unpadded) is answered by
/// unicast only when it comes from a configured peer.
const DELAY_RESP_LENGTH: usize = 54;

/// The master role's timers and sequence counters.
#[derive(Debug, Default)]
pub(crate) struct MasterRole {
    pub(crate) next_announce_at: Option<Time>,
    pub(crate) next_sync_at: Option<Time>,
    announce_sequence_id: u16,
    sync_sequence_id: u16,
    /// Sync rounds sent: rotates the order in which unicast peers are served.
    round: usize,
}

impl MasterRole {
    pub(crate) fn new() -> Self {
        MasterRole::default()
    }
}

/// The next deadline of a periodic timer: one interval after the last, or one interval from
/// now when the caller fell behind (no burst to catch up).
fn next_period(previous: Time, now: Time, interval_ns: u64) -> Time {
    let next = after(previous, interval_ns);
    if next <= now {
        after(now, interval_ns)
    } else {
        next
    }
}

impl<A: Copy + Eq + Debug> Engine<A> {
    /// Sets the next sequenceId of every message stream (tests: wrap-around).
    #[cfg(test)]
    pub(crate) fn set_next_sequence_ids(&mut self, sequence_id: u16) {
        self.master.announce_sequence_id = sequence_id;
        self.master.sync_sequence_id = sequence_id;
        self.slave.set_next_sequence_id(sequence_id);
        self.peer_delay.set_next_sequence_id(sequence_id);
    }

    /// Starts serving: the first Announce and Sync go out at once.
    pub(super) fn start_serving(&mut self, now: Time) {
        self.master.next_announce_at = Some(now);
        self.master.next_sync_at = Some(now);
    }

    /// The flags every message from this master carries.
    fn master_flags(&self, destination: &Destination<A>) -> Flags {
        let mut flags = Flags::EMPTY;
        if matches!(destination, Destination::Unicast(_)) {
            flags |= Flags::UNICAST;
        }
        if self.config.ptp_timescale {
            flags |= Flags::PTP_TIMESCALE;
        }
        flags
    }

    /// Applies the configured domain and majorSdoId to an outgoing message.
    pub(super) fn outgoing<'m>(&self, message: Message<'m>) -> Message<'m> {
        message
            .with_domain_number(self.config.domain_number)
            .with_major_sdo_id(self.config.transport_specific)
    }

    /// Encodes and queues a message; an encoding failure (a local time outside the PTP range)
    /// makes the port FAULTY.
    pub(super) fn send(
        &mut self,
        now: Time,
        message: &Message<'_>,
        destination: Destination<A>,
        purpose: Option<TransmitPurpose<A>>,
    ) {
        self.enqueue(now, message, destination, purpose, false);
    }

    /// Like [`send`](Self::send), but ahead of everything queued: a Follow_Up (or
    /// Pdelay_Resp_Follow_Up) goes out right after the message whose timestamp it carries,
    /// before the Syncs of the other peers of the same round (nqptp reads its offset from
    /// the Follow_Up's arrival, so every microsecond it waits is error).
    pub(super) fn send_next(
        &mut self,
        now: Time,
        message: &Message<'_>,
        destination: Destination<A>,
    ) {
        self.enqueue(now, message, destination, None, true);
    }

    fn enqueue(
        &mut self,
        now: Time,
        message: &Message<'_>,
        destination: Destination<A>,
        purpose: Option<TransmitPurpose<A>>,
        front: bool,
    ) {
        let bytes = match encode(message) {
            Ok(bytes) => bytes,
            Err(_) => {
                self.fault(now, FaultReason::EncodeFailed);
                return;
            }
        };
        let port = if message.header.message_type.is_event() {
            PortKind::Event
        } else {
            PortKind::General
        };
        let timestamp_token = purpose.map(|purpose| {
            let (token, evicted) = self.pending_transmits.issue(
                now,
                self.config.transmit_timestamp_timeout_ns,
                purpose,
            );
            if evicted {
                self.count_drop(now, DropReason::PendingTableFull);
            }
            token
        });
        self.push_transmit(
            now,
            Transmit {
                destination,
                port,
                bytes,
                timestamp_token,
            },
            front,
        );
    }

    /// `now` as a wire timestamp, or a fault when the local clock is outside the PTP range.
    pub(super) fn wire_now(&mut self, now: Time) -> Option<Timestamp> {
        match timestamp_of(now) {
            Some((timestamp, _)) => Some(timestamp),
            None => {
                self.fault(now, FaultReason::EncodeFailed);
                None
            }
        }
    }

    /// Sends what is due in MASTER.
    pub(super) fn master_timers(&mut self, now: Time) {
        if let Some(at) = self.master.next_announce_at {
            if now >= at {
                self.master.next_announce_at = Some(next_period(
                    at,
                    now,
                    log_interval_ns(self.config.log_announce_interval),
                ));
                self.send_announces(now);
            }
        }
        if self.state != PortState::Master {
            return;
        }
        if let Some(at) = self.master.next_sync_at {
            if now >= at {
                self.master.next_sync_at = Some(next_period(
                    at,
                    now,
                    log_interval_ns(self.config.log_sync_interval),
                ));
                self.send_syncs(now);
            }
        }
    }

    fn announce_body(&self, origin_timestamp: Timestamp) -> AnnounceBody {
        AnnounceBody {
            origin_timestamp,
            current_utc_offset: self.config.current_utc_offset,
            reserved: 0,
            grandmaster_priority1: self.config.priority1,
            grandmaster_clock_quality: ClockQuality {
                clock_class: self.config.effective_clock_class(),
                clock_accuracy: ClockAccuracy(self.config.clock_accuracy),
                offset_scaled_log_variance: self.config.offset_scaled_log_variance,
            },
            grandmaster_priority2: self.config.priority2,
            grandmaster_identity: self.port_identity.clock_identity,
            steps_removed: 0,
            time_source: TimeSource(self.config.time_source),
        }
    }

    fn send_announces(&mut self, now: Time) {
        let Some(origin) = self.wire_now(now) else {
            return;
        };
        let sequence_id = self.master.announce_sequence_id;
        self.master.announce_sequence_id = sequence_id.wrapping_add(1);
        let body = self.announce_body(origin);
        for destination in self.periodic_destinations(self.master.round) {
            let mut flags = self.master_flags(&destination);
            if self.config.current_utc_offset != 0 {
                flags |= Flags::CURRENT_UTC_OFFSET_VALID;
            }
            let message = self
                .outgoing(Message::announce(self.port_identity, sequence_id, body))
                .with_flags(flags)
                .with_log_message_interval(self.config.log_announce_interval);
            self.send(now, &message, destination, None);
        }
    }

    fn send_syncs(&mut self, now: Time) {
        let Some(origin) = self.wire_now(now) else {
            return;
        };
        let sequence_id = self.master.sync_sequence_id;
        self.master.sync_sequence_id = sequence_id.wrapping_add(1);
        let round = self.master.round;
        self.master.round = round.wrapping_add(1);
        for destination in self.periodic_destinations(round) {
            let mut flags = self.master_flags(&destination);
            let purpose = if self.config.two_step {
                flags |= Flags::TWO_STEP;
                Some(TransmitPurpose::Sync {
                    sequence_id,
                    destination,
                })
            } else {
                None
            };
            let message = self
                .outgoing(Message::sync_one_step(
                    self.port_identity,
                    sequence_id,
                    origin,
                ))
                .with_flags(flags)
                .with_log_message_interval(self.config.log_sync_interval);
            self.send(now, &message, destination, purpose);
        }
    }

    /// A two-step Sync left: its Follow_Up carries the transmit timestamp (whole nanoseconds
    /// in preciseOriginTimestamp, the fraction in correctionField).
    pub(super) fn send_follow_up(
        &mut self,
        now: Time,
        sequence_id: u16,
        destination: Destination<A>,
        tx_timestamp: Time,
    ) {
        if self.state != PortState::Master {
            return;
        }
        let Some((precise_origin, fraction)) = timestamp_of(tx_timestamp) else {
            self.fault(now, FaultReason::EncodeFailed);
            return;
        };
        let message = self
            .outgoing(Message::follow_up(
                self.port_identity,
                sequence_id,
                precise_origin,
            ))
            .with_flags(self.master_flags(&destination))
            .with_correction_field(correction_field_of(fraction))
            .with_log_message_interval(self.config.log_sync_interval);
        self.send_next(now, &message, destination);
    }

    /// Answers a Delay_Req (MASTER only): receiveTimestamp is its receipt, correctionField the
    /// request's minus the receipt's sub-nanosecond part (IEEE 1588-2019 §11.3.2).
    pub(super) fn on_delay_request(
        &mut self,
        now: Time,
        source: A,
        header: &Header,
        rx_timestamp: Time,
        datagram_length: usize,
    ) -> Result<(), DropReason> {
        if self.config.delay_mechanism != super::DelayMechanism::EndToEnd {
            return Err(DropReason::NotExpected);
        }
        if self.state != PortState::Master {
            // Another slave's request to the master, seen on the multicast group.
            return Err(DropReason::OtherPortsExchange);
        }
        // No amplification: a unicast answer (10 bytes longer than an unpadded request)
        // only to a configured peer or to a request padded to the answer's length; others
        // are answered on the multicast group as the standard does, or, serving unicast
        // peers only, not at all.
        let peer = self.unicast_peers.contains(&source);
        let wants_unicast = header.flags.unicast() || !self.unicast_peers.is_empty();
        let destination = if wants_unicast && (peer || datagram_length >= DELAY_RESP_LENGTH) {
            Destination::Unicast(source)
        } else if self.unicast_peers.is_empty() {
            Destination::Multicast
        } else {
            return Err(DropReason::AmplificationRefused);
        };
        let rate = self
            .config
            .answer_rate_limit(self.config.log_min_delay_req_interval);
        if !self.answer_limiter.allow(now, source, rate) {
            return Err(DropReason::RateLimited);
        }
        let Some((receive_timestamp, fraction)) = timestamp_of(rx_timestamp) else {
            self.fault(now, FaultReason::EncodeFailed);
            return Ok(());
        };
        let correction = correction_of(header.correction_field) - fraction;
        let message = self
            .outgoing(Message::delay_resp(
                self.port_identity,
                header.sequence_id,
                receive_timestamp,
                header.source_port_identity,
            ))
            .with_flags(self.master_flags(&destination))
            .with_correction_field(correction_field_of(correction))
            .with_log_message_interval(self.config.log_min_delay_req_interval);
        self.send(now, &message, destination, None);
        Ok(())
    }
}
