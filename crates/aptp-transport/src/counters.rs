//! Counters of what the sockets saw, readable at any time from any thread.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::TimestampSource;

/// Why a received datagram was dropped instead of returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Longer than [`crate::SocketConfig::max_datagram_len`]: the kernel truncated it
    /// (`MSG_TRUNC`).
    Truncated,
    /// Shorter than the 34-byte PTP common header.
    TooShort,
    /// An event message (messageType 0–3) on the general port or a general message
    /// (messageType 8–15) on the event port, or a reserved messageType (4–7).
    WrongPort,
    /// The kernel reported no usable source address.
    Malformed,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Truncated => "truncated (too large)",
            DropReason::TooShort => "shorter than a PTP header",
            DropReason::WrongPort => "message type does not belong to this port",
            DropReason::Malformed => "malformed control data",
        })
    }
}

/// A snapshot of a socket's counters (see [`crate::PtpSocket::counters`]).
///
/// ```
/// use aptp_transport::TransportCounters;
/// let counters = TransportCounters::default();
/// assert_eq!(counters.dropped(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportCounters {
    /// Datagrams returned by `recv`.
    pub received: u64,
    /// Dropped: longer than the maximum (`MSG_TRUNC`).
    pub dropped_truncated: u64,
    /// Dropped: shorter than a PTP header.
    pub dropped_too_short: u64,
    /// Dropped: message type of the other port.
    pub dropped_wrong_port: u64,
    /// Dropped: malformed control data.
    pub dropped_malformed: u64,
    /// Received datagrams stamped by the kernel.
    pub rx_kernel_timestamps: u64,
    /// Received datagrams stamped in user space.
    pub rx_user_timestamps: u64,
    /// Event messages sent.
    pub sent_event: u64,
    /// General messages sent.
    pub sent_general: u64,
    /// Event messages whose transmit timestamp came from the kernel.
    pub tx_kernel_timestamps: u64,
    /// Event messages whose transmit timestamp was taken in user space.
    pub tx_user_timestamps: u64,
    /// Transmit timestamps that did not arrive within the timeout.
    pub tx_timestamp_timeouts: u64,
    /// Transmit timestamps that arrived after their send had given up on them (discarded).
    pub tx_timestamps_late: u64,
}

impl TransportCounters {
    /// All dropped datagrams, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_truncated
            + self.dropped_too_short
            + self.dropped_wrong_port
            + self.dropped_malformed
    }
}

/// The live counters behind [`TransportCounters`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    dropped_truncated: AtomicU64,
    dropped_too_short: AtomicU64,
    dropped_wrong_port: AtomicU64,
    dropped_malformed: AtomicU64,
    rx_kernel_timestamps: AtomicU64,
    rx_user_timestamps: AtomicU64,
    sent_event: AtomicU64,
    sent_general: AtomicU64,
    tx_kernel_timestamps: AtomicU64,
    tx_user_timestamps: AtomicU64,
    tx_timestamp_timeouts: AtomicU64,
    tx_timestamps_late: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn dropped(&self, reason: DropReason) {
        bump(match reason {
            DropReason::Truncated => &self.dropped_truncated,
            DropReason::TooShort => &self.dropped_too_short,
            DropReason::WrongPort => &self.dropped_wrong_port,
            DropReason::Malformed => &self.dropped_malformed,
        });
    }

    pub(crate) fn received(&self, source: TimestampSource) {
        bump(&self.received);
        bump(match source {
            TimestampSource::Kernel => &self.rx_kernel_timestamps,
            TimestampSource::UserSpace => &self.rx_user_timestamps,
        });
    }

    pub(crate) fn sent_general(&self) {
        bump(&self.sent_general);
    }

    pub(crate) fn sent_event(&self, source: TimestampSource) {
        bump(&self.sent_event);
        bump(match source {
            TimestampSource::Kernel => &self.tx_kernel_timestamps,
            TimestampSource::UserSpace => &self.tx_user_timestamps,
        });
    }

    pub(crate) fn tx_timestamp_timeout(&self) {
        bump(&self.tx_timestamp_timeouts);
    }

    pub(crate) fn tx_timestamp_late(&self) {
        bump(&self.tx_timestamps_late);
    }

    pub(crate) fn snapshot(&self) -> TransportCounters {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TransportCounters {
            received: read(&self.received),
            dropped_truncated: read(&self.dropped_truncated),
            dropped_too_short: read(&self.dropped_too_short),
            dropped_wrong_port: read(&self.dropped_wrong_port),
            dropped_malformed: read(&self.dropped_malformed),
            rx_kernel_timestamps: read(&self.rx_kernel_timestamps),
            rx_user_timestamps: read(&self.rx_user_timestamps),
            sent_event: read(&self.sent_event),
            sent_general: read(&self.sent_general),
            tx_kernel_timestamps: read(&self.tx_kernel_timestamps),
            tx_user_timestamps: read(&self.tx_user_timestamps),
            tx_timestamp_timeouts: read(&self.tx_timestamp_timeouts),
            tx_timestamps_late: read(&self.tx_timestamps_late),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot_reflects_updates() {
        let counters = Counters::default();
        counters.received(TimestampSource::Kernel);
        counters.received(TimestampSource::UserSpace);
        counters.dropped(DropReason::Truncated);
        counters.dropped(DropReason::WrongPort);
        counters.sent_event(TimestampSource::Kernel);
        counters.sent_general();
        counters.tx_timestamp_timeout();
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.received, 2);
        assert_eq!(snapshot.rx_kernel_timestamps, 1);
        assert_eq!(snapshot.rx_user_timestamps, 1);
        assert_eq!(snapshot.dropped(), 2);
        assert_eq!(snapshot.sent_event, 1);
        assert_eq!(snapshot.tx_kernel_timestamps, 1);
        assert_eq!(snapshot.sent_general, 1);
        assert_eq!(snapshot.tx_timestamp_timeouts, 1);
    }
}
