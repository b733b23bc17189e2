//! Golden byte vectors for every typed TLV, written from IEEE 1588-2019 / 802.1AS layouts:
//! decode (every field asserted), encode back to the same bytes, impossible lengths.

use aptp_wire::airplay::{AppleClockIdentity, OUI_APPLE};
use aptp_wire::*;

/// Decodes the single TLV in `bytes`, checks it re-encodes to `bytes`, and returns it.
fn decode(bytes: &[u8]) -> TlvRepr<'_> {
    let mut tlvs = Tlvs::new(bytes);
    let tlv = tlvs.next().expect("one TLV").expect("well-formed");
    assert!(tlvs.next().is_none());
    let repr = tlv.decode().expect("decodes");
    assert_eq!(repr.buffer_len(), bytes.len());
    let mut out = vec![0u8; bytes.len()];
    assert_eq!(repr.emit(&mut out), Ok(bytes.len()));
    assert_eq!(out, bytes);
    assert!(repr.emit(&mut out[..bytes.len() - 1]).is_err());
    repr
}

/// The typed decode error of the single TLV in `bytes`.
fn decode_error(bytes: &[u8]) -> WireError {
    Tlvs::new(bytes)
        .next()
        .unwrap()
        .unwrap()
        .decode()
        .unwrap_err()
}

#[test]
fn management() {
    let bytes = [0x00, 0x01, 0x00, 0x04, 0x20, 0x05, 0x80, 0x00]; // PRIORITY1 = 128
    let TlvRepr::Management(m) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(m.management_id, ManagementId::PRIORITY1);
    assert_eq!(m.data, &[0x80, 0x00]);
    assert_eq!(
        decode_error(&[0x00, 0x01, 0x00, 0x00]).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 1,
            length: 0,
            expected: 2
        }
    );
}

#[test]
fn management_error_status() {
    let bytes = [
        0x00, 0x02, 0x00, 0x0c, // MANAGEMENT_ERROR_STATUS, 12
        0x00, 0x02, // NO_SUCH_ID
        0x20, 0x01, // CURRENT_DATA_SET
        0x00, 0x00, 0x00, 0x00, // reserved
        0x02, b'n', b'o', 0x00, // displayData: PTPText "no" + pad
    ];
    let TlvRepr::ManagementErrorStatus(e) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(e.management_error_id, ManagementErrorId::NO_SUCH_ID);
    assert_eq!(e.management_id, ManagementId::CURRENT_DATA_SET);
    assert_eq!(e.reserved, [0; 4]);
    assert_eq!(e.display_text(), Some(&b"no"[..]));
    assert_eq!(
        decode_error(&[0x00, 0x02, 0x00, 0x06, 0, 1, 0, 2, 0, 0]).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 2,
            length: 6,
            expected: 8
        }
    );
}

#[test]
fn follow_up_information_802_1as() {
    let bytes = [
        0x00, 0x03, 0x00, 0x1c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, //
        0xff, 0xff, 0xff, 0x00, // cumulativeScaledRateOffset -256
        0x00, 0x07, // gmTimeBaseIndicator 7
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, // lastGmPhaseChange -2
        0x00, 0x00, 0x00, 0x09, // scaledLastGmFreqChange 9
    ];
    let TlvRepr::FollowUpInformation(info) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(info.cumulative_scaled_rate_offset, -256);
    assert_eq!(info.gm_time_base_indicator, 7);
    assert_eq!(info.last_gm_phase_change_scaled(), -2);
    assert_eq!(info.scaled_last_gm_freq_change, 9);
    let mut rebuilt = FollowUpInformation::default();
    rebuilt.set_last_gm_phase_change_scaled(-2).unwrap();
    assert_eq!(rebuilt.last_gm_phase_change, info.last_gm_phase_change);
    assert!(rebuilt.set_last_gm_phase_change_scaled(1 << 95).is_err());
    // The same OUI and subtype with a short value is a typed error.
    let short = [
        0x00, 0x03, 0x00, 0x08, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, 0, 0,
    ];
    assert_eq!(
        decode_error(&short).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 3,
            length: 8,
            expected: 28
        }
    );
}

#[test]
fn message_interval_request_802_1as() {
    let bytes = [
        0x00, 0x03, 0x00, 0x0c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x02, //
        0x7f, 0xfd, 0x01, 0x03, 0x00, 0x00, // link 127, sync -3, announce 1, flags 3
    ];
    let TlvRepr::MessageIntervalRequest(r) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(
        r,
        MessageIntervalRequest {
            link_delay_interval: 127,
            time_sync_interval: -3,
            announce_interval: 1,
            flags: 3,
            reserved: [0, 0],
        }
    );
}

#[test]
fn apple_clock_identity_000004() {
    let bytes = [
        0x00, 0x03, 0x00, 0x10, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x04, //
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08, 0x00, 0x00,
    ];
    let TlvRepr::AppleClockIdentity(apple) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(
        apple,
        AppleClockIdentity {
            clock_identity: ClockIdentity([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08]),
            reserved: [0, 0],
        }
    );
}

#[test]
fn organization_extension_kept_raw() {
    // Apple's Signaling subtype 000001 (lengthField 22) and a DO_NOT_PROPAGATE extension.
    let mut bytes = vec![0x00, 0x03, 0x00, 0x16, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x01];
    bytes.extend(1..=16u8);
    let TlvRepr::OrganizationExtension(org) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(org.tlv_type, TlvType::ORGANIZATION_EXTENSION);
    assert_eq!(org.organization_id, OUI_APPLE);
    assert_eq!(org.sub_type(), 1);
    assert_eq!(org.data, &bytes[10..]);
    let bytes = [
        0x80, 0x00, 0x00, 0x08, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, 0xab, 0xcd,
    ];
    let TlvRepr::OrganizationExtension(org) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(
        org.tlv_type,
        TlvType::ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE
    );
    assert_eq!(org.data, &[0xab, 0xcd]);
    assert_eq!(
        decode_error(&[0x00, 0x03, 0x00, 0x04, 0x00, 0x0d, 0x93, 0x00]).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 3,
            length: 4,
            expected: 6
        }
    );
}

#[test]
fn unicast_negotiation() {
    let request = [0x00, 0x04, 0x00, 0x06, 0xb0, 0x01, 0x00, 0x00, 0x01, 0x2c];
    let TlvRepr::RequestUnicastTransmission(r) = decode(&request) else {
        panic!()
    };
    assert_eq!(r.message_type, MessageType::ANNOUNCE);
    assert_eq!(r.reserved_nibble, 0);
    assert_eq!(r.log_inter_message_period, 1);
    assert_eq!(r.duration_field, 300);

    let grant = [
        0x00, 0x05, 0x00, 0x08, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x01,
    ];
    let TlvRepr::GrantUnicastTransmission(g) = decode(&grant) else {
        panic!()
    };
    assert_eq!(g.message_type, MessageType::SYNC);
    assert_eq!(g.log_inter_message_period, -3);
    assert_eq!(g.duration_field, 60);
    assert!(g.renewal_invited());

    let cancel = [0x00, 0x06, 0x00, 0x02, 0x90, 0x00];
    let TlvRepr::CancelUnicastTransmission(c) = decode(&cancel) else {
        panic!()
    };
    assert_eq!(c.message_type, MessageType::DELAY_RESP);

    let ack = [0x00, 0x07, 0x00, 0x02, 0x9f, 0x00]; // reserved nibble kept
    let TlvRepr::AcknowledgeCancelUnicastTransmission(a) = decode(&ack) else {
        panic!()
    };
    assert_eq!(
        (a.message_type, a.reserved_nibble),
        (MessageType::DELAY_RESP, 0x0f)
    );

    assert_eq!(
        decode_error(&[0x00, 0x04, 0x00, 0x04, 0xb0, 0x01, 0x00, 0x00]).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 4,
            length: 4,
            expected: 6
        }
    );
}

#[test]
fn path_trace() {
    let bytes = [
        0x00, 0x08, 0x00, 0x10, //
        0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, //
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x00, 0x08,
    ];
    let TlvRepr::PathTrace(path) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(path.len(), 2);
    assert_eq!(
        path.iter().collect::<Vec<_>>(),
        [
            "001122.fffe.334455".parse::<ClockIdentity>().unwrap(),
            ClockIdentity([1, 2, 3, 4, 5, 6, 0, 8])
        ]
    );
    // Not a multiple of 8.
    assert_eq!(
        decode_error(&[0x00, 0x08, 0x00, 0x02, 0, 0]).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 8,
            length: 2,
            expected: 8
        }
    );
}

#[test]
fn alternate_time_offset_indicator() {
    let bytes = [
        0x00, 0x09, 0x00, 0x14, // ALTERNATE_TIME_OFFSET_INDICATOR, 20
        0x01, // keyField
        0x00, 0x00, 0x0e, 0x10, // currentOffset 3600
        0xff, 0xff, 0xf1, 0xf0, // jumpSeconds -3600
        0x00, 0x00, 0x00, 0x01, 0xe2, 0x40, // timeOfNextJump 123456
        0x03, b'C', b'E', b'T', 0x00, // displayName "CET", pad
    ];
    let TlvRepr::AlternateTimeOffsetIndicator(a) = decode(&bytes) else {
        panic!()
    };
    assert_eq!(a.key_field, 1);
    assert_eq!(a.current_offset, 3600);
    assert_eq!(a.jump_seconds, -3600);
    assert_eq!(a.time_of_next_jump, 123_456);
    assert_eq!(a.display_name, b"CET");
    assert_eq!(a.padding, &[0]);
    // displayName longer than the value.
    let mut bad = bytes;
    bad[19] = 9;
    assert_eq!(
        decode_error(&bad).kind,
        ErrorKind::BadTlvLength {
            tlv_type: 9,
            length: 20,
            expected: 25
        }
    );
    // An odd value cannot be encoded.
    let odd =
        TlvRepr::AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicator { padding: &[], ..a });
    assert_eq!(
        odd.emit(&mut [0; 64]).unwrap_err().kind,
        ErrorKind::OddTlvLength { length_field: 19 }
    );
}

#[test]
fn pad_and_unknown_types_kept() {
    let pad = [0x80, 0x08, 0x00, 0x04, 0, 0, 0, 0];
    assert_eq!(decode(&pad), TlvRepr::Pad(&[0, 0, 0, 0]));
    let unknown = [0x12, 0x34, 0x00, 0x02, 0xbe, 0xef];
    assert_eq!(
        decode(&unknown),
        TlvRepr::Other(Tlv {
            tlv_type: TlvType(0x1234),
            value: &[0xbe, 0xef]
        })
    );
    assert_eq!(TlvType(0x1234).to_string(), "0x1234");
}

/// The first TLV in `bytes`.
fn tlv(bytes: &[u8]) -> Tlv<'_> {
    Tlvs::new(bytes).next().unwrap().unwrap()
}

#[test]
fn quick_decoders_name_the_wrong_tlv() {
    let follow_up_info = [
        0x00, 0x03, 0x00, 0x1c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01, //
        0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4,
    ];
    let apple = [
        0x00, 0x03, 0x00, 0x10, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x04, //
        1, 2, 3, 4, 5, 6, 7, 8, 0, 0,
    ];
    let info = FollowUpInformation::decode(tlv(&follow_up_info)).unwrap();
    assert_eq!(info.cumulative_scaled_rate_offset, 1);
    assert_eq!(info.gm_time_base_indicator, 2);
    assert_eq!(info.last_gm_phase_change_scaled(), 3);
    assert_eq!(info.scaled_last_gm_freq_change, 4);
    assert_eq!(
        AppleClockIdentity::decode(tlv(&apple))
            .unwrap()
            .clock_identity,
        ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8])
    );
    // Another organization: the organizationId is named.
    let e = FollowUpInformation::decode(tlv(&apple)).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::WrongTlvType {
                expected: 0x0080c2,
                found: 0x000d93
            },
            4
        )
    );
    // Same organization, other subtype: the subtype is named.
    assert_eq!(
        MessageIntervalRequest::decode(tlv(&follow_up_info))
            .unwrap_err()
            .kind,
        ErrorKind::WrongTlvType {
            expected: 2,
            found: 1
        }
    );
    // Another tlvType.
    let e = AppleClockIdentity::decode(tlv(&[0x80, 0x08, 0x00, 0x00])).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::WrongTlvType {
                expected: 3,
                found: 0x8008
            },
            0
        )
    );
    // Right TLV, wrong size.
    let short = [
        0x00, 0x03, 0x00, 0x08, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x04, 1, 2,
    ];
    assert_eq!(
        AppleClockIdentity::decode(tlv(&short)).unwrap_err().kind,
        ErrorKind::BadTlvLength {
            tlv_type: 3,
            length: 8,
            expected: 16
        }
    );
}
