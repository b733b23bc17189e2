//! The nqptp drop-in end to end, read as Shairport Sync reads it (map the object, check the
//! version, copy both records, accept when they match: `NqptpReader`).
//!
//! - `control_protocol_end_to_end` (loopback, unprivileged ports): every command, bad
//!   commands, a flood of datagrams, a peer list replaced mid-stream, IPv6, and senders whose
//!   source ports are not the drop-in's (ephemeral ports, as iPhones use).
//! - `follows_a_grandmaster_change_within_the_group`: two announcing peers listed; the best
//!   goes silent and the record moves to the other.
//! - `play_after_a_stalled_clock_relocks_at_once`: an idle Apple-like clock that stalls and
//!   resumes elsewhere is published right after `B`, not smoothed from before.
//! - `a_dropout_keeps_the_record_published`: the sender's link cut for 5 s, long enough to
//!   lose it; its last record stays published, as nqptp's, and goes on after it is back.
//! - `refuses_to_start_when_taken`: the shared memory, the PTP ports and the control address
//!   held by a running `aptp nqptp`.
//! - `netns::*`: `aptp airplay-sender` and `aptp nqptp` in two network namespaces, two way and
//!   one way, against the truth (see that module).
//!
//! The `aptp` binary is the one cargo builds beside this test (`cargo test --workspace` builds
//! it; with `-p aptp-tests` run `cargo build -p aptp-cli` first).
//! Every test uses its own shared-memory name and ports, so they run in parallel.

#[path = "nqptp_dropin/netns.rs"]
mod netns;
#[path = "nqptp_dropin/support.rs"]
mod support;

use std::net::{IpAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use aptp_service::nqptp::{
    NqptpDaemon, NqptpError, NqptpOptions, NqptpReader, NqptpRecord, ShmError,
};
use aptp_transport::{TimestampClock, TransportError};
use aptp_wire::ClockIdentity;
use support::stall::{raw_time, DropInWithSender};
use support::*;

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
    let record = wait_record(&reader, AT_ONCE, NqptpRecord::is_valid)
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

    // A speaker joins the group mid-play: the grandmaster stays, the record never blinks.
    command("T 127.0.0.2 127.0.0.77");
    let joined = Instant::now();
    while joined.elapsed() < Duration::from_millis(500) {
        let record = reader.read().unwrap();
        assert!(record.is_valid() && clock_id(&record) == id_a, "{record:?}");
        std::thread::sleep(Duration::from_millis(2));
    }

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
    // A stalled receive path would show the whole 2 s; a descheduled worker on a loaded
    // machine shows a few hundred ms.
    assert!(
        longest_gap < Duration::from_millis(1_500),
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
    wait_record(&reader, AT_ONCE, |r| *r == NqptpRecord::default()).expect("zeros at once after E");
    command("B");
    let record =
        wait_record(&reader, AT_ONCE, NqptpRecord::is_valid).expect("valid at once after B");
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
    wait_record(&reader, AT_ONCE, |r| *r == NqptpRecord::default()).expect("zeros after T alone");
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

/// Two senders listed, both announcing: the better dataset (the lower clock identity, all
/// else equal) is followed; when it goes silent the record moves to the other one, with a new
/// mastership start.
#[test]
fn follows_a_grandmaster_change_within_the_group() {
    let (runtime, daemon, name) = start_loopback_dropin("group");
    let reader = NqptpReader::open(&name).expect("open the record");
    let ports = daemon.ptp_ports();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let id_best = ClockIdentity([0x01, 0, 0, 0xff, 0xfe, 0, 0, 0x01]);
    let id_other = ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x02]);
    let best = spawn_sender(
        &runtime,
        "127.0.0.5".parse().unwrap(),
        id_best,
        TimestampClock::Realtime,
        loopback,
        ports,
    );
    let _other = spawn_sender(
        &runtime,
        "127.0.0.6".parse().unwrap(),
        id_other,
        TimestampClock::MonotonicRaw,
        loopback,
        ports,
    );
    let player = UdpSocket::bind("127.0.0.1:0").unwrap();
    for text in ["T 127.0.0.6 127.0.0.5", "B"] {
        player
            .send_to(
                format!("{name} {text}\0").as_bytes(),
                daemon.control_address(),
            )
            .expect("send a control datagram");
    }
    let first = wait_record(&reader, Duration::from_secs(15), |r| {
        r.is_valid() && clock_id(r) == id_best
    })
    .expect("the best grandmaster of the group is followed");
    std::thread::sleep(Duration::from_millis(500));
    let (median, _) = accuracy(&reader, TimestampClock::Realtime, 20);
    assert!(median < BOUND_NS, "{median} ns");
    best.abort();
    let silenced = Instant::now();
    let second = wait_record(&reader, Duration::from_secs(15), |r| {
        r.is_valid() && clock_id(r) == id_other
    })
    .expect("the record moves to the remaining grandmaster");
    eprintln!(
        "grandmaster change: the other clock published {:?} after the best went silent",
        silenced.elapsed()
    );
    assert!(second.master_clock_start_time > first.master_clock_start_time);
    std::thread::sleep(Duration::from_millis(500));
    let (median, _) = accuracy(&reader, TimestampClock::MonotonicRaw, 20);
    assert!(median < BOUND_NS, "{median} ns");
    runtime.block_on(daemon.shutdown()).expect("clean shutdown");
}

/// An Apple-like idle: the sender's clock stalls while nothing plays and resumes 7 ms away.
/// The first record published after `B` must be right at once, not smoothed from before (with
/// the re-lock disabled it is the stale mapping, 7 ms off), and come with the next Sync.
#[test]
fn play_after_a_stalled_clock_relocks_at_once() {
    let identity = ClockIdentity([0x0d, 0, 0, 0xff, 0xfe, 0, 0, 0x0d]);
    let setup = DropInWithSender::start("stall", identity, "127.0.0.4".parse().unwrap());
    let (status, reader, clock) = (&setup.status, &setup.reader, &setup.clock);
    let command = |text: &str| setup.command(text);
    // The truth: the sender's timescale minus CLOCK_MONOTONIC_RAW, i.e. the jump.
    let error_against = |record: &NqptpRecord, jump_ns: i64| {
        let raw = raw_time().nanos_rounded() as u64;
        (record.master_time_at(raw).wrapping_sub(raw) as i64) - jump_ns
    };
    command("T 127.0.0.4");
    wait_status(status, Duration::from_secs(15), |s| {
        s.state.name_lower() == "slave"
    });
    command("B");
    let record = wait_record(reader, AT_ONCE, NqptpRecord::is_valid).expect("valid at once");
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
    let first = wait_record(reader, Duration::from_secs(10), NqptpRecord::is_valid)
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
    assert!(
        played.elapsed() < Duration::from_secs(2),
        "the re-lock waited for more than the next Syncs"
    );
    setup.shutdown();
}

/// A Wi-Fi dropout: the sender's link is cut for 5 s, well past the Announce timeout, while
/// its clock runs on. nqptp keeps a silent timing peer's last record published, so a player
/// plays on; the drop-in does the same while it holds the grandmaster (zeros before it did),
/// and when the sender is back the record goes on from the same measurement, no re-lock.
#[test]
fn a_dropout_keeps_the_record_published() {
    let identity = ClockIdentity([0x0d, 0, 0, 0xff, 0xfe, 0, 0, 0x0e]);
    let setup = DropInWithSender::start("dropout", identity, "127.0.0.8".parse().unwrap());
    let (status, reader, clock) = (&setup.status, &setup.reader, &setup.clock);
    let command = |text: &str| setup.command(text);
    // The sender's timescale is CLOCK_MONOTONIC_RAW: the truth is offset zero.
    let error = |record: &NqptpRecord| {
        let raw = raw_time().nanos_rounded() as u64;
        record.master_time_at(raw).wrapping_sub(raw) as i64
    };
    command("T 127.0.0.8");
    command("B");
    wait_status(status, Duration::from_secs(15), |s| {
        s.state.name_lower() == "slave"
    });
    wait_record(reader, AT_ONCE, NqptpRecord::is_valid).expect("valid once locked");
    let relocks_before = status.borrow().relocks;

    clock.cut_link(true);
    let cut = Instant::now();
    let mut held_seen = false;
    let mut last = reader.read().expect("a consistent read");
    while cut.elapsed() < Duration::from_secs(5) {
        let record = reader.read().expect("a consistent read");
        assert!(
            record.is_valid(),
            "zeros published {:?} into the dropout",
            cut.elapsed()
        );
        assert_eq!(clock_id(&record), identity);
        let now = status.borrow().clone();
        held_seen |= now.grandmaster.is_none() && now.held_grandmaster == Some(identity);
        last = record;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(held_seen, "5 s of silence never lost the grandmaster");
    let during = error(&last);
    assert!(
        during.abs() < BOUND_NS,
        "the held record is {during} ns off"
    );

    clock.cut_link(false);
    let back = wait_record(reader, Duration::from_secs(10), |record| {
        record.local_time > last.local_time
    })
    .expect("the record goes on after the dropout");
    let after = error(&back);
    eprintln!("a 5 s dropout: held record {during} ns off at its end, {after} ns after");
    assert!(after.abs() < BOUND_NS, "{after} ns off after the dropout");
    assert_eq!(clock_id(&back), identity);
    assert_eq!(
        status.borrow().relocks,
        relocks_before,
        "the return re-locked instead of going on"
    );
    setup.shutdown();
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
