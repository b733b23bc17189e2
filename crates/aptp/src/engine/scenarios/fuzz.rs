//! Property tests: whatever junk arrives and whenever, the engine does not panic, keeps its
//! tables within their capacities, and neither the master nor the slave changes state.

use super::config;
use crate::engine::codec::encode;
use crate::engine::sim::{LinkModel, Sim, SimClock};
use crate::engine::{PortKind, PortState};
use aptp_clock::TimeDelta;
use aptp_wire::{AnnounceBody, ClockIdentity, Message, PortIdentity, Timestamp};
use proptest::prelude::*;

/// A datagram an attacker might send: random bytes, or a valid message of any type from a
/// stranger with random fields, possibly truncated or with a flipped byte.
fn datagram() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let random = prop::collection::vec(any::<u8>(), 0..120).prop_map(|bytes| (bytes, false));
    let crafted = (
        0u8..8,
        any::<u16>(),
        any::<u64>(),
        any::<u8>(),
        0usize..80,
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(kind, sequence_id, seconds, id, cut, flip, event)| {
            let stranger = PortIdentity::new(ClockIdentity([id; 8]), 1);
            let timestamp = Timestamp {
                seconds: seconds & 0xFFFF_FFFF_FFFF,
                nanoseconds: 0,
            };
            let message = match kind {
                0 => Message::sync(stranger, sequence_id, timestamp),
                1 => Message::follow_up(stranger, sequence_id, timestamp),
                2 => Message::delay_req(stranger, sequence_id, timestamp),
                3 => Message::delay_resp(stranger, sequence_id, timestamp, stranger),
                4 => Message::pdelay_req(stranger, sequence_id, timestamp),
                5 => Message::pdelay_resp(stranger, sequence_id, timestamp, stranger),
                6 => Message::pdelay_resp_follow_up(stranger, sequence_id, timestamp, stranger),
                _ => Message::announce(
                    stranger,
                    sequence_id,
                    AnnounceBody {
                        grandmaster_identity: ClockIdentity([id; 8]),
                        grandmaster_priority1: 200,
                        ..AnnounceBody::default()
                    },
                ),
            };
            let mut bytes = encode(&message).unwrap_or_default();
            if cut < bytes.len() && cut % 3 == 0 {
                bytes.truncate(cut);
            } else if !bytes.is_empty() && kind != 7 {
                // (Announces are not flipped: a flip could make a legitimately better
                // master, which the BMCA would rightly follow.)
                let at = cut % bytes.len();
                bytes[at] ^= flip;
            }
            (bytes, event)
        });
    prop_oneof![random, crafted]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn junk_never_panics_nor_unlocks_a_slave(datagrams in prop::collection::vec((datagram(), 0u64..50_000_000), 1..200)) {
        let mut sim = Sim::new(30, LinkModel::default());
        let master = sim.add_node(config(1), SimClock::default());
        let slave = sim.add_node(config(128), SimClock { offset_ns: 500_000, rate_ppb: 10_000 });
        sim.run_for_secs(25);
        prop_assert_eq!(sim.engine(slave).state(), PortState::Slave);
        let capacity = sim.engine(slave).config().capacities.foreign_masters;
        for ((bytes, event), gap_ns) in datagrams {
            let port = if event { PortKind::Event } else { PortKind::General };
            let now = sim.local_now(slave);
            sim.engine_mut(slave).handle_datagram(now, &bytes, 77, port, now + TimeDelta::from_nanos(1));
            let now = sim.local_now(master);
            sim.engine_mut(master).handle_datagram(now, &bytes, 77, port, now);
            sim.run_for_ns(i128::from(gap_ns));
            prop_assert!(sim.engine(slave).foreign_master_count() <= capacity);
            prop_assert_eq!(sim.engine(master).state(), PortState::Master);
            prop_assert_eq!(sim.engine(slave).state(), PortState::Slave);
        }
        let error = sim.time_error_ns(slave, master).unwrap_or(i64::MAX).abs();
        prop_assert!(error <= 1_000, "{} ns", error);
    }
}
