//! The nqptp drop-in end to end, read as Shairport Sync reads it (map the object, check the
//! version, copy both records, accept when they match: `NqptpReader`).
//!
//! - `control_protocol_end_to_end` (loopback, unprivileged ports): every command, bad
//!   commands, a flood of datagrams, a peer list replaced mid-stream, IPv6, and senders whose
//!   source ports are not the drop-in's (ephemeral ports, as iPhones use).
//! - `refuses_to_start_when_taken`: the shared memory, the PTP ports and the control address
//!   held by a running `aptp nqptp`.
//! - `follows_the_airplay_sender_across_namespaces`: `aptp airplay-sender` in one namespace,
//!   `aptp nqptp` in another (ports 319/320, as deployed), the record compared with the truth:
//!   the sender's timescale (CLOCK_REALTIME) minus CLOCK_MONOTONIC_RAW, read at once (all
//!   namespaces share the kernel's clocks).
//!
//! The `aptp` binary is the one cargo builds beside this test (`cargo test --workspace` builds
//! it; with `-p aptp-tests` run `cargo build -p aptp-cli` first).
//! Every test uses its own shared-memory name and ports, so they run in parallel.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aptp::airplay::runtime::{PeerPorts, SenderDriver};
use aptp::airplay::{AirplaySender, SenderConfig};
use aptp_clock::Time;
use aptp_service::nqptp::{
    NqptpDaemon, NqptpError, NqptpOptions, NqptpReader, NqptpRecord, NqptpStatus, ShmError,
};
use aptp_tests::netns::{lab_or_skip, Lab};
use aptp_transport::{PtpSocket, SocketConfig, TimestampClock, TransportError};
use aptp_wire::ClockIdentity;
use tokio::sync::watch;

/// The accuracy the issue asks for: the published time within 50 µs of the truth.
const BOUND_NS: i64 = 50_000;

fn shm(tag: &str) -> String {
    format!("/aptp-it-{tag}-{}", std::process::id())
}

/// `(CLOCK_REALTIME, CLOCK_MONOTONIC_RAW)` in ns, read at once (the narrowest of three
/// brackets of raw around realtime).
fn clocks_now() -> (i128, i128) {
    let read = |clock: TimestampClock| i128::from(clock.now().expect("clock").as_nanos());
    let mut best = (i128::MAX, 0, 0);
    for _ in 0..3 {
        let before = read(TimestampClock::MonotonicRaw);
        let realtime = read(TimestampClock::Realtime);
        let after = read(TimestampClock::MonotonicRaw);
        if after - before < best.0 {
            best = (after - before, realtime, before + (after - before) / 2);
        }
    }
    (best.1, best.2)
}

/// What a player using `record` gets wrong now (ns), against a grandmaster whose timescale is
/// `timescale` (realtime, or monotonic_raw itself).
fn error_now_ns(record: &NqptpRecord, timescale: TimestampClock) -> i64 {
    let (realtime, raw) = clocks_now();
    let truth = match timescale {
        TimestampClock::MonotonicRaw => raw,
        _ => realtime,
    };
    let published = record.master_time_at(raw as u64);
    published.wrapping_sub(truth as u64) as i64
}

/// Polls `condition` on the reader's record every 10 ms until it holds or `timeout` passes.
fn wait_record(
    reader: &NqptpReader,
    timeout: Duration,
    condition: impl Fn(&NqptpRecord) -> bool,
) -> Option<NqptpRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let record = reader.read().expect("a consistent read");
        if condition(&record) {
            return Some(record);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The median and maximum |error| of `samples` reads, 20 ms apart, of a valid record.
fn accuracy(reader: &NqptpReader, timescale: TimestampClock, samples: usize) -> (i64, i64) {
    let mut errors: Vec<i64> = (0..samples)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let record = reader.read().expect("a consistent read");
            assert!(record.is_valid(), "the record went invalid while sampling");
            error_now_ns(&record, timescale).abs()
        })
        .collect();
    errors.sort_unstable();
    (errors[errors.len() / 2], errors[errors.len() - 1])
}

/// An AirPlay sender on `address` (ephemeral source ports), serving the drop-in.
fn spawn_sender(
    runtime: &tokio::runtime::Runtime,
    address: IpAddr,
    identity: ClockIdentity,
    timescale: TimestampClock,
    peer: IpAddr,
    ports: (u16, u16),
) -> tokio::task::JoinHandle<()> {
    let _guard = runtime.enter();
    let socket = PtpSocket::bind(
        SocketConfig::new(address)
            .with_ports(0, 0)
            .with_clock(timescale),
    )
    .expect("bind the sender");
    let now = Time::from_nanos_i128(i128::from(timescale.now().expect("clock").as_nanos()));
    let mut sender = AirplaySender::new(SenderConfig::new(identity), now).expect("sender");
    sender.set_peers([peer]);
    let peer_ports = PeerPorts {
        event: ports.0,
        general: ports.1,
    };
    let mut driver = SenderDriver::new(socket, sender, peer_ports);
    runtime.spawn(async move {
        loop {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            if driver.step(deadline).await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    })
}

fn wait_status(
    status: &watch::Receiver<NqptpStatus>,
    timeout: Duration,
    condition: impl Fn(&NqptpStatus) -> bool,
) -> NqptpStatus {
    let deadline = Instant::now() + timeout;
    loop {
        let snapshot = status.borrow().clone();
        if condition(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "status never reached the condition: {snapshot:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn clock_id(record: &NqptpRecord) -> ClockIdentity {
    ClockIdentity(record.master_clock_id.to_be_bytes())
}

#[test]
fn control_protocol_end_to_end() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let name = shm("control");
    let options = NqptpOptions {
        control: "127.0.0.1:0".parse().unwrap(),
        shm_name: name.clone(),
        event_port: 0,
        general_port: 0,
        ..NqptpOptions::default()
    };
    let daemon = {
        let _guard = runtime.enter();
        NqptpDaemon::start(options).expect("start the drop-in")
    };
    let status = daemon.watch_status();
    let ports = daemon.ptp_ports();
    let reader = NqptpReader::open(&name).expect("a player can open the record");
    assert_eq!(reader.read().unwrap(), NqptpRecord::default());

    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let id_a = ClockIdentity([0x0a, 0, 0, 0xff, 0xfe, 0, 0, 0x0a]);
    let id_b = ClockIdentity([0x0b, 0, 0, 0xff, 0xfe, 0, 0, 0x0b]);
    let id_c = ClockIdentity([0x0c, 0, 0, 0xff, 0xfe, 0, 0, 0x0c]);
    let a: IpAddr = "127.0.0.2".parse().unwrap();
    let b: IpAddr = "127.0.0.3".parse().unwrap();
    let c: IpAddr = "::1".parse().unwrap();
    // A's timescale is CLOCK_REALTIME, B's and C's CLOCK_MONOTONIC_RAW: distinct truths.
    let _sender_a = spawn_sender(&runtime, a, id_a, TimestampClock::Realtime, loopback, ports);
    let _sender_b = spawn_sender(
        &runtime,
        b,
        id_b,
        TimestampClock::MonotonicRaw,
        loopback,
        ports,
    );
    let _sender_c = spawn_sender(&runtime, c, id_c, TimestampClock::MonotonicRaw, c, ports);

    let player = UdpSocket::bind("127.0.0.1:0").unwrap();
    let control = daemon.control_address();
    let send = |datagram: &[u8]| {
        player
            .send_to(datagram, control)
            .expect("send a control datagram");
    };
    let command = |text: &str| send(format!("{name} {text}\0").as_bytes());

    // T: followed from now on, but nothing published before B.
    command("T 127.0.0.2");
    let followed = wait_status(&status, Duration::from_secs(15), |s| {
        s.grandmaster == Some(id_a) && s.state.name_lower() == "slave"
    });
    assert_eq!(followed.timing_peers, vec![a]);
    assert_eq!(reader.read().unwrap(), NqptpRecord::default());
    // A sends from ephemeral ports (not the drop-in's): followed all the same.

    // B: a valid record at once.
    command("B");
    let record = wait_record(&reader, Duration::from_millis(200), NqptpRecord::is_valid)
        .expect("a valid record at once after B");
    assert_eq!(clock_id(&record), id_a);
    let (median_a, max_a) = accuracy(&reader, TimestampClock::Realtime, 50);
    eprintln!("loopback, sender A (realtime): |error| median {median_a} ns, max {max_a} ns");
    assert!(median_a < BOUND_NS, "median error {median_a} ns");

    // P changes nothing; bad commands are counted by kind and change nothing.
    command("P");
    command("X");
    command("T 192.0.2.300");
    command("B now");
    send(&[0xff, 0xfe, 0]);
    send(&[b'a'; 5000]);
    send(b"\0");
    let counted = wait_status(&status, Duration::from_secs(5), |s| {
        s.control.rejected_total() == 6
    });
    assert_eq!(counted.control.rejected, [1, 1, 1, 1, 1, 1, 0]);
    assert!(counted.playing);
    assert!(reader.read().unwrap().is_valid());
    assert_eq!(clock_id(&reader.read().unwrap()), id_a);

    // A flood of control datagrams (bad ones and P) cannot stall timing.
    let flood_until = Instant::now() + Duration::from_secs(2);
    let flooder = {
        let name = name.clone();
        std::thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut sent = 0u64;
            while Instant::now() < flood_until {
                let _ = socket.send_to(b"junk\0", control);
                let _ = socket.send_to(format!("{name} P\0").as_bytes(), control);
                sent += 2;
            }
            sent
        })
    };
    let mut last_local_time = reader.read().unwrap().local_time;
    let mut longest_gap = Duration::ZERO;
    let mut since = Instant::now();
    while Instant::now() < flood_until {
        let record = reader.read().unwrap();
        if record.local_time != last_local_time {
            longest_gap = longest_gap.max(since.elapsed());
            last_local_time = record.local_time;
            since = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    longest_gap = longest_gap.max(since.elapsed());
    let sent = flooder.join().unwrap();
    let after_flood = status.borrow().clone();
    eprintln!(
        "flood: {sent} datagrams sent, {} received; longest time without a new record {longest_gap:?}",
        after_flood.control.received
    );
    assert!(
        longest_gap < Duration::from_millis(600),
        "timing stalled for {longest_gap:?} under the flood"
    );
    let (median_flood, _) = accuracy(&reader, TimestampClock::Realtime, 20);
    assert!(
        median_flood < BOUND_NS,
        "after the flood: {median_flood} ns"
    );

    // The peer list replaced mid-stream: B only. The record switches to B (via zeros).
    command("T 127.0.0.3");
    let record = wait_record(&reader, Duration::from_secs(15), |r| {
        r.is_valid() && clock_id(r) == id_b
    })
    .expect("the record follows the new peer list");
    assert_ne!(record.master_clock_start_time, 0);
    std::thread::sleep(Duration::from_millis(500));
    let (median_b, max_b) = accuracy(&reader, TimestampClock::MonotonicRaw, 50);
    eprintln!("loopback, sender B (monotonic_raw): |error| median {median_b} ns, max {max_b} ns");
    assert!(median_b < BOUND_NS, "median error {median_b} ns");

    // E: zeros at once; B again: valid at once.
    command("E");
    wait_record(&reader, Duration::from_millis(200), |r| {
        *r == NqptpRecord::default()
    })
    .expect("zeros at once after E");
    command("B");
    let record = wait_record(&reader, Duration::from_millis(200), NqptpRecord::is_valid)
        .expect("valid at once after B");
    assert_eq!(clock_id(&record), id_b);

    // IPv6 peer, written in a non-canonical form.
    command("T 0:0:0:0:0:0:0:1");
    let record = wait_record(&reader, Duration::from_secs(15), |r| {
        r.is_valid() && clock_id(r) == id_c
    })
    .expect("the record follows an IPv6 peer");
    assert!(error_now_ns(&record, TimestampClock::MonotonicRaw).abs() < 10 * BOUND_NS);

    // T alone: no peers, zeros.
    command("T");
    wait_record(&reader, Duration::from_millis(200), |r| {
        *r == NqptpRecord::default()
    })
    .expect("zeros after T alone");
    wait_status(&status, Duration::from_secs(2), |s| {
        s.timing_peers.is_empty()
    });

    runtime
        .block_on(daemon.shutdown())
        .expect("a clean shutdown");
    assert!(
        matches!(NqptpReader::open(&name), Err(ShmError::NotFound(_))),
        "the shared memory is removed on exit"
    );
}

/// A sender's timescale that the test can stall (every Follow_Up then repeats one
/// preciseOriginTimestamp, as an idle Apple device's) and shift (resume at another offset).
#[derive(Default)]
struct StallableClock {
    stalled_at: std::sync::Mutex<Option<Time>>,
    jump_ns: std::sync::atomic::AtomicI64,
}

impl StallableClock {
    /// CLOCK_MONOTONIC_RAW plus the jump: the sender's running timescale.
    fn running(&self, raw: Time) -> Time {
        raw + aptp_clock::TimeDelta::from_nanos(
            self.jump_ns.load(std::sync::atomic::Ordering::SeqCst),
        )
    }

    /// The time the sender puts on the wire for a transmit at `raw`.
    fn stamped(&self, raw: Time) -> Time {
        let stalled = *self.stalled_at.lock().unwrap();
        stalled.unwrap_or_else(|| self.running(raw))
    }

    fn stall(&self) {
        let raw = raw_time();
        *self.stalled_at.lock().unwrap() = Some(self.running(raw));
    }

    fn resume(&self, jump_ns: i64) {
        self.jump_ns
            .store(jump_ns, std::sync::atomic::Ordering::SeqCst);
        *self.stalled_at.lock().unwrap() = None;
    }
}

fn raw_time() -> Time {
    let raw = TimestampClock::MonotonicRaw.now().expect("clock");
    Time::from_nanos_i128(i128::from(raw.as_nanos()))
}

/// An AirPlay sender role driven here, on `clock`'s timescale.
fn spawn_stallable_sender(
    runtime: &tokio::runtime::Runtime,
    address: IpAddr,
    identity: ClockIdentity,
    peer: IpAddr,
    ports: (u16, u16),
    clock: std::sync::Arc<StallableClock>,
) -> tokio::task::JoinHandle<()> {
    use aptp::engine::{Destination, PortKind};
    let _guard = runtime.enter();
    let socket = PtpSocket::bind(
        SocketConfig::new(address)
            .with_ports(0, 0)
            .with_clock(TimestampClock::MonotonicRaw),
    )
    .expect("bind the sender");
    let mut sender =
        AirplaySender::new(SenderConfig::new(identity), clock.running(raw_time())).expect("sender");
    sender.set_peers([peer]);
    runtime.spawn(async move {
        loop {
            let now = clock.running(raw_time());
            sender.handle_timeout(now);
            while let Some(transmit) = sender.poll_transmit(now) {
                let Destination::Unicast(ip) = transmit.destination else {
                    continue;
                };
                match transmit.port {
                    PortKind::Event => {
                        let sent = socket
                            .send_event(&transmit.bytes, SocketAddr::new(ip, ports.0))
                            .await;
                        if let (Ok(tx), Some(token)) = (sent, transmit.timestamp_token) {
                            let tx = Time::from_nanos_i128(i128::from(tx.time.as_nanos()));
                            sender.handle_transmit_timestamp(now, token, clock.stamped(tx));
                        }
                    }
                    _ => {
                        let _ = socket
                            .send_general(&transmit.bytes, SocketAddr::new(ip, ports.1))
                            .await;
                    }
                }
            }
            let wait_ns = sender
                .poll_timeout()
                .map(|at| at.since(now).nanos_floor().clamp(0, 100_000_000))
                .unwrap_or(100_000_000);
            tokio::select! {
                received = socket.recv() => {
                    if let Ok(received) = received {
                        let rx = Time::from_nanos_i128(i128::from(received.rx_timestamp.time.as_nanos()));
                        let kind = match received.port {
                            aptp_transport::PortKind::Event => PortKind::Event,
                            _ => PortKind::General,
                        };
                        let now = clock.running(raw_time());
                        sender.handle_datagram(now, &received.data, received.source.ip(), kind, clock.stamped(rx));
                    }
                }
                () = tokio::time::sleep(Duration::from_nanos(wait_ns as u64)) => {}
            }
        }
    })
}

/// An Apple-like idle: the sender's clock stalls while nothing plays and resumes 7 ms away.
/// The first record published after `B` must be right at once, not smoothed from before.
#[test]
fn play_after_a_stalled_clock_relocks_at_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let name = shm("stall");
    let daemon = {
        let _guard = runtime.enter();
        NqptpDaemon::start(NqptpOptions {
            control: "127.0.0.1:0".parse().unwrap(),
            shm_name: name.clone(),
            event_port: 0,
            general_port: 0,
            ipv6: false,
            ..NqptpOptions::default()
        })
        .expect("start the drop-in")
    };
    let status = daemon.watch_status();
    let reader = NqptpReader::open(&name).expect("open the record");
    let clock = std::sync::Arc::new(StallableClock::default());
    let identity = ClockIdentity([0x0d, 0, 0, 0xff, 0xfe, 0, 0, 0x0d]);
    let sender_address: IpAddr = "127.0.0.4".parse().unwrap();
    let _sender = spawn_stallable_sender(
        &runtime,
        sender_address,
        identity,
        "127.0.0.1".parse().unwrap(),
        daemon.ptp_ports(),
        std::sync::Arc::clone(&clock),
    );
    let player = UdpSocket::bind("127.0.0.1:0").unwrap();
    let command = |text: &str| {
        player
            .send_to(
                format!("{name} {text}\0").as_bytes(),
                daemon.control_address(),
            )
            .expect("send a control datagram");
    };
    // The truth: the sender's timescale minus CLOCK_MONOTONIC_RAW, i.e. the jump.
    let error_against = |record: &NqptpRecord, jump_ns: i64| {
        let raw = raw_time().nanos_rounded() as u64;
        (record.master_time_at(raw).wrapping_sub(raw) as i64) - jump_ns
    };
    command("T 127.0.0.4");
    wait_status(&status, Duration::from_secs(15), |s| {
        s.state.name_lower() == "slave"
    });
    command("B");
    let record = wait_record(&reader, Duration::from_millis(200), NqptpRecord::is_valid)
        .expect("valid at once");
    assert!(error_against(&record, 0).abs() < BOUND_NS);

    command("E");
    clock.stall();
    std::thread::sleep(Duration::from_secs(5));
    let stalled = status.borrow().clone();
    assert!(
        stalled.receiver.stalled_follow_ups > 10,
        "the Follow_Ups repeat: {stalled:?}"
    );
    assert_eq!(stalled.grandmaster, Some(identity), "still announced");
    let relocks_before = stalled.relocks;
    const JUMP_NS: i64 = 7_000_000;
    clock.resume(JUMP_NS);
    command("B");
    let played = Instant::now();
    let first = wait_record(&reader, Duration::from_secs(10), NqptpRecord::is_valid)
        .expect("a valid record after the pause");
    let error = error_against(&first, JUMP_NS);
    eprintln!(
        "first record after a 5 s stall and a 7 ms jump: {:?} after B, error {error} ns",
        played.elapsed()
    );
    assert!(
        error.abs() < BOUND_NS,
        "the first record after the pause is {error} ns off (stale state smoothed?)"
    );
    assert!(status.borrow().relocks > relocks_before);
    runtime.block_on(daemon.shutdown()).expect("clean shutdown");
}

/// The `aptp` binary built beside this test.
fn aptp_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> → target/<profile>/aptp
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("aptp"))
        .expect("the target directory");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p aptp-cli` (cargo test --workspace builds it)",
        binary.display()
    );
    binary
}

fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

#[test]
fn refuses_to_start_when_taken() {
    let name = shm("taken");
    let control = "127.0.0.1:19231";
    let (event, general) = (19232u16, 19233u16);
    let mut holder = Command::new(aptp_binary())
        .args([
            "nqptp",
            "--control",
            control,
            "--shm-name",
            &name,
            "--event-port",
            &event.to_string(),
            "--general-port",
            &general.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start aptp nqptp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while NqptpReader::open(&name).is_err() {
        assert!(Instant::now() < deadline, "aptp nqptp did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let start = |shm_name: &str, control: &str, ports: (u16, u16)| {
        NqptpDaemon::start(NqptpOptions {
            control: control.parse().unwrap(),
            shm_name: shm_name.to_owned(),
            event_port: ports.0,
            general_port: ports.1,
            ..NqptpOptions::default()
        })
    };
    let other = shm("taken-other");
    let shm_taken = start(&name, "127.0.0.1:0", (0, 0));
    let ports_taken = start(&other, "127.0.0.1:0", (event, general));
    let control_taken = start(&other, control, (0, 0));
    // The same binary, a second time: a one-line reason and a failure status.
    let second = Command::new(aptp_binary())
        .args(["nqptp", "--control", "127.0.0.1:0", "--shm-name", &name])
        .output()
        .expect("run aptp nqptp again");
    terminate(holder.id());
    let exited = holder.wait().expect("aptp nqptp exits on SIGTERM");

    match shm_taken {
        Err(NqptpError::Shm(error @ ShmError::InUse { .. })) => {
            let message = error.to_string();
            assert!(message.contains(&holder.id().to_string()), "{message}");
            assert!(message.contains("aptp"), "{message}");
        }
        Err(other) => panic!("shared memory taken: unexpected {other}"),
        Ok(_) => panic!("started although the shared memory is taken"),
    }
    assert!(
        matches!(
            ports_taken,
            Err(NqptpError::Transport(TransportError::AddressInUse { .. }))
        ),
        "ports taken: {:?}",
        ports_taken.err()
    );
    match control_taken {
        Err(error @ NqptpError::Control { .. }) => {
            assert!(error.to_string().contains(control), "{error}")
        }
        Err(other) => panic!("control taken: unexpected {other}"),
        Ok(_) => panic!("started although the control address is taken"),
    }
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(exited.success(), "SIGTERM is a clean exit: {exited:?}");
    assert!(
        matches!(NqptpReader::open(&name), Err(ShmError::NotFound(_))),
        "the shared memory is removed on SIGTERM"
    );
    // Nothing of the refused starts is left behind.
    assert!(matches!(
        NqptpReader::open(&other),
        Err(ShmError::NotFound(_))
    ));
}

/// The sender's `--json` line: its timescale beside CLOCK_MONOTONIC_RAW, and its clock id.
fn sender_lines(stdout: &[u8]) -> Vec<(i128, i128, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| {
            Some((
                i128::from(value["now_ns"].as_u64()?),
                i128::from(value["local_monotonic_raw_ns"].as_u64()?),
                value["clock_id"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Two way: the sender on 319/320 answers the drop-in's Delay_Req.
#[test]
fn follows_the_airplay_sender_across_namespaces() {
    follow_across_namespaces("netns", &[], true);
}

/// One way, as with Apple senders: the sender sends from ports 31900/32000 (which nqptp would
/// drop) and so never sees the drop-in's Delay_Req on 319; the path delay stays in the offset.
#[test]
fn follows_a_sender_on_other_source_ports_one_way() {
    follow_across_namespaces(
        "netns-ports",
        &["--event-port", "31900", "--general-port", "32000"],
        false,
    );
}

fn follow_across_namespaces(tag: &str, sender_ports: &[&str], two_way: bool) {
    let Some(lab) = lab_or_skip(Lab::pair(), &format!("nqptp_dropin {tag}")) else {
        return;
    };
    let binary = aptp_binary();
    let (sender_host, receiver_host) = (lab.host(0), lab.host(1));
    let name = shm(tag);
    let control_port = 19240u16;
    // The drop-in as deployed: PTP's own ports (this namespace has them to itself).
    let mut dropin = receiver_host.command(&binary);
    dropin.args([
        "nqptp",
        "--json",
        "--control",
        &format!("127.0.0.1:{control_port}"),
        "--shm-name",
        &name,
    ]);
    let dropin = receiver_host.spawn(dropin).expect("start aptp nqptp");
    let mut sender = sender_host.command(&binary);
    sender.args([
        "airplay-sender",
        "--json",
        "--peer",
        &receiver_host.ipv4.to_string(),
        "--clock-id",
        "5e4d3c.fffe.2b1a09",
    ]);
    sender.args(sender_ports);
    let sender = sender_host
        .spawn(sender)
        .expect("start aptp airplay-sender");
    let deadline = Instant::now() + Duration::from_secs(10);
    let reader = loop {
        match NqptpReader::open(&name) {
            Ok(reader) => break reader,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("the drop-in never published {name}: {error}"),
        }
    };
    // The player's commands, from inside the receiver's namespace (its own loopback).
    let control = |text: &str| {
        let script = format!("printf '{name} {text}\\0' > /dev/udp/127.0.0.1/{control_port}");
        let output = receiver_host
            .run("bash", ["-c", &script], Duration::from_secs(5))
            .expect("send a control datagram");
        assert!(output.status.success(), "{output:?}");
    };
    control(&format!("T {}", sender_host.ipv4));
    control("B");
    let record = wait_record(&reader, Duration::from_secs(20), NqptpRecord::is_valid)
        .expect("a valid record once the sender is followed");
    assert_eq!(
        clock_id(&record),
        ClockIdentity([0x5e, 0x4d, 0x3c, 0xff, 0xfe, 0x2b, 0x1a, 0x09])
    );
    // Let the estimator settle, then compare for ten seconds.
    std::thread::sleep(Duration::from_secs(3));
    let mut errors: Vec<i64> = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        let record = reader.read().expect("a consistent read");
        assert!(record.is_valid());
        errors.push(error_now_ns(&record, TimestampClock::Realtime));
    }
    terminate(sender.id());
    terminate(dropin.id());
    let sender = sender
        .wait_with_output(Duration::from_secs(10))
        .expect("the sender stops");
    let dropin = dropin
        .wait_with_output(Duration::from_secs(10))
        .expect("the drop-in stops on SIGTERM");
    let dropin_stdout = String::from_utf8_lossy(&dropin.stdout);
    let dropin_stderr = String::from_utf8_lossy(&dropin.stderr);
    assert!(
        dropin.status.success(),
        "drop-in exit {:?}: {dropin_stderr}",
        dropin.status
    );
    assert!(
        matches!(NqptpReader::open(&name), Err(ShmError::NotFound(_))),
        "the shared memory is removed on SIGTERM"
    );

    // The sender's own account of its timescale agrees with the truth used here.
    let lines = sender_lines(&sender.stdout);
    assert!(!lines.is_empty(), "no sender JSON lines");
    let (now_ns, raw_ns, id) = lines[lines.len() - 1].clone();
    assert_eq!(id, "5e4d3c.fffe.2b1a09");
    let (realtime, raw) = clocks_now();
    let drift = ((now_ns - raw_ns) - (realtime - raw)).abs();
    assert!(
        drift < 1_000_000,
        "the sender's timescale is not CLOCK_REALTIME ({drift} ns apart)"
    );

    // The drop-in's JSON lines carry cli.md's keys and say it follows the sender.
    let last = dropin_stdout
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|value| value["publishing"] == true)
        .unwrap_or_else(|| panic!("no publishing status line: {dropin_stdout}"));
    assert_eq!(last["state"], "slave", "{last}");
    assert_eq!(last["master"], "5e4d3c.fffe.2b1a09", "{last}");
    assert_eq!(last["local_clock"], "monotonic");
    assert!(
        last["offset_ns"].is_i64() && last["rate_ppb"].is_number(),
        "{last}"
    );

    let mut magnitudes: Vec<i64> = errors.iter().map(|e| e.abs()).collect();
    magnitudes.sort_unstable();
    let percentile = |p: usize| magnitudes[(magnitudes.len() - 1) * p / 100];
    let mean = errors.iter().sum::<i64>() / errors.len() as i64;
    eprintln!(
        "nqptp drop-in over veth ({tag}): {} samples, error mean {mean} ns, |error| p50 {} ns, \
         p99 {} ns, max {} ns (two way: {})",
        errors.len(),
        percentile(50),
        percentile(99),
        percentile(100),
        last["two_way"]
    );
    assert_eq!(last["two_way"], two_way, "{last}");
    assert!(
        percentile(99) < BOUND_NS,
        "p99 |error| {} ns is over {BOUND_NS} ns",
        percentile(99)
    );
}
