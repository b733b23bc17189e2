//! `aptp airplay-receiver`: the AirPlay 2 follower.

mod redirect;

use crate::runtime::{self, Termination, Threads};
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use aptp::airplay::runtime::{now, PeerPorts, ReceiverDriver};
use aptp::airplay::{
    AirplayReceiver, PlaybackRate, PlaybackSchedule, RateAnchor, ReceiverConfig, ReceiverEvent,
};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::ClockIdentity;

use crate::airplay_common::{master_column, nanos, LocalClock, SocketArgs};
use redirect::RedirectRules;

/// Follow the grandmaster the timing peers elect, as an AirPlay 2 receiver does. Prints a
/// status line a second (like `aptp slave`); with an anchor, also the local instant at which
/// a given RTP frame plays.
///
/// Beside ptp4l (which holds 319/320): `--event-port 0 --general-port 0
/// --redirect-from-standard-ports` binds any free ports and has the kernel hand them the
/// timing peers' PTP datagrams, and only theirs (nftables rules, removed on exit).
#[derive(Debug, clap::Args)]
pub struct AirplayReceiverArgs {
    /// A timing peer (repeat for each; IPv4 or IPv6). PTP from other addresses is ignored.
    #[arg(long = "peer", value_name = "ADDR", required = true)]
    peers: Vec<IpAddr>,

    /// JSON lines: state, offset_ns, rate_ppb, path_delay_ns, master, local_clock, two_way,
    /// error_bound_ns, mastership_start_ns, stalled, local_ns, play_local_ns, event_port and
    /// general_port (as bound), counters.
    #[arg(long)]
    json: bool,

    /// The local clock the mapping and play instants are in.
    #[arg(long, value_enum, default_value = "monotonic")]
    local_clock: LocalClock,

    /// Never send Delay_Req (one-way only, as with Apple grandmasters).
    #[arg(long)]
    no_delay_requests: bool,

    /// The anchor's network time, in ns of the grandmaster's timescale (SETRATEANCHORTIME's
    /// networkTimeSecs × 10^9 + networkTimeFrac in ns).
    #[arg(long, value_name = "NS", requires = "play_frame")]
    anchor_network_time_ns: Option<u64>,

    /// The anchor's RTP frame.
    #[arg(long, value_name = "N", default_value_t = 0)]
    anchor_rtp: u32,

    /// The anchor's timeline (a CLOCK_ID); default: the grandmaster followed.
    #[arg(long, value_name = "CLOCK_ID")]
    anchor_timeline: Option<ClockIdentity>,

    /// The stream's sample rate.
    #[arg(long, value_name = "HZ", default_value_t = 44_100)]
    sample_rate: u32,

    /// Print the local instant at which this RTP frame plays (`play_local_ns`).
    #[arg(long, value_name = "N", requires = "anchor_network_time_ns")]
    play_frame: Option<u32>,

    /// Stop after this many seconds (default: run until killed).
    #[arg(long, value_name = "S")]
    duration: Option<u64>,

    /// When 319/320 belong to another PTP daemon (ptp4l): install nftables rules (needs
    /// CAP_NET_ADMIN and `nft`) that rewrite the destination port of the timing peers'
    /// datagrams to 319/320 into this receiver's ports; other sources still reach the daemon.
    /// The rules (table `inet aptp_airplay_receiver`) are removed on exit.
    #[arg(long, conflicts_with = "print_redirect_rules")]
    redirect_from_standard_ports: bool,

    /// Print the nft rules `--redirect-from-standard-ports` would install, for the ports given
    /// (chosen, not 0), and exit: `… --print-redirect-rules | nft -f -`.
    #[arg(long)]
    print_redirect_rules: bool,

    #[command(flatten)]
    socket: SocketArgs,
}

/// Runs the receiver.
pub fn run(arguments: &AirplayReceiverArgs) -> ExitCode {
    if arguments.sample_rate == 0 {
        eprintln!("aptp: --sample-rate must be above zero (see --help)");
        return ExitCode::from(2);
    }
    if arguments.print_redirect_rules {
        let ports = PeerPorts {
            event: arguments.socket.event_port,
            general: arguments.socket.general_port,
        };
        return match redirect_rules(arguments, ports).and_then(|rules| rules.printable()) {
            Ok(script) => {
                print!("{script}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("aptp: {error}");
                ExitCode::from(2)
            }
        };
    }
    match runtime::block_on("aptp", Threads::One, follow(arguments)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("aptp: {error}");
            ExitCode::FAILURE
        }
        Err(code) => code,
    }
}

/// The redirect of the timing peers' datagrams to `ports`.
fn redirect_rules(
    arguments: &AirplayReceiverArgs,
    ports: PeerPorts,
) -> Result<RedirectRules, redirect::RedirectError> {
    RedirectRules::new(
        arguments.peers.iter().copied(),
        ports,
        arguments.socket.interface.clone(),
    )
}

async fn follow(arguments: &AirplayReceiverArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut termination = Termination::install()?;
    let socket = arguments
        .socket
        .bind(arguments.local_clock, &arguments.peers)?;
    let bound = PeerPorts::bound_by(&socket);
    // Held until this function returns (a signal included): dropping it removes the rules.
    let _redirect = if arguments.redirect_from_standard_ports {
        Some(redirect_rules(arguments, bound)?.install()?)
    } else {
        None
    };
    let clock = socket.config().clock;
    let config = ReceiverConfig {
        delay_requests: !arguments.no_delay_requests,
        ..ReceiverConfig::new(arguments.socket.clock_identity())
    };
    let start = now(clock)?;
    let mut receiver = AirplayReceiver::new(config, start)?;
    receiver.set_timing_peers(start, arguments.peers.iter().map(|ip| ip.to_canonical()));
    let mut driver = ReceiverDriver::new(socket, receiver, arguments.socket.peer_ports());
    let mut schedule = PlaybackSchedule::new(500_000.0, TimeDelta::from_millis(20));
    let started = tokio::time::Instant::now();
    let mut next_line = started + std::time::Duration::from_secs(1);
    let mut stdout = std::io::stdout().lock();
    loop {
        tokio::select! {
            stepped = driver.step(next_line) => { stepped?; }
            () = termination.recv() => return Ok(()),
        }
        let local = driver.now()?;
        while let Some(event) = driver.receiver().poll_event() {
            match event {
                ReceiverEvent::MappingUpdated { mapping, .. } => {
                    if let Some(gm) = driver.receiver().grandmaster() {
                        schedule.update_mapping(local, u64::from_be_bytes(gm.identity.0), mapping);
                    }
                }
                ReceiverEvent::GrandmasterChanged { grandmaster } => {
                    tracing::info!(?grandmaster, "grandmaster changed");
                    // A grandmaster that fell silent is held: play on its mapping meanwhile.
                    if grandmaster.is_none() && driver.receiver().mapping().is_none() {
                        schedule.clear_mapping();
                    }
                }
                ReceiverEvent::HoldoverEnded { .. } => {
                    tracing::info!("the grandmaster did not come back");
                    schedule.clear_mapping();
                }
                other => tracing::info!(?other, "event"),
            }
        }
        if tokio::time::Instant::now() < next_line {
            continue;
        }
        next_line += std::time::Duration::from_secs(1);
        let status = driver.receiver().status(local);
        let master = status.grandmaster.map(|g| g.identity.dotted().to_string());
        let held_master = status
            .held_grandmaster
            .map(|g| g.identity.dotted().to_string());
        // While a silent grandmaster is held, its mapping still schedules the frame.
        let play_local_ns = match (
            arguments.anchor_network_time_ns,
            arguments.play_frame,
            status.grandmaster.or(status.held_grandmaster),
        ) {
            (Some(anchor_ns), Some(frame), Some(gm)) => {
                let anchor_time = Time::from_nanos(anchor_ns);
                let (secs, frac) = anchor_time.to_secs_fraction().unwrap_or((0, 0));
                let timeline = arguments.anchor_timeline.unwrap_or(gm.identity);
                let anchor = RateAnchor {
                    network_time_secs: secs,
                    network_time_frac: frac,
                    timeline_id: u64::from_be_bytes(timeline.0),
                    rtp_time: arguments.anchor_rtp,
                };
                schedule.set_anchor(anchor, arguments.sample_rate, PlaybackRate::Playing)?;
                match schedule.local_time_of(frame) {
                    Ok(at) => Some(nanos(at)),
                    Err(error) => {
                        tracing::debug!(%error, "frame not scheduled");
                        None
                    }
                }
            }
            _ => None,
        };
        let counters = &status.counters;
        let transport = driver.socket().counters();
        let line = if arguments.json {
            serde_json::json!({
                "state": status.state.name_lower(),
                "offset_ns": status.offset_ns,
                "rate_ppb": status.rate_ppb,
                "path_delay_ns": status.path_delay_ns,
                "master": master,
                "held_master": held_master,
                "local_clock": arguments.local_clock.name(),
                "two_way": status.two_way,
                "error_bound_ns": status.error_bound_ns,
                "mastership_start_ns": status.grandmaster.and_then(|g| g.mastership_start).map(nanos),
                "stalled": status.stalled,
                "local_ns": nanos(local),
                "play_local_ns": play_local_ns,
                "timing_peers": status.timing_peers,
                "event_port": bound.event,
                "general_port": bound.general,
                "rx_kernel_timestamps": transport.rx_kernel_timestamps,
                "rx_user_timestamps": transport.rx_user_timestamps,
                "received": counters.received,
                "not_a_peer": counters.not_a_peer,
                "measurements": counters.measurements,
                "delay_responses": counters.delay_responses,
                "events_lost": counters.events_lost,
            })
            .to_string()
        } else {
            format!(
                "airplay-receiver {} master {} offset {} rate_ppb {} path_delay {} {} error_bound_ns {} ports {}/{}",
                status.state.name_lower(),
                master_column(master.as_deref(), held_master.as_deref()),
                status.offset_ns.map_or("-".to_owned(), |o| o.to_string()),
                status.rate_ppb.map_or("-".to_owned(), |r| format!("{r:.0}")),
                status.path_delay_ns.map_or("-".to_owned(), |d| d.to_string()),
                if status.two_way { "two-way" } else { "one-way" },
                status.error_bound_ns.map_or("-".to_owned(), |e| format!("{e:.0}")),
                bound.event,
                bound.general,
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
