//! Order statistics of `f64` slices for the estimators' fits: the value at a rank without a
//! sort.
//!
//! The default estimator takes several quantiles of up to 512 values at every fit (each
//! direction's lucky fraction per segment, the median queueing, the residuals' MAD) and two
//! medians of 64 round trips at every exchange. `select_nth_unstable_by(f64::total_cmp)` spent
//! about 70 instructions per value on them; a quickselect with plain comparisons, once NaN is
//! ruled out, spends a fraction of that, and these selections were a quarter of a receiver's
//! time in the week-long soak.

/// Slices this short are finished by insertion sort.
const INSERTION_BELOW: usize = 16;
/// Partition rounds before the rest is handed to the standard library's selection, whose
/// worst case is linear: network timestamps cannot make a fit quadratic.
const MAX_ROUNDS: u32 = 48;

/// The value that would stand at `index` if `values` were sorted by [`f64::total_cmp`] (NaN
/// last), reordering `values`; `None` when `index` is beyond the slice. Equal to
/// `*values.select_nth_unstable_by(index, f64::total_cmp).1` except that it may return `0.0`
/// where that returns `-0.0` (or the reverse): the same number.
pub(crate) fn nth_smallest(values: &mut [f64], index: usize) -> Option<f64> {
    if index >= values.len() {
        return None;
    }
    if values.iter().any(|value| value.is_nan()) {
        return Some(*values.select_nth_unstable_by(index, f64::total_cmp).1);
    }
    Some(select_without_nan(values, index))
}

/// The median of `values` (reordered): the middle value, or the mean of the two middle values
/// for an even count; `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    let middle = values.len() / 2;
    let upper_middle = nth_smallest(values, middle)?;
    if values.len() % 2 == 1 {
        return Some(upper_middle);
    }
    // Below `middle` now lie the values that sort before it: the lower middle is their largest.
    let lower_middle = values[..middle]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    Some((lower_middle + upper_middle) / 2.0)
}

/// Quickselect (median-of-three pivot, Hoare partition) on values without NaN; the slice is
/// not empty and `index` is within it. Afterwards every value before `index` is `<=` the one
/// at `index` and every value after it `>=`, as `select_nth_unstable` leaves them.
fn select_without_nan(values: &mut [f64], index: usize) -> f64 {
    let mut low = 0;
    let mut high = values.len() - 1;
    let mut rounds = 0;
    while high - low >= INSERTION_BELOW {
        rounds += 1;
        if rounds > MAX_ROUNDS {
            values[low..=high].select_nth_unstable_by(index - low, f64::total_cmp);
            return values[index];
        }
        let middle = low + (high - low) / 2;
        // Order low, middle, high: the pivot (the middle one) then has a value on each side
        // that stops the scans below, so they never leave [low, high].
        if values[middle] < values[low] {
            values.swap(middle, low);
        }
        if values[high] < values[low] {
            values.swap(high, low);
        }
        if values[high] < values[middle] {
            values.swap(high, middle);
        }
        let pivot = values[middle];
        let mut left = low;
        let mut right = high;
        // Hoare: afterwards [low, split] <= pivot <= [split + 1, high], low <= split < high.
        let split = loop {
            while values[left] < pivot {
                left += 1;
            }
            while pivot < values[right] {
                right -= 1;
            }
            if left >= right {
                break right;
            }
            values.swap(left, right);
            left += 1;
            right -= 1;
        };
        if index <= split {
            high = split;
        } else {
            low = split + 1;
        }
    }
    // Insertion sort of what is left: at most INSERTION_BELOW values.
    for next in low + 1..=high {
        let value = values[next];
        let mut at = next;
        while at > low && value < values[at - 1] {
            values[at] = values[at - 1];
            at -= 1;
        }
        values[at] = value;
    }
    values[index]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn reference(values: &[f64], index: usize) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[index]
    }

    #[test]
    fn edges() {
        assert_eq!(nth_smallest(&mut [], 0), None);
        assert_eq!(nth_smallest(&mut [1.0], 1), None);
        assert_eq!(nth_smallest(&mut [3.0, 1.0, 2.0], 0), Some(1.0));
        assert_eq!(
            nth_smallest(&mut [f64::NAN, 1.0, 2.0], 2).map(f64::is_nan),
            Some(true)
        );
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut []), None);
        // Many equal values (the scans stop on equal ones) and sorted or reversed input.
        let mut equal = [7.0; 300];
        assert_eq!(nth_smallest(&mut equal, 150), Some(7.0));
        let ascending: Vec<f64> = (0..512).map(f64::from).collect();
        for index in [0, 1, 255, 256, 511] {
            assert_eq!(
                nth_smallest(&mut ascending.clone(), index),
                Some(index as f64)
            );
            let mut descending: Vec<f64> = ascending.iter().rev().copied().collect();
            assert_eq!(nth_smallest(&mut descending, index), Some(index as f64));
        }
    }

    proptest! {
        #[test]
        fn equals_a_sort(
            values in proptest::collection::vec(
                prop_oneof![
                    -1e6f64..1e6,
                    (0u8..4).prop_map(f64::from),
                    Just(f64::INFINITY),
                    Just(f64::NEG_INFINITY),
                ],
                1..600,
            ),
            pick in any::<prop::sample::Index>(),
        ) {
            let index = pick.index(values.len());
            let mut work = values.clone();
            let found = nth_smallest(&mut work, index).unwrap();
            prop_assert_eq!(found, reference(&values, index));
            // Partitioned around it, as select_nth_unstable leaves a slice.
            prop_assert!(work[..index].iter().all(|value| *value <= found));
            prop_assert!(work[index + 1..].iter().all(|value| *value >= found));
            let mut work = values.clone();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let middle = sorted.len() / 2;
            let expected = if sorted.len() % 2 == 1 {
                sorted[middle]
            } else {
                (sorted[middle - 1] + sorted[middle]) / 2.0
            };
            let got = median(&mut work).unwrap();
            prop_assert!(got == expected || (got.is_nan() && expected.is_nan()));
        }
    }
}
