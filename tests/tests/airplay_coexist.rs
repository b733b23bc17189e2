//! `aptp airplay-receiver` beside ptp4l on one host: ptp4l holds 319/320, the receiver binds
//! ephemeral ports and `--redirect-from-standard-ports` has the kernel hand it the timing
//! peer's PTP datagrams (nftables, stateless destination-port rewrite), and only those.
//!
//! Three namespaces on one bridge: `aptp airplay-sender` (192.0.2.1), the receiver host
//! (192.0.2.2: a ptp4l slave and `aptp airplay-receiver`), and a ptp4l master (192.0.2.3)
//! that the ptp4l slave follows by multicast all along. The test asserts that:
//! - the receiver cannot bind 319/320 there (so the mode is needed at all);
//! - with the redirect, it locks to the sender (two way: the Delay_Resp to 320 is redirected
//!   too), with kernel receive timestamps, and says which ports it bound;
//! - the rules counted the peer's datagrams while it ran and are gone once it exits;
//! - ptp4l is still running at the end and printed its `master offset` lines without a gap
//!   through the whole run, so it kept receiving its own master's traffic.
//!
//! Once over IPv4 and once over IPv6 (ptp4l `-4`/`-6`, the `ip`/`ip6` rules).
//!
//! Without namespaces, ptp4l or nft the test prints why and skips; with `CI=true` it fails.

use std::process::Command;
use std::time::{Duration, Instant};

use aptp_tests::netns::{lab_or_skip, on_ci, Host, Lab, LabError, INTERFACE};
use aptp_tests::procs::{aptp_binary, ptp4l_uds_argument, ConfigFile};
use serde_json::Value;

/// How long the receiver runs.
const RUN_S: u64 = 20;
/// The table `--redirect-from-standard-ports` installs.
const TABLE: &str = "aptp_airplay_receiver";
/// The longest silence allowed between two of the ptp4l slave's `master offset` lines (it
/// prints one a second).
const MAX_GAP_S: f64 = 6.0;
/// How long ptp4l gets to start following its master before the AirPlay side starts.
const STARTUP_S: u64 = 5;

/// `tool --version` runs, or `None` after printing why the test is skipped (panics on CI).
fn tool_or_skip(tool: &str, package: &str, test: &str) -> Option<()> {
    let version_flag = if tool == "ptp4l" { "-v" } else { "--version" };
    match Command::new(tool).arg(version_flag).output() {
        Ok(output) if output.status.success() => Some(()),
        result => {
            let reason = format!("{tool} (package {package}) does not run: {result:?}");
            assert!(!on_ci(), "{test}: {reason}");
            eprintln!("SKIPPED {test}: {reason}");
            None
        }
    }
}

/// A ptp4l-style config file: `global` under a `[global]` section.
fn ptp4l_config(name: &str, global: &str) -> ConfigFile {
    ConfigFile::new(name, &format!("[global]\n{global}"))
}

fn json_lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// `nft list table inet aptp_airplay_receiver` in `host`: the listing, or `None` if there is
/// no such table.
fn redirect_table(host: &Host) -> Option<String> {
    let output = host
        .run(
            "nft",
            ["list", "table", "inet", TABLE],
            Duration::from_secs(10),
        )
        .expect("nft runs");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The packet counter of the rule rewriting `dport` in a table listing.
fn rule_packets(listing: &str, dport: u16) -> u64 {
    listing
        .lines()
        .find(|line| line.contains(&format!("udp dport {dport} counter")))
        .and_then(|line| {
            let mut words = line.split_whitespace();
            words.find(|word| *word == "packets")?;
            words.next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no counted rule for {dport} in:\n{listing}"))
}

/// The time (ptp4l's own clock, s) of each line of ptp4l's output that contains `what`.
fn line_times(log: &str, what: &str) -> Vec<f64> {
    log.lines()
        .filter(|line| line.contains(what))
        .filter_map(|line| {
            let start = line.find('[')? + 1;
            let end = start + line[start..].find(']')?;
            line[start..end].parse().ok()
        })
        .collect()
}

/// The address family a run uses, for PTP and for the AirPlay roles.
#[derive(Clone, Copy)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// `host`'s address in this family.
    fn address(self, host: &Host) -> String {
        match self {
            Family::V4 => host.ipv4.to_string(),
            Family::V6 => host.ipv6.to_string(),
        }
    }

    /// ptp4l's transport flag.
    fn ptp4l_flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }

    /// The nft match of a source address in this family.
    fn nft_saddr(self) -> &'static str {
        match self {
            Family::V4 => "ip saddr",
            Family::V6 => "ip6 saddr",
        }
    }
}

#[test]
fn receiver_on_ephemeral_ports_beside_ptp4l() {
    beside_ptp4l(Family::V4, "receiver_on_ephemeral_ports_beside_ptp4l");
}

#[test]
fn receiver_on_ephemeral_ports_beside_ptp4l_over_ipv6() {
    beside_ptp4l(
        Family::V6,
        "receiver_on_ephemeral_ports_beside_ptp4l_over_ipv6",
    );
}

fn beside_ptp4l(family: Family, test: &str) {
    if tool_or_skip("ptp4l", "linuxptp", test).is_none()
        || tool_or_skip("nft", "nftables", test).is_none()
    {
        return;
    }
    let Some(lab) = lab_or_skip(Lab::bridge(3), test) else {
        return;
    };
    let aptp = aptp_binary(false);
    let (sender_host, receiver_host, master_host) = (lab.host(0), lab.host(1), lab.host(2));

    // ptp4l: a master on its own host, a free-running slave (a line a second) on the
    // receiver's host, where it holds 319/320.
    // Announces at 4 Hz, so the slave selects its master within a couple of seconds, and
    // Delay_Req at 4 Hz on both sides (ptp4l's slave starts with its own interval, then takes
    // the master's from the Delay_Resp, and sends each at a random instant within twice it:
    // up to 2 s at the default 1 Hz, which with a loaded machine's start-up could leave the
    // first offset line after STARTUP_S).
    let master_config = ptp4l_config(
        &format!("{}-master", family.ptp4l_flag()),
        "priority1 1\nfree_running 1\nlogAnnounceInterval -2\nlogMinDelayReqInterval -2\n",
    );
    let slave_config = ptp4l_config(
        &format!("{}-slave", family.ptp4l_flag()),
        "slaveOnly 1\nfree_running 1\nlogAnnounceInterval -2\nlogMinDelayReqInterval -2\n\
         freq_est_interval 0\ntx_timestamp_timeout 100\n",
    );
    let ptp4l = |host: &Host, config: &ConfigFile| {
        let mut command = host.command("ptp4l");
        command.args([
            "-i",
            INTERFACE,
            "-S",
            family.ptp4l_flag(),
            "-m",
            "-f",
            config.path(),
        ]);
        command.arg(ptp4l_uds_argument());
        host.spawn(command).expect("ptp4l starts")
    };
    let _master = ptp4l(master_host, &master_config);
    let slave = ptp4l(receiver_host, &slave_config);
    let slave_started = Instant::now();
    std::thread::sleep(Duration::from_secs(STARTUP_S));

    // On PTP's own ports the receiver cannot start beside ptp4l.
    let blocked = receiver_host
        .run(
            aptp.to_str().expect("UTF-8 path"),
            [
                "airplay-receiver",
                "--bind",
                &family.address(receiver_host),
                "--peer",
                &family.address(sender_host),
                "--duration",
                "1",
            ],
            Duration::from_secs(20),
        )
        .expect("the receiver runs");
    let blocked_stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        !blocked.status.success() && blocked_stderr.contains("already in use"),
        "ptp4l should hold 319/320: {:?} {blocked_stderr}",
        blocked.status
    );

    let mut sender = sender_host.command(aptp);
    sender.args(["airplay-sender", "--json", "--duration"]);
    sender.arg((RUN_S + 5).to_string());
    sender.args(["--bind", &family.address(sender_host)]);
    sender.args(["--peer", &family.address(receiver_host)]);
    let sender = sender_host.spawn(sender).expect("sender starts");

    let mut receiver = receiver_host.command(aptp);
    receiver.args(["airplay-receiver", "--json", "--duration"]);
    receiver.arg(RUN_S.to_string());
    receiver.args(["--bind", &family.address(receiver_host)]);
    receiver.args(["--peer", &family.address(sender_host)]);
    // The sender's timescale is CLOCK_REALTIME: on the same clock, the true offset is 0.
    receiver.args(["--local-clock", "realtime"]);
    receiver.args([
        "--event-port",
        "0",
        "--general-port",
        "0",
        "--redirect-from-standard-ports",
    ]);
    let receiver = receiver_host.spawn(receiver).expect("receiver starts");

    // Half way: the rules are there and have counted the sender's datagrams to both ports.
    std::thread::sleep(Duration::from_secs(RUN_S / 2));
    let listing = redirect_table(receiver_host).expect("the redirect table is installed");
    let (event_packets, general_packets) =
        (rule_packets(&listing, 319), rule_packets(&listing, 320));
    assert!(
        event_packets > 0 && general_packets > 0,
        "nothing redirected:\n{listing}"
    );
    assert!(
        listing.contains(&format!(
            "{} {}",
            family.nft_saddr(),
            family.address(sender_host)
        )),
        "the rules must name the peer only:\n{listing}"
    );

    let receiver_output = receiver
        .wait_with_output(Duration::from_secs(RUN_S + 20))
        .expect("the receiver ends by itself");
    let receiver_stderr = String::from_utf8_lossy(&receiver_output.stderr);
    assert!(
        receiver_output.status.success(),
        "receiver failed: {receiver_stderr}"
    );
    assert!(
        redirect_table(receiver_host).is_none(),
        "the receiver left its rules behind"
    );
    let sender_output = sender
        .wait_with_output(Duration::from_secs(30))
        .expect("the sender ends by itself");
    let sender_lines = json_lines(&sender_output.stdout);
    let clock_id = sender_lines
        .first()
        .map(|line| line["clock_id"].clone())
        .unwrap_or_else(|| {
            panic!(
                "sender printed nothing: {}",
                String::from_utf8_lossy(&sender_output.stderr)
            )
        });

    let lines = json_lines(&receiver_output.stdout);
    let first = lines
        .first()
        .unwrap_or_else(|| panic!("receiver printed nothing: {receiver_stderr}"));
    let port = |key: &str| {
        first[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {first}"))
    };
    let (event_port, general_port) = (port("event_port"), port("general_port"));
    for bound in [event_port, general_port] {
        assert!(
            bound != 0 && bound != 319 && bound != 320,
            "ports {event_port}/{general_port}"
        );
    }
    let last = lines.last().expect("a line");
    assert_eq!(last["state"], "slave", "{last}");
    assert_eq!(last["master"], clock_id, "{last}");
    assert_eq!(last["two_way"], true, "Delay_Resp reaches it: {last}");
    assert_eq!(last["event_port"].as_u64(), Some(event_port), "{last}");
    let kernel = last["rx_kernel_timestamps"].as_u64().expect("counter");
    let user = last["rx_user_timestamps"].as_u64().expect("counter");
    assert!(
        kernel > 100 && user * 10 <= kernel,
        "kernel receive timestamps survive the rewrite: {kernel} kernel, {user} user"
    );
    let offsets: Vec<i64> = lines
        .iter()
        .skip(RUN_S as usize / 2)
        .filter_map(|line| line["offset_ns"].as_i64())
        .collect();
    assert!(offsets.len() >= 5, "too few offsets: {lines:?}");
    // One kernel clock: the truth is 0. Loose bound for a loaded 2-core machine.
    let worst = offsets.iter().map(|o| o.unsigned_abs()).max().unwrap_or(0);
    assert!(worst < 500_000, "offsets {offsets:?}");

    // ptp4l still runs, and kept following its master the whole time.
    let elapsed = slave_started.elapsed().as_secs_f64();
    let slave_output = match slave.wait_with_output(Duration::from_millis(200)) {
        Err(LabError::Timeout { output, .. }) => output,
        Ok(output) => panic!(
            "ptp4l exited during the run ({:?}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!("ptp4l: {error}"),
    };
    let slave_log = format!(
        "{}{}",
        String::from_utf8_lossy(&slave_output.stdout),
        String::from_utf8_lossy(&slave_output.stderr)
    );
    // ptp4l's own clock: its first line is its start; it measured before the AirPlay side
    // started, and then without a gap to the end.
    let started_at = line_times(&slave_log, "]: ")
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no ptp4l line:\n{slave_log}"));
    let times = line_times(&slave_log, "master offset");
    assert!(times.len() >= 10, "ptp4l measured too little:\n{slave_log}");
    let widest_gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let (first_offset, last_offset) = (times[0] - started_at, times[times.len() - 1] - started_at);
    assert!(
        first_offset <= STARTUP_S as f64
            && widest_gap <= MAX_GAP_S
            && last_offset >= elapsed - MAX_GAP_S,
        "ptp4l did not follow its master through the run: first line at {first_offset:.1} s, \
         last at {last_offset:.1} s of {elapsed:.1} s, widest gap {widest_gap:.1} s:\n{slave_log}"
    );
    let span = last_offset - first_offset;
    for bad in ["FAULTY", "failed", "bad message"] {
        assert!(!slave_log.contains(bad), "ptp4l logged {bad}:\n{slave_log}");
    }
    if std::env::var_os("APTP_COEXIST_LOG").is_some() {
        println!("elapsed {elapsed:.1} s; ptp4l slave log:\n{slave_log}");
    }
    println!(
        "beside ptp4l ({}): receiver on {event_port}/{general_port}, {event_packets}+{general_packets} datagrams redirected by half time, \
         {} offsets after half time within {:.1} µs, ptp4l {} master offset lines over {span:.1} s (widest gap {widest_gap:.1} s)",
        family.ptp4l_flag(),
        offsets.len(),
        worst as f64 / 1e3,
        times.len()
    );
}
