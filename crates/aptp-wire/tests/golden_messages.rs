//! Golden byte vectors for the event-side messages (Sync, Delay_Req, Pdelay_Req, Pdelay_Resp)
//! and their answers (Follow_Up, Delay_Resp, Pdelay_Resp_Follow_Up), written by hand from the
//! IEEE 1588-2019 layout (ptp-brief §1), smoltcp style: parse with every field asserted, emit
//! by the constructors to the same bytes.

mod common;

use aptp_wire::*;
use common::*;

#[test]
fn sync() {
    let wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x06, 0x08], 0, 0xfd),
        &TEN_TWENTY,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::SYNC, 44, 0x0608, 0, -3);
    assert_eq!(
        m.body,
        Body::Sync {
            origin_timestamp: ten_twenty()
        }
    );
    assert!(m.tlvs.is_empty() && m.suffix.is_empty());
    assert!(m.validate().unwrap().is_clean());
    let built = like_vectors(Message::sync(source(), 0x1234, ten_twenty()), 0x0608, -3);
    assert_eq!(built, m);
    assert_emits(&built, &wire);
}

#[test]
fn delay_req() {
    let wire = bytes(&[
        &[0x11, 0x12, 0x00, 0x2c],
        &header_tail([0x04, 0x00], 1, 0x7f),
        &TEN_TWENTY,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::DELAY_REQ, 44, 0x0400, 1, 0x7f);
    assert_eq!(
        m.body,
        Body::DelayReq {
            origin_timestamp: ten_twenty()
        }
    );
    let built = like_vectors(
        Message::delay_req(source(), 0x1234, ten_twenty()),
        0x0400,
        0x7f,
    );
    assert_emits(&built, &wire);
}

#[test]
fn pdelay_req_keeps_reserved_bytes() {
    let reserved = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    let wire = bytes(&[
        &[0x12, 0x12, 0x00, 0x36],
        &header_tail([0, 0], 5, 0x7f),
        &TEN_TWENTY,
        &reserved,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::PDELAY_REQ, 54, 0, 5, 0x7f);
    assert_eq!(
        m.body,
        Body::PdelayReq {
            origin_timestamp: ten_twenty(),
            reserved
        }
    );
    let mut built = like_vectors(Message::pdelay_req(source(), 0x1234, ten_twenty()), 0, 0x7f);
    built.body = Body::PdelayReq {
        origin_timestamp: ten_twenty(),
        reserved,
    };
    assert_emits(&built, &wire);
}

#[test]
fn pdelay_resp() {
    let wire = bytes(&[
        &[0x13, 0x12, 0x00, 0x36],
        &header_tail([0x02, 0x00], 5, 0x7f),
        &TEN_TWENTY,
        &REQUESTER,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::PDELAY_RESP, 54, 0x0200, 5, 0x7f);
    assert_eq!(
        m.body,
        Body::PdelayResp {
            request_receipt_timestamp: ten_twenty(),
            requesting_port_identity: requester()
        }
    );
    let built = like_vectors(
        Message::pdelay_resp(source(), 0x1234, ten_twenty(), requester()),
        0x0200,
        0x7f,
    );
    assert!(Message::pdelay_resp(source(), 1, ten_twenty(), requester())
        .header
        .flags
        .two_step());
    assert_emits(&built, &wire);
}

#[test]
fn follow_up_with_802_1as_tlv() {
    let tlv: [u8; 32] = [
        0x00, 0x03, 0x00, 0x1c, // ORGANIZATION_EXTENSION, lengthField 28
        0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, // 802.1 OUI, subtype 1
        0x00, 0x00, 0x01, 0x00, // cumulativeScaledRateOffset 256
        0x00, 0x02, // gmTimeBaseIndicator 2
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // lastGmPhaseChange 256 (2^-16 ns)
        0xff, 0xff, 0xff, 0xfe, // scaledLastGmFreqChange -2
    ];
    let wire = bytes(&[
        &[0x18, 0x12, 0x00, 0x4c],
        &header_tail([0x04, 0x08], 2, 0xfd),
        &TEN_TWENTY,
        &tlv,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::FOLLOW_UP, 76, 0x0408, 2, -3);
    assert_eq!(
        m.body,
        Body::FollowUp {
            precise_origin_timestamp: ten_twenty()
        }
    );
    assert_eq!(m.tlvs.offset(), 44);
    let tlvs: Vec<_> = m.tlvs.collect::<Result<_, _>>().unwrap();
    assert_eq!(tlvs.len(), 1);
    let TlvRepr::FollowUpInformation(info) = tlvs[0].decode().unwrap() else {
        panic!("not 802.1AS")
    };
    assert_eq!(info.cumulative_scaled_rate_offset, 256);
    assert_eq!(info.gm_time_base_indicator, 2);
    assert_eq!(info.last_gm_phase_change_scaled(), 256);
    assert_eq!(info.scaled_last_gm_freq_change, -2);
    assert_eq!(m.validate().unwrap().tlv_count, 1);

    let mut area = aptp_wire::TlvBuf::<32>::new();
    area.push(&TlvRepr::FollowUpInformation(info)).unwrap();
    let built = like_vectors(
        Message::follow_up(source(), 0x1234, ten_twenty()),
        0x0408,
        -3,
    )
    .with_tlvs(area.tlvs())
    .unwrap();
    assert_eq!(built, m);
    assert_emits(&built, &wire);
}

#[test]
fn delay_resp_with_control_field_zero_is_a_warning() {
    // A HomePod mini answers Delay_Req with controlField 0, not 3.
    let wire = bytes(&[
        &[0x19, 0x12, 0x00, 0x36],
        &header_tail([0x06, 0x08], 0, 0xfd),
        &TEN_TWENTY,
        &REQUESTER,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::DELAY_RESP, 54, 0x0608, 0, -3);
    assert_eq!(
        m.body,
        Body::DelayResp {
            receive_timestamp: ten_twenty(),
            requesting_port_identity: requester()
        }
    );
    let validation = m.validate().unwrap();
    assert_eq!(
        validation.warnings().collect::<Vec<_>>(),
        [Warning::ControlFieldMismatch {
            expected: 3,
            found: 0
        }]
    );
    let mut built = like_vectors(
        Message::delay_resp(source(), 0x1234, ten_twenty(), requester()),
        0x0608,
        -3,
    );
    assert_eq!(built.header.control_field, 3);
    built.header.control_field = 0;
    assert_emits(&built, &wire);
}

#[test]
fn pdelay_resp_follow_up() {
    let wire = bytes(&[
        &[0x1a, 0x12, 0x00, 0x36],
        &header_tail([0, 0], 5, 0x7f),
        &TEN_TWENTY,
        &REQUESTER,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(
        &m.header,
        MessageType::PDELAY_RESP_FOLLOW_UP,
        54,
        0,
        5,
        0x7f,
    );
    assert_eq!(
        m.body,
        Body::PdelayRespFollowUp {
            response_origin_timestamp: ten_twenty(),
            requesting_port_identity: requester()
        }
    );
    let built = like_vectors(
        Message::pdelay_resp_follow_up(source(), 0x1234, ten_twenty(), requester()),
        0,
        0x7f,
    );
    assert_emits(&built, &wire);
}
