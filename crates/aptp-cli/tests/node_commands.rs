//! `aptp demo`, `aptp slave` and `aptp master` run as a user runs them: on loopback, with
//! unprivileged ports, no root needed.

use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn aptp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aptp"))
}

fn run(args: &[&str]) -> Output {
    aptp()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the aptp binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A figure from the demo summary such as `p99 1.20 µs` or `p99 734 ns`, in nanoseconds.
fn figure_ns(summary: &str, label: &str) -> f64 {
    let rest = summary
        .split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("no `{label}` in {summary}"));
    let mut words = rest.split_whitespace();
    let value: f64 = words.next().unwrap().parse().unwrap();
    match words.next().unwrap() {
        "ns" => value,
        "µs" => value * 1000.0,
        unit => panic!("unit {unit}"),
    }
}

#[test]
fn demo_locks_and_prints_a_plausible_summary_and_plot() {
    let plot = std::env::temp_dir().join(format!("aptp-demo-{}.svg", std::process::id()));
    let _remove = RemoveOnDrop(plot.clone());
    let output = run(&["demo", "--duration", "8", "--plot", plot.to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("-> SLAVE after"), "{stdout}");
    let summary = stdout.split("\nsummary\n").nth(1).expect("a summary");
    let lock_s: f64 = summary
        .split("time to lock")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap();
    assert!((0.0..8.0).contains(&lock_s), "{summary}");
    // One kernel clock on loopback: generous bounds, the machine is shared.
    let p50 = figure_ns(summary, "p50");
    let p99 = figure_ns(summary, "p99");
    assert!(p50 <= p99 && p99 < 1_000_000.0, "{summary}");
    assert!(
        summary.contains("rate ") && summary.contains("path delay"),
        "{summary}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<polyline").count() == 2);
}

#[test]
fn bad_arguments_exit_non_zero_with_one_line() {
    let config = std::env::temp_dir().join(format!("aptp-bad-{}.cfg", std::process::id()));
    let _remove = RemoveOnDrop(config.clone());
    std::fs::write(&config, "[global]\npriority1 1\nno_such_key 3\n").unwrap();
    let config_path = config.to_str().unwrap().to_owned();
    let cases: Vec<Vec<&str>> = vec![
        vec!["slave"],
        vec!["slave", "--bind", "not-an-address"],
        vec!["slave", "--bind", "127.0.0.1", "--interface", "lo"],
        vec!["slave", "--bind", "127.0.0.1", "--local-clock", "tai"],
        vec!["slave", "--bind", "127.0.0.1", "--acceptable-master", "xyz"],
        vec!["master", "--bind", "127.0.0.1", "--peer", "nope"],
        vec!["demo", "--duration", "1"],
        vec![
            "slave",
            "--bind",
            "127.0.0.1",
            "--config",
            "/nonexistent/aptp.cfg",
        ],
        vec!["slave", "--bind", "127.0.0.1", "--config", &config_path],
    ];
    for args in cases {
        let output = run(&args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("aptp: "), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let output = run(&["slave", "--bind", "127.0.0.1", "--config", &config_path]);
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("{config_path}:3")), "{stderr}");
}

/// Two free UDP ports on loopback (both addresses the test uses are free there).
fn free_ports() -> (u16, u16) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

#[test]
fn slave_json_on_loopback_against_master() {
    let config = std::env::temp_dir().join(format!("aptp-fast-{}.cfg", std::process::id()));
    let _remove = RemoveOnDrop(config.clone());
    std::fs::write(
        &config,
        "[global]\nlogSyncInterval -3\nlogAnnounceInterval -2\nlogMinDelayReqInterval -3\n\
         free_running 1\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let (event, general) = free_ports();
    let (event, general) = (event.to_string(), general.to_string());
    let ports = ["--event-port", &event, "--general-port", &general];
    let mut master = aptp()
        .args([
            "master",
            "--bind",
            "127.0.0.1",
            "--peer",
            "127.0.0.2",
            "--json",
        ])
        .args(["--config", &config, "--duration", "14"])
        .args(ports)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let slave = aptp()
        .args([
            "slave",
            "--bind",
            "127.0.0.2",
            "--json",
            "--config",
            &config,
        ])
        .args(["--duration", "10", "--local-clock", "realtime"])
        .args(ports)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = master.kill();
    let master = master.wait_with_output().unwrap();
    let stdout = text(&slave.stdout);
    assert!(slave.status.success(), "{stdout}\n{}", text(&slave.stderr));
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(lines.len() >= 8, "{stdout}");
    for line in &lines {
        for key in [
            "state",
            "offset_ns",
            "rate_ppb",
            "path_delay_ns",
            "master",
            "local_clock",
        ] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(line["local_clock"], "realtime");
    }
    let following: Vec<&Value> = lines
        .iter()
        .filter(|line| line["state"] == "slave" && line["offset_ns"].is_i64())
        .collect();
    assert!(following.len() >= 3, "{stdout}");
    let last = following.last().unwrap();
    // One clock on both ends: the truth is 0. Loose bound (shared machine).
    assert!(
        last["offset_ns"].as_i64().unwrap().abs() < 1_000_000,
        "{last}"
    );
    assert!(
        last["path_delay_ns"].as_i64().is_some_and(|d| d >= 0),
        "{last}"
    );
    let master_lines = text(&master.stdout);
    let master_id = master_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["state"] == "master")
        .map(|line| line["clock_id"].clone())
        .expect("the master printed a line in state master");
    assert_eq!(last["master"], master_id);
}

#[test]
fn slave_stops_cleanly_on_sigterm() {
    let (event, general) = free_ports();
    let mut slave = aptp()
        .args(["slave", "--bind", "127.0.0.1", "--json"])
        .args(["--event-port", &event.to_string()])
        .args(["--general-port", &general.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first status line says it runs with its SIGTERM handler installed (the handler
    // comes before the first line), however long a loaded machine took to start it.
    // Its stderr is drained meanwhile, so a chatty log cannot fill the pipe and block it.
    let mut stderr = slave.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut stdout = std::io::BufReader::new(slave.stdout.take().unwrap());
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first_line).unwrap();
    let killed = Command::new("kill")
        .args(["-TERM", &slave.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while slave.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = slave.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "{first_line}\n{stderr}");
    let first: Value = serde_json::from_str(&first_line).expect("a first JSON line");
    assert!(
        first["state"] == "listening" || first["state"] == "initializing",
        "{first}"
    );
    assert!(first["offset_ns"].is_null());
}

/// Deletes a temporary file when dropped, even when the test fails first.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
