//! `aptp demo`: a master and a slave in one process on loopback, no privileges needed.

use crate::runtime::{self, Threads};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aptp::engine::{Config, PortKind, PortState};
use aptp::runtime::{Network, Node, NodeError, NodeOptions, Role};

use crate::plot::{svg, Series};

/// Run a PTP master and slave on loopback for a few seconds and show how well the slave
/// follows.
///
/// The master serves 127.0.0.1 and the slave listens on 127.0.0.2 (both loopback, on free
/// unprivileged ports), 8 Syncs a second, end-to-end delay measurement, kernel timestamps on
/// CLOCK_REALTIME. Both read the same clock, so the true offset is 0 and every nanosecond the
/// slave reports is its error. Prints progress while it locks, then a summary: time to lock,
/// |offset| p50/p99, rate and path delay.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Also draw offset and path delay over time into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,

    /// How long to run, in seconds (5 to 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    duration: f64,
}

/// How often the slave's estimate is sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// One look at the slave.
#[derive(Clone, Copy, Debug)]
struct Sample {
    elapsed_s: f64,
    state: PortState,
    offset_ns: Option<i64>,
    path_delay_ns: Option<i64>,
    rate_ppb: Option<f64>,
}

/// Runs `aptp demo`.
pub fn run(args: &DemoArgs) -> ExitCode {
    if !(5.0..=600.0).contains(&args.duration) {
        eprintln!(
            "aptp: --duration {} is outside 5..=600 seconds",
            args.duration
        );
        return ExitCode::from(2);
    }
    let pair = runtime::block_on(
        "aptp",
        Threads::Two,
        run_pair(Duration::from_secs_f64(args.duration)),
    );
    let samples = match pair {
        Ok(Ok(samples)) => samples,
        Ok(Err(error)) => {
            eprintln!("aptp: {error}");
            return ExitCode::FAILURE;
        }
        Err(code) => return code,
    };
    let locked = summarise(&samples);
    if let Some(path) = &args.plot {
        if let Err(error) = write_plot(path, &samples) {
            eprintln!("aptp: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("plot written to {}", path.display());
    }
    if locked {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn config() -> Config {
    Config {
        log_sync_interval: -3,
        log_announce_interval: -2,
        log_min_delay_req_interval: -3,
        ..Config::default()
    }
}

/// Starts the master on free ports of 127.0.0.1, then the slave on the same ports of
/// 127.0.0.2 (retrying with new ports if someone holds those there).
fn start_pair() -> Result<(Node, Node), NodeError> {
    let master_ip: IpAddr = [127, 0, 0, 1].into();
    let slave_ip: IpAddr = [127, 0, 0, 2].into();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let master = Node::start(
            NodeOptions::new(Role::Master, Network::Bind(master_ip))
                .with_config(config())
                .with_ports(0, 0)
                .with_unicast_peers([slave_ip]),
        )?;
        let slave = Node::start(
            NodeOptions::new(Role::Slave, Network::Bind(slave_ip))
                .with_config(config())
                .with_ports(
                    master.local_addr(PortKind::Event).port(),
                    master.local_addr(PortKind::General).port(),
                ),
        );
        match slave {
            Ok(slave) => return Ok((master, slave)),
            Err(error) if attempt >= 5 => return Err(error),
            Err(_) => continue,
        }
    }
}

async fn run_pair(duration: Duration) -> Result<Vec<Sample>, NodeError> {
    let (master, slave) = start_pair()?;
    println!(
        "aptp demo: master {} -> slave {} on loopback, UDP ports {}/{}, 8 Sync/s, E2E delay, CLOCK_REALTIME",
        master.clock_identity().dotted(),
        slave.clock_identity().dotted(),
        master.local_addr(PortKind::Event).port(),
        master.local_addr(PortKind::General).port(),
    );
    println!("both ends read the same clock: the true offset is 0, so what the slave reports is its error\n");
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    let mut next_line = 1.0;
    let mut locked_at = None;
    while started.elapsed() < duration {
        tick.tick().await;
        let status = slave.status();
        let local = slave.local_now().ok();
        let sample = Sample {
            elapsed_s: started.elapsed().as_secs_f64(),
            state: status.state,
            offset_ns: local.and_then(|local| status.offset_ns_at(local)),
            path_delay_ns: status.path_delay_ns,
            rate_ppb: status.rate_ppb(),
        };
        samples.push(sample);
        if locked_at.is_none() && sample.state == PortState::Slave {
            locked_at = Some(sample.elapsed_s);
            println!("  -> SLAVE after {:.1} s", sample.elapsed_s);
        }
        if sample.elapsed_s >= next_line {
            next_line += 1.0;
            print_progress(&sample);
        }
    }
    slave.shutdown().await?;
    master.shutdown().await?;
    Ok(samples)
}

fn print_progress(sample: &Sample) {
    let dash = || "-".to_owned();
    println!(
        "  [{:>4.1} s] {:<12} offset {:>8} ns  rate {:>9} ppb  path delay {:>7} ns",
        sample.elapsed_s,
        sample.state.name_upper(),
        sample.offset_ns.map_or_else(dash, |ns| format!("{ns:+}")),
        sample
            .rate_ppb
            .map_or_else(dash, |ppb| format!("{ppb:+.1}")),
        sample.path_delay_ns.map_or_else(dash, |ns| ns.to_string()),
    );
    // Progress must show up as it happens even when stdout is a pipe.
    let _ = io::stdout().flush();
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn micros(ns: f64) -> String {
    if ns.abs() >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints the summary; true when the slave locked.
fn summarise(samples: &[Sample]) -> bool {
    println!("\nsummary");
    let Some(lock) = samples.iter().position(|s| s.state == PortState::Slave) else {
        println!("  the slave did not reach SLAVE");
        return false;
    };
    let after = &samples[lock..];
    let mut offsets: Vec<f64> = after
        .iter()
        .filter_map(|s| s.offset_ns)
        .map(|ns| (ns as f64).abs())
        .collect();
    offsets.sort_by(f64::total_cmp);
    let mut delays: Vec<f64> = after
        .iter()
        .filter_map(|s| s.path_delay_ns)
        .map(|ns| ns as f64)
        .collect();
    delays.sort_by(f64::total_cmp);
    let rate = after.iter().rev().find_map(|s| s.rate_ppb);
    println!("  time to lock     {:.1} s", samples[lock].elapsed_s);
    println!(
        "  |offset|         p50 {}  p99 {}  max {}  ({} samples after lock; truth 0)",
        quantile(&offsets, 0.5).map_or("-".into(), micros),
        quantile(&offsets, 0.99).map_or("-".into(), micros),
        offsets.last().map_or("-".into(), |v| micros(*v)),
        offsets.len()
    );
    println!(
        "  rate             {} (truth 0)",
        rate.map_or("-".into(), |ppb| format!("{ppb:+.1} ppb"))
    );
    println!(
        "  path delay       p50 {}",
        quantile(&delays, 0.5).map_or("-".into(), micros)
    );
    true
}

fn write_plot(path: &std::path::Path, samples: &[Sample]) -> io::Result<()> {
    let offsets: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.offset_ns.map(|ns| (s.elapsed_s, ns as f64)))
        .collect();
    let delays: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.path_delay_ns.map(|ns| (s.elapsed_s, ns as f64)))
        .collect();
    let document = svg(
        "aptp demo: slave on loopback (true offset 0)",
        &[
            Series {
                title: "offset, master minus local",
                unit: "ns",
                points: &offsets,
                colour: "#c0392b",
            },
            Series {
                title: "mean path delay",
                unit: "ns",
                points: &delays,
                colour: "#2471a3",
            },
        ],
    );
    std::fs::write(path, document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), Some(50.0));
        assert_eq!(quantile(&values, 0.99), Some(99.0));
        assert_eq!(quantile(&values, 1.0), Some(100.0));
        assert_eq!(quantile(&[7.0], 0.0), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn units_switch_at_a_microsecond() {
        assert_eq!(micros(999.0), "999 ns");
        assert_eq!(micros(1500.0), "1.50 µs");
    }
}
