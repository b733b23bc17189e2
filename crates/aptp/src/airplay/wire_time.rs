//! Conversions between wire timestamps, AirPlay's 64-bit network time and aptp-clock's
//! [`Time`].

use aptp_clock::Time;
use aptp_wire::{TimeInterval, Timestamp};

/// The engine's own conversions between wire timestamps, correctionFields and [`Time`]:
/// one codec for both roles.
pub(crate) use crate::engine::codec::{correction_field_of, correction_of, encode, time_of};

/// A time as a wire timestamp (whole nanoseconds) and the sub-nanosecond rest as a
/// correctionField, which is where both roles put it. `None` before the epoch or beyond
/// 48-bit seconds.
pub(crate) fn timestamp_of(time: Time) -> Option<(Timestamp, TimeInterval)> {
    let (timestamp, rest) = crate::engine::codec::timestamp_of(time)?;
    Some((timestamp, correction_field_of(rest)))
}

/// AirPlay's network time (SETRATEANCHORTIME's `networkTimeSecs` and `networkTimeFrac`, a
/// 64-bit binary fraction of a second) as a [`Time`], exact to 2^-16 ns.
///
/// ```
/// use aptp::airplay::{network_time_of, time_of_network_time};
/// let time = time_of_network_time(1_000, 1 << 63);
/// assert_eq!(time, aptp_clock::Time::from_nanos(1_000_500_000_000));
/// assert_eq!(network_time_of(time), Some((1_000, 1 << 63)));
/// ```
pub fn time_of_network_time(network_time_secs: u64, network_time_frac: u64) -> Time {
    Time::from_secs_fraction(network_time_secs, network_time_frac)
}

/// A [`Time`] as AirPlay's network time `(secs, 64-bit fraction)`; `None` before the epoch.
pub fn network_time_of(time: Time) -> Option<(u64, u64)> {
    time.to_secs_fraction()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_carry_the_fraction_in_the_correction() {
        let time = Time::from_scaled_nanos((1_700_000_000_123_456_789i128 << 16) + 0x8000);
        let (timestamp, rest) = timestamp_of(time).unwrap();
        assert_eq!(
            timestamp,
            Timestamp::new(1_700_000_000, 123_456_789).unwrap()
        );
        assert_eq!(rest, TimeInterval(0x8000));
        assert_eq!(time_of(timestamp).unwrap() + correction_of(rest), time);
        assert!(timestamp_of(Time::from_scaled_nanos(-1)).is_none());
    }

    #[test]
    fn network_time_round_trips() {
        for (secs, frac) in [(0, 0), (5, 1 << 63), (1_700_000_000, 0x1234_5678_0000_0000)] {
            let time = time_of_network_time(secs, frac);
            let (s, f) = network_time_of(time).unwrap();
            assert_eq!(s, secs);
            // 2^-16 ns is coarser than 2^-64 s: the fraction comes back within one step.
            assert!((f as i128 - frac as i128).abs() < (1i128 << 64) / 1_000_000_000 / 65_536 + 2);
        }
    }
}
