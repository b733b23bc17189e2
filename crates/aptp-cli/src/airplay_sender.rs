//! `aptp airplay-sender`: the AirPlay 2 grandmaster.

use crate::runtime::{self, Threads};
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use aptp::airplay::runtime::TimestampClock;
use aptp::airplay::runtime::{now, SenderDriver};
use aptp::airplay::{AirplaySender, SenderConfig};

use crate::airplay_common::{nanos, LocalClock, SocketArgs};

/// Serve the AirPlay 2 PTP profile to the peers: unicast Sync then each peer's Follow_Up at
/// 8 Hz, Announces, Delay_Resp to anyone. Prints a line a second: now in its timescale (as
/// SETRATEANCHORTIME's network time) beside CLOCK_MONOTONIC_RAW.
#[derive(Debug, clap::Args)]
pub struct AirplaySenderArgs {
    /// A receiver to serve (repeat for each; IPv4 or IPv6).
    #[arg(long = "peer", value_name = "ADDR", required = true)]
    peers: Vec<IpAddr>,

    /// JSON lines: now_ns, local_monotonic_raw_ns, clock_id, network_time_secs,
    /// network_time_frac, peers and counters.
    #[arg(long)]
    json: bool,

    /// The clock that is the sender's timescale.
    #[arg(long, value_enum, default_value = "realtime")]
    local_clock: LocalClock,

    /// Stop after this many seconds (default: run until killed).
    #[arg(long, value_name = "S")]
    duration: Option<u64>,

    #[command(flatten)]
    socket: SocketArgs,
}

/// Runs the sender.
pub fn run(arguments: &AirplaySenderArgs) -> ExitCode {
    match runtime::block_on("aptp", Threads::One, serve(arguments)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("aptp: {error}");
            ExitCode::FAILURE
        }
        Err(code) => code,
    }
}

async fn serve(arguments: &AirplaySenderArgs) -> Result<(), Box<dyn std::error::Error>> {
    // No source filter: the sender answers a Delay_Req from anyone.
    let socket = arguments.socket.bind(arguments.local_clock, &[])?;
    let clock = socket.config().clock;
    let identity = arguments.socket.clock_identity();
    let mut sender = AirplaySender::new(SenderConfig::new(identity), now(clock)?)?;
    sender.set_peers(arguments.peers.iter().map(|ip| ip.to_canonical()));
    let mut driver = SenderDriver::new(socket, sender, arguments.socket.peer_ports());
    let started = tokio::time::Instant::now();
    let mut next_line = started + std::time::Duration::from_secs(1);
    let mut stdout = std::io::stdout().lock();
    loop {
        driver.step(next_line).await?;
        if tokio::time::Instant::now() < next_line {
            continue;
        }
        next_line += std::time::Duration::from_secs(1);
        let local = driver.now()?;
        let raw = now(TimestampClock::MonotonicRaw)?;
        let sender = driver.sender();
        let (secs, frac) = sender.network_time(local).unwrap_or((0, 0));
        let counters = sender.counters().clone();
        let peers = sender.peers().count();
        let line = if arguments.json {
            serde_json::json!({
                "now_ns": nanos(local),
                "local_monotonic_raw_ns": nanos(raw),
                "clock_id": identity.dotted().to_string(),
                "network_time_secs": secs,
                "network_time_frac": frac,
                "local_clock": arguments.local_clock.name(),
                "peers": peers,
                "syncs": counters.syncs,
                "follow_ups": counters.follow_ups,
                "announces": counters.announces,
                "delay_responses": counters.delay_responses,
                "missing_timestamps": counters.missing_timestamps,
            })
            .to_string()
        } else {
            format!(
                "airplay-sender {} now {}.{:09} peers {peers} syncs {} follow_ups {} delay_resp {}",
                identity.dotted(),
                nanos(local) / 1_000_000_000,
                nanos(local) % 1_000_000_000,
                counters.syncs,
                counters.follow_ups,
                counters.delay_responses
            )
        };
        if writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
        if arguments
            .duration
            .is_some_and(|s| started.elapsed().as_secs() >= s)
        {
            return Ok(());
        }
    }
}
