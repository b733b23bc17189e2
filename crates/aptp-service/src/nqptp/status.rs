//! What the drop-in reports for status lines: the follower's state and the record published.

use std::net::IpAddr;

use aptp::airplay::ReceiverCounters;
use aptp::engine::PortState;
use aptp_wire::ClockIdentity;

use super::{ControlCounters, NqptpRecord};

/// A snapshot of the drop-in, published on a watch channel after every step.
///
/// ```
/// use aptp_service::nqptp::NqptpStatus;
/// let status = NqptpStatus::default();
/// assert_eq!(status.state.name_lower(), "listening");
/// assert!(!status.record.is_valid());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NqptpStatus {
    /// The follower's port state: `listening`, `uncalibrated` or `slave`.
    pub state: PortState,
    /// The grandmaster followed (grandmasterIdentity).
    pub grandmaster: Option<ClockIdentity>,
    /// The timing peer it is reached at.
    pub grandmaster_address: Option<IpAddr>,
    /// The grandmaster that fell silent and is held; its record stays published meanwhile
    /// unless it had stalled first (`record` says what is published).
    pub held_grandmaster: Option<ClockIdentity>,
    /// The grandmaster's time minus CLOCK_MONOTONIC_RAW, as estimated now (ns).
    pub offset_ns: Option<i64>,
    /// The grandmaster's rate against the local clock, in parts per billion.
    pub rate_ppb: Option<f64>,
    /// The mean path delay when the grandmaster answers Delay_Req (ns).
    pub path_delay_ns: Option<i64>,
    /// An estimate of the mapping's error (ns).
    pub error_bound_ns: Option<f64>,
    /// Whether the offset is measured two way.
    pub two_way: bool,
    /// Whether the grandmaster's clock is stalled.
    pub stalled: bool,
    /// The timing peers from the latest `T`.
    pub timing_peers: Vec<IpAddr>,
    /// Whether the player said `B` (and not `E` since).
    pub playing: bool,
    /// The record in shared memory now.
    pub record: NqptpRecord,
    /// Records written to shared memory.
    pub publications: u64,
    /// Times the follower was made to re-lock after a silence.
    pub relocks: u64,
    /// The control server's counters.
    pub control: ControlCounters,
    /// The follower's counters.
    pub receiver: ReceiverCounters,
    /// CLOCK_MONOTONIC_RAW (ns) of this snapshot.
    pub updated_at_ns: u64,
}

impl Default for NqptpStatus {
    fn default() -> Self {
        NqptpStatus {
            state: PortState::Listening,
            grandmaster: None,
            grandmaster_address: None,
            held_grandmaster: None,
            offset_ns: None,
            rate_ppb: None,
            path_delay_ns: None,
            error_bound_ns: None,
            two_way: false,
            stalled: false,
            timing_peers: Vec::new(),
            playing: false,
            record: NqptpRecord::default(),
            publications: 0,
            relocks: 0,
            control: ControlCounters::default(),
            receiver: ReceiverCounters::default(),
            updated_at_ns: 0,
        }
    }
}
