//! What the engine reports to its caller through [`Engine::poll_event`](super::Engine::poll_event).

use super::bmca::ComparisonDataset;
use super::follow::{ClockMapping, Measurement};
use super::io::DropReason;
use super::state::PortState;
use super::time_properties::TimeProperties;
use aptp_clock::Time;
use aptp_wire::{ClockIdentity, PortIdentity};

/// The master a following port selected, as its Announces describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterInfo<A> {
    /// grandmasterIdentity of its Announces (the timeline followed).
    pub grandmaster_identity: ClockIdentity,
    /// sourcePortIdentity of its Announces (the parent port).
    pub parent_port_identity: PortIdentity,
    /// The caller's peer address its messages come from.
    pub address: A,
    /// Its comparison dataset (priorities, quality, stepsRemoved).
    pub dataset: ComparisonDataset,
    /// Its time properties (timescale, currentUtcOffset, leap flags) from its latest
    /// Announce; [`MasterChanged`](Event::MasterChanged) reports those of the Announce that
    /// selected it, [`Engine::master`](super::Engine::master) the latest.
    pub time_properties: TimeProperties,
}

/// Why the port went FAULTY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultReason {
    /// The caller reported a fault (a socket error, a lost interface).
    Reported,
    /// An outgoing message could not be encoded (a local time outside the PTP range).
    EncodeFailed,
}

/// Something the caller may want to know: state changes, measurements, mapping updates,
/// faults and drop summaries.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event<A> {
    /// The port changed state.
    StateChanged {
        /// The state left.
        from: PortState,
        /// The state entered.
        to: PortState,
        /// When (the `now` of the call that caused it).
        at: Time,
    },
    /// The selected master changed: `Some` when following a new one, `None` when no master
    /// is followed any more (this clock is master, or listening).
    MasterChanged {
        /// The new master.
        master: Option<MasterInfo<A>>,
    },
    /// A complete Sync exchange (with the path delay in use) was measured.
    Measurement(Measurement),
    /// The estimator produced a new remote ↔ local mapping.
    MappingUpdated(ClockMapping),
    /// The estimator found that the master's clock stepped (or the local one did) and
    /// restarted from the new offset.
    StepDetected {
        /// The size of the step, master minus local, in nanoseconds.
        step_ns: i64,
    },
    /// The followed master's Syncs jumped back in sequenceId, and the next two were
    /// consecutive from there: its process restarted (or its counter was reset). The
    /// duplicate memory of its old sequenceIds is forgotten so the new ones are measured.
    MasterRestarted {
        /// sequenceId of the last Sync before the jump.
        previous_sequence_id: u16,
        /// sequenceId of the first Sync after it.
        sequence_id: u16,
    },
    /// The engine was called far later than the wake-up it asked for (a suspended process,
    /// SIGSTOP, a stalled host): more than 4 Sync intervals and at least 1 s late. Queued
    /// datagrams keep their receive timestamps, so they are measured as usual; an announce
    /// receipt timeout that expired during the stall is given one announce interval of
    /// grace for the queued Announces to arrive, so a live master is not given up.
    Stalled {
        /// How late the call was, in nanoseconds.
        late_ns: u64,
    },
    /// The port went FAULTY.
    Fault {
        /// Why.
        reason: FaultReason,
    },
    /// Datagrams were dropped for `reason`: reported at most once per second per reason,
    /// with the running total, so a flood never floods the event queue.
    Dropped {
        /// Why.
        reason: DropReason,
        /// Drops counted for this reason since the engine started.
        total: u64,
    },
}
