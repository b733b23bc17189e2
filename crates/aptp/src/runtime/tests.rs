//! The glue on loopback: real sockets, real kernel timestamps, no privileges.

use std::time::Duration;

use super::*;
use crate::engine::{Config, Event, PortKind, PortState};

fn fast() -> Config {
    Config {
        log_sync_interval: -3,
        log_announce_interval: -2,
        log_min_delay_req_interval: -3,
        ..Config::default()
    }
}

fn pair() -> (Node, Node) {
    let master = Node::start(
        NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse().unwrap()))
            .with_config(fast())
            .with_ports(0, 0)
            .with_unicast_peers(["127.0.0.2".parse().unwrap()]),
    )
    .unwrap();
    let slave = Node::start(
        NodeOptions::new(Role::Slave, Network::Bind("127.0.0.2".parse().unwrap()))
            .with_config(fast())
            .with_local_clock(LocalClock::Monotonic)
            .with_ports(
                master.local_addr(PortKind::Event).port(),
                master.local_addr(PortKind::General).port(),
            ),
    )
    .unwrap();
    (master, slave)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_locks_to_a_master_on_loopback_and_both_shut_down() {
    let (master, slave) = pair();
    let mut events = slave.subscribe();
    let mut status = slave.watch_status();
    let locked = tokio::time::timeout(
        Duration::from_secs(30),
        status.wait_for(|s| s.state == PortState::Slave && s.mapping.is_some()),
    )
    .await
    .is_ok();
    drop(status);
    assert!(locked, "not SLAVE within 30 s: {:?}", slave.status());
    // Let the estimator settle a little, then check what the API reports.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = slave.status();
    assert_eq!(status.local_clock, LocalClock::Monotonic);
    assert_eq!(status.grandmaster_identity(), Some(master.clock_identity()));
    assert_eq!(master.state(), PortState::Master);
    // The master serves CLOCK_REALTIME, the slave reads CLOCK_MONOTONIC: the truth is their
    // difference. Loose bound, the machine is shared.
    let offset_ns = slave.offset_ns().unwrap();
    let truth = LocalClock::Realtime.now().unwrap() - LocalClock::Monotonic.now().unwrap();
    let error_ns = offset_ns as f64 - truth.as_nanos_f64();
    assert!(
        error_ns.abs() < 2_000_000.0,
        "offset {offset_ns} ns, truth {truth:?}"
    );
    let path_delay_ns = status.path_delay_ns.unwrap();
    assert!(
        (0..2_000_000).contains(&path_delay_ns),
        "path delay {path_delay_ns}"
    );
    assert!(status.counters.measurements > 0 || status.last_measurement.is_some());
    // The mapping converts both ways and `now` is in the master's timescale.
    let local = slave.local_now().unwrap();
    let remote = slave.to_remote(local).unwrap();
    let back = slave.to_local(remote).unwrap();
    assert!((back - local).abs().as_nanos_f64() < 2.0);
    let master_now = master.now().unwrap();
    let slave_view = slave.now().unwrap();
    let _ = (master_now, slave_view); // different clocks (realtime vs monotonic): no compare
                                      // The broadcast saw the measurements.
    let mut saw_measurement = false;
    while let Ok(event) = events.try_recv() {
        saw_measurement |= matches!(event, Event::Measurement(_));
    }
    assert!(saw_measurement);
    slave.shutdown().await.unwrap();
    master.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dropped_node_stops_its_task_and_frees_its_ports() {
    let node = Node::start(
        NodeOptions::new(Role::Automatic, Network::Bind("127.0.0.1".parse().unwrap()))
            .with_ports(0, 0),
    )
    .unwrap();
    let event = node.local_addr(PortKind::Event);
    assert!(node.is_running());
    assert_eq!(node.state(), PortState::Initializing); // the driver has not run yet
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(node.state(), PortState::Listening);
    drop(node);
    // The ports come free once the task ended.
    let mut rebound = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(node) = Node::start(
            NodeOptions::new(Role::Automatic, Network::Bind("127.0.0.1".parse().unwrap()))
                .with_ports(event.port(), 0),
        ) {
            rebound = Some(node);
            break;
        }
    }
    assert!(rebound.is_some(), "port {} still held", event.port());
}

#[tokio::test]
async fn privileged_or_busy_ports_are_typed_errors() {
    let first = Node::start(
        NodeOptions::new(Role::Slave, Network::Bind("127.0.0.1".parse().unwrap())).with_ports(0, 0),
    )
    .unwrap();
    let busy = Node::start(
        NodeOptions::new(Role::Slave, Network::Bind("127.0.0.1".parse().unwrap()))
            .with_ports(first.local_addr(PortKind::Event).port(), 0),
    );
    assert!(matches!(busy, Err(NodeError::Transport(_))), "{busy:?}");
    let unknown = Node::start(NodeOptions::new(
        Role::Slave,
        Network::Interface {
            name: "no-such-if0".into(),
            ipv6: false,
        },
    ));
    assert!(
        matches!(unknown, Err(NodeError::Transport(_))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn commands_reach_the_running_engine() {
    let node = Node::start(
        NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse().unwrap()))
            .with_config(fast())
            .with_ports(0, 0),
    )
    .unwrap();
    let mut status = node.watch_status();
    node.set_enabled(false).unwrap();
    let disabled = tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| s.state == PortState::Disabled),
    )
    .await
    .is_ok();
    assert!(disabled, "{:?}", node.status().state);
    node.set_enabled(true).unwrap();
    let listening = tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| s.state == PortState::Listening || s.state == PortState::Master),
    )
    .await
    .is_ok();
    assert!(listening, "{:?}", node.status().state);
    drop(status);
    node.set_unicast_peers(["127.0.0.3".parse().unwrap()])
        .unwrap();
    node.shutdown().await.unwrap();
}
