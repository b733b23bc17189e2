//! `aptp airplay-sender` in one network namespace, `aptp nqptp` in another (ports 319/320, as
//! deployed), the record compared with the truth: the sender's timescale (CLOCK_REALTIME) minus
//! CLOCK_MONOTONIC_RAW, read at once (all namespaces share the kernel's clocks).

use std::time::{Duration, Instant};

use aptp_service::nqptp::{NqptpReader, NqptpRecord, ShmError};
use aptp_tests::netns::{lab_or_skip, Lab};
use aptp_transport::TimestampClock;
use aptp_wire::ClockIdentity;

use super::support::*;

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
