//! Clock and port identities.

use core::fmt;
use core::str::FromStr;

use nom::Parser;

use crate::field;
use crate::parse::{array_ref, read_array, read_u16, PResult};

/// A clockIdentity: 8 bytes, usually an EUI-64 (a MAC address with `ff fe` in the middle, or,
/// on Apple devices, bytes ending `00 08`).
///
/// Displays as 16 lowercase hex digits; [`ClockIdentity::dotted`] gives linuxptp's
/// `001122.fffe.334455` form. Both forms parse.
///
/// ```
/// use aptp_wire::ClockIdentity;
///
/// let id: ClockIdentity = "001122.fffe.334455".parse().unwrap();
/// assert_eq!(id, ClockIdentity([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]));
/// assert_eq!(id.to_string(), "001122fffe334455");
/// assert_eq!(id.dotted().to_string(), "001122.fffe.334455");
/// assert_eq!("001122fffe334455".parse::<ClockIdentity>().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ClockIdentity(pub [u8; 8]);

impl ClockIdentity {
    /// Every byte zero (as in an Apple Signaling's targetPortIdentity).
    pub const ZERO: ClockIdentity = ClockIdentity([0; 8]);
    /// Every byte 0xFF: "all clocks" in a targetPortIdentity.
    pub const ALL: ClockIdentity = ClockIdentity([0xff; 8]);

    /// A Display helper printing linuxptp's dotted form, `001122.fffe.334455`.
    pub const fn dotted(self) -> DottedClockIdentity {
        DottedClockIdentity(self)
    }

    /// The EUI-64 built from a 48-bit MAC address by inserting `ff fe` in the middle (IEEE
    /// 1588-2019 7.5.2.2.2).
    pub const fn from_mac(mac: [u8; 6]) -> Self {
        ClockIdentity([mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]])
    }

    #[inline(always)]
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        nom::combinator::map(array_ref::<8>, |b| ClockIdentity(*b)).parse(input)
    }
}

impl fmt::Display for ClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClockIdentity({self})")
    }
}

impl From<[u8; 8]> for ClockIdentity {
    fn from(bytes: [u8; 8]) -> Self {
        ClockIdentity(bytes)
    }
}

/// Displays a [`ClockIdentity`] as linuxptp does: `001122.fffe.334455`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DottedClockIdentity(pub ClockIdentity);

impl fmt::Display for DottedClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 .0;
        write!(
            f,
            "{:02x}{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

/// Why a string is not a clock identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a clock identity: expected 16 hex digits or the dotted form 001122.fffe.334455")]
pub struct ParseClockIdentityError;

impl FromStr for ClockIdentity {
    type Err = ParseClockIdentityError;

    /// Accepts 16 hex digits (either case) or linuxptp's `xxxxxx.xxxx.xxxxxx`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        let mut digits = [0u8; 16];
        match bytes.len() {
            16 => digits.copy_from_slice(bytes),
            18 if bytes[6] == b'.' && bytes[11] == b'.' => {
                digits[..6].copy_from_slice(&bytes[..6]);
                digits[6..10].copy_from_slice(&bytes[7..11]);
                digits[10..].copy_from_slice(&bytes[12..]);
            }
            _ => return Err(ParseClockIdentityError),
        }
        let mut out = [0u8; 8];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            out[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(ClockIdentity(out))
    }
}

fn hex_digit(c: u8) -> Result<u8, ParseClockIdentityError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(ParseClockIdentityError),
    }
}

/// A portIdentity: the clock's identity and the port's number (10 bytes on the wire).
///
/// Displays as linuxptp does, `001122.fffe.334455-1`.
///
/// ```
/// use aptp_wire::{ClockIdentity, PortIdentity};
///
/// let port = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 0x8005);
/// assert_eq!(port.to_string(), "010203.0405.060708-32773");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct PortIdentity {
    /// The clock's identity.
    pub clock_identity: ClockIdentity,
    /// The port's number on that clock (1-based; 0xFFFF means all ports).
    pub port_number: u16,
}

impl PortIdentity {
    /// All zero, as Apple sends in Signaling's targetPortIdentity.
    pub const ZERO: PortIdentity = PortIdentity::new(ClockIdentity::ZERO, 0);
    /// All ones: every port of every clock (a wildcard target).
    pub const ALL: PortIdentity = PortIdentity::new(ClockIdentity::ALL, 0xffff);

    /// A port identity from its parts.
    pub const fn new(clock_identity: ClockIdentity, port_number: u16) -> Self {
        Self {
            clock_identity,
            port_number,
        }
    }

    #[inline(always)]
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        nom::combinator::map(
            array_ref::<{ field::port_identity::LENGTH }>,
            Self::from_bytes,
        )
        .parse(input)
    }

    /// From the 10 wire bytes.
    #[inline(always)]
    pub fn from_bytes(b: &[u8; field::port_identity::LENGTH]) -> Self {
        PortIdentity {
            clock_identity: ClockIdentity(read_array(
                b,
                field::port_identity::CLOCK_IDENTITY.start,
            )),
            port_number: read_u16(b, field::port_identity::PORT_NUMBER.start),
        }
    }

    /// Writes the 10 wire bytes into `out`, which the caller sized.
    pub(crate) fn write(&self, out: &mut [u8; field::port_identity::LENGTH]) {
        out[field::port_identity::CLOCK_IDENTITY].copy_from_slice(&self.clock_identity.0);
        out[field::port_identity::PORT_NUMBER].copy_from_slice(&self.port_number.to_be_bytes());
    }

    /// The 10 wire bytes.
    pub fn to_bytes(&self) -> [u8; field::port_identity::LENGTH] {
        let mut out = [0; field::port_identity::LENGTH];
        self.write(&mut out);
        out
    }
}

impl fmt::Display for PortIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.clock_identity.dotted(), self.port_number)
    }
}
