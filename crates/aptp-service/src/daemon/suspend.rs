//! Noticing that the host slept: CLOCK_BOOTTIME counts the time suspended, CLOCK_MONOTONIC
//! does not, so their difference grows by exactly the time asleep. Every clock measured before
//! is then invalid (the peers' clocks ran on while ours stood still) and is re-acquired.

use std::path::PathBuf;

use nix::time::{clock_gettime, ClockId};

/// Names a file whose content, a whole number of ns, is added to every CLOCK_BOOTTIME reading
/// of a daemon started with it set: a test writes a larger number to simulate a suspend of
/// that running daemon (BOOTTIME jumps, MONOTONIC does not). Unset (always, outside tests):
/// nothing is read.
pub const BOOTTIME_SHIFT_ENV: &str = "APTP_TEST_BOOTTIME_SHIFT_FILE";

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
    shift_file: Option<PathBuf>,
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

    /// A detector whose BOOTTIME readings are shifted by the number in the file
    /// [`BOOTTIME_SHIFT_ENV`] names, when it is set.
    pub fn from_env() -> SuspendDetector {
        SuspendDetector {
            difference_ns: None,
            shift_file: std::env::var_os(BOOTTIME_SHIFT_ENV).map(PathBuf::from),
        }
    }

    /// The simulated shift of CLOCK_BOOTTIME, in ns (0 without a shift file, or when it does
    /// not hold a number).
    fn shift_ns(&self) -> i128 {
        self.shift_file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| text.trim().parse::<i128>().ok())
            .unwrap_or(0)
    }

    /// Reads both clocks now and observes them; None also when a clock cannot be read.
    pub fn observe_now(&mut self) -> Option<u64> {
        let read = |clock| {
            clock_gettime(clock)
                .ok()
                .map(|time| i128::from(time.tv_sec()) * 1_000_000_000 + i128::from(time.tv_nsec()))
        };
        // The shift (file I/O) before the clocks, which are read back to back: whatever
        // separates the two readings shows in the difference the detector watches.
        let shift = self.shift_ns();
        let boottime = read(ClockId::CLOCK_BOOTTIME)? + shift;
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
    fn a_shift_file_simulates_a_suspend_of_the_live_clocks() {
        let path = std::env::temp_dir().join(format!("aptp-shift-{}", std::process::id()));
        std::fs::write(&path, "0").unwrap();
        let mut detector = SuspendDetector {
            difference_ns: None,
            shift_file: Some(path.clone()),
        };
        assert_eq!(detector.observe_now(), None);
        std::fs::write(&path, "7000000000\n").unwrap();
        let slept = detector.observe_now().unwrap();
        assert!((6_900_000_000..7_100_000_000).contains(&slept), "{slept}");
        assert_eq!(detector.observe_now(), None, "a jump is noticed once");
        std::fs::write(&path, "not a number").unwrap();
        assert_eq!(
            detector.observe_now(),
            None,
            "back to no shift: BOOTTIME went back"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_live_clocks_show_no_suspend_between_two_readings() {
        let mut detector = SuspendDetector::default();
        assert_eq!(detector.observe_now(), None);
        assert_eq!(detector.observe_now(), None);
    }
}
