//! AirPlay's timing forms: Apple's organization-extension TLVs, the 48.16 compact timestamp,
//! the 24-byte compact timing packet, AirPlay 1's NTP-style timing packets, AirPlay's 64-bit
//! network time, and builders for a Follow_Up and an Announce like a real Apple device sends.
//!
//! What real Apple devices send (public captures of a Mac, a HomePod and a HomePod mini):
//! majorSdoId 1, domain 0, flags 0x0408 on Announce, Follow_Up and Signaling (0x0608 on Sync
//! and Delay_Resp), logMessageInterval −3 on Sync and Follow_Up, −2 on Announce; a 96-byte
//! Follow_Up with the 802.1AS information TLV then Apple's TLV 00-0D-93/000004.

mod build;
mod compact;
mod ntp;
mod tlv;

pub use build::{
    announce, delay_resp, follow_up, network_time_to_timestamp, sync, timestamp_to_network_time,
    AirplayMessage, AppleAnnounce, AppleFollowUp, APPLE_FLAGS, APPLE_MAJOR_SDO_ID,
};
pub use compact::{CompactTimestamp, CompactTimingPacket};
pub use ntp::{NtpTimingKind, NtpTimingPacket};
pub use tlv::{AppleClockIdentity, OUI_APPLE, SUB_TYPE_SIGNALING_1, SUB_TYPE_SIGNALING_5};

use crate::{Message, WireError};

/// Any timing packet an AirPlay device sends, recognised by its shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimingPacket<'a> {
    /// A PTP message (AirPlay 2).
    Ptp(Message<'a>),
    /// The 24-byte compact timing packet.
    Compact(CompactTimingPacket),
    /// AirPlay 1's 32-byte NTP-style timing request or reply.
    Ntp(NtpTimingPacket),
}

impl<'a> TimingPacket<'a> {
    /// Recognises and parses `input`: an NTP-style packet when it starts `0x80 0xD2` or
    /// `0x80 0xD3`, a PTP message when versionPTP is 2, else the compact form.
    ///
    /// ```
    /// use aptp_wire::airplay::{NtpTimingPacket, TimingPacket};
    ///
    /// let bytes = NtpTimingPacket::request(7, Default::default()).to_bytes();
    /// assert!(matches!(TimingPacket::parse(&bytes), Ok(TimingPacket::Ntp(_))));
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<Self, WireError> {
        match input {
            [0x80, second, ..] if second & 0x7f == 0x52 || second & 0x7f == 0x53 => {
                NtpTimingPacket::parse(input).map(TimingPacket::Ntp)
            }
            _ if Message::looks_like_ptp_v2(input) => Message::parse(input).map(TimingPacket::Ptp),
            _ => CompactTimingPacket::parse(input).map(TimingPacket::Compact),
        }
    }
}
