//! `aptp daemon`: the host's one PTP service. It owns the socket clients reach it by, the
//! session registry with its leases, and the PTP ports on which each session's AirPlay role
//! runs (the backends).

mod backends;
mod config;
mod holders;
mod interfaces;
mod local;
mod nqptp_control;
mod role_facts;
mod state;
mod suspend;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UnixListener;
use tokio::sync::Semaphore;

pub use config::{ConfigError, DaemonConfig, PtpPorts};
pub use holders::udp_port_holders;
pub use interfaces::{canonical_ip, AddressChange, LocalAddresses};
pub use state::{DaemonState, EVENT_BACKLOG};
pub use suspend::{SuspendDetector, BOOTTIME_SHIFT_ENV, SUSPEND_THRESHOLD_NS};

use aptp_transport::{PtpSocket, SocketConfig, TimestampClock, TransportError};
use thiserror::Error;

use crate::ipc::{self, IpcError, SocketGuard, MAX_CONNECTIONS};

/// Why the daemon could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The IPC socket.
    #[error(transparent)]
    Ipc(#[from] IpcError),
    /// The PTP ports (taken by another process, or no privilege for 319/320).
    #[error("PTP ports: {source}{holders}")]
    Ptp {
        /// The transport's error.
        source: TransportError,
        /// Who holds the ports, when /proc says (`" (held by name (pid N))"`), else empty.
        holders: String,
    },
    /// A configuration the daemon cannot serve.
    #[error("{0}")]
    Config(String),
}

/// Play-state commands from the nqptp control protocol waiting for the PTP task.
const PLAY_COMMANDS: usize = 256;

/// The longest the lease reaper sleeps when no lease is due sooner.
const REAPER_IDLE: Duration = Duration::from_secs(60);

/// A bound daemon, ready to [`run`](Daemon::run).
///
/// ```no_run
/// use aptp_service::daemon::{Daemon, DaemonConfig};
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let daemon = Daemon::bind(DaemonConfig::default())?;
/// daemon.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Daemon {
    state: Arc<DaemonState>,
    listener: UnixListener,
    guard: SocketGuard,
    ptp: Vec<PtpSocket>,
    control: Option<tokio::net::UdpSocket>,
}

impl Daemon {
    /// Binds the PTP ports and the IPC socket named in `config` (inside a tokio runtime).
    pub fn bind(config: DaemonConfig) -> Result<Daemon, DaemonError> {
        let ptp = match &config.ptp {
            Some(ports) => bind_ptp(ports, &config.interfaces)?,
            None => Vec::new(),
        };
        let control = match config.nqptp_control {
            Some(address) => {
                let bound = std::net::UdpSocket::bind(address)
                    .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
                    .and_then(tokio::net::UdpSocket::from_std)
                    .map_err(|error| {
                        DaemonError::Config(holders::with_holders(
                            format!("nqptp control on {address}: {error}"),
                            address.port(),
                        ))
                    })?;
                Some(bound)
            }
            None => None,
        };
        let (listener, guard) = ipc::bind_socket(&config.socket_path, config.socket_mode)?;
        let state = Arc::new(DaemonState::new(
            config.socket_path.clone(),
            config.limits.clone(),
            config.records,
        ));
        Ok(Daemon {
            state,
            listener,
            guard,
            ptp,
            control,
        })
    }

    /// Where nqptp's control protocol is served (the port the kernel chose when 0 was asked).
    pub fn nqptp_control_address(&self) -> Option<std::net::SocketAddr> {
        self.control
            .as_ref()
            .and_then(|socket| socket.local_addr().ok())
    }

    /// The shared state (for status and for tests).
    pub fn state(&self) -> Arc<DaemonState> {
        Arc::clone(&self.state)
    }

    /// Serves clients and reaps leases until `shutdown` completes; then ends every session and
    /// removes the socket.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Daemon {
            state,
            listener,
            guard,
            ptp,
            control,
        } = self;
        tracing::info!(socket = %guard.path().display(), "aptp daemon listening");
        let reaper = tokio::spawn(reap_leases(Arc::clone(&state)));
        let (play, play_commands) = tokio::sync::mpsc::channel(PLAY_COMMANDS);
        let backends = (!ptp.is_empty()).then(|| {
            let events = state.subscribe();
            tokio::spawn(
                backends::Backends::new(Arc::clone(&state), ptp).run(events, play_commands),
            )
        });
        let control = control
            .map(|socket| tokio::spawn(nqptp_control::serve(socket, Arc::clone(&state), play)));
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let state = Arc::clone(&state);
                        match Arc::clone(&connections).try_acquire_owned() {
                            Ok(permit) => {
                                tokio::spawn(async move {
                                    ipc::serve_connection(stream, state).await;
                                    drop(permit);
                                });
                            }
                            Err(_) => {
                                tracing::warn!("{MAX_CONNECTIONS} clients connected; refusing one more");
                                drop(stream);
                            }
                        }
                    }
                    Err(error) => {
                        // EMFILE and the like: wait a little rather than spin.
                        tracing::warn!(%error, "accept on the IPC socket failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        reaper.abort();
        if let Some(backends) = backends {
            backends.abort();
        }
        if let Some(control) = control {
            control.abort();
        }
        let ended = state.registry().close_all();
        state.publish(ended);
        drop(guard);
    }
}

/// Binds the PTP ports: on each interface named (every interface when none is), for IPv4 and
/// IPv6 when the bind address is the default (every IPv4 address) or for the family of the
/// address given. The first socket's ports (the kernel's choice when 0 was asked) are used by
/// the others, so every peer reaches the daemon at the same pair. A host without IPv6 is
/// served over IPv4 alone.
fn bind_ptp(ports: &PtpPorts, interfaces: &[String]) -> Result<Vec<PtpSocket>, DaemonError> {
    let addresses: Vec<(IpAddr, bool)> =
        if ports.bind_address == IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) {
            vec![
                (ports.bind_address, false),
                (IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), true),
            ]
        } else {
            vec![(ports.bind_address, false)]
        };
    let targets: Vec<Option<&String>> = if interfaces.is_empty() {
        vec![None]
    } else {
        interfaces.iter().map(Some).collect()
    };
    let (mut event_port, mut general_port) = (ports.event_port, ports.general_port);
    let mut sockets = Vec::new();
    for interface in targets {
        for &(address, optional) in &addresses {
            let mut socket_config = SocketConfig::new(address)
                .with_ports(event_port, general_port)
                .with_clock(TimestampClock::MonotonicRaw);
            if let Some(interface) = interface {
                socket_config = socket_config.with_interface(interface.clone());
            }
            match PtpSocket::bind(socket_config) {
                Ok(socket) => {
                    event_port = socket.local_addr(aptp_transport::PortKind::Event).port();
                    general_port = socket.local_addr(aptp_transport::PortKind::General).port();
                    sockets.push(socket);
                }
                Err(error) if optional && family_unavailable(&error) => {
                    tracing::warn!(%error, "no IPv6 here: PTP is served over IPv4 only");
                }
                Err(source) => {
                    let holders = [event_port, general_port]
                        .into_iter()
                        .filter(|port| *port != 0)
                        .flat_map(holders::udp_port_holders)
                        .collect::<std::collections::BTreeSet<_>>();
                    return Err(DaemonError::Ptp {
                        source,
                        holders: if holders.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " (held by {})",
                                holders.into_iter().collect::<Vec<_>>().join(", ")
                            )
                        },
                    });
                }
            }
        }
    }
    Ok(sockets)
}

/// The address family cannot be used on this host (IPv6 compiled out or disabled).
fn family_unavailable(error: &TransportError) -> bool {
    match error {
        TransportError::AddressNotAvailable { .. } => true,
        TransportError::Setup { source, .. } => {
            source.raw_os_error() == Some(nix::libc::EAFNOSUPPORT)
        }
        _ => false,
    }
}

/// Ends sessions whose leases run out, waking at the next expiry or when a lease changes.
async fn reap_leases(state: Arc<DaemonState>) {
    loop {
        let now = Instant::now();
        state.expire(now);
        let next = state.registry().next_expiry().unwrap_or(now + REAPER_IDLE);
        tokio::select! {
            () = tokio::time::sleep_until(next.into()) => {}
            () = state.wait_leases_changed() => {}
        }
    }
}
