//! Time on the wire: the 80-bit PTP timestamp, the correctionField's scaled nanoseconds, and
//! the 64-bit NTP-style 32.32 form AirPlay uses, with exact conversions between them.
//!
//! Rounding rule, everywhere a conversion loses precision: **round to the nearest, halves
//! up**. A fraction that rounds up to a whole second carries into the seconds.

use core::fmt;
use core::time::Duration;

use nom::Parser;

use crate::field;
use crate::parse::{array_ref, put_u48, read_u32, read_u48, PResult};

/// Nanoseconds in a second.
pub const NANOSECONDS_PER_SECOND: u32 = 1_000_000_000;

/// A PTP timestamp: 48-bit seconds and 32-bit nanoseconds (10 bytes on the wire).
///
/// Parsing is permissive and keeps a nanoseconds field of 10^9 or more as it is;
/// [`Timestamp::is_valid`] (and [`crate::Message::validate`]) tells.
///
/// ```
/// use aptp_wire::Timestamp;
///
/// let t = Timestamp::new(1, 500_000_000).unwrap();
/// assert_eq!(t.total_nanoseconds(), 1_500_000_000);
/// assert_eq!(Timestamp::from_total_nanoseconds(1_500_000_000), Some(t));
/// assert_eq!(t.to_string(), "1.500000000");
/// assert!(Timestamp::new(0, 1_000_000_000).is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Timestamp {
    /// Seconds; only the low 48 bits go on the wire (see [`Timestamp::MAX_SECONDS`]).
    pub seconds: u64,
    /// Nanoseconds, valid below 10^9.
    pub nanoseconds: u32,
}

impl Timestamp {
    /// The largest seconds value the 48-bit field holds.
    pub const MAX_SECONDS: u64 = (1 << 48) - 1;
    /// Zero.
    pub const ZERO: Timestamp = Timestamp {
        seconds: 0,
        nanoseconds: 0,
    };
    /// The latest valid timestamp.
    pub const MAX: Timestamp = Timestamp {
        seconds: Self::MAX_SECONDS,
        nanoseconds: NANOSECONDS_PER_SECOND - 1,
    };

    /// A timestamp, or `None` when `seconds` needs more than 48 bits or `nanoseconds` is not
    /// below 10^9.
    pub const fn new(seconds: u64, nanoseconds: u32) -> Option<Self> {
        let t = Timestamp {
            seconds,
            nanoseconds,
        };
        if t.is_valid() {
            Some(t)
        } else {
            None
        }
    }

    /// Whether seconds fits in 48 bits and nanoseconds is below 10^9.
    pub const fn is_valid(&self) -> bool {
        self.seconds <= Self::MAX_SECONDS && self.nanoseconds < NANOSECONDS_PER_SECOND
    }

    /// Nanoseconds since the epoch (exact; an invalid nanoseconds field counts as it is).
    pub const fn total_nanoseconds(&self) -> u128 {
        self.seconds as u128 * NANOSECONDS_PER_SECOND as u128 + self.nanoseconds as u128
    }

    /// The timestamp `nanoseconds` after the epoch, or `None` past [`Timestamp::MAX`].
    pub const fn from_total_nanoseconds(nanoseconds: u128) -> Option<Self> {
        let seconds = nanoseconds / NANOSECONDS_PER_SECOND as u128;
        if seconds > Self::MAX_SECONDS as u128 {
            return None;
        }
        Some(Timestamp {
            seconds: seconds as u64,
            nanoseconds: (nanoseconds % NANOSECONDS_PER_SECOND as u128) as u32,
        })
    }

    /// This timestamp moved by `nanoseconds` (negative: earlier), or `None` when the result
    /// falls before zero or after [`Timestamp::MAX`].
    pub const fn checked_add_nanoseconds(&self, nanoseconds: i128) -> Option<Self> {
        // total_nanoseconds() < 2^80, so the cast is exact; the sum may still overflow.
        match (self.total_nanoseconds() as i128).checked_add(nanoseconds) {
            Some(total) if total >= 0 => Self::from_total_nanoseconds(total as u128),
            _ => None,
        }
    }

    /// `self − earlier` in nanoseconds (negative when `earlier` is later).
    pub const fn nanoseconds_since(&self, earlier: &Timestamp) -> i128 {
        self.total_nanoseconds() as i128 - earlier.total_nanoseconds() as i128
    }

    #[inline(always)]
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        nom::combinator::map(array_ref::<{ field::timestamp::LENGTH }>, Self::from_bytes)
            .parse(input)
    }

    /// From the 10 wire bytes (permissive: any nanoseconds value is kept).
    #[inline(always)]
    pub fn from_bytes(b: &[u8; field::timestamp::LENGTH]) -> Self {
        Timestamp {
            seconds: read_u48(b, field::timestamp::SECONDS.start),
            nanoseconds: read_u32(b, field::timestamp::NANOSECONDS.start),
        }
    }

    /// Writes the 10 wire bytes; fails when seconds needs more than 48 bits.
    pub(crate) fn write(
        &self,
        out: &mut [u8; field::timestamp::LENGTH],
    ) -> Result<(), crate::WireError> {
        if self.seconds > Self::MAX_SECONDS {
            return Err(crate::ErrorKind::FieldOutOfRange {
                field: "seconds",
                value: self.seconds,
            }
            .at(0));
        }
        put_u48(&mut out[field::timestamp::SECONDS], self.seconds);
        out[field::timestamp::NANOSECONDS].copy_from_slice(&self.nanoseconds.to_be_bytes());
        Ok(())
    }

    /// The 10 wire bytes, or an error when seconds needs more than 48 bits.
    pub fn to_bytes(&self) -> Result<[u8; field::timestamp::LENGTH], crate::WireError> {
        let mut out = [0; field::timestamp::LENGTH];
        self.write(&mut out)?;
        Ok(out)
    }
}

impl fmt::Display for Timestamp {
    /// `seconds.nanoseconds` with nine digits after the point.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds, self.nanoseconds)
    }
}

impl From<Timestamp> for Duration {
    /// Exact (an invalid nanoseconds field carries into the seconds).
    fn from(t: Timestamp) -> Duration {
        Duration::from_secs(t.seconds) + Duration::from_nanos(u64::from(t.nanoseconds))
    }
}

/// A value did not fit the time form it was converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time value out of range for the target form")]
pub struct TimeRangeError;

impl TryFrom<Duration> for Timestamp {
    type Error = TimeRangeError;

    /// Exact; fails past [`Timestamp::MAX_SECONDS`].
    fn try_from(d: Duration) -> Result<Self, TimeRangeError> {
        Timestamp::new(d.as_secs(), d.subsec_nanos()).ok_or(TimeRangeError)
    }
}

/// A TimeInterval, as in correctionField: nanoseconds multiplied by 2^16 (signed).
///
/// ```
/// use aptp_wire::TimeInterval;
///
/// let c = TimeInterval::from_nanoseconds(-3).unwrap();
/// assert_eq!(c.0, -3 * 65536);
/// assert_eq!(c.nanoseconds(), -3);
/// assert_eq!(TimeInterval(0x18000).nanoseconds(), 1); // 1.5 ns: floor
/// assert_eq!(TimeInterval(0x18000).to_string(), "1.5 ns");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct TimeInterval(pub i64);

impl TimeInterval {
    /// Zero.
    pub const ZERO: TimeInterval = TimeInterval(0);

    /// `nanoseconds` scaled by 2^16, or `None` when it does not fit (|ns| ≥ 2^47).
    pub const fn from_nanoseconds(nanoseconds: i64) -> Option<Self> {
        match nanoseconds.checked_mul(1 << 16) {
            Some(scaled) => Some(TimeInterval(scaled)),
            None => None,
        }
    }

    /// Whole nanoseconds, rounded toward negative infinity (an arithmetic shift).
    pub const fn nanoseconds(&self) -> i64 {
        self.0 >> 16
    }

    /// The sub-nanosecond part in units of 2^-16 ns (0..65535; `nanoseconds() * 65536 +
    /// fractional() == self.0`).
    pub const fn fractional(&self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// Nanoseconds as a float (exact up to 2^53 / 2^16 ns, rounded beyond).
    pub fn nanoseconds_f64(&self) -> f64 {
        self.0 as f64 / 65536.0
    }
}

impl fmt::Display for TimeInterval {
    /// Nanoseconds with their fraction, e.g. `1.5 ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ns", self.nanoseconds_f64())
    }
}

/// The 64-bit NTP-style time: 32-bit seconds and a 32-bit binary fraction of a second
/// (AirPlay's network time, AirPlay 1's timing packets).
///
/// Conversions to and from [`Timestamp`] keep the seconds and round the fraction to the
/// nearest nanosecond (or the nearest 2^-32 s), halves up. Nanoseconds → fraction →
/// nanoseconds is exact, since a nanosecond is more than four units of 2^-32 s.
///
/// ```
/// use aptp_wire::{NtpTimestamp, Timestamp};
///
/// let half = NtpTimestamp { seconds: 7, fraction: 0x8000_0000 };
/// assert_eq!(half.to_timestamp(), Timestamp { seconds: 7, nanoseconds: 500_000_000 });
/// assert_eq!(NtpTimestamp::from_timestamp(Timestamp { seconds: 7, nanoseconds: 500_000_000 }), Some(half));
/// assert_eq!(NtpTimestamp::from_bits(half.to_bits()), half);
/// // A fraction just below one second rounds up into the next second.
/// let almost = NtpTimestamp { seconds: 7, fraction: u32::MAX };
/// assert_eq!(almost.to_timestamp(), Timestamp { seconds: 8, nanoseconds: 0 });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct NtpTimestamp {
    /// Whole seconds.
    pub seconds: u32,
    /// The fraction of a second in units of 2^-32 s.
    pub fraction: u32,
}

impl NtpTimestamp {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    pub const UNIX_EPOCH_SECONDS: u32 = 2_208_988_800;

    /// From the 64-bit wire value (seconds in the high 32 bits).
    pub const fn from_bits(bits: u64) -> Self {
        NtpTimestamp {
            seconds: (bits >> 32) as u32,
            fraction: bits as u32,
        }
    }

    /// The 64-bit wire value (seconds in the high 32 bits).
    pub const fn to_bits(&self) -> u64 {
        ((self.seconds as u64) << 32) | self.fraction as u64
    }

    /// The fraction in nanoseconds, rounded to the nearest, halves up: 0..=10^9 (10^9 only
    /// for fractions within half a nanosecond of a whole second).
    pub const fn fraction_nanoseconds(fraction: u32) -> u32 {
        ((fraction as u64 * NANOSECONDS_PER_SECOND as u64 + (1 << 31)) >> 32) as u32
    }

    /// Nanoseconds (below 10^9) as a fraction in units of 2^-32 s, rounded to the nearest,
    /// halves up; `None` for 10^9 or more.
    pub const fn nanoseconds_fraction(nanoseconds: u32) -> Option<u32> {
        if nanoseconds >= NANOSECONDS_PER_SECOND {
            return None;
        }
        let scaled = ((nanoseconds as u64) << 32) + NANOSECONDS_PER_SECOND as u64 / 2;
        Some((scaled / NANOSECONDS_PER_SECOND as u64) as u32)
    }

    /// As a PTP timestamp (always fits: 32-bit seconds, plus a possible carry).
    pub const fn to_timestamp(&self) -> Timestamp {
        let ns = Self::fraction_nanoseconds(self.fraction);
        if ns == NANOSECONDS_PER_SECOND {
            Timestamp {
                seconds: self.seconds as u64 + 1,
                nanoseconds: 0,
            }
        } else {
            Timestamp {
                seconds: self.seconds as u64,
                nanoseconds: ns,
            }
        }
    }

    /// From a PTP timestamp; `None` when its seconds need more than 32 bits or its nanoseconds
    /// field is invalid.
    pub const fn from_timestamp(t: Timestamp) -> Option<Self> {
        if t.seconds > u32::MAX as u64 {
            return None;
        }
        match Self::nanoseconds_fraction(t.nanoseconds) {
            Some(fraction) => Some(NtpTimestamp {
                seconds: t.seconds as u32,
                fraction,
            }),
            None => None,
        }
    }
}

impl From<NtpTimestamp> for Timestamp {
    /// See [`NtpTimestamp::to_timestamp`].
    fn from(t: NtpTimestamp) -> Timestamp {
        t.to_timestamp()
    }
}

impl TryFrom<Timestamp> for NtpTimestamp {
    type Error = TimeRangeError;

    /// See [`NtpTimestamp::from_timestamp`].
    fn try_from(t: Timestamp) -> Result<Self, TimeRangeError> {
        NtpTimestamp::from_timestamp(t).ok_or(TimeRangeError)
    }
}

impl fmt::Display for NtpTimestamp {
    /// `seconds.nanoseconds` (rounded as [`NtpTimestamp::to_timestamp`] does).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_timestamp(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_edges() {
        assert_eq!(NtpTimestamp::fraction_nanoseconds(0), 0);
        assert_eq!(NtpTimestamp::fraction_nanoseconds(u32::MAX), 1_000_000_000);
        // 1 unit = 0.2328 ns -> 0; 3 units = 0.698 ns -> 1.
        assert_eq!(NtpTimestamp::fraction_nanoseconds(1), 0);
        assert_eq!(NtpTimestamp::fraction_nanoseconds(3), 1);
        assert_eq!(NtpTimestamp::nanoseconds_fraction(0), Some(0));
        assert_eq!(
            NtpTimestamp::nanoseconds_fraction(999_999_999),
            Some(4_294_967_292)
        );
        assert_eq!(NtpTimestamp::nanoseconds_fraction(1_000_000_000), None);
        // 1 ns = 4.294967296 units -> 4.
        assert_eq!(NtpTimestamp::nanoseconds_fraction(1), Some(4));
        let max = NtpTimestamp {
            seconds: u32::MAX,
            fraction: u32::MAX,
        };
        assert_eq!(
            max.to_timestamp(),
            Timestamp {
                seconds: 1 << 32,
                nanoseconds: 0
            }
        );
        assert_eq!(
            NtpTimestamp::from_timestamp(Timestamp {
                seconds: 1 << 32,
                nanoseconds: 0
            }),
            None
        );
        for ns in [
            0,
            1,
            2,
            3,
            499_999_999,
            500_000_000,
            999_999_998,
            999_999_999,
        ] {
            let f = NtpTimestamp::nanoseconds_fraction(ns).unwrap();
            assert_eq!(NtpTimestamp::fraction_nanoseconds(f), ns);
        }
    }

    #[test]
    fn timestamp_edges() {
        assert_eq!(Timestamp::from_total_nanoseconds(0), Some(Timestamp::ZERO));
        assert_eq!(
            Timestamp::from_total_nanoseconds(Timestamp::MAX.total_nanoseconds()),
            Some(Timestamp::MAX)
        );
        assert_eq!(
            Timestamp::from_total_nanoseconds(Timestamp::MAX.total_nanoseconds() + 1),
            None
        );
        assert_eq!(Timestamp::MAX.checked_add_nanoseconds(1), None);
        assert_eq!(Timestamp::ZERO.checked_add_nanoseconds(-1), None);
        assert_eq!(Timestamp::MAX.checked_add_nanoseconds(i128::MAX), None);
        assert_eq!(Timestamp::ZERO.checked_add_nanoseconds(i128::MIN), None);
        assert_eq!(
            Timestamp::ZERO.checked_add_nanoseconds(1_000_000_001),
            Some(Timestamp {
                seconds: 1,
                nanoseconds: 1
            })
        );
        assert!(Timestamp {
            seconds: 1 << 48,
            nanoseconds: 0
        }
        .to_bytes()
        .is_err());
        assert_eq!(
            Timestamp::MAX.to_bytes().unwrap(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3b, 0x9a, 0xc9, 0xff]
        );
    }

    #[test]
    fn time_interval() {
        assert_eq!(TimeInterval(-1).nanoseconds(), -1);
        assert_eq!(TimeInterval(-1).fractional(), 0xffff);
        assert_eq!(TimeInterval::from_nanoseconds(1 << 47), None);
        assert_eq!(
            TimeInterval::from_nanoseconds((1 << 47) - 1).map(|t| t.nanoseconds()),
            Some((1 << 47) - 1)
        );
    }
}
