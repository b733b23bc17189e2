//! The PTP task's session handling, on a loopback socket.
use std::net::Ipv4Addr;
use std::path::PathBuf;

use aptp::client::protocol::CloseReason;
use aptp_transport::SocketConfig;

use super::*;
use crate::daemon::AddressChange;
use crate::sessions::{OpenRequest, RecordPolicy, RegistryLimits};

#[tokio::test]
async fn a_resume_restarts_every_follower_and_says_so() {
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
    let mut events = state.subscribe();
    let (info, opened) = state
        .registry()
        .open(
            OpenRequest {
                role: SessionRole::Follower,
                peers: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
                name: None,
                lease_ms: None,
            },
            std::time::Instant::now(),
        )
        .unwrap();
    state.publish(opened);
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
    let mut events = state.subscribe();
    let open = |peer: &str| {
        let (info, opened) = state
            .registry()
            .open(
                OpenRequest {
                    role: SessionRole::Follower,
                    peers: vec![peer.parse().unwrap()],
                    name: None,
                    lease_ms: None,
                },
                std::time::Instant::now(),
            )
            .unwrap();
        state.publish(opened);
        info.id
    };
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
