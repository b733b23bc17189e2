//! Timestamps, the clock they are read against, and where they came from.
//!
//! See [`TimestampClock`] for how kernel timestamps reach the chosen clock.

use core::fmt;
use core::sync::atomic::{AtomicI64, Ordering};

use nix::time::{clock_gettime, ClockId};

use crate::TransportError;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// See [`TimestampClock::set_process_offset_ns`].
static PROCESS_OFFSET_NS: AtomicI64 = AtomicI64::new(0);

fn shifted(timestamp: Timestamp) -> Timestamp {
    let offset = PROCESS_OFFSET_NS.load(Ordering::Relaxed);
    Timestamp::from_nanos(timestamp.as_nanos().saturating_add(offset))
}

/// A point in time on one [`TimestampClock`], in nanoseconds since that clock's epoch.
///
/// `i64` nanoseconds reach the year 2262 on `CLOCK_REALTIME` and 292 years of uptime on the
/// monotonic clocks.
///
/// ```
/// use aptp_transport::Timestamp;
/// let t = Timestamp::from_nanos(1_500_000_123);
/// assert_eq!(t.seconds(), 1);
/// assert_eq!(t.subsec_nanos(), 500_000_123);
/// assert_eq!(t.nanos_since(Timestamp::from_nanos(1_000_000_000)), 500_000_123);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    nanos: i64,
}

impl Timestamp {
    /// The timestamp `nanos` nanoseconds after the clock's epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// Nanoseconds since the clock's epoch.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whole seconds since the clock's epoch (rounded towards minus infinity).
    pub const fn seconds(self) -> i64 {
        self.nanos.div_euclid(NANOS_PER_SECOND)
    }

    /// The nanoseconds within the second, `0..1_000_000_000`.
    pub const fn subsec_nanos(self) -> u32 {
        // rem_euclid by 10^9 is in 0..10^9, which fits a u32.
        self.nanos.rem_euclid(NANOS_PER_SECOND) as u32
    }

    /// `self − earlier` in nanoseconds (negative when `self` is earlier), saturating.
    pub const fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.nanos.saturating_sub(earlier.nanos)
    }

    /// A timestamp from a `timespec`-like pair, saturating at the ends of the range.
    pub(crate) fn from_seconds_nanos(seconds: i64, nanoseconds: i64) -> Self {
        Self {
            nanos: seconds
                .saturating_mul(NANOS_PER_SECOND)
                .saturating_add(nanoseconds),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds(), self.subsec_nanos())
    }
}

/// The clock a socket reports its timestamps against.
///
/// The kernel takes software timestamps with `ktime_get_real()`, that is against
/// `CLOCK_REALTIME`. ptp4l's software mode works in that clock; nqptp and audio players want
/// `CLOCK_MONOTONIC` or `CLOCK_MONOTONIC_RAW`, which never jump. This type names the clock a
/// [`crate::PtpSocket`] reports in, and converts kernel timestamps into it:
///
/// 1. read the target clock (`a`), then `CLOCK_REALTIME` (`r`), then the target clock again (`b`);
/// 2. the offset is `r − (a + b) / 2`, good to within half the bracket `b − a`;
/// 3. repeat three times and keep the narrowest bracket (a preemption between two reads widens
///    the bracket, so it is recognised and discarded);
/// 4. `target = kernel_realtime − offset`.
///
/// The offset is sampled again for every read: for each transmit timestamp, and once for the
/// datagrams of one batched receive (one `recvmmsg`), when the first of them that passes the
/// transport's checks is handed out; the others of that read share it (a bracket costs nine
/// clock reads, about 300 ns on the development VM, more than the rest of the transport's
/// work per datagram). So a step of `CLOCK_REALTIME` (NTP, `date -s`, a ptp4l that is not
/// free-running) is followed from the next read on. Between the kernel's timestamp and the
/// sampling (microseconds), `CLOCK_REALTIME` and `CLOCK_MONOTONIC` run at the same rate (both
/// are slewed by NTP), and `CLOCK_MONOTONIC_RAW` differs by at most the NTP frequency
/// correction (≤ 500 ppm, i.e. under a nanosecond per 2 µs), so the conversion adds only the
/// bracket's half-width of error (about 25 ns: the narrowest of three brackets was 50 ns at
/// the median, 60 ns at p99 on the development VM). The one case it cannot undo is a step of
/// `CLOCK_REALTIME` that falls between the kernel's timestamp and the sampling.
///
/// ```
/// use aptp_transport::TimestampClock;
/// let clock = TimestampClock::MonotonicRaw;
/// let a = clock.now().unwrap();
/// let b = clock.now().unwrap();
/// assert!(b >= a);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TimestampClock {
    /// `CLOCK_REALTIME`: wall-clock time, what ptp4l's software timestamping uses and what the
    /// kernel stamps packets with. Can jump when someone sets the time.
    #[default]
    Realtime,
    /// `CLOCK_MONOTONIC`: never jumps, slewed by NTP like `CLOCK_REALTIME`.
    Monotonic,
    /// `CLOCK_MONOTONIC_RAW`: never jumps, never slewed; what nqptp publishes and what an
    /// audio player compares against.
    MonotonicRaw,
}

impl TimestampClock {
    fn clock_id(self) -> ClockId {
        match self {
            TimestampClock::Realtime => ClockId::CLOCK_REALTIME,
            TimestampClock::Monotonic => ClockId::CLOCK_MONOTONIC,
            TimestampClock::MonotonicRaw => ClockId::CLOCK_MONOTONIC_RAW,
        }
    }

    /// The clock's name as in `<time.h>`.
    pub const fn name(self) -> &'static str {
        match self {
            TimestampClock::Realtime => "CLOCK_REALTIME",
            TimestampClock::Monotonic => "CLOCK_MONOTONIC",
            TimestampClock::MonotonicRaw => "CLOCK_MONOTONIC_RAW",
        }
    }

    /// Reads this clock now.
    ///
    /// # Errors
    /// [`TransportError::Clock`] if the system does not have the clock.
    pub fn now(self) -> Result<Timestamp, TransportError> {
        read(self.clock_id())
            .map(shifted)
            .map_err(|errno| TransportError::Clock {
                clock: self.name(),
                source: errno.into(),
            })
    }

    /// Steps every clock as this process sees it through the transport by `offset_ns` (from
    /// 0, the default): [`TimestampClock::now`] and [`TimestampClock::from_realtime`], and so
    /// every packet timestamp, read `offset_ns` later than the kernel's clock from then on.
    ///
    /// A fault-injection hook: a master's clock can be stepped in a test without touching
    /// the kernel's clock, which every process (and every network namespace) shares.
    /// Nothing else calls it.
    ///
    /// ```
    /// use aptp_transport::TimestampClock;
    /// let before = TimestampClock::Monotonic.now().unwrap();
    /// TimestampClock::set_process_offset_ns(3_600_000_000_000);
    /// let after = TimestampClock::Monotonic.now().unwrap();
    /// TimestampClock::set_process_offset_ns(0);
    /// assert!(after.nanos_since(before) >= 3_600_000_000_000);
    /// ```
    pub fn set_process_offset_ns(offset_ns: i64) {
        PROCESS_OFFSET_NS.store(offset_ns, Ordering::Relaxed);
    }

    /// Converts a `CLOCK_REALTIME` timestamp (as the kernel takes them) into this clock, by the
    /// bracketed sampling described in the [type documentation](TimestampClock).
    ///
    /// # Errors
    /// [`TransportError::Clock`] if the system does not have one of the clocks.
    pub fn from_realtime(self, realtime: Timestamp) -> Result<Timestamp, TransportError> {
        if self == TimestampClock::Realtime {
            return Ok(shifted(realtime));
        }
        let offset_ns = self.realtime_offset_ns()?;
        Ok(self.convert_realtime(realtime, offset_ns))
    }

    /// `realtime` converted with an offset `CLOCK_REALTIME − self` sampled by
    /// [`TimestampClock::realtime_offset_ns`] (ignored for `Realtime` itself): the
    /// conversion of [`TimestampClock::from_realtime`] for several timestamps of one read.
    pub(crate) fn convert_realtime(self, realtime: Timestamp, offset_ns: i64) -> Timestamp {
        if self == TimestampClock::Realtime {
            return shifted(realtime);
        }
        shifted(Timestamp::from_nanos(
            realtime.as_nanos().saturating_sub(offset_ns),
        ))
    }

    /// `CLOCK_REALTIME − self` now, in nanoseconds, from the narrowest of three brackets
    /// (0 for `Realtime`, without reading any clock).
    pub(crate) fn realtime_offset_ns(self) -> Result<i64, TransportError> {
        if self == TimestampClock::Realtime {
            return Ok(0);
        }
        let target = self.clock_id();
        let failed = |errno: nix::Error, clock: &'static str| TransportError::Clock {
            clock,
            source: errno.into(),
        };
        let mut best: Option<(i64, i64)> = None; // (bracket width, offset)
        for _ in 0..3 {
            let before = read(target).map_err(|e| failed(e, self.name()))?;
            let realtime =
                read(ClockId::CLOCK_REALTIME).map_err(|e| failed(e, "CLOCK_REALTIME"))?;
            let after = read(target).map_err(|e| failed(e, self.name()))?;
            let width = after.nanos_since(before);
            let midpoint = before.as_nanos().saturating_add(width / 2);
            let offset = realtime.as_nanos().saturating_sub(midpoint);
            if best.is_none_or(|(best_width, _)| width < best_width) {
                best = Some((width, offset));
            }
        }
        // The loop ran three times, so `best` is set; 0 is never used.
        Ok(best.map_or(0, |(_, offset)| offset))
    }
}

impl fmt::Display for TimestampClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn read(clock: ClockId) -> nix::Result<Timestamp> {
    let now = clock_gettime(clock)?;
    Ok(Timestamp::from_seconds_nanos(now.tv_sec(), now.tv_nsec()))
}

/// Who took a packet timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampSource {
    /// The kernel's software timestamp (`SO_TIMESTAMPING` / `SO_TIMESTAMPNS`), taken when the
    /// packet entered the network stack (receive) or was handed to the driver (transmit).
    Kernel,
    /// Read in user space: right after `recvmsg` returned (receive) or right before `sendto`
    /// (transmit). Tens of microseconds worse than [`TimestampSource::Kernel`] under load.
    UserSpace,
}

impl fmt::Display for TimestampSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampSource::Kernel => "kernel",
            TimestampSource::UserSpace => "user space",
        })
    }
}

/// The receive or transmit timestamp of one datagram: when, on which clock, taken by whom.
///
/// ```
/// use aptp_transport::{PacketTimestamp, Timestamp, TimestampClock, TimestampSource};
/// let t = PacketTimestamp {
///     time: Timestamp::from_nanos(42),
///     clock: TimestampClock::MonotonicRaw,
///     source: TimestampSource::Kernel,
/// };
/// assert!(t.is_kernel());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketTimestamp {
    /// The instant, on [`PacketTimestamp::clock`].
    pub time: Timestamp,
    /// The clock `time` is read against (the socket's configured clock).
    pub clock: TimestampClock,
    /// Who took the timestamp.
    pub source: TimestampSource,
}

impl PacketTimestamp {
    /// Whether the kernel took this timestamp.
    pub fn is_kernel(&self) -> bool {
        self.source == TimestampSource::Kernel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_nanos_split_negative_values_euclidean() {
        let t = Timestamp::from_nanos(-1);
        assert_eq!(t.seconds(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
        assert_eq!(t.to_string(), "-1.999999999");
    }

    #[test]
    fn realtime_conversion_is_identity() {
        let t = Timestamp::from_nanos(123_456_789);
        assert_eq!(TimestampClock::Realtime.from_realtime(t).unwrap(), t);
    }

    #[test]
    fn converted_realtime_now_lands_near_target_now() {
        for clock in [TimestampClock::Monotonic, TimestampClock::MonotonicRaw] {
            let before = clock.now().unwrap();
            let realtime = TimestampClock::Realtime.now().unwrap();
            let converted = clock.from_realtime(realtime).unwrap();
            let after = clock.now().unwrap();
            // Generous bounds (the machine is noisy): the conversion must land within the
            // bracket [before, after] give or take 1 ms, not seconds or years away.
            assert!(
                converted.nanos_since(before) > -1_000_000,
                "{clock}: {converted} < {before}"
            );
            assert!(
                after.nanos_since(converted) > -1_000_000,
                "{clock}: {converted} > {after}"
            );
        }
    }

    #[test]
    fn saturating_construction_never_overflows() {
        let t = Timestamp::from_seconds_nanos(i64::MAX, 999_999_999);
        assert_eq!(t.as_nanos(), i64::MAX);
        assert_eq!(
            Timestamp::from_nanos(i64::MIN).nanos_since(Timestamp::from_nanos(1)),
            i64::MIN
        );
    }
}
