//! The view against the reference parser: for any bytes, [`MessageView::new_checked`]
//! succeeds exactly when [`Message::parse`] does and versionPTP is 2, fails with parse's own
//! error otherwise (or [`ErrorKind::BadVersion`]), and every getter equals the parsed field.

use proptest::prelude::*;

use super::*;
use crate::{FollowUpInformation, Timestamp, TlvType};

/// Checks the view of `bytes` against `Message::parse(bytes)`; returns the view if any.
fn agrees(bytes: &[u8]) -> Option<MessageView<'_>> {
    let view = MessageView::new_checked(bytes);
    let message = match Message::parse(bytes) {
        Ok(message) => message,
        Err(error) => {
            assert_eq!(view, Err(error), "the view must fail as parse does");
            return None;
        }
    };
    if message.header.version_ptp != 2 {
        assert_eq!(
            view,
            Err(ErrorKind::BadVersion {
                version: message.header.version_ptp
            }
            .at(field::VERSION))
        );
        return None;
    }
    let Ok(view) = view else {
        panic!("the view refused what parse accepts: {view:?}");
    };
    getters_match(&view, &message);
    Some(view)
}

/// Every getter of `view` equals the field `message` holds.
fn getters_match(view: &MessageView<'_>, message: &Message<'_>) {
    let h = &message.header;
    assert_eq!(view.major_sdo_id(), h.major_sdo_id);
    assert_eq!(view.message_type(), h.message_type);
    assert_eq!(view.minor_version_ptp(), h.minor_version_ptp);
    assert_eq!(view.version_ptp(), h.version_ptp);
    assert_eq!(view.message_length(), h.message_length);
    assert_eq!(view.domain_number(), h.domain_number);
    assert_eq!(view.minor_sdo_id(), h.minor_sdo_id);
    assert_eq!(view.flags(), h.flags);
    assert_eq!(view.correction_field(), h.correction_field);
    assert_eq!(view.message_type_specific(), h.message_type_specific);
    assert_eq!(view.source_port_identity(), h.source_port_identity);
    assert_eq!(view.sequence_id(), h.sequence_id);
    assert_eq!(view.control_field(), h.control_field);
    assert_eq!(view.log_message_interval(), h.log_message_interval);
    assert_eq!(view.header(), *h);
    assert_eq!(view.tlvs(), message.tlvs);
    assert_eq!(view.tlvs().offset(), message.tlvs.offset());
    assert_eq!(view.suffix(), message.suffix);
    assert_eq!(view.body_bytes().len(), message.body.len());
    assert_eq!(view.to_message(), *message);
    assert_eq!(Message::from(*view), *message);
    let body = view.body();
    assert_eq!(body.message(), *view);
    match (body, message.body) {
        (BodyView::Sync(v), Body::Sync { origin_timestamp }) => {
            assert_eq!(v.origin_timestamp(), origin_timestamp);
        }
        (BodyView::DelayReq(v), Body::DelayReq { origin_timestamp }) => {
            assert_eq!(v.origin_timestamp(), origin_timestamp);
        }
        (
            BodyView::FollowUp(v),
            Body::FollowUp {
                precise_origin_timestamp,
            },
        ) => {
            assert_eq!(v.precise_origin_timestamp(), precise_origin_timestamp);
            let decoded = match { message.tlvs }.next() {
                Some(Ok(tlv)) => FollowUpInformation::decode(tlv).ok(),
                _ => None,
            };
            let info = v.follow_up_information();
            assert_eq!(info.map(|i| i.to_follow_up_information()), decoded);
            if let Some(info) = info {
                let owned = info.to_follow_up_information();
                assert_eq!(
                    info.last_gm_phase_change_scaled(),
                    owned.last_gm_phase_change_scaled()
                );
                assert_eq!(info.rate_ratio(), owned.rate_ratio());
                assert_eq!(&info.as_bytes()[..], &message.tlvs.as_bytes()[..32]);
            }
        }
        (
            BodyView::DelayResp(v),
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            },
        ) => {
            assert_eq!(v.receive_timestamp(), receive_timestamp);
            assert_eq!(v.requesting_port_identity(), requesting_port_identity);
        }
        (BodyView::Other(v), body) => {
            assert_eq!(v, *view);
            assert!(!matches!(
                body,
                Body::Sync { .. }
                    | Body::DelayReq { .. }
                    | Body::FollowUp { .. }
                    | Body::DelayResp { .. }
            ));
        }
        (body, expected) => panic!("{body:?} for {expected:?}"),
    }
}

/// The first bytes of an 802.1AS Follow_Up information TLV.
const INFO_HEAD: [u8; 10] = [0x00, 0x03, 0x00, 0x1c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Random bytes, with the type, version and messageLength steered so that every branch
    /// of the check is reached, and Follow_Ups often carry (possibly spoiled) 802.1AS TLVs.
    #[test]
    fn view_agrees_with_parse(
        message_type in prop_oneof![Just(0u8), Just(1), Just(8), Just(9), 0u8..16],
        version in prop_oneof![4 => Just(0x12u8), 1 => any::<u8>()],
        message_length in prop_oneof![Just(44u16), Just(54), Just(76), 0u16..120],
        info_tlv in any::<bool>(),
        spoil in proptest::option::of(0usize..10),
        mut bytes in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        if let Some(first) = bytes.get_mut(0) {
            *first = (*first & 0xf0) | message_type;
        }
        if let Some(byte) = bytes.get_mut(1) {
            *byte = version;
        }
        if let Some(length) = bytes.get_mut(2..4) {
            length.copy_from_slice(&message_length.to_be_bytes());
        }
        if info_tlv {
            if let Some(head) = bytes.get_mut(44..54) {
                head.copy_from_slice(&INFO_HEAD);
                if let Some(at) = spoil {
                    head[at] ^= 0x01;
                }
            }
        }
        agrees(&bytes);
    }
}

#[test]
fn every_prefix_of_every_constructed_message() {
    use crate::{ClockIdentity, PortIdentity, TlvBuf, TlvRepr};
    let port = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 1);
    let t = Timestamp::new(0x1234_5678_9abc, 999_999_999).unwrap();
    let mut area = TlvBuf::<32>::new();
    let info = FollowUpInformation {
        cumulative_scaled_rate_offset: -5,
        gm_time_base_indicator: 2,
        last_gm_phase_change: [0xff; 12],
        scaled_last_gm_freq_change: 77,
    };
    area.push(&TlvRepr::FollowUpInformation(info)).unwrap();
    let messages = [
        Message::sync(port, 1, t),
        Message::delay_req(port, 2, t),
        Message::follow_up(port, 3, t),
        Message::follow_up(port, 3, t)
            .with_tlvs(area.tlvs())
            .unwrap(),
        Message::delay_resp(port, 4, t, PortIdentity::ALL),
        Message::pdelay_req(port, 5, t),
        Message::announce(port, 6, Default::default()),
        Message::signaling(port, 7, PortIdentity::ALL),
    ];
    for message in messages {
        let mut bytes = [0u8; 96];
        let len = message.emit(&mut bytes).unwrap();
        // Whole, with padding, and every prefix.
        for end in 0..=bytes.len() {
            let view = agrees(&bytes[..end]);
            assert_eq!(view.is_some(), end >= len, "{message:?} at {end}");
        }
    }
    // The 802.1AS TLV is found right after the Follow_Up body.
    let mut bytes = [0u8; 76];
    let follow_up = Message::follow_up(port, 3, t)
        .with_tlvs(area.tlvs())
        .unwrap();
    follow_up.emit(&mut bytes).unwrap();
    let Some(BodyView::FollowUp(view)) = agrees(&bytes).map(|v| v.body()) else {
        panic!("not a Follow_Up view");
    };
    assert_eq!(
        view.follow_up_information()
            .map(|i| i.to_follow_up_information()),
        Some(info)
    );
    // Not when another TLV type, length, OUI or subtype is there.
    for at in 0..10 {
        let mut spoiled = bytes;
        spoiled[44 + at] ^= 0x40;
        let Some(BodyView::FollowUp(view)) = agrees(&spoiled).map(|v| v.body()) else {
            panic!("not a Follow_Up view");
        };
        assert!(view.follow_up_information().is_none(), "byte {at} spoiled");
    }
    assert_eq!(
        TlvType::ORGANIZATION_EXTENSION.0.to_be_bytes(),
        INFO_HEAD[..2]
    );
}

#[test]
fn impossible_lengths() {
    let mut bytes = [0u8; 60];
    Message::sync(crate::PortIdentity::ZERO, 1, Timestamp::ZERO)
        .emit(&mut bytes)
        .unwrap();
    for length in [0u16, 33, 34, 43, 61, u16::MAX] {
        bytes[2..4].copy_from_slice(&length.to_be_bytes());
        let error = MessageView::new_checked(&bytes).unwrap_err();
        assert_eq!(Err(error), Message::parse(&bytes).map(|_| ()));
        agrees(&bytes);
    }
    // A reserved type: its body is every byte after the header, and there are no TLVs.
    bytes[0] = 0x05;
    bytes[2..4].copy_from_slice(&40u16.to_be_bytes());
    let view = agrees(&bytes).unwrap();
    assert_eq!(view.body_bytes().len(), 6);
    assert!(view.tlvs().is_empty());
    assert_eq!(view.tlvs().offset(), 40);
    assert!(matches!(view.body(), BodyView::Other(_)));
}
