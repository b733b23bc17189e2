//! The PTP task's session handling, on a loopback socket.
use std::net::Ipv4Addr;
use std::path::PathBuf;

use aptp::client::protocol::CloseReason;
use aptp_transport::SocketConfig;

use super::*;
use crate::daemon::AddressChange;
use crate::sessions::{OpenRequest, RecordPolicy, RegistryLimits};

/// The daemon's state (no records) and a PTP socket on loopback, kernel-chosen ports.
fn loopback_daemon() -> (Arc<DaemonState>, PtpSocket) {
    let state = Arc::new(DaemonState::new(
        PathBuf::from("/nonexistent/aptp.sock"),
        RegistryLimits::default(),
        RecordPolicy::None,
    ));
    let socket = PtpSocket::bind(
        SocketConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .with_ports(0, 0)
            .with_clock(TimestampClock::MonotonicRaw),
    )
    .unwrap();
    (state, socket)
}

/// Opens a follower session of `peer` and publishes its `opened` event.
fn open_follower(state: &DaemonState, peer: IpAddr) -> SessionInfo {
    let (info, opened) = state
        .registry()
        .open(
            OpenRequest {
                role: SessionRole::Follower,
                peers: vec![peer],
                name: None,
                lease_ms: None,
            },
            std::time::Instant::now(),
        )
        .unwrap();
    state.publish(opened);
    info
}

#[tokio::test]
async fn a_resume_restarts_every_follower_and_says_so() {
    let (state, socket) = loopback_daemon();
    let mut events = state.subscribe();
    let info = open_follower(&state, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut backends = Backends::new(Arc::clone(&state), vec![socket]);
    backends.reconcile();
    assert_eq!(backends.backends.len(), 1);
    let now = backends.now().unwrap();
    backends.write_back(now);
    assert!(backends.backends[&info.id].published_at.is_some());

    backends.on_resumed(now, 4_000_000_000);
    let backend = &backends.backends[&info.id];
    assert_eq!(
        backend.published_at, None,
        "the clock is written back at once"
    );
    assert_eq!(backend.last_sync, None);
    assert_eq!(state.status(std::time::Instant::now()).suspends, 1);
    let mut resumed = None;
    while let Ok(event) = events.try_recv() {
        if let Event::Resumed { slept_ms } = event {
            resumed = Some(slept_ms);
        }
    }
    assert_eq!(resumed, Some(4_000));

    // Closing the session drops its role.
    let closed = state.registry().close(info.id).unwrap();
    assert_eq!(
        closed,
        Event::Closed {
            session: info.id,
            reason: CloseReason::Closed
        }
    );
    backends.on_event(closed);
    assert!(backends.backends.is_empty());
}

#[tokio::test]
async fn an_address_change_re_acquires_the_sessions_routed_through_it() {
    let (state, socket) = loopback_daemon();
    let mut events = state.subscribe();
    let open = |peer: &str| open_follower(&state, peer.parse().unwrap()).id;
    // One peer reached through lo, one (a documentation address) that is not.
    let through_lo = open("127.0.0.1");
    let elsewhere = open("198.51.100.77");
    let mut backends = Backends::new(Arc::clone(&state), vec![socket]);
    backends.reconcile();
    let now = backends.now().unwrap();
    backends.write_back(now);

    backends.on_address_changed(
        now,
        AddressChange {
            interface: "lo".into(),
            added: vec!["127.0.0.2".parse().unwrap()],
            removed: vec![],
        },
    );
    assert_eq!(backends.backends[&through_lo].published_at, None);
    assert!(backends.backends[&elsewhere].published_at.is_some());
    let mut changed = None;
    while let Ok(event) = events.try_recv() {
        if let Event::AddressChanged {
            interface,
            sessions,
            ..
        } = event
        {
            changed = Some((interface, sessions));
        }
    }
    assert_eq!(changed, Some(("lo".to_owned(), vec![through_lo])));
    let lo = backends
        .interface_statuses()
        .into_iter()
        .find(|interface| interface.name == "lo")
        .unwrap();
    assert_eq!(lo.address_changes, 1);
    assert!(lo.ptp, "an unbound socket serves every interface");
}

/// Plays `sender` to the follower session `id` (one way, 200 µs late) from `from` to `to` in
/// 5 ms steps, each datagram handled as `on_received` does and the timers run as the task
/// runs them; with no sender, the grandmaster is silent. With `always_valid`, the record
/// must be valid at every step.
fn run_follower(
    backends: &mut Backends,
    id: SessionId,
    mut sender: Option<&mut AirplaySender<IpAddr>>,
    source: IpAddr,
    (from, to): (Time, Time),
    always_valid: bool,
) {
    let mut now = from;
    while now < to {
        let backend = backends.backends.get_mut(&id).unwrap();
        let Role::Follower { receiver, policy } = &mut backend.role else {
            panic!("not a follower session");
        };
        if let Some(sender) = sender.as_deref_mut() {
            sender.handle_timeout(now);
            while let Some(transmit) = sender.poll_transmit(now) {
                if let Some(token) = transmit.timestamp_token {
                    sender.handle_transmit_timestamp(now, token, now);
                }
                let arrival = now + aptp_clock::TimeDelta::from_micros(200);
                receiver.handle_datagram(now, &transmit.bytes, source, transmit.port, arrival);
                drain_receiver_events(receiver, policy, arrival);
            }
        }
        while receiver.poll_transmit(now).is_some() {}
        backends.run_timers(now);
        if always_valid {
            let (clock, record) = snapshot(&backends.backends[&id], now);
            assert!(record.is_valid(), "zeros at {now:?}: {clock:?}");
        }
        now += aptp_clock::TimeDelta::from_millis(5);
    }
}

/// A grandmaster that falls silent is held: the session's clock carries on from its last
/// mapping and says so, its record stays as last written (as nqptp's does) at every instant
/// of the silence and of the return, and the return re-locks nothing; once the hold runs
/// out, both are empty.
#[tokio::test]
async fn a_silent_grandmaster_is_held_in_the_clock_and_the_record() {
    let (state, socket) = loopback_daemon();
    let source: IpAddr = "192.0.2.10".parse().unwrap();
    let info = open_follower(&state, source);
    let mut backends = Backends::new(Arc::clone(&state), vec![socket]);
    backends.reconcile();
    let start = backends.now().unwrap();
    let at = |secs: i64| start + aptp_clock::TimeDelta::from_secs(secs);
    let identity = ClockIdentity([0x0a, 0, 0, 0xff, 0xfe, 0, 0, 0x0a]);
    let mut sender = AirplaySender::new(SenderConfig::new(identity), start).unwrap();
    sender.set_peers([IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let id = info.id;
    let dotted = Some(identity.dotted().to_string());

    run_follower(
        &mut backends,
        id,
        Some(&mut sender),
        source,
        (at(0), at(20)),
        false,
    );
    let (followed, record) = snapshot(&backends.backends[&id], at(20));
    assert_eq!(followed.grandmaster, dotted);
    assert!(
        followed.offset_ns.is_some() && !followed.holdover,
        "{followed:?}"
    );
    assert!(record.is_valid());

    // 5 s of silence: lost to the Announce timeout, held. The player's `B` meanwhile is no
    // reason to re-lock (the clock is silent, not stalled): heard by the timers, the hold
    // is known before any datagram comes back.
    run_follower(&mut backends, id, None, source, (at(20), at(25)), true);
    if let Role::Follower { receiver, policy } = &mut backends.backends.get_mut(&id).unwrap().role {
        policy.handle_command(at(25), &ControlCommand::Play, receiver.as_mut());
        assert_eq!(policy.relocks(), 0);
    }
    let (held, held_record) = snapshot(&backends.backends[&id], at(25));
    assert!(held.holdover, "{held:?}");
    assert_eq!(held.grandmaster, dotted);
    let offset = held.offset_ns.expect("the held mapping's offset");
    assert!(offset.abs() < 1_000_000, "{held:?}");
    assert_eq!(held.error_bound_ns, None);
    assert_eq!(held_record, record, "the record stays as last written");

    // Back: followed again, the record never gaps and goes on, nothing re-locked.
    run_follower(
        &mut backends,
        id,
        Some(&mut sender),
        source,
        (at(25), at(30)),
        true,
    );
    let (back, back_record) = snapshot(&backends.backends[&id], at(30));
    assert!(!back.holdover && back.offset_ns.is_some(), "{back:?}");
    assert!(back_record.local_time > record.local_time);
    let Role::Follower { policy, .. } = &backends.backends[&id].role else {
        unreachable!()
    };
    assert_eq!(policy.relocks(), 0);

    // Silent past the hold (60 s): forgotten.
    run_follower(&mut backends, id, None, source, (at(30), at(95)), false);
    let (gone, gone_record) = snapshot(&backends.backends[&id], at(95));
    assert!(!gone.holdover, "{gone:?}");
    assert_eq!(gone.grandmaster, None);
    assert_eq!(gone.offset_ns, None);
    assert_eq!(gone_record, NqptpRecord::default());
}
