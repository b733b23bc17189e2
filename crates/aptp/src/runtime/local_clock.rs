//! The local clock a node measures against: every timestamp, `now` and mapping is on it.

use core::fmt;
use core::str::FromStr;

use aptp_clock::Time;
use aptp_transport::{Timestamp, TimestampClock, TransportError};

/// The local clock of a node. aptp reads it and never steers it.
///
/// ```
/// use aptp::runtime::LocalClock;
/// let clock: LocalClock = "monotonic".parse().unwrap();
/// assert_eq!(clock, LocalClock::Monotonic);
/// assert_eq!(LocalClock::default().name(), "realtime");
/// let a = clock.now().unwrap();
/// assert!(clock.now().unwrap() >= a);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LocalClock {
    /// `CLOCK_REALTIME`, as ptp4l's software timestamping uses (the default, so that figures
    /// compare with ptp4l's). Can jump when someone sets the time.
    #[default]
    Realtime,
    /// `CLOCK_MONOTONIC`: never jumps; slewed by NTP.
    Monotonic,
    /// `CLOCK_MONOTONIC_RAW`: never jumps, never slewed; what nqptp and audio players use.
    MonotonicRaw,
}

impl LocalClock {
    /// Every clock, in the order of the CLI's `--local-clock` values.
    pub const ALL: [LocalClock; 3] = [
        LocalClock::Realtime,
        LocalClock::Monotonic,
        LocalClock::MonotonicRaw,
    ];

    /// The name the CLI takes and prints (`realtime`, `monotonic`, `monotonic_raw`).
    pub const fn name(self) -> &'static str {
        match self {
            LocalClock::Realtime => "realtime",
            LocalClock::Monotonic => "monotonic",
            LocalClock::MonotonicRaw => "monotonic_raw",
        }
    }

    /// The transport's clock for this one.
    pub const fn timestamp_clock(self) -> TimestampClock {
        match self {
            LocalClock::Realtime => TimestampClock::Realtime,
            LocalClock::Monotonic => TimestampClock::Monotonic,
            LocalClock::MonotonicRaw => TimestampClock::MonotonicRaw,
        }
    }

    /// Reads the clock now.
    ///
    /// # Errors
    /// [`TransportError::Clock`] if the system lacks the clock.
    pub fn now(self) -> Result<Time, TransportError> {
        self.timestamp_clock().now().map(to_time)
    }
}

/// A transport timestamp as the engine's time type.
pub(crate) fn to_time(timestamp: Timestamp) -> Time {
    Time::from_nanos_i128(i128::from(timestamp.as_nanos()))
}

impl fmt::Display for LocalClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`LocalClock`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown local clock `{0}` (realtime, monotonic or monotonic_raw)")]
pub struct ParseLocalClockError(pub String);

impl FromStr for LocalClock {
    type Err = ParseLocalClockError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalised = text.replace('-', "_");
        LocalClock::ALL
            .into_iter()
            .find(|clock| clock.name() == normalised)
            .ok_or_else(|| ParseLocalClockError(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_fail() {
        for clock in LocalClock::ALL {
            assert_eq!(clock.name().parse::<LocalClock>(), Ok(clock));
        }
        assert_eq!("monotonic-raw".parse(), Ok(LocalClock::MonotonicRaw));
        assert!("tai".parse::<LocalClock>().is_err());
    }

    #[test]
    fn timestamps_convert_exactly() {
        assert_eq!(
            to_time(Timestamp::from_nanos(1_234)),
            Time::from_nanos(1_234)
        );
    }
}
