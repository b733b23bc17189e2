//! Sent event messages waiting for their transmit timestamp: each one has exactly one
//! [`TransmitToken`], and the timestamp that comes back with it completes what it was sent for.

use super::io::{Destination, TransmitToken};
use super::time::after;
use aptp_clock::{Time, TimeDelta};
use aptp_wire::PortIdentity;
use std::collections::VecDeque;

/// What a sent event message's transmit timestamp is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransmitPurpose<A> {
    /// A two-step Sync: its timestamp goes into the Follow_Up to the same destination.
    Sync {
        sequence_id: u16,
        destination: Destination<A>,
    },
    /// A Delay_Req: its timestamp is t3.
    DelayRequest { sequence_id: u16 },
    /// A Pdelay_Req: its timestamp is t1 of the peer delay exchange.
    PeerDelayRequest { sequence_id: u16 },
    /// A two-step Pdelay_Resp: its timestamp goes into the Pdelay_Resp_Follow_Up.
    PeerDelayResponse {
        sequence_id: u16,
        requesting_port_identity: PortIdentity,
        destination: Destination<A>,
        /// The request's correctionField minus the receipt's sub-nanosecond part.
        correction: TimeDelta,
    },
}

#[derive(Debug)]
struct Pending<A> {
    token: u64,
    deadline: Time,
    purpose: TransmitPurpose<A>,
}

/// The bounded table of tokens handed out and not yet answered.
#[derive(Debug)]
pub(crate) struct PendingTransmits<A> {
    pending: VecDeque<Pending<A>>,
    capacity: usize,
    next_token: u64,
}

impl<A: Copy> PendingTransmits<A> {
    pub(crate) fn new(capacity: usize) -> Self {
        PendingTransmits {
            pending: VecDeque::new(),
            capacity: capacity.max(1),
            next_token: 0,
        }
    }

    /// A new token for `purpose`, valid until `timeout_ns` after `now`. Returns whether an
    /// older pending entry had to be forgotten to make room.
    pub(crate) fn issue(
        &mut self,
        now: Time,
        timeout_ns: u64,
        purpose: TransmitPurpose<A>,
    ) -> (TransmitToken, bool) {
        let evicted = if self.pending.len() >= self.capacity {
            self.pending.pop_front();
            true
        } else {
            false
        };
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        self.pending.push_back(Pending {
            token,
            deadline: after(now, timeout_ns),
            purpose,
        });
        (TransmitToken(token), evicted)
    }

    /// The purpose of `token`, if it is still pending (then it is no longer).
    pub(crate) fn take(&mut self, token: TransmitToken) -> Option<TransmitPurpose<A>> {
        // Tokens are issued in increasing order, so the queue is sorted by token.
        let index = self
            .pending
            .binary_search_by_key(&token.0, |p| p.token)
            .ok()?;
        self.pending.remove(index).map(|p| p.purpose)
    }

    /// Removes and returns the entries whose deadline has passed.
    pub(crate) fn expire(&mut self, now: Time) -> Vec<TransmitPurpose<A>> {
        let mut expired = Vec::new();
        self.pending.retain(|p| {
            if p.deadline <= now {
                expired.push(p.purpose);
                false
            } else {
                true
            }
        });
        expired
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Time> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Forgets everything pending.
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Entries pending.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn each_token_answers_once() {
        let mut table = PendingTransmits::<u8>::new(4);
        let (token, evicted) = table.issue(
            at(0),
            100_000_000,
            TransmitPurpose::DelayRequest { sequence_id: 3 },
        );
        assert!(!evicted);
        let same = TransmitToken(token.id());
        assert_eq!(
            table.take(token),
            Some(TransmitPurpose::DelayRequest { sequence_id: 3 })
        );
        assert_eq!(table.take(same), None);
    }

    #[test]
    fn bounded_and_expiring() {
        let mut table = PendingTransmits::<u8>::new(2);
        for seq in 0..3u16 {
            let (_, evicted) = table.issue(
                at(u64::from(seq)),
                100_000_000,
                TransmitPurpose::PeerDelayRequest { sequence_id: seq },
            );
            assert_eq!(evicted, seq == 2);
        }
        assert_eq!(table.len(), 2);
        assert_eq!(table.next_deadline(), Some(at(101)));
        assert_eq!(
            table.expire(at(101)),
            vec![TransmitPurpose::PeerDelayRequest { sequence_id: 1 }]
        );
        assert_eq!(table.len(), 1);
        table.clear();
        assert_eq!(table.next_deadline(), None);
    }
}
