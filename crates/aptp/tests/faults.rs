//! Faults in the deterministic simulator, one test per fault of issue #17: each asserts that
//! the follower re-locks within a bound, that an event says what happened, and prints its
//! re-lock time as a row of the README's "Faults" table (`cargo test -p aptp --test faults
//! -- --nocapture`).
//!
//! The PTP faults run on [`aptp::engine::sim`]: a master (priority1 1) and a slaveOnly slave
//! whose clock is 3 ms ahead and 20 ppm fast, linuxptp's default intervals (Sync and
//! Delay_Req 1 Hz, Announce every 2 s, announceReceiptTimeout 3), 50 µs ± 20 µs each way.
//! Locked: SLAVE with |time error| (the slave's mapping of its clock against the master's
//! clock) below [`LOCKED_NS`]. The re-lock time is from the end of the fault until the
//! slave is locked and stays locked for [`STAY_LOCKED_S`] seconds.
//!
//! The AirPlay fault runs two [`AirplaySender`]s and an [`AirplayReceiver`] in a small
//! virtual-time loop of its own (1 ms ticks, 500 µs each way).

use aptp::airplay::{AirplayReceiver, AirplaySender, ReceiverConfig, ReceiverEvent, SenderConfig};
use aptp::engine::sim::{LinkModel, NodeId, Sim, SimClock};
use aptp::engine::{Config, Event, PortKind, PortState};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::ClockIdentity;

/// |time error| below this (ns) counts as locked.
const LOCKED_NS: i64 = 10_000;
/// Locked for this long (s) counts as re-locked.
const STAY_LOCKED_S: u64 = 5;
/// The grain of the re-lock measurement (ns).
const TICK_NS: i128 = 100_000_000;
const MASTER: NodeId = 0;
const SLAVE: NodeId = 1;

fn master_config() -> Config {
    Config {
        priority1: 1,
        ..Config::default()
    }
}

fn slave_config() -> Config {
    Config {
        slave_only: true,
        ..Config::default()
    }
}

fn link() -> LinkModel {
    LinkModel {
        delay_ns: 50_000,
        jitter_ns: 20_000,
        ..LinkModel::default()
    }
}

/// A master and a slave, run until the slave has been locked for a while.
fn locked_pair(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, link());
    sim.add_node(master_config(), SimClock::default());
    sim.add_node(
        slave_config(),
        SimClock {
            offset_ns: 3_000_000,
            rate_ppb: 20_000,
        },
    );
    sim.run_for_secs(60);
    assert!(
        locked(&sim),
        "not locked before the fault: {:?}",
        sim.states(SLAVE)
    );
    sim
}

fn locked(sim: &Sim) -> bool {
    sim.engine(SLAVE).state() == PortState::Slave
        && sim
            .time_error_ns(SLAVE, MASTER)
            .is_some_and(|e| e.abs() < LOCKED_NS)
}

/// Runs on from the end of a fault until the slave, having measured a Sync sent since, has stayed
/// locked for `STAY_LOCKED_S`; returns how long after the fault's end it locked for good
/// (ns). Fails beyond `bound_s`.
fn relock_ns(sim: &mut Sim, bound_s: u64, fault: &str) -> i128 {
    let start = sim.elapsed_ns();
    // A measurement of a Sync the master sent after the fault's end.
    let master_then = sim.local_now(MASTER);
    let measured = |sim: &Sim| {
        sim.events(SLAVE).any(|(at, e)| {
            at >= start && matches!(e, Event::Measurement(m) if m.accepted && m.t1 > master_then)
        })
    };
    let stay = i128::from(STAY_LOCKED_S) * 1_000_000_000;
    let mut locked_since: Option<i128> = None;
    loop {
        let at = sim.elapsed_ns() - start;
        if locked(sim) && measured(sim) {
            let since = *locked_since.get_or_insert(at);
            if at - since >= stay {
                return since;
            }
        } else {
            locked_since = None;
        }
        assert!(
            locked_since.unwrap_or(at) <= i128::from(bound_s) * 1_000_000_000,
            "{fault}: not re-locked within {bound_s} s (state {:?}, error {:?} ns)",
            sim.engine(SLAVE).state(),
            sim.time_error_ns(SLAVE, MASTER)
        );
        sim.run_for_ns(TICK_NS);
    }
}

/// The slave's events since true time `since_ns` (ns since the simulation's start).
fn events_since(sim: &Sim, since_ns: i128) -> Vec<Event<NodeId>> {
    sim.events(SLAVE)
        .filter(|(at, _)| *at >= since_ns)
        .map(|(_, e)| e.clone())
        .collect()
}

fn row(fault: &str, event: &str, relock_ns: i128) {
    println!(
        "FAULT | {fault} | {event} | {:.1} s |",
        relock_ns as f64 / 1e9
    );
}

fn lost_master_then_found_it_again(events: &[Event<NodeId>]) -> bool {
    let lost = events.iter().position(|e| {
        matches!(
            e,
            Event::StateChanged {
                from: PortState::Slave,
                to: PortState::Listening,
                ..
            }
        )
    });
    let found = events.iter().rposition(|e| {
        matches!(e, Event::MasterChanged { master: Some(m) }
            if m.grandmaster_identity == Sim::clock_identity(MASTER))
    });
    matches!((lost, found), (Some(l), Some(f)) if l < f)
}

#[test]
fn master_process_restarted() {
    let mut sim = locked_pair(1);
    let at = sim.elapsed_ns();
    // Same clock identity, sequenceIds from 0 again, every table empty; it listens for an
    // announceReceiptTimeout before it is master again.
    sim.restart_node(MASTER, master_config());
    // The restarted master listens 6 s (announceReceiptTimeout) before it serves; the slave
    // must be locked again within a few Sync intervals of that: its estimator resumes and
    // the master's last Announce before the silence still counts towards qualification.
    let relock = relock_ns(&mut sim, 9, "master restarted");
    let events = events_since(&sim, at);
    assert!(
        lost_master_then_found_it_again(&events),
        "no loss and re-selection of the master: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::MasterRestarted { sequence_id, .. } if *sequence_id < 8)),
        "no MasterRestarted: {events:?}"
    );
    assert_eq!(sim.engine(MASTER).state(), PortState::Master);
    row(
        "master process restarted (same identity, sequenceIds from 0)",
        "`StateChanged` SLAVE→LISTENING, `MasterChanged` (same grandmaster), `MasterRestarted`",
        relock,
    );
}

#[test]
fn master_clock_stepped() {
    let mut sim = locked_pair(2);
    let at = sim.elapsed_ns();
    sim.step_clock(MASTER, 1_000_000_000);
    let relock = relock_ns(&mut sim, 30, "master stepped");
    let events = events_since(&sim, at);
    let step = events.iter().find_map(|e| match e {
        Event::StepDetected { step_ns } => Some(*step_ns),
        _ => None,
    });
    assert!(
        step.is_some_and(|s| (s - 1_000_000_000).abs() < 1_000_000),
        "no StepDetected of +1 s: {events:?}"
    );
    row(
        "master clock stepped by +1 s",
        "`StepDetected { step_ns: ≈1e9 }`",
        relock,
    );
}

#[test]
fn link_down_for_ten_seconds() {
    let mut sim = locked_pair(3);
    let at = sim.elapsed_ns();
    let down = LinkModel {
        loss_ppm: 1_000_000,
        ..link()
    };
    sim.set_link(MASTER, SLAVE, down);
    sim.set_link(SLAVE, MASTER, down);
    sim.run_for_secs(10);
    sim.set_link(MASTER, SLAVE, link());
    sim.set_link(SLAVE, MASTER, link());
    let relock = relock_ns(&mut sim, 30, "link down");
    let events = events_since(&sim, at);
    assert!(
        lost_master_then_found_it_again(&events),
        "no loss and re-selection of the master: {events:?}"
    );
    row(
        "link down for 10 s, then up",
        "`StateChanged` SLAVE→LISTENING (announce receipt timeout), `MasterChanged`",
        relock,
    );
}

#[test]
fn local_address_changed() {
    let mut sim = locked_pair(4);
    let at = sim.elapsed_ns();
    // The caller notices its address changed (netlink) and tells the engine: the exchanges
    // in flight to the old address are forgotten, the master kept.
    let now = sim.local_now(SLAVE);
    sim.engine_mut(SLAVE).restart_measurement(now);
    let relock = relock_ns(&mut sim, 15, "address changed");
    let events = events_since(&sim, at);
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::StateChanged {
                from: PortState::Slave,
                to: PortState::Uncalibrated,
                ..
            }
        )),
        "no SLAVE→UNCALIBRATED: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::MasterChanged { .. })),
        "the master must be kept: {events:?}"
    );
    row(
        "local address changed (engine told: `restart_measurement`)",
        "`StateChanged` SLAVE→UNCALIBRATED, master kept",
        relock,
    );
}

#[test]
fn process_suspended_for_five_seconds() {
    let mut sim = locked_pair(5);
    sim.set_frozen(SLAVE, true);
    sim.run_for_secs(5);
    let at = sim.elapsed_ns();
    // SIGCONT: five seconds of datagrams (with their arrival timestamps) in one burst, then
    // every overdue timer.
    sim.set_frozen(SLAVE, false);
    sim.run_for_ns(1);
    let burst = events_since(&sim, at)
        .iter()
        .filter(|e| matches!(e, Event::Measurement(_)))
        .count();
    let relock = relock_ns(&mut sim, 15, "suspended");
    let events = events_since(&sim, at);
    // The burst is measured (kernel receive timestamps keep it exact), and the port never
    // left SLAVE: five seconds is within the announce receipt timeout.
    assert!(burst >= 3, "the backlog was not measured: {events:?}");
    let late_ns = events.iter().find_map(|e| match e {
        Event::Stalled { late_ns } => Some(*late_ns),
        _ => None,
    });
    assert!(
        late_ns.is_some_and(|l| (4_000_000_000..=5_100_000_000).contains(&l)),
        "no Stalled of about 5 s: {events:?}"
    );
    assert_eq!(sim.engine(SLAVE).counters().stalls, 1);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::StateChanged { .. } | Event::StepDetected { .. })),
        "a 5 s stop must not unlock: {events:?}"
    );
    row(
        "process suspended for 5 s (SIGSTOP), resumed",
        &format!(
            "`Stalled {{ late_ns: {:.1} s }}`, {burst} `Measurement`s in one burst; stays SLAVE",
            late_ns.unwrap_or(0) as f64 / 1e9
        ),
        relock,
    );
}

#[test]
fn process_suspended_beyond_the_announce_receipt_timeout_keeps_its_live_master() {
    let mut sim = locked_pair(7);
    sim.set_frozen(SLAVE, true);
    sim.run_for_secs(9);
    let at = sim.elapsed_ns();
    // SIGCONT with a runtime that runs its overdue timers before reading its sockets: the
    // announce receipt timeout (6 s) expired during the stop, but the master's Announces
    // are waiting in the queue.
    sim.thaw_timers_first(SLAVE);
    let relock = relock_ns(&mut sim, 15, "suspended 9 s");
    let events = events_since(&sim, at);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Stalled { late_ns } if *late_ns > 2_000_000_000)),
        "no Stalled: {events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::StateChanged { .. } | Event::MasterChanged { .. })),
        "a stop must not give up a live master: {events:?}"
    );
    row(
        "process suspended 9 s (beyond the announce receipt timeout), timers run first",
        "`Stalled`; the expired announce receipt timeout gets a grace, stays SLAVE",
        relock,
    );
}

#[test]
fn realtime_clock_stepped_by_an_hour_while_following_in_monotonic_mode() {
    // Two identical runs; in the second, the host's CLOCK_REALTIME jumps an hour. The
    // engine only ever sees the monotonic timebase (local_timescale_is_utc false), so the
    // jump reaches only what the caller does with wall time (here: the event log's wall
    // stamps), never the engine: every event and the mapping must be identical.
    let run = |realtime_step_ns: i128| {
        let mut sim = locked_pair(6);
        let mut realtime_offset_ns: i128 = 1_700_000_000_000_000_000;
        let mut wall_log = Vec::new();
        for second in 0..60 {
            if second == 10 {
                realtime_offset_ns += realtime_step_ns;
            }
            sim.run_for_secs(1);
            wall_log.push(sim.elapsed_ns() + realtime_offset_ns);
        }
        let events: Vec<Event<NodeId>> = sim.events(SLAVE).map(|(_, e)| e.clone()).collect();
        (
            events,
            sim.engine(SLAVE).mapping(),
            sim.states(SLAVE),
            wall_log,
        )
    };
    let (plain_events, plain_mapping, plain_states, plain_wall) = run(0);
    let (events, mapping, states, wall) = run(3_600_000_000_000);
    assert_ne!(plain_wall, wall, "the realtime step happened");
    assert_eq!(events, plain_events);
    assert_eq!(mapping, plain_mapping);
    assert_eq!(states, plain_states);
    assert_eq!(*states.last().unwrap(), PortState::Slave);
    row(
        "CLOCK_REALTIME stepped by 1 h while following in monotonic mode",
        "none: events, states and mapping identical to an unstepped run",
        0,
    );
}

/// The AirPlay group: two senders (A, the better grandmaster, and B) serving one receiver.
struct Group {
    true_ns: i128,
    senders: [Option<AirplaySender<u8>>; 2],
    receiver: AirplayReceiver<u8>,
    /// (delivery true time, to, from, port, bytes); 0 and 1 are the senders, 2 the receiver.
    in_flight: Vec<(i128, u8, u8, PortKind, Vec<u8>)>,
    events: Vec<(i128, ReceiverEvent<u8>)>,
}

const RECEIVER: u8 = 2;
const ONE_WAY_NS: i128 = 500_000;
const GM_A: ClockIdentity = ClockIdentity([0xA1; 8]);
const GM_B: ClockIdentity = ClockIdentity([0xB2; 8]);

/// Sender `n`'s clock (its timescale): A 1000 s ahead of true time, B 2000 s, both exact.
fn sender_local(n: usize, true_ns: i128) -> Time {
    Time::from_nanos_i128(true_ns + (n as i128 + 1) * 1_000_000_000_000)
}

/// The receiver's clock: 30 ppm fast.
fn receiver_local(true_ns: i128) -> Time {
    Time::from_nanos_i128(5_000_000_000 + true_ns + true_ns * 30 / 1_000_000)
}

impl Group {
    fn new() -> Self {
        let sender = |n: usize, identity, priority1| {
            let config = SenderConfig {
                priority1,
                ..SenderConfig::new(identity)
            };
            let mut sender = AirplaySender::new(config, sender_local(n, 0)).unwrap();
            sender.set_peers([RECEIVER]);
            Some(sender)
        };
        let mut receiver = AirplayReceiver::new(
            ReceiverConfig::new(ClockIdentity([0x42; 8])),
            receiver_local(0),
        )
        .unwrap();
        receiver.set_timing_peers(receiver_local(0), [0, 1]);
        Group {
            true_ns: 0,
            senders: [sender(0, GM_A, 100), sender(1, GM_B, 248)],
            receiver,
            in_flight: Vec::new(),
            events: Vec::new(),
        }
    }

    fn run_for_ms(&mut self, ms: u64) {
        for _ in 0..ms {
            self.true_ns += 1_000_000;
            let now = self.true_ns;
            for (n, slot) in self.senders.iter_mut().enumerate() {
                let Some(sender) = slot else { continue };
                let local = sender_local(n, now);
                if sender.poll_timeout().is_some_and(|d| d <= local) {
                    sender.handle_timeout(local);
                }
                while let Some(transmit) = sender.poll_transmit(local) {
                    if let Some(token) = transmit.timestamp_token {
                        sender.handle_transmit_timestamp(local, token, local);
                    }
                    let to = RECEIVER;
                    self.in_flight.push((
                        now + ONE_WAY_NS,
                        to,
                        n as u8,
                        transmit.port,
                        transmit.bytes,
                    ));
                }
            }
            let local = receiver_local(now);
            let due: Vec<_> = self
                .in_flight
                .iter()
                .filter(|d| d.0 <= now)
                .cloned()
                .collect();
            self.in_flight.retain(|d| d.0 > now);
            for (at, to, from, port, bytes) in due {
                if to == RECEIVER {
                    let rx = receiver_local(at);
                    self.receiver.handle_datagram(local, &bytes, from, port, rx);
                } else if let Some(sender) = &mut self.senders[usize::from(to)] {
                    let rx = sender_local(usize::from(to), at);
                    sender.handle_datagram(rx, &bytes, RECEIVER, port, rx);
                }
            }
            if self.receiver.poll_timeout().is_some_and(|d| d <= local) {
                self.receiver.handle_timeout(local);
            }
            while let Some(transmit) = self.receiver.poll_transmit(local) {
                if let Some(token) = transmit.timestamp_token {
                    self.receiver.handle_transmit_timestamp(local, token, local);
                }
                if let aptp::engine::Destination::Unicast(to) = transmit.destination {
                    self.in_flight.push((
                        now + ONE_WAY_NS,
                        to,
                        RECEIVER,
                        transmit.port,
                        transmit.bytes,
                    ));
                }
            }
            while let Some(event) = self.receiver.poll_event() {
                self.events.push((now, event));
            }
        }
    }

    /// Locked to sender `n`: SLAVE, following it, mapping within 10 µs of its clock.
    fn locked_to(&self, n: usize, identity: ClockIdentity) -> bool {
        let following = self
            .receiver
            .grandmaster()
            .is_some_and(|gm| gm.identity == identity);
        let error = self.receiver.mapping().map(|m| {
            (m.to_remote(receiver_local(self.true_ns)) - sender_local(n, self.true_ns)).abs()
        });
        self.receiver.state() == PortState::Slave
            && following
            && error.is_some_and(|e| e < TimeDelta::from_micros(10))
    }
}

#[test]
fn grandmaster_leaves_an_airplay_group_and_another_peer_takes_over() {
    let mut group = Group::new();
    group.run_for_ms(30_000);
    assert!(
        group.locked_to(0, GM_A),
        "not locked to A: {:?}",
        group.receiver.status(receiver_local(group.true_ns))
    );
    // A's process leaves the group: it stops sending and answering.
    group.senders[0] = None;
    let left_at = group.true_ns;
    let bound_ms = 20_000;
    let stay_ms = STAY_LOCKED_S * 1_000;
    let mut locked_since: Option<i128> = None;
    let relock = loop {
        group.run_for_ms(100);
        let at = group.true_ns - left_at;
        if group.locked_to(1, GM_B) {
            let since = *locked_since.get_or_insert(at);
            if at - since >= i128::from(stay_ms) * 1_000_000 {
                break since;
            }
        } else {
            locked_since = None;
        }
        assert!(
            locked_since.unwrap_or(at) <= i128::from(bound_ms) * 1_000_000,
            "not re-locked to B within {bound_ms} ms: {:?}",
            group.receiver.status(receiver_local(group.true_ns))
        );
    };
    let changed = group.events.iter().any(|(at, e)| {
        *at >= left_at
            && matches!(e, ReceiverEvent::GrandmasterChanged { grandmaster: Some(gm) } if gm.identity == GM_B)
    });
    assert!(changed, "no GrandmasterChanged to B: {:?}", group.events);
    row(
        "AirPlay grandmaster leaves the group, another peer takes over",
        "`GrandmasterChanged` (to the other peer), then `MappingUpdated { stepped: true }`",
        relock,
    );
}
