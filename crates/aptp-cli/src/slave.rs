//! `aptp slave`: an ordinary clock that follows the best master it hears.

use std::process::ExitCode;

use aptp::runtime::Role;
use aptp_wire::ClockIdentity;

use crate::port_status::{node_options, run_node, NodeArgs};

/// Follow a PTP master, like `ptp4l -s -m`, without ever steering the system clock.
///
/// Prints a line a second: state, offset (the master's time minus the local clock's, ns),
/// rate (ppb), path delay (ns), the grandmaster followed and the local clock; with --json one
/// object per line with the keys state, offset_ns, rate_ppb, path_delay_ns, master and
/// local_clock (and more).
#[derive(Debug, clap::Args)]
pub struct SlaveArgs {
    #[command(flatten)]
    node: NodeArgs,

    /// Follow only this grandmaster (repeatable; dotted 001122.fffe.334455 or 16 hex digits).
    #[arg(long = "acceptable-master", value_name = "CLOCK_ID")]
    acceptable_masters: Vec<ClockIdentity>,
}

/// Runs `aptp slave`.
pub fn run(args: &SlaveArgs) -> ExitCode {
    let options = node_options(&args.node, Role::Slave, |config| {
        config
            .acceptable_masters
            .extend(args.acceptable_masters.iter().copied());
    });
    match options {
        Ok(options) => run_node(options, &args.node),
        Err(reason) => {
            eprintln!("aptp: {reason}");
            ExitCode::from(2)
        }
    }
}
