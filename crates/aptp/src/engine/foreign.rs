//! The foreign master table: masters heard from their Announces, qualified after
//! FOREIGN_MASTER_THRESHOLD (2) Announces within FOREIGN_MASTER_TIME_WINDOW (4 announce
//! intervals), IEEE 1588-2019 §9.3.2.4.4, and bounded by a capacity.

use super::bmca::{compare_datasets, ComparisonDataset};
use super::time::{after, nanos_since};
use super::time_properties::TimeProperties;
use aptp_clock::Time;
use aptp_wire::PortIdentity;

/// Announces needed within the window to qualify a foreign master (§9.3.2.4.4).
pub(crate) const FOREIGN_MASTER_THRESHOLD: usize = 2;
/// The qualification window in announce intervals (§9.3.2.4.4).
pub(crate) const FOREIGN_MASTER_TIME_WINDOW: u64 = 4;

/// One foreign master, keyed by the Announce's sourcePortIdentity.
#[derive(Clone, Debug)]
pub(crate) struct ForeignMaster<A> {
    /// The Announce's sourcePortIdentity.
    pub(crate) source: PortIdentity,
    /// Where its messages come from (the caller's peer address).
    pub(crate) address: A,
    /// The comparison dataset of its latest Announce.
    pub(crate) dataset: ComparisonDataset,
    /// sequenceId of its latest Announce (an exact repeat is a duplicate, not a new one).
    pub(crate) last_sequence_id: u16,
    /// Its latest Announce carried the unicast flag (answer it by unicast).
    pub(crate) unicast: bool,
    /// The time properties of its latest Announce.
    pub(crate) time_properties: TimeProperties,
    /// Receipt times of its latest Announces, newest first.
    receipts: [Option<Time>; FOREIGN_MASTER_THRESHOLD],
}

impl<A> ForeignMaster<A> {
    /// The newest receipt time.
    pub(crate) fn last_receipt(&self) -> Option<Time> {
        self.receipts[0]
    }

    /// Qualified: the threshold's worth of Announces, all within the window before `now`.
    pub(crate) fn is_qualified(&self, now: Time, window_ns: u64) -> bool {
        self.receipts
            .iter()
            .all(|receipt| receipt.is_some_and(|at| nanos_since(now, at) <= window_ns))
    }
}

/// What an Announce says besides its comparison dataset.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AnnounceFlags {
    /// It carried the unicast flag.
    pub(crate) unicast: bool,
    /// Its time properties.
    pub(crate) time_properties: TimeProperties,
}

/// What [`ForeignMasterTable::record`] did with an Announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Counted towards (or kept up) the master's qualification.
    Accepted,
    /// The same sequenceId as the previous Announce of this source: a duplicate, ignored.
    Duplicate,
    /// The table is full of qualified masters: the newcomer is refused.
    TableFull,
}

/// The bounded set of foreign masters.
#[derive(Clone, Debug)]
pub(crate) struct ForeignMasterTable<A> {
    entries: Vec<ForeignMaster<A>>,
    capacity: usize,
}

impl<A: Copy> ForeignMasterTable<A> {
    /// An empty table holding at most `capacity` masters (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ForeignMasterTable {
            entries: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Records an Announce. When the table is full, the least recently heard unqualified
    /// master makes room; qualified masters are never evicted by a newcomer.
    pub(crate) fn record(
        &mut self,
        now: Time,
        window_ns: u64,
        address: A,
        sequence_id: u16,
        dataset: ComparisonDataset,
        flags: AnnounceFlags,
    ) -> Recorded {
        let AnnounceFlags {
            unicast,
            time_properties,
        } = flags;
        let source = dataset.sender;
        if let Some(entry) = self.entries.iter_mut().find(|e| e.source == source) {
            if entry.last_sequence_id == sequence_id && entry.receipts[0].is_some() {
                return Recorded::Duplicate;
            }
            entry.receipts.rotate_right(1);
            entry.receipts[0] = Some(now);
            entry.dataset = dataset;
            entry.address = address;
            entry.last_sequence_id = sequence_id;
            entry.unicast = unicast;
            entry.time_properties = time_properties;
            return Recorded::Accepted;
        }
        if self.entries.len() >= self.capacity {
            let victim = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.is_qualified(now, window_ns))
                .min_by_key(|(_, e)| e.last_receipt())
                .map(|(index, _)| index);
            match victim {
                Some(index) => {
                    self.entries.swap_remove(index);
                }
                None => return Recorded::TableFull,
            }
        }
        let mut receipts = [None; FOREIGN_MASTER_THRESHOLD];
        receipts[0] = Some(now);
        self.entries.push(ForeignMaster {
            source,
            address,
            dataset,
            last_sequence_id: sequence_id,
            unicast,
            time_properties,
            receipts,
        });
        Recorded::Accepted
    }

    /// Puts back `at`, an Announce receipt of `source` from before it expired, as its
    /// previous receipt, when its entry holds only one (re-created since).
    pub(crate) fn recall_receipt(&mut self, source: &PortIdentity, at: Time) {
        if let Some(entry) = self.entries.iter_mut().find(|e| &e.source == source) {
            if entry.receipts[1].is_none() && entry.receipts[0].is_some_and(|last| at < last) {
                entry.receipts[1] = Some(at);
            }
        }
    }

    /// Forgets masters not heard for `timeout_ns` or longer.
    pub(crate) fn expire(&mut self, now: Time, timeout_ns: u64) {
        self.entries.retain(|e| {
            e.last_receipt()
                .is_some_and(|at| nanos_since(now, at) < timeout_ns)
        });
    }

    /// Erbest: the best qualified master (§9.3.2.2), if any. `parent`, the master already
    /// followed, stays eligible while it is in the table (until its announce receipt timeout
    /// expires it), even when losses leave fewer than two Announces in the window.
    pub(crate) fn best(
        &self,
        now: Time,
        window_ns: u64,
        parent: Option<PortIdentity>,
    ) -> Option<&ForeignMaster<A>> {
        self.entries
            .iter()
            .filter(|e| e.is_qualified(now, window_ns) || Some(e.source) == parent)
            .fold(
                None,
                |best: Option<&ForeignMaster<A>>, candidate| match best {
                    Some(current)
                        if !compare_datasets(&candidate.dataset, &current.dataset)
                            .a_is_better() =>
                    {
                        Some(current)
                    }
                    _ => Some(candidate),
                },
            )
    }

    /// The entry for `source`, if heard.
    pub(crate) fn get(&self, source: &PortIdentity) -> Option<&ForeignMaster<A>> {
        self.entries.iter().find(|e| &e.source == source)
    }

    /// Masters in the table.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets every master (on a fault or when disabled).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The earliest instant at which an entry expires under `timeout_ns`.
    pub(crate) fn next_expiry(&self, timeout_ns: u64) -> Option<Time> {
        self.entries
            .iter()
            .filter_map(|e| e.last_receipt())
            .min()
            .map(|at| after(at, timeout_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_wire::ClockIdentity;

    const SECOND: u64 = 1_000_000_000;
    const WINDOW: u64 = 4 * 2 * SECOND;

    fn at(seconds: i64) -> Time {
        Time::from_nanos(seconds as u64 * SECOND)
    }

    fn dataset(id: u8, priority1: u8) -> ComparisonDataset {
        let me = PortIdentity::new(ClockIdentity([0xEE; 8]), 1);
        let sender = PortIdentity::new(ClockIdentity([id; 8]), 1);
        ComparisonDataset {
            sender,
            receiver: me,
            ..ComparisonDataset::local(priority1, 248, 0xFE, 0xFFFF, 128, sender)
        }
    }

    #[test]
    fn two_announces_within_the_window_qualify() {
        let mut table = ForeignMasterTable::new(4);
        assert_eq!(
            table.record(
                at(0),
                WINDOW,
                1u8,
                0,
                dataset(1, 128),
                AnnounceFlags::default()
            ),
            Recorded::Accepted
        );
        assert!(table.best(at(0), WINDOW, None).is_none());
        assert_eq!(
            table.record(
                at(2),
                WINDOW,
                1u8,
                1,
                dataset(1, 128),
                AnnounceFlags::default()
            ),
            Recorded::Accepted
        );
        assert!(table.best(at(2), WINDOW, None).is_some());
        // At 8 s both are inside the 8 s window; at 9 s the first is outside it.
        assert!(table.best(at(8), WINDOW, None).is_some());
        assert!(table.best(at(9), WINDOW, None).is_none());
    }

    #[test]
    fn the_parent_stays_eligible_until_it_expires() {
        let mut table = ForeignMasterTable::new(4);
        table.record(
            at(0),
            WINDOW,
            1u8,
            0,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        table.record(
            at(2),
            WINDOW,
            1u8,
            1,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        let parent = Some(dataset(1, 128).sender);
        assert!(table.best(at(12), WINDOW, None).is_none());
        assert!(table.best(at(12), WINDOW, parent).is_some());
        table.expire(at(12), 6 * SECOND);
        assert!(table.best(at(12), WINDOW, parent).is_none());
    }

    #[test]
    fn announces_too_far_apart_do_not_qualify() {
        let mut table = ForeignMasterTable::new(4);
        table.record(
            at(0),
            WINDOW,
            1u8,
            0,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        table.record(
            at(9),
            WINDOW,
            1u8,
            1,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        assert!(table.best(at(9), WINDOW, None).is_none());
    }

    #[test]
    fn duplicate_sequence_ids_do_not_count() {
        let mut table = ForeignMasterTable::new(4);
        table.record(
            at(0),
            WINDOW,
            1u8,
            7,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        assert_eq!(
            table.record(
                at(1),
                WINDOW,
                1u8,
                7,
                dataset(1, 128),
                AnnounceFlags::default()
            ),
            Recorded::Duplicate
        );
        assert!(table.best(at(1), WINDOW, None).is_none());
    }

    #[test]
    fn best_is_the_best_qualified() {
        let mut table = ForeignMasterTable::new(4);
        for (seq, second) in [(0u16, 0i64), (1, 1)] {
            table.record(
                at(second),
                WINDOW,
                1u8,
                seq,
                dataset(1, 128),
                AnnounceFlags::default(),
            );
            table.record(
                at(second),
                WINDOW,
                2u8,
                seq,
                dataset(2, 100),
                AnnounceFlags::default(),
            );
        }
        table.record(
            at(1),
            WINDOW,
            3u8,
            0,
            dataset(3, 1),
            AnnounceFlags::default(),
        ); // better but unqualified
        let best = table.best(at(1), WINDOW, None).map(|e| e.address);
        assert_eq!(best, Some(2));
    }

    #[test]
    fn full_table_evicts_unqualified_but_never_qualified() {
        let mut table = ForeignMasterTable::new(2);
        table.record(
            at(0),
            WINDOW,
            1u8,
            0,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        table.record(
            at(1),
            WINDOW,
            1u8,
            1,
            dataset(1, 128),
            AnnounceFlags::default(),
        ); // qualified
        table.record(
            at(1),
            WINDOW,
            2u8,
            0,
            dataset(2, 128),
            AnnounceFlags::default(),
        ); // unqualified
        assert_eq!(
            table.record(
                at(2),
                WINDOW,
                3u8,
                0,
                dataset(3, 128),
                AnnounceFlags::default()
            ),
            Recorded::Accepted
        );
        assert_eq!(table.len(), 2);
        assert!(table.get(&dataset(2, 0).sender).is_none());
        assert!(table.get(&dataset(1, 0).sender).is_some());
        table.record(
            at(3),
            WINDOW,
            3u8,
            1,
            dataset(3, 128),
            AnnounceFlags::default(),
        ); // now both qualified
        assert_eq!(
            table.record(
                at(3),
                WINDOW,
                4u8,
                0,
                dataset(4, 1),
                AnnounceFlags::default()
            ),
            Recorded::TableFull
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn expiry_forgets_silent_masters() {
        let mut table = ForeignMasterTable::new(4);
        table.record(
            at(0),
            WINDOW,
            1u8,
            0,
            dataset(1, 128),
            AnnounceFlags::default(),
        );
        table.record(
            at(5),
            WINDOW,
            2u8,
            0,
            dataset(2, 128),
            AnnounceFlags::default(),
        );
        assert_eq!(table.next_expiry(6 * SECOND), Some(at(6)));
        table.expire(at(7), 6 * SECOND);
        assert_eq!(table.len(), 1);
        table.clear();
        assert_eq!(table.len(), 0);
    }
}
