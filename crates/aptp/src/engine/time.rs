//! The engine's notion of time: instants of the caller's local clock as aptp-clock's
//! [`Time`](aptp_clock::Time) (nanoseconds with 16 fractional bits).
//!
//! The engine never reads a clock. Every call takes `now`, and every receive or transmit
//! timestamp is an instant of the same clock (realtime or monotonic, as the caller chooses).
//! As master, the engine's PTP timescale *is* this clock: the preciseOriginTimestamp of a
//! Follow_Up is the Sync's transmit instant written as seconds and nanoseconds.

use aptp_clock::{Time, TimeDelta};

/// The instant `nanos` nanoseconds after `instant` (saturating).
pub(crate) fn after(instant: Time, nanos: u64) -> Time {
    instant + TimeDelta::from_nanos_i128(i128::from(nanos))
}

/// Whole nanoseconds from `earlier` to `later`, 0 if `earlier` is later.
pub(crate) fn nanos_since(later: Time, earlier: Time) -> u64 {
    u64::try_from(later.since(earlier).nanos_floor()).unwrap_or(if later > earlier {
        u64::MAX
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_and_since_are_inverse_and_saturate_below_zero() {
        let t = Time::from_nanos(1_500_000_000);
        assert_eq!(after(t, 500_000_000), Time::from_nanos(2_000_000_000));
        assert_eq!(nanos_since(after(t, 7), t), 7);
        assert_eq!(nanos_since(t, after(t, 7)), 0);
    }
}
