//! The AirPlay receiver (follower) role, sans-IO: [`AirplayReceiver`].

use super::election::{Election, GrandmasterInfo};
use super::events::{ReceiverCounters, ReceiverEvent, ReceiverStatus};
use super::wire_time::correction_of;
use crate::engine::{PortKind, PortState, Transmit, TransmitToken};
use aptp_clock::{
    AnyEstimator, ClockMapping, Estimator, EstimatorKind, LuckyRegression, LuckyRegressionConfig,
    Time, TimeDelta,
};
use aptp_wire::{Body, ClockIdentity, Header, Message, PortIdentity, Timestamp};
use core::fmt::Debug;
use std::collections::VecDeque;
use thiserror::Error;

/// How the receiver behaves; [`ReceiverConfig::new`] gives AirPlay's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// This receiver's clock identity (in its Delay_Req and wake Announces).
    pub clock_identity: ClockIdentity,
    /// This receiver's port number. Default 1.
    pub port_number: u16,
    /// domainNumber accepted. Default 0.
    pub domain_number: u8,
    /// The estimator. Default [`EstimatorKind::DEFAULT`], aptp-clock's Wi-Fi-tuned one.
    pub estimator: EstimatorKind,
    /// Send a Delay_Req after Syncs, to measure two way when the grandmaster answers.
    /// Default true (Apple grandmasters ignore them; aptp's and ptp4l's answer).
    pub delay_requests: bool,
    /// At most one Delay_Req every 2^n seconds. Default −3 (with each 8 Hz Sync).
    pub log_min_delay_request_interval: i8,
    /// Without a Delay_Resp for this long (ns), and for three Delay_Req in a row, the
    /// measurement falls back to one way (a silence of everything, in which no Delay_Req
    /// goes out, is not taken for a grandmaster that stopped answering). Default 4 s.
    pub two_way_timeout_ns: u64,
    /// A peer's Announce is valid for this many of its announce intervals. Default 3.
    pub announce_receipt_timeout: u8,
    /// ...and never less than this (ns), so Apple's 4 Hz Announces survive a loss burst.
    /// Default 2 s.
    pub min_announce_timeout_ns: u64,
    /// A grandmaster whose Announces time out (a Wi-Fi dropout, a sender that paused) is
    /// held this long (ns): if the same clock comes back from the same peer meanwhile,
    /// measurement resumes where it stopped, with the estimator's history and mapping (and
    /// the same mastership start), instead of locking afresh. Another grandmaster, or the
    /// hold's end, starts afresh. Default 60 s; 0 holds nothing.
    pub grandmaster_holdover_ns: u64,
    /// Identical preciseOriginTimestamps for this long (ns) mean a stalled grandmaster.
    /// Default 60 s, as nqptp.
    pub stall_timeout_ns: u64,
    /// While stalled, an Announce to the grandmaster this often (ns). Default 1 s.
    pub wake_interval_ns: u64,
    /// Accepted measurements before `uncalibrated` becomes `slave`. Default 8.
    pub calibration_measurements: u32,
    /// Timing peers kept (more are refused). Default 64.
    pub max_timing_peers: usize,
    /// Announcing peers tracked. Default 16.
    pub max_announcers: usize,
    /// Half Sync exchanges waiting for their other half. Default 8.
    pub pending_syncs: usize,
    /// How long a Delay_Req waits for its transmit timestamp and answer (ns). Default 1 s.
    pub delay_request_timeout_ns: u64,
    /// Delay_Req awaiting their transmit timestamp and answer at most; when full, the oldest
    /// is forgotten. Default 4 (half a second of Delay_Req at 8 Hz).
    pub pending_delay_requests: usize,
    /// Events queued for [`AirplayReceiver::poll_event`] at most: when full, the oldest
    /// event is dropped for the new one and counted ([`ReceiverCounters::events_lost`]), so
    /// a caller that stops polling cannot grow memory. Default
    /// [`AirplayReceiver::EVENT_QUEUE_CAPACITY`] (256: 32 s of one `MappingUpdated` per
    /// 8 Hz Sync).
    pub event_queue: usize,
    /// Exchanges the default estimator ([`EstimatorKind::LuckyRegression`]) holds, 1 to
    /// [`LuckyRegression::MAX_POINTS`]: its windows over exchanges see no further back. When
    /// full, the oldest is forgotten. Default [`LuckyRegression::MAX_POINTS`] (512: 64 s of
    /// 8 Hz Syncs). Storage is the estimator's fixed maximum whatever the value (no
    /// allocation): it bounds what each fit reads, and so its cost. The other estimators
    /// ignore it.
    pub estimator_points: usize,
    /// One-second bins (each second's least-delayed Sync and Delay_Req) the default estimator
    /// holds for its windows longer than the exchanges reach, 1 to
    /// [`LuckyRegression::MAX_BINS`]. When full, the oldest is forgotten. Default
    /// [`LuckyRegression::MAX_BINS`] (256: 256 s). Fixed storage as `estimator_points`.
    pub estimator_bins: usize,
}

impl ReceiverConfig {
    /// AirPlay's defaults for the clock `clock_identity`.
    pub fn new(clock_identity: ClockIdentity) -> Self {
        ReceiverConfig {
            clock_identity,
            port_number: 1,
            domain_number: 0,
            estimator: EstimatorKind::DEFAULT,
            delay_requests: true,
            log_min_delay_request_interval: -3,
            two_way_timeout_ns: 4_000_000_000,
            announce_receipt_timeout: 3,
            min_announce_timeout_ns: 2_000_000_000,
            grandmaster_holdover_ns: 60_000_000_000,
            stall_timeout_ns: 60_000_000_000,
            wake_interval_ns: 1_000_000_000,
            calibration_measurements: 8,
            max_timing_peers: 64,
            max_announcers: 16,
            pending_syncs: 8,
            delay_request_timeout_ns: 1_000_000_000,
            pending_delay_requests: 4,
            event_queue: EVENT_QUEUE,
            estimator_points: LuckyRegression::MAX_POINTS,
            estimator_bins: LuckyRegression::MAX_BINS,
        }
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`ReceiverConfigError`] naming the first bad option.
    pub fn validate(&self) -> Result<(), ReceiverConfigError> {
        if self.port_number == 0 || self.port_number == 0xFFFF {
            return Err(ReceiverConfigError::ReservedPortNumber(self.port_number));
        }
        if self.announce_receipt_timeout < 2 {
            return Err(ReceiverConfigError::AnnounceReceiptTimeoutTooSmall(
                self.announce_receipt_timeout,
            ));
        }
        if !(-7..=7).contains(&self.log_min_delay_request_interval) {
            return Err(ReceiverConfigError::LogIntervalOutOfRange(
                self.log_min_delay_request_interval,
            ));
        }
        for (name, value) in [
            ("max_timing_peers", self.max_timing_peers as u64),
            ("max_announcers", self.max_announcers as u64),
            ("pending_syncs", self.pending_syncs as u64),
            ("pending_delay_requests", self.pending_delay_requests as u64),
            ("event_queue", self.event_queue as u64),
            ("estimator_points", self.estimator_points as u64),
            ("estimator_bins", self.estimator_bins as u64),
            ("two_way_timeout_ns", self.two_way_timeout_ns),
            ("min_announce_timeout_ns", self.min_announce_timeout_ns),
            ("stall_timeout_ns", self.stall_timeout_ns),
            ("wake_interval_ns", self.wake_interval_ns),
            ("delay_request_timeout_ns", self.delay_request_timeout_ns),
        ] {
            if value == 0 {
                return Err(ReceiverConfigError::Zero(name));
            }
        }
        for (name, value, max) in [
            (
                "estimator_points",
                self.estimator_points,
                LuckyRegression::MAX_POINTS,
            ),
            (
                "estimator_bins",
                self.estimator_bins,
                LuckyRegression::MAX_BINS,
            ),
        ] {
            if value > max {
                return Err(ReceiverConfigError::TooLarge { name, value, max });
            }
        }
        Ok(())
    }
}

/// Why a [`ReceiverConfig`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReceiverConfigError {
    /// Port numbers 0 and 0xFFFF are reserved.
    #[error("port number {0} is reserved")]
    ReservedPortNumber(u16),
    /// `announce_receipt_timeout` must be at least 2.
    #[error("announce receipt timeout {0} is below 2")]
    AnnounceReceiptTimeoutTooSmall(u8),
    /// A log interval outside −7..=7.
    #[error("log interval {0} is outside -7..=7")]
    LogIntervalOutOfRange(i8),
    /// A capacity or duration of zero.
    #[error("{0} is zero")]
    Zero(&'static str),
    /// A capacity beyond the most its table can hold (the estimator's fixed storage).
    #[error("{name} = {value} is above its maximum of {max}")]
    TooLarge {
        /// The option's field name in [`ReceiverConfig`].
        name: &'static str,
        /// The value given.
        value: usize,
        /// The largest allowed.
        max: usize,
    },
}

/// Half a Sync exchange.
#[derive(Clone, Copy, Debug)]
struct PendingSync {
    sequence_id: u16,
    /// Receive timestamp and correctionField of the Sync.
    sync: Option<(Time, TimeDelta)>,
    /// preciseOriginTimestamp and correctionField of the Follow_Up.
    follow_up: Option<(Timestamp, TimeDelta)>,
}

/// A Delay_Req sent and not yet answered.
#[derive(Clone, Copy, Debug)]
struct PendingDelayRequest {
    sequence_id: u16,
    token: u64,
    sent_at: Time,
    t3: Option<Time>,
    t4: Option<Time>,
}

/// The AirPlay receiver (follower) role, sans-IO.
///
/// What it does with each datagram from a listed timing peer (anything else is counted and
/// ignored, whatever its source port, so iPhones sending from ports other than 319/320 work):
///
/// - Announce: recorded in the peers' election; the best dataset is the grandmaster followed.
/// - Sync and Follow_Up from the grandmaster's clock (port numbers ignored: Apple devices vary
///   them): paired by sequenceId; t1 is the preciseOriginTimestamp with both corrections, t2
///   the Sync's *receive timestamp* (the kernel's, from the caller), never the Follow_Up's
///   arrival. Apple's 96-byte Follow_Up, the 0x0608 Sync flags, logMessageInterval −3 and any
///   controlField are accepted.
/// - Delay_Resp, when the grandmaster answers the Delay_Req sent after each Sync: matched by
///   sequenceId and requestingPortIdentity (not the responder's port number); the exchange
///   makes the measurement two way. Apple devices do not answer: the offset is then one way.
/// - A repeated preciseOriginTimestamp for the stall timeout marks the grandmaster stalled:
///   Announces are sent to wake it, and events say so.
///
/// `A` is the caller's name for a timing peer: its IP address (without the port, so a peer is
/// accepted from any source port), or a node number in a simulation.
#[derive(Debug)]
pub struct AirplayReceiver<A> {
    config: ReceiverConfig,
    port_identity: PortIdentity,
    state: PortState,
    peers: Vec<A>,
    election: Election<A>,
    grandmaster: Option<GrandmasterInfo<A>>,
    /// The grandmaster lost to an Announce timeout, and when: measurement is kept for it
    /// (`grandmaster_holdover_ns`).
    held_grandmaster: Option<(GrandmasterInfo<A>, Time)>,
    estimator: AnyEstimator,
    mapping: Option<ClockMapping>,
    prediction_error_ns: Option<f64>,
    accepted_since_start: u32,
    pending_syncs: VecDeque<PendingSync>,
    recent_syncs: VecDeque<u16>,
    /// The latest complete Sync exchange (t1, t2) not yet paired with a Delay_Req exchange.
    unpaired_sync: Option<(Time, Time)>,
    last_fed_t2: Option<Time>,
    /// When the grandmaster's latest Sync and Follow_Up were handled.
    last_sync_at: Option<Time>,
    last_follow_up_at: Option<Time>,
    /// Delay_Req sent since the last complete exchange.
    unanswered_delay_requests: u32,
    last_precise_origin: Option<Timestamp>,
    stall_since: Option<Time>,
    stalled: bool,
    next_wake_at: Option<Time>,
    pending_delay_requests: VecDeque<PendingDelayRequest>,
    last_delay_request_at: Option<Time>,
    last_exchange_at: Option<Time>,
    path_delay: Option<TimeDelta>,
    two_way: bool,
    sequence_id: u16,
    next_token: u64,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<ReceiverEvent<A>>,
    counters: ReceiverCounters,
}

/// `now − at` in ns, 0 if `at` is later.
fn age_ns(now: Time, at: Time) -> u64 {
    u64::try_from(now.since(at).nanos_rounded()).unwrap_or(0)
}

/// Whether two grandmaster records are the same clock seen through the same peer and port.
fn same_clock<A: PartialEq>(a: &GrandmasterInfo<A>, b: &GrandmasterInfo<A>) -> bool {
    a.address == b.address && a.source == b.source && a.identity == b.identity
}

/// The default event queue capacity (the oldest go first).
const EVENT_QUEUE: usize = 256;
/// The Sync interval the estimator is tuned for: AirPlay grandmasters send at
/// logSyncInterval −3 (only the PI servo's constants depend on it).
const SYNC_INTERVAL_S: f64 = 0.125;
/// Completed Sync sequenceIds remembered to spot duplicates.
const RECENT_SYNCS: usize = 16;

impl<A: Copy + Eq + Debug> AirplayReceiver<A> {
    /// A receiver with no timing peers yet, started at `now`.
    ///
    /// # Errors
    /// The [`ReceiverConfigError`] of an invalid configuration.
    pub fn new(config: ReceiverConfig, now: Time) -> Result<Self, ReceiverConfigError> {
        config.validate()?;
        let _ = now;
        let port_identity = PortIdentity::new(config.clock_identity, config.port_number);
        Ok(AirplayReceiver {
            state: PortState::Listening,
            peers: Vec::new(),
            election: Election::new(config.max_announcers, port_identity),
            grandmaster: None,
            held_grandmaster: None,
            estimator: config.estimator.build_with(
                SYNC_INTERVAL_S,
                LuckyRegressionConfig {
                    max_points: config.estimator_points,
                    max_bins: config.estimator_bins,
                    ..LuckyRegressionConfig::default()
                },
            ),
            mapping: None,
            prediction_error_ns: None,
            accepted_since_start: 0,
            pending_syncs: VecDeque::new(),
            recent_syncs: VecDeque::new(),
            unpaired_sync: None,
            last_fed_t2: None,
            last_sync_at: None,
            last_follow_up_at: None,
            unanswered_delay_requests: 0,
            last_precise_origin: None,
            stall_since: None,
            stalled: false,
            next_wake_at: None,
            pending_delay_requests: VecDeque::new(),
            last_delay_request_at: None,
            last_exchange_at: None,
            path_delay: None,
            two_way: false,
            sequence_id: 0,
            next_token: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: ReceiverCounters::default(),
            port_identity,
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// This receiver's port identity.
    pub fn port_identity(&self) -> PortIdentity {
        self.port_identity
    }

    /// Replaces the timing peers (RTSP SETUP's timingPeerInfo / timingPeerList, SETPEERS).
    /// Announces from peers no longer listed are forgotten at once, and the grandmaster is
    /// elected again among the rest; a held grandmaster
    /// ([`ReceiverConfig::grandmaster_holdover_ns`]) whose peer is no longer listed is
    /// forgotten too ([`ReceiverEvent::HoldoverEnded`]). At most `max_timing_peers` are kept;
    /// the number kept is returned.
    pub fn set_timing_peers(&mut self, now: Time, peers: impl IntoIterator<Item = A>) -> usize {
        self.peers.clear();
        for peer in peers {
            if self.peers.len() >= self.config.max_timing_peers {
                break;
            }
            if !self.peers.contains(&peer) {
                self.peers.push(peer);
            }
        }
        let peers = &self.peers;
        self.election.retain_addresses(|a| peers.contains(a));
        if self
            .held_grandmaster
            .is_some_and(|(held, _)| !self.peers.contains(&held.address))
        {
            self.end_holdover(now);
        }
        self.elect(now, false);
        self.peers.len()
    }

    /// The timing peers in use.
    pub fn timing_peers(&self) -> &[A] {
        &self.peers
    }

    /// The default of [`ReceiverConfig::event_queue`], the events queued for
    /// [`poll_event`](Self::poll_event) at most (when full, the oldest event is dropped and
    /// counted in [`ReceiverCounters::events_lost`]). The capacity in use is
    /// `config().event_queue`.
    ///
    /// ```
    /// use aptp::airplay::{AirplayReceiver, ReceiverConfig};
    /// use aptp_wire::ClockIdentity;
    ///
    /// let config = ReceiverConfig::new(ClockIdentity([2; 8]));
    /// assert_eq!(config.event_queue, AirplayReceiver::<u8>::EVENT_QUEUE_CAPACITY);
    /// ```
    pub const EVENT_QUEUE_CAPACITY: usize = EVENT_QUEUE;

    /// Announcing peers tracked for the election (never more than `max_announcers`).
    pub fn announcer_len(&self) -> usize {
        self.election.len()
    }

    /// Half Sync exchanges waiting for their other half (never more than `pending_syncs`).
    pub fn pending_sync_len(&self) -> usize {
        self.pending_syncs.len()
    }

    /// Delay_Req awaiting their transmit timestamp or answer (never more than
    /// `pending_delay_requests`).
    pub fn pending_delay_request_len(&self) -> usize {
        self.pending_delay_requests.len()
    }

    /// Events queued for [`poll_event`](Self::poll_event) (never more than
    /// [`ReceiverConfig::event_queue`]).
    pub fn event_queue_len(&self) -> usize {
        self.events.len()
    }

    /// Datagrams queued for [`poll_transmit`](Self::poll_transmit).
    pub fn transmit_queue_len(&self) -> usize {
        self.transmits.len()
    }

    /// The grandmaster followed.
    pub fn grandmaster(&self) -> Option<GrandmasterInfo<A>> {
        self.grandmaster
    }

    /// The grandmaster lost to its Announce timeout and held
    /// ([`ReceiverConfig::grandmaster_holdover_ns`]): while it is, [`mapping`](Self::mapping)
    /// is still its, and it is followed again if it comes back in time.
    ///
    /// ```
    /// use aptp::airplay::{AirplayReceiver, ReceiverConfig};
    /// use aptp_clock::Time;
    /// use aptp_wire::ClockIdentity;
    /// let receiver: AirplayReceiver<std::net::IpAddr> =
    ///     AirplayReceiver::new(ReceiverConfig::new(ClockIdentity([2; 8])), Time::from_nanos(0))
    ///         .unwrap();
    /// assert!(receiver.held_grandmaster().is_none());
    /// ```
    pub fn held_grandmaster(&self) -> Option<GrandmasterInfo<A>> {
        self.held_grandmaster.map(|(held, _)| held)
    }

    /// Whether the grandmaster followed (or held) repeats one preciseOriginTimestamp: its
    /// clock stopped, as an idle Apple device's does, and the mapping no longer tracks it.
    ///
    /// ```
    /// use aptp::airplay::{AirplayReceiver, ReceiverConfig};
    /// use aptp_clock::Time;
    /// use aptp_wire::ClockIdentity;
    /// let receiver: AirplayReceiver<std::net::IpAddr> =
    ///     AirplayReceiver::new(ReceiverConfig::new(ClockIdentity([2; 8])), Time::from_nanos(0))
    ///         .unwrap();
    /// assert!(!receiver.stalled());
    /// ```
    pub fn stalled(&self) -> bool {
        self.stalled
    }

    /// The latest remote ↔ local mapping.
    pub fn mapping(&self) -> Option<ClockMapping> {
        self.mapping
    }

    /// The state: `Listening`, `Uncalibrated` or `Slave`.
    pub fn state(&self) -> PortState {
        self.state
    }

    /// The counters.
    pub fn counters(&self) -> &ReceiverCounters {
        &self.counters
    }

    /// A snapshot for status lines, at local instant `now`.
    pub fn status(&self, now: Time) -> ReceiverStatus<A> {
        // While a grandmaster is held, `mapping` is its (audio may play on it), but no offset
        // is reported without a grandmaster followed.
        let followed = self.mapping.filter(|_| self.grandmaster.is_some());
        ReceiverStatus {
            state: self.state,
            grandmaster: self.grandmaster,
            held_grandmaster: self.held_grandmaster(),
            mapping: self.mapping,
            offset_ns: followed.and_then(|m| i64::try_from(m.offset_at(now).nanos_rounded()).ok()),
            rate_ppb: followed.map(|m| m.rate_ppb()),
            path_delay_ns: if self.two_way && self.grandmaster.is_some() {
                self.path_delay
                    .and_then(|d| i64::try_from(d.nanos_rounded()).ok())
            } else {
                None
            },
            two_way: self.two_way,
            error_bound_ns: self
                .prediction_error_ns
                .filter(|_| self.grandmaster.is_some())
                .map(|e| 3.0 * e),
            stalled: self.stalled,
            timing_peers: self.peers.len(),
            last_sync_age_ns: self.last_sync_at.map(|at| age_ns(now, at)),
            last_follow_up_age_ns: self.last_follow_up_at.map(|at| age_ns(now, at)),
            counters: self.counters.clone(),
        }
    }

    /// Hands over one received datagram: its bytes, the timing peer it came from (any source
    /// port), the port it came in on, and its receive timestamp on the local clock.
    pub fn handle_datagram(
        &mut self,
        now: Time,
        bytes: &[u8],
        source: A,
        port: PortKind,
        rx_timestamp: Time,
    ) {
        let _ = port;
        self.counters.received += 1;
        if !self.peers.contains(&source) {
            self.counters.not_a_peer += 1;
            return;
        }
        let message = match Message::parse(bytes) {
            Ok(message) => message,
            Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        };
        match message.validate() {
            Ok(validation) => {
                if validation.control_field_mismatch.is_some() {
                    self.counters.control_field_mismatch += 1;
                }
            }
            Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        }
        let header = message.header;
        if header.domain_number != self.config.domain_number {
            self.counters.wrong_domain += 1;
            return;
        }
        if header.source_port_identity.clock_identity == self.port_identity.clock_identity {
            self.counters.from_self += 1;
            return;
        }
        match message.body {
            Body::Announce(announce) => {
                let timeout = self.announce_timeout(header.log_message_interval);
                if self.election.record(
                    now,
                    source,
                    header.source_port_identity,
                    &announce,
                    timeout,
                ) {
                    self.elect(now, false);
                } else {
                    self.counters.announce_table_full += 1;
                }
            }
            Body::Sync { origin_timestamp } => {
                self.on_sync(now, &header, origin_timestamp, rx_timestamp)
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } => self.on_follow_up(now, &header, precise_origin_timestamp),
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => self.on_delay_response(now, &header, receive_timestamp, requesting_port_identity),
            _ => self.counters.not_used += 1,
        }
    }

    /// Hands back the transmit timestamp of a sent Delay_Req (t3), with its token.
    pub fn handle_transmit_timestamp(
        &mut self,
        now: Time,
        token: TransmitToken,
        tx_timestamp: Time,
    ) {
        if let Some(index) = self
            .pending_delay_requests
            .iter()
            .position(|p| p.token == token.id())
        {
            self.pending_delay_requests[index].t3 = Some(tx_timestamp);
            self.try_complete_delay(now, index);
        }
    }

    /// Runs the timers due at `now`: silent peers expire (and the election runs again), a
    /// stalled grandmaster gets its wake Announce, unanswered Delay_Req are forgotten, and a
    /// held grandmaster not back within `grandmaster_holdover_ns` is forgotten with all
    /// that was measured of it.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.election.expire(now) {
            self.elect(now, true);
        }
        if self.holdover_end().is_some_and(|end| now >= end) {
            self.end_holdover(now);
        }
        let timeout = TimeDelta::from_nanos_i128(i128::from(self.config.delay_request_timeout_ns));
        self.pending_delay_requests
            .retain(|p| now < p.sent_at + timeout);
        if self.stalled && self.next_wake_at.is_some_and(|at| now >= at) {
            self.send_wake_announce(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        let timeout = TimeDelta::from_nanos_i128(i128::from(self.config.delay_request_timeout_ns));
        let delay = self
            .pending_delay_requests
            .iter()
            .map(|p| p.sent_at + timeout)
            .min();
        [
            self.election.next_expiry(),
            self.next_wake_at,
            delay,
            self.holdover_end(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send (Delay_Req on the event port, wake Announces on the general
    /// port), if any.
    pub fn poll_transmit(&mut self, _now: Time) -> Option<Transmit<A>> {
        let transmit = self.transmits.pop_front()?;
        self.counters.sent += 1;
        Some(transmit)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent<A>> {
        self.events.pop_front()
    }

    fn announce_timeout(&self, log_message_interval: i8) -> TimeDelta {
        let log = i32::from(log_message_interval.clamp(-7, 7));
        let interval_ns = if log >= 0 {
            1_000_000_000i128 << log
        } else {
            1_000_000_000i128 >> -log
        };
        let timeout = interval_ns * i128::from(self.config.announce_receipt_timeout);
        TimeDelta::from_nanos_i128(timeout.max(i128::from(self.config.min_announce_timeout_ns)))
    }

    /// Queues `event`; when the queue holds `event_queue` events, the oldest is dropped
    /// first and counted.
    pub(super) fn push_event(&mut self, event: ReceiverEvent<A>) {
        // `event_queue` is at least 1 (validated in `new`): a full queue has an oldest event.
        if self.events.len() >= self.config.event_queue {
            self.events.pop_front();
            self.counters.events_lost = self.counters.events_lost.saturating_add(1);
        }
        self.events.push_back(event);
    }

    fn set_state(&mut self, now: Time, to: PortState) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.push_event(ReceiverEvent::StateChanged { from, to, at: now });
        }
    }

    /// Runs the election; on a change of grandmaster everything measured is forgotten, but a
    /// grandmaster lost to its Announce timeout (`silent`: not to a new peer list) is held
    /// (`grandmaster_holdover_ns`) and, if it comes back, resumed.
    fn elect(&mut self, now: Time, silent: bool) {
        let elected = self
            .election
            .best()
            .map(|(address, dataset)| GrandmasterInfo {
                identity: dataset.grandmaster_identity,
                source: dataset.sender,
                address,
                dataset,
                mastership_start: None,
            });
        let same = match (&self.grandmaster, &elected) {
            (Some(current), Some(elected)) => same_clock(current, elected),
            (None, None) => true,
            _ => false,
        };
        if same {
            if let (Some(current), Some(elected)) = (&mut self.grandmaster, elected) {
                current.dataset = elected.dataset;
            }
            return;
        }
        if let (Some(lost), None) = (self.grandmaster, elected) {
            if silent && self.config.grandmaster_holdover_ns > 0 {
                self.hold_grandmaster(now, lost);
                return;
            }
        }
        let in_time = self.holdover_end().is_some_and(|end| now < end);
        if let Some((held, _)) = self.held_grandmaster.take() {
            if let Some(elected) = elected.filter(|elected| in_time && same_clock(&held, elected)) {
                self.resume_grandmaster(
                    now,
                    GrandmasterInfo {
                        dataset: elected.dataset,
                        ..held
                    },
                );
                return;
            }
            // The measurement is forgotten below, for the new grandmaster.
            self.push_event(ReceiverEvent::HoldoverEnded {
                identity: held.identity,
                at: now,
            });
        }
        self.grandmaster = elected;
        self.forget_measurement();
        let grandmaster = self.grandmaster;
        self.push_event(ReceiverEvent::GrandmasterChanged { grandmaster });
        let state = if grandmaster.is_some() {
            PortState::Uncalibrated
        } else {
            PortState::Listening
        };
        // Leave and re-enter `uncalibrated` on a switch, so the change is visible.
        if state == PortState::Uncalibrated && self.state != PortState::Listening {
            self.set_state(now, PortState::Listening);
        }
        self.set_state(now, state);
    }

    /// Forgets everything measured of a grandmaster: a new one, or a held one not back.
    fn forget_measurement(&mut self) {
        self.reset_estimator();
        self.two_way = false;
        self.last_exchange_at = None;
        self.path_delay = None;
        self.stalled = false;
        self.stall_since = None;
        self.last_precise_origin = None;
        self.next_wake_at = None;
        self.last_sync_at = None;
        self.last_follow_up_at = None;
        self.unanswered_delay_requests = 0;
        self.drop_exchanges_in_flight();
    }

    /// Drops the exchanges under way (half Sync exchanges, the Sync waiting for its
    /// Delay_Req, Delay_Req awaiting an answer) and the duplicate check's sequenceIds.
    pub(super) fn drop_exchanges_in_flight(&mut self) {
        self.unpaired_sync = None;
        self.pending_syncs.clear();
        self.recent_syncs.clear();
        self.pending_delay_requests.clear();
    }

    /// `lost`, followed until now, fell silent: no grandmaster is followed, but what was
    /// measured of it is kept for `grandmaster_holdover_ns`. Only the exchanges in flight are
    /// dropped (their other halves are not coming) and the duplicate check's memory (a
    /// grandmaster restarted meanwhile may count its sequenceIds again); a stall goes on
    /// being one, but no wake Announce goes to a silent grandmaster until it is back.
    fn hold_grandmaster(&mut self, now: Time, lost: GrandmasterInfo<A>) {
        self.grandmaster = None;
        self.held_grandmaster = Some((lost, now));
        self.drop_exchanges_in_flight();
        self.unanswered_delay_requests = 0;
        self.stall_since = None;
        self.next_wake_at = None;
        self.push_event(ReceiverEvent::GrandmasterChanged { grandmaster: None });
        self.set_state(now, PortState::Listening);
    }

    /// The held grandmaster is back: followed again with everything measured of it (the
    /// mapping too: no `MappingUpdated` until a measurement moves it), and `slave` again at
    /// the next measurement. A stalled one gets its wake Announces again, and a two-way
    /// one its full two-way timeout (the silence was not it refusing Delay_Req).
    fn resume_grandmaster(&mut self, now: Time, grandmaster: GrandmasterInfo<A>) {
        self.grandmaster = Some(grandmaster);
        if self.two_way {
            self.last_exchange_at = Some(now);
        }
        if self.stalled {
            self.next_wake_at = Some(now);
        }
        self.push_event(ReceiverEvent::GrandmasterChanged {
            grandmaster: Some(grandmaster),
        });
        self.set_state(now, PortState::Uncalibrated);
    }

    /// The held grandmaster, if any, is not coming back (its hold ran out, its peer was
    /// removed): what was measured of it is forgotten.
    fn end_holdover(&mut self, now: Time) {
        if let Some((held, _)) = self.held_grandmaster.take() {
            self.forget_measurement();
            self.push_event(ReceiverEvent::HoldoverEnded {
                identity: held.identity,
                at: now,
            });
        }
    }

    /// When the held grandmaster's hold ends, if one is held.
    fn holdover_end(&self) -> Option<Time> {
        let (_, lost_at) = self.held_grandmaster?;
        Some(lost_at + TimeDelta::from_nanos_i128(i128::from(self.config.grandmaster_holdover_ns)))
    }

    /// Forgets the estimator's state (new grandmaster, one-way ↔ two-way, a restart).
    fn reset_estimator(&mut self) {
        self.estimator.reset();
        self.mapping = None;
        self.prediction_error_ns = None;
        self.accepted_since_start = 0;
        self.unpaired_sync = None;
        self.last_fed_t2 = None;
    }

    /// The grandmaster, when `header` comes from its clock (any port number).
    fn check_from_grandmaster(&mut self, header: &Header) -> Option<GrandmasterInfo<A>> {
        match self.grandmaster {
            Some(gm) if gm.source.clock_identity == header.source_port_identity.clock_identity => {
                Some(gm)
            }
            _ => {
                self.counters.not_from_grandmaster += 1;
                None
            }
        }
    }

    fn on_sync(&mut self, now: Time, header: &Header, origin: Timestamp, rx_timestamp: Time) {
        if self.check_from_grandmaster(header).is_none() {
            return;
        }
        self.last_sync_at = Some(now);
        let sequence_id = header.sequence_id;
        if self.recent_syncs.contains(&sequence_id) {
            self.counters.duplicate += 1;
            return;
        }
        let correction = correction_of(header.correction_field);
        if !header.flags.two_step() {
            // One-step: the Sync carries its own precise origin.
            self.complete_sync(now, sequence_id, origin, correction, rx_timestamp);
            return;
        }
        match self.pending_index(sequence_id) {
            Some(index) if self.pending_syncs[index].sync.is_some() => {
                self.counters.duplicate += 1;
            }
            Some(index) => {
                self.pending_syncs[index].sync = Some((rx_timestamp, correction));
                self.try_complete_sync(now, index);
            }
            None => self.add_pending(PendingSync {
                sequence_id,
                sync: Some((rx_timestamp, correction)),
                follow_up: None,
            }),
        }
    }

    fn on_follow_up(&mut self, now: Time, header: &Header, precise_origin: Timestamp) {
        let Some(gm) = self.check_from_grandmaster(header) else {
            return;
        };
        self.last_follow_up_at = Some(now);
        if gm.mastership_start.is_none() {
            if let Some(current) = self.grandmaster.as_mut() {
                current.mastership_start = Some(now);
            }
            self.push_event(ReceiverEvent::MastershipStarted {
                identity: gm.identity,
                at: now,
            });
        }
        let sequence_id = header.sequence_id;
        if self.recent_syncs.contains(&sequence_id) {
            self.counters.duplicate += 1;
            return;
        }
        let follow_up = (precise_origin, correction_of(header.correction_field));
        match self.pending_index(sequence_id) {
            Some(index) if self.pending_syncs[index].follow_up.is_some() => {
                self.counters.duplicate += 1;
            }
            Some(index) => {
                self.pending_syncs[index].follow_up = Some(follow_up);
                self.try_complete_sync(now, index);
            }
            None => self.add_pending(PendingSync {
                sequence_id,
                sync: None,
                follow_up: Some(follow_up),
            }),
        }
    }

    fn pending_index(&self, sequence_id: u16) -> Option<usize> {
        self.pending_syncs
            .iter()
            .position(|p| p.sequence_id == sequence_id)
    }

    fn add_pending(&mut self, pending: PendingSync) {
        if self.pending_syncs.len() >= self.config.pending_syncs {
            self.pending_syncs.pop_front();
            self.counters.pending_table_full += 1;
        }
        self.pending_syncs.push_back(pending);
    }

    fn try_complete_sync(&mut self, now: Time, index: usize) {
        let pending = self.pending_syncs[index];
        if let (Some((t2, sync_correction)), Some((origin, follow_up_correction))) =
            (pending.sync, pending.follow_up)
        {
            self.pending_syncs.remove(index);
            let correction = sync_correction + follow_up_correction;
            self.complete_sync(now, pending.sequence_id, origin, correction, t2);
        }
    }
}

mod measure;
#[cfg(test)]
mod tests;
