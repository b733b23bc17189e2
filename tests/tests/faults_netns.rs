//! Fault tests with real processes in namespaces (issue 17): an `aptp slave` follows an
//! `aptp master` on a bridge, a fault is injected, and the slave must re-lock within a bound
//! and say what happened (its state changes and master selections, logged at info level on
//! stderr, and the state in its JSON lines).
//!
//! - [`master_process_restarted`]: the master is killed and started again 2 s later, with
//!   the same clock identity (taken from the interface's MAC) and its sequenceIds starting
//!   over;
//! - [`master_clock_stepped`]: the master's timescale steps by +1 s (`aptp master`'s hidden
//!   `--step-after`/`--step-ns`, which shift every timestamp of that process: the namespaces
//!   share one kernel clock, which must not be touched);
//! - [`link_down_10_s`]: the slave's bridge port goes down for 10 s, then up.
//!
//! Re-lock time: from the end of the fault (restart, step, link up) to the first JSON line
//! (one a second) in SLAVE with |offset| below [`LOCKED_NS`]. The namespaces share the
//! kernel's clocks, so the true offset is zero (the stepped master's: the step).
//!
//! All three run the release build (what ships) one at a time; each takes about 30 s.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aptp_tests::netns::{lab_or_skip, Lab, NsChild, INTERFACE};
use aptp_tests::procs::{aptp_binary, json_lines, output_within, ConfigFile};
use serde_json::Value;

/// Intervals of both nodes: 4 Announces, 8 Syncs, 8 Delay_Reqs a second.
const FAST: &str =
    "[global]\nlogAnnounceInterval -2\nlogSyncInterval -3\nlogMinDelayReqInterval -3\n";
/// |offset| below this counts as locked: 10× the unfaulted slave's p99 on this loaded
/// machine (1–3 µs on a bridge), far below a lost lock or a step.
const LOCKED_NS: f64 = 20_000.0;
/// Re-lock within this many seconds after the fault ends. Measured: see the README; the
/// announce receipt timeout (0.75 s), a new master selection and the estimator's
/// calibration take a few seconds, so 10 s fails only a slave that does not recover.
const RELOCK_BOUND_S: f64 = 10.0;
const RUN_S: u64 = 30;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The master's and the slave's config: the fast intervals, the master preferred.
fn config_file(name: &str) -> ConfigFile {
    ConfigFile::new(name, &format!("{FAST}priority1 1\n"))
}

fn start_master(lab: &Lab, config: &ConfigFile, seconds: u64, extra: &[&str]) -> NsChild {
    let host = lab.host(0);
    let mut master = host.command(aptp_binary(true));
    master
        .env("RUST_LOG", "info")
        .args(["master", "--interface", INTERFACE, "--json", "--config"])
        .arg(config.path())
        .args(["--duration", &seconds.to_string()])
        .args(extra);
    host.spawn(master).expect("aptp master starts")
}

fn start_slave(lab: &Lab, config: &ConfigFile) -> NsChild {
    let host = lab.host(1);
    let mut slave = host.command(aptp_binary(true));
    slave
        .env("RUST_LOG", "info")
        .args(["slave", "--interface", INTERFACE, "--json", "--config"])
        .arg(config.path())
        .args(["--duration", &RUN_S.to_string()]);
    host.spawn(slave).expect("aptp slave starts")
}

/// What the slave printed, with the fault's end in seconds after the slave started.
struct Faulted {
    lines: Vec<Value>,
    stderr: String,
    fault_from_s: f64,
    fault_end_s: f64,
    /// The fault's end in seconds since the Unix epoch, to place the log's time stamps.
    fault_end_unix_s: f64,
}

/// Seconds since the Unix epoch of a log line's RFC 3339 UTC time stamp
/// (`2026-11-26T01:57:53.513818Z …`, as the aptp CLI logs).
fn log_time(line: &str) -> Option<f64> {
    let stamp = line.get(..line.find('Z')?)?;
    let (date, time) = stamp.split_once('T')?;
    let mut date = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.split(':');
    let hours: f64 = time.next()?.parse().ok()?;
    let minutes: f64 = time.next()?.parse().ok()?;
    let seconds: f64 = time.next()?.parse().ok()?;
    // Days from 1970-01-01 to the civil date (proleptic Gregorian).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days as f64 * 86_400.0 + hours * 3_600.0 + minutes * 60.0 + seconds)
}

impl Faulted {
    fn collect(slave: NsChild, started: Instant, fault_from: Instant, fault_end: Instant) -> Self {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        let fault_end_unix_s = now_unix - fault_end.elapsed().as_secs_f64();
        let output = output_within(slave, Duration::from_secs(RUN_S + 20));
        Self {
            fault_end_unix_s,
            lines: json_lines(&output),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            fault_from_s: fault_from.duration_since(started).as_secs_f64(),
            fault_end_s: fault_end.duration_since(started).as_secs_f64(),
        }
    }

    /// Whether line `i` (printed `i + 1` s after the start) shows a lock: SLAVE and
    /// |offset − truth| below [`LOCKED_NS`].
    fn locked(line: &Value, truth_ns: f64) -> bool {
        line["state"] == "slave"
            && line["offset_ns"]
                .as_f64()
                .is_some_and(|offset| (offset - truth_ns).abs() < LOCKED_NS)
    }

    /// Seconds from the fault's end to the first locked line after it.
    fn relock_s(&self, truth_ns: f64) -> Option<f64> {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, line)| ((i + 1) as f64, line))
            .filter(|(at, _)| *at > self.fault_end_s)
            .find(|(_, line)| Self::locked(line, truth_ns))
            .map(|(at, _)| at - self.fault_end_s)
    }

    /// Seconds from the fault's end to the first log line containing `event` after it (from
    /// half a second before: a step is detected at once).
    fn event_after_s(&self, event: &str) -> Option<f64> {
        self.stderr
            .lines()
            .filter(|line| line.contains(event))
            .filter_map(log_time)
            .map(|at| at - self.fault_end_unix_s)
            .find(|after| *after > -0.5)
    }

    /// The states the JSON lines went through from the fault on, in order, repeats folded.
    fn states_after_fault(&self) -> Vec<String> {
        let mut states: Vec<String> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if ((i + 1) as f64) < self.fault_from_s {
                continue;
            }
            let state = line["state"].as_str().unwrap_or("?").to_owned();
            if states.last() != Some(&state) {
                states.push(state);
            }
        }
        states
    }

    fn context(&self) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("{}s {} offset {}", i + 1, line["state"], line["offset_ns"]))
            .collect();
        format!(
            "fault {:.1}–{:.1} s\n{}\nstderr:\n{}",
            self.fault_from_s,
            self.fault_end_s,
            lines.join("\n"),
            self.stderr
        )
    }

    /// Checks the lock before the fault and the re-lock after it; prints and returns the
    /// re-lock time.
    fn assert_relocks(&self, fault: &str, event: &str, truth_ns: f64) -> f64 {
        let context = self.context();
        eprintln!("{fault}:\n{context}");
        let before = self
            .lines
            .iter()
            .enumerate()
            .rev()
            .find(|(i, _)| ((i + 2) as f64) < self.fault_from_s)
            .map(|(_, line)| line);
        assert!(
            before.is_some_and(|line| Self::locked(line, 0.0)),
            "not locked before the fault: {context}"
        );
        let relock = self
            .relock_s(truth_ns)
            .unwrap_or_else(|| panic!("{fault}: never re-locked: {context}"));
        let event_after = self
            .event_after_s(event)
            .unwrap_or_else(|| panic!("{fault}: no `{event}` logged after it: {context}"));
        eprintln!(
            "FAULT {fault}: `{event}` logged {event_after:.2} s and re-locked {relock:.1} s after \
             the fault ended; states {:?}",
            self.states_after_fault()
        );
        assert!(
            relock <= RELOCK_BOUND_S,
            "{fault}: re-lock took {relock:.1} s: {context}"
        );
        relock
    }
}

/// The master killed at 10 s and started again at 12 s: same clock identity, sequenceIds
/// from 0. The slave loses the master (announce receipt timeout), selects it again, and
/// re-locks.
#[test]
fn log_times_are_unix_seconds() {
    assert_eq!(log_time("1970-01-01T00:00:01.5Z INFO x"), Some(1.5));
    assert_eq!(
        log_time("2026-11-26T01:57:53.25Z  WARN ptp_node"),
        Some(1_795_658_273.25)
    );
    assert_eq!(log_time("2000-03-01T00:00:00Z"), Some(951_868_800.0));
    assert_eq!(log_time("no time here"), None);
}

#[test]
fn master_process_restarted() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    aptp_binary(true);
    let Some(lab) = lab_or_skip(Lab::bridge(2), "master_process_restarted") else {
        return;
    };
    let config = config_file("restart");
    let first = start_master(&lab, &config, RUN_S + 5, &[]);
    let started = Instant::now();
    let slave = start_slave(&lab, &config);
    std::thread::sleep(Duration::from_secs(10));
    let killed = Instant::now();
    let first_output = output_within(first, Duration::ZERO);
    std::thread::sleep(Duration::from_secs(2));
    let restarted = Instant::now();
    let second = start_master(&lab, &config, RUN_S, &[]);
    let faulted = Faulted::collect(slave, started, killed, restarted);
    let second_output = output_within(second, Duration::from_secs(5));
    let identity = |lines: &[Value]| lines.first().map(|line| line["clock_id"].clone());
    assert_eq!(
        identity(&json_lines(&first_output)),
        identity(&json_lines(&second_output)),
        "the restarted master has another clock identity"
    );
    assert!(identity(&json_lines(&first_output)).is_some());
    faulted.assert_relocks("master process restarted", "selected master", 0.0);
    let context = faulted.context();
    let states = faulted.states_after_fault();
    assert!(
        states.iter().any(|state| state != "slave"),
        "the slave did not notice the master's absence: {context}"
    );
    assert!(
        faulted.stderr.matches("selected master").count() >= 2,
        "no second master selection logged: {context}"
    );
}

/// The slave's bridge port down from 10 s to 20 s.
#[test]
fn link_down_10_s() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    aptp_binary(true);
    let Some(lab) = lab_or_skip(Lab::bridge(2), "link_down_10_s") else {
        return;
    };
    let config = config_file("link");
    let master = start_master(&lab, &config, RUN_S + 5, &[]);
    let started = Instant::now();
    let slave = start_slave(&lab, &config);
    std::thread::sleep(Duration::from_secs(10));
    let down = Instant::now();
    lab.set_bridge_port(1, false).expect("port down");
    std::thread::sleep(Duration::from_secs(10));
    lab.set_bridge_port(1, true).expect("port up");
    let up = Instant::now();
    let faulted = Faulted::collect(slave, started, down, up);
    drop(master);
    faulted.assert_relocks("link down 10 s", "selected master", 0.0);
    let context = faulted.context();
    let states = faulted.states_after_fault();
    assert!(
        states.iter().any(|state| state == "listening"),
        "no LISTENING while the link was down: {context}"
    );
    assert!(
        faulted.stderr.contains("to LISTENING")
            && faulted.stderr.matches("selected master").count() >= 2,
        "the log does not say the master was lost and found again: {context}"
    );
}

/// The master's timescale steps by +1 s at 11 s. The slave's offset must follow the step
/// (the truth after it is +1 s) and its log must report a detected step.
#[test]
fn master_clock_stepped() {
    const STEP_NS: i64 = 1_000_000_000;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    aptp_binary(true);
    let Some(lab) = lab_or_skip(Lab::bridge(2), "master_clock_stepped") else {
        return;
    };
    let config = config_file("step");
    let step = STEP_NS.to_string();
    let master = start_master(
        &lab,
        &config,
        RUN_S + 5,
        &["--step-after", "11", "--step-ns", &step],
    );
    let master_started = Instant::now();
    let started = Instant::now();
    let slave = start_slave(&lab, &config);
    std::thread::sleep(Duration::from_secs(11));
    let stepped = master_started + Duration::from_secs(11);
    let faulted = Faulted::collect(slave, started, stepped, stepped);
    drop(master);
    faulted.assert_relocks(
        "master clock stepped +1 s",
        "clock step detected",
        STEP_NS as f64,
    );
    let context = faulted.context();
    assert!(
        faulted.stderr.contains("clock step detected"),
        "no step reported: {context}"
    );
}
