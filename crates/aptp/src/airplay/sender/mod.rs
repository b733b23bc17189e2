//! The AirPlay sender (grandmaster) role, sans-IO: [`AirplaySender`].

use super::wire_time::{encode, timestamp_of};
use crate::engine::rate_limit::AnswerRateLimiter;
use crate::engine::{Destination, PortKind, Transmit, TransmitToken};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::airplay::APPLE_MAJOR_SDO_ID;
use aptp_wire::field::{header as header_field, sync as sync_field};
use aptp_wire::{
    AnnounceBody, Body, ClockAccuracy, ClockIdentity, ClockQuality, Flags, FollowUpInformation,
    Message, PathTrace, PortIdentity, TimeInterval, TimeSource, Timestamp, TlvBuf, TlvRepr,
};
use core::fmt::Debug;
use std::collections::VecDeque;
use thiserror::Error;

/// How the sender serves; [`SenderConfig::new`] gives the AirPlay profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderConfig {
    /// The grandmaster's clock identity (the timeline id of SETRATEANCHORTIME).
    pub clock_identity: ClockIdentity,
    /// The port number. Default 1.
    pub port_number: u16,
    /// domainNumber. Default 0.
    pub domain_number: u8,
    /// grandmasterPriority1. Default 248.
    pub priority1: u8,
    /// grandmasterPriority2. Default 248.
    pub priority2: u8,
    /// clockClass. Default 248.
    pub clock_class: u8,
    /// clockAccuracy. Default 0xFE.
    pub clock_accuracy: u8,
    /// offsetScaledLogVariance. Default 0xFFFF.
    pub offset_scaled_log_variance: u16,
    /// Sync every 2^n s. Default −3 (8 Hz).
    pub log_sync_interval: i8,
    /// Announce every 2^n s. Default 0.
    pub log_announce_interval: i8,
    /// Peers served at most. Default 4096.
    pub max_peers: usize,
    /// How long a Sync waits for its transmit timestamp before its Follow_Up is given up
    /// (ns). Default 50 ms.
    pub transmit_timestamp_timeout_ns: u64,
    /// Delay_Resp (and Follow_Up) queued for [`AirplaySender::poll_transmit`] at most: a
    /// Delay_Req arriving when the queue is full is not answered, and counted
    /// ([`SenderCounters::responses_dropped`]), so a Delay_Req flood between two polls
    /// cannot grow memory. Default 1024.
    pub max_queued_responses: usize,
    /// Delay_Resp per second to one source at most, on average (bursts of one second's
    /// worth): beyond it a Delay_Req is not answered, and counted
    /// ([`SenderCounters::rate_limited`]). Default 32, four times the 8 a second AirPlay
    /// receivers send at `log_sync_interval` −3.
    pub answer_rate_limit_per_s: u32,
    /// Sources whose answers are rate-limited at most: when full, the least recently heard
    /// is forgotten (it starts again with a full allowance). Default 256.
    pub rate_limited_sources: usize,
}

impl SenderConfig {
    /// The AirPlay profile for the clock `clock_identity`.
    pub fn new(clock_identity: ClockIdentity) -> Self {
        SenderConfig {
            clock_identity,
            port_number: 1,
            domain_number: 0,
            priority1: 248,
            priority2: 248,
            clock_class: 248,
            clock_accuracy: 0xFE,
            offset_scaled_log_variance: 0xFFFF,
            log_sync_interval: -3,
            log_announce_interval: 0,
            max_peers: 4096,
            transmit_timestamp_timeout_ns: 50_000_000,
            max_queued_responses: 1024,
            answer_rate_limit_per_s: 32,
            rate_limited_sources: 256,
        }
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`SenderConfigError`] naming the first bad option.
    pub fn validate(&self) -> Result<(), SenderConfigError> {
        if self.port_number == 0 || self.port_number == 0xFFFF {
            return Err(SenderConfigError::ReservedPortNumber(self.port_number));
        }
        for value in [self.log_sync_interval, self.log_announce_interval] {
            if !(-7..=7).contains(&value) {
                return Err(SenderConfigError::LogIntervalOutOfRange(value));
            }
        }
        if self.max_peers == 0 {
            return Err(SenderConfigError::Zero("max_peers"));
        }
        if self.transmit_timestamp_timeout_ns == 0 {
            return Err(SenderConfigError::Zero("transmit_timestamp_timeout_ns"));
        }
        if self.max_queued_responses == 0 {
            return Err(SenderConfigError::Zero("max_queued_responses"));
        }
        if self.answer_rate_limit_per_s == 0 {
            return Err(SenderConfigError::Zero("answer_rate_limit_per_s"));
        }
        if self.rate_limited_sources == 0 {
            return Err(SenderConfigError::Zero("rate_limited_sources"));
        }
        Ok(())
    }
}

/// Why a [`SenderConfig`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SenderConfigError {
    /// Port numbers 0 and 0xFFFF are reserved.
    #[error("port number {0} is reserved")]
    ReservedPortNumber(u16),
    /// A log interval outside −7..=7.
    #[error("log interval {0} is outside -7..=7")]
    LogIntervalOutOfRange(i8),
    /// A capacity or duration of zero.
    #[error("{0} is zero")]
    Zero(&'static str),
}

/// What the sender sent, answered and gave up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderCounters {
    /// Syncs sent.
    pub syncs: u64,
    /// Follow_Ups sent.
    pub follow_ups: u64,
    /// Announces sent.
    pub announces: u64,
    /// Delay_Resp sent.
    pub delay_responses: u64,
    /// Datagrams handed in.
    pub received: u64,
    /// Not a valid PTP message.
    pub malformed: u64,
    /// Valid, but nothing a grandmaster answers (Announce, Sync... from others).
    pub not_used: u64,
    /// Syncs whose transmit timestamp never came (no Follow_Up sent).
    pub missing_timestamps: u64,
    /// Rounds started before the previous one was sent completely (the rest was dropped).
    pub rounds_overrun: u64,
    /// Delay_Req not answered because `max_queued_responses` answers were already queued.
    pub responses_dropped: u64,
    /// Delay_Req not answered because their source exceeded `answer_rate_limit_per_s`.
    pub rate_limited: u64,
}

#[derive(Clone, Copy, Debug)]
struct Peer<A> {
    address: A,
    announce_due: bool,
}

#[derive(Clone, Copy, Debug)]
struct AwaitedSync<A> {
    token: u64,
    address: A,
    sequence_id: u16,
    give_up_at: Time,
}

/// The AirPlay sender (grandmaster) role, sans-IO.
///
/// Serves the AirPlay profile (ptp-brief §4) to a peer list that the application replaces at
/// any time, so that Apple devices, nqptp and aptp receivers all follow it:
///
/// - every 2^`log_sync_interval` s (8 Hz) a round: each peer in turn gets a unicast Sync
///   (event port, flags 0x0608) and, *as soon as that Sync's transmit timestamp is handed
///   back*, its own Follow_Up (general port, 96 bytes with the 802.1AS information TLV and
///   Apple's clock-identity TLV) carrying that timestamp. The next peer's Sync is not released
///   before that Follow_Up ([`poll_transmit`](AirplaySender::poll_transmit) returns it first),
///   so no peer's Follow_Up waits behind the others' Syncs;
/// - the order of the peers rotates every round (a fixed order made the first peer ~100 µs
///   worse for nqptp);
/// - an Announce (64 bytes + PATH_TRACE, priority1/2 248, clockAccuracy 0xFE) goes to a peer
///   before its first Follow_Up, then every 2^`log_announce_interval` s;
/// - Delay_Req from anyone is answered with a Delay_Resp.
///
/// The sender's timescale is the caller's local clock: a Follow_Up's preciseOriginTimestamp is
/// the Sync's transmit instant. [`AirplaySender::network_time`] gives "now" as AirPlay's
/// `(networkTimeSecs, networkTimeFrac)` for SETRATEANCHORTIME.
///
/// `A` is the caller's name for a peer (an IP address, a node number).
#[derive(Debug)]
pub struct AirplaySender<A> {
    config: SenderConfig,
    port_identity: PortIdentity,
    peers: Vec<Peer<A>>,
    /// This round's peers still to serve, as indices into `peers` (so serving one is O(1)).
    round: VecDeque<usize>,
    round_count: usize,
    sync_sequence_id: u16,
    announce_sequence_id: u16,
    next_sync_at: Time,
    next_announce_at: Time,
    awaited: Option<AwaitedSync<A>>,
    next_token: u64,
    urgent: VecDeque<Transmit<A>>,
    /// This sender's Follow_Up with sequenceId 0 and a zero preciseOriginTimestamp, built
    /// once: each one sent is a copy with its sequenceId, timestamp and correctionField
    /// written in (its TLVs and every other byte are the same for every peer and every
    /// round, and building them per Follow_Up was most of a round's cost). `None` if it
    /// could not be built; then no Follow_Up can be.
    follow_up_template: Option<Vec<u8>>,
    /// The same for Sync (only its sequenceId and originTimestamp differ).
    sync_template: Option<Vec<u8>>,
    /// Per-source allowance of Delay_Resp.
    answer_limiter: AnswerRateLimiter<A>,
    counters: SenderCounters,
}

fn log_interval(log: i8) -> TimeDelta {
    let log = i32::from(log.clamp(-7, 7));
    TimeDelta::from_nanos_i128(if log >= 0 {
        1_000_000_000i128 << log
    } else {
        1_000_000_000i128 >> -log
    })
}

impl<A: Copy + Eq + Debug> AirplaySender<A> {
    /// A sender with no peers, whose first round is due at `now`.
    ///
    /// # Errors
    /// The [`SenderConfigError`] of an invalid configuration.
    pub fn new(config: SenderConfig, now: Time) -> Result<Self, SenderConfigError> {
        config.validate()?;
        let port_identity = PortIdentity::new(config.clock_identity, config.port_number);
        Ok(AirplaySender {
            port_identity,
            peers: Vec::new(),
            round: VecDeque::new(),
            round_count: 0,
            sync_sequence_id: 0,
            announce_sequence_id: 0,
            next_sync_at: now,
            next_announce_at: now,
            awaited: None,
            next_token: 0,
            urgent: VecDeque::new(),
            follow_up_template: build_follow_up(
                port_identity,
                config.domain_number,
                0,
                Timestamp::ZERO,
                TimeInterval::ZERO,
            ),
            sync_template: build_sync(
                port_identity,
                config.domain_number,
                config.log_sync_interval,
                0,
                Timestamp::ZERO,
            ),
            answer_limiter: AnswerRateLimiter::new(config.rate_limited_sources),
            counters: SenderCounters::default(),
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// The grandmaster's port identity.
    pub fn port_identity(&self) -> PortIdentity {
        self.port_identity
    }

    /// SETRATEANCHORTIME's networkTimeTimelineID: the clock identity as a big-endian u64.
    pub fn timeline_id(&self) -> u64 {
        u64::from_be_bytes(self.config.clock_identity.0)
    }

    /// "Now" in the sender's timescale as AirPlay's `(networkTimeSecs, networkTimeFrac)`, for
    /// a local instant `now` (the sender's timescale is its local clock); `None` before the
    /// epoch.
    pub fn network_time(&self, now: Time) -> Option<(u64, u64)> {
        now.to_secs_fraction()
    }

    /// The counters.
    pub fn counters(&self) -> &SenderCounters {
        &self.counters
    }

    /// Replaces the peers. A new peer gets an Announce before its first Follow_Up; peers that
    /// stay keep their state (and their place in the round under way); peers that left get
    /// nothing more. At most `max_peers` are kept; the number kept is returned.
    ///
    /// Cost: O(n) for a list whose known peers keep their relative order (the usual edit:
    /// some added, some removed), plus O(n) for each newcomer or reordered peer, since `A`
    /// is only `Eq` (no hashing). Serving a round is O(n) whatever the edit.
    pub fn set_peers(&mut self, peers: impl IntoIterator<Item = A>) -> usize {
        let old = core::mem::take(&mut self.peers);
        // Where each old peer went in the new list.
        let mut moved_to: Vec<Option<usize>> = vec![None; old.len()];
        let mut newcomers: Vec<usize> = Vec::new();
        let mut next: Vec<Peer<A>> = Vec::with_capacity(old.len());
        // Where the previous known peer was found: the next one is usually right after it.
        let mut cursor = 0;
        for address in peers {
            if next.len() >= self.config.max_peers {
                break;
            }
            let known = match old.get(cursor) {
                Some(peer) if peer.address == address => Some(cursor),
                _ => old.iter().position(|p| p.address == address),
            };
            match known {
                Some(index) => {
                    cursor = index + 1;
                    if moved_to[index].is_none() {
                        moved_to[index] = Some(next.len());
                        next.push(old[index]);
                    }
                }
                None => {
                    if newcomers.iter().all(|&i| next[i].address != address) {
                        newcomers.push(next.len());
                        next.push(Peer {
                            address,
                            announce_due: true,
                        });
                    }
                }
            }
        }
        self.peers = next;
        self.round = self
            .round
            .iter()
            .filter_map(|&index| moved_to.get(index).copied().flatten())
            .collect();
        self.peers.len()
    }

    /// Peers served (never more than `max_peers`).
    pub fn peer_len(&self) -> usize {
        self.peers.len()
    }

    /// Delay_Resp and Follow_Up queued for [`poll_transmit`](Self::poll_transmit) (never more
    /// than `max_queued_responses`, plus the one Follow_Up of the Sync under way).
    pub fn queued_response_len(&self) -> usize {
        self.urgent.len()
    }

    /// Sources whose answers are rate-limited now (never more than
    /// `rate_limited_sources`).
    pub fn rate_limited_source_len(&self) -> usize {
        self.answer_limiter.len()
    }

    /// The peers served, in the order given.
    pub fn peers(&self) -> impl Iterator<Item = A> + '_ {
        self.peers.iter().map(|p| p.address)
    }

    /// Hands over a received datagram: a Delay_Req (from anyone) is answered with its receive
    /// timestamp; anything else is counted.
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
        let Ok(message) = Message::parse(bytes) else {
            self.counters.malformed += 1;
            return;
        };
        if message.validate().is_err() {
            self.counters.malformed += 1;
            return;
        }
        let header = message.header;
        if header.domain_number != self.config.domain_number
            || !matches!(message.body, Body::DelayReq { .. })
        {
            self.counters.not_used += 1;
            return;
        }
        if !self
            .answer_limiter
            .allow(now, source, self.config.answer_rate_limit_per_s)
        {
            self.counters.rate_limited += 1;
            return;
        }
        let Some((receive_timestamp, rest)) = timestamp_of(rx_timestamp) else {
            self.counters.malformed += 1;
            return;
        };
        // t4 = receiveTimestamp − correctionField: the sub-nanosecond rest goes in negated.
        let correction = aptp_wire::TimeInterval(rest.0.saturating_neg());
        let response = Message::delay_resp(
            self.port_identity,
            header.sequence_id,
            receive_timestamp,
            header.source_port_identity,
        )
        .with_major_sdo_id(header.major_sdo_id)
        .with_domain_number(self.config.domain_number)
        .with_flags(Flags(
            Flags::TWO_STEP.0 | Flags::UNICAST.0 | Flags::PTP_TIMESCALE.0,
        ))
        .with_log_message_interval(self.config.log_sync_interval)
        .with_correction_field(correction);
        if self.urgent.len() >= self.config.max_queued_responses {
            self.counters.responses_dropped += 1;
            return;
        }
        if let Some(bytes) = emit(&response) {
            self.counters.delay_responses += 1;
            self.urgent.push_back(Transmit {
                destination: Destination::Unicast(source),
                port: PortKind::General,
                bytes,
                timestamp_token: None,
            });
        }
    }

    /// Hands back a Sync's transmit timestamp: that peer's Follow_Up is the next datagram.
    pub fn handle_transmit_timestamp(
        &mut self,
        now: Time,
        token: TransmitToken,
        tx_timestamp: Time,
    ) {
        let _ = now;
        let Some(awaited) = self.awaited else {
            return;
        };
        if awaited.token != token.id() {
            return;
        }
        self.awaited = None;
        if let Some(follow_up) = self.follow_up(awaited.address, awaited.sequence_id, tx_timestamp)
        {
            self.counters.follow_ups += 1;
            self.urgent.push_front(follow_up);
        }
    }

    /// Runs the timers due at `now`: a new Sync round, Announces due, a transmit timestamp
    /// given up.
    pub fn handle_timeout(&mut self, now: Time) {
        if let Some(awaited) = self.awaited {
            if now >= awaited.give_up_at {
                self.awaited = None;
                self.counters.missing_timestamps += 1;
            }
        }
        if now >= self.next_announce_at {
            for peer in &mut self.peers {
                peer.announce_due = true;
            }
            self.next_announce_at = next_deadline(
                self.next_announce_at,
                now,
                log_interval(self.config.log_announce_interval),
            );
        }
        if now >= self.next_sync_at {
            self.start_round();
            self.next_sync_at = next_deadline(
                self.next_sync_at,
                now,
                log_interval(self.config.log_sync_interval),
            );
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self.next_sync_at.min(self.next_announce_at);
        if let Some(awaited) = self.awaited {
            next = next.min(awaited.give_up_at);
        }
        Some(next)
    }

    /// The next datagram to send. While a Sync's transmit timestamp is awaited, only a
    /// Follow_Up or Delay_Resp can come out (the next peer's Sync waits).
    pub fn poll_transmit(&mut self, now: Time) -> Option<Transmit<A>> {
        if let Some(transmit) = self.urgent.pop_front() {
            return Some(transmit);
        }
        if self.awaited.is_some() {
            return None;
        }
        let index = self.round.pop_front()?;
        let peer = self.peers.get_mut(index)?;
        let address = peer.address;
        if peer.announce_due {
            peer.announce_due = false;
            // Its Sync comes right after.
            self.round.push_front(index);
            return self.announce(address);
        }
        let sequence_id = self.sync_sequence_id;
        let token = self.next_token;
        self.next_token += 1;
        let (origin, _) = timestamp_of(now).unwrap_or((Timestamp::ZERO, Default::default()));
        let bytes = stamped(self.sync_template.as_deref()?, sequence_id, origin)?;
        self.awaited = Some(AwaitedSync {
            token,
            address,
            sequence_id,
            give_up_at: now
                + TimeDelta::from_nanos_i128(i128::from(self.config.transmit_timestamp_timeout_ns)),
        });
        self.counters.syncs += 1;
        Some(Transmit {
            destination: Destination::Unicast(address),
            port: PortKind::Event,
            bytes,
            timestamp_token: Some(TransmitToken(token)),
        })
    }

    fn start_round(&mut self) {
        if !self.round.is_empty() {
            self.counters.rounds_overrun += 1;
            self.round.clear();
        }
        self.sync_sequence_id = self.sync_sequence_id.wrapping_add(1);
        let count = self.peers.len();
        if count == 0 {
            return;
        }
        let first = self.round_count % count;
        self.round_count = self.round_count.wrapping_add(1);
        self.round.extend((0..count).map(|i| (first + i) % count));
    }

    fn announce(&mut self, address: A) -> Option<Transmit<A>> {
        let sequence_id = self.announce_sequence_id;
        self.announce_sequence_id = sequence_id.wrapping_add(1);
        let body = AnnounceBody {
            origin_timestamp: Timestamp::ZERO,
            current_utc_offset: 37,
            reserved: 0,
            grandmaster_priority1: self.config.priority1,
            grandmaster_clock_quality: ClockQuality {
                clock_class: self.config.clock_class,
                clock_accuracy: ClockAccuracy(self.config.clock_accuracy),
                offset_scaled_log_variance: self.config.offset_scaled_log_variance,
            },
            grandmaster_priority2: self.config.priority2,
            grandmaster_identity: self.config.clock_identity,
            steps_removed: 0,
            time_source: TimeSource::INTERNAL_OSCILLATOR,
        };
        let path = [self.config.clock_identity];
        let mut tlvs: TlvBuf<12> = TlvBuf::new();
        tlvs.push(&TlvRepr::PathTrace(PathTrace::from_identities(&path)))
            .ok()?;
        let message = Message::announce(self.port_identity, sequence_id, body)
            .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
            .with_domain_number(self.config.domain_number)
            .with_flags(Flags(Flags::UNICAST.0 | Flags::PTP_TIMESCALE.0))
            .with_log_message_interval(self.config.log_announce_interval)
            .with_tlvs(tlvs.tlvs())
            .ok()?;
        let bytes = emit(&message)?;
        self.counters.announces += 1;
        Some(Transmit {
            destination: Destination::Unicast(address),
            port: PortKind::General,
            bytes,
            timestamp_token: None,
        })
    }

    fn follow_up(&self, address: A, sequence_id: u16, tx_timestamp: Time) -> Option<Transmit<A>> {
        let (precise_origin, rest) = timestamp_of(tx_timestamp)?;
        let mut bytes = stamped(
            self.follow_up_template.as_deref()?,
            sequence_id,
            precise_origin,
        )?;
        // The sub-nanosecond rest of the timestamp.
        bytes[header_field::CORRECTION_FIELD].copy_from_slice(&rest.0.to_be_bytes());
        Some(Transmit {
            destination: Destination::Unicast(address),
            port: PortKind::General,
            bytes,
            timestamp_token: None,
        })
    }
}

/// A copy of a Sync or Follow_Up `template` with `sequence_id` and the (precise)
/// originTimestamp written in (the two share their offsets); `None` for a timestamp beyond
/// 48-bit seconds.
fn stamped(template: &[u8], sequence_id: u16, origin: Timestamp) -> Option<Vec<u8>> {
    let mut bytes = template.to_vec();
    bytes[header_field::SEQUENCE_ID].copy_from_slice(&sequence_id.to_be_bytes());
    bytes[sync_field::ORIGIN_TIMESTAMP].copy_from_slice(&origin.to_bytes().ok()?);
    Some(bytes)
}

/// A Sync as the AirPlay profile sends it: majorSdoId 1, flags two-step, unicast and
/// ptpTimescale, in `domain_number` at `log_sync_interval`.
fn build_sync(
    port_identity: PortIdentity,
    domain_number: u8,
    log_sync_interval: i8,
    sequence_id: u16,
    origin: Timestamp,
) -> Option<Vec<u8>> {
    let sync = Message::sync(port_identity, sequence_id, origin)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_domain_number(domain_number)
        .with_flags(Flags(
            Flags::TWO_STEP.0 | Flags::UNICAST.0 | Flags::PTP_TIMESCALE.0,
        ))
        .with_log_message_interval(log_sync_interval);
    emit(&sync)
}

/// A Follow_Up as Apple sends it (`aptp_wire::airplay::follow_up`: the 802.1AS information
/// TLV and Apple's clock-identity TLV) in `domain_number`, with `correction_field`.
fn build_follow_up(
    port_identity: PortIdentity,
    domain_number: u8,
    sequence_id: u16,
    precise_origin: Timestamp,
    correction_field: TimeInterval,
) -> Option<Vec<u8>> {
    let follow_up = aptp_wire::airplay::follow_up(
        port_identity,
        sequence_id,
        precise_origin,
        FollowUpInformation::default(),
    )
    .ok()?;
    let mut bytes = vec![0; follow_up.buffer_len()];
    follow_up.emit(&mut bytes).ok()?;
    bytes[header_field::CORRECTION_FIELD].copy_from_slice(&correction_field.0.to_be_bytes());
    bytes[header_field::DOMAIN_NUMBER] = domain_number;
    Some(bytes)
}

/// The next periodic deadline after `previous`, skipping missed ones.
fn next_deadline(previous: Time, now: Time, interval: TimeDelta) -> Time {
    let next = previous + interval;
    if next <= now {
        now + interval
    } else {
        next
    }
}

fn emit(message: &Message<'_>) -> Option<Vec<u8>> {
    encode(message).ok()
}

#[cfg(test)]
mod tests;
