//! What the AirPlay receiver reports: events, a status snapshot and counters.

use super::election::GrandmasterInfo;
use crate::engine::PortState;
use aptp_clock::{ClockMapping, Time};
use aptp_wire::ClockIdentity;

/// Something the application (or the nqptp drop-in) may act upon, from
/// [`AirplayReceiver::poll_event`](super::AirplayReceiver::poll_event).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ReceiverEvent<A> {
    /// The receiver's state changed (`listening` → `uncalibrated` → `slave`).
    StateChanged {
        /// The state left.
        from: PortState,
        /// The state entered.
        to: PortState,
        /// When.
        at: Time,
    },
    /// The elected grandmaster changed: `None` when no listed peer announces any more. The
    /// mapping restarts from scratch for a new grandmaster. A grandmaster that fell silent
    /// and comes back within
    /// [`ReceiverConfig::grandmaster_holdover_ns`](super::ReceiverConfig::grandmaster_holdover_ns)
    /// is not new: it is followed again with what was measured of it. Meanwhile
    /// [`AirplayReceiver::mapping`](super::AirplayReceiver::mapping) still gives the held
    /// mapping (and [`ReceiverStatus::held_grandmaster`] its grandmaster), on which audio can
    /// go on playing until [`HoldoverEnded`](Self::HoldoverEnded).
    GrandmasterChanged {
        /// The new grandmaster.
        grandmaster: Option<GrandmasterInfo<A>>,
    },
    /// The first Follow_Up of this mastership arrived: the mastership start is known.
    MastershipStarted {
        /// The grandmaster's identity.
        identity: ClockIdentity,
        /// The local instant of that Follow_Up.
        at: Time,
    },
    /// The estimator produced a new remote ↔ local mapping.
    MappingUpdated {
        /// The mapping.
        mapping: ClockMapping,
        /// The estimator jumped (first lock, a detected step, a restart) rather than moved
        /// smoothly.
        stepped: bool,
    },
    /// The grandmaster started (`true`) or stopped (`false`) answering Delay_Req: the offset
    /// is now measured two way (path delay removed) or one way (path delay included).
    DelayMeasurementChanged {
        /// Whether Delay_Resp are being received.
        two_way: bool,
    },
    /// The grandmaster's preciseOriginTimestamps have been identical for the stall timeout:
    /// its clock stopped (an Apple device idle). Announces are being sent to wake it.
    GrandmasterStalled {
        /// The grandmaster's identity.
        identity: ClockIdentity,
        /// The local instant of the first repeated Follow_Up.
        since: Time,
    },
    /// A stalled grandmaster's clock runs again. The measurement restarts with it (a
    /// [`MeasurementRestarted`](Self::MeasurementRestarted) follows).
    GrandmasterResumed {
        /// The grandmaster's identity.
        identity: ClockIdentity,
    },
    /// The estimator, the mapping and the pending exchanges were forgotten, the grandmaster
    /// kept ([`AirplayReceiver::restart_measurement`](super::AirplayReceiver::restart_measurement),
    /// or a stalled grandmaster resumed): the next Sync exchange locks afresh.
    MeasurementRestarted {
        /// When.
        at: Time,
    },
    /// The grandmaster held since it fell silent did not come back within
    /// [`ReceiverConfig::grandmaster_holdover_ns`](super::ReceiverConfig::grandmaster_holdover_ns)
    /// (or another was elected first): what was measured of it, the mapping included, is
    /// forgotten. An application that kept playing on the held mapping stops here.
    HoldoverEnded {
        /// The grandmaster's identity.
        identity: ClockIdentity,
        /// When.
        at: Time,
    },
}

/// What the receiver received, used and ignored since it was made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverCounters {
    /// Datagrams handed in.
    pub received: u64,
    /// From an address not in the timing peer list: ignored.
    pub not_a_peer: u64,
    /// Not a valid PTP message (or an invalid timestamp in it).
    pub malformed: u64,
    /// A domainNumber other than the configured one.
    pub wrong_domain: u64,
    /// Our own messages looped back.
    pub from_self: u64,
    /// Sync, Follow_Up or Delay_Resp from a clock that is not the grandmaster followed.
    pub not_from_grandmaster: u64,
    /// A Delay_Resp for no outstanding Delay_Req (another receiver's, or too late).
    pub unmatched: u64,
    /// A Sync or Follow_Up seen before.
    pub duplicate: u64,
    /// Messages of a type a receiver does not use (Signaling, Management, Delay_Req...).
    pub not_used: u64,
    /// An Announce refused because the announce table was full.
    pub announce_table_full: u64,
    /// A controlField other than IEEE 1588's for the type (accepted: Apple's Delay_Resp).
    pub control_field_mismatch: u64,
    /// Follow_Ups that repeated the previous preciseOriginTimestamp (a stalled clock).
    pub stalled_follow_ups: u64,
    /// Sync exchanges fed to the estimator.
    pub measurements: u64,
    /// Measurements the estimator accepted.
    pub accepted_measurements: u64,
    /// Delay_Resp matched to our Delay_Req.
    pub delay_responses: u64,
    /// Datagrams returned by `poll_transmit`.
    pub sent: u64,
    /// Announces sent to wake a stalled grandmaster.
    pub wake_announces: u64,
    /// Measurement restarts with the grandmaster kept (asked for, or a resumed grandmaster).
    pub measurement_restarts: u64,
    /// Pending Sync / Follow_Up halves or Delay_Req forgotten, the oldest first, because
    /// their table (`ReceiverConfig::pending_syncs`, `pending_delay_requests`) was full.
    pub pending_table_full: u64,
    /// Events dropped, the oldest first, because the event queue
    /// ([`ReceiverConfig::event_queue`](super::ReceiverConfig::event_queue)) was full: the
    /// caller did not [`poll_event`](super::AirplayReceiver::poll_event) often enough.
    pub events_lost: u64,
}

/// A snapshot of the receiver, from [`AirplayReceiver::status`](super::AirplayReceiver::status).
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiverStatus<A> {
    /// `listening` (no grandmaster), `uncalibrated` (following, not settled) or `slave`.
    pub state: PortState,
    /// The grandmaster followed.
    pub grandmaster: Option<GrandmasterInfo<A>>,
    /// The grandmaster held since it fell silent
    /// ([`ReceiverConfig::grandmaster_holdover_ns`](super::ReceiverConfig::grandmaster_holdover_ns)),
    /// while none is followed.
    pub held_grandmaster: Option<GrandmasterInfo<A>>,
    /// The remote ↔ local mapping (with its rate), once locked; while a grandmaster is held,
    /// its mapping.
    pub mapping: Option<ClockMapping>,
    /// The grandmaster's time minus the local clock's at the status instant (ns). This,
    /// `rate_ppb`, `path_delay_ns` and `error_bound_ns` are `None` without a grandmaster
    /// followed, held or not.
    pub offset_ns: Option<i64>,
    /// The mapping's rate offset (remote against local) in parts per billion.
    pub rate_ppb: Option<f64>,
    /// The mean path delay of the latest two-way exchange (ns); `None` one way.
    pub path_delay_ns: Option<i64>,
    /// Whether the grandmaster answers Delay_Req (two-way measurement).
    pub two_way: bool,
    /// An estimate of the mapping's error (ns): three times the smoothed distance of each new
    /// measurement from the mapping's prediction. One way, the path delay itself cannot be
    /// observed and is not included.
    pub error_bound_ns: Option<f64>,
    /// The grandmaster's clock is stalled (identical preciseOriginTimestamps).
    pub stalled: bool,
    /// Timing peers listed.
    pub timing_peers: usize,
    /// How long ago (ns) the grandmaster's latest Sync was handled; `None` before one.
    pub last_sync_age_ns: Option<u64>,
    /// How long ago (ns) the grandmaster's latest Follow_Up was handled; `None` before one.
    pub last_follow_up_age_ns: Option<u64>,
    /// Counters.
    pub counters: ReceiverCounters,
}
