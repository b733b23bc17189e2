//! `aptp master`: an ordinary clock that serves its time.

use std::net::IpAddr;
use std::process::ExitCode;

use aptp::airplay::runtime::TimestampClock;
use aptp::runtime::Role;

use crate::port_status::{node_options, run_node, NodeArgs};

/// Serve this machine's clock as a PTP master (two-step, E2E or P2P as configured).
///
/// By default it always serves (masterOnly); with --bmca it takes part in the best master
/// clock algorithm like ptp4l without slaveOnly: it serves while its dataset is the best and
/// follows a better master otherwise. Prints a line a second, like `aptp slave`.
#[derive(Debug, clap::Args)]
pub struct MasterArgs {
    #[command(flatten)]
    node: NodeArgs,

    /// Serve this peer by unicast instead of the multicast group (repeatable).
    #[arg(long = "peer", value_name = "ADDR")]
    peers: Vec<IpAddr>,

    /// Run the best master clock algorithm: yield to a better master.
    #[arg(long)]
    bmca: bool,

    /// Fault injection (tests): step this master's timescale by --step-ns after this many
    /// seconds, without touching the system clock.
    #[arg(long, value_name = "SECONDS", requires = "step_ns", hide = true)]
    step_after: Option<f64>,

    /// Fault injection (tests): the step, in ns (see --step-after).
    #[arg(
        long,
        value_name = "NS",
        requires = "step_after",
        hide = true,
        allow_hyphen_values = true
    )]
    step_ns: Option<i64>,
}

/// Runs `aptp master`.
pub fn run(args: &MasterArgs) -> ExitCode {
    let role = if args.bmca {
        Role::Automatic
    } else {
        Role::Master
    };
    let options = node_options(&args.node, role, |_| {})
        .map(|options| options.with_unicast_peers(args.peers.iter().copied()));
    if let (Some(after), Some(step_ns)) = (args.step_after, args.step_ns) {
        let Ok(after) = std::time::Duration::try_from_secs_f64(after) else {
            eprintln!("aptp: --step-after {after} is not a number of seconds");
            return ExitCode::from(2);
        };
        std::thread::spawn(move || {
            std::thread::sleep(after);
            tracing::warn!(step_ns, "stepping this master's timescale (--step-ns)");
            TimestampClock::set_process_offset_ns(step_ns);
        });
    }
    match options {
        Ok(options) => run_node(options, &args.node),
        Err(reason) => {
            eprintln!("aptp: {reason}");
            ExitCode::from(2)
        }
    }
}
