//! The deterministic, sans-IO PTP engine: one ordinary clock with one port.
//!
//! In the shape of quinn-proto's `Connection` and statime's port: the engine never touches a
//! socket or a clock. The caller feeds it
//!
//! - received datagrams with their receive timestamps ([`Engine::handle_datagram`]),
//! - the transmit timestamp of each event message it sent ([`Engine::handle_transmit_timestamp`]),
//! - timer expiries ([`Engine::handle_timeout`]),
//!
//! each with `now`, and asks what to send ([`Engine::poll_transmit`]), when to wake
//! ([`Engine::poll_timeout`]) and what happened ([`Engine::poll_event`]). Equal inputs give
//! equal outputs, so the whole protocol is tested in virtual time ([`sim`]).
//!
//! ```
//! use aptp::engine::{Config, Engine, PortKind, PortState};
//! use aptp_clock::Time;
//! use aptp_wire::ClockIdentity;
//!
//! let start = Time::from_nanos(1_000_000_000);
//! let mut engine: Engine<u32> = Engine::new(Config::default(), ClockIdentity([1; 8]), start).unwrap();
//! assert_eq!(engine.state(), PortState::Listening);
//! // Nobody announces: after announceReceiptTimeout (3 × 2 s) the clock becomes master.
//! while let Some(deadline) = engine.poll_timeout() {
//!     engine.handle_timeout(deadline);
//!     if engine.state() == PortState::Master { break; }
//! }
//! assert_eq!(engine.state(), PortState::Master);
//! let announce = engine.poll_transmit(engine.poll_timeout().unwrap()).unwrap();
//! assert_eq!(announce.port, PortKind::General);
//! ```

mod bmca;
pub(crate) mod codec;
mod config;
mod dispatch;
mod events;
mod follow;
mod foreign;
mod io;
mod master;
mod peer_delay;
mod port;
mod random;
pub(crate) mod rate_limit;
#[cfg(test)]
mod scenarios;
pub mod sim;
mod slave;

mod state;
#[cfg(test)]
mod tests;
mod time;
mod time_properties;
mod transmit_timestamps;

pub use bmca::{compare_datasets, ComparisonDataset, DatasetComparison};
pub use config::{Capacities, Config, ConfigError, DelayMechanism};
pub use events::{Event, FaultReason, MasterInfo};
pub use follow::{ClockMapping, DelayMode, MappingQuality, Measurement};
pub use io::{Counters, Destination, DropReason, PortKind, Transmit, TransmitToken};
pub use state::PortState;
pub use time_properties::TimeProperties;

use aptp_clock::Time;
use aptp_wire::{ClockIdentity, PortIdentity};
use core::fmt::Debug;
use std::collections::VecDeque;

use follow::Follower;
use foreign::ForeignMasterTable;
use master::MasterRole;
use peer_delay::PeerDelay;
use random::SplitMix64;
use rate_limit::AnswerRateLimiter;
use slave::SlaveRole;
use transmit_timestamps::PendingTransmits;

/// The selected master (the parent port of IEEE 1588), while following.
#[derive(Clone, Copy, Debug)]
struct Parent<A> {
    /// sourcePortIdentity of its Announces.
    source: PortIdentity,
    /// Where its messages come from.
    address: A,
    /// Its comparison dataset.
    dataset: ComparisonDataset,
    /// Its Announces carried the unicast flag: Delay_Req go to it by unicast.
    unicast: bool,
    /// The time properties of its latest Announce.
    time_properties: TimeProperties,
}

/// How long a master lost to its announce receipt timeout is remembered, in announce
/// receipt timeouts: when the same port of the same grandmaster announces again within it
/// (a restarted master process listens one announce receipt timeout before serving), its
/// last Announce before the silence still counts towards qualification and the estimator
/// resumes where it was instead of calibrating afresh.
const LOST_MASTER_MEMORY: u64 = 4;

/// A call later than the requested wake-up by more than this many Sync intervals (and at
/// least 1 s) is a stall ([`Event::Stalled`]).
const STALL_SYNC_INTERVALS: u64 = 4;

/// The master lost to its announce receipt timeout, remembered for a while.
#[derive(Debug)]
struct LostParent {
    /// sourcePortIdentity of its Announces.
    source: PortIdentity,
    /// The grandmaster it followed.
    grandmaster_identity: ClockIdentity,
    /// When it was given up.
    lost_at: Time,
    /// Its latest Announce receipt before the silence.
    last_announce_at: Option<Time>,
    /// The sequenceId of its latest Sync before the silence.
    last_sync_sequence_id: Option<u16>,
    /// The estimator that followed it.
    follower: Follower,
}

/// A PTP ordinary clock with one port, as a deterministic state machine.
///
/// `A` is the caller's peer address (a `SocketAddr`, an `IpAddr`, a simulator node number):
/// the engine only compares and returns it. See the [module documentation](self) for the call
/// pattern.
#[derive(Debug)]
pub struct Engine<A> {
    config: Config,
    port_identity: PortIdentity,
    state: PortState,
    foreign_masters: ForeignMasterTable<A>,
    parent: Option<Parent<A>>,
    /// The master lost to its announce receipt timeout, while remembered.
    lost_parent: Option<LostParent>,
    /// LISTENING, PASSIVE, UNCALIBRATED, SLAVE: when the announce receipt timeout expires.
    announce_receipt_deadline: Option<Time>,
    /// FAULTY: when the fault is considered cleared.
    fault_cleared_at: Option<Time>,
    master: MasterRole,
    slave: SlaveRole,
    peer_delay: PeerDelay,
    follower: Follower,
    pending_transmits: PendingTransmits<A>,
    unicast_peers: Vec<A>,
    /// Per-source allowance of Delay_Resp and Pdelay_Resp.
    answer_limiter: AnswerRateLimiter<A>,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<Event<A>>,
    counters: Counters,
    drop_reported_at: [Option<Time>; DropReason::ALL.len()],
    random: SplitMix64,
    /// The latest `now` seen, to notice the caller's clock stepping back.
    last_now: Time,
    /// The overdue wake-up of the stall last reported.
    stalled_wake: Option<Time>,
}

impl<A: Copy + Eq + Debug> Engine<A> {
    /// A new engine for the clock `clock_identity`, started at `now`: it passes INITIALIZING
    /// and waits in LISTENING for Announces.
    ///
    /// # Errors
    /// The configuration's [`ConfigError`] when it does not [validate](Config::validate).
    pub fn new(
        config: Config,
        clock_identity: ClockIdentity,
        now: Time,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let capacities = config.capacities;
        let mut engine = Engine {
            port_identity: PortIdentity::new(clock_identity, config.port_number),
            state: PortState::Initializing,
            foreign_masters: ForeignMasterTable::new(capacities.foreign_masters),
            parent: None,
            lost_parent: None,
            announce_receipt_deadline: None,
            fault_cleared_at: None,
            master: MasterRole::new(),
            slave: SlaveRole::new(&capacities),
            peer_delay: PeerDelay::new(capacities.pending_delay_requests),
            follower: Follower::new(&config),
            pending_transmits: PendingTransmits::new(capacities.pending_transmit_timestamps),
            unicast_peers: Vec::new(),
            answer_limiter: AnswerRateLimiter::new(capacities.rate_limited_sources),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            drop_reported_at: [None; DropReason::ALL.len()],
            random: SplitMix64::new(config.random_seed ^ u64::from_be_bytes(clock_identity.0)),
            last_now: now,
            stalled_wake: None,
            config,
        };
        engine.enter_listening(now);
        Ok(engine)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This port's identity (clock identity and port number).
    pub fn port_identity(&self) -> PortIdentity {
        self.port_identity
    }

    /// The port's current state.
    pub fn state(&self) -> PortState {
        self.state
    }

    /// The master followed (in UNCALIBRATED, SLAVE and PASSIVE), if any.
    pub fn master(&self) -> Option<MasterInfo<A>> {
        self.parent.map(|p| MasterInfo {
            grandmaster_identity: p.dataset.grandmaster_identity,
            parent_port_identity: p.source,
            address: p.address,
            dataset: p.dataset,
            time_properties: p.time_properties,
        })
    }

    /// The latest remote ↔ local clock mapping while following, with its quality.
    pub fn mapping(&self) -> Option<ClockMapping> {
        self.follower.mapping()
    }

    /// How well the mapping has been predicting the master.
    pub fn mapping_quality(&self) -> MappingQuality {
        self.follower.quality()
    }

    /// The mean path delay in use (E2E from Delay_Req/Delay_Resp, P2P from peer delay).
    pub fn path_delay_ns(&self) -> Option<i64> {
        self.current_path_delay()
            .map(|d| i64::try_from(d.nanos_rounded()).unwrap_or(i64::MAX))
    }

    /// How the offset is measured now: [`DelayMode::OneWay`] with DelayMechanism::None, or
    /// when an E2E master has left `delay_request_fallback` Delay_Req in a row unanswered
    /// (until it answers again); [`DelayMode::TwoWay`] otherwise.
    pub fn delay_mode(&self) -> DelayMode {
        match self.config.delay_mechanism {
            DelayMechanism::None => DelayMode::OneWay,
            DelayMechanism::PeerToPeer => DelayMode::TwoWay,
            DelayMechanism::EndToEnd => self.slave.delay_mode(),
        }
    }

    /// Sources whose answers are rate-limited now (never more than
    /// `capacities.rate_limited_sources`).
    pub fn rate_limited_source_count(&self) -> usize {
        self.answer_limiter.len()
    }

    /// What was received, sent and dropped so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Foreign masters currently tracked (never more than the configured capacity).
    pub fn foreign_master_count(&self) -> usize {
        self.foreign_masters.len()
    }

    /// Sync and Follow_Up halves waiting for their partner (never more than
    /// `capacities.pending_syncs`).
    pub fn pending_sync_len(&self) -> usize {
        self.slave.pending_sync_len()
    }

    /// Delay_Req sent and not yet answered (never more than
    /// `capacities.pending_delay_requests`).
    pub fn pending_delay_request_len(&self) -> usize {
        self.slave.pending_delay_request_len()
    }

    /// Pdelay_Req exchanges in progress (never more than `capacities.pending_delay_requests`).
    pub fn pending_peer_delay_len(&self) -> usize {
        self.peer_delay.pending_len()
    }

    /// Event messages sent and awaiting their transmit timestamp (never more than
    /// `capacities.pending_transmit_timestamps`).
    pub fn pending_transmit_timestamp_len(&self) -> usize {
        self.pending_transmits.len()
    }

    /// Datagrams queued for [`poll_transmit`](Self::poll_transmit) (never more than
    /// `capacities.transmit_queue`).
    pub fn transmit_queue_len(&self) -> usize {
        self.transmits.len()
    }

    /// Events queued for [`poll_event`](Self::poll_event) (never more than
    /// `capacities.event_queue`).
    pub fn event_queue_len(&self) -> usize {
        self.events.len()
    }

    /// Replaces the unicast peers: as master, Announce, Sync and Follow_Up go to each of them
    /// instead of the multicast group (the order served rotates every round). At most
    /// `capacities.unicast_peers` are kept; the number kept is returned.
    pub fn set_unicast_peers(&mut self, peers: impl IntoIterator<Item = A>) -> usize {
        self.unicast_peers.clear();
        for peer in peers {
            if self.unicast_peers.len() >= self.config.capacities.unicast_peers {
                break;
            }
            if !self.unicast_peers.contains(&peer) {
                self.unicast_peers.push(peer);
            }
        }
        self.unicast_peers.len()
    }

    /// The unicast peers in use.
    pub fn unicast_peers(&self) -> &[A] {
        &self.unicast_peers
    }

    /// Hands over one received datagram: its bytes, who sent it, which port it came in on, and
    /// its receive timestamp (the caller's local clock). Anything that is not a valid message
    /// for this port is counted and ignored.
    pub fn handle_datagram(
        &mut self,
        now: Time,
        bytes: &[u8],
        source: A,
        port: PortKind,
        rx_timestamp: Time,
    ) {
        self.observe_now(now);
        self.counters.received = self.counters.received.saturating_add(1);
        match self.dispatch(now, bytes, source, port, rx_timestamp) {
            Ok(()) => self.counters.accepted = self.counters.accepted.saturating_add(1),
            Err(reason) => self.count_drop(now, reason),
        }
    }

    /// Hands back the transmit timestamp of a sent event message, with the token that came
    /// with it. A token no longer pending (expired, or the port changed state) is counted and
    /// ignored.
    pub fn handle_transmit_timestamp(
        &mut self,
        now: Time,
        token: TransmitToken,
        tx_timestamp: Time,
    ) {
        self.observe_now(now);
        match self.pending_transmits.take(token) {
            Some(purpose) => self.on_transmitted(now, purpose, tx_timestamp),
            None => self.count_drop(now, DropReason::UnknownTransmitToken),
        }
    }

    /// Runs every timer due at `now`: sends Announce, Sync, Delay_Req and Pdelay_Req when
    /// their time comes, expires silent masters and overdue transmit timestamps, clears faults.
    pub fn handle_timeout(&mut self, now: Time) {
        self.observe_now(now);
        for _ in self.pending_transmits.expire(now) {
            self.count_drop(now, DropReason::TransmitTimestampMissing);
        }
        if let Some(at) = self.fault_cleared_at {
            if now >= at {
                self.fault_cleared_at = None;
                self.set_state(now, PortState::Initializing);
                self.enter_listening(now);
            }
        }
        self.check_announce_receipt(now);
        if self.state == PortState::Master {
            self.master_timers(now);
        }
        if self.state.is_following() {
            self.slave_timers(now);
        }
        if self.config.delay_mechanism == DelayMechanism::PeerToPeer && self.state.runs_bmca() {
            self.peer_delay_timers(now);
        }
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self, _now: Time) -> Option<Transmit<A>> {
        let transmit = self.transmits.pop_front()?;
        self.counters.sent = self.counters.sent.saturating_add(1);
        Some(transmit)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` when no
    /// timer runs (DISABLED).
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut deadlines = [
            self.announce_receipt_deadline,
            self.fault_cleared_at,
            self.pending_transmits.next_deadline(),
            None,
            None,
            None,
            None,
        ];
        if self.state == PortState::Master {
            deadlines[3] = self.master.next_announce_at;
            deadlines[4] = self.master.next_sync_at;
        }
        if self.state.is_following() {
            deadlines[5] = self.slave.next_delay_request_at;
        }
        if self.config.delay_mechanism == DelayMechanism::PeerToPeer && self.state.runs_bmca() {
            deadlines[6] = self.peer_delay.next_request_at;
        }
        deadlines.into_iter().flatten().min()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    /// Forgets the estimator, the mapping and the pending Sync and Delay_Req exchanges, but
    /// keeps the selected master and the foreign master table (no MasterChanged): after a
    /// pause (a suspended process, a stalled grandmaster) the next exchanges re-lock at once
    /// instead of being judged against stale state. SLAVE goes back to UNCALIBRATED.
    pub fn restart_measurement(&mut self, now: Time) {
        self.observe_now(now);
        self.follower.reset();
        let next_delay_request_at = self.slave.next_delay_request_at;
        self.slave.reset();
        self.slave.next_delay_request_at = next_delay_request_at;
        if self.state == PortState::Slave {
            self.set_state(now, PortState::Uncalibrated);
        }
    }

    /// Reports a fault (a socket error, a lost interface): the port goes FAULTY, forgets its
    /// masters and pending exchanges, and retries after `fault_reset_interval`.
    pub fn handle_fault(&mut self, now: Time) {
        self.observe_now(now);
        self.fault(now, FaultReason::Reported);
    }

    /// Disables the port (DISABLED): it sends nothing and ignores everything until
    /// [`enable`](Self::enable).
    pub fn disable(&mut self, now: Time) {
        self.observe_now(now);
        self.reset_protocol_state(now);
        self.fault_cleared_at = None;
        self.announce_receipt_deadline = None;
        self.set_state(now, PortState::Disabled);
    }

    /// Enables a DISABLED port: it passes INITIALIZING and listens again.
    pub fn enable(&mut self, now: Time) {
        self.observe_now(now);
        if self.state == PortState::Disabled {
            self.set_state(now, PortState::Initializing);
            self.enter_listening(now);
        }
    }

    /// The mean path delay in use: the peer delay with P2P, the estimator's latest with E2E.
    fn current_path_delay(&self) -> Option<aptp_clock::TimeDelta> {
        match self.config.delay_mechanism {
            DelayMechanism::PeerToPeer => self.peer_delay.mean_link_delay(),
            _ => self.follower.mean_path_delay(),
        }
    }

    fn fault(&mut self, now: Time, reason: FaultReason) {
        self.reset_protocol_state(now);
        self.announce_receipt_deadline = None;
        self.set_state(now, PortState::Faulty);
        self.fault_cleared_at = Some(time::after(
            now,
            config::log_interval_ns(self.config.fault_reset_interval),
        ));
        self.push_event(Event::Fault { reason });
    }

    /// Forgets masters, exchanges and queued datagrams (entering FAULTY or DISABLED).
    fn reset_protocol_state(&mut self, now: Time) {
        self.lost_parent = None;
        self.foreign_masters.clear();
        self.set_parent(now, None);
        self.pending_transmits.clear();
        self.transmits.clear();
        self.slave.reset();
        self.peer_delay.reset();
        self.answer_limiter.clear();
    }

    /// Notices the caller's clock going backwards (a step of the local clock) and moves every
    /// deadline back by as much, so no timer stalls for the size of the step.
    fn observe_now(&mut self, now: Time) {
        self.notice_stall(now);
        if now < self.last_now {
            let back = self.last_now.since(now);
            for deadline in [
                &mut self.announce_receipt_deadline,
                &mut self.fault_cleared_at,
                &mut self.master.next_announce_at,
                &mut self.master.next_sync_at,
                &mut self.slave.next_delay_request_at,
                &mut self.peer_delay.next_request_at,
            ] {
                if let Some(at) = deadline.as_mut() {
                    *at -= back;
                }
            }
        }
        self.last_now = now;
    }

    /// Notices a call far later than the wake-up the engine asked for (more than
    /// [`STALL_SYNC_INTERVALS`] Sync intervals and at least 1 s): counts it, reports
    /// [`Event::Stalled`], and gives an announce receipt timeout that expired during the
    /// stall one announce interval of grace, so the Announces queued meanwhile (handed over
    /// after this call, if it is a timeout) can keep a live master.
    fn notice_stall(&mut self, now: Time) {
        let Some(wake) = self.poll_timeout() else {
            return;
        };
        if now <= wake || self.stalled_wake == Some(wake) {
            return;
        }
        let late_ns = time::nanos_since(now, wake);
        let threshold = config::log_interval_ns(self.config.log_sync_interval)
            .saturating_mul(STALL_SYNC_INTERVALS)
            .max(1_000_000_000);
        if late_ns <= threshold {
            return;
        }
        // Reported once: the calls until the overdue timers run find the same wake-up.
        self.stalled_wake = Some(wake);
        self.counters.stalls = self.counters.stalls.saturating_add(1);
        self.push_event(Event::Stalled { late_ns });
        let grace = time::after(now, self.announce_interval_ns());
        if let Some(deadline) = self.announce_receipt_deadline.as_mut() {
            if *deadline <= now {
                *deadline = grace;
            }
        }
    }

    fn set_state(&mut self, now: Time, to: PortState) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.push_event(Event::StateChanged { from, to, at: now });
        }
    }

    fn push_event(&mut self, event: Event<A>) {
        if self.events.len() >= self.config.capacities.event_queue {
            self.events.pop_front();
            self.counters.events_lost = self.counters.events_lost.saturating_add(1);
        }
        self.events.push_back(event);
    }

    fn push_transmit(&mut self, now: Time, transmit: Transmit<A>, front: bool) {
        if self.transmits.len() >= self.config.capacities.transmit_queue {
            if let Some(token) = transmit.timestamp_token {
                self.pending_transmits.take(token);
            }
            self.count_drop(now, DropReason::TransmitQueueFull);
            return;
        }
        if front {
            self.transmits.push_front(transmit);
        } else {
            self.transmits.push_back(transmit);
        }
    }

    /// Counts a drop and reports it at most once a second per reason.
    fn count_drop(&mut self, now: Time, reason: DropReason) {
        let total = self.counters.count_drop(reason);
        let slot = &mut self.drop_reported_at[reason.index()];
        let due = slot.is_none_or(|at| time::nanos_since(now, at) >= 1_000_000_000 || now < at);
        if due {
            *slot = Some(now);
            self.push_event(Event::Dropped { reason, total });
        }
    }

    /// The destinations of a master's periodic messages, rotated by `round`.
    fn periodic_destinations(&self, round: usize) -> Vec<Destination<A>> {
        if self.unicast_peers.is_empty() {
            return vec![Destination::Multicast];
        }
        let count = self.unicast_peers.len();
        (0..count)
            .map(|i| Destination::Unicast(self.unicast_peers[(i + round) % count]))
            .collect()
    }
}
