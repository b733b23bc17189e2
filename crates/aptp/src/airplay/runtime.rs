//! The AirPlay roles on tokio: a [`ReceiverDriver`] and a [`SenderDriver`] move datagrams,
//! timestamps and timers between an `aptp-transport` [`PtpSocket`] and the sans-IO role. They
//! make no protocol decision.
//!
//! [`NtpTimingDriver`] does AirPlay 1's NTP-style timing exchange on its own UDP socket and
//! gives the same mapping type.
//!
//! Each driver's [`step`](ReceiverDriver::step) waits for one thing (a datagram, the role's
//! timer, or the caller's deadline), hands it to the role, and sends what the role wants
//! sent: event messages from the event socket with their transmit timestamp handed back at
//! once (so a Sync's Follow_Up leaves right after it), general ones from the general socket.
//! Peers are reached on `peer_ports` (319/320 by default); a receiver accepts a peer's
//! datagrams from any source port.
//!
//! Coexisting with another PTP daemon: bind the socket on other ports
//! ([`SocketConfig::with_ports`](aptp_transport::SocketConfig::with_ports), 0 for any free
//! one; [`PeerPorts::bound_by`] tells which). When 319/320 are taken (ptp4l), the host's
//! packet filter rewrites the destination port of the timing peers' datagrams, and only
//! theirs, to those ports before the socket lookup (`aptp airplay-receiver
//! --redirect-from-standard-ports` installs such nftables rules): the receiver does not care
//! about source or destination ports, and the kernel's receive timestamp is taken before the
//! packet filter runs.

pub use super::ntp_runtime::{NtpDriverError, NtpStepped, NtpTimingCounters, NtpTimingDriver};
use super::{AirplayReceiver, AirplaySender};
use crate::engine::{Destination, PortKind, Transmit, TransmitToken};
use aptp_clock::Time;
use aptp_transport::Received;
pub use aptp_transport::{PtpSocket, SocketConfig, TimestampClock, TransportError};
use std::net::{IpAddr, SocketAddr};
use tokio::time::Instant;

/// UDP ports at which peers listen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerPorts {
    /// Their event port (319).
    pub event: u16,
    /// Their general port (320).
    pub general: u16,
}

impl PeerPorts {
    /// The ports `socket` is bound to (the kernel's choice where 0 was asked for): where
    /// peers reach it.
    pub fn bound_by(socket: &PtpSocket) -> PeerPorts {
        PeerPorts {
            event: socket.local_addr(aptp_transport::PortKind::Event).port(),
            general: socket.local_addr(aptp_transport::PortKind::General).port(),
        }
    }
}

impl Default for PeerPorts {
    fn default() -> Self {
        PeerPorts {
            event: 319,
            general: 320,
        }
    }
}

/// A transport timestamp as a time of the engine (the clocks are positive on Linux).
pub(super) fn time_of(timestamp: aptp_transport::Timestamp) -> Time {
    Time::from_nanos_i128(i128::from(timestamp.as_nanos()))
}

/// The socket's clock now.
///
/// # Errors
/// [`TransportError`] when the clock cannot be read.
pub fn now(clock: TimestampClock) -> Result<Time, TransportError> {
    clock.now().map(time_of)
}

/// When, on tokio's clock, the local instant `at` comes (`now` being the local clock now).
pub(super) fn instant_of(at: Time, now: Time) -> Instant {
    let ahead_ns = at.since(now).nanos_floor().clamp(0, 3_600_000_000_000);
    Instant::now() + std::time::Duration::from_nanos(ahead_ns as u64)
}

/// The kind of the socket a datagram came in on.
fn port_kind(received: &Received) -> PortKind {
    match received.port {
        aptp_transport::PortKind::Event => PortKind::Event,
        _ => PortKind::General,
    }
}

/// What happened during one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// A datagram was handed to the role.
    Datagram,
    /// The role's timer ran.
    Timer,
    /// The caller's deadline came.
    Deadline,
}

/// Sends every transmit a role has queued; `stamp` hands a transmit timestamp back.
async fn flush<F>(
    socket: &PtpSocket,
    peer_ports: PeerPorts,
    mut next: impl FnMut(Time) -> Option<Transmit<IpAddr>>,
    mut stamp: F,
) -> Result<(), TransportError>
where
    F: FnMut(Time, TransmitToken, Time),
{
    let clock = socket.config().clock;
    while let Some(transmit) = next(now(clock)?) {
        let Destination::Unicast(ip) = transmit.destination else {
            // The AirPlay roles only send unicast.
            continue;
        };
        match transmit.port {
            PortKind::Event => {
                let to = SocketAddr::new(ip, peer_ports.event);
                let sent = socket.send_event(&transmit.bytes, to).await;
                match (sent, transmit.timestamp_token) {
                    (Ok(tx), Some(token)) => stamp(now(clock)?, token, time_of(tx.time)),
                    (Ok(_), None) => {}
                    (Err(error), _) => tracing::debug!(%to, %error, "send failed"),
                }
            }
            PortKind::General => {
                let to = SocketAddr::new(ip, peer_ports.general);
                if let Err(error) = socket.send_general(&transmit.bytes, to).await {
                    tracing::debug!(%to, %error, "send failed");
                }
            }
        }
    }
    Ok(())
}

/// The sans-IO surface both AirPlay roles share, so one step loop drives either.
trait Role {
    fn poll_timeout(&self) -> Option<Time>;
    fn handle_datagram(
        &mut self,
        now: Time,
        bytes: &[u8],
        source: IpAddr,
        port: PortKind,
        rx: Time,
    );
    fn handle_timeout(&mut self, now: Time);
    fn poll_transmit(&mut self, now: Time) -> Option<Transmit<IpAddr>>;
    fn handle_transmit_timestamp(&mut self, now: Time, token: TransmitToken, tx: Time);
}

/// Implements [`Role`] for a role type by forwarding to its inherent methods.
macro_rules! forward_role {
    ($role:ty) => {
        impl Role for $role {
            fn poll_timeout(&self) -> Option<Time> {
                <$role>::poll_timeout(self)
            }
            fn handle_datagram(
                &mut self,
                now: Time,
                bytes: &[u8],
                source: IpAddr,
                port: PortKind,
                rx: Time,
            ) {
                <$role>::handle_datagram(self, now, bytes, source, port, rx);
            }
            fn handle_timeout(&mut self, now: Time) {
                <$role>::handle_timeout(self, now);
            }
            fn poll_transmit(&mut self, now: Time) -> Option<Transmit<IpAddr>> {
                <$role>::poll_transmit(self, now)
            }
            fn handle_transmit_timestamp(&mut self, now: Time, token: TransmitToken, tx: Time) {
                <$role>::handle_transmit_timestamp(self, now, token, tx);
            }
        }
    };
}

forward_role!(AirplayReceiver<IpAddr>);
forward_role!(AirplaySender<IpAddr>);

/// One step of a driver: waits for a datagram, `role`'s timer or `deadline`, handles it, and
/// sends what `role` wants sent.
///
/// # Errors
/// [`TransportError`] from the socket (a failed send is logged, not an error).
async fn step_role<R: Role>(
    socket: &PtpSocket,
    peer_ports: PeerPorts,
    role: &mut R,
    deadline: Instant,
) -> Result<Stepped, TransportError> {
    let clock = socket.config().clock;
    let local = now(clock)?;
    let timer = role
        .poll_timeout()
        .map(|at| instant_of(at, local))
        .unwrap_or(deadline);
    let wake = timer.min(deadline);
    let stepped = tokio::select! {
        received = socket.recv() => {
            let received = received?;
            let now = now(clock)?;
            let rx = time_of(received.rx_timestamp.time);
            let kind = port_kind(&received);
            role.handle_datagram(now, &received.data, received.source.ip().to_canonical(), kind, rx);
            Stepped::Datagram
        }
        _ = tokio::time::sleep_until(wake) => {
            role.handle_timeout(now(clock)?);
            if wake == deadline { Stepped::Deadline } else { Stepped::Timer }
        }
    };
    // One at a time: a Sync's timestamp must be back before the next datagram is asked
    // for (that is what releases its Follow_Up ahead of the next peer's Sync).
    while let Some(transmit) = role.poll_transmit(now(clock)?) {
        let mut one = Some(transmit);
        flush(
            socket,
            peer_ports,
            |_| one.take(),
            |now, token, tx| {
                role.handle_transmit_timestamp(now, token, tx);
            },
        )
        .await?;
    }
    Ok(stepped)
}

/// Runs an [`AirplayReceiver`] over a [`PtpSocket`].
#[derive(Debug)]
pub struct ReceiverDriver {
    socket: PtpSocket,
    receiver: AirplayReceiver<IpAddr>,
    peer_ports: PeerPorts,
}

impl ReceiverDriver {
    /// A driver for `receiver` on `socket`, reaching peers at `peer_ports`.
    pub fn new(
        socket: PtpSocket,
        receiver: AirplayReceiver<IpAddr>,
        peer_ports: PeerPorts,
    ) -> Self {
        ReceiverDriver {
            socket,
            receiver,
            peer_ports,
        }
    }

    /// The receiver (status, events, mapping).
    pub fn receiver(&mut self) -> &mut AirplayReceiver<IpAddr> {
        &mut self.receiver
    }

    /// The socket.
    pub fn socket(&self) -> &PtpSocket {
        &self.socket
    }

    /// The local clock now (the socket's clock, the receiver's local timescale).
    ///
    /// # Errors
    /// [`TransportError`] when the clock cannot be read.
    pub fn now(&self) -> Result<Time, TransportError> {
        now(self.socket.config().clock)
    }

    /// Waits for a datagram, the receiver's timer or `deadline`, handles it, and sends what
    /// the receiver wants sent.
    ///
    /// # Errors
    /// [`TransportError`] from the socket (a failed send is logged, not an error).
    pub async fn step(&mut self, deadline: Instant) -> Result<Stepped, TransportError> {
        step_role(&self.socket, self.peer_ports, &mut self.receiver, deadline).await
    }
}

/// Runs an [`AirplaySender`] over a [`PtpSocket`].
#[derive(Debug)]
pub struct SenderDriver {
    socket: PtpSocket,
    sender: AirplaySender<IpAddr>,
    peer_ports: PeerPorts,
}

impl SenderDriver {
    /// A driver for `sender` on `socket`, reaching peers at `peer_ports`.
    pub fn new(socket: PtpSocket, sender: AirplaySender<IpAddr>, peer_ports: PeerPorts) -> Self {
        SenderDriver {
            socket,
            sender,
            peer_ports,
        }
    }

    /// The sender (peers, counters, network time).
    pub fn sender(&mut self) -> &mut AirplaySender<IpAddr> {
        &mut self.sender
    }

    /// The socket.
    pub fn socket(&self) -> &PtpSocket {
        &self.socket
    }

    /// The local clock now: the sender's timescale.
    ///
    /// # Errors
    /// [`TransportError`] when the clock cannot be read.
    pub fn now(&self) -> Result<Time, TransportError> {
        now(self.socket.config().clock)
    }

    /// Waits for a datagram, the sender's timer or `deadline`, handles it, and sends what the
    /// sender wants sent: each Sync, its transmit timestamp handed back, then at once that
    /// peer's Follow_Up, then the next peer's Sync.
    ///
    /// # Errors
    /// [`TransportError`] from the socket (a failed send is logged, not an error).
    pub async fn step(&mut self, deadline: Instant) -> Result<Stepped, TransportError> {
        step_role(&self.socket, self.peer_ports, &mut self.sender, deadline).await
    }
}
