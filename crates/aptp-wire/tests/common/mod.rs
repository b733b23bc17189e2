//! Helpers shared by the golden message tests: the hand-written header every vector uses, and
//! checks that a message emits exactly the expected bytes.
#![allow(dead_code)] // each test file uses a subset.

use aptp_wire::{
    ClockIdentity, ErrorKind, Flags, Header, Message, MessageType, PortIdentity, TimeInterval,
    Timestamp,
};

/// Concatenates the pieces of a hand-written message.
pub fn bytes(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

/// Header bytes 4..34 shared by the vectors: domain 5, minorSdoId 0, flags as given,
/// correction 1.5 ns, messageTypeSpecific 0, source 001122.fffe.334455-1, sequenceId 0x1234,
/// then controlField and logMessageInterval.
pub fn header_tail(flags: [u8; 2], control_field: u8, log_message_interval: u8) -> Vec<u8> {
    bytes(&[
        &[0x05, 0x00],                                     // domainNumber, minorSdoId
        &flags,                                            // flagField
        &[0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00], // correctionField: 1.5 ns
        &[0x00, 0x00, 0x00, 0x00],                         // messageTypeSpecific
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01], // sourcePortIdentity
        &[0x12, 0x34],                                     // sequenceId
        &[control_field, log_message_interval],
    ])
}

pub const TEN_TWENTY: [u8; 10] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x14];
pub const REQUESTER: [u8; 10] = [0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff, 0x00, 0x02];

pub fn source() -> PortIdentity {
    PortIdentity::new(
        ClockIdentity([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
        1,
    )
}

pub fn requester() -> PortIdentity {
    PortIdentity::new(
        ClockIdentity([0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff]),
        2,
    )
}

pub fn ten_twenty() -> Timestamp {
    Timestamp::new(10, 20).unwrap()
}

/// Every header field of the shared vectors.
pub fn assert_header(
    h: &Header,
    message_type: MessageType,
    length: u16,
    flags: u16,
    control: u8,
    lmi: i8,
) {
    assert_eq!(h.major_sdo_id, 1);
    assert_eq!(h.message_type, message_type);
    assert_eq!(h.minor_version_ptp, 1);
    assert_eq!(h.version_ptp, 2);
    assert_eq!(h.message_length, length);
    assert_eq!(h.domain_number, 5);
    assert_eq!(h.minor_sdo_id, 0);
    assert_eq!(h.flags, Flags(flags));
    assert_eq!(h.correction_field, TimeInterval(0x18000));
    assert_eq!(h.message_type_specific, 0);
    assert_eq!(h.source_port_identity, source());
    assert_eq!(h.sequence_id, 0x1234);
    assert_eq!(h.control_field, control);
    assert_eq!(h.log_message_interval, lmi);
}

/// Emits `message` and checks it gives `expected` exactly, by both encoders.
pub fn assert_emits(message: &Message<'_>, expected: &[u8]) {
    assert_eq!(message.buffer_len(), expected.len());
    let mut out = vec![0xee; expected.len()];
    assert_eq!(message.emit(&mut out), Ok(expected.len()));
    assert_eq!(out, expected);
    let mut buf = Vec::new();
    assert_eq!(message.emit_buf(&mut buf), Ok(expected.len()));
    assert_eq!(buf, expected);
    // One byte short: a typed error, no panic.
    let mut short = vec![0; expected.len() - 1];
    assert_eq!(
        message.emit(&mut short).unwrap_err().kind,
        ErrorKind::BufferTooShort {
            needed: expected.len(),
            available: expected.len() - 1
        }
    );
}

/// Common header settings of the vectors, applied to a constructed message.
pub fn like_vectors(message: Message<'_>, flags: u16, lmi: i8) -> Message<'_> {
    message
        .with_major_sdo_id(1)
        .with_domain_number(5)
        .with_flags(Flags(flags))
        .with_correction_field(TimeInterval(0x18000))
        .with_log_message_interval(lmi)
}
