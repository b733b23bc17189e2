//! Unit tests of the engine's outgoing messages and its transmit-timestamp pairing, one
//! engine at a time (the protocol between engines is tested in `scenarios`).

use super::codec::{decode, encode};
use super::{
    Config, Destination, DropReason, Engine, PortKind, PortState, Transmit, TransmitToken,
};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::{Body, ClockIdentity, Flags, Message, PortIdentity, TimeInterval, Timestamp};

const SECOND: u64 = 1_000_000_000;

fn at(ns: u64) -> Time {
    Time::from_nanos(1_700_000_000 * SECOND + ns)
}

/// A master-only engine driven to MASTER; returns it and the instant it got there.
fn master(config: Config) -> (Engine<u32>, Time) {
    let mut engine = Engine::new(
        Config {
            master_only: true,
            ..config
        },
        ClockIdentity([0xAA; 8]),
        at(0),
    )
    .unwrap();
    let mut now = at(0);
    while engine.state() != PortState::Master {
        now = engine.poll_timeout().unwrap();
        engine.handle_timeout(now);
    }
    (engine, now)
}

fn drain(engine: &mut Engine<u32>, now: Time) -> Vec<Transmit<u32>> {
    std::iter::from_fn(|| engine.poll_transmit(now)).collect()
}

#[test]
fn master_messages_carry_the_configured_header_fields() {
    let config = Config {
        domain_number: 3,
        transport_specific: 1,
        log_sync_interval: -3,
        ..Config::default()
    };
    let (mut engine, now) = master(config);
    let sent = drain(&mut engine, now);
    assert_eq!(sent.len(), 2, "an Announce and a Sync");
    let announce = &sent[0];
    assert_eq!(
        (announce.port, announce.destination),
        (PortKind::General, Destination::Multicast)
    );
    assert!(announce.timestamp_token.is_none());
    let message = decode(&announce.bytes).unwrap();
    let h = message.header;
    assert_eq!(
        (
            h.major_sdo_id,
            h.domain_number,
            h.control_field,
            h.log_message_interval
        ),
        (1, 3, 5, 1)
    );
    assert_eq!(
        h.flags,
        Flags::PTP_TIMESCALE | Flags::CURRENT_UTC_OFFSET_VALID
    );
    assert_eq!(
        h.source_port_identity,
        PortIdentity::new(ClockIdentity([0xAA; 8]), 1)
    );
    let Body::Announce(body) = message.body else {
        panic!("not an Announce")
    };
    assert_eq!(
        (body.grandmaster_priority1, body.grandmaster_priority2),
        (128, 128)
    );
    assert_eq!(body.grandmaster_clock_quality.clock_class, 248);
    assert_eq!((body.steps_removed, body.current_utc_offset), (0, 37));
    assert_eq!(body.grandmaster_identity, ClockIdentity([0xAA; 8]));

    let sync = &sent[1];
    assert_eq!(
        (sync.port, sync.destination),
        (PortKind::Event, Destination::Multicast)
    );
    let h = decode(&sync.bytes).unwrap().header;
    assert_eq!(
        (
            h.major_sdo_id,
            h.domain_number,
            h.control_field,
            h.log_message_interval
        ),
        (1, 3, 0, -3)
    );
    assert!(h.flags.two_step() && !h.flags.unicast());
}

#[test]
fn follow_up_carries_its_syncs_transmit_timestamp_and_goes_first() {
    let (mut engine, now) = master(Config::default());
    engine.set_unicast_peers([7, 8, 9]);
    // The next Sync round serves the three peers.
    drain(&mut engine, now);
    let next_sync_round = |engine: &mut Engine<u32>| loop {
        let next = engine.poll_timeout().unwrap();
        engine.handle_timeout(next);
        let round: Vec<_> = drain(engine, next)
            .into_iter()
            .filter(|t| t.port == PortKind::Event)
            .collect();
        if !round.is_empty() {
            return (next, round);
        }
    };
    let (next, mut round) = next_sync_round(&mut engine);
    assert_eq!(round.len(), 3);
    let order: Vec<_> = round.iter().map(|t| t.destination).collect();
    // Sent at 1.5 ns past a whole nanosecond: the half goes into correctionField.
    let tx = next + TimeDelta::from_scaled_nanos(0x1_8000);
    let first = round.remove(0);
    let sequence_id = decode(&first.bytes).unwrap().header.sequence_id;
    engine.handle_transmit_timestamp(next, first.timestamp_token.unwrap(), tx);
    let follow_up = engine.poll_transmit(next).unwrap();
    assert_eq!(
        follow_up.destination, first.destination,
        "Follow_Up right after its own Sync"
    );
    assert_eq!(follow_up.port, PortKind::General);
    let message = decode(&follow_up.bytes).unwrap();
    assert_eq!(message.header.sequence_id, sequence_id);
    assert_eq!(message.header.control_field, 2);
    assert!(message.header.flags.unicast());
    assert_eq!(message.header.correction_field, TimeInterval(0x8000));
    let Body::FollowUp {
        precise_origin_timestamp,
    } = message.body
    else {
        panic!("not a Follow_Up")
    };
    let (seconds, nanoseconds) = tx.to_secs_nanos().unwrap();
    assert_eq!(
        precise_origin_timestamp,
        Timestamp {
            seconds,
            nanoseconds
        }
    );
    // The next round starts with another peer.
    let (_, next_round) = next_sync_round(&mut engine);
    let next_round: Vec<_> = next_round.into_iter().map(|t| t.destination).collect();
    assert_eq!(next_round.len(), 3);
    assert_ne!(next_round[0], order[0]);
}

#[test]
fn delay_resp_answers_a_delay_req() {
    let (mut engine, now) = master(Config {
        log_min_delay_req_interval: -2,
        ..Config::default()
    });
    drain(&mut engine, now);
    let slave = PortIdentity::new(ClockIdentity([0x55; 8]), 3);
    let request = Message::delay_req(slave, 4242, Timestamp::ZERO)
        .with_correction_field(TimeInterval(5 << 16));
    let rx = now + TimeDelta::from_scaled_nanos(0x4000);
    engine.handle_datagram(now, &encode(&request).unwrap(), 5, PortKind::Event, rx);
    let response = engine.poll_transmit(now).unwrap();
    assert_eq!(
        (response.port, response.destination),
        (PortKind::General, Destination::Multicast)
    );
    let message = decode(&response.bytes).unwrap();
    assert_eq!(message.header.sequence_id, 4242);
    assert_eq!(message.header.control_field, 3);
    assert_eq!(message.header.log_message_interval, -2);
    // The request's 5 ns, minus the receipt's quarter nanosecond carried in the timestamp's
    // truncation.
    assert_eq!(
        message.header.correction_field,
        TimeInterval((5 << 16) - 0x4000)
    );
    let Body::DelayResp {
        receive_timestamp,
        requesting_port_identity,
    } = message.body
    else {
        panic!()
    };
    assert_eq!(requesting_port_identity, slave);
    let (seconds, nanoseconds) = rx.to_secs_nanos().unwrap();
    assert_eq!(
        receive_timestamp,
        Timestamp {
            seconds,
            nanoseconds
        }
    );
    // A unicast request from a stranger would be answered with 10 bytes more than it sent:
    // on the multicast group instead (no amplification towards a spoofed source) ...
    let unicast = request.with_flags(Flags::UNICAST);
    let bytes = encode(&unicast).unwrap();
    assert_eq!(bytes.len(), 44);
    engine.handle_datagram(now, &bytes, 5, PortKind::Event, rx);
    assert_eq!(
        engine.poll_transmit(now).unwrap().destination,
        Destination::Multicast
    );
    // ... by unicast when padded to the answer's length ...
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0x80, 0x08, 0x00, 0x06, 0, 0, 0, 0, 0, 0]); // a PAD TLV
    padded[2..4].copy_from_slice(&54u16.to_be_bytes());
    engine.handle_datagram(now, &padded, 5, PortKind::Event, rx);
    assert_eq!(
        engine.poll_transmit(now).unwrap().destination,
        Destination::Unicast(5)
    );
    // ... and, serving unicast peers, by unicast to a peer and not at all to a stranger.
    engine.set_unicast_peers([7]);
    engine.handle_datagram(now, &bytes, 7, PortKind::Event, rx);
    assert_eq!(
        engine.poll_transmit(now).unwrap().destination,
        Destination::Unicast(7)
    );
    engine.handle_datagram(now, &bytes, 5, PortKind::Event, rx);
    assert!(engine.poll_transmit(now).is_none());
    assert_eq!(
        engine.counters().dropped(DropReason::AmplificationRefused),
        1
    );
}

#[test]
fn delay_req_answers_are_rate_limited_per_source() {
    // logMinDelayReqInterval 0: 4 answers a second per source by default.
    let (mut engine, now) = master(Config::default());
    drain(&mut engine, now);
    let request = |n: u16| {
        encode(&Message::delay_req(
            PortIdentity::new(ClockIdentity([0x55; 8]), 1),
            n,
            Timestamp::ZERO,
        ))
        .unwrap()
    };
    let mut answered = 0;
    for n in 0..100u16 {
        let at = now + TimeDelta::from_millis(i64::from(n) * 10);
        engine.handle_datagram(at, &request(n), 5, PortKind::Event, at);
        answered += drain(&mut engine, at)
            .iter()
            .filter(|t| t.port == PortKind::General && t.bytes.len() == 54)
            .count();
    }
    // A burst of 4, then one per 250 ms over the second.
    assert_eq!(answered, 4 + 3);
    assert_eq!(engine.counters().dropped(DropReason::RateLimited), 93);
    // Another source has its own allowance.
    let at = now + TimeDelta::from_secs(1);
    engine.handle_datagram(at, &request(1), 6, PortKind::Event, at);
    assert_eq!(drain(&mut engine, at).len(), 1);
    // An explicit limit.
    let (mut engine, now) = master(Config {
        answer_rate_limit_per_s: Some(1),
        ..Config::default()
    });
    drain(&mut engine, now);
    for n in 0..3 {
        engine.handle_datagram(now, &request(n), 5, PortKind::Event, now);
    }
    assert_eq!(drain(&mut engine, now).len(), 1);
}

#[test]
fn a_missing_transmit_timestamp_is_counted_and_its_follow_up_never_sent() {
    let (mut engine, now) = master(Config::default());
    let sent = drain(&mut engine, now);
    assert!(sent[1].timestamp_token.is_some());
    let deadline = engine.poll_timeout().unwrap();
    assert!(deadline <= now + TimeDelta::from_millis(100));
    engine.handle_timeout(deadline);
    assert_eq!(
        engine
            .counters()
            .dropped(DropReason::TransmitTimestampMissing),
        1
    );
    assert!(drain(&mut engine, deadline).is_empty());
    // A token that is no longer pending is counted, not acted upon.
    engine.handle_transmit_timestamp(deadline, TransmitToken(999), deadline);
    assert_eq!(
        engine.counters().dropped(DropReason::UnknownTransmitToken),
        1
    );
    assert!(drain(&mut engine, deadline).is_empty());
}

#[test]
fn a_local_clock_stepping_back_does_not_stall_the_timers() {
    let (mut engine, now) = master(Config::default());
    drain(&mut engine, now);
    let back = now - TimeDelta::from_secs(3_600);
    engine.handle_timeout(back);
    let next = engine.poll_timeout().unwrap();
    assert!(
        next <= back + TimeDelta::from_secs(1),
        "next Sync within an interval of the new now"
    );
    engine.handle_timeout(next);
    assert!(drain(&mut engine, next)
        .iter()
        .any(|t| t.port == PortKind::Event));
}

#[test]
fn slave_only_never_serves() {
    let mut engine: Engine<u32> = Engine::new(
        Config {
            slave_only: true,
            ..Config::default()
        },
        ClockIdentity([1; 8]),
        at(0),
    )
    .unwrap();
    let mut now = at(0);
    for _ in 0..20 {
        now = engine
            .poll_timeout()
            .unwrap_or(now + TimeDelta::from_secs(1));
        engine.handle_timeout(now);
        assert_eq!(engine.state(), PortState::Listening);
        assert!(engine.poll_transmit(now).is_none());
    }
}

#[test]
fn disabled_ignores_everything_until_enabled() {
    let (mut engine, now) = master(Config::default());
    engine.disable(now);
    assert_eq!(engine.state(), PortState::Disabled);
    assert!(engine.poll_transmit(now).is_none());
    assert!(engine.poll_timeout().is_none());
    let sync = Message::sync(
        PortIdentity::new(ClockIdentity([2; 8]), 1),
        1,
        Timestamp::ZERO,
    );
    engine.handle_datagram(now, &encode(&sync).unwrap(), 1, PortKind::Event, now);
    assert_eq!(engine.counters().dropped(DropReason::PortInactive), 1);
    engine.enable(now);
    assert_eq!(engine.state(), PortState::Listening);
}

#[test]
fn pdelay_resp_follow_up_carries_the_requests_correction_and_the_lost_fractions() {
    let mut engine: Engine<u32> = Engine::new(
        Config {
            delay_mechanism: super::DelayMechanism::PeerToPeer,
            ..Config::default()
        },
        ClockIdentity([0xAA; 8]),
        at(0),
    )
    .unwrap();
    let now = at(SECOND);
    drain(&mut engine, now);
    let neighbour = PortIdentity::new(ClockIdentity([0x55; 8]), 1);
    // A transparent clock on the way added 1.5 µs to the request's correctionField.
    let request = Message::pdelay_req(neighbour, 77, Timestamp::ZERO)
        .with_correction_field(TimeInterval(1_500 << 16));
    // Received a quarter nanosecond past a whole one; answered three quarters past one.
    let rx = now + TimeDelta::from_scaled_nanos(0x4000);
    engine.handle_datagram(now, &encode(&request).unwrap(), 5, PortKind::Event, rx);
    let response = engine.poll_transmit(now).unwrap();
    assert_eq!(
        decode(&response.bytes).unwrap().header.correction_field,
        TimeInterval(0)
    );
    let tx = now + TimeDelta::from_micros(10) + TimeDelta::from_scaled_nanos(0xC000);
    engine.handle_transmit_timestamp(now, response.timestamp_token.unwrap(), tx);
    let follow_up_bytes = engine.poll_transmit(now).unwrap().bytes;
    let follow_up = decode(&follow_up_bytes).unwrap();
    let Body::PdelayRespFollowUp {
        requesting_port_identity,
        ..
    } = follow_up.body
    else {
        panic!("not a Pdelay_Resp_Follow_Up")
    };
    assert_eq!(requesting_port_identity, neighbour);
    // 1.5 µs + frac(t3) − frac(t2) = 1.5 µs + 0.5 ns.
    assert_eq!(
        follow_up.header.correction_field,
        TimeInterval((1_500 << 16) + 0x8000)
    );
}

#[test]
fn table_length_getters_follow_the_queues_within_their_capacities() {
    let config = Config {
        capacities: super::Capacities {
            transmit_queue: 2,
            pending_transmit_timestamps: 1,
            event_queue: 3,
            unicast_peers: 3,
            ..super::Capacities::default()
        },
        ..Config::default()
    };
    let (mut engine, now) = master(config);
    assert!(engine.event_queue_len() <= 3);
    while engine.poll_event().is_some() {}
    assert_eq!(engine.event_queue_len(), 0);
    assert_eq!(engine.set_unicast_peers([1, 2, 3, 4, 5]), 3);
    let mut now = now;
    for _ in 0..8 {
        assert!(engine.transmit_queue_len() <= 2);
        assert!(engine.pending_transmit_timestamp_len() <= 1);
        let queued = engine.transmit_queue_len();
        assert_eq!(drain(&mut engine, now).len(), queued);
        assert_eq!(engine.transmit_queue_len(), 0);
        now = engine.poll_timeout().unwrap().max(now);
        engine.handle_timeout(now);
    }
    // Three peers' Announces and Syncs do not fit in a queue of two.
    assert!(engine.counters().dropped(DropReason::TransmitQueueFull) > 0);
    assert_eq!(
        (
            engine.pending_sync_len(),
            engine.pending_delay_request_len(),
            engine.pending_peer_delay_len()
        ),
        (0, 0, 0)
    );
}

#[test]
fn pending_exchanges_pushed_out_of_a_full_table_are_counted() {
    use super::sim::{LinkModel, Sim, SimClock};
    let config = Config {
        capacities: super::Capacities {
            pending_syncs: 2,
            ..super::Capacities::default()
        },
        ..Config::default()
    };
    let mut sim = Sim::new(9, LinkModel::default());
    let master = sim.add_node(
        Config {
            priority1: 1,
            ..config.clone()
        },
        SimClock::default(),
    );
    let slave = sim.add_node(
        Config {
            slave_only: true,
            ..config
        },
        SimClock::default(),
    );
    sim.run_for_secs(30);
    assert_eq!(sim.engine(slave).state(), PortState::Slave);
    let before = sim
        .engine(slave)
        .counters()
        .dropped(DropReason::PendingTableFull);
    // Five two-step Syncs from the master whose Follow_Ups never come: three are pushed out.
    let source = PortIdentity::new(Sim::clock_identity(master), 1);
    for sequence_id in 40_000..40_005u16 {
        let bytes = encode(&Message::sync(source, sequence_id, Timestamp::ZERO)).unwrap();
        let now = sim.local_now(slave);
        let engine = sim.engine_mut(slave);
        engine.handle_datagram(now, &bytes, master, PortKind::Event, now);
        assert!(engine.pending_sync_len() <= 2);
    }
    let after = sim
        .engine(slave)
        .counters()
        .dropped(DropReason::PendingTableFull);
    assert_eq!(after - before, 3);
}

#[test]
fn another_domains_message_is_dropped_before_the_full_validation() {
    // Another domain's Delay_Req whose originTimestamp has nanoseconds ≥ 10^9: the full
    // parse and validation would call it malformed, but the domain is read from a view of
    // the bytes first, so it is dropped as another domain's without being decoded.
    let (mut engine, now) = master(Config::default());
    drain(&mut engine, now);
    let slave = PortIdentity::new(ClockIdentity([0x55; 8]), 3);
    let mut bytes =
        encode(&Message::delay_req(slave, 1, Timestamp::ZERO).with_domain_number(5)).unwrap();
    bytes[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(decode(&bytes).is_err(), "the fixture must fail validation");
    engine.handle_datagram(now, &bytes, 5, PortKind::Event, now);
    assert_eq!(engine.counters().dropped(DropReason::WrongDomain), 1);
    assert_eq!(engine.counters().dropped(DropReason::Malformed), 0);
    // Our own looped-back message, just as cheaply.
    let own = PortIdentity::new(ClockIdentity([0xAA; 8]), 1);
    let mut bytes = encode(&Message::delay_req(own, 2, Timestamp::ZERO)).unwrap();
    bytes[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
    engine.handle_datagram(now, &bytes, 5, PortKind::Event, now);
    assert_eq!(engine.counters().dropped(DropReason::FromSelf), 1);
    assert_eq!(engine.counters().dropped(DropReason::Malformed), 0);
}
