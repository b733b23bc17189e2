//! The receiver's view of its timing peers' Announces, and the grandmaster they elect.
//!
//! Each listed peer's latest Announce is kept (one entry per sourcePortIdentity) until it goes
//! silent for its announce receipt timeout; the best entry by the IEEE 1588 dataset comparison
//! ([`compare_datasets`]) is the grandmaster followed. As nqptp and Apple devices do, one
//! Announce qualifies a peer: an AirPlay group has no foreign masters to be wary of, only the
//! peers the application listed.

use crate::engine::{compare_datasets, ComparisonDataset};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::{AnnounceBody, ClockIdentity, PortIdentity};

/// The grandmaster a receiver follows, as its Announces describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrandmasterInfo<A> {
    /// grandmasterIdentity of its Announce: the timeline followed (SETRATEANCHORTIME's
    /// networkTimeTimelineID, nqptp's `master_clock_id`).
    pub identity: ClockIdentity,
    /// sourcePortIdentity of its Announce (the peer that sends Sync and Follow_Up).
    pub source: PortIdentity,
    /// The timing peer it is reached at.
    pub address: A,
    /// Its comparison dataset (priorities, clock quality, stepsRemoved).
    pub dataset: ComparisonDataset,
    /// The local instant of the first Follow_Up of this mastership (nqptp's
    /// `master_clock_start_time`); `None` until one arrived.
    pub mastership_start: Option<Time>,
}

/// One peer's latest Announce.
#[derive(Clone, Copy, Debug)]
struct Entry<A> {
    address: A,
    dataset: ComparisonDataset,
    expires_at: Time,
}

/// The Announces heard from listed peers, bounded.
#[derive(Debug)]
pub(crate) struct Election<A> {
    entries: Vec<Entry<A>>,
    capacity: usize,
    receiver: PortIdentity,
}

impl<A: Copy + Eq> Election<A> {
    pub(crate) fn new(capacity: usize, receiver: PortIdentity) -> Self {
        Election {
            entries: Vec::new(),
            capacity: capacity.max(1),
            receiver,
        }
    }

    /// Records an Announce from `address`; `timeout` is how long it stays valid. Returns false
    /// when the table is full of other live entries (the Announce is not recorded).
    pub(crate) fn record(
        &mut self,
        now: Time,
        address: A,
        source: PortIdentity,
        body: &AnnounceBody,
        timeout: TimeDelta,
    ) -> bool {
        let dataset = ComparisonDataset {
            grandmaster_priority1: body.grandmaster_priority1,
            grandmaster_identity: body.grandmaster_identity,
            grandmaster_clock_class: body.grandmaster_clock_quality.clock_class,
            grandmaster_clock_accuracy: body.grandmaster_clock_quality.clock_accuracy.0,
            grandmaster_offset_scaled_log_variance: body
                .grandmaster_clock_quality
                .offset_scaled_log_variance,
            grandmaster_priority2: body.grandmaster_priority2,
            steps_removed: body.steps_removed,
            sender: source,
            receiver: self.receiver,
        };
        let entry = Entry {
            address,
            dataset,
            expires_at: now + timeout,
        };
        if let Some(existing) = self.entries.iter_mut().find(|e| e.dataset.sender == source) {
            *existing = entry;
            return true;
        }
        self.expire(now);
        if self.entries.len() >= self.capacity {
            return false;
        }
        self.entries.push(entry);
        true
    }

    /// Forgets entries whose timeout passed; true if any was forgotten.
    pub(crate) fn expire(&mut self, now: Time) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.expires_at > now);
        self.entries.len() != before
    }

    /// Forgets entries from addresses `keep` refuses (the peer list changed).
    pub(crate) fn retain_addresses(&mut self, keep: impl Fn(&A) -> bool) {
        self.entries.retain(|e| keep(&e.address));
    }

    /// Keeps the entry of `source` alive until `now + timeout` (its Sync and Follow_Up show it
    /// is still there even when an Announce was lost).
    pub(crate) fn refresh(&mut self, now: Time, source: PortIdentity, timeout: TimeDelta) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.dataset.sender == source) {
            let until = now + timeout;
            if until > entry.expires_at {
                entry.expires_at = until;
            }
        }
    }

    /// The best entry by the dataset comparison: `(address, dataset)`.
    pub(crate) fn best(&self) -> Option<(A, ComparisonDataset)> {
        let mut best: Option<&Entry<A>> = None;
        for entry in &self.entries {
            best = match best {
                Some(current)
                    if !compare_datasets(&entry.dataset, &current.dataset).a_is_better() =>
                {
                    Some(current)
                }
                _ => Some(entry),
            };
        }
        best.map(|e| (e.address, e.dataset))
    }

    /// The earliest expiry, for the receiver's wake time.
    pub(crate) fn next_expiry(&self) -> Option<Time> {
        self.entries.iter().map(|e| e.expires_at).min()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_wire::{ClockAccuracy, ClockQuality, TimeSource, Timestamp};

    fn body(priority1: u8, identity: u8) -> AnnounceBody {
        AnnounceBody {
            origin_timestamp: Timestamp::ZERO,
            current_utc_offset: 37,
            reserved: 0,
            grandmaster_priority1: priority1,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 248,
                clock_accuracy: ClockAccuracy(0x21),
                offset_scaled_log_variance: 0x436a,
            },
            grandmaster_priority2: 248,
            grandmaster_identity: ClockIdentity([identity; 8]),
            steps_removed: 0,
            time_source: TimeSource::INTERNAL_OSCILLATOR,
        }
    }

    fn port(id: u8) -> PortIdentity {
        PortIdentity::new(ClockIdentity([id; 8]), 0x8001)
    }

    #[test]
    fn the_best_dataset_wins_and_silence_expires_it() {
        let mut election = Election::new(4, port(9));
        let t0 = Time::from_nanos(1_000_000_000);
        let timeout = TimeDelta::from_secs(1);
        assert!(election.record(t0, 'a', port(1), &body(250, 1), timeout));
        assert!(election.record(t0, 'b', port(2), &body(248, 2), timeout));
        assert_eq!(election.best().unwrap().0, 'b');
        // b stays alive through its Sync, a does not.
        election.refresh(t0 + TimeDelta::from_millis(900), port(2), timeout);
        assert!(election.expire(t0 + TimeDelta::from_millis(1_500)));
        assert_eq!(election.len(), 1);
        assert_eq!(election.best().unwrap().0, 'b');
        election.retain_addresses(|a| *a != 'b');
        assert!(election.best().is_none());
    }

    #[test]
    fn a_full_table_refuses_newcomers_but_updates_known_ones() {
        let mut election = Election::new(1, port(9));
        let t0 = Time::from_nanos(1_000_000_000);
        let timeout = TimeDelta::from_secs(1);
        assert!(election.record(t0, 1, port(1), &body(250, 1), timeout));
        assert!(!election.record(t0, 2, port(2), &body(1, 2), timeout));
        assert!(election.record(t0, 1, port(1), &body(240, 1), timeout));
        assert_eq!(election.best().unwrap().1.grandmaster_priority1, 240);
        assert_eq!(election.next_expiry(), Some(t0 + timeout));
    }
}
