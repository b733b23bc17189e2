//! Peer delay (P2P): every active port measures the link to its neighbour with Pdelay_Req,
//! Pdelay_Resp and Pdelay_Resp_Follow_Up, and answers its neighbour's requests (two-step).

use super::codec::{correction_field_of, correction_of, time_of, timestamp_of};
use super::config::{log_interval_ns, DelayMechanism};
use super::events::FaultReason;
use super::io::{Destination, DropReason};
use super::time::after;
use super::transmit_timestamps::TransmitPurpose;
use super::Engine;
use aptp_clock::{PeerDelayExchange, Time, TimeDelta};
use aptp_wire::{Flags, Header, Message, PortIdentity, Timestamp};
use core::fmt::Debug;
use std::collections::VecDeque;

/// A Pdelay_Resp and its Pdelay_Resp_Follow_Up together: a Pdelay_Req shorter than this is
/// answered by unicast only when it comes from a configured peer or the selected master.
const PEER_DELAY_ANSWER_LENGTH: usize = 2 * 54;

/// One Pdelay_Req exchange in progress: t1 (our send), t2 (their receipt), t3 (their send),
/// t4 (our receipt), filled in whatever order they arrive.
#[derive(Clone, Copy, Debug, Default)]
struct PendingPeerDelay {
    sequence_id: u16,
    t1: Option<Time>,
    t2: Option<Time>,
    t3: Option<Time>,
    t4: Option<Time>,
    correction: TimeDelta,
    responder: Option<PortIdentity>,
}

/// The peer delay state: requests in flight and the measured link delay.
#[derive(Debug)]
pub(crate) struct PeerDelay {
    pending: VecDeque<PendingPeerDelay>,
    capacity: usize,
    sequence_id: u16,
    pub(crate) next_request_at: Option<Time>,
    mean_link_delay: Option<TimeDelta>,
}

impl PeerDelay {
    pub(crate) fn new(capacity: usize) -> Self {
        PeerDelay {
            pending: VecDeque::new(),
            capacity: capacity.max(1),
            sequence_id: 0,
            next_request_at: None,
            mean_link_delay: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn set_next_sequence_id(&mut self, sequence_id: u16) {
        self.sequence_id = sequence_id;
    }

    /// Forgets exchanges and the measured delay (fault, disable).
    pub(crate) fn reset(&mut self) {
        self.pending.clear();
        self.next_request_at = None;
        self.mean_link_delay = None;
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The latest measured link delay, smoothed.
    pub(crate) fn mean_link_delay(&self) -> Option<TimeDelta> {
        self.mean_link_delay
    }

    fn find(&self, sequence_id: u16) -> Option<usize> {
        self.pending
            .iter()
            .position(|p| p.sequence_id == sequence_id)
    }

    /// Completes exchange `index` when all four timestamps are in.
    fn try_complete(&mut self, index: usize) {
        let p = self.pending[index];
        if let (Some(t1), Some(t2), Some(t3), Some(t4)) = (p.t1, p.t2, p.t3, p.t4) {
            self.pending.remove(index);
            let delay = PeerDelayExchange {
                t1,
                t2,
                t3,
                t4,
                correction: p.correction,
            }
            .mean_link_delay();
            if delay.is_negative() {
                return;
            }
            // A 1/4 exponential average, started at the first value.
            self.mean_link_delay = Some(match self.mean_link_delay {
                Some(mean) => mean + (delay - mean).mul_f64(0.25),
                None => delay,
            });
        }
    }
}

impl<A: Copy + Eq + Debug> Engine<A> {
    fn peer_delay_destination(&self) -> Destination<A> {
        match (self.unicast_peers.is_empty(), self.parent) {
            (false, Some(parent)) => Destination::Unicast(parent.address),
            _ => Destination::PeerDelayMulticast,
        }
    }

    /// Sends a Pdelay_Req when due (every active state).
    pub(super) fn peer_delay_timers(&mut self, now: Time) {
        let interval = log_interval_ns(self.config.log_min_pdelay_req_interval);
        let at = match self.peer_delay.next_request_at {
            Some(at) => at,
            None => {
                self.peer_delay.next_request_at = Some(now);
                now
            }
        };
        if now < at {
            return;
        }
        self.peer_delay.next_request_at = Some(after(now, interval));
        let Some(origin) = self.wire_now(now) else {
            return;
        };
        let sequence_id = self.peer_delay.sequence_id;
        self.peer_delay.sequence_id = sequence_id.wrapping_add(1);
        if self.peer_delay.pending.len() >= self.peer_delay.capacity {
            // The oldest exchange lost a message on the way: forgotten, and counted.
            self.peer_delay.pending.pop_front();
            self.count_drop(now, DropReason::PendingTableFull);
        }
        self.peer_delay.pending.push_back(PendingPeerDelay {
            sequence_id,
            ..PendingPeerDelay::default()
        });
        let destination = self.peer_delay_destination();
        let flags = if matches!(destination, Destination::Unicast(_)) {
            Flags::UNICAST
        } else {
            Flags::EMPTY
        };
        let message = self
            .outgoing(Message::pdelay_req(self.port_identity, sequence_id, origin))
            .with_flags(flags)
            .with_log_message_interval(0x7F);
        self.send(
            now,
            &message,
            destination,
            Some(TransmitPurpose::PeerDelayRequest { sequence_id }),
        );
    }

    /// The transmit timestamp of our Pdelay_Req: t1.
    pub(super) fn on_peer_delay_request_sent(&mut self, sequence_id: u16, t1: Time) {
        if let Some(index) = self.peer_delay.find(sequence_id) {
            self.peer_delay.pending[index].t1 = Some(t1);
            self.peer_delay.try_complete(index);
        }
    }

    /// Answers a neighbour's Pdelay_Req with a two-step Pdelay_Resp carrying its receipt (t2).
    pub(super) fn on_peer_delay_request(
        &mut self,
        now: Time,
        source: A,
        header: &Header,
        rx_timestamp: Time,
        datagram_length: usize,
    ) -> Result<(), DropReason> {
        if self.config.delay_mechanism != DelayMechanism::PeerToPeer {
            return Err(DropReason::NotExpected);
        }
        // No amplification: two answers by unicast only to a configured peer, the selected
        // master, or a request padded to their length.
        let known = self.unicast_peers.contains(&source)
            || self.parent.is_some_and(|parent| parent.address == source);
        let destination = if !header.flags.unicast() {
            Destination::PeerDelayMulticast
        } else if known || datagram_length >= PEER_DELAY_ANSWER_LENGTH {
            Destination::Unicast(source)
        } else if self.unicast_peers.is_empty() {
            Destination::PeerDelayMulticast
        } else {
            return Err(DropReason::AmplificationRefused);
        };
        let rate = self
            .config
            .answer_rate_limit(self.config.log_min_pdelay_req_interval);
        if !self.answer_limiter.allow(now, source, rate) {
            return Err(DropReason::RateLimited);
        }
        let Some((receipt, receipt_fraction)) = timestamp_of(rx_timestamp) else {
            self.fault(now, FaultReason::EncodeFailed);
            return Ok(());
        };
        let flags = if matches!(destination, Destination::Unicast(_)) {
            Flags::TWO_STEP | Flags::UNICAST
        } else {
            Flags::TWO_STEP
        };
        let requesting_port_identity = header.source_port_identity;
        let message = self
            .outgoing(Message::pdelay_resp(
                self.port_identity,
                header.sequence_id,
                receipt,
                requesting_port_identity,
            ))
            .with_flags(flags)
            .with_log_message_interval(0x7F);
        self.send(
            now,
            &message,
            destination,
            Some(TransmitPurpose::PeerDelayResponse {
                sequence_id: header.sequence_id,
                requesting_port_identity,
                destination,
                // The request's correctionField goes back in the Pdelay_Resp_Follow_Up, with
                // the sub-nanosecond parts the two truncated timestamps lose (IEEE 1588-2019
                // §11.4.2, as linuxptp does): + frac(t3) − frac(t2).
                correction: correction_of(header.correction_field) - receipt_fraction,
            }),
        );
        Ok(())
    }

    /// Our Pdelay_Resp left: its Pdelay_Resp_Follow_Up carries the transmit time (t3).
    pub(super) fn send_peer_delay_follow_up(
        &mut self,
        now: Time,
        sequence_id: u16,
        requesting_port_identity: PortIdentity,
        destination: Destination<A>,
        correction: TimeDelta,
        tx_timestamp: Time,
    ) {
        let Some((origin, origin_fraction)) = timestamp_of(tx_timestamp) else {
            self.fault(now, FaultReason::EncodeFailed);
            return;
        };
        let flags = if matches!(destination, Destination::Unicast(_)) {
            Flags::UNICAST
        } else {
            Flags::EMPTY
        };
        let message = self
            .outgoing(Message::pdelay_resp_follow_up(
                self.port_identity,
                sequence_id,
                origin,
                requesting_port_identity,
            ))
            .with_flags(flags)
            .with_correction_field(correction_field_of(correction + origin_fraction))
            .with_log_message_interval(0x7F);
        self.send_next(now, &message, destination);
    }

    fn own_peer_delay_exchange(
        &self,
        header: &Header,
        requesting_port_identity: PortIdentity,
    ) -> Result<usize, DropReason> {
        if self.config.delay_mechanism != DelayMechanism::PeerToPeer {
            // An unsolicited response on an E2E port: junk, never a fault.
            return Err(DropReason::NotExpected);
        }
        if requesting_port_identity != self.port_identity {
            // Another port's exchange on the peer delay multicast group.
            return Err(DropReason::OtherPortsExchange);
        }
        self.peer_delay
            .find(header.sequence_id)
            .ok_or(DropReason::Unmatched)
    }

    pub(super) fn on_peer_delay_response(
        &mut self,
        _now: Time,
        header: &Header,
        request_receipt_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
        rx_timestamp: Time,
    ) -> Result<(), DropReason> {
        let index = self.own_peer_delay_exchange(header, requesting_port_identity)?;
        let t2 = time_of(request_receipt_timestamp).ok_or(DropReason::Malformed)?;
        let pending = &mut self.peer_delay.pending[index];
        if pending.t4.is_some() {
            return Err(DropReason::Duplicate);
        }
        pending.responder = Some(header.source_port_identity);
        pending.t2 = Some(t2);
        pending.t4 = Some(rx_timestamp);
        pending.correction += correction_of(header.correction_field);
        if !header.flags.two_step() {
            // One-step responder: the turnaround is in the correctionField, t3 = t2.
            pending.t3 = Some(t2);
        }
        self.peer_delay.try_complete(index);
        Ok(())
    }

    pub(super) fn on_peer_delay_response_follow_up(
        &mut self,
        _now: Time,
        header: &Header,
        response_origin_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) -> Result<(), DropReason> {
        let index = self.own_peer_delay_exchange(header, requesting_port_identity)?;
        let t3 = time_of(response_origin_timestamp).ok_or(DropReason::Malformed)?;
        let pending = &mut self.peer_delay.pending[index];
        if pending.t3.is_some() {
            return Err(DropReason::Duplicate);
        }
        if pending
            .responder
            .is_some_and(|r| r != header.source_port_identity)
        {
            return Err(DropReason::Unmatched);
        }
        pending.t3 = Some(t3);
        pending.correction += correction_of(header.correction_field);
        self.peer_delay.try_complete(index);
        Ok(())
    }
}
