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

/// Reorders `values` (a selection, not a full sort) and returns their median (the mean of the two middle values, rounded
/// down, for an even count); `None` when empty.
pub(crate) fn median_in_place(values: &mut [TimeDelta]) -> Option<TimeDelta> {
    if values.is_empty() {
        return None;
    }
    // Selection, not a sort: O(n), and the same middle values.
    let odd = values.len() % 2 == 1;
    let middle = values.len() / 2;
    let (below, upper_middle, _) = values.select_nth_unstable(middle);
    let upper_middle = *upper_middle;
    if odd {
        return Some(upper_middle);
    }
    // Even: the lower middle is the largest of those below.
    let lower_middle = below.iter().copied().max().unwrap_or(upper_middle);
    Some((lower_middle + upper_middle).half())
}
