//! Flood tests (issue 17): a slave locked to its master keeps its lock while an attacker
//! namespace on the same segment sends junk to both PTP ports, unicast to the slave and to
//! the PTP multicast group, at 50 000+ datagrams per second for 20 s. Three slaves under
//! test, each in a rig of its own, one rig at a time (they would share two cores otherwise):
//!
//! - [`flood_aptp_slave`]: `aptp slave --acceptable-master` naming the real `aptp master`;
//! - [`flood_airplay_receiver`]: `aptp airplay-receiver --peer` naming the real
//!   `aptp airplay-sender`;
//! - [`flood_ptp4l`]: linuxptp's `ptp4l -s` (free-running, so the machine's clock is never
//!   steered) following the same `aptp master`: a measurement, printed beside aptp's in the
//!   README; it asserts only that ptp4l ran.
//!
//! The junk: random bytes, truncated headers, messageLength beyond the datagram, an
//! Announce with a TLV longer than the message, zero-length datagrams, valid-looking Sync,
//! Follow_Up and Delay_Resp from clocks that are not the master with wrong sequenceIds,
//! unsolicited Pdelay_Resp, Announces from many random identities and from a spoofed better
//! grandmaster (priority1 0, clockClass 6).
//!
//! The master is aptp's, not ptp4l: the multicast half of the flood reaches the master too,
//! and a ptp4l 3.1.1 master stops serving under it (measured here: the aptp slave's
//! measurements stopped the second the flood began and nothing more arrived after it; the
//! issue describes ptp4l going FAULTY on a single zero-length datagram or Pdelay_Resp).
//!
//! Each rig has a reference: the same master and slave on a second, unflooded segment (its own
//! namespaces), run at the same time, so both see the same machine load. The namespaces share
//! the kernel's clocks, so the truth is a zero offset and |offset| is the error.
//!
//! The aptp binary is the release build (what ships): the unoptimised debug build processes
//! about 7 000 datagrams a second on this machine, so under 50 000 a second its socket
//! buffers overflow and the master's own Sync, Follow_Up and Delay_Resp are lost with the
//! junk (measured: 200 000 datagrams dropped by the kernel on the slave's two sockets in 20 s,
//! one measurement a second instead of 16, p99 7.5 µs against 0.34 µs unflooded).
//!
//! An aptp subject holds when it is alive to the end, never leaves SLAVE once there, prints
//! an offset every second, its resident memory grows by less than 10 MiB during the flood,
//! and its p99 |offset| during the flood is within 2× the reference's, or within
//! [`P99_FLOOR_NS`] (see there).
//!
//! The attacker is this test binary re-executed in the attacker namespace
//! (`--exact flood_attacker --ignored`), sending only to its segment's 192.0.2.x address
//! and to 224.0.1.129 on that isolated segment.

use aptp_tests::netns::{lab_or_skip, on_ci, Host, Lab, NsChild, INTERFACE};
use aptp_tests::procs::{
    aptp_binary, json_lines, output_within, p99_abs, ptp4l_offsets, ptp4l_time, ptp4l_uds_argument,
    resident_kib, ConfigFile,
};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SLAVE_SECONDS: u64 = 36;
const FLOOD_START_S: u64 = 12;
const FLOOD_SECONDS: u64 = 20;
const FLOOD_RATE_PER_S: u64 = 70_000;
/// What every PTP node of these rigs shares (aptp master, aptp slave, ptp4l): one Announce
/// a second (the default profile's shortest; announce receipt timeout 3 s), 8 Syncs and 8
/// Delay_Reqs a second. With 4 Announces a second the timeout is 0.75 s: once in five runs
/// the flooded slave timed out and left SLAVE for 0.4 s with no datagram lost at its own
/// sockets (the master gets the multicast half of the flood unfiltered, as it must answer
/// any Delay_Req, so its Announces can come late on this loaded 2-core machine).
const FAST: &str =
    "[global]\nlogAnnounceInterval 0\nlogSyncInterval -3\nlogMinDelayReqInterval -3\n";
const PTP_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 129);
/// Below this a flooded p99 passes whatever the reference's: with an unflooded p99 of
/// 0.1–0.5 µs, 2× is 0.2–1 µs, less than what one descheduling of the slave between two
/// Syncs costs on this loaded 2-core machine without any flood (the reference itself moves
/// between runs by that much), so a bare 2× would test the scheduler, not the flood.
const P99_FLOOR_NS: f64 = 1_000.0;

/// One rig at a time: each floods two cores' worth of softirq work.
static RIG: Mutex<()> = Mutex::new(());
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

/// The clock identity a node takes on `veth0` of `host`: the EUI-64 of its MAC, dotted.
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

/// The slave under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    AptpSlave,
    AirplayReceiver,
    Ptp4l,
}

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Subject::AptpSlave => "aptp slave",
            Subject::AirplayReceiver => "aptp airplay-receiver",
            Subject::Ptp4l => "ptp4l",
        }
    }
}

/// The master of `lab` (host 0) for `subject`.
fn start_master(lab: &Lab, subject: Subject, config: &ConfigFile) -> NsChild {
    let host = lab.host(0);
    let mut master = host.command(aptp_binary(true));
    let duration = (SLAVE_SECONDS + 5).to_string();
    match subject {
        Subject::AptpSlave | Subject::Ptp4l => {
            master
                .args(["master", "--interface", INTERFACE, "--json", "--config"])
                .arg(config.path())
                .args(["--duration", &duration]);
        }
        Subject::AirplayReceiver => {
            master
                .args(["airplay-sender", "--interface", INTERFACE, "--json"])
                .args(["--peer", &lab.host(1).ipv4.to_string()])
                .args(["--duration", &duration]);
        }
    }
    host.spawn(master).expect("the master starts")
}

/// What an aptp slave under test logs: its state changes and master selections (info), so
/// its stderr says what happened; `APTP_FLOOD_TRACE` adds every measurement.
fn log_filter() -> &'static str {
    if std::env::var_os("APTP_FLOOD_TRACE").is_some() {
        "info,aptp::runtime::driver=trace"
    } else {
        "info"
    }
}

/// The slave under test on `lab` (host 1), following host 0.
fn start_subject(lab: &Lab, subject: Subject, config: &ConfigFile) -> NsChild {
    let host = lab.host(1);
    let duration = SLAVE_SECONDS.to_string();
    let command = match subject {
        Subject::AptpSlave => {
            let mut slave = host.command(aptp_binary(true));
            slave
                .env("RUST_LOG", log_filter())
                .args(["slave", "--interface", INTERFACE, "--json", "--config"])
                .arg(config.path())
                .args(["--acceptable-master", &clock_identity_of(lab.host(0))])
                .args(["--duration", &duration]);
            slave
        }
        Subject::AirplayReceiver => {
            let mut receiver = host.command(aptp_binary(true));
            receiver
                .env("RUST_LOG", log_filter())
                .args(["airplay-receiver", "--interface", INTERFACE, "--json"])
                .args(["--local-clock", "realtime"])
                .args(["--peer", &lab.host(0).ipv4.to_string()])
                .args(["--duration", &duration]);
            receiver
        }
        Subject::Ptp4l => {
            let mut ptp4l = host.command("ptp4l");
            ptp4l.args(["-i", INTERFACE, "-4", "-S", "-m", "-s", "-f"]);
            ptp4l.arg(config.path()).arg(ptp4l_uds_argument());
            ptp4l
        }
    };
    host.spawn(command).expect("the slave under test starts")
}

/// One slave's run: what it printed and when it started.
struct SubjectRun {
    output: Output,
    /// When the flood began, in seconds after this slave started.
    flood_from_s: f64,
}

/// Everything one rig measured.
struct RigRun {
    subject: Subject,
    /// The flooded rig's real master, dotted.
    master_identity: String,
    sent: f64,
    flooded: SubjectRun,
    reference: SubjectRun,
    rss_before_kib: u64,
    rss_max_kib: u64,
    socket_drops: u64,
}

impl RigRun {
    fn rate(&self) -> f64 {
        self.sent / FLOOD_SECONDS as f64
    }
}

/// Datagrams the kernel dropped in `host`'s namespace because a UDP socket's receive buffer
/// was full (`Udp: RcvbufErrors`; a socket filter's refusals are not counted there).
fn receive_buffer_errors(host: &Host) -> u64 {
    let Ok(output) = host.run("cat", ["/proc/net/snmp"], Duration::from_secs(5)) else {
        return 0;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut udp = text.lines().filter(|line| line.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "RcvbufErrors")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

/// Runs `subject` flooded and unflooded side by side.
fn run_rig(subject: Subject) -> Option<RigRun> {
    let _one_at_a_time = RIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let test = format!("flood {}", subject.name());
    aptp_binary(true);
    let flooded = lab_or_skip(Lab::bridge(3), &test)?;
    // The same topology (three hosts on a bridge, the third idle), so only the flood differs.
    let reference = lab_or_skip(Lab::bridge(3), &test)?;
    let master_config = ConfigFile::new("master", &format!("{FAST}priority1 1\n"));
    // The same PTP settings for aptp and ptp4l; ptp4l's file adds what only ptp4l reads: never
    // steer the machine's clock, and a `master offset` line a second rather than a summary.
    let slave_config = match subject {
        Subject::Ptp4l => ConfigFile::new(
            "slave",
            &format!(
                "{FAST}slaveOnly 1\nfree_running 1\nfreq_est_interval 0\nsummary_interval -3\n"
            ),
        ),
        _ => ConfigFile::new("slave", &format!("{FAST}slaveOnly 1\n")),
    };
    let masters = [
        start_master(&flooded, subject, &master_config),
        start_master(&reference, subject, &master_config),
    ];
    let flooded_started = Instant::now();
    let flooded_slave = start_subject(&flooded, subject, &slave_config);
    let reference_started = Instant::now();
    let reference_slave = start_subject(&reference, subject, &slave_config);
    let pid = flooded_slave.id();
    std::thread::sleep(Duration::from_secs(FLOOD_START_S - 1));
    let rss_before_kib = resident_kib(pid).expect("the flooded slave is alive before the flood");
    let drops_before = receive_buffer_errors(flooded.host(1));
    let exe = std::env::current_exe().expect("test binary path");
    let mut attacker = flooded.host(2).command(exe);
    attacker
        .args(["--exact", "flood_attacker", "--ignored", "--nocapture"])
        .env("APTP_FLOOD_TARGET", flooded.host(1).ipv4.to_string());
    let flood_started = Instant::now();
    let attacker = flooded.host(2).spawn(attacker).expect("attacker starts");
    let mut rss_max_kib = rss_before_kib;
    while flood_started.elapsed() < Duration::from_secs(FLOOD_SECONDS) {
        std::thread::sleep(Duration::from_millis(500));
        let rss = resident_kib(pid).expect("the flooded slave stays alive during the flood");
        rss_max_kib = rss_max_kib.max(rss);
    }
    let attack = attacker
        .wait_with_output(Duration::from_secs(30))
        .expect("the attacker finishes");
    let socket_drops = receive_buffer_errors(flooded.host(1)).saturating_sub(drops_before);
    let attack_out = String::from_utf8_lossy(&attack.stdout).into_owned();
    let sent: f64 = attack_out
        .lines()
        .find_map(|line| line.strip_prefix("SENT "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("attacker output: {attack_out}"));
    // ptp4l runs until killed: as long as an aptp slave's --duration.
    let deadline = Duration::from_secs(SLAVE_SECONDS + 30);
    let timeout = |started: Instant| match subject {
        Subject::Ptp4l => Duration::from_secs(SLAVE_SECONDS).saturating_sub(started.elapsed()),
        _ => deadline,
    };
    let flooded_output = output_within(flooded_slave, timeout(flooded_started));
    let reference_output = output_within(reference_slave, timeout(reference_started));
    drop(masters);
    let since = |started: Instant| flood_started.duration_since(started).as_secs_f64();
    Some(RigRun {
        subject,
        master_identity: clock_identity_of(flooded.host(0)),
        sent,
        flooded: SubjectRun {
            output: flooded_output,
            flood_from_s: since(flooded_started),
        },
        reference: SubjectRun {
            output: reference_output,
            flood_from_s: since(reference_started),
        },
        rss_before_kib,
        rss_max_kib,
        socket_drops,
    })
}

/// An aptp slave's or receiver's one-per-second JSON lines, and what they say.
struct AptpLines {
    lines: Vec<Value>,
    stderr: String,
}

impl AptpLines {
    fn of(run: &SubjectRun) -> Self {
        Self {
            lines: json_lines(&run.output),
            stderr: String::from_utf8_lossy(&run.output.stderr).into_owned(),
        }
    }

    /// The lines printed during the flood, the first second of it left out (line `i` is
    /// printed `i + 1` s after the start).
    fn during<'a>(&'a self, run: &SubjectRun) -> impl Iterator<Item = &'a Value> {
        let from = run.flood_from_s + 1.0;
        let to = run.flood_from_s + FLOOD_SECONDS as f64;
        self.lines.iter().enumerate().filter_map(move |(i, line)| {
            let at = (i + 1) as f64;
            (from..=to).contains(&at).then_some(line)
        })
    }

    fn p99_during(&self, run: &SubjectRun) -> f64 {
        p99_abs(
            self.during(run)
                .filter_map(|line| line["offset_ns"].as_f64()),
        )
    }

    fn summary(&self) -> String {
        self.lines
            .iter()
            .enumerate()
            .map(|(second, line)| {
                format!(
                    "{}s {} offset {} received {} dropped {} measurements {}",
                    second + 1,
                    line["state"],
                    line["offset_ns"],
                    line["received"],
                    line["dropped"]
                        .as_u64()
                        .or(line["not_a_peer"].as_u64())
                        .unwrap_or(0),
                    line["measurements"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Checks the criteria on an aptp slave or receiver, and prints the figures. The
/// hard ones (alive, a line a second, never out of SLAVE, memory) are asserted here; an
/// attacker below the 50 000 datagrams a second (a busy machine) and the statistical
/// one, flooded p99 within 2× the unflooded twin's, are returned: both p99s are the largest
/// of about 20 one-second samples on a shared 2-core machine, and the twin's alone moves
/// between 0.3 and 1 µs from run to run.
fn assert_aptp_holds(run: &RigRun) -> Result<(), String> {
    let flooded = AptpLines::of(&run.flooded);
    let reference = AptpLines::of(&run.reference);
    let p99 = flooded.p99_during(&run.flooded);
    let reference_p99 = reference.p99_during(&run.reference);
    let growth_kib = run.rss_max_kib.saturating_sub(run.rss_before_kib);
    let during = flooded.during(&run.flooded).count();
    let out_of_slave = flooded
        .during(&run.flooded)
        .filter(|line| line["state"] != "slave")
        .count();
    let context = format!(
        "flooded, one line a second:\n{}\nstderr: {}\nreference:\n{}",
        flooded.summary(),
        flooded.stderr,
        reference.summary()
    );
    if let Some(dir) = std::env::var_os("APTP_FLOOD_TRACE") {
        let dir = PathBuf::from(dir);
        let _ = std::fs::write(dir.join("flooded.log"), &flooded.stderr);
        let _ = std::fs::write(dir.join("reference.log"), &reference.stderr);
    }
    eprintln!("{context}");
    eprintln!(
        "FLOOD {}: {:.0} datagrams/s for {FLOOD_SECONDS} s; p99 |offset| reference {reference_p99:.0} ns, \
         flooded {p99:.0} ns; {out_of_slave} s out of SLAVE; RSS {} → max {} KiB (+{growth_kib}); \
         receive-buffer overflows {}; stderr lines {} flooded, {} reference",
        run.subject.name(),
        run.rate(),
        run.rss_before_kib,
        run.rss_max_kib,
        run.socket_drops,
        flooded.stderr.lines().count(),
        reference.stderr.lines().count(),
    );
    assert!(
        run.flooded.output.status.success(),
        "{}: {context}",
        run.subject.name()
    );
    if run.rate() < 50_000.0 {
        // The attacker, not the subject, fell short: the machine was busy. Run again.
        return Err(format!("attacker too slow: {:.0}/s", run.rate()));
    }
    assert!(
        during >= FLOOD_SECONDS as usize - 2,
        "too few lines during the flood: {context}"
    );
    let first_slave = flooded
        .lines
        .iter()
        .position(|line| line["state"] == "slave")
        .unwrap_or_else(|| panic!("never SLAVE: {context}"));
    assert!(
        (first_slave as f64) + 1.0 < run.flooded.flood_from_s,
        "not locked before the flood: {context}"
    );
    for line in &flooded.lines[first_slave..] {
        assert_eq!(line["state"], "slave", "left SLAVE: {context}");
        assert!(line["offset_ns"].is_i64(), "no offset: {context}");
    }
    assert!(growth_kib < 10 * 1024, "RSS grew {growth_kib} KiB");
    if p99 <= (2.0 * reference_p99).max(P99_FLOOR_NS) {
        Ok(())
    } else {
        Err(format!(
            "flooded p99 {p99} ns vs reference {reference_p99} ns: {context}"
        ))
    }
}

/// Runs the rig for an aptp subject; when only the attacker's rate or the p99 comparison
/// fails, the whole rig (flood and twin) runs once more and must pass: a real regression
/// fails both, one slow excursion of a few µs in 20 samples (seen once in about ten runs)
/// does not.
fn aptp_subject_holds(subject: Subject) {
    let Some(run) = run_rig(subject) else {
        return;
    };
    let Err(first) = assert_aptp_holds(&run) else {
        return;
    };
    eprintln!(
        "FLOOD {}: attacker rate or p99 comparison failed, the rig runs once more: {first}",
        subject.name()
    );
    let again = run_rig(subject).expect("the rig ran a moment ago");
    if let Err(second) = assert_aptp_holds(&again) {
        panic!("twice: first {first}\n\nthen {second}");
    }
}

#[test]
fn flood_aptp_slave() {
    aptp_subject_holds(Subject::AptpSlave);
}

/// The AirPlay receiver follows only its peers: the spoofed grandmaster's Announces and the
/// other clocks' Syncs come from an address not in its peer list.
#[test]
fn flood_airplay_receiver() {
    aptp_subject_holds(Subject::AirplayReceiver);
}

/// What ptp4l printed: its offsets in the flood window and its state changes.
struct Ptp4lRun {
    text: String,
    offsets: Vec<f64>,
    /// State changes and master selections during the flood, as ptp4l printed them.
    events: Vec<String>,
    /// Seconds of the flood window spent not following the real master (UNCALIBRATED or SLAVE
    /// with it selected).
    not_following_s: f64,
    lines: usize,
}

impl Ptp4lRun {
    fn of(run: &SubjectRun, master: &str) -> Self {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&run.output.stdout),
            String::from_utf8_lossy(&run.output.stderr)
        );
        // ptp4l stamps its lines with its own clock: its first line is its start.
        let start = text.lines().find_map(ptp4l_time).unwrap_or(0.0);
        let from = start + run.flood_from_s + 1.0;
        let to = start + run.flood_from_s + FLOOD_SECONDS as f64;
        let offsets = ptp4l_offsets(&text)
            .into_iter()
            .filter(|offset| (from..=to).contains(&offset.at_s))
            .map(|offset| offset.offset_ns)
            .collect();
        let mut events = Vec::new();
        let mut following = false;
        let mut following_state = false;
        let mut real_master = false;
        let mut since = from;
        let mut not_following_s = 0.0;
        for line in text.lines() {
            let Some(at) = ptp4l_time(line) else { continue };
            let Some(change) = line.split(": ").nth(2).or(line.split(": ").nth(1)) else {
                continue;
            };
            let transition = line.contains(" to ") && line.contains(" on ");
            if (from - 2.0..=to).contains(&at)
                && (transition || line.contains("selected") || line.contains("foreign master"))
            {
                events.push(format!("{:.1}s {change}", at - start - run.flood_from_s));
            }
            if line.contains("selected best master clock") {
                real_master = line.contains(master);
            }
            if transition || line.contains("selected best master clock") {
                let now_following = real_master
                    && if transition {
                        line.contains(" to UNCALIBRATED") || line.contains(" to SLAVE")
                    } else {
                        following_state
                    };
                if transition {
                    following_state =
                        line.contains(" to UNCALIBRATED") || line.contains(" to SLAVE");
                }
                let clipped = at.clamp(from, to);
                if !following {
                    not_following_s += clipped - since.clamp(from, to);
                }
                following = now_following;
                since = clipped;
            }
        }
        if !following {
            not_following_s += to - since.clamp(from, to);
        }
        Self {
            lines: text.lines().count(),
            text,
            offsets,
            events,
            not_following_s,
        }
    }
}

/// ptp4l (3.1.1 has no acceptable-master list, so it runs without one) under the same
/// flood: a measurement. ptp4l leaving SLAVE, choosing the spoofed grandmaster or going
/// FAULTY is a finding for the README, not a failure; the test fails only if ptp4l or the
/// attacker did not run.
#[test]
fn flood_ptp4l() {
    match Command::new("ptp4l").arg("-v").output() {
        Ok(output) if output.status.success() => {}
        result => {
            assert!(!on_ci(), "flood_ptp4l: ptp4l does not run ({result:?})");
            eprintln!("SKIPPED flood_ptp4l: ptp4l does not run ({result:?})");
            return;
        }
    }
    let Some(run) = run_rig(Subject::Ptp4l) else {
        return;
    };
    let flooded = Ptp4lRun::of(&run.flooded, &run.master_identity);
    let reference = Ptp4lRun::of(&run.reference, "");
    eprintln!(
        "ptp4l flooded:\n{}\nptp4l during the flood:\n{}",
        flooded.text,
        flooded.events.join("\n")
    );
    let growth_kib = run.rss_max_kib.saturating_sub(run.rss_before_kib);
    eprintln!(
        "FLOOD ptp4l: {:.0} datagrams/s for {FLOOD_SECONDS} s; p99 |offset| reference {:.0} ns \
         ({} offsets), flooded {:.0} ns ({} offsets); {:.1} s not following the real master; \
         RSS {} → max {} KiB (+{growth_kib}); receive-buffer overflows {}; output lines {} flooded, \
         {} reference",
        run.rate(),
        p99_abs(reference.offsets.iter().copied()),
        reference.offsets.len(),
        p99_abs(flooded.offsets.iter().copied()),
        flooded.offsets.len(),
        flooded.not_following_s,
        run.rss_before_kib,
        run.rss_max_kib,
        run.socket_drops,
        flooded.lines,
        reference.lines,
    );
    assert!(
        run.rate() >= 50_000.0,
        "attacker too slow: {:.0}/s",
        run.rate()
    );
    assert!(
        flooded.text.contains("UNCALIBRATED") && reference.offsets.len() >= 10,
        "ptp4l did not run: {}\nreference: {}",
        flooded.text,
        reference.text
    );
}
