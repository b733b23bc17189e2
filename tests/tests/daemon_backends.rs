//! The session backends over a real PTP socket (loopback, kernel-chosen ports): a follower
//! session follows a grandmaster session of the same daemon, publishes its clock in the
//! status, the `mapping` reply and its shared-memory record.

mod daemon_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use aptp::client::{Client, OpenSession, SessionRole};
use aptp_service::daemon::PtpPorts;
use aptp_service::nqptp::NqptpReader;
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use daemon_support::TestDaemon;

#[test]
fn a_follower_session_follows_a_grandmaster_session_of_the_same_daemon() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let daemon = TestDaemon::start_with(
        RegistryLimits::default(),
        RecordPolicy::Nqptp,
        Some(PtpPorts {
            bind_address: loopback,
            event_port: 0,
            general_port: 0,
        }),
    );
    let mut client = Client::connect(&daemon.socket).unwrap();
    let tag = std::process::id();
    let grandmaster = client
        .open(&OpenSession {
            role: SessionRole::Grandmaster,
            peers: vec![loopback],
            name: Some(format!("aptp-backend-gm-{tag}")),
            lease_ms: Some(60_000),
        })
        .unwrap();
    let follower = client
        .open(&OpenSession {
            role: SessionRole::Follower,
            peers: vec![loopback],
            name: Some(format!("aptp-backend-follower-{tag}")),
            lease_ms: Some(60_000),
        })
        .unwrap();

    // The grandmaster session's own clock: its identity, offset zero to the local clock.
    let deadline = Instant::now() + Duration::from_secs(20);
    let own = loop {
        let clock = client.mapping(grandmaster.id).unwrap().clock;
        if let Some(identity) = clock.grandmaster {
            break identity;
        }
        assert!(
            Instant::now() < deadline,
            "the grandmaster session never reported its clock"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    let followed = loop {
        let clock = client.mapping(follower.id).unwrap().clock;
        if clock.grandmaster.is_some() && clock.offset_ns.is_some() {
            break clock;
        }
        assert!(
            Instant::now() < deadline,
            "the follower never locked: {clock:?}\n{:?}",
            client.status().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(followed.grandmaster.as_deref(), Some(own.as_str()));
    // Both sessions run on this machine's CLOCK_MONOTONIC_RAW and the follower takes the
    // grandmaster session's clock directly: the grandmaster's "now" (its local clock) and the
    // follower's mapping of the same instant agree exactly.
    assert_eq!(
        followed.local_grandmaster,
        Some(grandmaster.id),
        "{followed:?}"
    );
    let gm_clock = client.mapping(grandmaster.id).unwrap().clock;
    let at = followed.local_time_ns.unwrap();
    let gm_now = i128::from(at) + i128::from(gm_clock.offset_ns.unwrap());
    let follower_says = i128::from(at) + i128::from(followed.offset_ns.unwrap());
    println!(
        "follower of a local grandmaster session: error {} ns, {followed:?}",
        follower_says - gm_now
    );
    assert_eq!(follower_says - gm_now, 0);
    assert_eq!(followed.rate_ppb, Some(0.0));
    assert_eq!(followed.error_bound_ns, Some(0));

    // Both report their last Sync and Follow_Up (received, sent) as recent, at 8 Hz.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = client.status().unwrap();
        let recent = status.sessions.iter().all(|session| {
            let fresh = |age: Option<u64>| age.is_some_and(|age| age < 2_000);
            fresh(session.clock.last_sync_age_ms) && fresh(session.clock.last_follow_up_age_ms)
        });
        if recent {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recent Sync/Follow_Up ages: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Its record, read as Shairport Sync reads it, names the same grandmaster.
    let record = NqptpReader::open(follower.shm_name.as_deref().unwrap())
        .unwrap()
        .read()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut record = record;
    while !record.is_valid() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        record = NqptpReader::open(follower.shm_name.as_deref().unwrap())
            .unwrap()
            .read()
            .unwrap();
    }
    assert!(record.is_valid(), "{record:?}");
    assert_eq!(
        format!("{:016x}", record.master_clock_id),
        own.replace('.', ""),
        "the record names another grandmaster"
    );
    // Read as Shairport Sync reads it: the grandmaster's time at any local instant is that
    // instant (the grandmaster session's timescale is this host's clock).
    assert_eq!(record.local_to_master_time_offset, 0, "{record:?}");
    assert_eq!(record.master_time_at(123_456_789), 123_456_789);

    // A peer list without this host: back to network PTP (nothing measured yet from the
    // unreachable documentation address), then back to the local grandmaster.
    client
        .set_peers(follower.id, &["192.0.2.99".parse().unwrap()])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let clock = client.mapping(follower.id).unwrap().clock;
        if clock.local_grandmaster.is_none() {
            assert_eq!(clock.offset_ns, None, "{clock:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still local: {clock:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    client.set_peers(follower.id, &[loopback]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let clock = client.mapping(follower.id).unwrap().clock;
        if clock.local_grandmaster == Some(grandmaster.id) {
            assert_eq!(clock.offset_ns, Some(0), "{clock:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not local again: {clock:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The status shows the port with its timestamp modes and what it received.
    let status = client.status().unwrap();
    assert_eq!(status.ports.len(), 1);
    let port = &status.ports[0];
    assert_eq!(port.address, "127.0.0.1");
    assert!(port.event_port != 0 && port.general_port != 0);
    assert!(port.received > 0);

    // Closing the grandmaster session: its peers are no longer served, its record is gone.
    client.close(grandmaster.id).unwrap();
    client.close(follower.id).unwrap();
    assert!(NqptpReader::open(follower.shm_name.as_deref().unwrap()).is_err());
}

#[test]
fn a_taken_port_names_the_process_holding_it() {
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let directory = std::env::temp_dir().join(format!("aptp-daemon-taken-{}", std::process::id()));
    let config = aptp_service::daemon::DaemonConfig {
        socket_path: directory.join("aptp.sock"),
        ptp: Some(PtpPorts {
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            event_port: port,
            general_port: 0,
        }),
        nqptp_control: None,
        ..aptp_service::daemon::DaemonConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime
        .block_on(async { aptp_service::daemon::Daemon::bind(config) })
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_dir_all(&directory);
    assert!(
        error.contains(&format!("(pid {})", std::process::id())),
        "the error does not name the holder: {error}"
    );
}
