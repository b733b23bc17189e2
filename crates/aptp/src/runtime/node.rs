//! [`Node`]: a running PTP ordinary clock, and the handle an application keeps.

use std::net::{IpAddr, SocketAddr};

use aptp_clock::{ClockMapping, Time};
use aptp_transport::{MulticastGroup, PtpSocket, SocketConfig, TransportError};
use aptp_wire::ClockIdentity;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::driver::{Command, Driver};
use super::{identity, LocalClock, Network, NodeOptions, Status};
use crate::engine::{ConfigError, DelayMechanism, Engine, Event, PortKind, PortState};

/// An engine event as a node broadcasts it; peers are IP addresses.
pub type NodeEvent = Event<IpAddr>;

/// Events kept for a slow subscriber before it starts losing the oldest
/// ([`broadcast::error::RecvError::Lagged`]).
const EVENT_CHANNEL_CAPACITY: usize = 256;

/// Why a node could not start, or stopped badly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The engine refused the configuration.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The sockets could not be opened, or the local clock cannot be read.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The driver task panicked or was cancelled by its runtime shutting down.
    #[error("the node's driver task ended abnormally: {0}")]
    DriverEnded(String),
}

/// A running PTP ordinary clock: the engine driven over real sockets by a tokio task.
///
/// Start it with [`Node::start`], read its clock mapping ([`now`](Node::now),
/// [`to_remote`](Node::to_remote), [`to_local`](Node::to_local)), watch its
/// [`Status`] ([`watch_status`](Node::watch_status)) and its events
/// ([`subscribe`](Node::subscribe)), and stop it with [`shutdown`](Node::shutdown) (dropping
/// the node stops it too). The node never steers any system clock.
///
/// A master and a slave on loopback, in a few lines:
///
/// ```
/// # async fn demo() -> Result<(), aptp::runtime::NodeError> {
/// use aptp::engine::{Config, PortKind, PortState};
/// use aptp::runtime::{Network, Node, NodeOptions, Role};
/// use std::time::Duration;
///
/// let fast = Config { log_sync_interval: -3, log_announce_interval: -2,
///                     log_min_delay_req_interval: -3, ..Config::default() };
/// let master = Node::start(
///     NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse().unwrap()))
///         .with_config(fast.clone())
///         .with_ports(0, 0) // any free ports; the slave uses the same ones
///         .with_unicast_peers(["127.0.0.2".parse().unwrap()]),
/// )?;
/// let (event, general) = (master.local_addr(PortKind::Event), master.local_addr(PortKind::General));
/// let slave = Node::start(
///     NodeOptions::new(Role::Slave, Network::Bind("127.0.0.2".parse().unwrap()))
///         .with_config(fast)
///         .with_ports(event.port(), general.port()),
/// )?;
/// let mut status = slave.watch_status();
/// let following = tokio::time::timeout(
///     Duration::from_secs(20),
///     status.wait_for(|s| s.state.is_following() && s.mapping.is_some()),
/// ).await.is_ok();
/// drop(status);
/// assert!(following, "the slave follows within 20 s");
/// let offset_ns = slave.offset_ns().unwrap(); // master minus local: 0 on one machine
/// assert!(offset_ns.abs() < 5_000_000, "{offset_ns}");
/// slave.shutdown().await?;
/// master.shutdown().await?;
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
/// #     .block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct Node {
    clock_identity: ClockIdentity,
    local_clock: LocalClock,
    event_address: SocketAddr,
    general_address: SocketAddr,
    status: watch::Receiver<Status>,
    events: broadcast::Sender<NodeEvent>,
    shutdown: Option<oneshot::Sender<()>>,
    commands: mpsc::UnboundedSender<Command>,
    task: Option<JoinHandle<Result<(), TransportError>>>,
}

impl Node {
    /// Binds the sockets, builds the engine and spawns the driver task. Must be called inside
    /// a tokio runtime with I/O and time enabled.
    ///
    /// # Errors
    /// [`NodeError::Config`] for a configuration the engine refuses,
    /// [`NodeError::Transport`] when the sockets cannot be bound (privileged ports, port in
    /// use, unknown interface) or the local clock cannot be read.
    ///
    /// ```
    /// # async fn demo() {
    /// use aptp::engine::Config;
    /// use aptp::runtime::{Network, Node, NodeError, NodeOptions, Role};
    /// let bad = NodeOptions::new(Role::Automatic, Network::Bind("127.0.0.1".parse().unwrap()))
    ///     .with_config(Config { log_sync_interval: 9, ..Config::default() });
    /// assert!(matches!(Node::start(bad), Err(NodeError::Config(_))));
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo());
    /// ```
    pub fn start(options: NodeOptions) -> Result<Node, NodeError> {
        let config = options.engine_config();
        config.validate()?;
        let clock_identity = options
            .clock_identity
            .or_else(|| match &options.network {
                Network::Interface { name, .. } => identity::from_interface(name),
                Network::Bind(_) => None,
            })
            .unwrap_or_else(identity::random);
        let mut socket_config = SocketConfig::new(options.network.bind_address())
            .with_ports(options.event_port, options.general_port)
            .with_clock(options.local_clock.timestamp_clock())
            // Following only named masters: the kernel refuses the others' messages, so a
            // flood of them never reaches (or overflows) the socket.
            .with_accepted_clocks(config.acceptable_masters.iter().map(|clock| clock.0));
        if let Network::Interface { name, .. } = &options.network {
            socket_config = socket_config
                .with_interface(name.clone())
                .with_multicast_group(MulticastGroup::Primary);
            if config.delay_mechanism == DelayMechanism::PeerToPeer {
                socket_config = socket_config.with_multicast_group(MulticastGroup::PeerDelay);
            }
        }
        let socket = PtpSocket::bind(socket_config)?;
        let event_address = socket.local_addr(aptp_transport::PortKind::Event);
        let general_address = socket.local_addr(aptp_transport::PortKind::General);
        let now = options.local_clock.now()?;
        let mut engine = Engine::new(config, clock_identity, now)?;
        engine.set_unicast_peers(options.unicast_peers.iter().copied());

        let (status_sender, status) =
            watch::channel(Status::new(clock_identity, options.local_clock));
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let (shutdown, shutdown_receiver) = oneshot::channel();
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let span = tracing::info_span!(
            "ptp_node",
            clock = %clock_identity.dotted(),
            role = ?options.role,
            event = %event_address,
        );
        span.in_scope(|| {
            tracing::info!(
                general = %general_address,
                local_clock = %options.local_clock,
                kernel_rx_timestamps = socket.kernel_rx_timestamps(),
                kernel_tx_timestamps = socket.kernel_tx_timestamps(),
                unicast_peers = options.unicast_peers.len(),
                "node started"
            )
        });
        let driver = Driver {
            engine,
            socket,
            local_clock: options.local_clock,
            event_port: event_address.port(),
            general_port: general_address.port(),
            status: status_sender,
            events: events.clone(),
            last_measurement: None,
        };
        let task = tokio::spawn(
            driver
                .run(shutdown_receiver, command_receiver)
                .instrument(span),
        );
        Ok(Node {
            clock_identity,
            local_clock: options.local_clock,
            event_address,
            general_address,
            status,
            events,
            shutdown: Some(shutdown),
            commands,
            task: Some(task),
        })
    }

    /// This clock's identity.
    pub fn clock_identity(&self) -> ClockIdentity {
        self.clock_identity
    }

    /// The clock the node reads.
    pub fn local_clock(&self) -> LocalClock {
        self.local_clock
    }

    /// The local address of the event or general socket (with the port actually bound).
    pub fn local_addr(&self, port: PortKind) -> SocketAddr {
        match port {
            PortKind::Event => self.event_address,
            PortKind::General => self.general_address,
        }
    }

    /// The latest status snapshot.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// The port state now.
    pub fn state(&self) -> PortState {
        self.status.borrow().state
    }

    /// A watch on the status: `changed()` wakes after every step of the driver,
    /// `wait_for(predicate)` waits for a condition (e.g. the state SLAVE).
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Every engine event from now on (state changes, measurements, mapping updates, steps,
    /// faults, drop summaries).
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Reads the local clock.
    ///
    /// # Errors
    /// [`TransportError::Clock`] if the system lacks the clock.
    pub fn local_now(&self) -> Result<Time, TransportError> {
        self.local_clock.now()
    }

    /// The remote ↔ local mapping while following a master.
    pub fn mapping(&self) -> Option<ClockMapping> {
        let status = self.status.borrow();
        status.mapping.filter(|_| status.state.is_following())
    }

    /// The master's time at local instant `local`, while following.
    pub fn to_remote(&self, local: Time) -> Option<Time> {
        self.mapping().map(|m| m.to_remote(local))
    }

    /// The local instant at which the master's clock shows `remote`, while following.
    pub fn to_local(&self, remote: Time) -> Option<Time> {
        self.mapping().map(|m| m.to_local(remote))
    }

    /// Now, in the master's timescale: the mapped local clock while following, the local
    /// clock itself while this node is the master; `None` otherwise (or if the local clock
    /// cannot be read).
    pub fn now(&self) -> Option<Time> {
        let local = self.local_now().ok()?;
        match self.state() {
            PortState::Master => Some(local),
            _ => self.to_remote(local),
        }
    }

    /// The master's time minus the local clock's now, in nanoseconds, while following.
    pub fn offset_ns(&self) -> Option<i64> {
        let local = self.local_now().ok()?;
        self.status.borrow().offset_ns_at(local)
    }

    /// Replaces the peers served by unicast (as master; an empty list goes back to the
    /// multicast group). Takes effect at the driver's next step; at most
    /// `capacities.unicast_peers` are kept (the driver logs how many).
    ///
    /// # Errors
    /// [`NodeError::DriverEnded`] when the driver task no longer runs.
    pub fn set_unicast_peers(
        &self,
        peers: impl IntoIterator<Item = IpAddr>,
    ) -> Result<(), NodeError> {
        self.command(Command::SetUnicastPeers(peers.into_iter().collect()))
    }

    /// Disables the port (`false`: DISABLED, it sends nothing and ignores everything) or
    /// enables it again (`true`: it listens afresh).
    ///
    /// # Errors
    /// [`NodeError::DriverEnded`] when the driver task no longer runs.
    pub fn set_enabled(&self, enabled: bool) -> Result<(), NodeError> {
        self.command(Command::SetEnabled(enabled))
    }

    fn command(&self, command: Command) -> Result<(), NodeError> {
        self.commands
            .send(command)
            .map_err(|_| NodeError::DriverEnded("the driver no longer takes commands".into()))
    }

    /// Whether the driver task still runs.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Stops the driver task and waits for it; the sockets are closed when it returns.
    ///
    /// # Errors
    /// [`NodeError::Transport`] if the driver had stopped because the local clock could not
    /// be read; [`NodeError::DriverEnded`] if it panicked.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(shutdown) = self.shutdown.take() {
            // The driver may have ended already: then there is nobody to tell.
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(NodeError::from),
                Err(error) => Err(NodeError::DriverEnded(error.to_string())),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Dropping the sender ends the driver at its next wake-up as well; sending is faster.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
