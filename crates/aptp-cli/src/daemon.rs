//! `aptp daemon`: the host's one PTP service, serving local clients over its Unix socket.

use crate::runtime::{self, Termination, Threads};
use std::path::PathBuf;
use std::process::ExitCode;

use aptp_service::daemon::{Daemon, DaemonConfig};

/// Run the host's PTP service: follower and grandmaster sessions for any number of local
/// clients.
///
/// Clients (aptp::client, `aptp status`, `aptp watch`) connect to its Unix socket:
/// --socket, else $APTP_SOCKET, else $RUNTIME_DIRECTORY/aptp.sock, else /run/aptp/aptp.sock.
/// The protocol is described in docs/ipc.md. SIGINT/SIGTERM end every session, remove the
/// socket and exit.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// An interface to serve PTP on, over IPv4 and IPv6 (repeatable; default: all).
    #[arg(long = "interface", value_name = "IF")]
    interfaces: Vec<String>,

    /// A configuration file of `key value` lines (socket, socket_mode, interface,
    /// max_sessions, default_lease_ms, min_lease_ms, max_lease_ms, records); options given on
    /// the command line win.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// The Unix socket clients connect to.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// The most sessions held at once.
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,

    /// The PTP event port (default 319; 0: the kernel chooses).
    #[arg(long, value_name = "N")]
    event_port: Option<u16>,

    /// The PTP general port (default 320; 0: the kernel chooses).
    #[arg(long, value_name = "N")]
    general_port: Option<u16>,

    /// The local address the PTP ports bind to (default: every IPv4 and every IPv6 address;
    /// an address given: its family only).
    #[arg(long, value_name = "ADDR")]
    ptp_address: Option<std::net::IpAddr>,

    /// Where nqptp's control protocol is served (`off`: not served). Default 127.0.0.1:9000.
    #[arg(long, value_name = "ADDR:PORT|off")]
    nqptp_control: Option<String>,

    /// Own no PTP ports: sessions are opened, leased and listed, but nothing measures them.
    #[arg(long, conflicts_with_all = ["event_port", "general_port", "ptp_address"])]
    no_ptp: bool,
}

/// The configuration: defaults, then the file, then the command line.
fn config(arguments: &DaemonArgs) -> Result<DaemonConfig, String> {
    let mut config = match &arguments.config {
        Some(path) => DaemonConfig::read(path).map_err(|error| error.to_string())?,
        None => DaemonConfig::default(),
    };
    if let Some(socket) = &arguments.socket {
        config.socket_path = socket.clone();
    }
    if !arguments.interfaces.is_empty() {
        config.interfaces = arguments.interfaces.clone();
    }
    if let Some(max_sessions) = arguments.max_sessions {
        config.limits.max_sessions = max_sessions;
    }
    if arguments.no_ptp {
        config.ptp = None;
    } else if arguments.event_port.is_some()
        || arguments.general_port.is_some()
        || arguments.ptp_address.is_some()
    {
        let ports = config.ptp.get_or_insert_with(Default::default);
        if let Some(port) = arguments.event_port {
            ports.event_port = port;
        }
        if let Some(port) = arguments.general_port {
            ports.general_port = port;
        }
        if let Some(address) = arguments.ptp_address {
            ports.bind_address = address;
        }
    }
    match arguments.nqptp_control.as_deref() {
        None => {}
        Some("off") => config.nqptp_control = None,
        Some(address) => {
            config.nqptp_control = Some(
                address
                    .parse()
                    .map_err(|_| format!("--nqptp-control: `{address}` is not ADDR:PORT or off"))?,
            )
        }
    }
    for interface in &config.interfaces {
        if !std::path::Path::new("/sys/class/net")
            .join(interface)
            .exists()
        {
            return Err(format!("no network interface named {interface:?}"));
        }
    }
    Ok(config)
}

/// Serves until SIGINT or SIGTERM.
pub fn run(arguments: &DaemonArgs) -> ExitCode {
    let config = match config(arguments) {
        Ok(config) => config,
        Err(reason) => {
            eprintln!("aptp daemon: {reason}");
            return ExitCode::from(2);
        }
    };
    runtime::block_on("aptp daemon", Threads::Two, serve(config)).unwrap_or_else(|code| code)
}

async fn serve(config: DaemonConfig) -> ExitCode {
    let mut termination = match Termination::install() {
        Ok(termination) => termination,
        Err(error) => {
            eprintln!("aptp daemon: cannot handle signals: {error}");
            return ExitCode::FAILURE;
        }
    };
    let daemon = match Daemon::bind(config) {
        Ok(daemon) => daemon,
        Err(error) => {
            eprintln!("aptp daemon: {error}");
            return ExitCode::FAILURE;
        }
    };
    daemon.run(termination.recv()).await;
    ExitCode::SUCCESS
}
