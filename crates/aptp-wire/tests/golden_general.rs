//! Golden byte vectors for Announce, Signaling, Management and unknown message types, and the
//! impossible lengths and strict-validation errors, written by hand from the IEEE 1588-2019
//! layout (ptp-brief §1).

mod common;

use aptp_wire::*;
use common::*;

#[test]
fn announce_like_apple_with_path_trace() {
    let body: [u8; 30] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x14, // originTimestamp
        0x00, 0x25, // currentUtcOffset 37
        0x00, // reserved
        0xfa, // grandmasterPriority1 250
        0xf8, 0x21, 0x43, 0x6a, // clockClass 248, clockAccuracy 0x21, variance 0x436a
        0xef, // grandmasterPriority2 239
        0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, // grandmasterIdentity
        0x00, 0x00, // stepsRemoved
        0xa0, // timeSource INTERNAL_OSCILLATOR
    ];
    let path: [u8; 12] = [
        0x00, 0x08, 0x00, 0x08, 0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55,
    ];
    let wire = bytes(&[
        &[0x1b, 0x12, 0x00, 0x4c],
        &header_tail([0x04, 0x08], 5, 0xfe),
        &body,
        &path,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::ANNOUNCE, 76, 0x0408, 5, -2);
    let expected = AnnounceBody {
        origin_timestamp: ten_twenty(),
        current_utc_offset: 37,
        reserved: 0,
        grandmaster_priority1: 250,
        grandmaster_clock_quality: ClockQuality {
            clock_class: 248,
            clock_accuracy: ClockAccuracy::WITHIN_100_NS,
            offset_scaled_log_variance: 0x436a,
        },
        grandmaster_priority2: 239,
        grandmaster_identity: source().clock_identity,
        steps_removed: 0,
        time_source: TimeSource::INTERNAL_OSCILLATOR,
    };
    assert_eq!(m.body, Body::Announce(expected));
    let tlv = m.tlvs.find(TlvType::PATH_TRACE).unwrap();
    let TlvRepr::PathTrace(trace) = tlv.decode().unwrap() else {
        panic!("not a path trace")
    };
    assert_eq!(trace.iter().collect::<Vec<_>>(), [source().clock_identity]);
    let built = like_vectors(Message::announce(source(), 0x1234, expected), 0x0408, -2)
        .with_tlvs(aptp_wire::Tlvs::new(&path))
        .unwrap();
    assert_emits(&built, &wire);
}

#[test]
fn signaling_like_apple_keeps_unknown_tlvs() {
    let apple_1: Vec<u8> = bytes(&[
        &[0x00, 0x03, 0x00, 0x16, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x01],
        &[0x5a; 16],
    ]);
    let apple_5: Vec<u8> = bytes(&[
        &[0x00, 0x03, 0x00, 0x20, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x05],
        &[0xa5; 26],
    ]);
    let zero_target = [0u8; 10];
    let wire = bytes(&[
        &[0x1c, 0x12, 0x00, 0x6a],
        &header_tail([0x04, 0x08], 5, 0x80),
        &zero_target,
        &apple_1,
        &apple_5,
    ]);
    assert_eq!(wire.len(), 0x6a);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::SIGNALING, 106, 0x0408, 5, -128);
    assert_eq!(
        m.body,
        Body::Signaling {
            target_port_identity: PortIdentity::ZERO
        }
    );
    let tlvs: Vec<_> = m.tlvs.map(|t| t.unwrap().decode().unwrap()).collect();
    let subtypes: Vec<_> = tlvs
        .iter()
        .map(|t| match t {
            TlvRepr::OrganizationExtension(org) => {
                (org.organization_id, org.sub_type(), org.data.len())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        subtypes,
        [([0x00, 0x0d, 0x93], 1, 16), ([0x00, 0x0d, 0x93], 5, 26)]
    );
    assert_emits(&m, &wire);
}

#[test]
fn management_get_current_data_set_like_pmc() {
    let body: [u8; 14] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // targetPortIdentity: all
        0x01, 0x01, // startingBoundaryHops, boundaryHops
        0x00, 0x00, // actionField GET, reserved
    ];
    let tlv = [0x00, 0x01, 0x00, 0x02, 0x20, 0x01]; // MANAGEMENT, CURRENT_DATA_SET
    let wire = bytes(&[
        &[0x1d, 0x12, 0x00, 0x36],
        &header_tail([0, 0], 4, 0x7f),
        &body,
        &tlv,
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_header(&m.header, MessageType::MANAGEMENT, 54, 0, 4, 0x7f);
    let expected = ManagementBody {
        target_port_identity: PortIdentity::ALL,
        starting_boundary_hops: 1,
        boundary_hops: 1,
        action_field: ManagementAction::GET,
        action_reserved: 0,
        reserved: 0,
    };
    assert_eq!(m.body, Body::Management(expected));
    let TlvRepr::Management(management) = m.tlvs.clone().next().unwrap().unwrap().decode().unwrap()
    else {
        panic!("not a management TLV")
    };
    assert_eq!(management.management_id, ManagementId::CURRENT_DATA_SET);
    assert!(management.data.is_empty());
    assert!(m.validate().unwrap().is_clean());
    let built = like_vectors(Message::management(source(), 0x1234, expected), 0, 0x7f)
        .with_tlvs(aptp_wire::Tlvs::new(&tlv))
        .unwrap();
    assert_emits(&built, &wire);
    // Without its TLV a Management message parses but does not validate.
    let bare = like_vectors(Message::management(source(), 0x1234, expected), 0, 0x7f);
    assert_eq!(
        bare.validate().unwrap_err().kind,
        ErrorKind::MissingManagementTlv
    );
}

#[test]
fn unknown_message_type_round_trips_and_fails_validation() {
    let wire = bytes(&[
        &[0x15, 0x12, 0x00, 0x26],
        &header_tail([0, 0], 5, 0x7f),
        &[1, 2, 3, 4],
    ]);
    let m = Message::parse(&wire).unwrap();
    assert_eq!(m.header.message_type, MessageType(5));
    assert_eq!(
        m.body,
        Body::Unknown {
            bytes: &[1, 2, 3, 4]
        }
    );
    assert!(m.tlvs.is_empty());
    assert_emits(&m, &wire);
    let error = m.validate().unwrap_err();
    assert_eq!(
        (error.kind, error.offset),
        (ErrorKind::UnknownMessageType { message_type: 5 }, 0)
    );
}

#[test]
fn trailing_bytes_are_kept_and_reported() {
    let mut wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x02, 0x00], 0, 0),
        &TEN_TWENTY,
    ]);
    wire.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let m = Message::parse(&wire).unwrap();
    assert_eq!(m.suffix, &[0; 6]);
    assert_eq!(m.message_length(), 44);
    assert_eq!(m.validate().unwrap().trailing_bytes, 6);
    assert_emits(&m, &wire);
}

#[test]
fn impossible_lengths() {
    let wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x02, 0x00], 0, 0),
        &TEN_TWENTY,
    ]);
    // Shorter than a header.
    let e = Message::parse(&wire[..33]).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Truncated {
                needed: 34,
                available: 33
            },
            0
        )
    );
    // messageLength beyond the input.
    let e = Message::parse(&wire[..43]).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Truncated {
                needed: 44,
                available: 43
            },
            0
        )
    );
    // messageLength shorter than the body of a Sync.
    let mut short = wire.clone();
    short[3] = 40;
    let e = Message::parse(&short).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::BadMessageLength {
                message_length: 40,
                minimum: 44
            },
            2
        )
    );
    // messageLength shorter than a header.
    short[3] = 10;
    let e = Message::parse(&short).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::BadMessageLength {
            message_length: 10,
            minimum: 44
        }
    );
    // A messageLength that disagrees with the parts cannot be emitted.
    let mut built = Message::sync(source(), 1, ten_twenty());
    built.header.message_length = 50;
    assert_eq!(
        built.emit(&mut [0; 64]).unwrap_err().kind,
        ErrorKind::MessageLengthMismatch {
            message_length: 50,
            actual: 44
        }
    );
    // Nor a body of another type than the header's.
    let mut mixed = Message::sync(source(), 1, ten_twenty());
    mixed.header.message_type = MessageType::DELAY_REQ;
    assert_eq!(
        mixed.emit(&mut [0; 64]).unwrap_err().kind,
        ErrorKind::MessageTypeMismatch { header: 1, body: 0 }
    );
}

#[test]
fn strict_validation_errors_name_the_field() {
    let mut wire = bytes(&[
        &[0x10, 0x12, 0x00, 0x2c],
        &header_tail([0x02, 0x00], 0, 0),
        &TEN_TWENTY,
    ]);
    wire[1] = 0x01; // versionPTP 1
    let e = Message::parse(&wire).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::BadVersion { version: 1 }, 1)
    );
    wire[1] = 0x12;
    wire[40..44].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    let e = Message::parse(&wire).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::NanosecondsOutOfRange {
                nanoseconds: 1_000_000_000
            },
            40
        )
    );
    // Odd TLV length after the body.
    let mut odd = bytes(&[
        &[0x10, 0x12, 0x00, 0x31],
        &header_tail([0x02, 0x00], 0, 0),
        &TEN_TWENTY,
        &[0x80, 0x08, 0x00, 0x01, 0x00],
    ]);
    let e = Message::parse(&odd).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::OddTlvLength { length_field: 1 }, 46)
    );
    // Overrunning TLV.
    odd[47] = 0x04;
    let e = Message::parse(&odd).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::TlvOverrun {
                length_field: 4,
                available: 1
            },
            46
        )
    );
}

#[test]
fn constructors_are_consistent() {
    let port = source();
    let t = ten_twenty();
    let all = [
        Message::sync(port, 1, t),
        Message::sync_one_step(port, 1, t),
        Message::delay_req(port, 1, t),
        Message::pdelay_req(port, 1, t),
        Message::pdelay_resp(port, 1, t, requester()),
        Message::follow_up(port, 1, t),
        Message::delay_resp(port, 1, t, requester()),
        Message::pdelay_resp_follow_up(port, 1, t, requester()),
        Message::announce(port, 1, AnnounceBody::default()),
        Message::signaling(port, 1, PortIdentity::ALL),
    ];
    for message in all {
        let validation = message.validate().unwrap();
        assert!(validation.is_clean(), "{message:?}: {validation:?}");
        let mut out = [0u8; 128];
        let len = message.emit(&mut out).unwrap();
        assert_eq!(len, usize::from(message.header.message_length));
        assert_eq!(Message::parse(&out[..len]).unwrap(), message);
    }
    assert!(Message::sync(port, 1, t).header.flags.two_step());
    assert!(!Message::sync_one_step(port, 1, t).header.flags.two_step());
}
