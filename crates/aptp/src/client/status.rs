//! What the daemon reports about itself and its sessions (`aptp status`, `aptp watch`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::protocol::SessionInfo;

/// A session's clock: the grandmaster it follows (or is) and how well.
///
/// Every measured field is None until measured; a session whose backend has not measured
/// anything reports all of them as None, never a made-up value.
///
/// ```
/// use aptp::client::SessionClock;
/// let clock = SessionClock::default();
/// assert_eq!(clock.offset_ns, None);
/// assert_eq!(serde_json::to_value(&clock).unwrap()["offset_ns"], serde_json::Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionClock {
    /// The grandmaster followed (or, for a grandmaster session, its own identity; or, with
    /// `holdover`, the one held while silent), in ptp4l's dotted form.
    #[serde(default)]
    pub grandmaster: Option<String>,
    /// CLOCK_MONOTONIC_RAW, in ns, at which `offset_ns` holds.
    #[serde(default)]
    pub local_time_ns: Option<u64>,
    /// The grandmaster's time minus the local clock's at `local_time_ns`, in ns.
    #[serde(default)]
    pub offset_ns: Option<i64>,
    /// The grandmaster's rate relative to the local clock, in parts per billion.
    #[serde(default)]
    pub rate_ppb: Option<f64>,
    /// A bound on the error of `offset_ns`, in ns.
    #[serde(default)]
    pub error_bound_ns: Option<u64>,
    /// Milliseconds since the last Sync was received (follower) or sent (grandmaster).
    #[serde(default)]
    pub last_sync_age_ms: Option<u64>,
    /// Milliseconds since the last Follow_Up was received or sent.
    #[serde(default)]
    pub last_follow_up_age_ms: Option<u64>,
    /// Datagrams dropped for this session, by reason.
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
    /// The daemon's own grandmaster session this follower takes its clock from directly
    /// (same machine, same local clock: offset and rate exact, no network measurement);
    /// None when it follows over the network.
    #[serde(default)]
    pub local_grandmaster: Option<super::protocol::SessionId>,
    /// The grandmaster fell silent (a Wi-Fi dropout, a sender gone quiet) and is held: it
    /// is not followed, but `grandmaster` names it and `offset_ns` and `rate_ppb` carry on
    /// from its last mapping (with no `error_bound_ns`), as the session's record does, until
    /// it is back or the hold runs out. Never for a clock that had stalled first.
    #[serde(default)]
    pub holdover: bool,
}

/// One session in the daemon's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// What it is.
    #[serde(flatten)]
    pub info: SessionInfo,
    /// Milliseconds since it was opened.
    pub age_ms: u64,
    /// Milliseconds left on its lease.
    pub lease_remaining_ms: u64,
    /// Its clock.
    pub clock: SessionClock,
}

/// One pair of PTP ports the daemon owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStatus {
    /// The interface they are bound to, or None for every interface.
    pub interface: Option<String>,
    /// The local address they are bound to.
    pub address: String,
    /// The event port (319 by default).
    pub event_port: u16,
    /// The general port (320 by default).
    pub general_port: u16,
    /// Receive timestamps come from the kernel (else: read in user space).
    pub kernel_rx_timestamps: bool,
    /// Transmit timestamps come from the kernel (else: read in user space).
    pub kernel_tx_timestamps: bool,
    /// Datagrams received on them.
    pub received: u64,
    /// Datagrams dropped on them, by reason.
    pub drops: BTreeMap<String, u64>,
}

/// One network interface of the daemon's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    /// Its name.
    pub name: String,
    /// Its addresses now.
    pub addresses: Vec<std::net::IpAddr>,
    /// The daemon's PTP ports serve it (every interface unless `--interface` names some).
    pub ptp: bool,
    /// Address changes noticed on it since the daemon started (each invalidated the clocks
    /// measured through it).
    #[serde(default)]
    pub address_changes: u64,
}

/// The daemon's answer to `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Always `aptp`.
    pub server: String,
    /// The daemon's version.
    pub version: String,
    /// The protocol versions it speaks.
    pub protocols: Vec<u32>,
    /// The socket path it listens on.
    pub socket: String,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
    /// The most sessions it holds at once.
    pub max_sessions: usize,
    /// The PTP ports it owns.
    pub ports: Vec<PortStatus>,
    /// The host's network interfaces, their addresses and whether PTP is served on them.
    #[serde(default)]
    pub interfaces: Vec<InterfaceStatus>,
    /// Every live session, oldest first.
    pub sessions: Vec<SessionStatus>,
    /// Sessions opened since it started.
    pub sessions_opened: u64,
    /// Sessions ended by lease expiry since it started.
    pub sessions_expired: u64,
    /// Malformed or refused requests since it started.
    pub requests_refused: u64,
    /// Suspends of the host noticed since it started (each re-acquired every clock).
    #[serde(default)]
    pub suspends: u64,
}
