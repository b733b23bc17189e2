//! Drives each role of aptp (the engine as slave and as master, the AirPlay receiver and
//! sender) through an arbitrary sequence of operations, checking after every one:
//!
//! - no panic (libFuzzer reports one as a crash);
//! - every table the role keeps is within its configured capacity (the capacities are made
//!   small from the input, so the policies when full run);
//! - mapped time is monotonic, in the sense the soak test and the playback schedule use: each
//!   mapping update is followed through an `aptp_clock::SlewedClock`, jumping only where the
//!   role says the mapping jumped (a detected step, a new master, a measurement restart); the
//!   followed time at a `now` that only increases never decreases, and every mapping has a
//!   finite, positive rate.
//!
//! The operations ([`Op`]): a datagram (event or general port, from a small set of sources
//! that includes the configured master or timing peer, bytes either arbitrary or a valid
//! message built with aptp-wire's builders from fields the role will recognise, then perhaps
//! mutated), time advancing by an arbitrary delta (up to days), the role's next timer
//! expiring, a transmit timestamp handed back, the peer list changing, and the role's
//! restart / fault entry points.

use aptp::airplay::{AirplayReceiver, AirplaySender, ReceiverConfig, ReceiverEvent, SenderConfig};
use aptp::engine::{
    Capacities, Config, DelayMechanism, Engine, Event, PortKind, PortState, Transmit, TransmitToken,
};
use aptp_clock::{ClockMapping, SlewedClock, Time, TimeDelta};
use aptp_wire::{
    AnnounceBody, Body, ClockIdentity, ClockQuality, FollowUpInformation, Message, PortIdentity,
    TimeInterval, Timestamp,
};
use arbitrary::{Result, Unstructured};

/// A datagram's source: the caller's name for a peer.
pub type Addr = u8;
/// The configured master (slave), unicast peer (master), timing peer (receiver), peer
/// (sender).
pub const MASTER: Addr = 1;
/// A second configured peer.
pub const PEER: Addr = 2;
/// A third address, listed only by some peer-list changes.
pub const OTHER: Addr = 3;
/// Never listed.
pub const STRANGER: Addr = 200;
const SOURCES: [Addr; 4] = [MASTER, PEER, OTHER, STRANGER];

/// The clock identity of the role under test.
pub const SELF_ID: ClockIdentity = ClockIdentity([0x42; 8]);
/// The grandmaster the configured master announces.
pub const GM_A: ClockIdentity = ClockIdentity([0xA1; 8]);
/// A second grandmaster.
pub const GM_B: ClockIdentity = ClockIdentity([0xB2; 8]);
/// A clock nobody configured.
pub const STRANGER_ID: ClockIdentity = ClockIdentity([0x5E; 8]);
const IDENTITIES: [ClockIdentity; 4] = [GM_A, GM_B, STRANGER_ID, SELF_ID];

/// Slew rate of the monotonic view (the playback schedule's order of magnitude).
const MAX_SLEW_PPB: f64 = 500_000.0;

/// The local clock's start: a day after its epoch, as a monotonic clock might read.
fn start() -> Time {
    Time::from_nanos(86_400_000_000_000)
}

/// One operation on the role under test.
#[derive(Debug)]
pub enum Op {
    /// A datagram on `port` from `source`, received at `now + rx_offset`.
    Datagram {
        /// Event or general port.
        port: PortKind,
        /// One of the small set of sources.
        source: Addr,
        /// The bytes.
        bytes: Vec<u8>,
        /// The receive timestamp minus `now`, in ns (usually a little negative).
        rx_offset_ns: i64,
    },
    /// `now` moves on by this many ns.
    Advance(u64),
    /// `now` moves to the role's next deadline (if later) and its timers run.
    TimerExpiry,
    /// The timers run at the current `now` (early, or late after an advance).
    Timeout,
    /// The `index`th outstanding transmit token comes back, sent `ago_ns` before `now`.
    TransmitTimestamp {
        /// Which token (modulo those outstanding).
        index: usize,
        /// How long before `now` the datagram left.
        ago_ns: u32,
    },
    /// The peer list becomes this subset of the sources (bit i: `SOURCES[i]`).
    Peers(u8),
    /// The role's restart entry point (restart_measurement; for the engine also
    /// handle_fault, disable and enable, by `kind`).
    Restart(u8),
    /// One well-formed round from the configured master (or peer): every outstanding
    /// transmit timestamp comes back, then the datagrams of [`round`] arrive in turn.
    Round {
        /// `now` moves on by this many ns first.
        advance_ns: u64,
        /// The master's clock moves by this many ns (a jitter, sometimes a step).
        offset_ns: i64,
        /// Which of the round's messages are left out (bit i: message i).
        lost: u8,
    },
}

/// What the generator knows about the exchange under way, so valid messages match it.
#[derive(Debug, Default)]
pub struct Context {
    /// The local `now`.
    pub now: Option<Time>,
    /// sequenceIds of the Delay_Req / Pdelay_Req / Sync the role sent lately.
    pub sent_sequence_ids: Vec<u16>,
    /// The next sequenceId of the masters' Syncs.
    pub sync_sequence_id: u16,
    /// The port identity of the role (requestingPortIdentity of the answers it expects).
    pub port_identity: Option<PortIdentity>,
}

impl Context {
    fn now(&self) -> Time {
        self.now.unwrap_or_else(start)
    }

    fn note_sent(&mut self, bytes: &[u8]) {
        if let Ok(message) = Message::parse(bytes) {
            if self.sent_sequence_ids.len() >= 8 {
                self.sent_sequence_ids.remove(0);
            }
            self.sent_sequence_ids.push(message.header.sequence_id);
        }
    }
}

fn timestamp_of(time: Time) -> Timestamp {
    match time.to_secs_nanos() {
        Some((seconds, nanoseconds)) => Timestamp {
            seconds: seconds & 0xFFFF_FFFF_FFFF,
            nanoseconds,
        },
        None => Timestamp::ZERO,
    }
}

/// A timestamp of the remote clock `identity` at about `now`: each grandmaster runs at its
/// own offset, plus a jitter; sometimes anything at all (including invalid nanoseconds).
fn remote_timestamp(
    u: &mut Unstructured<'_>,
    ctx: &Context,
    identity: ClockIdentity,
) -> Result<Timestamp> {
    if u.ratio(1, 8)? {
        return Ok(Timestamp {
            seconds: u.arbitrary::<u64>()? & 0xFFFF_FFFF_FFFF,
            nanoseconds: u.arbitrary()?,
        });
    }
    let offset_s: i64 = match identity.0[0] {
        0xA1 => 1_000,
        0xB2 => 5_000,
        _ => -7,
    };
    let jitter_ns = i64::from(u.int_in_range(-200_000i32..=200_000)?);
    let step_ns = if u.ratio(1, 32)? {
        i64::from(u.arbitrary::<i32>()?) * 1_000
    } else {
        0
    };
    let remote =
        ctx.now() + TimeDelta::from_secs(offset_s) + TimeDelta::from_nanos(jitter_ns + step_ns);
    Ok(timestamp_of(remote))
}

fn identity(u: &mut Unstructured<'_>) -> Result<ClockIdentity> {
    if u.ratio(1, 16)? {
        return Ok(ClockIdentity(u.arbitrary()?));
    }
    Ok(*u.choose(&IDENTITIES)?)
}

fn sequence_id(u: &mut Unstructured<'_>, ctx: &mut Context) -> Result<u16> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 if !ctx.sent_sequence_ids.is_empty() => *u.choose(&ctx.sent_sequence_ids)?,
        1 => u.arbitrary()?,
        2 => ctx.sync_sequence_id.wrapping_sub(1),
        _ => {
            let id = ctx.sync_sequence_id;
            ctx.sync_sequence_id = id.wrapping_add(1);
            id
        }
    })
}

/// A valid message of any type, built with aptp-wire's builders from fields the roles
/// recognise (their master's identity, their own port identity, sequenceIds they sent),
/// with some header fields then varied.
fn valid_message(u: &mut Unstructured<'_>, ctx: &mut Context) -> Result<Vec<u8>> {
    let id = identity(u)?;
    let port_number = if u.ratio(1, 8)? { u.arbitrary()? } else { 1 };
    let source = PortIdentity::new(id, port_number);
    let sequence_id = sequence_id(u, ctx)?;
    let time = remote_timestamp(u, ctx, id)?;
    let me = match ctx.port_identity {
        Some(me) if !u.ratio(1, 8)? => me,
        _ => PortIdentity::new(identity(u)?, u.arbitrary()?),
    };
    let kind = u.int_in_range(0u8..=14)?;
    let apple_follow_up;
    let apple_announce;
    let mut message = match kind {
        0 => Message::sync(source, sequence_id, time),
        1 => Message::sync_one_step(source, sequence_id, time),
        2 => Message::follow_up(source, sequence_id, time),
        3 => Message::delay_req(source, sequence_id, time),
        4 => Message::delay_resp(source, sequence_id, time, me),
        5 => Message::pdelay_req(source, sequence_id, time),
        6 => Message::pdelay_resp(source, sequence_id, time, me),
        7 => Message::pdelay_resp_follow_up(source, sequence_id, time, me),
        8 => {
            let grandmaster = if u.ratio(3, 4)? { id } else { identity(u)? };
            let body = AnnounceBody {
                origin_timestamp: time,
                current_utc_offset: *u.choose(&[37, 0, -1, i16::MAX])?,
                grandmaster_priority1: *u.choose(&[128, 1, 250, 0, 255])?,
                grandmaster_priority2: *u.choose(&[128, 1, 255])?,
                grandmaster_clock_quality: ClockQuality {
                    clock_class: *u.choose(&[248, 6, 255, 7])?,
                    ..AnnounceBody::default().grandmaster_clock_quality
                },
                grandmaster_identity: grandmaster,
                steps_removed: *u.choose(&[0, 1, 255, u16::MAX])?,
                ..AnnounceBody::default()
            };
            Message::announce(source, sequence_id, body)
        }
        9 => Message::signaling(source, sequence_id, me),
        10 => aptp_wire::airplay::sync(source, sequence_id, time),
        11 => aptp_wire::airplay::delay_resp(source, sequence_id, time, me),
        12 => {
            let information = FollowUpInformation {
                cumulative_scaled_rate_offset: u.arbitrary()?,
                gm_time_base_indicator: u.arbitrary()?,
                last_gm_phase_change: u.arbitrary()?,
                scaled_last_gm_freq_change: u.arbitrary()?,
            };
            match aptp_wire::airplay::follow_up(source, sequence_id, time, information) {
                Ok(message) => {
                    apple_follow_up = message;
                    apple_follow_up.message()
                }
                Err(_) => Message::follow_up(source, sequence_id, time),
            }
        }
        _ => match aptp_wire::airplay::announce(source, sequence_id, *u.choose(&[248, 1, 255])?) {
            Ok(message) => {
                apple_announce = message;
                apple_announce.message()
            }
            Err(_) => Message::follow_up(source, sequence_id, time),
        },
    };
    // Header variations the roles check: domain, majorSdoId, corrections, intervals, flags.
    if u.ratio(1, 8)? {
        message.header.domain_number = u.arbitrary()?;
    }
    if u.ratio(1, 4)? {
        message.header.major_sdo_id = u.int_in_range(0..=15)?;
    }
    if u.ratio(1, 4)? {
        let ns = i64::from(u.arbitrary::<i32>()?);
        message.header.correction_field = TimeInterval(if u.ratio(1, 16)? {
            u.arbitrary()?
        } else {
            ns << 16
        });
    }
    if u.ratio(1, 8)? {
        message.header.log_message_interval = u.arbitrary()?;
    }
    if u.ratio(1, 8)? {
        message.header.flags = aptp_wire::Flags(u.arbitrary()?);
    }
    let mut bytes = vec![0u8; message.buffer_len()];
    let len = message.emit(&mut bytes).unwrap_or(0);
    bytes.truncate(len);
    // Mutations: a flipped byte, a cut, appended junk.
    match u.int_in_range(0u8..=7)? {
        0 if !bytes.is_empty() => {
            let at = u.choose_index(bytes.len())?;
            bytes[at] ^= u.arbitrary::<u8>()?.max(1);
        }
        1 if !bytes.is_empty() => {
            let cut = u.choose_index(bytes.len())?;
            bytes.truncate(cut);
        }
        2 => {
            let extra: Vec<u8> = u.arbitrary()?;
            bytes.extend(extra.into_iter().take(64));
        }
        _ => {}
    }
    Ok(bytes)
}

/// The next operation; `ctx` guides the valid messages.
pub fn op(u: &mut Unstructured<'_>, ctx: &mut Context) -> Result<Op> {
    Ok(match u.int_in_range(0u8..=19)? {
        0..=6 => {
            let port = if u.arbitrary()? {
                PortKind::Event
            } else {
                PortKind::General
            };
            let source = *u.choose(&SOURCES)?;
            let bytes = if u.ratio(1, 2)? {
                let raw: &[u8] = u.arbitrary()?;
                raw.iter().copied().take(512).collect()
            } else {
                valid_message(u, ctx)?
            };
            let rx_offset_ns = match u.int_in_range(0u8..=7)? {
                0 => u.arbitrary()?,
                1 => 0,
                _ => -i64::from(u.int_in_range(0u32..=2_000_000)?),
            };
            Op::Datagram {
                port,
                source,
                bytes,
                rx_offset_ns,
            }
        }
        7 | 8 => Op::Advance(match u.int_in_range(0u8..=7)? {
            0 => u.arbitrary::<u64>()? >> 14, // up to ~13 days
            1 => u.int_in_range(0..=10_000_000_000)?,
            _ => u.int_in_range(0..=200_000_000)?,
        }),
        9..=11 => Op::TimerExpiry,
        12 => Op::Timeout,
        13 => Op::TransmitTimestamp {
            index: u.arbitrary::<u8>()?.into(),
            ago_ns: u.int_in_range(0..=2_000_000)?,
        },
        14 => Op::Peers(u.arbitrary()?),
        15 => Op::Restart(u.arbitrary()?),
        _ => Op::Round {
            advance_ns: match u.int_in_range(0u8..=7)? {
                0 => u.int_in_range(0..=10_000_000_000)?,
                _ => u.int_in_range(100_000_000..=1_000_000_000)?,
            },
            offset_ns: match u.int_in_range(0u8..=15)? {
                0 => u.arbitrary()?,
                1 => i64::from(u.arbitrary::<i32>()?),
                _ => i64::from(u.int_in_range(-50_000i32..=50_000)?),
            },
            lost: if u.ratio(1, 2)? { 0 } else { u.arbitrary()? },
        },
    })
}

/// The datagrams of one round from the configured master at [`MASTER`] (grandmaster
/// [`GM_A`], one-way delay 100 µs): an Announce, a two-step Sync and its Follow_Up, a
/// Delay_Resp to the latest Delay_Req the role sent, a Pdelay_Resp and its follow-up to the
/// latest Pdelay_Req, and a Delay_Req and Pdelay_Req (which a master answers). `apple`
/// uses AirPlay's forms (majorSdoId 1, Apple flags and TLVs).
pub fn round(ctx: &mut Context, offset_ns: i64, apple: bool) -> Vec<(PortKind, Addr, Vec<u8>)> {
    let now = ctx.now();
    let source = PortIdentity::new(GM_A, 1);
    let me = ctx.port_identity.unwrap_or(PortIdentity::new(SELF_ID, 1));
    let remote =
        |t: Time| timestamp_of(t + TimeDelta::from_secs(1_000) + TimeDelta::from_nanos(offset_ns));
    let sent_at = now - TimeDelta::from_micros(100);
    let sequence_id = ctx.sync_sequence_id;
    ctx.sync_sequence_id = sequence_id.wrapping_add(1);
    let last_sent = ctx.sent_sequence_ids.last().copied().unwrap_or(0);
    let mut messages: Vec<(PortKind, Vec<u8>)> = Vec::new();
    let mut push = |port: PortKind, message: Message<'_>| {
        let mut bytes = vec![0u8; message.buffer_len()];
        if let Ok(len) = message.emit(&mut bytes) {
            bytes.truncate(len);
            messages.push((port, bytes));
        }
    };
    let information = FollowUpInformation {
        cumulative_scaled_rate_offset: 0,
        gm_time_base_indicator: 0,
        last_gm_phase_change: [0; 12],
        scaled_last_gm_freq_change: 0,
    };
    if apple {
        if let Ok(announce) = aptp_wire::airplay::announce(source, sequence_id, 248) {
            push(PortKind::General, announce.message());
        }
        push(
            PortKind::Event,
            aptp_wire::airplay::sync(source, sequence_id, Timestamp::ZERO),
        );
        if let Ok(follow_up) =
            aptp_wire::airplay::follow_up(source, sequence_id, remote(sent_at), information)
        {
            push(PortKind::General, follow_up.message());
        }
        push(
            PortKind::General,
            aptp_wire::airplay::delay_resp(source, last_sent, remote(sent_at), me),
        );
    } else {
        let body = AnnounceBody {
            grandmaster_priority1: 100,
            grandmaster_identity: GM_A,
            ..AnnounceBody::default()
        };
        push(
            PortKind::General,
            Message::announce(source, sequence_id, body),
        );
        push(
            PortKind::Event,
            Message::sync(source, sequence_id, Timestamp::ZERO),
        );
        push(
            PortKind::General,
            Message::follow_up(source, sequence_id, remote(sent_at)),
        );
        push(
            PortKind::General,
            Message::delay_resp(source, last_sent, remote(sent_at), me),
        );
        push(
            PortKind::Event,
            Message::pdelay_resp(source, last_sent, remote(sent_at), me),
        );
        push(
            PortKind::General,
            Message::pdelay_resp_follow_up(source, last_sent, remote(now), me),
        );
        let peer = PortIdentity::new(GM_B, 1);
        push(
            PortKind::Event,
            Message::delay_req(peer, sequence_id, Timestamp::ZERO),
        );
        push(
            PortKind::Event,
            Message::pdelay_req(peer, sequence_id, Timestamp::ZERO),
        );
    }
    messages
        .into_iter()
        .map(|(port, bytes)| (port, MASTER, bytes))
        .collect()
}

fn peers_of(mask: u8) -> Vec<Addr> {
    SOURCES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, &a)| a)
        .collect()
}

/// How deep a run went: what the seed generator looks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    /// Operations run.
    pub ops: usize,
    /// Operations after which the role followed a master (engine UNCALIBRATED, SLAVE or
    /// PASSIVE; receiver not listening). For the sender: rounds in which it sent a Sync.
    pub following: usize,
    /// Operations after which the role was SLAVE. For the sender: Delay_Resp sent.
    pub slave: usize,
    /// Mapping updates seen (for the sender: Follow_Ups sent).
    pub mapping_updates: usize,
}

/// Follows a role's mappings through a [`SlewedClock`] and checks that the followed time
/// never goes back, except where the role said its mapping jumped.
#[derive(Debug)]
pub struct Monotonic {
    clock: SlewedClock,
    last: Option<Time>,
    jump_allowed: bool,
    next_update_jumps: bool,
}

impl Default for Monotonic {
    fn default() -> Self {
        Monotonic {
            clock: SlewedClock::new(MAX_SLEW_PPB),
            last: None,
            jump_allowed: true,
            next_update_jumps: true,
        }
    }
}

impl Monotonic {
    /// The role said its mapping jumped (or was forgotten): the next update may move the
    /// followed time anywhere.
    pub fn allow_jump(&mut self) {
        self.jump_allowed = true;
        self.next_update_jumps = true;
    }

    /// A mapping update at `now`.
    pub fn update(&mut self, now: Time, mapping: ClockMapping, stepped: bool) {
        let rate = mapping.rate();
        assert!(
            rate.is_finite() && rate > 0.0,
            "a mapping with rate {rate}: mapped time would not advance: {mapping:?}"
        );
        let jump = stepped || self.next_update_jumps;
        if jump {
            self.jump_allowed = true;
        }
        self.next_update_jumps = false;
        self.clock.update(now, mapping, jump);
    }

    /// Checks the followed time at `now` (which never decreases) against the last check.
    pub fn check(&mut self, now: Time) {
        let Some(remote) = self.clock.to_remote(now) else {
            return;
        };
        if let Some(last) = self.last {
            assert!(
                self.jump_allowed || remote >= last,
                "mapped time went back at {now:?}: {last:?} → {remote:?}"
            );
        }
        self.last = Some(remote);
        self.jump_allowed = false;
    }
}

/// Capacities from the input: small, so every policy when full runs.
fn small_capacities(u: &mut Unstructured<'_>) -> Result<Capacities> {
    Ok(Capacities {
        foreign_masters: u.int_in_range(1..=4)?,
        pending_syncs: u.int_in_range(1..=4)?,
        pending_delay_requests: u.int_in_range(1..=4)?,
        pending_transmit_timestamps: u.int_in_range(1..=8)?,
        transmit_queue: u.int_in_range(1..=16)?,
        event_queue: u.int_in_range(1..=32)?,
        unicast_peers: u.int_in_range(1..=4)?,
        acceptable_masters: 4,
        rate_limited_sources: u.int_in_range(1..=4)?,
        // The estimator's windows, full within seconds at 8 Hz.
        estimator_points: u.int_in_range(1..=32)?,
        estimator_bins: u.int_in_range(1..=32)?,
    })
}

/// The engine as a slave (`master: false`: slaveOnly, following [`GM_A`] at [`MASTER`]) or as a
/// master (`master: true`: priority1 1, serving unicast peers), with a delay mechanism and
/// capacities chosen by the input.
pub fn engine_config(u: &mut Unstructured<'_>, master: bool) -> Result<Config> {
    let delay_mechanism = *u.choose(&[
        DelayMechanism::EndToEnd,
        DelayMechanism::EndToEnd,
        DelayMechanism::PeerToPeer,
        DelayMechanism::None,
    ])?;
    let capacities = if u.ratio(3, 4)? {
        small_capacities(u)?
    } else {
        Capacities::default()
    };
    let acceptable_masters = if !master && u.ratio(1, 3)? {
        vec![GM_A]
    } else {
        Vec::new()
    };
    Ok(Config {
        priority1: if master { 1 } else { 128 },
        slave_only: !master,
        master_only: master && u.ratio(1, 2)?,
        delay_mechanism,
        transport_specific: if u.ratio(1, 4)? { 1 } else { 0 },
        log_sync_interval: u.int_in_range(-3..=1)?,
        log_announce_interval: u.int_in_range(-2..=1)?,
        log_min_delay_req_interval: u.int_in_range(-3..=1)?,
        calibration_measurements: u.int_in_range(1..=4)?,
        local_timescale_is_utc: u.ratio(1, 4)?,
        acceptable_masters,
        answer_rate_limit_per_s: if u.ratio(1, 2)? {
            Some(u.int_in_range(1..=8)?)
        } else {
            None
        },
        delay_request_fallback: u.int_in_range(0..=4)?,
        capacities,
        ..Config::default()
    })
}

/// Checks every table of the engine against its capacity.
pub fn check_engine_tables(engine: &Engine<Addr>) {
    let c = engine.config().capacities;
    let tables = [
        (
            "foreign masters",
            engine.foreign_master_count(),
            c.foreign_masters,
        ),
        ("pending syncs", engine.pending_sync_len(), c.pending_syncs),
        (
            "pending Delay_Req",
            engine.pending_delay_request_len(),
            c.pending_delay_requests,
        ),
        (
            "pending Pdelay_Req",
            engine.pending_peer_delay_len(),
            c.pending_delay_requests,
        ),
        (
            "pending transmit timestamps",
            engine.pending_transmit_timestamp_len(),
            c.pending_transmit_timestamps,
        ),
        (
            "transmit queue",
            engine.transmit_queue_len(),
            c.transmit_queue,
        ),
        ("event queue", engine.event_queue_len(), c.event_queue),
        (
            "unicast peers",
            engine.unicast_peers().len(),
            c.unicast_peers,
        ),
        (
            "rate-limited sources",
            engine.rate_limited_source_count(),
            c.rate_limited_sources,
        ),
    ];
    for (name, len, capacity) in tables {
        assert!(
            len <= capacity,
            "{name}: {len} entries, capacity {capacity}"
        );
    }
}

/// Runs the engine (as slave or master) through the operations the input describes.
pub fn run_engine(data: &[u8], master: bool) -> Reached {
    let mut reached = Reached::default();
    let mut u = Unstructured::new(data);
    let Ok(config) = engine_config(&mut u, master) else {
        return reached;
    };
    let mut now = start();
    let Ok(mut engine) = Engine::new(config, SELF_ID, now) else {
        return reached;
    };
    let mut ctx = Context {
        now: Some(now),
        port_identity: Some(engine.port_identity()),
        ..Context::default()
    };
    if master {
        engine.set_unicast_peers([MASTER, PEER]);
    }
    let mut tokens: Vec<(TransmitToken, Time)> = Vec::new();
    let mut monotonic = Monotonic::default();
    while !u.is_empty() {
        let Ok(op) = op(&mut u, &mut ctx) else {
            break;
        };
        match op {
            Op::Datagram {
                port,
                source,
                bytes,
                rx_offset_ns,
            } => {
                let rx = now + TimeDelta::from_nanos(rx_offset_ns);
                engine.handle_datagram(now, &bytes, source, port, rx);
            }
            Op::Advance(ns) => now = now + TimeDelta::from_nanos_i128(i128::from(ns)),
            Op::TimerExpiry => {
                if let Some(deadline) = engine.poll_timeout() {
                    now = now.max(deadline);
                }
                engine.handle_timeout(now);
            }
            Op::Timeout => engine.handle_timeout(now),
            Op::TransmitTimestamp { index, ago_ns } => {
                if !tokens.is_empty() {
                    let (token, sent_at) = tokens.remove(index % tokens.len());
                    let at = (now - TimeDelta::from_nanos(i64::from(ago_ns))).max(sent_at);
                    engine.handle_transmit_timestamp(now, token, at);
                }
            }
            Op::Peers(mask) => {
                let kept = engine.set_unicast_peers(peers_of(mask));
                assert!(kept <= engine.config().capacities.unicast_peers);
            }
            Op::Round {
                advance_ns,
                offset_ns,
                lost,
            } => {
                now = now + TimeDelta::from_nanos_i128(i128::from(advance_ns));
                for (token, sent_at) in tokens.drain(..) {
                    engine.handle_transmit_timestamp(now, token, sent_at);
                }
                ctx.now = Some(now);
                for (i, (port, source, bytes)) in
                    round(&mut ctx, offset_ns, false).into_iter().enumerate()
                {
                    if lost & (1 << (i % 8)) == 0 {
                        engine.handle_datagram(now, &bytes, source, port, now);
                    }
                }
            }
            Op::Restart(kind) => match kind % 4 {
                0 => {
                    engine.restart_measurement(now);
                    monotonic.allow_jump();
                }
                1 => engine.handle_fault(now),
                2 => engine.disable(now),
                _ => engine.enable(now),
            },
        }
        ctx.now = Some(now);
        while let Some(event) = engine.poll_event() {
            match event {
                Event::MappingUpdated(mapping) => {
                    reached.mapping_updates += 1;
                    monotonic.update(now, mapping, false)
                }
                Event::StepDetected { .. } | Event::MasterChanged { .. } | Event::Fault { .. } => {
                    monotonic.allow_jump()
                }
                Event::StateChanged { to, .. } if !to.is_following() => monotonic.allow_jump(),
                _ => {}
            }
        }
        // A MappingUpdated lost to a full event queue still moves the mapping.
        if engine.counters().events_lost > 0 {
            if let Some(mapping) = engine.mapping() {
                if monotonic.clock.target() != Some(mapping) {
                    monotonic.update(now, mapping, true);
                }
            }
        }
        reached.ops += 1;
        if engine.state().is_following() || engine.state() == PortState::Passive {
            reached.following += 1;
            monotonic.check(now);
        }
        if engine.state() == PortState::Slave {
            reached.slave += 1;
        }
        while let Some(transmit) = engine.poll_transmit(now) {
            take_token(&mut ctx, &mut tokens, transmit, now);
        }
        check_engine_tables(&engine);
    }
    reached
}

fn take_token(
    ctx: &mut Context,
    tokens: &mut Vec<(TransmitToken, Time)>,
    transmit: Transmit<Addr>,
    now: Time,
) {
    ctx.note_sent(&transmit.bytes);
    if let Some(token) = transmit.timestamp_token {
        if tokens.len() >= 16 {
            tokens.remove(0);
        }
        tokens.push((token, now));
    }
}

/// Checks every table of the receiver against its capacity.
pub fn check_receiver_tables(receiver: &AirplayReceiver<Addr>) {
    let c = receiver.config();
    let tables = [
        (
            "timing peers",
            receiver.timing_peers().len(),
            c.max_timing_peers,
        ),
        ("announcers", receiver.announcer_len(), c.max_announcers),
        (
            "pending syncs",
            receiver.pending_sync_len(),
            c.pending_syncs,
        ),
        (
            "pending Delay_Req",
            receiver.pending_delay_request_len(),
            c.pending_delay_requests,
        ),
        ("event queue", receiver.event_queue_len(), c.event_queue),
    ];
    for (name, len, capacity) in tables {
        assert!(
            len <= capacity,
            "{name}: {len} entries, capacity {capacity}"
        );
    }
}

/// Runs an AirPlay receiver with timing peers [`MASTER`] and [`PEER`] through the operations
/// the input describes.
pub fn run_receiver(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let mut u = Unstructured::new(data);
    let Ok(config) = receiver_config(&mut u) else {
        return reached;
    };
    let mut now = start();
    let Ok(mut receiver) = AirplayReceiver::new(config, now) else {
        return reached;
    };
    receiver.set_timing_peers(now, [MASTER, PEER]);
    let mut ctx = Context {
        now: Some(now),
        port_identity: Some(receiver.port_identity()),
        ..Context::default()
    };
    let mut tokens: Vec<(TransmitToken, Time)> = Vec::new();
    let mut monotonic = Monotonic::default();
    let mut events_lost = 0;
    while !u.is_empty() {
        let Ok(op) = op(&mut u, &mut ctx) else {
            break;
        };
        match op {
            Op::Datagram {
                port,
                source,
                bytes,
                rx_offset_ns,
            } => {
                let rx = now + TimeDelta::from_nanos(rx_offset_ns);
                receiver.handle_datagram(now, &bytes, source, port, rx);
            }
            Op::Advance(ns) => now = now + TimeDelta::from_nanos_i128(i128::from(ns)),
            Op::TimerExpiry => {
                if let Some(deadline) = receiver.poll_timeout() {
                    now = now.max(deadline);
                }
                receiver.handle_timeout(now);
            }
            Op::Timeout => receiver.handle_timeout(now),
            Op::TransmitTimestamp { index, ago_ns } => {
                if !tokens.is_empty() {
                    let (token, sent_at) = tokens.remove(index % tokens.len());
                    let at = (now - TimeDelta::from_nanos(i64::from(ago_ns))).max(sent_at);
                    receiver.handle_transmit_timestamp(now, token, at);
                }
            }
            Op::Peers(mask) => {
                let kept = receiver.set_timing_peers(now, peers_of(mask));
                assert!(kept <= receiver.config().max_timing_peers);
            }
            Op::Restart(_) => receiver.restart_measurement(now),
            Op::Round {
                advance_ns,
                offset_ns,
                lost,
            } => {
                now = now + TimeDelta::from_nanos_i128(i128::from(advance_ns));
                for (token, sent_at) in tokens.drain(..) {
                    receiver.handle_transmit_timestamp(now, token, sent_at);
                }
                ctx.now = Some(now);
                for (i, (port, source, bytes)) in
                    round(&mut ctx, offset_ns, true).into_iter().enumerate()
                {
                    if lost & (1 << (i % 8)) == 0 {
                        receiver.handle_datagram(now, &bytes, source, port, now);
                    }
                }
            }
        }
        ctx.now = Some(now);
        // Events lost to a full queue may have said the mapping jumped: allow it.
        let lost = receiver.counters().events_lost;
        let lost_now = lost > events_lost;
        if lost_now {
            events_lost = lost;
            monotonic.allow_jump();
        }
        let mut queued = receiver.event_queue_len();
        while let Some(event) = receiver.poll_event() {
            queued -= 1;
            match event {
                ReceiverEvent::MappingUpdated { mapping, stepped } => {
                    reached.mapping_updates += 1;
                    monotonic.update(now, mapping, stepped)
                }
                ReceiverEvent::GrandmasterChanged { .. }
                | ReceiverEvent::MeasurementRestarted { .. }
                | ReceiverEvent::DelayMeasurementChanged { .. } => monotonic.allow_jump(),
                _ => {}
            }
        }
        assert_eq!(
            queued, 0,
            "poll_event drained a different count than event_queue_len"
        );
        // A MappingUpdated lost to the full queue still moved the mapping.
        if lost_now {
            if let Some(mapping) = receiver.mapping() {
                if monotonic.clock.target() != Some(mapping) {
                    monotonic.update(now, mapping, true);
                }
            }
        }
        reached.ops += 1;
        if receiver.state() != PortState::Listening {
            reached.following += 1;
            monotonic.check(now);
        }
        if receiver.state() == PortState::Slave {
            reached.slave += 1;
        }
        while let Some(transmit) = receiver.poll_transmit(now) {
            take_token(&mut ctx, &mut tokens, transmit, now);
        }
        check_receiver_tables(&receiver);
    }
    reached
}

fn receiver_config(u: &mut Unstructured<'_>) -> Result<ReceiverConfig> {
    let small = u.ratio(3, 4)?;
    let defaults = ReceiverConfig::new(SELF_ID);
    Ok(ReceiverConfig {
        delay_requests: u.ratio(3, 4)?,
        log_min_delay_request_interval: u.int_in_range(-4..=1)?,
        calibration_measurements: u.int_in_range(1..=8)?,
        stall_timeout_ns: if u.ratio(1, 2)? {
            2_000_000_000
        } else {
            defaults.stall_timeout_ns
        },
        max_timing_peers: if small {
            u.int_in_range(1..=3)?
        } else {
            defaults.max_timing_peers
        },
        max_announcers: if small {
            u.int_in_range(1..=3)?
        } else {
            defaults.max_announcers
        },
        pending_syncs: if small {
            u.int_in_range(1..=3)?
        } else {
            defaults.pending_syncs
        },
        pending_delay_requests: if small {
            u.int_in_range(1..=3)?
        } else {
            defaults.pending_delay_requests
        },
        // Small enough that one operation (a Round) can overflow it.
        event_queue: if small {
            u.int_in_range(1..=4)?
        } else {
            defaults.event_queue
        },
        // The estimator's windows, full within seconds at 8 Hz.
        estimator_points: if small {
            u.int_in_range(1..=32)?
        } else {
            defaults.estimator_points
        },
        estimator_bins: if small {
            u.int_in_range(1..=32)?
        } else {
            defaults.estimator_bins
        },
        ..defaults
    })
}

/// Runs an AirPlay sender serving [`MASTER`] and [`PEER`] through the operations the input
/// describes; its tables stay within their capacities and it keeps serving its peers.
pub fn run_sender(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let mut u = Unstructured::new(data);
    let small = u.ratio(3, 4).unwrap_or(false);
    let config = SenderConfig {
        max_peers: if small { 2 } else { 4096 },
        max_queued_responses: if small { 3 } else { 1024 },
        log_sync_interval: u.int_in_range(-4..=1).unwrap_or(-3),
        ..SenderConfig::new(GM_A)
    };
    let mut now = start();
    let Ok(mut sender) = AirplaySender::new(config, now) else {
        return reached;
    };
    sender.set_peers([MASTER, PEER]);
    let mut ctx = Context {
        now: Some(now),
        port_identity: Some(sender.port_identity()),
        ..Context::default()
    };
    let mut tokens: Vec<(TransmitToken, Time)> = Vec::new();
    while !u.is_empty() {
        let Ok(op) = op(&mut u, &mut ctx) else {
            break;
        };
        match op {
            Op::Datagram {
                port,
                source,
                bytes,
                rx_offset_ns,
            } => {
                let rx = now + TimeDelta::from_nanos(rx_offset_ns);
                sender.handle_datagram(now, &bytes, source, port, rx);
            }
            Op::Advance(ns) => now = now + TimeDelta::from_nanos_i128(i128::from(ns)),
            Op::TimerExpiry => {
                if let Some(deadline) = sender.poll_timeout() {
                    assert!(
                        deadline <= now + TimeDelta::from_secs(128),
                        "a deadline {deadline:?} far beyond now {now:?}"
                    );
                    now = now.max(deadline);
                }
                sender.handle_timeout(now);
            }
            Op::Timeout => sender.handle_timeout(now),
            Op::TransmitTimestamp { index, ago_ns } => {
                if !tokens.is_empty() {
                    let (token, sent_at) = tokens.remove(index % tokens.len());
                    let at = (now - TimeDelta::from_nanos(i64::from(ago_ns))).max(sent_at);
                    sender.handle_transmit_timestamp(now, token, at);
                }
            }
            Op::Peers(mask) => {
                let kept = sender.set_peers(peers_of(mask));
                assert!(kept <= sender.config().max_peers);
                assert_eq!(kept, sender.peer_len());
            }
            Op::Restart(_) => {}
            Op::Round {
                advance_ns,
                offset_ns,
                lost,
            } => {
                now = now + TimeDelta::from_nanos_i128(i128::from(advance_ns));
                for (token, sent_at) in tokens.drain(..) {
                    sender.handle_transmit_timestamp(now, token, sent_at);
                }
                ctx.now = Some(now);
                for (i, (port, source, bytes)) in
                    round(&mut ctx, offset_ns, false).into_iter().enumerate()
                {
                    if lost & (1 << (i % 8)) == 0 {
                        sender.handle_datagram(now, &bytes, source, port, now);
                    }
                }
            }
        }
        ctx.now = Some(now);
        // The caller polls a few datagrams per operation, not always all: the queue may fill.
        for _ in 0..u.int_in_range(0u8..=4).unwrap_or(4) {
            let Some(transmit) = sender.poll_transmit(now) else {
                break;
            };
            check_sender_transmit(&sender, &transmit);
            take_token(&mut ctx, &mut tokens, transmit, now);
        }
        reached.ops += 1;
        reached.following = sender.counters().syncs as usize;
        reached.mapping_updates = sender.counters().follow_ups as usize;
        reached.slave = sender.counters().delay_responses as usize;
        assert!(sender.peer_len() <= sender.config().max_peers);
        assert!(
            sender.queued_response_len() <= sender.config().max_queued_responses + 1,
            "{} responses queued, capacity {}",
            sender.queued_response_len(),
            sender.config().max_queued_responses
        );
    }
    reached
}

/// What the sender sends is a valid message from its own port identity.
fn check_sender_transmit(sender: &AirplaySender<Addr>, transmit: &Transmit<Addr>) {
    let message =
        Message::parse(&transmit.bytes).expect("the sender emitted an unparsable message");
    assert!(
        message.validate().is_ok(),
        "the sender emitted an invalid message: {message:?}"
    );
    assert_eq!(message.header.source_port_identity, sender.port_identity());
    if let Body::FollowUp {
        precise_origin_timestamp,
    } = message.body
    {
        assert!(precise_origin_timestamp.is_valid());
    }
}

/// The fuzz targets of this module, by name, each with its driver.
pub const TARGETS: [(&str, fn(&[u8]) -> Reached); 4] = [
    ("engine_slave", |data| run_engine(data, false)),
    ("engine_master", |data| run_engine(data, true)),
    ("airplay_receiver", run_receiver),
    ("airplay_sender", run_sender),
];

/// The seed corpus of a target: of `candidates` pseudo-random inputs (a fixed generator, so
/// the corpus is reproducible), the `count` that went deepest (most operations as SLAVE,
/// then most mapping updates, then most operations following), deepest first.
pub fn seeds(run: fn(&[u8]) -> Reached, candidates: u64, count: usize) -> Vec<(Reached, Vec<u8>)> {
    let mut state = 0x5eed_f022_u64;
    let mut next = move || {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut scored: Vec<(Reached, Vec<u8>)> = (0..candidates)
        .map(|_| {
            let len = 512 + (next() % 1536) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            (run(&data), data)
        })
        .collect();
    scored
        .sort_by_key(|(r, _)| core::cmp::Reverse((r.slave, r.mapping_updates, r.following, r.ops)));
    scored.truncate(count);
    scored
}
