//! Pieces the estimators share: the grandmaster check and path delay filter that open an
//! update, and the ring of recent points the regressions fit.

use super::{PathDelay, Sample};
use crate::filter::MovingMedian;
use crate::time::TimeDelta;

/// Whether `sample` comes from another grandmaster than the `known` one (estimation must
/// restart: the old points measure another clock).
pub(crate) fn grandmaster_changed(known: Option<u64>, sample: &Sample) -> bool {
    known.is_some_and(|known| known != sample.grandmaster_identity)
}

/// The path delay to use for `sample`: a measured one as is, else the median of the last
/// exchanges' half round trips, this sample's pushed first (its drift between t2 and t3
/// taken out at `rate_offset`: with Delay_Req at random instants up to seconds from the
/// Sync, it would be microseconds of noise; ptp4l's tsproc scales likewise).
pub(crate) fn filtered_path_delay(
    filter: &mut MovingMedian<10>,
    sample: &Sample,
    rate_offset: f64,
) -> TimeDelta {
    if let PathDelay::Exchange { .. } = sample.path_delay {
        if let Some(round_trip) = sample.round_trip_at_rate(rate_offset) {
            filter.push(round_trip.half());
        }
    }
    match sample.path_delay {
        PathDelay::Measured(delay) => delay,
        _ => filter.median().unwrap_or(TimeDelta::ZERO),
    }
}

/// The newest `N` points of an estimator, oldest overwritten first.
#[derive(Clone, Debug)]
pub(crate) struct PointRing<P, const N: usize> {
    slots: [P; N],
    len: usize,
    next: usize,
}

impl<P: Copy + Default, const N: usize> PointRing<P, N> {
    /// An empty ring.
    pub(crate) fn new() -> Self {
        Self {
            slots: [P::default(); N],
            len: 0,
            next: 0,
        }
    }

    /// How many points are held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `point`, overwriting the oldest when full.
    pub(crate) fn push(&mut self, point: P) {
        self.slots[self.next] = point;
        self.next = (self.next + 1) % N;
        self.len = (self.len + 1).min(N);
    }

    /// The newest `count` points (at most all held), newest first.
    pub(crate) fn newest(&self, count: usize) -> impl Iterator<Item = &P> + Clone {
        (0..count.min(self.len)).map(move |age| &self.slots[(self.next + N - 1 - age) % N])
    }

    /// The oldest point held.
    pub(crate) fn oldest(&self) -> Option<&P> {
        (self.len > 0).then(|| &self.slots[(self.next + N - self.len) % N])
    }

    /// Forgets the oldest point.
    pub(crate) fn drop_oldest(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// Every slot, held or not, in storage order (to shift all points at once).
    pub(crate) fn slots_mut(&mut self) -> &mut [P; N] {
        &mut self.slots
    }
}
