//! The receiver against hand-made Apple-style traffic.

use super::*;
use crate::airplay::ReceiverEvent;
use crate::engine::Destination;
use aptp_wire::{Flags, FollowUpInformation};

const GM: ClockIdentity = ClockIdentity([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08]);
const OTHER: ClockIdentity = ClockIdentity([0x77, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08]);
const ME: ClockIdentity = ClockIdentity([0xaa; 8]);

fn at(ms: u64) -> Time {
    Time::from_nanos(1_000_000_000_000 + ms * 1_000_000)
}

/// A grandmaster whose clock reads local + `offset`, sending like a HomePod.
struct Apple {
    port: PortIdentity,
    offset: TimeDelta,
    sequence_id: u16,
    priority2: u8,
}

impl Apple {
    fn new(clock: ClockIdentity, offset_ms: i64, priority2: u8) -> Self {
        Apple {
            port: PortIdentity::new(clock, 0x8005),
            offset: TimeDelta::from_millis(offset_ms),
            sequence_id: 0,
            priority2,
        }
    }

    fn announce(&self) -> Vec<u8> {
        let announce =
            aptp_wire::airplay::announce(self.port, self.sequence_id, self.priority2).unwrap();
        let mut bytes = vec![0; announce.buffer_len()];
        announce.emit(&mut bytes).unwrap();
        bytes
    }

    /// Sync (flags 0x0608, controlField 0) and the 96-byte Follow_Up for a Sync sent at
    /// local instant `sent`.
    fn sync_follow_up(&mut self, sent: Time) -> (Vec<u8>, Vec<u8>) {
        self.sequence_id = self.sequence_id.wrapping_add(1);
        let sync = Message::sync(self.port, self.sequence_id, Timestamp::ZERO)
            .with_major_sdo_id(1)
            .with_flags(Flags(0x0608))
            .with_log_message_interval(-3);
        let mut sync_bytes = vec![0; sync.buffer_len()];
        sync.emit(&mut sync_bytes).unwrap();
        let origin = sent + self.offset;
        let (secs, nanos) = origin.to_secs_nanos().unwrap();
        let follow_up = aptp_wire::airplay::follow_up(
            self.port,
            self.sequence_id,
            Timestamp::new(secs, nanos).unwrap(),
            FollowUpInformation::default(),
        )
        .unwrap();
        let mut follow_up_bytes = vec![0; follow_up.buffer_len()];
        follow_up.emit(&mut follow_up_bytes).unwrap();
        follow_up_bytes[32] = 0; // controlField 0 instead of 2: a quirk to tolerate
        (sync_bytes, follow_up_bytes)
    }
}

fn receiver() -> AirplayReceiver<u8> {
    let config = ReceiverConfig {
        delay_requests: false,
        stall_timeout_ns: 2_000_000_000,
        ..ReceiverConfig::new(ME)
    };
    AirplayReceiver::new(config, at(0)).unwrap()
}

/// Runs `gm` from `peer` for `ms` from `start`, one-way delay 1 ms, Follow_Up 5 ms after.
fn run(receiver: &mut AirplayReceiver<u8>, gm: &mut Apple, peer: u8, start: u64, ms: u64) {
    let mut t = start;
    while t < start + ms {
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), peer, PortKind::General, at(t));
        }
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + TimeDelta::from_millis(1);
        receiver.handle_datagram(arrival, &sync, peer, PortKind::Event, arrival);
        let late = arrival + TimeDelta::from_millis(5);
        receiver.handle_datagram(late, &follow_up, peer, PortKind::General, late);
        receiver.handle_timeout(late);
        t += 125;
    }
}

/// A receiver whose only timing peer (1) is `GM`, an Apple clock `offset_ms` ahead, run
/// for the first `ms`.
fn following(offset_ms: i64, ms: u64) -> (AirplayReceiver<u8>, Apple) {
    let mut receiver = receiver();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, offset_ms, 248);
    run(&mut receiver, &mut gm, 1, 0, ms);
    (receiver, gm)
}

fn events(receiver: &mut AirplayReceiver<u8>) -> Vec<ReceiverEvent<u8>> {
    core::iter::from_fn(|| receiver.poll_event()).collect()
}

#[test]
fn follows_an_apple_grandmaster_one_way_from_the_sync_receipt() {
    let (mut receiver, _) = following(2_500, 5_000);
    let status = receiver.status(at(5_000));
    assert_eq!(status.state, PortState::Slave);
    // The last Sync came at 4 876 ms (sent at 4 875, 1 ms path), its Follow_Up 5 ms later.
    assert_eq!(status.last_sync_age_ns, Some(124_000_000));
    assert_eq!(status.last_follow_up_age_ns, Some(119_000_000));
    let grandmaster = status.grandmaster.unwrap();
    assert_eq!(grandmaster.identity, GM);
    assert_eq!(grandmaster.address, 1);
    assert_eq!(grandmaster.mastership_start, Some(at(6)));
    assert!(!status.two_way);
    // One way: the 1 ms path delay is inside the offset, the 5 ms Follow_Up lag is not.
    let offset = status.offset_ns.unwrap();
    assert!((offset - 2_499_000_000).abs() < 1_000, "{offset}");
    assert!(status.counters.control_field_mismatch > 0);
    assert!(status.error_bound_ns.unwrap() < 1_000.0);
    let events = events(&mut receiver);
    assert!(events.iter().any(
        |e| matches!(e, ReceiverEvent::MastershipStarted { identity, .. } if *identity == GM)
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, ReceiverEvent::MappingUpdated { .. })));
}

#[test]
fn other_addresses_are_ignored_and_counted_and_peer_lists_replace() {
    let mut receiver = receiver();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 10, 248);
    run(&mut receiver, &mut gm, 9, 0, 1_000);
    assert!(receiver.grandmaster().is_none());
    assert!(receiver.counters().not_a_peer >= 16);
    run(&mut receiver, &mut gm, 1, 1_000, 1_000);
    assert_eq!(receiver.grandmaster().unwrap().identity, GM);
    // The sender leaves the peer list: nothing is followed any more.
    events(&mut receiver);
    receiver.set_timing_peers(at(2_000), [2, 3]);
    assert!(receiver.grandmaster().is_none());
    assert_eq!(receiver.state(), PortState::Listening);
    assert!(
        events(&mut receiver).contains(&ReceiverEvent::GrandmasterChanged { grandmaster: None })
    );
    // Garbage from a peer is counted, never a panic.
    receiver.handle_datagram(
        at(2_001),
        &[0x1b, 0x02, 0x00],
        2,
        PortKind::General,
        at(2_001),
    );
    assert_eq!(receiver.counters().malformed, 1);
}

#[test]
fn the_peers_elect_the_grandmaster_and_a_switch_restarts_the_mapping() {
    let mut receiver = receiver();
    receiver.set_timing_peers(at(0), [1, 2]);
    let mut phone = Apple::new(OTHER, 50, 248);
    let mut homepod = Apple::new(GM, -70, 239);
    for t in (0..3_000).step_by(125) {
        for (gm, peer) in [(&mut phone, 1), (&mut homepod, 2)] {
            if t % 250 == 0 {
                receiver.handle_datagram(at(t), &gm.announce(), peer, PortKind::General, at(t));
            }
            let (sync, follow_up) = gm.sync_follow_up(at(t));
            receiver.handle_datagram(at(t), &sync, peer, PortKind::Event, at(t));
            receiver.handle_datagram(at(t), &follow_up, peer, PortKind::General, at(t));
        }
        receiver.handle_timeout(at(t));
    }
    // priority2 239 beats 248: the HomePod, not the phone.
    assert_eq!(receiver.grandmaster().unwrap().identity, GM);
    assert!(receiver.counters().not_from_grandmaster > 0);
    let offset = receiver.status(at(3_000)).offset_ns.unwrap();
    assert!((offset + 70_000_000).abs() < 1_000, "{offset}");
    events(&mut receiver);
    // The HomePod goes silent: after its announce timeout the phone is followed.
    run(&mut receiver, &mut phone, 1, 3_000, 4_000);
    assert_eq!(receiver.grandmaster().unwrap().identity, OTHER);
    let offset = receiver.status(at(7_000)).offset_ns.unwrap();
    // One way: the 1 ms path delay of `run` is inside the offset.
    assert!((offset - 49_000_000).abs() < 1_000, "{offset}");
    let events = events(&mut receiver);
    assert!(events.iter().any(|e| matches!(e, ReceiverEvent::GrandmasterChanged { grandmaster: Some(g) } if g.identity == OTHER)));
}

/// `gm` from peer 1, every 125 ms from `from` to `to` (ms), its clock stopped at `frozen`
/// (the offset it had at 1 s): every Follow_Up carries the same preciseOriginTimestamp.
fn stalled_traffic(
    receiver: &mut AirplayReceiver<u8>,
    gm: &mut Apple,
    frozen: TimeDelta,
    from: u64,
    to: u64,
) {
    for t in (from..to).step_by(125) {
        gm.offset = frozen - TimeDelta::from_millis(t as i64 - 1_000);
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        }
        receiver.handle_datagram(at(t), &sync, 1, PortKind::Event, at(t));
        receiver.handle_datagram(at(t), &follow_up, 1, PortKind::General, at(t));
        receiver.handle_timeout(at(t));
    }
}

#[test]
fn a_stalled_grandmaster_is_woken_with_announces() {
    let (mut receiver, mut gm) = following(0, 1_000);
    events(&mut receiver);
    // The clock stops: every Follow_Up carries the same preciseOriginTimestamp.
    let frozen = gm.offset;
    stalled_traffic(&mut receiver, &mut gm, frozen, 1_000, 4_000);
    let status = receiver.status(at(4_000));
    assert!(status.stalled);
    assert!(status.counters.stalled_follow_ups > 16);
    let stalled = events(&mut receiver);
    assert!(stalled.iter().any(
        |e| matches!(e, ReceiverEvent::GrandmasterStalled { identity, .. } if *identity == GM)
    ));
    let wake = receiver.poll_transmit(at(4_000)).unwrap();
    assert_eq!(wake.destination, Destination::Unicast(1));
    assert_eq!(wake.port, PortKind::General);
    assert!(matches!(
        Message::parse(&wake.bytes).unwrap().body,
        Body::Announce(_)
    ));
    assert!(status.counters.wake_announces >= 1);
    // It runs again, 7 ms ahead of where it stopped: the mapping restarts on its first
    // Sync exchange instead of judging it against the old one.
    gm.offset = TimeDelta::from_millis(7);
    run(&mut receiver, &mut gm, 1, 4_000, 125);
    let status = receiver.status(at(4_006));
    assert!(!status.stalled);
    // One way: the 1 ms path delay of `run` is inside the offset.
    let offset = status.offset_ns.unwrap();
    assert!((offset - 6_000_000).abs() < 1_000, "{offset}");
    assert_eq!(status.counters.measurement_restarts, 1);
    let resumed = events(&mut receiver);
    assert!(resumed.contains(&ReceiverEvent::GrandmasterResumed { identity: GM }));
    assert!(resumed
        .iter()
        .any(|e| matches!(e, ReceiverEvent::MeasurementRestarted { .. })));
    assert!(!resumed
        .iter()
        .any(|e| matches!(e, ReceiverEvent::GrandmasterChanged { .. })));
}

#[test]
fn restart_measurement_keeps_the_grandmaster_and_relocks_at_the_next_sync() {
    let mut restarted = receiver();
    let mut kept = receiver();
    let mut gm = Apple::new(GM, 2_500, 248);
    for receiver in [&mut restarted, &mut kept] {
        receiver.set_timing_peers(at(0), [1]);
        gm.sequence_id = 0;
        run(receiver, &mut gm, 1, 0, 5_000);
        events(receiver);
    }
    let before = restarted.grandmaster().unwrap();
    // The grandmaster's clock stepped 3 ms back during a pause (one way, a fall is held
    // back as possible queueing); playing begins again.
    gm.offset -= TimeDelta::from_millis(3);
    restarted.restart_measurement(at(5_000));
    assert!(restarted.mapping().is_none());
    assert_eq!(restarted.state(), PortState::Uncalibrated);
    assert_eq!(restarted.timing_peers(), &[1]);
    // One Sync exchange and no Announce: locked at once on the new offset.
    let (sync, follow_up) = gm.sync_follow_up(at(5_000));
    let arrival = at(5_001);
    for receiver in [&mut restarted, &mut kept] {
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
    }
    let offset = restarted.status(arrival).offset_ns.unwrap();
    assert!((offset - 2_496_000_000).abs() < 1_000, "{offset}");
    // Without the restart, the stale state still holds the old offset.
    let stale = kept.status(arrival).offset_ns.unwrap();
    assert!((stale - 2_499_000_000).abs() < 1_000, "{stale}");
    assert_eq!(restarted.grandmaster(), Some(before));
    let events = events(&mut restarted);
    assert!(!events
        .iter()
        .any(|e| matches!(e, ReceiverEvent::GrandmasterChanged { .. })));
    assert!(events.contains(&ReceiverEvent::MeasurementRestarted { at: at(5_000) }));
    assert_eq!(restarted.counters().measurement_restarts, 1);
}

#[test]
fn delay_resp_is_matched_by_sequence_and_requesting_port_not_port_number() {
    let config = ReceiverConfig::new(ME);
    let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 1_000, 248);
    let delay = TimeDelta::from_micros(300);
    for t in (0..4_000).step_by(125) {
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        }
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + delay;
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
        while let Some(transmit) = receiver.poll_transmit(arrival) {
            let request = Message::parse(&transmit.bytes).unwrap();
            let Body::DelayReq { .. } = request.body else {
                panic!("{request:?}")
            };
            let sent = arrival + TimeDelta::from_micros(10);
            receiver.handle_transmit_timestamp(sent, transmit.timestamp_token.unwrap(), sent);
            let (secs, nanos) = (sent + delay + gm.offset).to_secs_nanos().unwrap();
            // A HomePod mini: another port number, controlField 0.
            let mut response = Message::delay_resp(
                PortIdentity::new(GM, 0x8009),
                request.header.sequence_id,
                Timestamp::new(secs, nanos).unwrap(),
                request.header.source_port_identity,
            )
            .with_flags(Flags(0x0608));
            response.header.control_field = 0;
            let mut bytes = vec![0; response.buffer_len()];
            response.emit(&mut bytes).unwrap();
            // Another receiver's answer first: not ours.
            let mut foreign = response;
            foreign.body = Body::DelayResp {
                receive_timestamp: Timestamp::new(secs, nanos).unwrap(),
                requesting_port_identity: PortIdentity::new(OTHER, 1),
            };
            let mut foreign_bytes = vec![0; foreign.buffer_len()];
            foreign.emit(&mut foreign_bytes).unwrap();
            let back = sent + delay + delay;
            receiver.handle_datagram(back, &foreign_bytes, 1, PortKind::General, back);
            receiver.handle_datagram(back, &bytes, 1, PortKind::General, back);
        }
        receiver.handle_timeout(at(t + 1));
    }
    let status = receiver.status(at(4_000));
    assert!(status.two_way);
    assert_eq!(
        status.path_delay_ns.map(|d| (d - 300_000).abs() < 100),
        Some(true),
        "{status:?}"
    );
    // Two way: the path delay is out of the offset.
    assert!(
        (status.offset_ns.unwrap() - 1_000_000_000).abs() < 1_000,
        "{status:?}"
    );
    assert!(status.counters.unmatched > 0);
    assert!(status.counters.delay_responses > 16);
}

#[test]
fn pending_delay_requests_stay_within_their_configured_capacity() {
    // The grandmaster never answers and no transmit timestamp comes back: every Delay_Req
    // stays pending until the oldest is forgotten.
    for capacity in [1, 2, 5] {
        let config = ReceiverConfig {
            pending_delay_requests: capacity,
            delay_request_timeout_ns: 60_000_000_000,
            ..ReceiverConfig::new(ME)
        };
        let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
        receiver.set_timing_peers(at(0), [1]);
        let mut gm = Apple::new(GM, 1_000, 248);
        let mut most = 0;
        for t in (0..3_000).step_by(125) {
            if t % 250 == 0 {
                receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
            }
            let (sync, follow_up) = gm.sync_follow_up(at(t));
            receiver.handle_datagram(at(t), &sync, 1, PortKind::Event, at(t));
            receiver.handle_datagram(at(t), &follow_up, 1, PortKind::General, at(t));
            while receiver.poll_transmit(at(t)).is_some() {}
            most = most.max(receiver.pending_delay_request_len());
        }
        assert_eq!(most, capacity);
        // Every Delay_Req beyond the capacity forgot the oldest, and was counted.
        let forgotten = receiver.status(at(3_000)).counters.pending_table_full;
        assert!(forgotten > 0, "capacity {capacity}: nothing counted");
        assert_eq!(receiver.announcer_len(), 1);
        assert!(receiver.pending_sync_len() <= receiver.config().pending_syncs);
    }
    let zero = ReceiverConfig {
        pending_delay_requests: 0,
        ..ReceiverConfig::new(ME)
    };
    assert_eq!(
        zero.validate(),
        Err(ReceiverConfigError::Zero("pending_delay_requests"))
    );
}

#[test]
fn a_full_event_queue_drops_the_oldest_and_counts_them() {
    for capacity in [1, 3, 7] {
        let config = ReceiverConfig {
            event_queue: capacity,
            ..ReceiverConfig::new(ME)
        };
        let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
        // Each restart queues one MeasurementRestarted, told apart by its instant.
        let pushed = 10;
        for ms in 0..pushed {
            receiver.restart_measurement(at(ms));
        }
        assert_eq!(receiver.event_queue_len(), capacity);
        let lost = pushed - capacity as u64;
        assert_eq!(receiver.counters().events_lost, lost, "capacity {capacity}");
        let kept: Vec<_> = (lost..pushed)
            .map(|ms| ReceiverEvent::MeasurementRestarted { at: at(ms) })
            .collect();
        assert_eq!(events(&mut receiver), kept, "capacity {capacity}");
        // Drained, the queue takes events again without losing more.
        receiver.restart_measurement(at(pushed));
        assert_eq!(receiver.counters().events_lost, lost);
        assert_eq!(
            receiver.status(at(pushed)).counters.events_lost,
            lost,
            "status carries the counter"
        );
    }
    let default = ReceiverConfig::new(ME);
    assert_eq!(
        default.event_queue,
        AirplayReceiver::<u8>::EVENT_QUEUE_CAPACITY
    );
    let zero = ReceiverConfig {
        event_queue: 0,
        ..default
    };
    assert_eq!(
        zero.validate(),
        Err(ReceiverConfigError::Zero("event_queue"))
    );
}

/// Runs a grandmaster 50 ppm fast that answers every Delay_Req (300 µs each way) for 30 s
/// of 8 Hz Syncs, with the estimator's capacities `points` and `bins`; the receiver's state
/// and the rate of its mapping at the end.
/// Sends the receiver's Delay_Req polled at `now` (timestamped `sent`) to `gm` from peer 1,
/// whose clock reads local + `offset`, and hands back its Delay_Resp, `delay` each way.
fn answer_delay_requests(
    receiver: &mut AirplayReceiver<u8>,
    gm: &Apple,
    now: Time,
    sent: Time,
    delay: TimeDelta,
    offset: TimeDelta,
) {
    while let Some(transmit) = receiver.poll_transmit(now) {
        let request = Message::parse(&transmit.bytes).unwrap();
        receiver.handle_transmit_timestamp(sent, transmit.timestamp_token.unwrap(), sent);
        let (secs, nanos) = (sent + delay + offset).to_secs_nanos().unwrap();
        let response = Message::delay_resp(
            gm.port,
            request.header.sequence_id,
            Timestamp::new(secs, nanos).unwrap(),
            request.header.source_port_identity,
        );
        let mut bytes = vec![0; response.buffer_len()];
        response.emit(&mut bytes).unwrap();
        let back = sent + delay + delay;
        receiver.handle_datagram(back, &bytes, 1, PortKind::General, back);
    }
}

fn two_way_against_a_fast_grandmaster(points: usize, bins: usize) -> (PortState, f64) {
    let config = ReceiverConfig {
        estimator_points: points,
        estimator_bins: bins,
        ..ReceiverConfig::new(ME)
    };
    let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 1_000, 248);
    let delay = TimeDelta::from_micros(300);
    let offset_at = |ms: u64| TimeDelta::from_millis(1_000) + TimeDelta::from_nanos(ms as i64 * 50);
    for t in (0..30_000).step_by(125) {
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        }
        gm.offset = offset_at(t);
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + delay;
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
        let sent = arrival + TimeDelta::from_micros(10);
        answer_delay_requests(&mut receiver, &gm, arrival, sent, delay, offset_at(t));
        receiver.handle_timeout(at(t + 1));
        events(&mut receiver);
    }
    let status = receiver.status(at(30_000));
    assert!(status.two_way, "{status:?}");
    (status.state, status.rate_ppb.unwrap())
}

#[test]
fn the_estimator_holds_the_configured_points_and_bins() {
    // 8 exchanges at 8 Hz span 0.875 s, less than the 1 s a rate fit needs, and one bin
    // spans nothing: the mapping locks on the offset but never finds the 50 ppm.
    let (state, rate_ppb) = two_way_against_a_fast_grandmaster(8, 1);
    assert_eq!((state, rate_ppb), (PortState::Slave, 0.0));
    // 16 exchanges (1.875 s), or 16 one-second bins, are enough.
    for (points, bins) in [(16, 1), (8, 16), (512, 256)] {
        let (state, rate_ppb) = two_way_against_a_fast_grandmaster(points, bins);
        assert_eq!(state, PortState::Slave);
        assert!(
            (rate_ppb - 50_000.0).abs() < 50.0,
            "{points} points, {bins} bins: {rate_ppb} ppb"
        );
    }
    let default = ReceiverConfig::new(ME);
    assert_eq!(
        (default.estimator_points, default.estimator_bins),
        (LuckyRegression::MAX_POINTS, LuckyRegression::MAX_BINS)
    );
    for (config, error) in [
        (
            ReceiverConfig {
                estimator_points: 0,
                ..default.clone()
            },
            ReceiverConfigError::Zero("estimator_points"),
        ),
        (
            ReceiverConfig {
                estimator_bins: 0,
                ..default.clone()
            },
            ReceiverConfigError::Zero("estimator_bins"),
        ),
        (
            ReceiverConfig {
                estimator_points: LuckyRegression::MAX_POINTS + 1,
                ..default.clone()
            },
            ReceiverConfigError::TooLarge {
                name: "estimator_points",
                value: LuckyRegression::MAX_POINTS + 1,
                max: LuckyRegression::MAX_POINTS,
            },
        ),
        (
            ReceiverConfig {
                estimator_bins: LuckyRegression::MAX_BINS + 1,
                ..default.clone()
            },
            ReceiverConfigError::TooLarge {
                name: "estimator_bins",
                value: LuckyRegression::MAX_BINS + 1,
                max: LuckyRegression::MAX_BINS,
            },
        ),
    ] {
        assert_eq!(config.validate(), Err(error.clone()));
        assert_eq!(AirplayReceiver::<u8>::new(config, at(0)).err(), Some(error));
    }
}

#[test]
fn an_exchange_leaving_as_its_sync_completes_is_measured() {
    // The Follow_Up arrives first and the Sync completes the pair; the Delay_Req it triggers
    // is timestamped at that same instant (a coarse clock, or a simulator with no processing
    // time). The pair is in order (the Sync did not arrive after the Delay_Req left), so
    // every exchange must become a measurement: with `t2 >= t3` taken for out of order,
    // half of the simulators' exchanges were dropped.
    let mut receiver: AirplayReceiver<u8> =
        AirplayReceiver::new(ReceiverConfig::new(ME), at(0)).unwrap();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 1_000, 248);
    let delay = TimeDelta::from_micros(300);
    let rounds = 80;
    for t in (0..rounds * 125).step_by(125) {
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        }
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + delay;
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        answer_delay_requests(&mut receiver, &gm, arrival, arrival, delay, gm.offset);
        receiver.handle_timeout(at(t + 1));
        events(&mut receiver);
    }
    let status = receiver.status(at(rounds * 125));
    assert!(status.two_way, "{status:?}");
    // One way until the first exchange completes, then one measurement per Sync.
    assert!(
        status.counters.measurements >= rounds - 2,
        "{:?}",
        status.counters
    );
}

/// Runs only the receiver's timers, every 125 ms from `start` for `ms`: a silence.
fn silence(receiver: &mut AirplayReceiver<u8>, start: u64, ms: u64) {
    for t in (start..start + ms).step_by(125) {
        receiver.handle_timeout(at(t));
    }
}

#[test]
fn a_grandmaster_back_from_a_dropout_is_resumed_with_what_was_measured() {
    let (mut receiver, mut gm) = following(2_500, 10_000);
    events(&mut receiver);
    let before = receiver.grandmaster().unwrap();
    let mapping = receiver.mapping().unwrap();
    let accepted = receiver.counters().accepted_measurements;
    // Five seconds of nothing: the Announces time out (after 2 s) and no grandmaster is
    // followed, but what was measured of it is held.
    silence(&mut receiver, 10_000, 5_000);
    assert_eq!(receiver.grandmaster(), None);
    assert_eq!(receiver.state(), PortState::Listening);
    assert_eq!(receiver.mapping(), Some(mapping));
    let status = receiver.status(at(15_000));
    assert_eq!(status.held_grandmaster, Some(before));
    assert_eq!(status.mapping, Some(mapping));
    assert_eq!(
        status.offset_ns, None,
        "no offset without a grandmaster followed"
    );
    let lost = events(&mut receiver);
    assert!(lost.contains(&ReceiverEvent::GrandmasterChanged { grandmaster: None }));
    assert!(!lost
        .iter()
        .any(|e| matches!(e, ReceiverEvent::HoldoverEnded { .. })));
    // Back: followed again at its first Announce, in the same mastership, the mapping kept
    // (no `MappingUpdated` until a measurement moves it).
    let now = at(15_000);
    receiver.handle_datagram(now, &gm.announce(), 1, PortKind::General, now);
    assert_eq!(receiver.grandmaster(), Some(before));
    assert_eq!(receiver.mapping(), Some(mapping));
    assert_eq!(receiver.status(now).held_grandmaster, None);
    let back = events(&mut receiver);
    assert!(back.contains(&ReceiverEvent::GrandmasterChanged {
        grandmaster: Some(before)
    }));
    assert!(!back
        .iter()
        .any(|e| matches!(e, ReceiverEvent::MappingUpdated { .. })));
    // The next Syncs go on from the estimator's history: `slave` at the first one, no
    // restart, and the offset where it was.
    run(&mut receiver, &mut gm, 1, 15_000, 1_000);
    assert_eq!(receiver.state(), PortState::Slave);
    assert_eq!(receiver.counters().measurement_restarts, 0);
    assert!(receiver.counters().accepted_measurements > accepted);
    let offset = receiver.status(at(16_000)).offset_ns.unwrap();
    assert!((offset - 2_499_000_000).abs() < 1_000, "{offset}");
    assert_eq!(
        receiver.grandmaster().unwrap().mastership_start,
        before.mastership_start
    );
}

#[test]
fn a_held_grandmaster_not_back_within_the_holdover_is_forgotten() {
    for holdover_s in [5, 0] {
        let config = ReceiverConfig {
            delay_requests: false,
            grandmaster_holdover_ns: holdover_s * 1_000_000_000,
            ..ReceiverConfig::new(ME)
        };
        let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
        receiver.set_timing_peers(at(0), [1]);
        let mut gm = Apple::new(GM, 2_500, 248);
        run(&mut receiver, &mut gm, 1, 0, 5_000);
        // The last Follow_Up came at 4 881 ms (each keeps the grandmaster valid, as its
        // Announces do): lost 2 s later, at the first timer run after, and held
        // `holdover_s` more.
        let mut t = 5_000;
        while receiver.grandmaster().is_some() {
            receiver.handle_timeout(at(t));
            t += 125;
        }
        let lost_at = at(t - 125);
        assert_eq!(t - 125, 7_000);
        if holdover_s == 0 {
            assert_eq!(receiver.mapping(), None, "nothing is held");
            continue;
        }
        assert!(receiver.mapping().is_some());
        let end = lost_at + TimeDelta::from_secs(5);
        assert_eq!(receiver.poll_timeout(), Some(end));
        events(&mut receiver);
        receiver.handle_timeout(end);
        assert_eq!(receiver.mapping(), None);
        assert_eq!(
            events(&mut receiver),
            [ReceiverEvent::HoldoverEnded {
                identity: GM,
                at: end
            }]
        );
        assert_eq!(receiver.poll_timeout(), None);
        // Back after the hold: a fresh lock, in a new mastership.
        run(&mut receiver, &mut gm, 1, 12_000, 2_000);
        let grandmaster = receiver.grandmaster().unwrap();
        assert!(grandmaster.mastership_start.unwrap() >= at(12_000));
        assert_eq!(receiver.state(), PortState::Slave);
    }
}

#[test]
fn a_two_way_grandmaster_back_from_a_dropout_is_still_measured_two_way() {
    let mut receiver: AirplayReceiver<u8> =
        AirplayReceiver::new(ReceiverConfig::new(ME), at(0)).unwrap();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 1_000, 248);
    let delay = TimeDelta::from_micros(300);
    let mut seen = Vec::new();
    for t in (0..20_000).step_by(125) {
        // Five seconds of silence, longer than the two-way timeout (4 s).
        if (10_000..15_000).contains(&t) {
            receiver.handle_timeout(at(t));
            seen.extend(events(&mut receiver));
            continue;
        }
        if t % 250 == 0 {
            receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        }
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + delay;
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
        let sent = arrival + TimeDelta::from_micros(10);
        // The last Delay_Resp before the silence and the first two after it are lost too.
        if [9_875, 15_000, 15_125].contains(&t) {
            while receiver.poll_transmit(arrival).is_some() {}
        } else {
            answer_delay_requests(&mut receiver, &gm, arrival, sent, delay, gm.offset);
        }
        receiver.handle_timeout(at(t + 1));
        seen.extend(events(&mut receiver));
    }
    let status = receiver.status(at(20_000));
    assert!(status.two_way, "{status:?}");
    assert_eq!(status.state, PortState::Slave);
    // Two way from the first exchange on, and the silence changed nothing: not taken for a
    // grandmaster that stopped answering Delay_Req (three unanswered, but around a silence
    // of everything), nor for a new one.
    let switches: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, ReceiverEvent::DelayMeasurementChanged { .. }))
        .collect();
    assert_eq!(switches.len(), 1, "{switches:?}");
    assert!(seen.contains(&ReceiverEvent::GrandmasterChanged { grandmaster: None }));
    // The path delay is out of the offset.
    let offset = status.offset_ns.unwrap();
    assert!((offset - 1_000_000_000).abs() < 1_000, "{offset}");
}

#[test]
fn a_grandmaster_dropped_from_the_peer_list_is_not_held() {
    // Only silence holds: a grandmaster whose peer the application removed is forgotten at
    // once, and one elected instead of a held grandmaster ends the hold.
    let mut receiver = receiver();
    receiver.set_timing_peers(at(0), [1, 2]);
    let mut gm = Apple::new(GM, 2_500, 248);
    run(&mut receiver, &mut gm, 1, 0, 3_000);
    receiver.set_timing_peers(at(3_000), [2]);
    assert_eq!(receiver.grandmaster(), None);
    assert_eq!(receiver.mapping(), None);
    assert_eq!(receiver.status(at(3_000)).held_grandmaster, None);

    let mut receiver = receiver_with_peers();
    let mut other = Apple::new(OTHER, 40, 248);
    run(&mut receiver, &mut gm, 1, 0, 3_000);
    silence(&mut receiver, 3_000, 3_000);
    assert!(receiver.status(at(6_000)).held_grandmaster.is_some());
    events(&mut receiver);
    run(&mut receiver, &mut other, 2, 6_000, 1_000);
    assert_eq!(receiver.grandmaster().unwrap().identity, OTHER);
    let switched = events(&mut receiver);
    assert!(
        switched.contains(&ReceiverEvent::HoldoverEnded {
            identity: GM,
            at: at(6_000)
        }),
        "{switched:?}"
    );
    let offset = receiver.status(at(7_000)).offset_ns.unwrap();
    assert!((offset - 39_000_000).abs() < 1_000, "{offset}");

    // A held grandmaster whose peer is removed is forgotten at once too.
    let mut receiver = receiver_with_peers();
    run(&mut receiver, &mut gm, 1, 0, 3_000);
    silence(&mut receiver, 3_000, 3_000);
    assert!(receiver.mapping().is_some());
    events(&mut receiver);
    receiver.set_timing_peers(at(6_000), []);
    assert_eq!(receiver.mapping(), None);
    assert_eq!(receiver.status(at(6_000)).held_grandmaster, None);
    assert_eq!(
        events(&mut receiver),
        [ReceiverEvent::HoldoverEnded {
            identity: GM,
            at: at(6_000)
        }]
    );
}

fn receiver_with_peers() -> AirplayReceiver<u8> {
    let mut receiver = receiver();
    receiver.set_timing_peers(at(0), [1, 2]);
    receiver
}

#[test]
fn a_stalled_grandmaster_back_from_a_dropout_is_woken_again() {
    let (mut receiver, mut gm) = following(0, 1_000);
    // Stalled from 1 s (every Follow_Up the same preciseOriginTimestamp), silent from 4 s
    // to 8 s, then back and still stalled.
    let frozen = gm.offset;
    stalled_traffic(&mut receiver, &mut gm, frozen, 1_000, 4_000);
    assert!(receiver.status(at(4_000)).stalled);
    silence(&mut receiver, 4_000, 4_000);
    assert!(receiver.status(at(8_000)).held_grandmaster.is_some());
    while receiver.poll_transmit(at(8_000)).is_some() {}
    let woken = receiver.counters().wake_announces;
    stalled_traffic(&mut receiver, &mut gm, frozen, 8_000, 9_000);
    assert!(receiver.grandmaster().is_some());
    assert!(receiver.status(at(9_000)).stalled);
    assert!(receiver.counters().wake_announces > woken);
}

#[test]
fn a_slow_grandmaster_that_stops_answering_is_measured_one_way() {
    // Syncs (and Announces) every 5 s, longer than the two-way timeout: each gap is not a
    // dropout, and a grandmaster that stops answering Delay_Req must still be noticed,
    // after three unanswered ones.
    let config = ReceiverConfig {
        min_announce_timeout_ns: 20_000_000_000,
        ..ReceiverConfig::new(ME)
    };
    let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(config, at(0)).unwrap();
    receiver.set_timing_peers(at(0), [1]);
    let mut gm = Apple::new(GM, 1_000, 248);
    let delay = TimeDelta::from_micros(300);
    for (n, t) in (0..60_000).step_by(5_000).enumerate() {
        receiver.handle_datagram(at(t), &gm.announce(), 1, PortKind::General, at(t));
        let (sync, follow_up) = gm.sync_follow_up(at(t));
        let arrival = at(t) + delay;
        receiver.handle_datagram(arrival, &sync, 1, PortKind::Event, arrival);
        receiver.handle_datagram(arrival, &follow_up, 1, PortKind::General, arrival);
        let sent = arrival + TimeDelta::from_micros(10);
        if n < 6 {
            answer_delay_requests(&mut receiver, &gm, arrival, sent, delay, gm.offset);
            assert!(receiver.status(arrival).two_way, "{n}");
        } else {
            while receiver.poll_transmit(arrival).is_some() {}
        }
        receiver.handle_timeout(at(t + 1));
    }
    // Answered up to 25 s; unanswered at 30, 35 and 40 s; one way from the Sync at 45 s,
    // for good.
    assert!(!receiver.status(at(60_000)).two_way);
    let switches: Vec<_> = events(&mut receiver)
        .into_iter()
        .filter(|e| matches!(e, ReceiverEvent::DelayMeasurementChanged { .. }))
        .collect();
    assert_eq!(
        switches,
        [
            ReceiverEvent::DelayMeasurementChanged { two_way: true },
            ReceiverEvent::DelayMeasurementChanged { two_way: false }
        ]
    );
}
