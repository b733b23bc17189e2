//! AirPlay's 24-byte compact timing packet on any bytes: an error for fewer than 24 bytes,
//! otherwise `to_bytes` gives back the first 24 bytes exactly; and the 48.16 compact
//! timestamp's conversions: compact → 80-bit → compact is the identity (a nanosecond is finer
//! than 2^-16 s), and 80-bit → compact stays within half a fraction unit.
#![no_main]

use aptp_wire::airplay::{CompactTimestamp, CompactTimingPacket};
use aptp_wire::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match CompactTimingPacket::parse(data) {
        Ok(packet) => {
            assert!(data.len() >= CompactTimingPacket::LENGTH);
            let bytes = packet.to_bytes().expect("a parsed compact packet encodes");
            assert_eq!(
                &bytes[..],
                &data[..CompactTimingPacket::LENGTH],
                "parse → to_bytes"
            );
            let mut out = [0u8; CompactTimingPacket::LENGTH - 1];
            assert!(packet.emit(&mut out).is_err(), "emit into 23 bytes");
            assert_eq!(CompactTimingPacket::parse(&bytes), Ok(packet));
            check_compact(packet.timestamp);
        }
        Err(error) => {
            assert!(
                data.len() < CompactTimingPacket::LENGTH,
                "rejected 24+ bytes: {error:?}"
            );
            aptp_fuzz::check_offset(&error, data.len(), "CompactTimingPacket::parse");
        }
    }
    // Any 64-bit value as a 48.16 timestamp, and any 80-bit timestamp back.
    if let Some(word) = data.first_chunk::<8>() {
        let bits = u64::from_be_bytes(*word);
        check_compact(CompactTimestamp(bits));
        if let Some(nanoseconds) = data.get(8..12) {
            let nanoseconds = u32::from_be_bytes(nanoseconds.try_into().expect("4 bytes"));
            let t = Timestamp {
                seconds: bits >> 16,
                nanoseconds,
            };
            check_timestamp(t);
        }
    }
});

/// compact → 80-bit → compact is the identity.
fn check_compact(compact: CompactTimestamp) {
    let t = compact.to_timestamp();
    assert!(t.is_valid(), "{compact:?} converted to an invalid {t:?}");
    assert_eq!(t.seconds, compact.seconds());
    assert_eq!(
        CompactTimestamp::from_timestamp(t),
        Some(compact),
        "via {t:?}"
    );
}

/// 80-bit → compact rounds to the nearest 2^-16 s (within half a unit), or refuses an invalid
/// timestamp or a carry beyond 48 bits.
fn check_timestamp(t: Timestamp) {
    match CompactTimestamp::from_timestamp(t) {
        Some(compact) => {
            assert!(t.is_valid());
            let exact =
                (u128::from(t.seconds) << 16) * 1_000_000_000 + (u128::from(t.nanoseconds) << 16);
            let rounded = u128::from(compact.0) * 1_000_000_000;
            assert!(
                exact.abs_diff(rounded) <= 500_000_000,
                "{t:?} → {compact:?} is off by more than half a unit"
            );
        }
        None => assert!(!t.is_valid() || t.seconds == Timestamp::MAX_SECONDS),
    }
}
