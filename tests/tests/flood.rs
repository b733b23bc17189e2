//! Flood test (issue 17): an `aptp slave` locked to an `aptp master` keeps its lock while an
//! attacker namespace on the same segment sends junk to both PTP ports, unicast to the
//! slave and to the PTP multicast group, at 50 000+ datagrams per second for 20 s.
//!
//! The junk: random bytes, truncated headers, messageLength beyond the datagram, an
//! Announce with a TLV longer than the message, zero-length datagrams, valid-looking Sync,
//! Follow_Up and Delay_Resp from clocks that are not the master with wrong sequenceIds,
//! unsolicited Pdelay_Resp, Announces from many random identities and from a spoofed better
//! grandmaster (priority1 0, clockClass 6). The slave runs with `--acceptable-master` naming
//! the real master's clock identity (its EUI-64 from the master's MAC address).
//!
//! The master is aptp's, not ptp4l: the multicast half of the flood reaches the master too,
//! and a ptp4l 3.1.1 master stops serving under it (measured here: the aptp slave's
//! measurements stopped the second the flood began and nothing more arrived after it; the
//! issue describes ptp4l going FAULTY on a single zero-length datagram or Pdelay_Resp).
//!
//! A reference slave runs at the same time on a second, unflooded segment (its own
//! namespaces and aptp master), so both see the same machine load.
//!
//! Holds when: the flooded slave is alive to the end, never leaves SLAVE once there,
//! prints an offset every second, its resident memory grows by less than 10 MiB during the
//! flood, and its p99 |offset| during the flood is within 2× the reference's (or 20 µs,
//! whichever is larger: two slaves on a loaded 2-core machine differ by a few µs anyway).
//!
//! The attacker is this test binary re-executed in the attacker namespace
//! (`--exact flood_attacker --ignored`), sending only to its segment's 192.0.2.x address
//! and to 224.0.1.129 on that isolated segment.

use aptp_tests::netns::{lab_or_skip, on_ci, Host, Lab, NsChild, INTERFACE};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SLAVE_SECONDS: u32 = 36;
const FLOOD_START_S: u64 = 12;
const FLOOD_SECONDS: u64 = 20;
const FLOOD_RATE_PER_S: u64 = 70_000;
const FAST: &str = "[global]\nlogAnnounceInterval -2\nlogSyncInterval -3\nlogMinDelayReqInterval -3\npriority1 1\n";
const PTP_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 129);

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

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn bytes(&mut self, out: &mut [u8]) {
        for byte in out {
            *byte = self.next_u64() as u8;
        }
    }
}

/// A PTPv2 common header (34 bytes) followed by `body`, messageLength consistent.
fn ptp(message_type: u8, clock: [u8; 8], sequence_id: u16, body: &[u8]) -> Vec<u8> {
    let length = (34 + body.len()) as u16;
    let mut out = vec![0u8; 34];
    out[0] = message_type;
    out[1] = 0x02;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    if matches!(message_type, 0x0 | 0xB) {
        out[6] = 0x02; // twoStepFlag on Sync; harmless on Announce
    }
    out[20..28].copy_from_slice(&clock);
    out[28..30].copy_from_slice(&1u16.to_be_bytes());
    out[30..32].copy_from_slice(&sequence_id.to_be_bytes());
    out[32] = match message_type {
        0x0 => 0,
        0x8 => 2,
        0x9 => 3,
        _ => 5,
    };
    out[33] = 0x7F;
    out.extend_from_slice(body);
    out
}

/// An Announce body (30 bytes) for grandmaster `clock` with `priority1` and `class`.
fn announce_body(clock: [u8; 8], priority1: u8, class: u8) -> Vec<u8> {
    let mut body = vec![0u8; 30];
    body[13] = priority1;
    body[14] = class;
    body[15] = 0x20;
    body[16..18].copy_from_slice(&0x4E5Du16.to_be_bytes());
    body[18] = priority1;
    body[19..27].copy_from_slice(&clock);
    body[29] = 0x20;
    body
}

/// The `n`-th junk datagram and whether it goes to the event port.
fn junk(rng: &mut Rng, n: u64) -> (Vec<u8>, bool) {
    let mut clock = [0u8; 8];
    rng.bytes(&mut clock);
    let sequence_id = rng.next_u64() as u16;
    let mut timestamp = [0u8; 10];
    rng.bytes(&mut timestamp);
    match n % 12 {
        0 => {
            let mut bytes = vec![0u8; 1 + (rng.next_u64() % 300) as usize];
            rng.bytes(&mut bytes);
            (bytes, n.is_multiple_of(24))
        }
        1 => (
            ptp(0x0, clock, sequence_id, &timestamp)[..20].to_vec(),
            true,
        ),
        2 => {
            let mut bytes = ptp(0xB, clock, sequence_id, &announce_body(clock, 128, 248));
            bytes[2..4].copy_from_slice(&900u16.to_be_bytes());
            (bytes, false)
        }
        3 => {
            // An Announce whose TLV claims 1000 bytes.
            let mut body = announce_body(clock, 128, 248);
            body.extend_from_slice(&[0x00, 0x08, 0x03, 0xE8, 1, 2, 3, 4]);
            (ptp(0xB, clock, sequence_id, &body), false)
        }
        4 => (Vec::new(), n % 24 == 4),
        5 => (ptp(0x0, clock, sequence_id, &timestamp), true),
        6 => (ptp(0x8, clock, sequence_id, &timestamp), false),
        7 => {
            let mut body = timestamp.to_vec();
            body.extend_from_slice(&[0x02, 0, 0, 0xff, 0xfe, 0, 0, 2, 0, 1]);
            (ptp(0x9, clock, sequence_id, &body), false)
        }
        8 => {
            let mut body = timestamp.to_vec();
            body.extend_from_slice(&[0x02, 0, 0, 0xff, 0xfe, 0, 0, 2, 0, 1]);
            (ptp(0x3, clock, sequence_id, &body), true)
        }
        9 | 10 => (
            ptp(0xB, clock, sequence_id, &announce_body(clock, 128, 248)),
            false,
        ),
        _ => {
            let spoofed = [0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01];
            (
                ptp(0xB, spoofed, (n / 12) as u16, &announce_body(spoofed, 0, 6)),
                false,
            )
        }
    }
}

/// Run in the attacker namespace: floods `APTP_FLOOD_TARGET` and the PTP multicast group.
#[test]
#[ignore = "helper run by `flood` inside the attacker namespace"]
fn flood_attacker() {
    let target: Ipv4Addr = std::env::var("APTP_FLOOD_TARGET")
        .expect("APTP_FLOOD_TARGET set")
        .parse()
        .expect("an IPv4 address");
    assert_eq!(
        target.octets()[..3],
        [192, 0, 2],
        "only the lab's addresses"
    );
    let socket = UdpSocket::bind("0.0.0.0:0").expect("bind");
    socket.set_multicast_ttl_v4(1).expect("TTL");
    let mut rng = Rng(17);
    // Built before the clock starts, so the loop only sends (4096 distinct datagrams,
    // identities and sequenceIds; a multiple of 12 so every kind goes to both
    // destinations).
    let pool: Vec<(Vec<u8>, SocketAddrV4)> = (0..4096u64)
        .map(|n| {
            let (bytes, event) = junk(&mut rng, n);
            let port = if event { 319 } else { 320 };
            let destination = if n % 3 == 2 { PTP_MULTICAST } else { target };
            (bytes, SocketAddrV4::new(destination, port))
        })
        .collect();
    let started = Instant::now();
    // Two sending threads: one syscall per datagram costs the sender the receivers' kernel
    // work too (veth, bridge, multicast copies), more than one core on a loaded machine.
    let threads: Vec<_> = (0..2u64)
        .map(|thread| {
            let pool = pool.clone();
            let socket = socket.try_clone().expect("clone the socket");
            std::thread::spawn(move || {
                let batch = FLOOD_RATE_PER_S / 200;
                let mut sent = 0u64;
                let mut n = 0u64;
                while started.elapsed() < Duration::from_secs(FLOOD_SECONDS) {
                    let due = started + Duration::from_millis(10 * (n / batch));
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    for _ in 0..batch {
                        let (bytes, destination) = &pool[((2 * n + thread) % 4096) as usize];
                        if socket.send_to(bytes, destination).is_ok() {
                            sent += 1;
                        }
                        n += 1;
                    }
                }
                sent
            })
        })
        .collect();
    let sent: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("sender thread"))
        .sum();
    println!("SENT {sent} {}", started.elapsed().as_secs_f64());
}

/// The clock identity ptp4l takes on `veth0` of `host`: the EUI-64 of its MAC, dotted.
fn clock_identity_of(host: &Host) -> String {
    let output = host
        .run(
            "cat",
            [format!("/sys/class/net/{INTERFACE}/address")],
            Duration::from_secs(5),
        )
        .expect("read the MAC");
    let mac: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .trim()
        .split(':')
        .map(str::to_owned)
        .collect();
    assert_eq!(mac.len(), 6, "{mac:?}");
    format!(
        "{}{}{}.fffe.{}{}{}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

fn config_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("aptp-flood-{}-{name}.cfg", std::process::id()));
    std::fs::write(&path, FAST).expect("temp dir writable");
    path
}

/// A master and a slave on `lab` (hosts 0 and 1).
fn start_pair(lab: &Lab, name: &str) -> (NsChild, NsChild, PathBuf) {
    let config = config_file(name);
    let mut master = lab.host(0).command(aptp_binary());
    master
        .args(["master", "--interface", INTERFACE, "--json", "--config"])
        .arg(&config)
        .args(["--duration", &(SLAVE_SECONDS + 5).to_string()]);
    let master = lab.host(0).spawn(master).expect("aptp master starts");
    let mut slave = lab.host(1).command(aptp_binary());
    slave
        .args(["slave", "--interface", INTERFACE, "--json"])
        .args(["--acceptable-master", &clock_identity_of(lab.host(0))])
        .args(["--duration", &SLAVE_SECONDS.to_string()]);
    let slave = lab.host(1).spawn(slave).expect("aptp starts");
    (master, slave, config)
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn json_lines(child: NsChild) -> (Vec<Value>, String) {
    let output = child
        .wait_with_output(Duration::from_secs(u64::from(SLAVE_SECONDS) + 30))
        .unwrap_or_else(|error| panic!("aptp did not finish: {error}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "aptp failed: {stderr}");
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    (lines, stderr)
}

fn p99_abs_offset(lines: &[Value]) -> f64 {
    let mut values: Vec<f64> = lines
        .iter()
        .filter_map(|line| line["offset_ns"].as_f64())
        .map(f64::abs)
        .collect();
    values.sort_by(f64::total_cmp);
    let rank = ((0.99 * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1));
    values.get(rank - 1).copied().unwrap_or(f64::INFINITY)
}

#[test]
fn flood() {
    match Command::new("ptp4l").arg("-v").output() {
        Ok(output) if output.status.success() => {}
        result => {
            assert!(!on_ci(), "flood: ptp4l does not run ({result:?})");
            eprintln!("SKIPPED flood: ptp4l does not run ({result:?})");
            return;
        }
    }
    aptp_binary();
    let Some(flooded) = lab_or_skip(Lab::bridge(3), "flood") else {
        return;
    };
    let Some(reference) = lab_or_skip(Lab::pair(), "flood") else {
        return;
    };
    let (flooded_master, flooded_slave, config_a) = start_pair(&flooded, "flooded");
    let (reference_master, reference_slave, config_b) = start_pair(&reference, "reference");
    let pid = flooded_slave.id();
    std::thread::sleep(Duration::from_secs(FLOOD_START_S - 1));
    let rss_before_kib = resident_kib(pid).expect("the flooded slave is alive before the flood");
    let exe = std::env::current_exe().expect("test binary path");
    let mut attacker = flooded.host(2).command(exe);
    attacker
        .args(["--exact", "flood_attacker", "--ignored", "--nocapture"])
        .env("APTP_FLOOD_TARGET", flooded.host(1).ipv4.to_string());
    let attacker = flooded.host(2).spawn(attacker).expect("attacker starts");
    let mut rss_max_kib = rss_before_kib;
    let flood_end = Instant::now() + Duration::from_secs(FLOOD_SECONDS);
    while Instant::now() < flood_end {
        std::thread::sleep(Duration::from_millis(500));
        let rss = resident_kib(pid).expect("the flooded slave stays alive during the flood");
        rss_max_kib = rss_max_kib.max(rss);
    }
    let attack = attacker
        .wait_with_output(Duration::from_secs(30))
        .expect("the attacker finishes");
    let attack_out = String::from_utf8_lossy(&attack.stdout).into_owned();
    let sent: f64 = attack_out
        .lines()
        .find_map(|line| line.strip_prefix("SENT "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("attacker output: {attack_out}"));
    let (lines, stderr) = json_lines(flooded_slave);
    let (reference_lines, _) = json_lines(reference_slave);
    drop((flooded_master, reference_master));
    let _ = std::fs::remove_file(config_a);
    let _ = std::fs::remove_file(config_b);
    let summary: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(second, line)| {
            format!(
                "{second}s {} offset {} received {} dropped {} measurements {}",
                line["state"],
                line["offset_ns"],
                line["received"],
                line["dropped"],
                line["measurements"]
            )
        })
        .collect();
    let context = format!(
        "flooded, one line a second:\n{}\nstderr: {stderr}",
        summary.join("\n")
    );
    // Seconds FLOOD_START_S..FLOOD_START_S + FLOOD_SECONDS of each slave's one-per-second
    // lines (a second of margin at each end for start-up skew).
    let window = |lines: &[Value]| -> Vec<Value> {
        let first = FLOOD_START_S as usize + 1;
        let last = (FLOOD_START_S + FLOOD_SECONDS) as usize - 1;
        lines
            .get(first..last.min(lines.len()))
            .unwrap_or(&[])
            .to_vec()
    };
    let during = window(&lines);
    let reference_during = window(&reference_lines);
    let rate = sent / FLOOD_SECONDS as f64;
    let growth_kib = rss_max_kib.saturating_sub(rss_before_kib);
    let p99 = p99_abs_offset(&during);
    let reference_p99 = p99_abs_offset(&reference_during);
    eprintln!(
        "flood: {sent} datagrams ({rate:.0}/s); flooded p99 |offset| {p99:.0} ns, reference {reference_p99:.0} ns; RSS {rss_before_kib} → max {rss_max_kib} KiB"
    );
    assert!(rate >= 50_000.0, "attacker too slow: {rate:.0}/s");
    assert!(
        during.len() >= 15,
        "too few lines during the flood: {context}"
    );
    let first_slave = lines
        .iter()
        .position(|line| line["state"] == "slave")
        .unwrap_or_else(|| panic!("never SLAVE: {context}"));
    assert!(
        first_slave < FLOOD_START_S as usize,
        "not locked before the flood: {context}"
    );
    for line in &lines[first_slave..] {
        assert_eq!(line["state"], "slave", "left SLAVE: {context}");
        assert!(line["offset_ns"].is_i64(), "no offset: {context}");
    }
    assert!(growth_kib < 10 * 1024, "RSS grew {growth_kib} KiB");
    assert!(
        p99 <= (2.0 * reference_p99).max(20_000.0),
        "flooded p99 {p99} ns vs reference {reference_p99} ns"
    );
}
