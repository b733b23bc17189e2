//! Moving median: linuxptp's path delay filter.

use crate::time::TimeDelta;

/// The median of the last `N` values pushed (linuxptp's `delay_filter moving_median`,
/// `delay_filter_length 10` by default, hence `N = 10` as the default).
///
/// Contract: after any sequence of pushes, [`median`](Self::median) equals the median of the
/// newest `min(N, pushed)` values sorted (for an even count, the mean of the two middle ones
/// rounded towards negative infinity), and `None` before the first push. `N` must be at least 1;
/// `MovingMedian::<0>` never holds a value.
///
/// ```
/// use aptp_clock::{MovingMedian, TimeDelta};
/// let mut filter = MovingMedian::<10>::new();
/// for micros in [50, 52, 900, 51, 49] {
///     filter.push(TimeDelta::from_micros(micros));
/// }
/// assert_eq!(filter.median(), Some(TimeDelta::from_micros(51)));
/// ```
#[derive(Clone, Debug)]
pub struct MovingMedian<const N: usize = 10> {
    values: [TimeDelta; N],
    len: usize,
    next: usize,
}

impl<const N: usize> Default for MovingMedian<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MovingMedian<N> {
    /// An empty filter.
    pub const fn new() -> Self {
        Self {
            values: [TimeDelta::ZERO; N],
            len: 0,
            next: 0,
        }
    }
    /// Adds a value, forgetting the oldest once `N` are held.
    pub fn push(&mut self, value: TimeDelta) {
        if N == 0 {
            return;
        }
        self.values[self.next] = value;
        self.next = (self.next + 1) % N;
        if self.len < N {
            self.len += 1;
        }
    }
    /// How many values are held.
    pub const fn len(&self) -> usize {
        self.len
    }
    /// True before the first push.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Forgets every value.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
    /// The median of the values held.
    pub fn median(&self) -> Option<TimeDelta> {
        let mut sorted = self.values;
        super::median_in_place(&mut sorted[..self.len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_and_odd_counts() {
        let mut filter = MovingMedian::<4>::new();
        assert_eq!(filter.median(), None);
        filter.push(TimeDelta::from_nanos(10));
        assert_eq!(filter.median(), Some(TimeDelta::from_nanos(10)));
        filter.push(TimeDelta::from_nanos(20));
        assert_eq!(filter.median(), Some(TimeDelta::from_nanos(15)));
        for nanos in [1, 2, 3, 4] {
            filter.push(TimeDelta::from_nanos(nanos));
        }
        // Only 1..=4 remain.
        assert_eq!(
            filter.median(),
            Some(TimeDelta::from_scaled_nanos(2 * 65536 + 32768))
        );
        filter.clear();
        assert!(filter.is_empty());
    }
}
