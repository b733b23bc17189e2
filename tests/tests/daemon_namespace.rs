//! The daemon across namespaces.
//!
//! - `a_client_in_other_mount_and_ipc_namespaces_reaches_the_daemon`: a client in a mount and
//!   IPC namespace of its own (as in another container) that sees only the daemon's socket
//!   directory, at another path, reaches the daemon through it.
//! - `players_and_a_grandmaster_session_of_one_daemon_across_network_namespaces`: issue #16's
//!   scenario with real processes in network namespaces (see its documentation).

mod daemon_support;
#[path = "nqptp_dropin/support.rs"]
#[allow(dead_code)] // This file uses the truth and process helpers only.
mod support;

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use aptp::client::{Client, OpenSession, SessionRole};
use aptp_service::nqptp::{NqptpReader, NqptpRecord, ShmError};
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use aptp_tests::netns::{lab_or_skip, Host, Lab};
use aptp_transport::TimestampClock;
use aptp_wire::ClockIdentity;
use daemon_support::{required, TestDaemon};
use support::{aptp_binary, clock_id, error_now_ns, terminate, BOUND_NS};

/// Where the child sees the socket directory.
const CHILD_SOCKET: &str = "/run/aptp-namespace-test/aptp.sock";

/// Why the namespace test cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0);
    if !root {
        return Some("needs root to create mount namespaces".into());
    }
    for tool in ["unshare", "mount", "sh"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// Run inside the namespaces by the test below.
#[test]
fn child_in_other_namespaces() {
    let Ok(record) = std::env::var("APTP_TEST_NAMESPACE_CHILD") else {
        return; // Only meaningful as the child of the test below.
    };
    // The daemon's shared memory is not visible here: only the socket is shared.
    assert!(
        NqptpReader::open(&record).is_err(),
        "the child sees the host's /dev/shm"
    );
    let mut client = Client::connect(CHILD_SOCKET).unwrap();
    let session = client
        .open(&OpenSession {
            role: SessionRole::Follower,
            peers: vec!["192.0.2.20".parse().unwrap()],
            name: Some("from-the-container".into()),
            lease_ms: Some(2_000),
        })
        .unwrap();
    let status = client.status().unwrap();
    assert!(status
        .sessions
        .iter()
        .any(|listed| listed.info.id == session.id));
    assert_eq!(client.mapping(session.id).unwrap().session, session.id);
    client.renew(session.id).unwrap();
    client.close(session.id).unwrap();
    println!("\nNAMESPACE CHILD OK");
}

#[test]
fn a_client_in_other_mount_and_ipc_namespaces_reaches_the_daemon() {
    if let Some(reason) = unavailable() {
        assert!(
            !required(),
            "CI=true and the namespace test cannot run: {reason}"
        );
        eprintln!("skipped: {reason}");
        return;
    }
    let daemon = TestDaemon::start(RegistryLimits::default(), RecordPolicy::Nqptp);
    // A session of the host: its record is in the host's /dev/shm, which the child must not see.
    let mut host = Client::connect(&daemon.socket).unwrap();
    let host_session = host
        .open(&OpenSession {
            name: Some(format!("aptp-namespace-host-{}", std::process::id())),
            ..OpenSession::new(SessionRole::Grandmaster)
        })
        .unwrap();
    let record = host_session.shm_name.clone().unwrap();
    assert!(NqptpReader::open(&record).is_ok());

    let socket_directory = daemon.socket.parent().unwrap();
    // In the child's private mount namespace: the socket directory is bound at another path,
    // then everything else of the test's directory is hidden under an empty tmpfs, and
    // /dev/shm is a fresh tmpfs; its IPC namespace is new.
    let script = format!(
        "set -e
         mount -t tmpfs aptp-run /run
         mkdir -p /run/aptp-namespace-test
         mount --bind '{socket_dir}' /run/aptp-namespace-test
         mount -t tmpfs aptp-hide '{test_dir}'
         mount -t tmpfs aptp-shm /dev/shm
         test ! -e '{socket}'
         exec \"$0\" --exact child_in_other_namespaces --nocapture --test-threads=1",
        socket_dir = socket_directory.display(),
        test_dir = daemon.directory.display(),
        socket = daemon.socket.display(),
    );
    let output = Command::new("unshare")
        .args([
            "--mount",
            "--ipc",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .arg(std::env::current_exe().unwrap())
        .env("APTP_TEST_NAMESPACE_CHILD", &record)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("NAMESPACE CHILD OK"),
        "the child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The daemon served it: one session more was opened and it is gone again.
    let status = host.status().unwrap();
    assert_eq!(status.sessions_opened, 2);
    assert_eq!(status.sessions.len(), 1);
    assert!(daemon.wait_for(Duration::from_secs(1), |state| state.registry().len() == 1));
    host.close(host_session.id).unwrap();
}

/// The nqptp-format record named `name`, if it exists and reads consistently.
fn read_record(name: &str) -> Option<NqptpRecord> {
    NqptpReader::open(name).ok()?.read().ok()
}

/// A Shairport-Sync-style player's control datagram `<name> <text>\0`, sent from inside `host`
/// to its own loopback's port 9000 (where nqptp, the daemon or the drop-in listens).
fn player_command(host: &Host, name: &str, text: &str) {
    let script = format!("printf '{name} {text}\\0' > /dev/udp/127.0.0.1/9000");
    let output = host
        .run("bash", ["-c", &script], Duration::from_secs(5))
        .expect("send a control datagram");
    assert!(output.status.success(), "{output:?}");
}

/// Polls `condition` every 20 ms for at most `limit`; panics naming `what` (and `context`) if
/// it never holds.
fn wait_until(
    what: &str,
    limit: Duration,
    context: impl Fn() -> String,
    condition: impl Fn() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// |error| percentiles of a set of signed errors: (p50, p99, max, mean), ns.
fn summary(errors: &[i64]) -> (i64, i64, i64, i64) {
    assert!(!errors.is_empty(), "no samples");
    let mut magnitudes: Vec<i64> = errors.iter().map(|error| error.abs()).collect();
    magnitudes.sort_unstable();
    let percentile = |p: usize| magnitudes[(magnitudes.len() - 1) * p / 100];
    let mean = errors.iter().sum::<i64>() / errors.len() as i64;
    (percentile(50), percentile(99), percentile(100), mean)
}

/// One record as followed: its clock identity, and its errors against the truth.
struct Followed {
    name: String,
    label: &'static str,
    identity: ClockIdentity,
    /// The grandmaster's timescale: CLOCK_REALTIME or CLOCK_MONOTONIC_RAW (the truth).
    timescale: TimestampClock,
    errors: Vec<i64>,
    /// The distinct `local_time`s seen: the record is being updated.
    updates: usize,
    last_local_time: u64,
}

impl Followed {
    fn new(
        name: &str,
        label: &'static str,
        identity: ClockIdentity,
        timescale: TimestampClock,
    ) -> Followed {
        Followed {
            name: name.to_owned(),
            label,
            identity,
            timescale,
            errors: Vec::new(),
            updates: 0,
            last_local_time: 0,
        }
    }

    /// Reads the record as Shairport Sync does, checks it names the right clock, and notes
    /// its error now.
    fn sample(&mut self) -> NqptpRecord {
        let record = read_record(&self.name)
            .unwrap_or_else(|| panic!("{}: the record {} is gone", self.label, self.name));
        assert!(
            record.is_valid(),
            "{}: invalid record {record:?}",
            self.label
        );
        assert_eq!(
            clock_id(&record),
            self.identity,
            "{}: another clock",
            self.label
        );
        self.errors.push(error_now_ns(&record, self.timescale));
        if record.local_time != self.last_local_time {
            self.updates += 1;
            self.last_local_time = record.local_time;
        }
        record
    }

    fn report(&self, phase: &str) -> i64 {
        let (p50, p99, max, mean) = summary(&self.errors);
        eprintln!(
            "{} ({phase}): {} samples, {} updates seen, error mean {mean} ns, |error| p50 {p50} ns, \
             p99 {p99} ns, max {max} ns",
            self.label,
            self.errors.len(),
            self.updates
        );
        p99
    }
}

/// Issue #16's scenario, with real processes in five network namespaces on one bridge
/// (software kernel timestamps; all namespaces share the kernel's clocks, so the truth is
/// exact: one kernel clock, zero skew):
///
/// - host 0 runs `aptp daemon` as deployed: PTP on 319/320, nqptp's control protocol on its
///   own 127.0.0.1:9000, sessions' records in /dev/shm, the IPC socket in a directory of the
///   test;
/// - hosts 1 and 2 run `aptp airplay-sender --peer <host 0>`: sender A on CLOCK_REALTIME,
///   sender B on CLOCK_MONOTONIC_RAW (distinct truths, so a record following the wrong sender
///   is wrong by decades);
/// - two Shairport-Sync-style players on host 0, with their own shared-memory names ("kitchen"
///   and "office"), send `<name> T <sender>` and `<name> B` to the daemon's 127.0.0.1:9000 and
///   read their records (map, check the version, copy both records, accept when equal:
///   `NqptpReader`), as Shairport Sync does;
/// - the daemon also holds a grandmaster session (opened over the IPC socket) serving host 3,
///   where a follower reads it as Shairport Sync would read nqptp's /nqptp. The real nqptp is
///   not installable here (not in Debian bookworm, no network), so its stand-in is `aptp
///   nqptp`, our drop-in, which behaves like nqptp on the wire (unicast Delay_Req, needs an
///   Announce before it uses a Follow_Up, 319→319 and 320→320), on host 3's ports 319/320 and
///   its own 127.0.0.1:9000. Its truth is zero: the grandmaster session's timescale is the
///   daemon's CLOCK_MONOTONIC_RAW;
/// - the grandmaster session also serves host 0 itself, and a third player there ("lounge")
///   names host 0 as its timing peer: a receiver and a sender on one host (README, "The aptp
///   daemon"). Its truth is zero too.
///
/// Checked: both players' records are valid and name their own sender's clock identity, the
/// stand-in's and the lounge's name the grandmaster session; after the kitchen's `T` (clear) its record is
/// zeros while the office's keeps the same clock identity and mastership start, stays valid
/// and keeps being updated; every followed record is within 50 µs of the truth at p99 (the
/// AirPlay issue's bound is 100 µs; its real-process runs measured p99 ≈ 10 µs).
#[test]
fn players_and_a_grandmaster_session_of_one_daemon_across_network_namespaces() {
    let Some(lab) = lab_or_skip(Lab::bridge(4), "daemon_namespace across network namespaces")
    else {
        return;
    };
    let binary = aptp_binary();
    let (daemon_host, host_a, host_b, nqptp_host) =
        (lab.host(0), lab.host(1), lab.host(2), lab.host(3));
    let tag = std::process::id();
    let directory = std::env::temp_dir().join(format!("aptp-netns-daemon-{tag}"));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let socket = directory.join("aptp.sock");

    let mut command = daemon_host.command(&binary);
    command.args(["daemon", "-v", "--socket"]).arg(&socket);
    let daemon = daemon_host.spawn(command).expect("start aptp daemon");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut client = loop {
        match Client::connect(&socket) {
            Ok(client) => break client,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("the daemon never served {}: {error}", socket.display()),
        }
    };

    let id_a = ClockIdentity([0x0a, 0x1a, 0x2a, 0xff, 0xfe, 0x3a, 0x4a, 0x5a]);
    let id_b = ClockIdentity([0x0b, 0x1b, 0x2b, 0xff, 0xfe, 0x3b, 0x4b, 0x5b]);
    let spawn_sender = |host: &Host, clock_id: &str, local_clock: &str| {
        let mut command = host.command(&binary);
        command.args([
            "airplay-sender",
            "--peer",
            &daemon_host.ipv4.to_string(),
            "--clock-id",
            clock_id,
            "--local-clock",
            local_clock,
        ]);
        host.spawn(command).expect("start aptp airplay-sender")
    };
    let sender_a = spawn_sender(host_a, "0a1a2a.fffe.3a4a5a", "realtime");
    let sender_b = spawn_sender(host_b, "0b1b2b.fffe.3b4b5b", "monotonic");

    // The grandmaster session, serving host 3 and this host; its identity is the daemon's.
    let grandmaster = client
        .open(&OpenSession {
            role: SessionRole::Grandmaster,
            peers: vec![IpAddr::V4(nqptp_host.ipv4), IpAddr::V4(daemon_host.ipv4)],
            name: Some(format!("aptp-netns-gm-{tag}")),
            lease_ms: Some(600_000),
        })
        .expect("open the grandmaster session");
    let mut grandmaster_identity = None;
    wait_until(
        "the grandmaster session's identity",
        Duration::from_secs(10),
        String::new,
        || {
            let mapping = Client::connect(&socket)
                .and_then(|mut client| client.mapping(grandmaster.id))
                .ok();
            mapping
                .and_then(|mapping| mapping.clock.grandmaster)
                .is_some()
        },
    );
    if let Some(dotted) = client.mapping(grandmaster.id).unwrap().clock.grandmaster {
        grandmaster_identity = Some(dotted);
    }
    let grandmaster_identity = grandmaster_identity.unwrap();

    // The nqptp stand-in on host 3, followed as Shairport Sync would drive nqptp.
    let standin_name = format!("/aptp-netns-standin-{tag}");
    let mut command = nqptp_host.command(&binary);
    command.args(["nqptp", "-v", "--shm-name", &standin_name]);
    let standin = nqptp_host.spawn(command).expect("start aptp nqptp");
    wait_until(
        "the stand-in's record",
        Duration::from_secs(10),
        String::new,
        || read_record(&standin_name).is_some(),
    );
    player_command(
        nqptp_host,
        &standin_name,
        &format!("T {}", daemon_host.ipv4),
    );
    player_command(nqptp_host, &standin_name, "B");

    // The players on the daemon's host: two follow the remote senders, the lounge this
    // host's own grandmaster session.
    let kitchen_name = format!("/aptp-netns-kitchen-{tag}");
    let office_name = format!("/aptp-netns-office-{tag}");
    let lounge_name = format!("/aptp-netns-lounge-{tag}");
    player_command(daemon_host, &kitchen_name, &format!("T {}", host_a.ipv4));
    player_command(daemon_host, &office_name, &format!("T {}", host_b.ipv4));
    player_command(
        daemon_host,
        &lounge_name,
        &format!("T {}", daemon_host.ipv4),
    );
    for name in [&kitchen_name, &office_name, &lounge_name] {
        player_command(daemon_host, name, "B");
    }

    let status = |client: &mut Client| format!("{:?}", client.status());
    let names = |record: Option<NqptpRecord>, identity: ClockIdentity| {
        record.is_some_and(|record| record.is_valid() && clock_id(&record) == identity)
    };
    let context = || {
        format!(
            "kitchen {:?}, office {:?}, lounge {:?}, stand-in {:?}, daemon {}",
            read_record(&kitchen_name),
            read_record(&office_name),
            read_record(&lounge_name),
            read_record(&standin_name),
            Client::connect(&socket)
                .map(|mut client| status(&mut client))
                .unwrap_or_default()
        )
    };
    let served = |record: Option<NqptpRecord>| {
        record.is_some_and(|record| {
            record.is_valid() && clock_id(&record).dotted().to_string() == grandmaster_identity
        })
    };
    wait_until(
        "every record valid",
        Duration::from_secs(30),
        context,
        || {
            names(read_record(&kitchen_name), id_a)
                && names(read_record(&office_name), id_b)
                && served(read_record(&standin_name))
                && served(read_record(&lounge_name))
        },
    );
    let served_id = clock_id(&read_record(&standin_name).unwrap());

    // Let the estimators settle, then read every record as players do, for 10 s.
    std::thread::sleep(Duration::from_secs(3));
    let mut kitchen = Followed::new(
        &kitchen_name,
        "daemon follower kitchen (sender A, realtime)",
        id_a,
        TimestampClock::Realtime,
    );
    let mut office = Followed::new(
        &office_name,
        "daemon follower office (sender B, monotonic_raw)",
        id_b,
        TimestampClock::MonotonicRaw,
    );
    let mut nqptp = Followed::new(
        &standin_name,
        "nqptp stand-in following the daemon's grandmaster session",
        served_id,
        TimestampClock::MonotonicRaw,
    );
    let mut lounge = Followed::new(
        &lounge_name,
        "daemon follower lounge (this host's grandmaster session)",
        served_id,
        TimestampClock::MonotonicRaw,
    );
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        kitchen.sample();
        office.sample();
        nqptp.sample();
        lounge.sample();
    }
    let kitchen_p99 = kitchen.report("both playing");
    let office_p99_before = office.report("both playing");

    // The kitchen clears its peers: its record goes to zeros; the office's keeps its clock.
    let office_before = office.sample();
    player_command(daemon_host, &kitchen_name, "T");
    wait_until(
        "the kitchen's record cleared",
        Duration::from_secs(5),
        context,
        || read_record(&kitchen_name) == Some(NqptpRecord::default()),
    );
    office.errors.clear();
    office.updates = 0;
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        let record = office.sample();
        assert_eq!(
            record.master_clock_start_time, office_before.master_clock_start_time,
            "the office's mastership restarted after the kitchen's T"
        );
        nqptp.sample();
        lounge.sample();
        assert_eq!(read_record(&kitchen_name), Some(NqptpRecord::default()));
    }
    let office_p99_after = office.report("after the kitchen's T");
    // Still updated: newer measurements were published after the kitchen's T (the record
    // changes when the estimator's mapping does, not necessarily with every Sync).
    assert!(
        office.updates >= 2 && office.last_local_time > office_before.local_time,
        "the office's record went stale after the kitchen's T: {} updates in 5 s",
        office.updates
    );
    let standin_p99 = nqptp.report("whole run");
    let lounge_p99 = lounge.report("whole run");

    // The daemon's view: the kitchen has no peers, the office and the grandmaster theirs.
    let listed = client.status().expect("status");
    let peers_of = |name: &str| {
        listed
            .sessions
            .iter()
            .find(|session| session.info.name == name.trim_start_matches('/'))
            .unwrap_or_else(|| panic!("no session {name} in {listed:?}"))
            .info
            .peers
            .clone()
    };
    assert_eq!(peers_of(&kitchen_name), Vec::<IpAddr>::new());
    assert_eq!(peers_of(&office_name), vec![IpAddr::V4(host_b.ipv4)]);
    assert_eq!(
        peers_of(&grandmaster.name),
        vec![IpAddr::V4(nqptp_host.ipv4), IpAddr::V4(daemon_host.ipv4)]
    );

    client
        .close(grandmaster.id)
        .expect("close the grandmaster session");
    for child in [&sender_a, &sender_b, &standin, &daemon] {
        terminate(child.id());
    }
    let mut outputs = Vec::new();
    for (label, child) in [
        ("daemon", daemon),
        ("stand-in", standin),
        ("sender A", sender_a),
        ("sender B", sender_b),
    ] {
        outputs.push((
            label,
            child
                .wait_with_output(Duration::from_secs(10))
                .unwrap_or_else(|error| panic!("{label} did not stop: {error}")),
        ));
    }
    for (label, output) in &outputs[..2] {
        assert!(
            output.status.success(),
            "{label} exit {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // SIGTERM removes every record the daemon and the stand-in published.
    for name in [&kitchen_name, &office_name, &lounge_name, &standin_name] {
        assert!(
            matches!(NqptpReader::open(name), Err(ShmError::NotFound(_))),
            "{name} is left behind"
        );
    }
    let _ = std::fs::remove_dir_all(&directory);

    for (label, p99) in [
        ("kitchen", kitchen_p99),
        ("office before the kitchen's T", office_p99_before),
        ("office after the kitchen's T", office_p99_after),
        ("nqptp stand-in", standin_p99),
        ("lounge", lounge_p99),
    ] {
        assert!(
            p99 < BOUND_NS,
            "{label}: p99 |error| {p99} ns is over {BOUND_NS} ns"
        );
    }
}
