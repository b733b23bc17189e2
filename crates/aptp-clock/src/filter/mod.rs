//! Filters: small fixed-capacity types, each with one documented contract and no allocation.

mod median;
mod min_delay;
mod outlier;
mod step;

pub use median::MovingMedian;
pub use min_delay::MinDelayWindow;
pub use outlier::{OutlierRule, RoundTripOutlierFilter};
pub use step::{StepDetector, StepDetectorConfig, StepVerdict};

use crate::time::TimeDelta;

/// Sorts `values` in place and returns their median (the mean of the two middle values, rounded
/// down, for an even count); `None` when empty.
pub(crate) fn median_in_place(values: &mut [TimeDelta]) -> Option<TimeDelta> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        Some(values[middle])
    } else {
        Some((values[middle - 1] + values[middle]).half())
    }
}
