//! Noticing that the host slept: CLOCK_BOOTTIME counts the time suspended, CLOCK_MONOTONIC
//! does not, so their difference grows by exactly the time asleep. Every clock measured before
//! is then invalid (the peers' clocks ran on while ours stood still) and is re-acquired.

use nix::time::{clock_gettime, ClockId};

/// A growth of BOOTTIME − MONOTONIC beyond this is a suspend (the two clocks otherwise tick
/// together; the threshold absorbs reading them one after the other).
pub const SUSPEND_THRESHOLD_NS: i128 = 500_000_000;

/// Watches BOOTTIME − MONOTONIC. Sans-IO: it is handed the two readings.
///
/// ```
/// use aptp_service::daemon::SuspendDetector;
/// let mut detector = SuspendDetector::default();
/// assert_eq!(detector.observe(10_000_000_000, 9_000_000_000), None);
/// // 5 s of BOOTTIME passed while MONOTONIC advanced 1 s: the host slept 4 s.
/// assert_eq!(detector.observe(15_000_000_000, 10_000_000_000), Some(4_000_000_000));
/// assert_eq!(detector.observe(16_000_000_000, 11_000_000_000), None);
/// ```
#[derive(Debug, Default, Clone)]
pub struct SuspendDetector {
    difference_ns: Option<i128>,
}

impl SuspendDetector {
    /// Takes a reading of CLOCK_BOOTTIME and CLOCK_MONOTONIC (ns); returns how long the host
    /// slept since the previous reading, if it did.
    pub fn observe(&mut self, boottime_ns: i128, monotonic_ns: i128) -> Option<u64> {
        let difference = boottime_ns - monotonic_ns;
        let previous = self.difference_ns.replace(difference)?;
        let slept = difference - previous;
        (slept > SUSPEND_THRESHOLD_NS).then(|| u64::try_from(slept).unwrap_or(u64::MAX))
    }

    /// Reads both clocks now and observes them; None also when a clock cannot be read.
    pub fn observe_now(&mut self) -> Option<u64> {
        let read = |clock| {
            clock_gettime(clock)
                .ok()
                .map(|time| i128::from(time.tv_sec()) * 1_000_000_000 + i128::from(time.tv_nsec()))
        };
        let boottime = read(ClockId::CLOCK_BOOTTIME)?;
        let monotonic = read(ClockId::CLOCK_MONOTONIC)?;
        self.observe(boottime, monotonic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticking_together_is_not_a_suspend() {
        let mut detector = SuspendDetector::default();
        for second in 0..100i128 {
            let noise = (second % 3) * 1_000_000; // reading one clock after the other
            assert_eq!(
                detector.observe(
                    5_000_000_000 + second * 1_000_000_000 + noise,
                    second * 1_000_000_000
                ),
                None
            );
        }
    }

    #[test]
    fn the_live_clocks_show_no_suspend_between_two_readings() {
        let mut detector = SuspendDetector::default();
        assert_eq!(detector.observe_now(), None);
        assert_eq!(detector.observe_now(), None);
    }
}
