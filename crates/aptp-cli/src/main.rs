//! `aptp`: the command line of aptp, a PTPv2 (IEEE 1588-2019) implementation as AirPlay 2 uses it.
//!
//! Thin by design: each subcommand parses its arguments (clap), calls the crates and prints.
//! The subcommands, their options and their JSON lines are a contract scripts rely on (see the
//! project's cli.md). Logs go to stderr; stdout carries only the command's output. Bad
//! arguments exit with status 2 and a one-line reason.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod airplay_common;
mod airplay_receiver;
mod airplay_sender;
mod daemon;
mod decode;
mod demo;
mod encode;
mod input;
mod json;
mod master;
mod nqptp;
mod output;
mod plot;
mod port_status;
mod runtime;
mod sim;
mod slave;
mod status;
mod text;
mod watch;

/// PTPv2 (IEEE 1588-2019) as AirPlay 2 uses it.
#[derive(Debug, Parser)]
#[command(name = "aptp", version, propagate_version = true)]
struct Cli {
    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

// The subcommands, one module each; each one's help is its arguments struct's doc comment.
#[derive(Debug, Subcommand)]
enum Command {
    AirplaySender(airplay_sender::AirplaySenderArgs),
    AirplayReceiver(airplay_receiver::AirplayReceiverArgs),
    Decode(decode::DecodeArgs),
    Encode(encode::EncodeArgs),
    Sim(sim::SimArgs),
    Slave(slave::SlaveArgs),
    Master(master::MasterArgs),
    Demo(demo::DemoArgs),
    Nqptp(nqptp::NqptpArgs),
    Daemon(daemon::DaemonArgs),
    Status(status::StatusArgs),
    Watch(watch::WatchArgs),
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return argument_error(&error),
    };
    init_logging(cli.verbose);
    match &cli.command {
        Command::AirplaySender(arguments) => airplay_sender::run(arguments),
        Command::AirplayReceiver(arguments) => airplay_receiver::run(arguments),
        Command::Decode(arguments) => decode::run(arguments),
        Command::Encode(arguments) => encode::run(arguments),
        Command::Sim(arguments) => sim::run(arguments),
        Command::Slave(arguments) => slave::run(arguments),
        Command::Master(arguments) => master::run(arguments),
        Command::Demo(arguments) => demo::run(arguments),
        Command::Nqptp(arguments) => nqptp::run(arguments),
        Command::Daemon(arguments) => daemon::run(arguments),
        Command::Status(arguments) => status::run(arguments),
        Command::Watch(arguments) => watch::run(arguments),
    }
}

/// Prints help and version as clap does; any other argument error as one line on stderr.
fn argument_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Help and version go to stdout; a closed stdout is not worth a second error.
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("aptp: {}", one_line_reason(error));
            ExitCode::from(2)
        }
    }
}

/// The first line of clap's message, without its `error: ` prefix, plus where to read more.
fn one_line_reason(error: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a subcommand is required (see aptp --help)".to_owned();
    }
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("invalid arguments");
    let reason = first.strip_prefix("error: ").unwrap_or(first);
    format!("{reason} (see --help)")
}

/// Logs go to stderr, never stdout (stdout may be a stream of JSON lines).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// A bug must not dump a backtrace into a script's output: one line on stderr instead.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let location = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()))
            .unwrap_or_default();
        eprintln!(
            "aptp: internal error{location}: {} (please report it)",
            message.replace('\n', " ")
        );
    }));
}
