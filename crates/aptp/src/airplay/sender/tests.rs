//! The sender's profile, message by message.

use super::*;
use aptp_wire::{MessageType, Tlv};

const ME: ClockIdentity = ClockIdentity([0x42; 8]);

fn at(ms: u64) -> Time {
    Time::from_nanos(2_000_000_000_000 + ms * 1_000_000)
}

/// Everything the sender sends at `now`, each Sync's timestamp handed back at once
/// (`stamp + 3 ns`).
fn drain(sender: &mut AirplaySender<u8>, now: Time) -> Vec<Transmit<u8>> {
    let mut out = Vec::new();
    while let Some(transmit) = sender.poll_transmit(now) {
        if let Some(token) = &transmit.timestamp_token {
            let token = TransmitToken(token.id());
            sender.handle_transmit_timestamp(now, token, now + TimeDelta::from_nanos(3));
        }
        out.push(transmit);
    }
    out
}

fn kind(transmit: &Transmit<u8>) -> MessageType {
    Message::parse(&transmit.bytes).unwrap().header.message_type
}

#[test]
fn announce_first_then_each_sync_followed_at_once_by_its_follow_up() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    sender.set_peers([1, 2, 3]);
    sender.handle_timeout(at(0));
    let round = drain(&mut sender, at(0));
    let kinds: Vec<_> = round.iter().map(|t| (kind(t), t.destination)).collect();
    let mut expected = Vec::new();
    for peer in [1, 2, 3] {
        expected.push((MessageType::ANNOUNCE, Destination::Unicast(peer)));
        expected.push((MessageType::SYNC, Destination::Unicast(peer)));
        expected.push((MessageType::FOLLOW_UP, Destination::Unicast(peer)));
    }
    assert_eq!(kinds, expected);
    // Ports: Sync on the event port, the rest on the general port.
    for transmit in &round {
        let event = kind(transmit) == MessageType::SYNC;
        assert_eq!(
            transmit.port,
            if event {
                PortKind::Event
            } else {
                PortKind::General
            }
        );
        assert_eq!(transmit.timestamp_token.is_some(), event);
    }
    // The profile: majorSdoId 1, flags, intervals, the Follow_Up's own timestamp and TLVs.
    let sync = Message::parse(&round[1].bytes).unwrap();
    assert_eq!(
        (
            sync.header.major_sdo_id,
            sync.header.flags.0,
            sync.header.log_message_interval
        ),
        (1, 0x0608, -3)
    );
    let follow_up = Message::parse(&round[2].bytes).unwrap();
    assert_eq!(round[2].bytes.len(), 96);
    assert_eq!(
        (
            follow_up.header.flags.0,
            follow_up.header.log_message_interval
        ),
        (0x0408, -3)
    );
    assert_eq!(follow_up.header.sequence_id, sync.header.sequence_id);
    let Body::FollowUp {
        precise_origin_timestamp,
    } = follow_up.body
    else {
        panic!()
    };
    let expected_origin = at(0) + TimeDelta::from_nanos(3);
    assert_eq!(
        crate::airplay::wire_time::time_of(precise_origin_timestamp),
        Some(expected_origin)
    );
    let tlvs: Vec<Tlv<'_>> = follow_up.tlvs.map(|t| t.unwrap()).collect();
    assert_eq!(tlvs.len(), 2);
    let announce = Message::parse(&round[0].bytes).unwrap();
    assert!(round[0].bytes.len() >= 64);
    let Body::Announce(body) = announce.body else {
        panic!()
    };
    assert_eq!(
        (body.grandmaster_priority1, body.grandmaster_priority2),
        (248, 248)
    );
    assert_eq!(body.grandmaster_clock_quality.clock_accuracy.0, 0xFE);
    assert_eq!(body.grandmaster_identity, ME);
    assert_eq!(announce.header.flags.0, 0x0408);
}

#[test]
fn the_order_rotates_every_round_and_runs_at_8_hz() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    sender.set_peers([1, 2, 3]);
    let mut firsts = Vec::new();
    let mut syncs = 0;
    let mut now = at(0);
    while now < at(1_000) {
        sender.handle_timeout(now);
        let round: Vec<_> = drain(&mut sender, now)
            .into_iter()
            .filter(|t| kind(t) == MessageType::SYNC)
            .collect();
        if let Some(first) = round.first() {
            firsts.push(first.destination);
        }
        syncs += round.len();
        now = sender.poll_timeout().unwrap();
    }
    assert_eq!(syncs, 8 * 3);
    assert_eq!(&firsts[..4], &[1, 2, 3, 1].map(Destination::Unicast));
}

#[test]
fn peers_change_at_run_time_and_newcomers_are_announced_first() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    sender.set_peers([1]);
    sender.handle_timeout(at(0));
    drain(&mut sender, at(0));
    sender.set_peers([1, 2]);
    sender.handle_timeout(at(125));
    let round = drain(&mut sender, at(125));
    let to_two: Vec<_> = round
        .iter()
        .filter(|t| t.destination == Destination::Unicast(2))
        .map(kind)
        .collect();
    assert_eq!(
        to_two,
        [
            MessageType::ANNOUNCE,
            MessageType::SYNC,
            MessageType::FOLLOW_UP
        ]
    );
    let to_one: Vec<_> = round
        .iter()
        .filter(|t| t.destination == Destination::Unicast(1))
        .map(kind)
        .collect();
    assert_eq!(to_one, [MessageType::SYNC, MessageType::FOLLOW_UP]);
    sender.set_peers([]);
    sender.handle_timeout(at(250));
    assert!(drain(&mut sender, at(250)).is_empty());
}

#[test]
fn a_peer_list_edited_mid_round_serves_each_remaining_peer_once() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    assert_eq!(sender.set_peers([1, 2, 3, 4, 5, 6, 2, 1]), 6);
    sender.handle_timeout(at(0));
    drain(&mut sender, at(0));
    // The second round starts with 2 (rotation); serve 2 and 3, then edit the list.
    sender.handle_timeout(at(125));
    let mut served = Vec::new();
    while served.len() < 2 {
        let transmit = sender.poll_transmit(at(125)).unwrap();
        if kind(&transmit) == MessageType::SYNC {
            served.push(transmit.destination);
            let token = TransmitToken(transmit.timestamp_token.unwrap().id());
            sender.handle_transmit_timestamp(at(125), token, at(125));
        }
    }
    assert_eq!(served, [2, 3].map(Destination::Unicast));
    // 4 leaves, 9 and 8 arrive (9 twice), 6 moves to the front, 1 is listed twice.
    assert_eq!(sender.set_peers([6, 1, 9, 2, 3, 5, 9, 1, 8]), 7);
    assert_eq!(sender.peers().collect::<Vec<_>>(), [6, 1, 9, 2, 3, 5, 8]);
    let rest: Vec<_> = drain(&mut sender, at(125))
        .iter()
        .filter(|t| kind(t) == MessageType::SYNC)
        .map(|t| t.destination)
        .collect();
    // The round under way keeps its order for those still listed; newcomers wait for the
    // next round; nobody is served twice.
    assert_eq!(rest, [5, 6, 1].map(Destination::Unicast));
    sender.handle_timeout(at(250));
    let mut next: Vec<_> = drain(&mut sender, at(250))
        .iter()
        .filter(|t| kind(t) == MessageType::SYNC)
        .map(|t| match t.destination {
            Destination::Unicast(peer) => peer,
            other => panic!("{other:?}"),
        })
        .collect();
    next.sort_unstable();
    assert_eq!(next, [1, 2, 3, 5, 6, 8, 9]);
}

#[test]
fn max_peers_bounds_the_list_and_an_unchanged_list_keeps_every_state() {
    let config = SenderConfig {
        max_peers: 3,
        ..SenderConfig::new(ME)
    };
    let mut sender = AirplaySender::new(config, at(0)).unwrap();
    assert_eq!(sender.set_peers(1..=5), 3);
    sender.handle_timeout(at(0));
    assert_eq!(sender.counters().announces, 0);
    drain(&mut sender, at(0));
    assert_eq!(sender.counters().announces, 3);
    // The same list again: no peer is new, so no Announce before the next Follow_Ups.
    assert_eq!(sender.set_peers(1..=5), 3);
    sender.handle_timeout(at(125));
    drain(&mut sender, at(125));
    assert_eq!(sender.counters().announces, 3);
    assert_eq!(sender.counters().syncs, 6);
}

#[test]
fn the_next_sync_waits_for_the_follow_up_and_a_lost_timestamp_is_given_up() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    sender.set_peers([1, 2]);
    sender.handle_timeout(at(0));
    let announce = sender.poll_transmit(at(0)).unwrap();
    assert_eq!(kind(&announce), MessageType::ANNOUNCE);
    let sync = sender.poll_transmit(at(0)).unwrap();
    assert_eq!(kind(&sync), MessageType::SYNC);
    assert!(
        sender.poll_transmit(at(0)).is_none(),
        "waits for the timestamp"
    );
    sender.handle_timeout(at(60));
    assert_eq!(sender.counters().missing_timestamps, 1);
    // The timestamp coming late is ignored; the next peer is served.
    sender.handle_transmit_timestamp(at(61), sync.timestamp_token.unwrap(), at(0));
    let next = sender.poll_transmit(at(61)).unwrap();
    assert_eq!(next.destination, Destination::Unicast(2));
}

#[test]
fn delay_req_from_anyone_gets_its_delay_resp() {
    let mut sender = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    let requester = PortIdentity::new(ClockIdentity([7; 8]), 3);
    let request = Message::delay_req(requester, 77, Timestamp::ZERO).with_major_sdo_id(1);
    let mut bytes = vec![0; request.buffer_len()];
    request.emit(&mut bytes).unwrap();
    let received = at(5) + TimeDelta::from_scaled_nanos(0x8000);
    sender.handle_datagram(at(5), &bytes, 9, PortKind::Event, received);
    let response = sender.poll_transmit(at(5)).unwrap();
    assert_eq!(response.destination, Destination::Unicast(9));
    assert_eq!(response.port, PortKind::General);
    let parsed = Message::parse(&response.bytes).unwrap();
    assert_eq!(parsed.header.sequence_id, 77);
    let Body::DelayResp {
        receive_timestamp,
        requesting_port_identity,
    } = parsed.body
    else {
        panic!()
    };
    assert_eq!(requesting_port_identity, requester);
    let t4 = crate::airplay::wire_time::time_of(receive_timestamp).unwrap()
        - crate::airplay::wire_time::correction_of(parsed.header.correction_field);
    assert_eq!(t4, received);
    // Garbage and messages a grandmaster does not answer are counted.
    sender.handle_datagram(at(6), &[1, 2, 3], 9, PortKind::Event, at(6));
    assert_eq!(sender.counters().malformed, 1);
    assert_eq!(sender.counters().delay_responses, 1);
}

#[test]
fn network_time_is_the_local_clock_as_secs_and_fraction() {
    let sender: AirplaySender<u8> = AirplaySender::new(SenderConfig::new(ME), at(0)).unwrap();
    let (secs, frac) = sender
        .network_time(Time::from_nanos(7_250_000_000))
        .unwrap();
    assert_eq!((secs, frac), (7, 1 << 62));
    assert_eq!(sender.timeline_id(), 0x4242_4242_4242_4242);
    assert!(AirplaySender::<u8>::new(
        SenderConfig {
            log_sync_interval: 9,
            ..SenderConfig::new(ME)
        },
        at(0)
    )
    .is_err());
}

#[test]
fn a_delay_req_flood_between_polls_is_bounded_and_counted() {
    let config = SenderConfig {
        max_queued_responses: 8,
        ..SenderConfig::new(ME)
    };
    let mut sender: AirplaySender<u8> = AirplaySender::new(config, at(0)).unwrap();
    let request = Message::delay_req(
        PortIdentity::new(ClockIdentity([7; 8]), 1),
        1,
        Timestamp::ZERO,
    );
    let mut bytes = vec![0; request.buffer_len()];
    request.emit(&mut bytes).unwrap();
    // From 100 sources, so the per-source rate limit is not what refuses them.
    for source in 0..100 {
        sender.handle_datagram(at(1), &bytes, source, PortKind::Event, at(1));
    }
    assert_eq!(sender.queued_response_len(), 8);
    assert_eq!(sender.counters().rate_limited, 0);
    assert_eq!(sender.counters().delay_responses, 8);
    assert_eq!(sender.counters().responses_dropped, 92);
    // Once polled, the next requests are answered again.
    assert_eq!(drain(&mut sender, at(1)).len(), 8);
    sender.handle_datagram(at(2), &bytes, 9, PortKind::Event, at(2));
    assert_eq!(sender.queued_response_len(), 1);
    assert_eq!(
        SenderConfig {
            max_queued_responses: 0,
            ..SenderConfig::new(ME)
        }
        .validate(),
        Err(SenderConfigError::Zero("max_queued_responses"))
    );
}

#[test]
fn delay_req_answers_are_rate_limited_per_source_in_a_bounded_table() {
    let config = SenderConfig {
        rate_limited_sources: 4,
        ..SenderConfig::new(ME)
    };
    let mut sender: AirplaySender<u8> = AirplaySender::new(config, at(0)).unwrap();
    let request = Message::delay_req(
        PortIdentity::new(ClockIdentity([7; 8]), 1),
        1,
        Timestamp::ZERO,
    );
    let mut bytes = vec![0; request.buffer_len()];
    request.emit(&mut bytes).unwrap();
    let answered = |sender: &mut AirplaySender<u8>, now: Time| {
        drain(sender, now)
            .iter()
            .filter(|t| kind(t) == MessageType::DELAY_RESP)
            .count()
    };
    // Source 9 floods 1000 Delay_Req a second for one second: a burst of 32, then 32 a
    // second; polled after each, so the queue is never what refuses them.
    let mut flooder = 0;
    for n in 0..1000u64 {
        let now = at(1 + n);
        sender.handle_datagram(now, &bytes, 9, PortKind::Event, now);
        flooder += answered(&mut sender, now);
    }
    assert!((63..=65).contains(&flooder), "{flooder} answered");
    assert_eq!(sender.counters().rate_limited, 1000 - flooder as u64);
    // A receiver at 8 Hz meanwhile is never refused.
    let mut receiver = 0;
    for n in 0..80u64 {
        let now = at(1_001 + n * 125);
        sender.handle_datagram(now, &bytes, 10, PortKind::Event, now);
        sender.handle_datagram(now, &bytes, 9, PortKind::Event, now);
        receiver += drain(&mut sender, now)
            .iter()
            .filter(|t| {
                kind(t) == MessageType::DELAY_RESP && t.destination == Destination::Unicast(10)
            })
            .count();
    }
    assert_eq!(receiver, 80);
    // Many sources: the table stays within its capacity.
    for source in 20..200u8 {
        sender.handle_datagram(at(20_000), &bytes, source, PortKind::Event, at(20_000));
    }
    assert_eq!(sender.rate_limited_source_len(), 4);
    assert_eq!(
        SenderConfig {
            answer_rate_limit_per_s: 0,
            ..SenderConfig::new(ME)
        }
        .validate(),
        Err(SenderConfigError::Zero("answer_rate_limit_per_s"))
    );
}

/// The default sender in `domain_number`, Sync every `2^log_sync_interval` s.
fn profile(domain_number: u8, log_sync_interval: i8) -> SenderConfig {
    SenderConfig {
        domain_number,
        log_sync_interval,
        ..SenderConfig::new(ME)
    }
}

proptest::proptest! {
    /// A Follow_Up written into the template is byte for byte the one built from scratch,
    /// for any sequenceId, transmit instant and domain.
    #[test]
    fn follow_ups_from_the_template_are_the_built_ones(
        sequence_id in 0u16..=u16::MAX,
        nanos in 0u64..=(1u64 << 62),
        domain_number in 0u8..=127,
    ) {
        let sender = AirplaySender::<u8>::new(profile(domain_number, -3), at(0)).unwrap();
        let tx_timestamp = Time::from_nanos(nanos);
        let sent = sender.follow_up(7, sequence_id, tx_timestamp).unwrap();
        let (precise_origin, rest) = timestamp_of(tx_timestamp).unwrap();
        let built = build_follow_up(
            sender.port_identity(),
            domain_number,
            sequence_id,
            precise_origin,
            rest,
        )
        .unwrap();
        proptest::prop_assert_eq!(sent.bytes, built);
    }

    /// The same for Sync, whatever the sync interval.
    #[test]
    fn syncs_from_the_template_are_the_built_ones(
        rounds in 1usize..40,
        nanos in 0u64..=(1u64 << 62),
        domain_number in 0u8..=127,
        log_sync_interval in -7i8..=4,
    ) {
        let mut now = Time::from_nanos(nanos);
        let config = profile(domain_number, log_sync_interval);
        let mut sender = AirplaySender::<u8>::new(config, now).unwrap();
        sender.set_peers([9]);
        let mut syncs = 0;
        // Each deadline (a Sync round, an Announce) until `rounds` Syncs went out.
        while syncs < rounds {
            sender.handle_timeout(now);
            let sent = drain(&mut sender, now);
            for sync in sent.iter().filter(|transmit| kind(transmit) == MessageType::SYNC) {
                syncs += 1;
                let sequence_id = Message::parse(&sync.bytes).unwrap().header.sequence_id;
                let (origin, _) = timestamp_of(now).unwrap();
                let built = build_sync(
                    sender.port_identity(),
                    domain_number,
                    log_sync_interval,
                    sequence_id,
                    origin,
                )
                .unwrap();
                proptest::prop_assert_eq!(&sync.bytes, &built);
            }
            now = sender.poll_timeout().unwrap();
        }
    }
}
