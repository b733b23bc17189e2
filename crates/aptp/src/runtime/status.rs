//! What a running node publishes: a [`Status`] snapshot (tokio watch) after every change.

use std::net::IpAddr;

use aptp_clock::{ClockMapping, Time};
use aptp_transport::TransportCounters;
use aptp_wire::ClockIdentity;

use super::LocalClock;
use crate::engine::{Counters, MappingQuality, MasterInfo, Measurement, PortState};

/// A node's state at one instant, as [`Node::status`](super::Node::status) and
/// [`Node::watch_status`](super::Node::watch_status) give it.
///
/// ```
/// use aptp::engine::PortState;
/// use aptp::runtime::{LocalClock, Status};
/// use aptp_wire::ClockIdentity;
/// let status = Status::new(ClockIdentity([1; 8]), LocalClock::Realtime);
/// assert_eq!(status.state, PortState::Initializing);
/// assert_eq!(status.offset_ns_at(aptp_clock::Time::from_nanos(5)), None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// This node's clock identity.
    pub clock_identity: ClockIdentity,
    /// The clock the node reads.
    pub local_clock: LocalClock,
    /// The port state.
    pub state: PortState,
    /// The master followed, while following.
    pub master: Option<MasterInfo<IpAddr>>,
    /// The remote ↔ local mapping, once the estimator produced one.
    pub mapping: Option<ClockMapping>,
    /// How well the mapping predicts the master.
    pub quality: MappingQuality,
    /// The mean path delay in use, in nanoseconds.
    pub path_delay_ns: Option<i64>,
    /// The latest Sync exchange measured.
    pub last_measurement: Option<Measurement>,
    /// When (local clock) this snapshot was taken.
    pub updated_at: Option<Time>,
    /// The engine's counters.
    pub counters: Counters,
    /// The transport's counters (timestamps kernel/user space, drops).
    pub transport: TransportCounters,
}

impl Status {
    /// The snapshot before the node ran: INITIALIZING, nothing measured.
    pub fn new(clock_identity: ClockIdentity, local_clock: LocalClock) -> Self {
        Status {
            clock_identity,
            local_clock,
            state: PortState::Initializing,
            master: None,
            mapping: None,
            quality: MappingQuality::default(),
            path_delay_ns: None,
            last_measurement: None,
            updated_at: None,
            counters: Counters::default(),
            transport: TransportCounters::default(),
        }
    }

    /// The master's time minus the local clock's at local instant `local`, in nanoseconds
    /// (the sign of cli.md's `offset_ns`; IEEE 1588's offsetFromMaster is its negative), while
    /// following with a mapping.
    pub fn offset_ns_at(&self, local: Time) -> Option<i64> {
        let mapping = self.mapping.filter(|_| self.state.is_following())?;
        i64::try_from(mapping.offset_at(local).nanos_rounded()).ok()
    }

    /// The master's rate against the local clock, in parts per billion (positive: the
    /// master runs fast), while following with a mapping.
    pub fn rate_ppb(&self) -> Option<f64> {
        self.mapping
            .filter(|_| self.state.is_following())
            .map(|m| m.rate_ppb())
    }

    /// The grandmaster followed, while following.
    pub fn grandmaster_identity(&self) -> Option<ClockIdentity> {
        self.master.map(|m| m.grandmaster_identity)
    }
}
