//! AirPlay 1's 32-byte NTP-style timing packet on any bytes: a typed error unless the input
//! starts with 0x80 then payload type 0x52/0x53 (marker bit either way) and has 32 bytes;
//! otherwise `to_bytes` gives back the first 32 bytes exactly. Also the NTP 32.32 ↔ 80-bit
//! timestamp conversions: 80-bit → NTP → 80-bit is the identity (2^-32 s is finer than a
//! nanosecond) and NTP → 80-bit rounds to the nearest nanosecond.
#![no_main]

use aptp_wire::airplay::{network_time_to_timestamp, timestamp_to_network_time, NtpTimingPacket};
use aptp_wire::{NtpTimestamp, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match NtpTimingPacket::parse(data) {
        Ok(packet) => {
            assert!(data.len() >= NtpTimingPacket::LENGTH);
            assert_eq!(
                &packet.to_bytes()[..],
                &data[..NtpTimingPacket::LENGTH],
                "parse → to_bytes"
            );
            let mut out = [0u8; NtpTimingPacket::LENGTH];
            assert_eq!(packet.emit(&mut out), Ok(NtpTimingPacket::LENGTH));
            assert!(packet
                .emit(&mut out[..NtpTimingPacket::LENGTH - 1])
                .is_err());
            for time in [
                packet.reference_time,
                packet.receive_time,
                packet.transmit_time,
            ] {
                check_ntp(time);
            }
        }
        Err(error) => {
            let well_formed = data.len() >= NtpTimingPacket::LENGTH
                && data[0] == 0x80
                && matches!(data[1] & 0x7f, 0x52 | 0x53);
            assert!(!well_formed, "rejected a well-formed packet: {error:?}");
            aptp_fuzz::check_offset(&error, data.len(), "NtpTimingPacket::parse");
        }
    }
    if let Some(word) = data.first_chunk::<8>() {
        let bits = u64::from_be_bytes(*word);
        check_ntp(NtpTimestamp::from_bits(bits));
        if let Some(more) = data.get(8..16) {
            let frac = u64::from_be_bytes(more.try_into().expect("8 bytes"));
            check_network_time(bits, frac);
            let t = Timestamp {
                seconds: bits >> 16,
                nanoseconds: (frac >> 32) as u32,
            };
            if let Some((secs, frac)) = timestamp_to_network_time(t) {
                assert!(t.is_valid());
                assert_eq!(
                    network_time_to_timestamp(secs, frac),
                    Some(t),
                    "network time of {t:?}"
                );
            } else {
                assert!(!t.is_valid());
            }
        }
    }
});

/// NTP → 80-bit rounds to the nearest nanosecond; 80-bit → NTP → 80-bit is the identity.
fn check_ntp(ntp: NtpTimestamp) {
    assert_eq!(NtpTimestamp::from_bits(ntp.to_bits()), ntp);
    let t = ntp.to_timestamp();
    assert!(t.is_valid(), "{ntp:?} → invalid {t:?}");
    let exact =
        (u128::from(ntp.seconds) << 32) * 1_000_000_000 + u128::from(ntp.fraction) * 1_000_000_000;
    let rounded = t.total_nanoseconds() << 32;
    assert!(
        exact.abs_diff(rounded) <= 1 << 31,
        "{ntp:?} → {t:?} is off by more than 0.5 ns"
    );
    if let Some(back) = NtpTimestamp::from_timestamp(t) {
        assert_eq!(back.to_timestamp(), t, "80-bit → NTP → 80-bit for {t:?}");
    } else {
        assert!(t.seconds > u64::from(u32::MAX), "{t:?} refused");
    }
}

/// AirPlay's 64-bit network time → 80-bit rounds to the nearest nanosecond (within half a
/// nanosecond) and converts back to the same timestamp; it is refused only when the seconds
/// (after a carry) need more than 48 bits.
fn check_network_time(secs: u64, frac: u64) {
    match network_time_to_timestamp(secs, frac) {
        Some(t) => {
            assert!(t.is_valid());
            // The fraction's nanoseconds, in units of 2^-64 ns, against what came out.
            let exact = u128::from(frac) * 1_000_000_000;
            let whole = u128::from(secs) * 1_000_000_000;
            let got = (t.total_nanoseconds() - whole) << 64;
            assert!(
                exact.abs_diff(got) <= 1 << 63,
                "({secs}, {frac}) → {t:?} off by more than 0.5 ns"
            );
            let back = timestamp_to_network_time(t).expect("a valid timestamp converts");
            assert_eq!(network_time_to_timestamp(back.0, back.1), Some(t));
        }
        None => assert!(secs >= Timestamp::MAX_SECONDS, "({secs}, {frac}) refused"),
    }
}
