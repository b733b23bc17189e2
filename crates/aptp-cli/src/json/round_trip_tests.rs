//! decode --json then encode is the identity on every message aptp-wire parses.

use aptp_wire::{
    airplay, ClockIdentity, FollowUpInformation, ManagementAction, ManagementBody, ManagementId,
    ManagementTlv, Message, PortIdentity, Timestamp, TlvBuf, TlvRepr,
};
use proptest::prelude::*;

use super::from_json::encode_value;
use super::message::message_json;

fn emit(message: &Message<'_>) -> Vec<u8> {
    let mut bytes = vec![0; message.buffer_len()];
    let written = message.emit(&mut bytes).unwrap();
    bytes.truncate(written);
    bytes
}

/// One message of every type, some with TLVs.
fn seeds() -> Vec<Vec<u8>> {
    let me = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 9);
    let t = Timestamp::new(1_700_000_000, 123).unwrap();
    let mut management_tlv = TlvBuf::<8>::new();
    management_tlv
        .push(&TlvRepr::Management(ManagementTlv {
            management_id: ManagementId::DEFAULT_DATA_SET,
            data: &[],
        }))
        .unwrap();
    let management = Message::management(
        me,
        1,
        ManagementBody {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 2,
            boundary_hops: 2,
            action_field: ManagementAction::GET,
            action_reserved: 0,
            reserved: 0,
        },
    )
    .with_tlvs(management_tlv.tlvs())
    .unwrap();
    vec![
        emit(&Message::sync(me, 1, t)),
        emit(&Message::delay_req(me, 2, t)),
        emit(&Message::pdelay_req(me, 3, t)),
        emit(&Message::pdelay_resp(me, 4, t, me)),
        emit(&Message::delay_resp(me, 5, t, me)),
        emit(&Message::pdelay_resp_follow_up(me, 6, t, me)),
        emit(&Message::signaling(me, 7, PortIdentity::ZERO)),
        emit(&management),
        emit(
            &airplay::follow_up(me, 8, t, FollowUpInformation::default())
                .unwrap()
                .message(),
        ),
        emit(&airplay::announce(me, 9, 248).unwrap().message()),
    ]
}

fn round_trip(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(message) = Message::parse(bytes) {
        let json = message_json(&message).to_value();
        let encoded =
            encode_value(&json).map_err(|error| TestCaseError::fail(format!("{error}: {json}")))?;
        prop_assert_eq!(encoded, bytes.to_vec(), "{}", json);
    }
    Ok(())
}

#[test]
fn test_every_seed_round_trips() {
    for seed in seeds() {
        assert!(Message::parse(&seed).is_ok());
        round_trip(&seed).unwrap();
    }
}

proptest! {
    #[test]
    fn prop_mutated_messages_round_trip(
        seed in 0usize..10,
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        extra in prop::collection::vec(any::<u8>(), 0..12),
        cut in 0usize..4,
    ) {
        let mut bytes = seeds()[seed].clone();
        for (index, value) in changes {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        bytes.extend_from_slice(&extra);
        round_trip(&bytes)?;
    }

    #[test]
    fn prop_any_bytes_after_a_header_round_trip(
        first in any::<u8>(),
        length in 34u16..120,
        rest in prop::collection::vec(any::<u8>(), 32..120),
    ) {
        let mut bytes = vec![first, 0x12];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(&rest);
        round_trip(&bytes)?;
    }
}
