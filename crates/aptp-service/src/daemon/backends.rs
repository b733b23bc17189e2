//! The session backends: the PTP sockets owned by the daemon (one per interface served and
//! address family, each read by a task of its own), an AirPlay receiver role for each
//! follower session and an AirPlay sender role for each grandmaster session, datagrams
//! dispatched to the sessions whose peers sent them.
//!
//! The task learns about sessions from the registry's events (opened, peers changed, closed),
//! so the IPC side needs no hook into it; after missing events (a lagged channel) it
//! reconciles with the registry. It writes back each session's clock (status, `mapping`,
//! `clock` events) and its nqptp-format record.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use aptp::airplay::{AirplayReceiver, AirplaySender, ReceiverConfig, SenderConfig};
use aptp::client::protocol::{Event, SessionId, SessionInfo, SessionRole};
use aptp::client::{InterfaceStatus, PortStatus, SessionClock};
use aptp::engine::{Destination, PortKind, Transmit};
use aptp_clock::Time;
use aptp_transport::{PtpSocket, Received, TimestampClock, TransportError};
use aptp_wire::ClockIdentity;
use tokio::sync::{broadcast, mpsc};

use super::interfaces::{canonical_ip, AddressChange, LocalAddresses};
use super::local::{choose_local_grandmaster, local_snapshot, LocalGrandmaster};
use super::nqptp_control::PlayCommand;
use super::role_facts::{random_identity, receiver_drops};
use super::{DaemonState, SuspendDetector};
use crate::nqptp::{ControlCommand, NqptpRecord, Session as NqptpSession};

/// How often each session's clock is written back (status, `mapping`, `clock` event) at most,
/// unless its grandmaster changed; its shared-memory record follows every measurement.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(250);

/// How long to pause after a receive error, so a failing socket cannot spin a core.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Datagrams read by the receive tasks and not yet handled.
const RECEIVE_QUEUE: usize = 1024;

/// How often the host's interface addresses are read again.
const ADDRESS_POLL: Duration = Duration::from_secs(1);

pub(super) enum Role {
    Follower {
        receiver: Box<AirplayReceiver<IpAddr>>,
        policy: NqptpSession,
    },
    Grandmaster {
        sender: Box<AirplaySender<IpAddr>>,
    },
}

pub(super) struct Backend {
    pub(super) peers: Vec<IpAddr>,
    pub(super) role: Role,
    record: NqptpRecord,
    published_at: Option<Time>,
    grandmaster: Option<String>,
    /// Whether the clock written back last was a held grandmaster's.
    holdover: bool,
    /// When the last Sync was received from the grandmaster followed (or sent, serving).
    last_sync: Option<Time>,
    /// When the last Follow_Up was received from the grandmaster followed (or sent).
    last_follow_up: Option<Time>,
    /// The daemon's grandmaster session this follower takes its clock from directly, and
    /// since when.
    local_grandmaster: Option<(SessionId, Time)>,
}

/// messageType, the low nibble of a PTP message's first byte (IEEE 1588-2019 Table 36).
const MESSAGE_TYPE_SYNC: u8 = 0x0;
/// messageType of Follow_Up.
const MESSAGE_TYPE_FOLLOW_UP: u8 = 0x8;

impl Backend {
    /// Notes a Sync or Follow_Up received from the grandmaster, or sent to a peer, at `at`.
    fn note_message(&mut self, bytes: &[u8], at: Time) {
        match bytes.first().map(|first| first & 0x0f) {
            Some(MESSAGE_TYPE_SYNC) => self.last_sync = Some(at),
            Some(MESSAGE_TYPE_FOLLOW_UP) => self.last_follow_up = Some(at),
            _ => {}
        }
    }
}

/// Which socket reaches a peer, and the IPv6 scope (interface index) of a link-local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Route {
    socket: usize,
    scope: Option<u32>,
}

/// The task that runs every session's role over the daemon's PTP sockets.
pub(super) struct Backends {
    state: Arc<DaemonState>,
    sockets: Vec<Arc<PtpSocket>>,
    clock: TimestampClock,
    backends: BTreeMap<SessionId, Backend>,
    /// Per socket: datagrams from no session's peer.
    not_a_session_peer: Vec<u64>,
    /// Per socket: datagrams received.
    received: Vec<u64>,
    /// The socket each peer was last heard on (or the kernel's route to it).
    routes: HashMap<IpAddr, Route>,
    /// Address changes noticed, by interface.
    address_changes: BTreeMap<String, u64>,
    /// The interface each peer was last heard on.
    peer_interfaces: HashMap<IpAddr, String>,
    /// Interface names by index, as the kernel gave them.
    interface_names: HashMap<u32, String>,
    suspend: SuspendDetector,
    /// The host's addresses, as last read, and when.
    local: LocalAddresses,
    local_read_at: Option<Time>,
}

fn to_time(nanos: i64) -> Time {
    Time::from_nanos_i128(i128::from(nanos))
}

impl Backends {
    pub(super) fn new(state: Arc<DaemonState>, sockets: Vec<PtpSocket>) -> Backends {
        Backends {
            state,
            not_a_session_peer: vec![0; sockets.len()],
            received: vec![0; sockets.len()],
            sockets: sockets.into_iter().map(Arc::new).collect(),
            clock: TimestampClock::MonotonicRaw,
            backends: BTreeMap::new(),
            routes: HashMap::new(),
            address_changes: BTreeMap::new(),
            peer_interfaces: HashMap::new(),
            interface_names: HashMap::new(),
            suspend: SuspendDetector::from_env(),
            local: LocalAddresses::read().unwrap_or_default(),
            local_read_at: None,
        }
    }

    fn now(&self) -> Result<Time, TransportError> {
        self.clock.now().map(|now| to_time(now.as_nanos()))
    }

    /// Runs until the task is aborted (the daemon stopping drops every role with it).
    pub(super) async fn run(
        mut self,
        mut events: broadcast::Receiver<Event>,
        mut play_commands: mpsc::Receiver<PlayCommand>,
    ) {
        let mut play_open = true;
        let (to_handle, mut datagrams) = mpsc::channel(RECEIVE_QUEUE);
        let _receivers = ReceiveTasks(
            self.sockets
                .iter()
                .enumerate()
                .map(|(index, socket)| {
                    tokio::spawn(receive(index, Arc::clone(socket), to_handle.clone()))
                })
                .collect(),
        );
        drop(to_handle);
        self.reconcile();
        self.state.set_ports(self.port_statuses());
        loop {
            let Ok(now) = self.now() else {
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
                continue;
            };
            if let Some(slept_ns) = self.suspend.observe_now() {
                self.on_resumed(now, slept_ns);
            }
            self.poll_addresses(now);
            self.flush_transmits(now).await;
            self.write_back(now);
            let deadline = self
                .backends
                .values()
                .filter_map(|backend| match &backend.role {
                    Role::Follower { receiver, .. } => receiver.poll_timeout(),
                    Role::Grandmaster { sender } => sender.poll_timeout(),
                })
                .chain(self.next_address_poll())
                .min();
            let sleep = deadline.map(|deadline| {
                Duration::from_nanos(
                    u64::try_from(deadline.since(now).nanos_floor().max(0)).unwrap_or(0),
                )
            });
            tokio::select! {
                biased;
                received = datagrams.recv() => match received {
                    Some((index, received)) => self.on_received(index, received),
                    None => return,
                },
                command = play_commands.recv(), if play_open => match command {
                    Some((session, command)) => self.on_play_command(session, &command),
                    None => play_open = false,
                },
                event = events.recv() => match event {
                    Ok(event) => self.on_event(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.reconcile(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = sleep_or_forever(sleep) => {
                    if let Ok(now) = self.now() {
                        self.run_timers(now);
                    }
                }
            }
            self.state.set_ports(self.port_statuses());
        }
    }

    /// Runs every role's timers at `now`. A follower's events are heard at once: a
    /// grandmaster lost to silence is held (its record stays) or, its hold over, forgotten,
    /// and one back from its hold is not taken for a new one (heard together with its loss
    /// at the next datagram, it would be).
    fn run_timers(&mut self, now: Time) {
        for backend in self.backends.values_mut() {
            match &mut backend.role {
                Role::Follower { receiver, policy } => {
                    receiver.handle_timeout(now);
                    drain_receiver_events(receiver, policy, now);
                }
                Role::Grandmaster { sender } => sender.handle_timeout(now),
            }
        }
    }

    /// When the host's addresses are due to be read again.
    fn next_address_poll(&self) -> Option<Time> {
        self.local_read_at
            .map(|at| at + aptp_clock::TimeDelta::from_nanos(ADDRESS_POLL.as_nanos() as i64))
    }

    /// Reads the host's addresses again when due.
    fn poll_addresses(&mut self, now: Time) {
        if self.next_address_poll().is_some_and(|due| now < due) {
            return;
        }
        self.local_read_at = Some(now);
        match LocalAddresses::read() {
            Ok(local) => {
                let changes = local.changes_since(&self.local);
                self.local = local;
                if !changes.is_empty() {
                    // Interfaces may have been renumbered too; routes are learnt again.
                    self.routes.clear();
                    self.interface_names.clear();
                }
                for change in changes {
                    self.on_address_changed(now, change);
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the host's addresses"),
        }
        self.state.set_interfaces(self.interface_statuses());
    }

    /// An interface gained or lost addresses: the clocks of the sessions whose peers are
    /// reached through it (or are one of those addresses) are marked invalid and re-acquired
    /// from the next Sync; subscribers are told.
    pub(super) fn on_address_changed(&mut self, now: Time, change: AddressChange) {
        *self
            .address_changes
            .entry(change.interface.clone())
            .or_insert(0) += 1;
        let through = |peer: &IpAddr| {
            change.added.contains(peer)
                || change.removed.contains(peer)
                || self
                    .peer_interfaces
                    .get(peer)
                    .is_some_and(|name| *name == change.interface)
                || kernel_route_interface(*peer, &self.local)
                    .is_some_and(|name| name == change.interface)
        };
        let affected: Vec<SessionId> = self
            .backends
            .iter()
            .filter(|(_, backend)| backend.peers.iter().any(through))
            .map(|(id, _)| *id)
            .collect();
        tracing::warn!(
            interface = %change.interface,
            added = ?change.added,
            removed = ?change.removed,
            sessions = ?affected,
            "interface addresses changed: re-acquiring the clocks measured through it"
        );
        for id in &affected {
            if let Some(backend) = self.backends.get_mut(id) {
                invalidate(backend, now);
            }
        }
        self.peer_interfaces
            .retain(|_, name| *name != change.interface);
        self.state.publish([Event::AddressChanged {
            interface: change.interface,
            added: change.added,
            removed: change.removed,
            sessions: affected,
        }]);
    }

    /// Whether the PTP sockets serve `interface` (an unbound socket serves every one).
    fn serves(&self, interface: &str) -> bool {
        self.sockets.iter().any(|socket| {
            socket
                .config()
                .interface
                .as_deref()
                .is_none_or(|bound| bound == interface)
        })
    }

    fn interface_statuses(&self) -> Vec<InterfaceStatus> {
        self.local
            .interfaces()
            .map(|name| InterfaceStatus {
                name: name.to_owned(),
                addresses: self.local.of(name),
                ptp: self.serves(name),
                address_changes: self.address_changes.get(name).copied().unwrap_or(0),
            })
            .collect()
    }

    /// The host slept: every follower's measurement is invalid and is re-acquired from the
    /// next Sync (the grandmaster is kept); subscribers are told.
    fn on_resumed(&mut self, now: Time, slept_ns: u64) {
        tracing::warn!(
            slept_ms = slept_ns / 1_000_000,
            "host resumed from suspend: re-acquiring every clock"
        );
        for backend in self.backends.values_mut() {
            invalidate(backend, now);
        }
        self.state.count_suspend();
        self.state.publish([Event::Resumed {
            slept_ms: slept_ns / 1_000_000,
        }]);
    }

    /// `B`, `E` or `P` from nqptp's control protocol for `session`.
    fn on_play_command(&mut self, session: SessionId, command: &ControlCommand) {
        if !self.backends.contains_key(&session) {
            // The command overtook the session's `opened` event.
            self.reconcile();
        }
        let Ok(now) = self.now() else { return };
        if let Some(Backend {
            role: Role::Follower { receiver, policy },
            ..
        }) = self.backends.get_mut(&session)
        {
            policy.handle_command(now, command, receiver.as_mut());
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            // Already there when a play command overtook this event.
            Event::Opened(info) if !self.backends.contains_key(&info.id) => self.open(&info),
            Event::PeersChanged { session, peers } => {
                let Ok(now) = self.now() else { return };
                if let Some(backend) = self.backends.get_mut(&session) {
                    set_peers(backend, now, &peers);
                }
            }
            Event::Closed { session, .. } => {
                self.backends.remove(&session);
            }
            _ => {}
        }
    }

    /// Makes the roles match the registry's sessions (at start and after missed events).
    fn reconcile(&mut self) {
        let live: Vec<SessionInfo> = self
            .state
            .registry()
            .statuses(std::time::Instant::now())
            .into_iter()
            .map(|status| status.info)
            .collect();
        self.backends
            .retain(|id, _| live.iter().any(|info| info.id == *id));
        for info in live {
            if !self.backends.contains_key(&info.id) {
                self.open(&info);
            }
        }
    }

    fn open(&mut self, info: &SessionInfo) {
        let Ok(now) = self.now() else { return };
        let identity = random_identity();
        let role = match info.role {
            SessionRole::Follower => match AirplayReceiver::new(ReceiverConfig::new(identity), now)
            {
                Ok(receiver) => Role::Follower {
                    receiver: Box::new(receiver),
                    policy: NqptpSession::new(),
                },
                Err(error) => {
                    tracing::error!(%error, session = info.id, "cannot start the receiver role");
                    return;
                }
            },
            SessionRole::Grandmaster => {
                match AirplaySender::new(SenderConfig::new(identity), now) {
                    Ok(sender) => Role::Grandmaster {
                        sender: Box::new(sender),
                    },
                    Err(error) => {
                        tracing::error!(%error, session = info.id, "cannot start the sender role");
                        return;
                    }
                }
            }
        };
        let mut backend = Backend {
            peers: Vec::new(),
            role,
            record: NqptpRecord::default(),
            published_at: None,
            grandmaster: None,
            holdover: false,
            last_sync: None,
            last_follow_up: None,
            local_grandmaster: None,
        };
        if let Role::Follower { policy, receiver } = &mut backend.role {
            // A native session plays from the start: its record is valid as soon as measured.
            policy.handle_command(now, &ControlCommand::Play, receiver.as_mut());
        }
        set_peers(&mut backend, now, &info.peers);
        self.backends.insert(info.id, backend);
    }

    fn on_received(&mut self, index: usize, received: Received) {
        if let Some(count) = self.received.get_mut(index) {
            *count += 1;
        }
        let Ok(now) = self.now() else { return };
        let source = canonical(received.source);
        let rx = to_time(received.rx_timestamp.time.as_nanos());
        let port = match received.port {
            aptp_transport::PortKind::Event => PortKind::Event,
            aptp_transport::PortKind::General => PortKind::General,
        };
        let mut delivered = false;
        for backend in self.backends.values_mut() {
            if !backend.peers.contains(&source) {
                continue;
            }
            delivered = true;
            match &mut backend.role {
                Role::Follower { receiver, policy } => {
                    receiver.handle_datagram(now, &received.data, source, port, rx);
                    drain_receiver_events(receiver, policy, rx);
                    if receiver
                        .grandmaster()
                        .is_some_and(|gm| gm.address == source)
                    {
                        backend.note_message(&received.data, now);
                    }
                }
                Role::Grandmaster { sender } => {
                    sender.handle_datagram(now, &received.data, source, port, rx)
                }
            }
        }
        if delivered {
            // Answers go back the way the peer came (its interface; a link-local IPv6 peer's
            // scope).
            let scope = match received.source {
                SocketAddr::V6(v6) if v6.scope_id() != 0 => Some(v6.scope_id()),
                _ => None,
            };
            self.routes.insert(
                source,
                Route {
                    socket: index,
                    scope,
                },
            );
            let bound = self
                .sockets
                .get(index)
                .and_then(|socket| socket.config().interface.clone());
            let interface = bound.or_else(|| {
                let index = received.interface_index?;
                if let Some(name) = self.interface_names.get(&index) {
                    return Some(name.clone());
                }
                let name = nix::net::if_::if_indextoname(index)
                    .ok()?
                    .into_string()
                    .ok()?;
                self.interface_names.insert(index, name.clone());
                Some(name)
            });
            if let Some(interface) = interface {
                if self.peer_interfaces.get(&source) != Some(&interface) {
                    self.peer_interfaces.insert(source, interface);
                }
            }
        } else if let Some(count) = self.not_a_session_peer.get_mut(index) {
            *count += 1;
        }
    }

    /// Sends what every role queued; an event message's transmit timestamp goes back at once
    /// to the role that sent it.
    async fn flush_transmits(&mut self, now: Time) {
        let sockets = &self.sockets;
        let routes = &mut self.routes;
        let local = &self.local;
        for backend in self.backends.values_mut() {
            loop {
                let transmit = match &mut backend.role {
                    Role::Follower { receiver, .. } => receiver.poll_transmit(now),
                    Role::Grandmaster { sender } => sender.poll_transmit(now),
                };
                let Some(Transmit {
                    destination: Destination::Unicast(address),
                    port,
                    bytes,
                    timestamp_token,
                }) = transmit
                else {
                    match transmit {
                        Some(_) => continue, // Multicast: not used by the AirPlay profile.
                        None => break,
                    }
                };
                let Some(route) = route(sockets, routes, local, address) else {
                    tracing::debug!(%address, "no PTP socket of this address family");
                    continue;
                };
                let socket = &sockets[route.socket];
                let sent = match port {
                    PortKind::Event => {
                        let target =
                            destination(socket, aptp_transport::PortKind::Event, address, route);
                        socket.send_event(&bytes, target).await.map(Some)
                    }
                    PortKind::General => {
                        let target =
                            destination(socket, aptp_transport::PortKind::General, address, route);
                        socket.send_general(&bytes, target).await.map(|()| None)
                    }
                };
                if sent.is_ok() && matches!(backend.role, Role::Grandmaster { .. }) {
                    backend.note_message(&bytes, now);
                }
                match (sent, timestamp_token) {
                    (Ok(Some(tx)), Some(token)) => {
                        let tx = to_time(tx.time.as_nanos());
                        match &mut backend.role {
                            Role::Follower { receiver, .. } => {
                                receiver.handle_transmit_timestamp(now, token, tx)
                            }
                            Role::Grandmaster { sender } => {
                                sender.handle_transmit_timestamp(now, token, tx)
                            }
                        }
                    }
                    (Err(error), _) => tracing::debug!(%error, %address, "PTP send failed"),
                    _ => {}
                }
            }
        }
    }

    /// Writes each session's clock and record back to the registry, at most once a
    /// [`PUBLISH_INTERVAL`] unless its grandmaster changed.
    fn write_back(&mut self, now: Time) {
        let mut events = Vec::new();
        let grandmasters: Vec<LocalGrandmaster> = self
            .backends
            .iter()
            .filter_map(|(id, backend)| match &backend.role {
                Role::Grandmaster { sender } => Some(LocalGrandmaster {
                    session: *id,
                    timeline_id: sender.timeline_id(),
                    serves_this_host: backend.peers.iter().any(|peer| self.local.is_local(*peer)),
                    last_sync: backend.last_sync,
                    last_follow_up: backend.last_follow_up,
                }),
                Role::Follower { .. } => None,
            })
            .collect();
        for (id, backend) in &mut self.backends {
            let chosen = match &backend.role {
                Role::Follower { receiver, .. } => choose_local_grandmaster(
                    &backend.peers,
                    receiver
                        .grandmaster()
                        .map(|gm| u64::from_be_bytes(gm.identity.0)),
                    &grandmasters,
                    &self.local,
                ),
                Role::Grandmaster { .. } => None,
            };
            if chosen.map(|gm| gm.session) != backend.local_grandmaster.map(|(session, _)| session)
            {
                tracing::info!(
                    session = id,
                    local_grandmaster = ?chosen.map(|gm| gm.session),
                    "follower clock source changed"
                );
                backend.local_grandmaster = chosen.map(|gm| (gm.session, now));
                // Written back at once.
                backend.published_at = None;
            }
            let (clock, record) = match (chosen, backend.local_grandmaster) {
                (Some(gm), Some((_, since))) => local_snapshot(backend, gm, since, now),
                _ => snapshot(backend, now),
            };
            if record != backend.record {
                // The record follows every new measurement, as nqptp's does: a player
                // extrapolates from it, so a stale one costs accuracy.
                backend.record = record;
                let _ = self.state.registry().publish_record(*id, &record);
            }
            let changed =
                clock.grandmaster != backend.grandmaster || clock.holdover != backend.holdover;
            let due = backend.published_at.is_none_or(|at| {
                now.since(at).nanos_floor() >= PUBLISH_INTERVAL.as_nanos() as i128
            });
            if !changed && !due {
                continue;
            }
            backend.published_at = Some(now);
            backend.grandmaster = clock.grandmaster.clone();
            backend.holdover = clock.holdover;
            if let Ok(event) = self.state.registry().update_clock(*id, clock) {
                events.push(event);
            }
        }
        self.state.publish(events);
    }

    fn port_statuses(&self) -> Vec<PortStatus> {
        self.sockets
            .iter()
            .enumerate()
            .map(|(index, socket)| {
                let counters = socket.counters();
                let mut drops = BTreeMap::new();
                drops.insert("transport".to_owned(), counters.dropped());
                drops.insert(
                    "not_a_session_peer".to_owned(),
                    self.not_a_session_peer.get(index).copied().unwrap_or(0),
                );
                let local = socket.local_addr(aptp_transport::PortKind::Event);
                PortStatus {
                    interface: socket.config().interface.clone(),
                    address: local.ip().to_string(),
                    event_port: local.port(),
                    general_port: socket.local_addr(aptp_transport::PortKind::General).port(),
                    kernel_rx_timestamps: socket.kernel_rx_timestamps(),
                    kernel_tx_timestamps: socket.kernel_tx_timestamps(),
                    received: self.received.get(index).copied().unwrap_or(0),
                    drops,
                }
            })
            .collect()
    }
}

/// Aborts the receive tasks when the PTP task ends (or is aborted with the daemon).
struct ReceiveTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for ReceiveTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Reads socket `index` and hands each datagram over, pausing after an error so a failing
/// socket cannot spin a core.
async fn receive(index: usize, socket: Arc<PtpSocket>, to: mpsc::Sender<(usize, Received)>) {
    loop {
        match socket.recv().await {
            Ok(received) => {
                if to.send((index, received)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "PTP receive failed");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
            }
        }
    }
}

/// The socket that reaches `address`: the one it was last heard on; else the only one of its
/// family; else the one on the interface the kernel routes it through (asked once, then
/// remembered); else the first of its family.
fn route(
    sockets: &[Arc<PtpSocket>],
    routes: &mut HashMap<IpAddr, Route>,
    local: &LocalAddresses,
    address: IpAddr,
) -> Option<Route> {
    if let Some(route) = routes.get(&address) {
        return Some(*route);
    }
    let family: Vec<usize> = (0..sockets.len())
        .filter(|index| sockets[*index].config().bind_address.is_ipv4() == address.is_ipv4())
        .collect();
    match family.as_slice() {
        [] => None,
        [only] => Some(Route {
            socket: *only,
            scope: None,
        }),
        several => {
            let interface = kernel_route_interface(address, local);
            let socket = several
                .iter()
                .copied()
                .find(|index| {
                    interface.is_some()
                        && sockets[*index].config().interface.as_deref() == interface.as_deref()
                })
                .unwrap_or(several[0]);
            let route = Route {
                socket,
                scope: None,
            };
            routes.insert(address, route);
            Some(route)
        }
    }
}

/// The interface the kernel would send to `address` through: the one holding the source
/// address a connected UDP socket gets (nothing is sent).
fn kernel_route_interface(address: IpAddr, local: &LocalAddresses) -> Option<String> {
    let unspecified = match address {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let probe = std::net::UdpSocket::bind((unspecified, 0)).ok()?;
    probe.connect((address, 9)).ok()?;
    let source = probe.local_addr().ok()?.ip();
    local.interface_of(source).map(str::to_owned)
}

/// Marks a session's clock invalid: a follower re-acquires from the next Sync (keeping its
/// grandmaster); the clock is written back at once, so status and records show it.
fn invalidate(backend: &mut Backend, now: Time) {
    if let Role::Follower { receiver, policy } = &mut backend.role {
        receiver.restart_measurement(now);
        policy.on_measurement_restarted();
        drain_receiver_events(receiver, policy, now);
    }
    backend.last_sync = None;
    backend.last_follow_up = None;
    backend.published_at = None;
}

fn set_peers(backend: &mut Backend, now: Time, peers: &[IpAddr]) {
    // Compared with datagram sources in one form (an IPv4-mapped address as IPv4).
    let peers: Vec<IpAddr> = peers.iter().copied().map(canonical_ip).collect();
    let peers = peers.as_slice();
    backend.peers = peers.to_vec();
    backend.last_sync = None;
    backend.last_follow_up = None;
    match &mut backend.role {
        Role::Follower { receiver, policy } => {
            let command = if peers.is_empty() {
                ControlCommand::ClearTimingPeers
            } else {
                ControlCommand::SetTimingPeers(peers.to_vec())
            };
            policy.handle_command(now, &command, receiver.as_mut());
        }
        Role::Grandmaster { sender } => {
            sender.set_peers(peers.iter().copied());
        }
    }
}

fn drain_receiver_events(
    receiver: &mut AirplayReceiver<IpAddr>,
    policy: &mut NqptpSession,
    measured_at: Time,
) {
    use aptp::airplay::ReceiverEvent;
    while let Some(event) = receiver.poll_event() {
        match event {
            // The same policy as the nqptp drop-in's: a held grandmaster keeps its record, a
            // new grandmaster or a restarted measurement waits for a fresh mapping.
            ReceiverEvent::GrandmasterChanged { .. } | ReceiverEvent::HoldoverEnded { .. } => {
                policy.on_grandmaster_changed(receiver)
            }
            ReceiverEvent::MeasurementRestarted { .. } => policy.on_measurement_restarted(),
            ReceiverEvent::MappingUpdated { .. } => {
                policy.on_mapping_updated(measured_at, receiver)
            }
            _ => {}
        }
    }
}

/// A session's clock and record now, measured over the network (or, for a grandmaster
/// session, its own).
pub(super) fn snapshot(backend: &Backend, now: Time) -> (SessionClock, NqptpRecord) {
    let local_time_ns = u64::try_from(now.nanos_rounded()).ok();
    let age_ms = |at: Option<Time>| {
        at.and_then(|at| u64::try_from(now.since(at).nanos_rounded() / 1_000_000).ok())
    };
    match &backend.role {
        Role::Follower { receiver, policy } => {
            let status = receiver.status(now);
            // A held grandmaster's mapping carries on, as the session's record does (not
            // one that had stalled: the policy does not hold it).
            let holdover = status.grandmaster.is_none() && policy.holding();
            let mapping = status.mapping.filter(|_| holdover);
            let offset_ns = status.offset_ns.or_else(|| {
                mapping
                    .and_then(|mapping| i64::try_from(mapping.offset_at(now).nanos_rounded()).ok())
            });
            let clock = SessionClock {
                grandmaster: status
                    .grandmaster
                    .or(status.held_grandmaster.filter(|_| holdover))
                    .map(|gm| gm.identity.dotted().to_string()),
                local_time_ns: offset_ns.and(local_time_ns),
                offset_ns,
                rate_ppb: status
                    .rate_ppb
                    .or(mapping.map(|mapping| mapping.rate_ppb())),
                error_bound_ns: status
                    .error_bound_ns
                    .map(|bound| bound.max(0.0).round() as u64),
                last_sync_age_ms: age_ms(backend.last_sync),
                last_follow_up_age_ms: age_ms(backend.last_follow_up),
                drops: receiver_drops(&status.counters),
                local_grandmaster: None,
                holdover,
            };
            (clock, policy.record(receiver.as_ref()))
        }
        Role::Grandmaster { sender } => {
            // The sender's timescale is the local clock (CLOCK_MONOTONIC_RAW): offset zero.
            let clock = SessionClock {
                grandmaster: Some(
                    ClockIdentity(sender.timeline_id().to_be_bytes())
                        .dotted()
                        .to_string(),
                ),
                local_time_ns,
                offset_ns: Some(0),
                rate_ppb: Some(0.0),
                error_bound_ns: Some(0),
                last_sync_age_ms: age_ms(backend.last_sync),
                last_follow_up_age_ms: age_ms(backend.last_follow_up),
                drops: BTreeMap::from([
                    ("malformed".to_owned(), sender.counters().malformed),
                    ("not_used".to_owned(), sender.counters().not_used),
                    (
                        "missing_timestamps".to_owned(),
                        sender.counters().missing_timestamps,
                    ),
                ]),
                local_grandmaster: None,
                holdover: false,
            };
            (clock, NqptpRecord::default())
        }
    }
}

/// The source address as sessions name peers (an IPv4-mapped IPv6 address as IPv4).
fn canonical(source: SocketAddr) -> IpAddr {
    canonical_ip(source.ip())
}

/// `address` at the port number this socket has for `port` (the kernel's choice when 0 was
/// configured: peers of a test daemon use the same pair), in the route's IPv6 scope.
fn destination(
    socket: &PtpSocket,
    port: aptp_transport::PortKind,
    address: IpAddr,
    route: Route,
) -> SocketAddr {
    let port = socket.local_addr(port).port();
    match (address, route.scope) {
        (IpAddr::V6(v6), Some(scope)) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)),
        _ => SocketAddr::new(address, port),
    }
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "backends_tests.rs"]
mod tests;
