//! The running drop-in: the shared-memory record, the PTP sockets, the control socket, and
//! the two tasks that move things between them and the AirPlay receiver role.
//!
//! Start-up claims everything first and refuses to start, saying why, when anything is
//! taken: the PTP ports, the shared-memory object (naming the process that holds it), the
//! control address. Shutting down (or dropping the daemon) writes a zero record and unlinks
//! the object.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use aptp::airplay::{AirplayReceiver, ReceiverConfig, ReceiverConfigError};
use aptp_transport::{
    PortKind, PtpSocket, SocketConfig, TimestampClock, TransportError, PTP_EVENT_PORT,
    PTP_GENERAL_PORT,
};
use aptp_wire::ClockIdentity;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::control_server::{self, ControlStats};
use super::timing::{Sockets, TimingTask};
use super::{NqptpPublisher, NqptpStatus, ShmError, DEFAULT_SHM_NAME};

/// The control address nqptp listens on.
pub const DEFAULT_CONTROL_ADDRESS: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9000);

/// Commands queued between the control task and the timing task at most.
const COMMAND_QUEUE: usize = 64;

/// How the drop-in is started; [`NqptpOptions::default`] behaves as nqptp.
///
/// ```
/// use aptp_service::nqptp::NqptpOptions;
/// let options = NqptpOptions::default();
/// assert_eq!(options.control.to_string(), "127.0.0.1:9000");
/// assert_eq!(options.shm_name, "/nqptp");
/// assert_eq!((options.event_port, options.general_port), (319, 320));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NqptpOptions {
    /// Where the control datagrams are received. Default 127.0.0.1:9000.
    pub control: SocketAddr,
    /// The shared-memory object published. Default `/nqptp`.
    pub shm_name: String,
    /// The PTP event port. Default 319.
    pub event_port: u16,
    /// The PTP general port. Default 320.
    pub general_port: u16,
    /// Also listen for IPv6 peers (on `::`, beside IPv4's 0.0.0.0). Default true; a machine
    /// without IPv6 is tolerated (IPv4 only, with a warning).
    pub ipv6: bool,
    /// This follower's clock identity (in its Delay_Req); random by default.
    pub clock_identity: Option<ClockIdentity>,
}

impl Default for NqptpOptions {
    fn default() -> Self {
        NqptpOptions {
            control: DEFAULT_CONTROL_ADDRESS,
            shm_name: DEFAULT_SHM_NAME.to_owned(),
            event_port: PTP_EVENT_PORT,
            general_port: PTP_GENERAL_PORT,
            ipv6: true,
            clock_identity: None,
        }
    }
}

/// Why the drop-in could not start or stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NqptpError {
    /// The shared-memory object is taken or cannot be created.
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// The PTP ports are taken, privileged, or the clock is missing.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The control address is taken or cannot be bound.
    #[error(
        "cannot receive control datagrams on {address}: {source} (is nqptp or another aptp \
         nqptp running? `systemctl stop nqptp`, or choose --control)"
    )]
    Control {
        /// The control address.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The receiver role refused its configuration.
    #[error("receiver configuration: {0}")]
    Receiver(#[from] ReceiverConfigError),
    /// The timing task ended abnormally.
    #[error("the timing task failed: {0}")]
    Task(String),
}

/// The running drop-in. Dropping it stops it (and unlinks the shared memory).
///
/// ```no_run
/// # async fn demo() -> Result<(), aptp_service::nqptp::NqptpError> {
/// use aptp_service::nqptp::{NqptpDaemon, NqptpOptions};
/// let daemon = NqptpDaemon::start(NqptpOptions::default())?; // as nqptp: root for 319/320
/// let mut status = daemon.watch_status();
/// status.changed().await.ok();
/// println!("{:?}", status.borrow().grandmaster);
/// daemon.shutdown().await
/// # }
/// ```
pub struct NqptpDaemon {
    control_address: SocketAddr,
    ptp_ports: (u16, u16),
    shm_name: String,
    status: watch::Receiver<NqptpStatus>,
    shutdown: Option<oneshot::Sender<()>>,
    timing: Option<JoinHandle<Result<(), TransportError>>>,
    control: JoinHandle<()>,
}

impl NqptpDaemon {
    /// Claims the PTP ports, the control address and then the shared memory, and starts the
    /// tasks. Must be called inside a tokio runtime with I/O and timers enabled. The shared
    /// memory comes last, so a player (or a script) that sees it exist can already send
    /// control datagrams: they wait in the bound socket.
    ///
    /// # Errors
    /// [`NqptpError`] saying what is taken or missing; nothing is left behind.
    pub fn start(options: NqptpOptions) -> Result<NqptpDaemon, NqptpError> {
        // The ports first: when nqptp runs, "port in use" is the clearest reason, and the
        // shared memory of a nqptp under another user is then never touched.
        let sockets = bind_ptp(&options)?;
        let control = bind_control(options.control)?;
        let publisher = NqptpPublisher::create(&options.shm_name)?;
        let ptp_ports = (
            sockets.ipv4.local_addr(PortKind::Event).port(),
            sockets.ipv4.local_addr(PortKind::General).port(),
        );
        let control_address = control.local_addr().map_err(|source| NqptpError::Control {
            address: options.control,
            source,
        })?;
        let clock = TimestampClock::MonotonicRaw;
        let now = super::timing::to_time(clock.now()?);
        let identity = options.clock_identity.unwrap_or_else(random_identity);
        let receiver = AirplayReceiver::new(ReceiverConfig::new(identity), now)?;
        let stats = Arc::new(ControlStats::default());
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (status_tx, status_rx) = watch::channel(NqptpStatus::default());
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let shm_name = publisher.name().to_owned();
        tracing::info!(
            shm = %shm_name,
            control = %control_address,
            event_port = options.event_port,
            general_port = options.general_port,
            ipv6 = sockets.ipv6.is_some(),
            clock_identity = %identity.dotted(),
            "nqptp drop-in started"
        );
        let control = tokio::spawn(control_server::serve(
            control,
            commands_tx,
            Arc::clone(&stats),
            shm_name.clone(),
        ));
        let task = TimingTask::new(
            receiver,
            sockets,
            publisher,
            clock,
            commands_rx,
            status_tx,
            stats,
        );
        let timing = tokio::spawn(task.run(shutdown_rx));
        Ok(NqptpDaemon {
            control_address,
            ptp_ports,
            shm_name,
            status: status_rx,
            shutdown: Some(shutdown_tx),
            timing: Some(timing),
            control,
        })
    }

    /// The control address actually bound (the kernel's choice when port 0 was asked).
    pub fn control_address(&self) -> SocketAddr {
        self.control_address
    }

    /// The PTP (event, general) ports bound (the kernel's choice when 0 was asked).
    pub fn ptp_ports(&self) -> (u16, u16) {
        self.ptp_ports
    }

    /// The shared-memory object's name, with its leading `/`.
    pub fn shm_name(&self) -> &str {
        &self.shm_name
    }

    /// A receiver of the status snapshots.
    pub fn watch_status(&self) -> watch::Receiver<NqptpStatus> {
        self.status.clone()
    }

    /// Stops the tasks, publishes a zero record and unlinks the shared memory.
    ///
    /// # Errors
    /// [`NqptpError`] if the timing task had failed.
    pub async fn shutdown(mut self) -> Result<(), NqptpError> {
        self.control.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.timing.take() {
            Some(timing) => match timing.await {
                Ok(result) => result.map_err(NqptpError::from),
                Err(error) => Err(NqptpError::Task(error.to_string())),
            },
            None => Ok(()),
        }
    }
}

impl Drop for NqptpDaemon {
    fn drop(&mut self) {
        self.control.abort();
        if let Some(timing) = &self.timing {
            // Dropping the task drops the publisher, which unlinks the object.
            timing.abort();
        }
    }
}

/// Binds the PTP ports on IPv4 and (when asked and available) IPv6, kernel timestamps on
/// CLOCK_MONOTONIC_RAW, the clock nqptp publishes in.
fn bind_ptp(options: &NqptpOptions) -> Result<Sockets, TransportError> {
    let config = |address: IpAddr| {
        SocketConfig::new(address)
            .with_ports(options.event_port, options.general_port)
            .with_clock(TimestampClock::MonotonicRaw)
    };
    let ipv4 = PtpSocket::bind(config(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))?;
    let ipv6 = if options.ipv6 {
        // The same port numbers as IPv4's (the kernel's choice when 0 was asked).
        let event = ipv4.local_addr(PortKind::Event).port();
        let general = ipv4.local_addr(PortKind::General).port();
        match PtpSocket::bind(config(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).with_ports(event, general))
        {
            Ok(socket) => Some(socket),
            Err(error @ TransportError::AddressInUse { .. }) => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "no IPv6: following IPv4 peers only");
                None
            }
        }
    } else {
        None
    };
    Ok(Sockets { ipv4, ipv6 })
}

fn bind_control(address: SocketAddr) -> Result<tokio::net::UdpSocket, NqptpError> {
    let failed = |source| NqptpError::Control { address, source };
    let socket = std::net::UdpSocket::bind(address).map_err(failed)?;
    socket.set_nonblocking(true).map_err(failed)?;
    tokio::net::UdpSocket::from_std(socket).map_err(failed)
}

/// A random clock identity (locally administered, unicast), from /dev/urandom or, failing
/// that, the time and the process id.
fn random_identity() -> ClockIdentity {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut bytes));
    if read.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(0);
        bytes = (nanos ^ (u64::from(std::process::id()) << 32)).to_be_bytes();
    }
    bytes[0] = (bytes[0] | 0x02) & !0x01;
    ClockIdentity(bytes)
}
