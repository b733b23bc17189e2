//! The Best Master Clock Algorithm: the dataset comparison of IEEE 1588-2019 §9.3.4 (with the
//! topology tie-breaks of its second part) and the state decision of §9.3.3 for an ordinary
//! clock's single port.

use super::state::PortState;
use aptp_wire::{ClockIdentity, PortIdentity};
use core::cmp::Ordering;

/// What the dataset comparison looks at: a grandmaster's attributes and the path to it, taken
/// from an Announce (or, for this clock's own default dataset D0, from the config).
///
/// ```
/// use aptp::engine::{compare_datasets, ComparisonDataset, DatasetComparison};
/// use aptp_wire::{ClockIdentity, PortIdentity};
///
/// let port = |id: u8| PortIdentity::new(ClockIdentity([id; 8]), 1);
/// let a = ComparisonDataset::local(128, 248, 0xFE, 0xFFFF, 128, port(1));
/// let b = ComparisonDataset { grandmaster_priority1: 127, ..ComparisonDataset::local(128, 248, 0xFE, 0xFFFF, 128, port(2)) };
/// assert_eq!(compare_datasets(&a, &b), DatasetComparison::Worse);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ComparisonDataset {
    /// grandmasterPriority1.
    pub grandmaster_priority1: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// grandmasterClockQuality.clockClass.
    pub grandmaster_clock_class: u8,
    /// grandmasterClockQuality.clockAccuracy.
    pub grandmaster_clock_accuracy: u8,
    /// grandmasterClockQuality.offsetScaledLogVariance.
    pub grandmaster_offset_scaled_log_variance: u16,
    /// grandmasterPriority2.
    pub grandmaster_priority2: u8,
    /// stepsRemoved: boundary clocks between the grandmaster and the sender.
    pub steps_removed: u16,
    /// The Announce's sourcePortIdentity (for D0, this port's own identity).
    pub sender: PortIdentity,
    /// The port that received the Announce (for D0, this port's own identity).
    pub receiver: PortIdentity,
}

impl ComparisonDataset {
    /// This clock's own dataset D0 (§9.3.4: stepsRemoved 0, sender and receiver this port).
    pub fn local(
        priority1: u8,
        clock_class: u8,
        clock_accuracy: u8,
        offset_scaled_log_variance: u16,
        priority2: u8,
        port: PortIdentity,
    ) -> Self {
        ComparisonDataset {
            grandmaster_priority1: priority1,
            grandmaster_identity: port.clock_identity,
            grandmaster_clock_class: clock_class,
            grandmaster_clock_accuracy: clock_accuracy,
            grandmaster_offset_scaled_log_variance: offset_scaled_log_variance,
            grandmaster_priority2: priority2,
            steps_removed: 0,
            sender: port,
            receiver: port,
        }
    }
}

/// The result of comparing dataset A with dataset B (IEEE 1588-2019 Figures 34 and 35).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetComparison {
    /// A is better than B (a better grandmaster, or the same one much closer).
    Better,
    /// A is better than B only by topology (same grandmaster, tie broken by identities).
    BetterByTopology,
    /// B is better than A only by topology.
    WorseByTopology,
    /// B is better than A.
    Worse,
    /// Error-1: the same grandmaster, one step apart, and the receiver is the sender
    /// (an Announce from this very port). Neither wins.
    ReceiverIsSender,
    /// Error-2: the same message compared with itself (same sender, same receiving port).
    Identical,
}

impl DatasetComparison {
    /// True for [`Better`](Self::Better) and [`BetterByTopology`](Self::BetterByTopology).
    pub fn a_is_better(self) -> bool {
        matches!(self, Self::Better | Self::BetterByTopology)
    }

    /// True for [`Worse`](Self::Worse) and [`WorseByTopology`](Self::WorseByTopology).
    pub fn b_is_better(self) -> bool {
        matches!(self, Self::Worse | Self::WorseByTopology)
    }
}

fn lower_is_better<T: Ord>(a: T, b: T) -> Option<DatasetComparison> {
    match a.cmp(&b) {
        Ordering::Less => Some(DatasetComparison::Better),
        Ordering::Greater => Some(DatasetComparison::Worse),
        Ordering::Equal => None,
    }
}

/// Compares datasets A and B as IEEE 1588-2019 §9.3.4 says (the same order as linuxptp's
/// `dscmp`): different grandmasters by priority1, clockClass, clockAccuracy,
/// offsetScaledLogVariance, priority2, then identity; the same grandmaster by stepsRemoved and
/// the topology tie-breaks.
pub fn compare_datasets(a: &ComparisonDataset, b: &ComparisonDataset) -> DatasetComparison {
    if a.grandmaster_identity != b.grandmaster_identity {
        return lower_is_better(a.grandmaster_priority1, b.grandmaster_priority1)
            .or_else(|| lower_is_better(a.grandmaster_clock_class, b.grandmaster_clock_class))
            .or_else(|| lower_is_better(a.grandmaster_clock_accuracy, b.grandmaster_clock_accuracy))
            .or_else(|| {
                lower_is_better(
                    a.grandmaster_offset_scaled_log_variance,
                    b.grandmaster_offset_scaled_log_variance,
                )
            })
            .or_else(|| lower_is_better(a.grandmaster_priority2, b.grandmaster_priority2))
            .or_else(|| lower_is_better(a.grandmaster_identity, b.grandmaster_identity))
            // Unreachable: the identities differ, so the last comparison decided.
            .unwrap_or(DatasetComparison::Identical);
    }
    compare_same_grandmaster(a, b)
}

/// Figure 35: the same grandmaster seen through two paths.
fn compare_same_grandmaster(a: &ComparisonDataset, b: &ComparisonDataset) -> DatasetComparison {
    let (steps_a, steps_b) = (u32::from(a.steps_removed), u32::from(b.steps_removed));
    if steps_a + 1 < steps_b {
        return DatasetComparison::Better;
    }
    if steps_b + 1 < steps_a {
        return DatasetComparison::Worse;
    }
    if steps_a < steps_b {
        // B came one step further: did B come through this very clock?
        return match port_order(&b.receiver, &b.sender) {
            Ordering::Less => DatasetComparison::Better,
            Ordering::Greater => DatasetComparison::BetterByTopology,
            Ordering::Equal => DatasetComparison::ReceiverIsSender,
        };
    }
    if steps_a > steps_b {
        return match port_order(&a.receiver, &a.sender) {
            Ordering::Less => DatasetComparison::Worse,
            Ordering::Greater => DatasetComparison::WorseByTopology,
            Ordering::Equal => DatasetComparison::ReceiverIsSender,
        };
    }
    match port_order(&a.sender, &b.sender) {
        Ordering::Less => DatasetComparison::BetterByTopology,
        Ordering::Greater => DatasetComparison::WorseByTopology,
        Ordering::Equal => match a.receiver.port_number.cmp(&b.receiver.port_number) {
            Ordering::Less => DatasetComparison::BetterByTopology,
            Ordering::Greater => DatasetComparison::WorseByTopology,
            Ordering::Equal => DatasetComparison::Identical,
        },
    }
}

/// Port identities ordered as the standard compares them: clockIdentity as an unsigned
/// 64-bit number (its bytes in order), then portNumber (aptp-wire's derived order).
fn port_order(a: &PortIdentity, b: &PortIdentity) -> Ordering {
    a.cmp(b)
}

/// What the state decision algorithm recommends (§9.3.3, Figure 33, for an ordinary clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recommendation {
    /// Stay LISTENING (no qualified master yet, or slaveOnly with nothing to follow).
    Listening,
    /// M1 or M2: this clock is the best; serve time.
    Master,
    /// P1: a better master exists but this clock (class 1..=127) must not follow.
    Passive,
    /// S1: follow Erbest.
    Slave,
}

/// The state decision algorithm for the single port of an ordinary clock, where Ebest is
/// Erbest. `slave_only` never recommends MASTER (the port stays LISTENING instead);
/// `master_only` never recommends SLAVE (its Announces are not qualified, so Erbest is always
/// empty, but the guard stands here too).
pub(crate) fn state_decision(
    local: &ComparisonDataset,
    erbest: Option<&ComparisonDataset>,
    state: PortState,
    slave_only: bool,
    master_only: bool,
) -> Recommendation {
    let Some(best) = erbest else {
        if state == PortState::Listening || slave_only {
            return Recommendation::Listening;
        }
        return Recommendation::Master;
    };
    let local_wins = compare_datasets(local, best).a_is_better();
    if slave_only {
        return Recommendation::Slave;
    }
    if (1..=127).contains(&local.grandmaster_clock_class) {
        return if local_wins {
            Recommendation::Master
        } else {
            Recommendation::Passive
        };
    }
    if local_wins || master_only {
        Recommendation::Master
    } else {
        Recommendation::Slave
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(id: u8, number: u16) -> PortIdentity {
        PortIdentity::new(ClockIdentity([0, 0, 0, 0, 0, 0, 0, id]), number)
    }

    fn dataset(gm: u8) -> ComparisonDataset {
        ComparisonDataset::local(128, 248, 0xFE, 0xFFFF, 128, port(gm, 1))
    }

    fn via(
        gm: u8,
        steps_removed: u16,
        sender: PortIdentity,
        receiver: PortIdentity,
    ) -> ComparisonDataset {
        ComparisonDataset {
            steps_removed,
            sender,
            receiver,
            ..dataset(gm)
        }
    }

    #[test]
    fn part_one_each_criterion_in_order() {
        let base = dataset(9);
        let other = dataset(1); // lower identity: wins only when everything else is equal
        assert_eq!(compare_datasets(&other, &base), DatasetComparison::Better);
        assert_eq!(compare_datasets(&base, &other), DatasetComparison::Worse);
        let better_by: [fn(&mut ComparisonDataset); 5] = [
            |d| d.grandmaster_priority1 = 127,
            |d| d.grandmaster_clock_class = 6,
            |d| d.grandmaster_clock_accuracy = 0x21,
            |d| d.grandmaster_offset_scaled_log_variance = 0x436A,
            |d| d.grandmaster_priority2 = 1,
        ];
        for (index, improve) in better_by.iter().enumerate() {
            let mut candidate = base;
            improve(&mut candidate);
            assert_eq!(
                compare_datasets(&candidate, &other),
                DatasetComparison::Better,
                "criterion {index}"
            );
            assert_eq!(
                compare_datasets(&other, &candidate),
                DatasetComparison::Worse,
                "criterion {index}"
            );
            // An earlier criterion outweighs a later one.
            for earlier in better_by.iter().take(index) {
                let mut rival = other;
                earlier(&mut rival);
                assert_eq!(
                    compare_datasets(&rival, &candidate),
                    DatasetComparison::Better
                );
            }
        }
    }

    #[test]
    fn part_two_steps_removed_more_than_one_apart() {
        let me = port(50, 1);
        let near = via(1, 1, port(2, 1), me);
        let far = via(1, 3, port(3, 1), me);
        assert_eq!(compare_datasets(&near, &far), DatasetComparison::Better);
        assert_eq!(compare_datasets(&far, &near), DatasetComparison::Worse);
    }

    #[test]
    fn part_two_one_step_apart_uses_receiver_against_sender() {
        // B is one step further than A. If B's receiver is below B's sender, A is better
        // outright, else only by topology.
        let a = via(1, 1, port(2, 1), port(5, 1));
        let b_low_receiver = via(1, 2, port(9, 1), port(5, 1));
        assert_eq!(
            compare_datasets(&a, &b_low_receiver),
            DatasetComparison::Better
        );
        assert_eq!(
            compare_datasets(&b_low_receiver, &a),
            DatasetComparison::Worse
        );
        let b_high_receiver = via(1, 2, port(3, 1), port(5, 1));
        assert_eq!(
            compare_datasets(&a, &b_high_receiver),
            DatasetComparison::BetterByTopology
        );
        assert_eq!(
            compare_datasets(&b_high_receiver, &a),
            DatasetComparison::WorseByTopology
        );
        let b_own = via(1, 2, port(5, 1), port(5, 1));
        assert_eq!(
            compare_datasets(&a, &b_own),
            DatasetComparison::ReceiverIsSender
        );
    }

    #[test]
    fn part_two_equal_steps_by_sender_then_receiver_port() {
        let a = via(1, 1, port(2, 1), port(5, 1));
        let b = via(1, 1, port(3, 1), port(5, 1));
        assert_eq!(
            compare_datasets(&a, &b),
            DatasetComparison::BetterByTopology
        );
        assert_eq!(compare_datasets(&b, &a), DatasetComparison::WorseByTopology);
        // Same sender clock, lower sender port number wins.
        let a_port = via(1, 1, port(2, 1), port(5, 1));
        let b_port = via(1, 1, port(2, 2), port(5, 1));
        assert_eq!(
            compare_datasets(&a_port, &b_port),
            DatasetComparison::BetterByTopology
        );
        // Same sender, different receiving ports.
        let a_rx = via(1, 1, port(2, 1), port(5, 1));
        let b_rx = via(1, 1, port(2, 1), port(5, 2));
        assert_eq!(
            compare_datasets(&a_rx, &b_rx),
            DatasetComparison::BetterByTopology
        );
        assert_eq!(compare_datasets(&a_rx, &a_rx), DatasetComparison::Identical);
    }

    #[test]
    fn comparison_is_antisymmetric() {
        let samples = [
            dataset(1),
            dataset(2),
            via(1, 1, port(2, 1), port(5, 1)),
            via(1, 2, port(3, 1), port(5, 1)),
            via(1, 2, port(9, 1), port(5, 1)),
            via(1, 4, port(3, 1), port(5, 1)),
            via(2, 0, port(2, 2), port(5, 1)),
        ];
        for a in &samples {
            for b in &samples {
                let forward = compare_datasets(a, b);
                let backward = compare_datasets(b, a);
                assert_eq!(
                    forward.a_is_better(),
                    backward.b_is_better(),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn state_decision_for_an_ordinary_clock() {
        let me = port(5, 1);
        let local = ComparisonDataset::local(128, 248, 0xFE, 0xFFFF, 128, me);
        let better = via(1, 0, port(1, 1), me);
        let worse = via(9, 0, port(9, 1), me);
        use PortState::*;
        use Recommendation as R;
        assert_eq!(
            state_decision(&local, None, Listening, false, false),
            R::Listening
        );
        assert_eq!(state_decision(&local, None, Slave, false, false), R::Master);
        assert_eq!(
            state_decision(&local, None, Slave, true, false),
            R::Listening
        );
        assert_eq!(
            state_decision(&local, Some(&better), Listening, false, false),
            R::Slave
        );
        assert_eq!(
            state_decision(&local, Some(&worse), Listening, false, false),
            R::Master
        );
        assert_eq!(
            state_decision(&local, Some(&worse), Listening, true, false),
            R::Slave
        );
        assert_eq!(
            state_decision(&local, Some(&better), Master, false, true),
            R::Master
        );
        let class_6 = ComparisonDataset {
            grandmaster_clock_class: 6,
            ..local
        };
        let better_class = ComparisonDataset {
            grandmaster_clock_class: 6,
            ..via(1, 0, port(1, 1), me)
        };
        assert_eq!(
            state_decision(&class_6, Some(&better_class), Listening, false, false),
            R::Passive
        );
        assert_eq!(
            state_decision(&class_6, Some(&worse), Listening, false, false),
            R::Master
        );
    }
}
