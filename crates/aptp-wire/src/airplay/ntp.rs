//! AirPlay 1's NTP-style timing packets (RTP payload types 0x52 request, 0x53 reply).

use crate::error::{check_buffer, ErrorKind, WireError};
use crate::NtpTimestamp;

/// Whether an NTP-style timing packet asks or answers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NtpTimingKind {
    /// Timing request (payload type 0x52; 0xD2 with the marker bit).
    Request,
    /// Timing reply (payload type 0x53; 0xD3 with the marker bit).
    Reply,
}

impl NtpTimingKind {
    /// The RTP payload type (without the marker bit).
    pub const fn payload_type(self) -> u8 {
        match self {
            NtpTimingKind::Request => 0x52,
            NtpTimingKind::Reply => 0x53,
        }
    }
}

/// AirPlay 1's 32-byte timing packet: `0x80`, `0xD2` (request) or `0xD3` (reply) with the
/// marker bit, a 16-bit sequence number, 4 reserved bytes, then the reference, receive and
/// transmit times as NTP 32.32 timestamps.
///
/// ```
/// use aptp_wire::airplay::{NtpTimingKind, NtpTimingPacket};
/// use aptp_wire::NtpTimestamp;
///
/// let request = NtpTimingPacket::request(7, NtpTimestamp { seconds: 1, fraction: 2 });
/// let bytes = request.to_bytes();
/// assert_eq!(&bytes[..4], &[0x80, 0xd2, 0x00, 0x07]);
/// let parsed = NtpTimingPacket::parse(&bytes).unwrap();
/// assert_eq!(parsed.kind, NtpTimingKind::Request);
/// assert_eq!(parsed.transmit_time, NtpTimestamp { seconds: 1, fraction: 2 });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NtpTimingPacket {
    /// Request or reply.
    pub kind: NtpTimingKind,
    /// The RTP marker bit (set in every packet Apple sends).
    pub marker: bool,
    /// The sequence number (Apple sends 7).
    pub sequence_number: u16,
    /// Bytes 4–7 (zero), kept.
    pub reserved: [u8; 4],
    /// referenceTime (in a reply: the request's transmit time).
    pub reference_time: NtpTimestamp,
    /// receiveTime.
    pub receive_time: NtpTimestamp,
    /// transmitTime.
    pub transmit_time: NtpTimestamp,
}

impl NtpTimingPacket {
    /// The packet's length.
    pub const LENGTH: usize = 32;
    /// Byte 0: RTP version 2, no padding, extension or CSRC.
    pub const FIRST_BYTE: u8 = 0x80;

    /// A request as AirPlay 1 senders make it (marker set, zero reference and receive
    /// times).
    pub const fn request(sequence_number: u16, transmit_time: NtpTimestamp) -> Self {
        NtpTimingPacket {
            kind: NtpTimingKind::Request,
            marker: true,
            sequence_number,
            reserved: [0; 4],
            reference_time: NtpTimestamp {
                seconds: 0,
                fraction: 0,
            },
            receive_time: NtpTimestamp {
                seconds: 0,
                fraction: 0,
            },
            transmit_time,
        }
    }

    /// The reply to `request`: its transmit time as reference, with our receive and
    /// transmit times.
    pub const fn reply_to(
        request: &NtpTimingPacket,
        receive_time: NtpTimestamp,
        transmit_time: NtpTimestamp,
    ) -> Self {
        NtpTimingPacket {
            kind: NtpTimingKind::Reply,
            marker: true,
            sequence_number: request.sequence_number,
            reserved: [0; 4],
            reference_time: request.transmit_time,
            receive_time,
            transmit_time,
        }
    }

    /// Parses the first 32 bytes of `input`: [`ErrorKind::Truncated`] when shorter,
    /// [`ErrorKind::BadPacketType`] when byte 0 is not 0x80 or the payload type is not
    /// 0x52/0x53.
    pub fn parse(input: &[u8]) -> Result<Self, WireError> {
        let Some(bytes) = input.first_chunk::<{ Self::LENGTH }>() else {
            return Err(ErrorKind::Truncated {
                needed: Self::LENGTH,
                available: input.len(),
            }
            .at(0));
        };
        if bytes[0] != Self::FIRST_BYTE {
            return Err(ErrorKind::BadPacketType { value: bytes[0] }.at(0));
        }
        let kind = match bytes[1] & 0x7f {
            0x52 => NtpTimingKind::Request,
            0x53 => NtpTimingKind::Reply,
            _ => return Err(ErrorKind::BadPacketType { value: bytes[1] }.at(1)),
        };
        let time = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            NtpTimestamp::from_bits(u64::from_be_bytes(word))
        };
        Ok(NtpTimingPacket {
            kind,
            marker: bytes[1] & 0x80 != 0,
            sequence_number: u16::from_be_bytes([bytes[2], bytes[3]]),
            reserved: [bytes[4], bytes[5], bytes[6], bytes[7]],
            reference_time: time(8),
            receive_time: time(16),
            transmit_time: time(24),
        })
    }

    /// Writes the 32 bytes at the start of `out` (fails only on a short buffer).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_buffer(Self::LENGTH, out.len())?;
        out[..Self::LENGTH].copy_from_slice(&self.to_bytes());
        Ok(Self::LENGTH)
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; Self::LENGTH] {
        let mut out = [0; Self::LENGTH];
        out[0] = Self::FIRST_BYTE;
        out[1] = self.kind.payload_type() | if self.marker { 0x80 } else { 0 };
        out[2..4].copy_from_slice(&self.sequence_number.to_be_bytes());
        out[4..8].copy_from_slice(&self.reserved);
        out[8..16].copy_from_slice(&self.reference_time.to_bits().to_be_bytes());
        out[16..24].copy_from_slice(&self.receive_time.to_bits().to_be_bytes());
        out[24..32].copy_from_slice(&self.transmit_time.to_bits().to_be_bytes());
        out
    }
}
