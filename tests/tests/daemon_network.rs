//! `aptp daemon` processes in network namespaces: PTP served on several interfaces and over
//! IPv4 and IPv6, peers of either family, and what `aptp status --json` says about it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aptp::client::protocol::Event;
use aptp::client::{Client, OpenSession, SessionClock, SessionRole};
use aptp_tests::netns::{lab_or_skip, Host, Lab, NsChild};
use serde_json::Value;

/// The `aptp` binary, built once per test process.
fn aptp_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ lives in the workspace");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "aptp-cli", "--bin", "aptp"])
            .current_dir(workspace)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p aptp-cli failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let binary = target.join("debug").join("aptp");
        assert!(binary.exists(), "{} missing", binary.display());
        binary
    })
}

/// A directory of this test's own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("aptp-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `aptp daemon` in `host`'s namespace on PTP's own ports, its socket at `socket`; returns
/// once a client can connect.
fn start_daemon(host: &Host, socket: &Path, extra: &[&str]) -> (NsChild, Client) {
    start_daemon_env(host, socket, extra, &[])
}

/// [`start_daemon`] with environment variables.
fn start_daemon_env(
    host: &Host,
    socket: &Path,
    extra: &[&str],
    environment: &[(&str, &Path)],
) -> (NsChild, Client) {
    let mut command = host.command(aptp_binary());
    for (name, value) in environment {
        command.env(name, value);
    }
    command
        .args(["daemon", "--nqptp-control", "off", "--socket"])
        .arg(socket)
        .args(extra)
        .env("RUST_LOG", "info");
    let child = host.spawn(command).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(client) = Client::connect(socket) {
            return (child, client);
        }
        assert!(
            Instant::now() < deadline,
            "the daemon in {} did not start",
            host.namespace
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `aptp status --json` of the daemon at `socket`.
fn status_json(socket: &Path) -> Value {
    let output = Command::new(aptp_binary())
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aptp status: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn open(client: &mut Client, role: SessionRole, peers: &[IpAddr], name: &str) -> u64 {
    client
        .open(&OpenSession {
            role,
            peers: peers.to_vec(),
            name: Some(format!("{name}-{}", std::process::id())),
            lease_ms: Some(120_000),
        })
        .unwrap()
        .id
}

/// Waits until session `id`'s clock satisfies `condition`; returns it.
fn wait_clock(
    client: &mut Client,
    id: u64,
    limit: Duration,
    what: &str,
    condition: impl Fn(&SessionClock) -> bool,
) -> SessionClock {
    let deadline = Instant::now() + limit;
    loop {
        let clock = client.mapping(id).unwrap().clock;
        if condition(&clock) {
            return clock;
        }
        assert!(
            Instant::now() < deadline,
            "session {id}: {what} never happened: {clock:?}\n{:?}",
            client.status().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn locked(clock: &SessionClock) -> bool {
    clock.grandmaster.is_some() && clock.offset_ns.is_some()
}

#[test]
fn ipv4_and_ipv6_peers_on_named_interfaces_and_on_all() {
    let Some(lab) = lab_or_skip(
        Lab::pair(),
        "ipv4_and_ipv6_peers_on_named_interfaces_and_on_all",
    ) else {
        return;
    };
    let scratch = Scratch::new("daemon-network");
    let (a, b) = (lab.host(0), lab.host(1));
    let (a_socket, b_socket) = (scratch.0.join("a.sock"), scratch.0.join("b.sock"));
    // A serves two named interfaces; B every interface.
    let (_a_daemon, mut a_client) =
        start_daemon(a, &a_socket, &["--interface", "veth0", "--interface", "lo"]);
    let (_b_daemon, mut b_client) = start_daemon(b, &b_socket, &[]);

    let sender = open(
        &mut a_client,
        SessionRole::Grandmaster,
        &[IpAddr::V4(b.ipv4), IpAddr::V6(b.ipv6)],
        "net-sender",
    );
    // The IPv4 peer named in its IPv4-mapped IPv6 form is the same peer (as nqptp matches).
    let over_v4 = open(
        &mut b_client,
        SessionRole::Follower,
        &[format!("::ffff:{}", a.ipv4).parse().unwrap()],
        "net-v4",
    );
    let over_v6 = open(
        &mut b_client,
        SessionRole::Follower,
        &[a.ipv6.to_string().parse().unwrap()],
        "net-v6",
    );
    let identity = wait_clock(
        &mut a_client,
        sender,
        Duration::from_secs(10),
        "own clock",
        |clock| clock.grandmaster.is_some(),
    )
    .grandmaster
    .unwrap();
    for follower in [over_v4, over_v6] {
        let clock = wait_clock(
            &mut b_client,
            follower,
            Duration::from_secs(20),
            "lock",
            locked,
        );
        assert_eq!(clock.grandmaster.as_deref(), Some(identity.as_str()));
        assert_eq!(clock.local_grandmaster, None, "another host's sender");
        println!(
            "follower {follower} over the network: offset {:?} ns",
            clock.offset_ns
        );
    }

    // A: a pair of ports per named interface and family, all on the same port numbers.
    let status = status_json(&a_socket);
    let ports = status["ports"].as_array().unwrap();
    let mut bound: Vec<(String, String)> = ports
        .iter()
        .map(|port| {
            assert_eq!(port["event_port"], 319, "{port}");
            assert_eq!(port["general_port"], 320, "{port}");
            assert!(port["kernel_rx_timestamps"].is_boolean(), "{port}");
            assert!(port["kernel_tx_timestamps"].is_boolean(), "{port}");
            (
                port["interface"].as_str().unwrap().to_owned(),
                port["address"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    bound.sort();
    assert_eq!(
        bound,
        [
            ("lo", "0.0.0.0"),
            ("lo", "::"),
            ("veth0", "0.0.0.0"),
            ("veth0", "::")
        ]
        .map(|(interface, address)| (interface.to_owned(), address.to_owned()))
    );
    let veth = ports
        .iter()
        .find(|port| port["interface"] == "veth0" && port["address"] == "::")
        .unwrap();
    assert!(veth["received"].as_u64().unwrap() > 0, "{veth}");
    let interfaces = status["interfaces"].as_array().unwrap();
    let veth = interfaces
        .iter()
        .find(|interface| interface["name"] == "veth0")
        .unwrap();
    assert_eq!(veth["ptp"], true);
    let addresses: Vec<&str> = veth["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|address| address.as_str().unwrap())
        .collect();
    assert!(addresses.contains(&a.ipv4.to_string().as_str()), "{veth}");
    assert!(addresses.contains(&a.ipv6.to_string().as_str()), "{veth}");

    // B: every interface, IPv4 and IPv6, and both received.
    let status = status_json(&b_socket);
    let ports = status["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 2, "{status}");
    for port in ports {
        assert!(port["interface"].is_null(), "{port}");
        assert!(port["received"].as_u64().unwrap() > 0, "{port}");
    }
    assert!(status["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .all(|interface| interface["ptp"] == true));
    let sessions = status["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        assert_eq!(session["clock"]["grandmaster"], identity.as_str());
    }
}

/// The next event about `session` that `wanted` accepts, within `limit`.
fn next_event(
    events: &mut Client,
    limit: Duration,
    what: &str,
    mut wanted: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {what} event within {limit:?}");
        if let Some(event) = events.next_event(Some(left)).unwrap() {
            if wanted(&event) {
                return event;
            }
        }
    }
}

#[test]
fn an_address_change_marks_the_clock_invalid_and_re_acquires_it() {
    let test = "an_address_change_marks_the_clock_invalid_and_re_acquires_it";
    let Some(lab) = lab_or_skip(Lab::pair(), test) else {
        return;
    };
    let scratch = Scratch::new("daemon-address-change");
    let (a, b) = (lab.host(0), lab.host(1));
    let (a_socket, b_socket) = (scratch.0.join("a.sock"), scratch.0.join("b.sock"));
    let (_a_daemon, mut a_client) = start_daemon(a, &a_socket, &[]);
    let (_b_daemon, mut b_client) = start_daemon(b, &b_socket, &[]);
    // B's address now and after the change: the sender serves both.
    let renumbered: IpAddr = "192.0.2.12".parse().unwrap();
    open(
        &mut a_client,
        SessionRole::Grandmaster,
        &[IpAddr::V4(b.ipv4), renumbered],
        "renumber-sender",
    );
    let follower = open(
        &mut b_client,
        SessionRole::Follower,
        &[IpAddr::V4(a.ipv4)],
        "renumber-follower",
    );
    wait_clock(
        &mut b_client,
        follower,
        Duration::from_secs(20),
        "lock",
        locked,
    );
    let mut events = Client::connect(&b_socket).unwrap();
    events.subscribe(None).unwrap();

    // Renumbered: the old address goes, the new one comes (deleted first: deleting a
    // primary address also deletes its secondaries).
    b.ip(["addr", "del", &format!("{}/24", b.ipv4), "dev", "veth0"])
        .unwrap();
    b.ip(["addr", "add", "192.0.2.12/24", "dev", "veth0"])
        .unwrap();

    let changed = next_event(
        &mut events,
        Duration::from_secs(10),
        "address_changed",
        |event| matches!(event, Event::AddressChanged { sessions, .. } if sessions.contains(&follower)),
    );
    println!("{changed:?}");
    let Event::AddressChanged { interface, .. } = &changed else {
        unreachable!()
    };
    assert_eq!(interface, "veth0");
    next_event(
        &mut events,
        Duration::from_secs(5),
        "invalid clock",
        |event| matches!(event, Event::Clock { session, clock } if *session == follower && clock.offset_ns.is_none()),
    );
    let relocked = next_event(
        &mut events,
        Duration::from_secs(30),
        "re-locked clock",
        |event| matches!(event, Event::Clock { session, clock } if *session == follower && locked(clock)),
    );
    println!("re-acquired after the address change: {relocked:?}");
    // Both namespaces share one clock: once re-acquired, the offset is the measurement's error.
    let settled = wait_clock(
        &mut b_client,
        follower,
        Duration::from_secs(30),
        "settle within 100 us",
        |clock| clock.offset_ns.is_some_and(|offset| offset.abs() < 100_000),
    );
    println!("settled: offset {:?} ns", settled.offset_ns);

    let status = status_json(&b_socket);
    let veth = status["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|interface| interface["name"] == "veth0")
        .unwrap()
        .clone();
    assert!(veth["address_changes"].as_u64().unwrap() >= 1, "{veth}");
    assert!(
        veth["addresses"]
            .as_array()
            .unwrap()
            .contains(&Value::from("192.0.2.12")),
        "{veth}"
    );
    let session = &status["sessions"][0];
    assert!(!session["clock"]["offset_ns"].is_null(), "{session}");
}

#[test]
fn a_simulated_suspend_of_the_running_daemon_invalidates_and_re_acquires() {
    let test = "a_simulated_suspend_of_the_running_daemon_invalidates_and_re_acquires";
    let Some(lab) = lab_or_skip(Lab::pair(), test) else {
        return;
    };
    let scratch = Scratch::new("daemon-suspend");
    let (a, b) = (lab.host(0), lab.host(1));
    let (a_socket, b_socket) = (scratch.0.join("a.sock"), scratch.0.join("b.sock"));
    let shift = scratch.0.join("boottime-shift");
    std::fs::write(&shift, "0").unwrap();
    let (_a_daemon, mut a_client) = start_daemon(a, &a_socket, &[]);
    // B's CLOCK_BOOTTIME readings are shifted by what the file says.
    let (_b_daemon, mut b_client) = start_daemon_env(
        b,
        &b_socket,
        &[],
        &[(aptp_service::daemon::BOOTTIME_SHIFT_ENV, shift.as_path())],
    );
    let sender = open(
        &mut a_client,
        SessionRole::Grandmaster,
        &[IpAddr::V4(b.ipv4)],
        "suspend-sender",
    );
    let follower = open(
        &mut b_client,
        SessionRole::Follower,
        &[IpAddr::V4(a.ipv4)],
        "suspend-follower",
    );
    wait_clock(
        &mut b_client,
        follower,
        Duration::from_secs(20),
        "lock",
        locked,
    );
    assert_eq!(status_json(&b_socket)["suspends"], 0);
    let mut events = Client::connect(&b_socket).unwrap();
    events.subscribe(None).unwrap();
    // The sender pauses, so the clock stays invalid after the resume until it serves again.
    a_client.set_peers(sender, &[]).unwrap();

    // B "sleeps" 5 s: BOOTTIME jumps while MONOTONIC does not.
    std::fs::write(&shift, "5000000000").unwrap();
    let resumed = next_event(&mut events, Duration::from_secs(5), "resumed", |event| {
        matches!(event, Event::Resumed { .. })
    });
    let Event::Resumed { slept_ms } = resumed else {
        unreachable!()
    };
    assert!((4_900..=5_100).contains(&slept_ms), "{slept_ms}");
    next_event(
        &mut events,
        Duration::from_secs(5),
        "invalid clock",
        |event| matches!(event, Event::Clock { session, clock } if *session == follower && clock.offset_ns.is_none()),
    );
    let status = status_json(&b_socket);
    assert_eq!(status["suspends"], 1, "{status}");
    assert!(
        status["sessions"][0]["clock"]["offset_ns"].is_null(),
        "the clock is still shown valid after the resume: {status}"
    );

    a_client.set_peers(sender, &[IpAddr::V4(b.ipv4)]).unwrap();
    next_event(
        &mut events,
        Duration::from_secs(30),
        "re-locked clock",
        |event| matches!(event, Event::Clock { session, clock } if *session == follower && locked(clock)),
    );
    let status = status_json(&b_socket);
    assert!(
        !status["sessions"][0]["clock"]["offset_ns"].is_null(),
        "not re-acquired: {status}"
    );
    assert_eq!(status["suspends"], 1, "one suspend, noticed once: {status}");
}
