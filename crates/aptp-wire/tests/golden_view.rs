//! The zero-copy views on the golden vectors of `golden_messages.rs` and `golden_airplay.rs`
//! (same hand-written bytes, same shared header): every getter against the value written in
//! the vector, then the owned message against `Message::parse`.

mod common;

use aptp_wire::*;
use common::*;

/// The Follow_Up information TLV of `golden_messages::follow_up_with_802_1as_tlv`.
const INFO_TLV: [u8; 32] = [
    0x00, 0x03, 0x00, 0x1c, // ORGANIZATION_EXTENSION, lengthField 28
    0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, // 802.1 OUI, subtype 1
    0x00, 0x00, 0x01, 0x00, // cumulativeScaledRateOffset 256
    0x00, 0x02, // gmTimeBaseIndicator 2
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // lastGmPhaseChange 256 (2^-16 ns)
    0xff, 0xff, 0xff, 0xfe, // scaledLastGmFreqChange -2
];

/// Every header getter against the shared vector header (see `common::assert_header`).
fn assert_view_header(
    v: &MessageView<'_>,
    message_type: MessageType,
    length: u16,
    flags: u16,
    control: u8,
    lmi: i8,
) {
    assert_eq!(v.major_sdo_id(), 1);
    assert_eq!(v.message_type(), message_type);
    assert_eq!(v.minor_version_ptp(), 1);
    assert_eq!(v.version_ptp(), 2);
    assert_eq!(v.message_length(), length);
    assert_eq!(v.domain_number(), 5);
    assert_eq!(v.minor_sdo_id(), 0);
    assert_eq!(v.flags(), Flags(flags));
    assert_eq!(v.correction_field(), TimeInterval(0x18000));
    assert_eq!(v.message_type_specific(), 0);
    assert_eq!(v.source_port_identity(), source());
    assert_eq!(v.sequence_id(), 0x1234);
    assert_eq!(v.control_field(), control);
    assert_eq!(v.log_message_interval(), lmi);
    assert_header(&v.header(), message_type, length, flags, control, lmi);
}

#[test]
fn sync() {
    let wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x06, 0x08], 0, 0xfd),
        &TEN_TWENTY,
    ]);
    let view = MessageView::new_checked(&wire).unwrap();
    assert_view_header(&view, MessageType::SYNC, 44, 0x0608, 0, -3);
    let BodyView::Sync(sync) = view.body() else {
        panic!("not a Sync: {view:?}")
    };
    assert_eq!(sync.origin_timestamp(), ten_twenty());
    assert_eq!(sync.sequence_id(), 0x1234);
    assert!(view.tlvs().is_empty() && view.suffix().is_empty());
    assert_eq!(view.header_bytes()[..], wire[..34]);
    assert_eq!(view.body_bytes(), &TEN_TWENTY);
    assert_eq!(view.to_message(), Message::parse(&wire).unwrap());
}

#[test]
fn delay_req() {
    let wire = bytes(&[
        &[0x11, 0x12, 0x00, 0x2c],
        &header_tail([0x04, 0x00], 1, 0x7f),
        &TEN_TWENTY,
    ]);
    let view = MessageView::new_checked(&wire).unwrap();
    assert_view_header(&view, MessageType::DELAY_REQ, 44, 0x0400, 1, 0x7f);
    let BodyView::DelayReq(delay_req) = view.body() else {
        panic!("not a Delay_Req: {view:?}")
    };
    assert_eq!(delay_req.origin_timestamp(), ten_twenty());
    assert_eq!(view.to_message(), Message::parse(&wire).unwrap());
}

#[test]
fn follow_up_with_802_1as_tlv() {
    let wire = bytes(&[
        &[0x18, 0x12, 0x00, 0x4c],
        &header_tail([0x04, 0x08], 2, 0xfd),
        &TEN_TWENTY,
        &INFO_TLV,
    ]);
    let view = MessageView::new_checked(&wire).unwrap();
    assert_view_header(&view, MessageType::FOLLOW_UP, 76, 0x0408, 2, -3);
    let BodyView::FollowUp(follow_up) = view.body() else {
        panic!("not a Follow_Up: {view:?}")
    };
    assert_eq!(follow_up.precise_origin_timestamp(), ten_twenty());
    assert_eq!(view.tlvs().offset(), 44);
    assert_eq!(view.tlvs().as_bytes(), &INFO_TLV);
    let info = follow_up.follow_up_information().unwrap();
    assert_eq!(info.cumulative_scaled_rate_offset(), 256);
    assert_eq!(info.gm_time_base_indicator(), 2);
    assert_eq!(info.last_gm_phase_change_scaled(), 256);
    assert_eq!(
        info.last_gm_phase_change(),
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    );
    assert_eq!(info.scaled_last_gm_freq_change(), -2);
    assert_eq!(info.rate_ratio(), 1.0 + 256.0 / (1u64 << 41) as f64);
    assert_eq!(info.as_bytes(), &INFO_TLV);
    let tlv = view.tlvs().next().unwrap().unwrap();
    assert_eq!(
        Ok(info.to_follow_up_information()),
        FollowUpInformation::decode(tlv)
    );
    assert_eq!(view.to_message(), Message::parse(&wire).unwrap());

    // A Follow_Up without the TLV, and one whose messageLength stops inside it.
    let bare = MessageView::new_checked(&wire[..44]);
    assert!(bare.is_err(), "messageLength 76 beyond a 44-byte input");
    let mut short = wire.clone();
    short[3] = 72; // messageLength 72: the TLV's last 4 bytes become the suffix
    let view = MessageView::new_checked(&short).unwrap();
    let BodyView::FollowUp(follow_up) = view.body() else {
        panic!("not a Follow_Up")
    };
    assert!(follow_up.follow_up_information().is_none());
    assert_eq!(view.suffix().len(), 4);
}

#[test]
fn delay_resp_with_control_field_zero() {
    let wire = bytes(&[
        &[0x19, 0x12, 0x00, 0x36],
        &header_tail([0x06, 0x08], 0, 0xfd),
        &TEN_TWENTY,
        &REQUESTER,
    ]);
    let view = MessageView::new_checked(&wire).unwrap();
    assert_view_header(&view, MessageType::DELAY_RESP, 54, 0x0608, 0, -3);
    let BodyView::DelayResp(delay_resp) = view.body() else {
        panic!("not a Delay_Resp: {view:?}")
    };
    assert_eq!(delay_resp.receive_timestamp(), ten_twenty());
    assert_eq!(delay_resp.requesting_port_identity(), requester());
    assert_eq!(view.to_message(), Message::parse(&wire).unwrap());
}

#[test]
fn pdelay_resp_follow_up_is_other() {
    let wire = bytes(&[
        &[0x1a, 0x12, 0x00, 0x36],
        &header_tail([0, 0], 5, 0x7f),
        &TEN_TWENTY,
        &REQUESTER,
    ]);
    let view = MessageView::new_checked(&wire).unwrap();
    assert_view_header(&view, MessageType::PDELAY_RESP_FOLLOW_UP, 54, 0, 5, 0x7f);
    assert_eq!(view.body(), BodyView::Other(view));
    assert_eq!(
        view.to_message().body,
        Body::PdelayRespFollowUp {
            response_origin_timestamp: ten_twenty(),
            requesting_port_identity: requester()
        }
    );
}

#[test]
fn apple_follow_up_as_captured() {
    let expected: [u8; 96] = [
        0x18, 0x12, 0x00, 0x60, 0x00, 0x00, 0x04,
        0x08, // Follow_Up, sdo 1, v2.1, 96, flags 0x0408
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // correction, messageTypeSpecific
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08, 0x80, 0x05, // source port 0x8005
        0x00, 0x2a, 0x02, 0xfd, // sequenceId 42, controlField 2, logMessageInterval -3
        0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x05, // preciseOriginTimestamp
        0x00, 0x03, 0x00, 0x1c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, // 802.1AS TLV (all zero)
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        0x00, 0x03, 0x00, 0x10, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x04, // Apple 000004
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08, 0x00, 0x00,
    ];
    let view = MessageView::new_checked(&expected).unwrap();
    let BodyView::FollowUp(follow_up) = view.body() else {
        panic!("not a Follow_Up")
    };
    assert_eq!(follow_up.sequence_id(), 42);
    assert_eq!(
        follow_up.source_port_identity(),
        PortIdentity::new(
            ClockIdentity([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08]),
            0x8005
        )
    );
    assert_eq!(
        follow_up.precise_origin_timestamp(),
        Timestamp::new(1000, 5).unwrap()
    );
    let info = follow_up.follow_up_information().unwrap();
    assert_eq!(
        info.to_follow_up_information(),
        FollowUpInformation::default()
    );
    assert_eq!(view.tlvs().validate(), Ok(2));
    assert_eq!(view.to_message(), Message::parse(&expected).unwrap());
}

#[test]
fn errors_are_the_parsers() {
    let wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x06, 0x08], 0, 0xfd),
        &TEN_TWENTY,
    ]);
    let short = MessageView::new_checked(&wire[..33]).unwrap_err();
    assert_eq!(
        short,
        ErrorKind::Truncated {
            needed: 34,
            available: 33
        }
        .at(0)
    );
    assert_eq!(Err(short), Message::parse(&wire[..33]).map(|_| ()));
    let mut bad = wire.clone();
    bad[3] = 40; // shorter than a Sync's header and body
    assert_eq!(
        MessageView::new_checked(&bad).unwrap_err(),
        ErrorKind::BadMessageLength {
            message_length: 40,
            minimum: 44
        }
        .at(2)
    );
    let mut v1 = wire.clone();
    v1[1] = 0x01;
    assert!(Message::parse(&v1).is_ok(), "parse is permissive");
    assert_eq!(
        MessageView::new_checked(&v1).unwrap_err(),
        Message::parse(&v1).unwrap().validate().unwrap_err(),
        "the view rejects versionPTP 1 as validate does"
    );
}
