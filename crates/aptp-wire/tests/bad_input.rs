//! Truncated, oversized, odd-TLV-length and random inputs give typed errors, never panics.

use aptp_wire::*;
use proptest::prelude::*;

fn samples() -> Vec<Vec<u8>> {
    let port = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 1);
    let t = Timestamp::new(1, 2).unwrap();
    let mut area = TlvBuf::<64>::new();
    area.push(&TlvRepr::FollowUpInformation(FollowUpInformation::default()))
        .unwrap();
    let messages = [
        Message::sync(port, 1, t),
        Message::delay_req(port, 1, t),
        Message::pdelay_req(port, 1, t),
        Message::pdelay_resp(port, 1, t, port),
        Message::follow_up(port, 1, t)
            .with_tlvs(area.tlvs())
            .unwrap(),
        Message::delay_resp(port, 1, t, port),
        Message::pdelay_resp_follow_up(port, 1, t, port),
        Message::announce(port, 1, AnnounceBody::default()),
        Message::signaling(port, 1, PortIdentity::ALL)
            .with_tlvs(area.tlvs())
            .unwrap(),
    ];
    messages
        .iter()
        .map(|m| {
            let mut out = vec![0; m.buffer_len()];
            m.emit(&mut out).unwrap();
            out
        })
        .collect()
}

#[test]
fn every_truncation_is_a_typed_error() {
    for bytes in samples() {
        for len in 0..bytes.len() {
            let error = Message::parse(&bytes[..len]).unwrap_err();
            let needed = if len < 34 { 34 } else { bytes.len() };
            assert_eq!(
                error.kind,
                ErrorKind::Truncated {
                    needed,
                    available: len
                },
                "{len} of {bytes:02x?}"
            );
            assert_eq!(error.offset, 0);
        }
        assert!(Message::parse(&bytes).is_ok());
    }
}

#[test]
fn oversized_message_length_is_truncated() {
    for mut bytes in samples() {
        bytes[2..4].copy_from_slice(&u16::MAX.to_be_bytes());
        let error = Message::parse(&bytes).unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Truncated {
                needed: 65535,
                available: bytes.len()
            }
        );
    }
}

#[test]
fn tlvs_that_do_not_fit_are_errors() {
    let follow_up = &samples()[4];
    assert_eq!(follow_up.len(), 76);
    // Odd lengthField.
    let mut odd = follow_up.clone();
    odd[47] = 27;
    let e = Message::parse(&odd).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::OddTlvLength { length_field: 27 }, 46)
    );
    // Longer than messageLength.
    let mut over = follow_up.clone();
    over[47] = 30;
    let e = Message::parse(&over).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::TlvOverrun {
                length_field: 30,
                available: 28
            },
            46
        )
    );
    // Shorter: 2 bytes left over that are not a TLV.
    let mut under = follow_up.clone();
    under[47] = 26;
    let e = Message::parse(&under).unwrap().validate().unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::TlvsDoNotAddUp { remaining: 2 }, 74)
    );
    // Every one still round-trips exactly.
    for bytes in [odd, over, under] {
        let message = Message::parse(&bytes).unwrap();
        let mut out = vec![0; message.buffer_len()];
        message.emit(&mut out).unwrap();
        assert_eq!(out, bytes);
    }
}

#[test]
fn errors_display_what_and_where() {
    let e = Message::parse(&[0; 10]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "truncated: 34 bytes needed, 10 available at byte 0"
    );
}

proptest! {
    #[test]
    fn random_mutations_give_typed_errors_or_exact_round_trips(
        index in 0usize..9,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = samples()[index].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let len = cut.index(bytes.len() + 1);
        let input = &bytes[..len];
        match Message::parse(input) {
            Ok(message) => {
                let mut out = vec![0; message.buffer_len()];
                prop_assert_eq!(message.emit(&mut out), Ok(input.len()));
                prop_assert_eq!(&out[..], input);
                if let Err(e) = message.validate() {
                    prop_assert!(e.offset < input.len().max(1) || e.offset <= usize::from(message.header.message_length));
                }
            }
            Err(e) => prop_assert!(e.offset <= input.len()),
        }
    }
}

#[test]
fn values_that_do_not_fit_are_encoding_errors() {
    let port = PortIdentity::ZERO;
    let mut out = [0u8; 64];
    let e = Message::sync(port, 1, Timestamp::ZERO)
        .with_minor_version_ptp(16)
        .emit(&mut out)
        .unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::FieldOutOfRange {
                field: "minorVersionPTP",
                value: 16
            },
            1
        )
    );
    let e = Message::sync(port, 1, Timestamp::ZERO)
        .with_major_sdo_id(16)
        .emit(&mut out)
        .unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::FieldOutOfRange {
                field: "majorSdoId",
                value: 16
            },
            0
        )
    );
    let late = Timestamp {
        seconds: 1 << 48,
        nanoseconds: 0,
    };
    let e = Message::follow_up(port, 1, late)
        .emit(&mut out)
        .unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::FieldOutOfRange {
                field: "seconds",
                value: 1 << 48
            },
            34
        )
    );
    let mut buf = Vec::new();
    assert!(Message::follow_up(port, 1, late)
        .emit_buf(&mut buf)
        .is_err());
    assert!(buf.is_empty(), "emit_buf writes nothing when it fails");
}
