//! AirPlay 1's NTP-style timing exchange on tokio: [`NtpTimingDriver`].

use super::ntp::{NtpTimingClient, NtpTimingError, NtpTimingResponder};
use super::runtime::{instant_of, time_of};
use aptp_clock::{ClockMapping, Time};
use aptp_transport::{TimestampClock, TimestampedUdpSocket, TransportCounters, TransportError};
use aptp_wire::airplay::{NtpTimingKind, NtpTimingPacket};
use std::net::{IpAddr, SocketAddr};
use thiserror::Error;
use tokio::time::Instant;

/// Why the timing driver stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NtpDriverError {
    /// The timing port could not be bound (or its timestamping set up).
    #[error("cannot bind the timing port {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        source: TransportError,
    },
    /// Receiving failed.
    #[error("receiving on the timing port failed: {0}")]
    Receive(TransportError),
    /// The clock could not be read.
    #[error("the local clock cannot be read: {0}")]
    Clock(#[from] TransportError),
    /// The local clock cannot be written as NTP 32.32 (before its epoch or past 2^32 s).
    #[error(transparent)]
    Timing(#[from] NtpTimingError),
}

/// What the driver did, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NtpTimingCounters {
    /// Requests sent to the peer.
    pub requests_sent: u64,
    /// Requests answered (from anyone).
    pub requests_answered: u64,
    /// Replies from the peer fed to the estimator.
    pub replies_used: u64,
    /// Datagrams not used: not a timing packet, a reply from another address, a reply to no
    /// outstanding request.
    pub rejected: u64,
    /// Sends that failed (logged; the exchange goes on).
    pub send_errors: u64,
}

/// What happened during one [`NtpTimingDriver::step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NtpStepped {
    /// A reply from the peer changed the mapping.
    MappingUpdated(ClockMapping),
    /// A datagram was handled (a request answered, a reply that left the mapping as it was,
    /// or something rejected).
    Datagram,
    /// A request to the peer was due.
    Timer,
    /// The caller's deadline came.
    Deadline,
}

/// AirPlay 1 timing over a UDP socket: AirPlay 1's NTP-style timing exchange on tokio. It
/// moves 0xD2/0xD3
/// datagrams between one UDP socket (the timing port) and the sans-IO
/// [`NtpTimingClient`] / [`NtpTimingResponder`], and yields the same [`ClockMapping`] as the
/// PTP receiver.
///
/// AirPlay 1 timing goes both ways: the receiver asks the sender's timing port and answers
/// the sender's own requests on its timing port. The driver does both on one socket: a
/// request from anyone is answered with the local clock; a reply from the peer's address
/// (any port) is fed to the client. Requests go to the peer every `interval` of the client.
///
/// Timestamps come from the kernel as on the PTP path: the socket is `aptp-transport`'s
/// [`TimestampedUdpSocket`] (one port, no PTP filtering, since the 32-byte timing packets are
/// shorter than a PTP header), so a datagram's arrival (t2, and the t4 written in a reply) is
/// its `SO_TIMESTAMPING` software receive timestamp, and a request's departure (t3) its
/// software transmit timestamp from the error queue, handed to the client through
/// [`NtpTimingClient::transmitted`]. Where the kernel gives none, the socket falls back to a
/// user-space timestamp read right after `recvmsg` / right before `sendto`, and says so:
/// [`NtpTimingDriver::kernel_rx_timestamps`], [`NtpTimingDriver::kernel_tx_timestamps`] and
/// the counts in [`NtpTimingDriver::transport_counters`]. A reply's transmit time (t1 for the
/// peer) must be written before it is sent, so it stays a user-space reading taken just
/// before the send. Every timestamp is on the configured [`TimestampClock`].
///
/// ```
/// # async fn demo() -> Result<(), aptp::airplay::runtime::NtpDriverError> {
/// use aptp::airplay::runtime::{NtpTimingDriver, TimestampClock};
/// use aptp::airplay::NtpTimingClient;
/// use aptp_clock::{EstimatorKind, TimeDelta};
/// use std::time::Duration;
///
/// let clock = TimestampClock::MonotonicRaw;
/// let start = aptp::airplay::runtime::now(clock)?;
/// let client = |interval| NtpTimingClient::new(EstimatorKind::DEFAULT, interval, start);
/// let bind = "127.0.0.1:0".parse().unwrap();
/// let mut sender = NtpTimingDriver::bind(bind, clock, client(TimeDelta::from_secs(1)), None).await?;
/// let peer = sender.local_addr().ok();
/// let mut receiver = NtpTimingDriver::bind(bind, clock, client(TimeDelta::from_millis(20)), peer).await?;
/// let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
/// while tokio::time::Instant::now() < deadline {
///     tokio::select! {
///         stepped = sender.step(deadline) => { stepped?; }
///         stepped = receiver.step(deadline) => { stepped?; }
///     }
/// }
/// // One clock on both sides: the mapping's offset is (nearly) zero.
/// let offset = receiver.mapping().unwrap().offset_at(receiver.now()?);
/// assert!(offset.abs() < TimeDelta::from_millis(5));
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
/// #     .block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct NtpTimingDriver {
    socket: TimestampedUdpSocket,
    clock: TimestampClock,
    client: NtpTimingClient,
    responder: NtpTimingResponder,
    peer: Option<SocketAddr>,
    counters: NtpTimingCounters,
}

/// A name for a peer in the estimator's samples (a new peer restarts the estimation).
fn identity_of(peer: SocketAddr) -> u64 {
    match peer.ip() {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            (bits >> 64) as u64 ^ bits as u64
        }
    }
}

impl NtpTimingDriver {
    /// Binds the timing port at `local` (port 0: any) and drives `client` towards `peer`'s
    /// timing port (`None`: only answer requests). Timestamps are read on `clock`, which is
    /// the mapping's local timescale. Kernel receive and transmit timestamps are asked for;
    /// which ones the kernel agreed to is logged and reported by
    /// [`NtpTimingDriver::kernel_rx_timestamps`] / [`NtpTimingDriver::kernel_tx_timestamps`].
    ///
    /// # Errors
    /// [`NtpDriverError::Bind`] when the port is taken, the address is not ours, or the
    /// socket cannot be set up.
    pub async fn bind(
        local: SocketAddr,
        clock: TimestampClock,
        mut client: NtpTimingClient,
        peer: Option<SocketAddr>,
    ) -> Result<Self, NtpDriverError> {
        let socket =
            TimestampedUdpSocket::bind(local, clock).map_err(|source| NtpDriverError::Bind {
                address: local,
                source,
            })?;
        tracing::info!(
            local = %socket.local_addr(),
            kernel_rx_timestamps = socket.kernel_rx_timestamps(),
            kernel_tx_timestamps = socket.kernel_tx_timestamps(),
            %clock,
            "AirPlay 1 timing port bound"
        );
        if let Some(peer) = peer {
            client.restart(identity_of(peer));
        }
        Ok(NtpTimingDriver {
            socket,
            clock,
            client,
            responder: NtpTimingResponder::new(),
            peer,
            counters: NtpTimingCounters::default(),
        })
    }

    /// The bound timing port.
    ///
    /// # Errors
    /// The socket's error, should the kernel not say.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.socket.local_addr())
    }

    /// Whether the kernel agreed to stamp received datagrams (else user-space timestamps).
    /// Even when it did, the first datagrams after the first such socket on an idle machine
    /// may be stamped in user space: the per-datagram truth is in
    /// [`NtpTimingDriver::transport_counters`].
    pub fn kernel_rx_timestamps(&self) -> bool {
        self.socket.kernel_rx_timestamps()
    }

    /// Whether the kernel agreed to stamp sent datagrams (a driver may still not deliver
    /// them; see [`TransportCounters::tx_timestamp_timeouts`]).
    pub fn kernel_tx_timestamps(&self) -> bool {
        self.socket.kernel_tx_timestamps()
    }

    /// The socket's counters: datagrams received and sent, and how each was timestamped
    /// (`rx_kernel_timestamps` / `rx_user_timestamps`, `tx_kernel_timestamps` /
    /// `tx_user_timestamps`).
    pub fn transport_counters(&self) -> TransportCounters {
        self.socket.counters()
    }

    /// The local clock now (the mapping's local timescale).
    ///
    /// # Errors
    /// [`NtpDriverError::Clock`] when the clock cannot be read.
    pub fn now(&self) -> Result<Time, NtpDriverError> {
        Ok(time_of(self.clock.now()?))
    }

    /// The latest mapping from the local clock to the peer's timescale.
    pub fn mapping(&self) -> Option<ClockMapping> {
        self.client.mapping()
    }

    /// The peer asked, if any.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Replaces the peer; another peer restarts the estimation.
    pub fn set_peer(&mut self, peer: Option<SocketAddr>) {
        if peer != self.peer {
            if let Some(peer) = peer {
                self.client.restart(identity_of(peer));
            }
            self.peer = peer;
        }
    }

    /// The client (its mapping, its timer).
    pub fn client(&mut self) -> &mut NtpTimingClient {
        &mut self.client
    }

    /// The counters.
    pub fn counters(&self) -> NtpTimingCounters {
        self.counters
    }

    /// Waits for a datagram, the next request's time or `deadline`, handles it, then sends
    /// the request if one is due.
    ///
    /// # Errors
    /// [`NtpDriverError`] from the socket or the clock (a failed send is logged and counted,
    /// a bad datagram counted, neither is an error).
    pub async fn step(&mut self, deadline: Instant) -> Result<NtpStepped, NtpDriverError> {
        let local = self.now()?;
        let wake = match self.peer {
            Some(_) => instant_of(self.client.poll_timeout(), local).min(deadline),
            None => deadline,
        };
        // Longer than any timing packet, so a long datagram is seen as such and rejected.
        let mut buffer = [0u8; 2 * NtpTimingPacket::LENGTH];
        let received = tokio::select! {
            received = self.socket.recv_from(&mut buffer) => Some(received),
            _ = tokio::time::sleep_until(wake) => None,
        };
        let stepped = match received {
            Some(received) => {
                let (length, source, rx) = received.map_err(NtpDriverError::Receive)?;
                let rx_timestamp = time_of(rx.time);
                self.handle_datagram(&buffer[..length], source, rx_timestamp)
                    .await?
            }
            None if wake == deadline => NtpStepped::Deadline,
            None => NtpStepped::Timer,
        };
        self.send_request().await?;
        Ok(stepped)
    }

    async fn handle_datagram(
        &mut self,
        bytes: &[u8],
        source: SocketAddr,
        rx_timestamp: Time,
    ) -> Result<NtpStepped, NtpDriverError> {
        let kind = match NtpTimingPacket::parse(bytes) {
            Ok(packet) => packet.kind,
            Err(error) => {
                tracing::debug!(%source, %error, "not a timing packet");
                self.counters.rejected += 1;
                return Ok(NtpStepped::Datagram);
            }
        };
        match kind {
            NtpTimingKind::Request => {
                let reply = self.responder.respond(bytes, rx_timestamp, self.now()?)?;
                match self.socket.send_to(&reply, source).await {
                    Ok(_) => self.counters.requests_answered += 1,
                    Err(error) => {
                        tracing::debug!(%source, %error, "timing reply not sent");
                        self.counters.send_errors += 1;
                    }
                }
                Ok(NtpStepped::Datagram)
            }
            _ if self.peer.map(|p| p.ip().to_canonical()) != Some(source.ip().to_canonical()) => {
                self.counters.rejected += 1;
                Ok(NtpStepped::Datagram)
            }
            _ => match self.client.handle_datagram(bytes, rx_timestamp) {
                Ok(update) => {
                    self.counters.replies_used += 1;
                    Ok(update.map_or(NtpStepped::Datagram, NtpStepped::MappingUpdated))
                }
                Err(error) => {
                    tracing::debug!(%source, %error, "timing reply not used");
                    self.counters.rejected += 1;
                    Ok(NtpStepped::Datagram)
                }
            },
        }
    }

    async fn send_request(&mut self) -> Result<(), NtpDriverError> {
        let Some(peer) = self.peer else {
            return Ok(());
        };
        let Some(request) = self.client.poll_transmit(self.now()?)? else {
            return Ok(());
        };
        match self.socket.send_to(&request, peer).await {
            Ok(tx) => {
                // When it left (the kernel's transmit timestamp, or the user-space reading
                // right before sendto): the exchange's t3.
                self.client.transmitted(&request, time_of(tx.time));
                self.counters.requests_sent += 1;
            }
            Err(error) => {
                tracing::debug!(%peer, %error, "timing request not sent");
                self.counters.send_errors += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
