//! What `aptp slave` and `aptp master` share: the network options, building the node from
//! them and a config file, and the status line printed every second (text like `ptp4l -m`, or
//! one JSON object per line).

use crate::runtime::{self, Threads};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aptp::config_file::{ConfigFile, NetworkTransport};
use aptp::engine::{Config, PortState};
use aptp::runtime::{LocalClock, Network, Node, NodeOptions, Role, Status};
use clap::builder::TypedValueParser;
use serde::Serialize;

/// PTP's event port.
const PTP_EVENT_PORT: u16 = 319;
/// PTP's general port.
const PTP_GENERAL_PORT: u16 = 320;

/// Where and how a node runs: the options `slave` and `master` have in common.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Network interface: multicast on it (as ptp4l -i); needs root for ports 319/320.
    #[arg(
        short,
        long,
        value_name = "IF",
        required_unless_present = "bind",
        conflicts_with = "bind"
    )]
    interface: Option<String>,

    /// Local address to bind (unicast; IPv4 or IPv6).
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,

    /// linuxptp-style configuration file (`[global]` section, `key value` lines).
    #[arg(short = 'f', long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// One JSON object per line on stdout (state, offset_ns, rate_ppb, path_delay_ns,
    /// master, local_clock, ...); nothing else on stdout.
    #[arg(long)]
    json: bool,

    /// The clock every timestamp is read on (never steered).
    #[arg(long, value_name = "CLOCK", default_value = "realtime",
          value_parser = clap::builder::PossibleValuesParser::new(["realtime", "monotonic", "monotonic_raw"])
              .try_map(|name| name.parse::<LocalClock>()))]
    local_clock: LocalClock,

    /// UDP port of event messages (319 is PTP's; any port for unprivileged use).
    #[arg(long, value_name = "N", default_value_t = PTP_EVENT_PORT)]
    event_port: u16,

    /// UDP port of general messages (320 is PTP's).
    #[arg(long, value_name = "N", default_value_t = PTP_GENERAL_PORT)]
    general_port: u16,

    /// With --interface: UDP over IPv6 (as ptp4l -6; or `network_transport UDPv6`).
    #[arg(short = '6', long)]
    ipv6: bool,

    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

/// Builds the node options from the arguments and the config file; the error is one line.
pub fn node_options(
    args: &NodeArgs,
    role: Role,
    adjust: impl FnOnce(&mut Config),
) -> Result<NodeOptions, String> {
    let mut ipv6 = args.ipv6;
    let mut config = Config::default();
    if let Some(path) = &args.config {
        let file = ConfigFile::read(path).map_err(|error| error.to_string())?;
        for note in &file.notes {
            tracing::warn!("{note}");
        }
        if file.network_transport == Some(NetworkTransport::UdpIpv6) {
            ipv6 = true;
        }
        config = file.config;
    }
    adjust(&mut config);
    let network = match (&args.interface, args.bind) {
        (Some(name), _) => Network::Interface {
            name: name.clone(),
            ipv6,
        },
        (None, Some(address)) => {
            if ipv6 && address.is_ipv4() {
                return Err(format!("--bind {address} is IPv4 but UDPv6 was asked for"));
            }
            Network::Bind(address)
        }
        (None, None) => return Err("give --interface IF or --bind ADDR".to_owned()),
    };
    if let Some(seconds) = args.duration {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(format!(
                "--duration {seconds} is not a positive number of seconds"
            ));
        }
    }
    Ok(NodeOptions::new(role, network)
        .with_config(config)
        .with_local_clock(args.local_clock)
        .with_ports(args.event_port, args.general_port))
}

/// One status line as JSON (keys as cli.md lists them, plus a few more).
#[derive(Serialize)]
struct StatusJson {
    state: &'static str,
    offset_ns: Option<i64>,
    rate_ppb: Option<f64>,
    path_delay_ns: Option<i64>,
    master: Option<String>,
    local_clock: &'static str,
    clock_id: String,
    local_time_ns: Option<i128>,
    measured_offset_ns: Option<i64>,
    measurements: u64,
    prediction_error_ns: f64,
    received: u64,
    sent: u64,
    dropped: u64,
    kernel_rx_timestamps: u64,
    user_rx_timestamps: u64,
}

/// The grandmaster: the one followed, or this clock while it serves.
fn master_of(status: &Status) -> Option<aptp_wire::ClockIdentity> {
    status
        .grandmaster_identity()
        .or((status.state == PortState::Master).then_some(status.clock_identity))
}

fn json_line(status: &Status, offset_ns: Option<i64>, local_ns: Option<i128>) -> String {
    let line = StatusJson {
        state: status.state.name_lower(),
        offset_ns,
        rate_ppb: status.rate_ppb().map(|ppb| (ppb * 1000.0).round() / 1000.0),
        path_delay_ns: status.path_delay_ns,
        master: master_of(status).map(|id| id.dotted().to_string()),
        local_clock: status.local_clock.name(),
        clock_id: status.clock_identity.dotted().to_string(),
        local_time_ns: local_ns,
        // The engine's offsetFromMaster is local − master; cli.md's sign is master − local.
        measured_offset_ns: status
            .last_measurement
            .and_then(|m| m.offset_from_master)
            .and_then(|d| i64::try_from(-d.nanos_rounded()).ok()),
        measurements: status.counters.measurements,
        prediction_error_ns: (status.quality.prediction_error_ns * 10.0).round() / 10.0,
        received: status.counters.received,
        sent: status.counters.sent,
        dropped: status.counters.total_dropped(),
        kernel_rx_timestamps: status.transport.rx_kernel_timestamps,
        user_rx_timestamps: status.transport.rx_user_timestamps,
    };
    // Serialising plain numbers and strings cannot fail; an empty object would be the sign.
    serde_json::to_string(&line).unwrap_or_else(|_| "{}".to_owned())
}

fn text_line(status: &Status, offset_ns: Option<i64>) -> String {
    let dash = || "-".to_owned();
    format!(
        "{:<12} offset {:>9} ns  rate {:>10} ppb  path delay {:>8} ns  master {}  ({})",
        status.state.name_upper(),
        offset_ns.map_or_else(dash, |ns| ns.to_string()),
        status
            .rate_ppb()
            .map_or_else(dash, |ppb| format!("{ppb:+.1}")),
        status.path_delay_ns.map_or_else(dash, |ns| ns.to_string()),
        master_of(status).map_or_else(dash, |id| id.dotted().to_string()),
        status.local_clock.name(),
    )
}

/// Runs a node until interrupted (or `--duration`), printing a line a second.
pub fn run_node(options: NodeOptions, args: &NodeArgs) -> ExitCode {
    let json = args.json;
    let duration = args.duration.map(Duration::from_secs_f64);
    runtime::block_on("aptp", Threads::One, async move {
        let node = match Node::start(options) {
            Ok(node) => node,
            Err(error) => {
                eprintln!("aptp: {error}");
                return ExitCode::FAILURE;
            }
        };
        let stop = async {
            match duration {
                Some(duration) => tokio::time::sleep(duration).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        // The first line after a second, when the driver has run and the state means something.
        let second = Duration::from_secs(1);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + second, second);
        let status = loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
                _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => break ExitCode::SUCCESS,
                () = &mut stop => break ExitCode::SUCCESS,
                _ = tick.tick() => {
                    if !node.is_running() {
                        eprintln!("aptp: the node stopped unexpectedly");
                        break ExitCode::FAILURE;
                    }
                    let local = node.local_now().ok();
                    let status = node.status();
                    let offset_ns = local.and_then(|local| status.offset_ns_at(local));
                    let line = if json {
                        json_line(&status, offset_ns, local.map(|t| t.nanos_rounded()))
                    } else {
                        text_line(&status, offset_ns)
                    };
                    let mut stdout = io::stdout().lock();
                    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
                        if error.kind() == io::ErrorKind::BrokenPipe {
                            break ExitCode::SUCCESS;
                        }
                        eprintln!("aptp: {error}");
                        break ExitCode::FAILURE;
                    }
                }
            }
        };
        match node.shutdown().await {
            Ok(()) => status,
            Err(error) => {
                eprintln!("aptp: {error}");
                ExitCode::FAILURE
            }
        }
    })
    .unwrap_or_else(|code| code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_wire::ClockIdentity;

    #[test]
    fn a_fresh_status_prints_nulls_and_dashes() {
        let status = Status::new(
            ClockIdentity([0, 1, 2, 3, 4, 5, 6, 7]),
            LocalClock::Realtime,
        );
        let value: serde_json::Value =
            serde_json::from_str(&json_line(&status, None, Some(5))).unwrap();
        assert_eq!(value["state"], "initializing");
        assert!(value["offset_ns"].is_null() && value["rate_ppb"].is_null());
        assert!(value["path_delay_ns"].is_null() && value["master"].is_null());
        assert_eq!(value["local_clock"], "realtime");
        assert_eq!(value["clock_id"], "000102.0304.050607");
        assert!(text_line(&status, None).starts_with("INITIALIZING offset         - ns"));
    }

    #[test]
    fn a_master_names_itself() {
        let mut status = Status::new(ClockIdentity([9; 8]), LocalClock::Monotonic);
        status.state = PortState::Master;
        let value: serde_json::Value =
            serde_json::from_str(&json_line(&status, None, None)).unwrap();
        assert_eq!(value["master"], "090909.0909.090909");
        assert_eq!(value["local_clock"], "monotonic");
    }
}
