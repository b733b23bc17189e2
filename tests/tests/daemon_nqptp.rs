//! nqptp's control protocol served by the daemon: two Shairport-Sync-style players with their
//! own shared-memory names follow a grandmaster session of the same daemon; one clears its
//! peers and the other's record stays valid and unchanged.

mod daemon_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use aptp::client::{Client, OpenSession, SessionRole};
use aptp_service::daemon::PtpPorts;
use aptp_service::nqptp::{NqptpReader, NqptpRecord};
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use daemon_support::TestDaemon;

fn read(name: &str) -> Option<NqptpRecord> {
    NqptpReader::open(name).ok()?.read().ok()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_players_by_name_one_clears_the_other_keeps_its_clock() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let daemon = TestDaemon::start_full(
        RegistryLimits::default(),
        RecordPolicy::Nqptp,
        Some(PtpPorts {
            bind_address: loopback,
            event_port: 0,
            general_port: 0,
        }),
        Some(SocketAddr::new(loopback, 0)),
    );
    let control = daemon.control.unwrap();
    let player = UdpSocket::bind((loopback, 0)).unwrap();
    let send = |datagram: &str| {
        player
            .send_to(format!("{datagram}\0").as_bytes(), control)
            .unwrap();
    };

    // The sender: a grandmaster session serving this host.
    let mut client = Client::connect(&daemon.socket).unwrap();
    let tag = std::process::id();
    client
        .open(&OpenSession {
            role: SessionRole::Grandmaster,
            peers: vec![loopback],
            name: Some(format!("aptp-nqptp-gm-{tag}")),
            lease_ms: Some(60_000),
        })
        .unwrap();

    let kitchen = format!("/aptp-nqptp-kitchen-{tag}");
    let office = format!("/aptp-nqptp-office-{tag}");
    for name in [&kitchen, &office] {
        send(&format!("{name} T 127.0.0.1"));
    }
    // Before `B` a record exists and is all zeros, as nqptp's.
    wait_for("both records", || {
        read(&kitchen).is_some() && read(&office).is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(&kitchen), Some(NqptpRecord::default()));
    for name in [&kitchen, &office] {
        send(&format!("{name} B"));
    }
    wait_for("both records valid", || {
        read(&kitchen).is_some_and(|record| record.is_valid())
            && read(&office).is_some_and(|record| record.is_valid())
    });
    let office_before = read(&office).unwrap();
    assert_eq!(
        read(&kitchen).unwrap().master_clock_id,
        office_before.master_clock_id
    );

    // The kitchen clears its peers: its record goes to zeros, the office's stays valid with
    // the same grandmaster.
    send(&format!("{kitchen} T"));
    wait_for("the kitchen's record cleared", || {
        read(&kitchen) == Some(NqptpRecord::default())
    });
    std::thread::sleep(Duration::from_millis(1_500));
    let office_after = read(&office).unwrap();
    assert!(office_after.is_valid());
    assert_eq!(office_after.master_clock_id, office_before.master_clock_id);
    assert_eq!(
        office_after.master_clock_start_time,
        office_before.master_clock_start_time
    );

    // Both are sessions in the status, pinned (no lease), with their peers.
    let status = client.status().unwrap();
    let find = |name: &str| {
        status
            .sessions
            .iter()
            .find(|session| session.info.name == name.trim_start_matches('/'))
            .unwrap_or_else(|| panic!("no session {name} in {status:?}"))
            .clone()
    };
    assert_eq!(find(&kitchen).info.peers, Vec::<IpAddr>::new());
    assert_eq!(find(&office).info.peers, vec![loopback]);
    assert_eq!(find(&office).info.lease_ms, 0);

    // A datagram that is not a command harms nobody.
    send("garbage");
    send(&format!("{office} Q"));
    wait_for("the two bad datagrams counted", || {
        client.status().unwrap().requests_refused >= 2
    });
    assert!(read(&office).unwrap().is_valid());
}
