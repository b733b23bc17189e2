//! The 48.16 compact timestamp and the 24-byte compact AirPlay timing packet.

use core::fmt;

use crate::error::{check_buffer, ErrorKind, WireError};
use crate::{ClockIdentity, MessageType, Timestamp, NANOSECONDS_PER_SECOND};

/// A 48.16 fixed-point time: 48-bit seconds in the high bits, a 16-bit binary fraction of a
/// second in the low 16.
///
/// Conversions round to the nearest (nanosecond, or 2^-16 s), halves up; a fraction that
/// rounds up to a whole second carries into the seconds. Fraction → nanoseconds → fraction
/// is exact.
///
/// ```
/// use aptp_wire::airplay::CompactTimestamp;
/// use aptp_wire::Timestamp;
///
/// let t = CompactTimestamp::new(5, 0x8000).unwrap();
/// assert_eq!(t.to_timestamp(), Timestamp { seconds: 5, nanoseconds: 500_000_000 });
/// assert_eq!(CompactTimestamp::from_timestamp(t.to_timestamp()), Some(t));
/// // 999 999 999 ns is nearer the next second than 65535/65536 s: it carries.
/// let carry = CompactTimestamp::from_timestamp(Timestamp { seconds: 5, nanoseconds: 999_999_999 });
/// assert_eq!(carry, CompactTimestamp::new(6, 0));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CompactTimestamp(pub u64);

impl CompactTimestamp {
    /// From seconds (up to 48 bits) and a 16-bit fraction; `None` when seconds is too large.
    pub const fn new(seconds: u64, fraction: u16) -> Option<Self> {
        if seconds > Timestamp::MAX_SECONDS {
            None
        } else {
            Some(CompactTimestamp(seconds << 16 | fraction as u64))
        }
    }

    /// Whole seconds.
    pub const fn seconds(&self) -> u64 {
        self.0 >> 16
    }

    /// The fraction of a second in units of 2^-16 s.
    pub const fn fraction(&self) -> u16 {
        self.0 as u16
    }

    /// As a PTP timestamp, the fraction rounded to the nearest nanosecond (halves up; never
    /// reaches a whole second, since 65535/65536 s is 999 984 741.2 ns).
    pub const fn to_timestamp(&self) -> Timestamp {
        let fraction = self.fraction() as u64;
        Timestamp {
            seconds: self.seconds(),
            nanoseconds: ((fraction * NANOSECONDS_PER_SECOND as u64 + (1 << 15)) >> 16) as u32,
        }
    }

    /// From a PTP timestamp, nanoseconds rounded to the nearest 2^-16 s (halves up, carrying
    /// into the seconds); `None` when the timestamp is invalid or the carry overflows 48 bits.
    pub const fn from_timestamp(t: Timestamp) -> Option<Self> {
        if !t.is_valid() {
            return None;
        }
        let half = NANOSECONDS_PER_SECOND as u64 / 2;
        let fraction =
            ((t.nanoseconds as u64) << 16).saturating_add(half) / NANOSECONDS_PER_SECOND as u64;
        if fraction == 1 << 16 {
            // The carry may overflow the 48-bit seconds.
            if t.seconds == Timestamp::MAX_SECONDS {
                return None;
            }
            Self::new(t.seconds + 1, 0)
        } else {
            Self::new(t.seconds, fraction as u16)
        }
    }
}

impl fmt::Debug for CompactTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CompactTimestamp({}+{}/65536)",
            self.seconds(),
            self.fraction()
        )
    }
}

impl fmt::Display for CompactTimestamp {
    /// As the rounded PTP timestamp: `seconds.nanoseconds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_timestamp(), f)
    }
}

/// The 24-byte compact AirPlay timing packet: byte 0 low nibble messageType, bytes 2–3
/// sequenceId, bytes 8–13 the low 48 bits of a 48.16 timestamp (32-bit seconds and the 16-bit
/// fraction), bytes 14–21 the clock identity; the other bytes are zero, but are kept so that
/// parse → encode is exact.
///
/// ```
/// use aptp_wire::airplay::{CompactTimestamp, CompactTimingPacket};
/// use aptp_wire::{ClockIdentity, ErrorKind, MessageType};
///
/// let packet = CompactTimingPacket::new(
///     MessageType::SYNC, 3, CompactTimestamp::new(10, 1).unwrap(), ClockIdentity([7; 8]),
/// );
/// let bytes = packet.to_bytes().unwrap();
/// assert_eq!(&bytes[8..14], &[0, 0, 0, 10, 0, 1]);
/// assert_eq!(CompactTimingPacket::parse(&bytes), Ok(packet));
/// assert_eq!(
///     CompactTimingPacket::parse(&bytes[..23]).unwrap_err().kind,
///     ErrorKind::Truncated { needed: 24, available: 23 },
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CompactTimingPacket {
    /// messageType (low nibble of byte 0).
    pub message_type: MessageType,
    /// sequenceId.
    pub sequence_id: u16,
    /// The timestamp; only its low 48 bits (32-bit seconds) are on the wire.
    pub timestamp: CompactTimestamp,
    /// The sender's clock identity.
    pub clock_identity: ClockIdentity,
    /// The reserved bytes, normally zero: byte 0's high nibble (in the low 4 bits of
    /// `reserved[0]`), byte 1, bytes 4–7, bytes 22–23.
    pub reserved: [u8; 8],
}

impl CompactTimingPacket {
    /// The packet's length.
    pub const LENGTH: usize = 24;

    /// A packet with zero reserved bytes.
    pub const fn new(
        message_type: MessageType,
        sequence_id: u16,
        timestamp: CompactTimestamp,
        clock_identity: ClockIdentity,
    ) -> Self {
        CompactTimingPacket {
            message_type,
            sequence_id,
            timestamp,
            clock_identity,
            reserved: [0; 8],
        }
    }

    /// Parses the first 24 bytes of `input` ([`ErrorKind::Truncated`] when shorter).
    pub fn parse(input: &[u8]) -> Result<Self, WireError> {
        let parser = (
            crate::parse::u8,
            crate::parse::u8,
            crate::parse::be_u16,
            crate::parse::array::<4>,
            crate::parse::be_u48,
            ClockIdentity::parse,
            crate::parse::array::<2>,
        );
        let (_, (b0, b1, sequence_id, r4, timestamp, clock_identity, r22)) =
            crate::parse::run(parser, input).map_err(|_| {
                ErrorKind::Truncated {
                    needed: Self::LENGTH,
                    available: input.len(),
                }
                .at(0)
            })?;
        Ok(CompactTimingPacket {
            message_type: MessageType(b0 & 0x0f),
            sequence_id,
            timestamp: CompactTimestamp(timestamp),
            clock_identity,
            reserved: [b0 >> 4, b1, r4[0], r4[1], r4[2], r4[3], r22[0], r22[1]],
        })
    }

    /// Writes the 24 bytes at the start of `out`. Fails on a short buffer, a messageType or
    /// `reserved[0]` above 15, or a timestamp beyond 48 bits.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_buffer(Self::LENGTH, out.len())?;
        for (field, value) in [
            ("messageType", self.message_type.0),
            ("reserved", self.reserved[0]),
        ] {
            if value > 0x0f {
                return Err(ErrorKind::FieldOutOfRange {
                    field,
                    value: u64::from(value),
                }
                .at(0));
            }
        }
        if self.timestamp.0 >> 48 != 0 {
            return Err(ErrorKind::FieldOutOfRange {
                field: "timestamp",
                value: self.timestamp.0,
            }
            .at(8));
        }
        let r = &self.reserved;
        out[0] = r[0] << 4 | self.message_type.0;
        out[1] = r[1];
        out[2..4].copy_from_slice(&self.sequence_id.to_be_bytes());
        out[4..8].copy_from_slice(&r[2..6]);
        crate::parse::put_u48(&mut out[8..14], self.timestamp.0);
        out[14..22].copy_from_slice(&self.clock_identity.0);
        out[22..24].copy_from_slice(&r[6..8]);
        Ok(Self::LENGTH)
    }

    /// The 24 bytes (see [`CompactTimingPacket::emit`] for the errors).
    pub fn to_bytes(&self) -> Result<[u8; Self::LENGTH], WireError> {
        let mut out = [0; Self::LENGTH];
        self.emit(&mut out)?;
        Ok(out)
    }
}
