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
    // A unicast request is answered by unicast to its sender.
    let unicast = request.with_flags(Flags::UNICAST);
    engine.handle_datagram(now, &encode(&unicast).unwrap(), 5, PortKind::Event, rx);
    assert_eq!(
        engine.poll_transmit(now).unwrap().destination,
        Destination::Unicast(5)
    );
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
