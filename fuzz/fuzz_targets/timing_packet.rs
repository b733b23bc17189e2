//! `airplay::TimingPacket::parse`, the dispatcher that reads any timing packet an AirPlay
//! device sends (PTP, compact, NTP-style): on any bytes it returns a packet or a typed error,
//! and each kind it returns agrees with that kind's own parser.
#![no_main]

use aptp_wire::airplay::{CompactTimingPacket, NtpTimingPacket, TimingPacket};
use aptp_wire::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match TimingPacket::parse(data) {
        Ok(TimingPacket::Ptp(message)) => {
            assert_eq!(Message::parse(data), Ok(message));
            aptp_fuzz::check_message_round_trip(data);
        }
        Ok(TimingPacket::Compact(packet)) => {
            assert_eq!(CompactTimingPacket::parse(data), Ok(packet));
        }
        Ok(TimingPacket::Ntp(packet)) => {
            assert_eq!(NtpTimingPacket::parse(data), Ok(packet));
        }
        Err(error) => aptp_fuzz::check_offset(&error, data.len(), "TimingPacket::parse"),
    }
});
