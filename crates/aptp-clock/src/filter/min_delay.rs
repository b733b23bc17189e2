//! Minimum-delay ("lucky packet") window selection.

use crate::time::TimeDelta;

/// Keeps the last `N` (delay, value) pairs and selects the one that travelled fastest.
///
/// Contract: [`best`](Self::best) returns, among the newest `min(N, pushed)` pairs, the one
/// with the smallest delay (the newest of equals), or `None` when empty. The packet that met
/// the least queueing carries the least error, so its value is the one to believe.
///
/// ```
/// use aptp_clock::{MinDelayWindow, TimeDelta};
/// let mut window = MinDelayWindow::<8, i32>::new();
/// window.push(TimeDelta::from_micros(120), 1);
/// window.push(TimeDelta::from_micros(101), 2);
/// window.push(TimeDelta::from_micros(180), 3);
/// assert_eq!(window.best(), Some((TimeDelta::from_micros(101), 2)));
/// ```
#[derive(Clone, Debug)]
pub struct MinDelayWindow<const N: usize, T: Copy + Default> {
    entries: [(TimeDelta, T); N],
    len: usize,
    next: usize,
}

impl<const N: usize, T: Copy + Default> Default for MinDelayWindow<N, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, T: Copy + Default> MinDelayWindow<N, T> {
    /// An empty window.
    pub fn new() -> Self {
        Self {
            entries: [(TimeDelta::ZERO, T::default()); N],
            len: 0,
            next: 0,
        }
    }
    /// Adds a pair, forgetting the oldest once `N` are held.
    pub fn push(&mut self, delay: TimeDelta, value: T) {
        if N == 0 {
            return;
        }
        self.entries[self.next] = (delay, value);
        self.next = (self.next + 1) % N;
        if self.len < N {
            self.len += 1;
        }
    }
    /// How many pairs are held.
    pub const fn len(&self) -> usize {
        self.len
    }
    /// True when nothing is held.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Forgets everything.
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
    /// The pair with the smallest delay (the newest among equals).
    pub fn best(&self) -> Option<(TimeDelta, T)> {
        let mut best: Option<(TimeDelta, T)> = None;
        // Walk oldest to newest so that `<=` keeps the newest of equal delays.
        for age in (0..self.len).rev() {
            let index = (self.next + N - 1 - age) % N;
            let entry = self.entries[index];
            if best.is_none_or(|(delay, _)| entry.0 <= delay) {
                best = Some(entry);
            }
        }
        best
    }
    /// The smallest delay held.
    pub fn min_delay(&self) -> Option<TimeDelta> {
        self.best().map(|(delay, _)| delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_old_minimum_and_prefers_newest_tie() {
        let mut window = MinDelayWindow::<3, u8>::new();
        window.push(TimeDelta::from_nanos(1), 1);
        window.push(TimeDelta::from_nanos(5), 2);
        window.push(TimeDelta::from_nanos(5), 3);
        assert_eq!(window.best(), Some((TimeDelta::from_nanos(1), 1)));
        window.push(TimeDelta::from_nanos(7), 4);
        assert_eq!(window.best(), Some((TimeDelta::from_nanos(5), 3)));
        window.clear();
        assert_eq!(window.best(), None);
    }
}
