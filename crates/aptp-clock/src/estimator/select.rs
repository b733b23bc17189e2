//! Order statistics of `f64` slices for the estimators' fits: the value at a rank without a
//! sort, in one place.
//!
//! The standard library's selection (`select_nth_unstable_by` with [`f64::total_cmp`]) is
//! what they use. A hand-written median-of-three quickselect with plain comparisons ran fewer
//! instructions (callgrind) but was 2.5 to 3 times slower in real time on 64 to 512 values:
//! its comparisons are data-dependent branches, mispredicted half the time on queueing
//! noise, where the standard partition is branchless.

/// The value that would stand at `index` if `values` were sorted by [`f64::total_cmp`] (NaN
/// last), reordering `values` as `select_nth_unstable_by` does; `None` when `index` is beyond
/// the slice.
pub(crate) fn nth_smallest(values: &mut [f64], index: usize) -> Option<f64> {
    if index >= values.len() {
        return None;
    }
    Some(*values.select_nth_unstable_by(index, f64::total_cmp).1)
}

/// The median of `values` (reordered): the middle value, or the mean of the two middle values
/// for an even count; `None` when empty. (The round-trip history reads its medians off an
/// order it keeps; this is what its tests check it against.)
#[cfg(test)]
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
        // Many equal values, and sorted or reversed input.
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
