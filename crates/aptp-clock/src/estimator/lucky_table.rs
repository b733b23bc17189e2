//! The points of one fit as plain numbers: read once per fit, so that the weights, every
//! window's moments and the residuals walk arrays instead of converting each point's times
//! again for each of them.

use super::{LuckyRegression, CAPACITY};
use crate::time::{Time, TimeDelta};

/// The held points, newest first, in nanoseconds: x relative to the fit's `now`, y relative
/// to the estimator's `offset_ref`. NaN where a point has no such value (no Delay_Req).
pub(super) struct PointTable {
    pub(super) count: usize,
    /// Each point's local instant (t2).
    pub(super) local_x: [f64; CAPACITY],
    /// Its offset at the current rate.
    pub(super) offset_y: [f64; CAPACITY],
    /// Its Sync alone, `t1 − t2` (at `local_x`).
    pub(super) forward_y: [f64; CAPACITY],
    /// Its Delay_Req's local instant (t3) …
    pub(super) backward_x: [f64; CAPACITY],
    /// … and `t4 − t3`.
    pub(super) backward_y: [f64; CAPACITY],
    /// Its round trip at the current rate.
    pub(super) round_trip: [f64; CAPACITY],
    /// The shortest of those round trips.
    pub(super) min_round_trip: Option<TimeDelta>,
}

impl PointTable {
    pub(super) fn gather(estimator: &LuckyRegression, now: Time) -> Self {
        let mut table = Self {
            count: 0,
            local_x: [f64::NAN; CAPACITY],
            offset_y: [f64::NAN; CAPACITY],
            forward_y: [f64::NAN; CAPACITY],
            backward_x: [f64::NAN; CAPACITY],
            backward_y: [f64::NAN; CAPACITY],
            round_trip: [f64::NAN; CAPACITY],
            min_round_trip: None,
        };
        let rate = estimator.rate_offset;
        let now_ns = (now - estimator.time_ref).as_nanos_f64();
        let mut min_round_trip = f64::INFINITY;
        for (index, point) in estimator.newest().enumerate() {
            let numbers = point.numbers;
            let x = numbers.local_ns - now_ns;
            table.local_x[index] = x;
            table.offset_y[index] = numbers.offset_raw_ns - numbers.gap_ns * rate / 2.0;
            let round_trip_raw = numbers.round_trip_raw_ns;
            if round_trip_raw.is_finite() {
                let forward = numbers.offset_raw_ns - round_trip_raw / 2.0;
                table.forward_y[index] = forward;
                table.backward_x[index] = x + numbers.gap_ns;
                table.backward_y[index] = forward + round_trip_raw;
                let round_trip = round_trip_raw - numbers.gap_ns * rate;
                table.round_trip[index] = round_trip;
                min_round_trip = min_round_trip.min(round_trip);
            }
            table.count = index + 1;
        }
        table.min_round_trip = min_round_trip
            .is_finite()
            .then(|| TimeDelta::from_nanos_f64(min_round_trip));
        table
    }
}
