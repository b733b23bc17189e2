//! `aptp status`: what the daemon is doing, asked over its socket.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use aptp::client::{Client, DaemonStatus, InterfaceStatus, PortStatus, SessionStatus};

/// Show what the aptp daemon is doing: version, ports (address, interface, timestamp modes),
/// interfaces and their addresses, every session.
///
/// For each session: role, name, peers, followed grandmaster, offset, rate, error bound, age
/// of the last Sync and Follow_Up, lease, drop counters. `-` stands for "not measured yet".
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// One JSON object (the daemon's status as docs/ipc.md describes it).
    #[arg(long)]
    json: bool,

    /// The daemon's socket (default: $APTP_SOCKET, $RUNTIME_DIRECTORY/aptp.sock or
    /// /run/aptp/aptp.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

/// Connects, asks, prints.
pub fn run(arguments: &StatusArgs) -> ExitCode {
    let status = match connect(arguments.socket.as_ref())
        .and_then(|mut client| client.status().map_err(|error| error.to_string()))
    {
        Ok(status) => status,
        Err(reason) => {
            eprintln!("aptp status: {reason}");
            return ExitCode::FAILURE;
        }
    };
    let text = if arguments.json {
        match serde_json::to_string(&status) {
            Ok(line) => line + "\n",
            Err(error) => {
                eprintln!("aptp status: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        render(&status)
    };
    print!("{text}");
    ExitCode::SUCCESS
}

/// A client of the daemon at `socket` (or the default path).
pub fn connect(socket: Option<&PathBuf>) -> Result<Client, String> {
    let path = socket
        .cloned()
        .unwrap_or_else(aptp::client::default_socket_path);
    Client::connect(path).map_err(|error| error.to_string())
}

/// The status for people.
pub fn render(status: &DaemonStatus) -> String {
    let mut text = format!(
        "aptp {} (protocols {}), socket {}, up {}, {} of {} sessions, {} suspends\n",
        status.version,
        status
            .protocols
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
        status.socket,
        seconds(status.uptime_ms),
        status.sessions.len(),
        status.max_sessions,
        status.suspends,
    );
    if status.ports.is_empty() {
        text.push_str("ports: none bound\n");
    }
    for port in &status.ports {
        text.push_str(&render_port(port));
    }
    for interface in &status.interfaces {
        text.push_str(&render_interface(interface));
    }
    for session in &status.sessions {
        text.push_str(&render_session(session));
        text.push('\n');
    }
    text
}

fn render_interface(interface: &InterfaceStatus) -> String {
    format!(
        "interface {} {}: {}, {} address changes\n",
        interface.name,
        if interface.ptp {
            "served"
        } else {
            "not served"
        },
        if interface.addresses.is_empty() {
            "no addresses".to_owned()
        } else {
            interface
                .addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        },
        interface.address_changes,
    )
}

fn render_port(port: &PortStatus) -> String {
    let mode = |kernel: bool| if kernel { "kernel" } else { "user space" };
    format!(
        "port {} {} event {} general {}: receive timestamps {}, transmit timestamps {}, {} received, drops {}\n",
        port.interface.as_deref().unwrap_or("*"),
        port.address,
        port.event_port,
        port.general_port,
        mode(port.kernel_rx_timestamps),
        mode(port.kernel_tx_timestamps),
        port.received,
        drops(&port.drops),
    )
}

/// One session on one line (also `aptp watch`'s line).
pub fn render_session(session: &SessionStatus) -> String {
    let clock = &session.clock;
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let mut line = String::new();
    let _ = write!(
        line,
        "session {} {:?} {} peers [{}] grandmaster {} offset {} rate {} bound {} sync {} follow_up {} lease {} drops {}",
        session.info.id,
        session.info.name,
        match session.info.role {
            aptp::client::SessionRole::Follower => "follower",
            aptp::client::SessionRole::Grandmaster => "grandmaster",
        },
        session
            .info
            .peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        or_dash(clock.grandmaster.clone().map(|grandmaster| {
            match clock.local_grandmaster {
                Some(local) => format!("{grandmaster} (local grandmaster session {local})"),
                None if clock.holdover => format!("{grandmaster} (held: silent)"),
                None => grandmaster,
            }
        })),
        or_dash(clock.offset_ns.map(|offset| format!("{offset} ns"))),
        or_dash(clock.rate_ppb.map(|rate| format!("{rate:.1} ppb"))),
        or_dash(clock.error_bound_ns.map(|bound| format!("{bound} ns"))),
        or_dash(clock.last_sync_age_ms.map(|age| format!("{age} ms ago"))),
        or_dash(clock.last_follow_up_age_ms.map(|age| format!("{age} ms ago"))),
        seconds(session.lease_remaining_ms),
        drops(&clock.drops),
    );
    line
}

fn drops(counts: &std::collections::BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(reason, count)| format!("{reason}={count}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn seconds(milliseconds: u64) -> String {
    format!("{}.{:01} s", milliseconds / 1000, milliseconds % 1000 / 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp::client::{OpenSession, SessionRole};
    use aptp_service::daemon::{Daemon, DaemonConfig};
    use aptp_service::sessions::RecordPolicy;

    #[test]
    fn status_of_a_live_daemon() {
        let directory =
            std::env::temp_dir().join(format!("aptp-cli-status-{}", std::process::id()));
        let socket = directory.join("aptp.sock");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let daemon = runtime
            .block_on(async {
                Daemon::bind(DaemonConfig {
                    socket_path: socket.clone(),
                    records: RecordPolicy::None,
                    ptp: None,
                    nqptp_control: None,
                    ..DaemonConfig::default()
                })
            })
            .unwrap();
        let serving = runtime.spawn(daemon.run(async {
            let _ = stopped.await;
        }));
        let mut client = connect(Some(&socket)).unwrap();
        let session = client
            .open(&OpenSession {
                peers: vec!["192.0.2.7".parse().unwrap()],
                name: Some("den".into()),
                ..OpenSession::new(SessionRole::Follower)
            })
            .unwrap();
        let status = client.status().unwrap();
        let text = render(&status);
        assert!(
            text.starts_with(&format!("aptp {} (protocols 1)", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        assert!(text.contains("ports: none bound"), "{text}");
        let line = render_session(&status.sessions[0]);
        assert!(
            line.starts_with(&format!(
                "session {} \"den\" follower peers [192.0.2.7] grandmaster - offset - rate - bound - sync - follow_up - lease "
            , session.id)),
            "{line}"
        );
        assert!(line.ends_with("drops none"), "{line}");
        let _ = stop.send(());
        runtime.block_on(serving).unwrap();
        assert!(!socket.exists(), "the daemon left its socket behind");
        let _ = std::fs::remove_dir_all(&directory);
    }

    #[test]
    fn interfaces_and_local_grandmasters_are_named() {
        let interface = InterfaceStatus {
            name: "veth0".into(),
            addresses: vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            ptp: true,
            address_changes: 2,
        };
        assert_eq!(
            render_interface(&interface),
            "interface veth0 served: 192.0.2.1 2001:db8::1, 2 address changes\n"
        );
        let session = SessionStatus {
            info: aptp::client::SessionInfo {
                id: 4,
                role: SessionRole::Follower,
                name: "kitchen".into(),
                peers: vec!["127.0.0.1".parse().unwrap()],
                lease_ms: 10_000,
                shm_name: None,
            },
            age_ms: 0,
            lease_remaining_ms: 10_000,
            clock: aptp::client::SessionClock {
                grandmaster: Some("020000.0000.000001".into()),
                offset_ns: Some(0),
                local_grandmaster: Some(3),
                ..aptp::client::SessionClock::default()
            },
        };
        let line = render_session(&session);
        assert!(
            line.contains(
                "grandmaster 020000.0000.000001 (local grandmaster session 3) offset 0 ns"
            ),
            "{line}"
        );
        let mut held = session;
        held.clock.local_grandmaster = None;
        held.clock.holdover = true;
        let line = render_session(&held);
        assert!(
            line.contains("grandmaster 020000.0000.000001 (held: silent) offset 0 ns"),
            "{line}"
        );
    }

    #[test]
    fn no_daemon_is_a_one_line_reason() {
        let error = connect(Some(&PathBuf::from("/nonexistent/aptp.sock"))).unwrap_err();
        assert!(
            error.contains("cannot connect to the aptp daemon at /nonexistent/aptp.sock"),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }
}
