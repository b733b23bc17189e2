//! Golden vectors for AirPlay's forms: Apple's 96-byte Follow_Up and its Announce, the compact
//! timing packet, AirPlay 1's NTP-style timing packets, and the timestamp conversions.

use aptp_wire::airplay::{
    self, CompactTimestamp, CompactTimingPacket, NtpTimingKind, NtpTimingPacket, TimingPacket,
};
use aptp_wire::*;

const APPLE_CLOCK: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08];

#[test]
fn apple_follow_up_is_96_bytes_as_captured() {
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
    let me = PortIdentity::new(ClockIdentity(APPLE_CLOCK), 0x8005);
    let built = airplay::follow_up(
        me,
        42,
        Timestamp::new(1000, 5).unwrap(),
        FollowUpInformation::default(),
    )
    .unwrap();
    let mut out = [0u8; 96];
    assert_eq!(built.emit(&mut out), Ok(96));
    assert_eq!(out, expected);
    let parsed = Message::parse(&expected).unwrap();
    assert_eq!(parsed, built.message());
    assert!(parsed.validate().unwrap().is_clean());
    assert_eq!(parsed.validate().unwrap().tlv_count, 2);
}

#[test]
fn apple_announce() {
    let me = PortIdentity::new(ClockIdentity(APPLE_CLOCK), 0x8005);
    let announce = airplay::announce(me, 7, 239).unwrap();
    let mut out = [0u8; 76];
    assert_eq!(announce.emit(&mut out), Ok(76));
    assert_eq!(&out[..8], &[0x1b, 0x12, 0x00, 0x4c, 0x00, 0x00, 0x04, 0x08]);
    assert_eq!(out[32..34], [5, 0xfe]); // controlField 5, logMessageInterval -2
    assert_eq!(out[44..46], [0x00, 0x25]); // currentUtcOffset 37
    assert_eq!(out[47..53], [250, 248, 0x21, 0x43, 0x6a, 239]);
    assert_eq!(out[53..61], APPLE_CLOCK);
    assert_eq!(out[63], 0xa0);
    assert_eq!(out[64..68], [0x00, 0x08, 0x00, 0x08]);
    assert_eq!(out[68..76], APPLE_CLOCK);
    let parsed = Message::parse(&out).unwrap();
    assert!(parsed.validate().unwrap().is_clean());
}

#[test]
fn compact_timing_packet() {
    let bytes: [u8; 24] = [
        0x08, 0x00, 0x01, 0x02, // messageType Follow_Up, sequenceId 0x0102
        0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x64, 0x80, 0x00, // 100.5 s (32-bit seconds, 16-bit fraction)
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08, // clock identity
        0x00, 0x00,
    ];
    let packet = CompactTimingPacket::parse(&bytes).unwrap();
    assert_eq!(packet.message_type, MessageType::FOLLOW_UP);
    assert_eq!(packet.sequence_id, 0x0102);
    assert_eq!(
        packet.timestamp,
        CompactTimestamp::new(100, 0x8000).unwrap()
    );
    assert_eq!(
        packet.timestamp.to_timestamp(),
        Timestamp::new(100, 500_000_000).unwrap()
    );
    assert_eq!(packet.clock_identity, ClockIdentity(APPLE_CLOCK));
    assert_eq!(packet.reserved, [0; 8]);
    assert_eq!(packet.to_bytes(), Ok(bytes));
    assert_eq!(
        CompactTimingPacket::parse(&bytes[..10]).unwrap_err().kind,
        ErrorKind::Truncated {
            needed: 24,
            available: 10
        }
    );
    let too_big = CompactTimingPacket {
        timestamp: CompactTimestamp(1 << 48),
        ..packet
    };
    assert!(too_big.to_bytes().is_err());
    assert!(matches!(
        TimingPacket::parse(&bytes),
        Ok(TimingPacket::Compact(_))
    ));
}

#[test]
fn ntp_timing_request_and_reply() {
    let request: [u8; 32] = [
        0x80, 0xd2, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, // request, marker, sequence 7
        0, 0, 0, 0, 0, 0, 0, 0, // reference time
        0, 0, 0, 0, 0, 0, 0, 0, // receive time
        0x83, 0xaa, 0x7e, 0x80, 0x80, 0x00, 0x00, 0x00, // transmit time: 1970 + 0.5 s
    ];
    let parsed = NtpTimingPacket::parse(&request).unwrap();
    assert_eq!(parsed.kind, NtpTimingKind::Request);
    assert!(parsed.marker);
    assert_eq!(parsed.sequence_number, 7);
    assert_eq!(
        parsed.transmit_time,
        NtpTimestamp {
            seconds: NtpTimestamp::UNIX_EPOCH_SECONDS,
            fraction: 0x8000_0000
        }
    );
    assert_eq!(parsed.to_bytes(), request);
    let reply = NtpTimingPacket::reply_to(
        &parsed,
        NtpTimestamp {
            seconds: 1,
            fraction: 2,
        },
        NtpTimestamp {
            seconds: 3,
            fraction: 4,
        },
    );
    let bytes = reply.to_bytes();
    assert_eq!(&bytes[..4], &[0x80, 0xd3, 0x00, 0x07]);
    assert_eq!(&bytes[8..16], &request[24..32]);
    assert_eq!(&bytes[16..24], &[0, 0, 0, 1, 0, 0, 0, 2]);
    assert_eq!(NtpTimingPacket::parse(&bytes), Ok(reply));
    // Typed errors.
    assert_eq!(
        NtpTimingPacket::parse(&request[..31]).unwrap_err().kind,
        ErrorKind::Truncated {
            needed: 32,
            available: 31
        }
    );
    let mut bad = request;
    bad[1] = 0xd4;
    let e = NtpTimingPacket::parse(&bad).unwrap_err();
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::BadPacketType { value: 0xd4 }, 1)
    );
    bad[0] = 0x90;
    assert_eq!(
        NtpTimingPacket::parse(&bad).unwrap_err().kind,
        ErrorKind::BadPacketType { value: 0x90 }
    );
    assert!(matches!(
        TimingPacket::parse(&request),
        Ok(TimingPacket::Ntp(_))
    ));
}

#[test]
fn compact_timestamp_edges() {
    // 0, the largest fraction, the maximum seconds, a fraction that does not divide evenly.
    assert_eq!(CompactTimestamp(0).to_timestamp(), Timestamp::ZERO);
    assert_eq!(
        CompactTimestamp::new(0, 0xffff)
            .unwrap()
            .to_timestamp()
            .nanoseconds,
        999_984_741
    );
    assert_eq!(
        CompactTimestamp::new(0, 1)
            .unwrap()
            .to_timestamp()
            .nanoseconds,
        15_259
    ); // 15258.79
    let max = CompactTimestamp(u64::MAX);
    assert_eq!(
        max.to_timestamp(),
        Timestamp {
            seconds: Timestamp::MAX_SECONDS,
            nanoseconds: 999_984_741
        }
    );
    assert_eq!(CompactTimestamp::from_timestamp(Timestamp::MAX), None); // carry overflows 48 bits
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp {
            seconds: Timestamp::MAX_SECONDS,
            nanoseconds: 999_984_741
        }),
        Some(max)
    );
    // Halves round up: 7629.39453125 ns is just under half a unit, 7629.4 is just over.
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp::new(0, 7_629).unwrap()),
        CompactTimestamp::new(0, 0)
    );
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp::new(0, 7_630).unwrap()),
        CompactTimestamp::new(0, 1)
    );
    // 999 992 370 ns stays below the carry, 999 992 371 carries.
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp::new(3, 999_992_370).unwrap()),
        CompactTimestamp::new(3, 0xffff)
    );
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp::new(3, 999_992_371).unwrap()),
        CompactTimestamp::new(4, 0)
    );
    assert_eq!(
        CompactTimestamp::from_timestamp(Timestamp {
            seconds: 0,
            nanoseconds: 1_000_000_000
        }),
        None
    );
}

#[test]
fn network_time_edges() {
    assert_eq!(
        airplay::network_time_to_timestamp(0, 0),
        Some(Timestamp::ZERO)
    );
    assert_eq!(
        airplay::network_time_to_timestamp(Timestamp::MAX_SECONDS, u64::MAX),
        None
    );
    assert_eq!(
        airplay::network_time_to_timestamp(Timestamp::MAX_SECONDS + 1, 0),
        None
    );
    // 1/3 s does not divide evenly: 333 333 333.33 ns rounds down.
    assert_eq!(
        airplay::network_time_to_timestamp(1, u64::MAX / 3)
            .unwrap()
            .nanoseconds,
        333_333_333
    );
    assert_eq!(
        airplay::timestamp_to_network_time(Timestamp::MAX).map(|t| t.0),
        Some(Timestamp::MAX_SECONDS)
    );
    assert_eq!(
        airplay::timestamp_to_network_time(Timestamp {
            seconds: 0,
            nanoseconds: 1_000_000_000
        }),
        None
    );
}

#[test]
fn apple_sync_and_delay_resp() {
    let me = PortIdentity::new(ClockIdentity(APPLE_CLOCK), 0x8005);
    let peer = PortIdentity::new(ClockIdentity([9; 8]), 1);
    let mut out = [0u8; 54];
    assert_eq!(airplay::sync(me, 3, Timestamp::ZERO).emit(&mut out), Ok(44));
    assert_eq!(out[..8], [0x10, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x06, 0x08]);
    assert_eq!(out[32..34], [0, 0xfd]);
    let delay_resp = airplay::delay_resp(me, 3, Timestamp::new(1, 2).unwrap(), peer);
    assert_eq!(delay_resp.emit(&mut out), Ok(54));
    assert_eq!(out[..8], [0x19, 0x12, 0x00, 0x36, 0x00, 0x00, 0x06, 0x08]);
    assert_eq!(out[32..34], [3, 0xfd]);
    assert_eq!(out[44..54], peer.to_bytes());
    assert!(Message::parse(&out).unwrap().validate().unwrap().is_clean());
}
