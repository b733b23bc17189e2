//! The control server: receives the player's datagrams, parses them, counts and logs the bad
//! ones (once per kind), and hands the good ones to the timing task.
//!
//! It runs as its own task with bounded work per datagram (one parse, one counter), and the
//! commands travel over a bounded channel: a flood of control datagrams fills the kernel's
//! socket buffer and this task's channel, never the timing task, which takes at most a few
//! commands between two PTP datagrams.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{ControlError, ControlRequest, MAX_CONTROL_LENGTH};

/// The kinds of bad control datagrams, in the order of [`ControlCounters::rejected`].
pub const REJECTION_KINDS: [&str; 7] = [
    "empty",
    "too_long",
    "not_text",
    "unknown_command",
    "bad_address",
    "unexpected_arguments",
    "too_many_peers",
];

fn kind_index(error: &ControlError) -> usize {
    match error {
        ControlError::Empty => 0,
        ControlError::TooLong(_) => 1,
        ControlError::NotText => 2,
        ControlError::UnknownCommand(_) => 3,
        ControlError::BadAddress(_) => 4,
        ControlError::UnexpectedArguments(_) => 5,
        ControlError::TooManyPeers => 6,
    }
}

/// What the control server received, as a snapshot.
///
/// ```
/// use aptp_service::nqptp::{ControlCounters, REJECTION_KINDS};
/// let counters = ControlCounters::default();
/// assert_eq!(counters.rejected.len(), REJECTION_KINDS.len());
/// assert_eq!(counters.rejected_total(), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlCounters {
    /// Datagrams received.
    pub received: u64,
    /// Commands accepted and handed to the timing task.
    pub accepted: u64,
    /// Bad datagrams, by kind (see [`REJECTION_KINDS`]).
    pub rejected: [u64; REJECTION_KINDS.len()],
    /// Accepted commands whose name was not the published shared-memory name (nqptp ignores
    /// the name; so does aptp, but it says so once).
    pub other_name: u64,
}

impl ControlCounters {
    /// All bad datagrams.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

/// The live counters, shared between the control task and the status.
#[derive(Debug, Default)]
pub(crate) struct ControlStats {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: [AtomicU64; REJECTION_KINDS.len()],
    logged: [AtomicBool; REJECTION_KINDS.len()],
    other_name: AtomicU64,
    other_name_logged: AtomicBool,
}

impl ControlStats {
    pub(crate) fn snapshot(&self) -> ControlCounters {
        let mut rejected = [0; REJECTION_KINDS.len()];
        for (out, counter) in rejected.iter_mut().zip(&self.rejected) {
            *out = counter.load(Ordering::Relaxed);
        }
        ControlCounters {
            received: self.received.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected,
            other_name: self.other_name.load(Ordering::Relaxed),
        }
    }

    /// Counts one datagram and parses it; a bad one is counted by kind and logged the first
    /// time its kind is seen.
    pub(crate) fn check(&self, datagram: &[u8], shm_name: &str) -> Option<ControlRequest> {
        self.received.fetch_add(1, Ordering::Relaxed);
        match ControlRequest::parse(datagram) {
            Ok(request) => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
                let bare = |name: &str| name.trim_start_matches('/').to_owned();
                if bare(&request.name) != bare(shm_name) {
                    self.other_name.fetch_add(1, Ordering::Relaxed);
                    if !self.other_name_logged.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            name = %request.name,
                            published = %shm_name,
                            "control command for another name; applied anyway, as nqptp does \
                             (logged once)"
                        );
                    }
                }
                Some(request)
            }
            Err(error) => {
                let index = kind_index(&error);
                self.rejected[index].fetch_add(1, Ordering::Relaxed);
                if !self.logged[index].swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        kind = REJECTION_KINDS[index],
                        %error,
                        "bad control datagram ignored (logged once per kind, counted)"
                    );
                }
                None
            }
        }
    }
}

/// Receives control datagrams until the channel's receiver is gone.
pub(crate) async fn serve(
    socket: UdpSocket,
    commands: mpsc::Sender<ControlRequest>,
    stats: Arc<ControlStats>,
    shm_name: String,
) {
    // One more byte than the longest accepted, so an over-long datagram is seen as such.
    let mut buffer = vec![0u8; MAX_CONTROL_LENGTH + 1];
    loop {
        let length = match socket.recv_from(&mut buffer).await {
            Ok((length, _source)) => length,
            Err(error) => {
                tracing::warn!(%error, "control socket receive failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let datagram = buffer.get(..length).unwrap_or(&buffer);
        if let Some(request) = stats.check(datagram, &shm_name) {
            if commands.send(request).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_datagrams_are_counted_by_kind() {
        let stats = ControlStats::default();
        assert!(stats.check(b"/nqptp B\0", "/nqptp").is_some());
        assert!(stats.check(b"nqptp E\0", "/nqptp").is_some());
        assert!(stats.check(b"/other P\0", "/nqptp").is_some());
        for _ in 0..3 {
            assert!(stats.check(b"/nqptp X\0", "/nqptp").is_none());
        }
        assert!(stats.check(b"/nqptp T 1.2.3\0", "/nqptp").is_none());
        assert!(stats.check(&[0xff, 0xfe], "/nqptp").is_none());
        assert!(stats.check(b"", "/nqptp").is_none());
        let counters = stats.snapshot();
        assert_eq!(counters.received, 9);
        assert_eq!(counters.accepted, 3);
        assert_eq!(counters.other_name, 1);
        assert_eq!(counters.rejected, [1, 0, 1, 3, 1, 0, 0]);
        assert_eq!(counters.rejected_total(), 6);
    }
}
