//! [`PtpSocket`]: the event and general sockets of one PTP port, with timestamps.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::SockAddr;
use tokio::io::unix::AsyncFdReadyGuard;
use tokio::io::Interest;
use tokio::sync::Mutex;

use crate::batch::ReceiveBatch;
use crate::counters::Counters;
use crate::filter::classify;
use crate::open::{self, Endpoint, MAX_UDP_PAYLOAD};
use crate::sys::{self, ErrorQueueEntry};
use crate::{
    DropReason, MulticastGroup, PacketTimestamp, PortKind, SocketConfig, Timestamp,
    TimestampSource, TransportCounters, TransportError,
};

/// One received datagram: `(bytes, source, port, rx_timestamp)`, plus where it was sent to.
/// No parsing happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The datagram's payload (a PTP message, not yet parsed).
    pub data: Vec<u8>,
    /// Who sent it (address and UDP source port).
    pub source: SocketAddr,
    /// The destination address it was sent to: one of ours for unicast, the group for
    /// multicast (`IP_PKTINFO`); `None` if the kernel did not say.
    pub destination: Option<IpAddr>,
    /// The index of the interface it arrived on, if the kernel said.
    pub interface_index: Option<u32>,
    /// The socket it arrived on.
    pub port: PortKind,
    /// When it arrived, on the socket's clock, and who took the timestamp.
    pub rx_timestamp: PacketTimestamp,
}

/// Which transmit timestamp a pending `send_event` waits for: the kernel numbers the
/// timestamped datagrams of a socket 0, 1, 2… (`SOF_TIMESTAMPING_OPT_ID`).
#[derive(Debug, Default)]
struct TxState {
    next_id: u32,
}

/// The two sockets of a PTP port: event (319) and general (320), bound to one address and,
/// optionally, one interface.
///
/// Every datagram is returned with its receive timestamp; every event message sent returns
/// its transmit timestamp. Sends go out of the socket of their port, so an event message
/// leaves from the event port and a general one from the general port (nqptp drops a datagram
/// whose source port differs from its destination port).
///
/// `recv` and the sends take `&self`, so one task can receive while others send (share it in
/// an `Arc`). Concurrent `send_event` calls are serialised, each waiting for its own timestamp.
///
/// ```
/// # async fn demo() -> Result<(), aptp_transport::TransportError> {
/// use aptp_transport::{PortKind, PtpSocket, SocketConfig};
/// let config = SocketConfig::new("127.0.0.1".parse().unwrap()).with_ports(0, 0);
/// let a = PtpSocket::bind(config.clone())?;
/// let b = PtpSocket::bind(config)?;
/// let mut sync = [0u8; 44];
/// sync[0] = 0x10; // a Sync message (messageType 0) with majorSdoId 1
/// sync[1] = 0x12; // PTP version 2.1
/// sync[2..4].copy_from_slice(&44u16.to_be_bytes()); // messageLength
/// let sent = a.send_event(&sync, b.local_addr(PortKind::Event)).await?;
/// let received = b.recv().await?;
/// assert_eq!(received.data, sync);
/// assert_eq!(received.port, PortKind::Event);
/// assert!(received.rx_timestamp.time >= sent.time);
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
/// #     .block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct PtpSocket {
    event: Endpoint,
    general: Endpoint,
    config: SocketConfig,
    tx_state: Mutex<TxState>,
    counters: Counters,
}

impl PtpSocket {
    /// Opens and binds both sockets as `config` says, joins its groups and enables kernel
    /// timestamps. Must be called inside a tokio runtime with I/O enabled.
    ///
    /// # Errors
    /// [`TransportError::PermissionDenied`] (ports below 1024 without
    /// `CAP_NET_BIND_SERVICE`), [`TransportError::AddressInUse`] (another daemon has the port),
    /// [`TransportError::UnknownInterface`], [`TransportError::JoinMulticast`],
    /// [`TransportError::InvalidConfig`], [`TransportError::NoRuntime`], and
    /// [`TransportError::Setup`] for the rest.
    ///
    /// # Panics
    /// Inside a tokio runtime built without its I/O driver (`enable_io`/`enable_all`): tokio
    /// offers no way to detect that beforehand. Outside any runtime it returns
    /// [`TransportError::NoRuntime`] instead.
    pub fn bind(config: SocketConfig) -> Result<Self, TransportError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::NoRuntime);
        }
        open::validate(&config)?;
        config.clock.now()?;
        let interface_index = match &config.interface {
            Some(name) => Some(open::interface_index(name)?),
            None => None,
        };
        let event = open::open_endpoint(&config, PortKind::Event, interface_index)?;
        let general = open::open_endpoint(&config, PortKind::General, interface_index)?;
        tracing::debug!(
            event = %event.local,
            general = %general.local,
            kernel_rx = event.kernel.rx && general.kernel.rx,
            kernel_tx = event.kernel.tx,
            clock = %config.clock,
            "PTP sockets bound"
        );
        Ok(Self {
            event,
            general,
            config,
            tx_state: Mutex::new(TxState::default()),
            counters: Counters::default(),
        })
    }

    /// The configuration the sockets were bound with.
    pub fn config(&self) -> &SocketConfig {
        &self.config
    }

    /// The local address of the socket of `port` (with the port the kernel chose if 0 was
    /// configured).
    pub fn local_addr(&self, port: PortKind) -> SocketAddr {
        self.endpoint(port).local
    }

    /// `ip` with the port number of `port` in this socket's configuration: where a peer
    /// using the same port pair listens.
    pub fn destination(&self, port: PortKind, ip: IpAddr) -> SocketAddr {
        SocketAddr::new(ip, self.config.port_number(port))
    }

    /// The address of `group` (in this socket's family) at the configured port of `port`.
    pub fn multicast_destination(&self, group: MulticastGroup, port: PortKind) -> SocketAddr {
        self.destination(port, group.address_like(self.config.bind_address))
    }

    /// Whether the kernel agreed to give receive timestamps on both sockets.
    pub fn kernel_rx_timestamps(&self) -> bool {
        self.event.kernel.rx && self.general.kernel.rx
    }

    /// Whether the kernel agreed to give transmit timestamps on the event socket. Even then a
    /// driver may not deliver them (many Wi-Fi drivers): see
    /// [`TransportCounters::tx_timestamp_timeouts`].
    pub fn kernel_tx_timestamps(&self) -> bool {
        self.event.kernel.tx
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> TransportCounters {
        self.counters.snapshot()
    }

    fn endpoint(&self, port: PortKind) -> &Endpoint {
        match port {
            PortKind::Event => &self.event,
            PortKind::General => &self.general,
        }
    }

    /// Receives the next datagram from either socket (whichever is ready; neither starves
    /// the other). Datagrams that are too long, shorter than a PTP header, or carry a message
    /// type of the other port are dropped and counted, and receiving goes on. (With the
    /// default [`SocketConfig::kernel_structure_filter`], the kernel refuses the short,
    /// wrong-port and other non-PTPv2 ones before they are queued: those are not counted.)
    ///
    /// Reads are batched: one `recvmmsg` system call takes up to 32 datagrams, each with its
    /// own kernel receive timestamp, into buffers allocated once per socket; the ones not
    /// returned yet wait in the socket and are handed out (both sockets' before either is
    /// read again) by the next calls. A dropped datagram costs no allocation; a returned one
    /// is copied into [`Received::data`].
    ///
    /// Cancel safe: a datagram is returned in the poll that takes it out of the batch, and
    /// the rest of a batch stays queued in the socket, so dropping the future (e.g. in
    /// `tokio::select!`) never loses one.
    ///
    /// # Errors
    /// [`TransportError::Receive`] when the operating system fails the read; the socket stays
    /// usable and the next call receives again.
    pub async fn recv(&self) -> Result<Received, TransportError> {
        loop {
            if let Some(received) = self.next_queued(&self.event) {
                return Ok(received);
            }
            if let Some(received) = self.next_queued(&self.general) {
                return Ok(received);
            }
            let received = tokio::select! {
                guard = self.event.io.readable() => self.try_receive(&self.event, guard)?,
                guard = self.general.io.readable() => self.try_receive(&self.general, guard)?,
            };
            if let Some(received) = received {
                return Ok(received);
            }
        }
    }

    /// Receives the next datagram from the socket of `port` only.
    ///
    /// # Errors
    /// As [`PtpSocket::recv`].
    pub async fn recv_on(&self, port: PortKind) -> Result<Received, TransportError> {
        let endpoint = self.endpoint(port);
        loop {
            if let Some(received) = self.next_queued(endpoint) {
                return Ok(received);
            }
            let guard = endpoint.io.readable().await;
            if let Some(received) = self.try_receive(endpoint, guard)? {
                return Ok(received);
            }
        }
    }

    /// One non-blocking batched read after a readiness event, then the first datagram of it
    /// that passes: `None` when there was nothing to read or every datagram was dropped.
    fn try_receive(
        &self,
        endpoint: &Endpoint,
        guard: io::Result<AsyncFdReadyGuard<'_, socket2::Socket>>,
    ) -> Result<Option<Received>, TransportError> {
        let port = endpoint.port;
        let mut guard = guard.map_err(|source| TransportError::Receive { port, source })?;
        let mut batch = lock(endpoint);
        match guard.try_io(|io| batch.fill(io.get_ref(), self.config.clock)) {
            Err(_would_block) => return Ok(None),
            Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => return Ok(None),
            Ok(Err(source)) => return Err(TransportError::Receive { port, source }),
            Ok(Ok(_count)) => {}
        }
        drop(guard);
        Ok(self.pass_next(port, &mut batch))
    }

    /// The next datagram already read from `endpoint` that passes, if any.
    fn next_queued(&self, endpoint: &Endpoint) -> Option<Received> {
        let mut batch = lock(endpoint);
        if !batch.has_queued() {
            return None;
        }
        self.pass_next(endpoint.port, &mut batch)
    }

    /// Hands out the queued datagrams of `batch` in order, dropping and counting those that
    /// fail the checks, until one passes.
    fn pass_next(&self, port: PortKind, batch: &mut ReceiveBatch) -> Option<Received> {
        while let Some(index) = batch.pop() {
            let Some((raw, data)) = batch.get(index) else {
                // Unreachable (`pop` returns indices of the last read only); counted anyway.
                self.counters.dropped(DropReason::Malformed);
                continue;
            };
            if raw.truncated {
                self.counters.dropped(DropReason::Truncated);
                continue;
            }
            let Some(source) = raw.source else {
                self.counters.dropped(DropReason::Malformed);
                continue;
            };
            if let Err(reason) = classify(data, port) {
                tracing::trace!(%source, %port, %reason, "datagram dropped");
                self.counters.dropped(reason);
                continue;
            }
            let clock = self.config.clock;
            let kernel = raw
                .kernel_realtime
                .and_then(|realtime| batch.kernel_time(clock, realtime));
            let rx_timestamp = timestamp_of(clock, kernel, raw.user);
            self.counters.received(rx_timestamp.source);
            return Some(Received {
                data: data.to_vec(),
                source,
                destination: raw.destination,
                interface_index: raw.interface_index,
                port,
                rx_timestamp,
            });
        }
        None
    }

    /// The kernel's timestamp converted to the socket's clock, or the user-space one.
    fn packet_timestamp(
        &self,
        kernel_realtime: Option<Timestamp>,
        user: Timestamp,
    ) -> PacketTimestamp {
        packet_timestamp(self.config.clock, kernel_realtime, user)
    }

    fn check_destination(
        &self,
        endpoint: &Endpoint,
        data: &[u8],
        destination: SocketAddr,
    ) -> Result<(), TransportError> {
        check_destination(endpoint, data, destination)
    }

    /// Sends `data` from `endpoint`, waiting for buffer space if needed; returns the user-space
    /// timestamp read right before the successful `sendto`.
    async fn send_from(
        &self,
        endpoint: &Endpoint,
        data: &[u8],
        destination: SocketAddr,
    ) -> Result<Timestamp, TransportError> {
        send_from(endpoint, self.config.clock, data, destination).await
    }

    /// Sends a general message from the general port.
    ///
    /// # Errors
    /// [`TransportError::AddressFamilyMismatch`], [`TransportError::DatagramTooLarge`],
    /// [`TransportError::Send`] (e.g. no route to the destination).
    pub async fn send_general(
        &self,
        data: &[u8],
        destination: SocketAddr,
    ) -> Result<(), TransportError> {
        self.check_destination(&self.general, data, destination)?;
        self.send_from(&self.general, data, destination).await?;
        self.counters.sent_general();
        Ok(())
    }

    /// Sends an event message from the event port and returns its transmit timestamp: the
    /// kernel's, when it arrives on the error queue within
    /// [`SocketConfig::tx_timestamp_timeout`], otherwise the user-space one read right before
    /// the send. A missing kernel timestamp is never an error.
    ///
    /// Dropping the future after the datagram left is harmless: its timestamp, should it
    /// arrive later, is discarded (and counted in
    /// [`TransportCounters::tx_timestamps_late`]) by the next call.
    ///
    /// # Errors
    /// As [`PtpSocket::send_general`].
    pub async fn send_event(
        &self,
        data: &[u8],
        destination: SocketAddr,
    ) -> Result<PacketTimestamp, TransportError> {
        self.check_destination(&self.event, data, destination)?;
        let mut tx_state = self.tx_state.lock().await;
        if self.event.kernel.tx {
            self.discard_late_tx_timestamps();
        }
        let user = self.send_from(&self.event, data, destination).await?;
        let mut kernel_realtime = None;
        if self.event.kernel.tx {
            let id = tx_state.next_id;
            tx_state.next_id = id.wrapping_add(1);
            match self.wait_tx_timestamp(id).await {
                Some((matched_id, realtime)) => {
                    // A later id means the kernel counted a datagram we did not (a send that
                    // failed after the kernel had numbered it): follow the kernel.
                    tx_state.next_id = matched_id.wrapping_add(1);
                    kernel_realtime = Some(realtime);
                }
                None => {
                    self.counters.tx_timestamp_timeout();
                    tracing::debug!(%destination, "no kernel transmit timestamp in time; using user space");
                }
            }
        }
        let tx_timestamp = self.packet_timestamp(kernel_realtime, user);
        self.counters.sent_event(tx_timestamp.source);
        Ok(tx_timestamp)
    }

    /// Empties the error queue of timestamps whose sends gave up waiting.
    fn discard_late_tx_timestamps(&self) {
        discard_late_tx_timestamps(&self.event, &self.counters);
    }

    /// Waits for the transmit timestamp numbered `id` (or a later one) until the timeout.
    async fn wait_tx_timestamp(&self, id: u32) -> Option<(u32, Timestamp)> {
        wait_tx_timestamp(
            &self.event,
            id,
            self.config.tx_timestamp_timeout,
            &self.counters,
        )
        .await
    }
}

/// The batch of `endpoint`, even if a thread panicked holding it (the batch is consistent
/// between any two of its calls).
fn lock(endpoint: &Endpoint) -> std::sync::MutexGuard<'_, ReceiveBatch> {
    endpoint
        .batch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The kernel's timestamp converted to `clock`, or the user-space one (shared with
/// [`crate::TimestampedUdpSocket`]).
pub(crate) fn packet_timestamp(
    clock: crate::TimestampClock,
    kernel_realtime: Option<Timestamp>,
    user: Timestamp,
) -> PacketTimestamp {
    let kernel = kernel_realtime.and_then(|realtime| clock.from_realtime(realtime).ok());
    timestamp_of(clock, kernel, user)
}

/// The kernel's timestamp, already on `clock`, when there is one; else the user-space one.
fn timestamp_of(
    clock: crate::TimestampClock,
    kernel: Option<Timestamp>,
    user: Timestamp,
) -> PacketTimestamp {
    match kernel {
        Some(time) => PacketTimestamp {
            time,
            clock,
            source: TimestampSource::Kernel,
        },
        None => PacketTimestamp {
            time: user,
            clock,
            source: TimestampSource::UserSpace,
        },
    }
}

/// Empties `endpoint`'s error queue of timestamps whose sends gave up waiting.
pub(crate) fn discard_late_tx_timestamps(endpoint: &Endpoint, counters: &Counters) {
    while let Ok(entry) = sys::read_error_queue(endpoint.io.get_ref()) {
        if let ErrorQueueEntry::TxTimestamp { .. } = entry {
            counters.tx_timestamp_late();
        }
    }
}

/// Waits for the transmit timestamp numbered `id` (or a later one) on `endpoint`'s error
/// queue, at most `timeout`.
pub(crate) async fn wait_tx_timestamp(
    endpoint: &Endpoint,
    id: u32,
    timeout: std::time::Duration,
    counters: &Counters,
) -> Option<(u32, Timestamp)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let io = &endpoint.io;
    // Fast path: on many drivers (loopback, veth) the timestamp is queued before
    // `sendto` returns, so read before paying for a trip through the reactor.
    let mut entry = sys::read_error_queue(io.get_ref());
    loop {
        match entry {
            Ok(ErrorQueueEntry::TxTimestamp {
                id: entry_id,
                realtime,
            }) => {
                // Wrapping comparison of the 32-bit counter.
                if (entry_id.wrapping_sub(id) as i32) >= 0 {
                    return Some((entry_id, realtime));
                }
                counters.tx_timestamp_late();
            }
            Ok(ErrorQueueEntry::Other) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                let Ok(ready) = tokio::time::timeout_at(deadline, io.ready(Interest::ERROR)).await
                else {
                    return None;
                };
                let mut guard = ready.ok()?;
                match guard.try_io(|io| sys::read_error_queue(io.get_ref())) {
                    // Readiness was stale and is now cleared: wait again.
                    Err(_would_block) => {
                        entry = Err(io::ErrorKind::WouldBlock.into());
                        continue;
                    }
                    Ok(next) => {
                        entry = next;
                        continue;
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::debug!(%error, "reading the error queue failed");
                return None;
            }
        }
        entry = sys::read_error_queue(io.get_ref());
    }
}

/// Refuses a destination of the other address family or a datagram too large for UDP.
pub(crate) fn check_destination(
    endpoint: &Endpoint,
    data: &[u8],
    destination: SocketAddr,
) -> Result<(), TransportError> {
    if destination.is_ipv4() != endpoint.local.is_ipv4() {
        return Err(TransportError::AddressFamilyMismatch {
            destination,
            local: endpoint.local,
        });
    }
    if data.len() > MAX_UDP_PAYLOAD {
        return Err(TransportError::DatagramTooLarge {
            length: data.len(),
            max_length: MAX_UDP_PAYLOAD,
        });
    }
    Ok(())
}

/// Sends `data` from `endpoint`, waiting for buffer space if needed; returns the user-space
/// timestamp read right before the successful `sendto`.
pub(crate) async fn send_from(
    endpoint: &Endpoint,
    clock: crate::TimestampClock,
    data: &[u8],
    destination: SocketAddr,
) -> Result<Timestamp, TransportError> {
    let port = endpoint.port;
    let address = SockAddr::from(destination);
    let failed = |source| TransportError::Send {
        destination,
        port,
        length: data.len(),
        source,
    };
    loop {
        let mut guard = endpoint.io.writable().await.map_err(failed)?;
        let attempt = guard.try_io(|io| {
            let before = clock.now().map_err(io::Error::other)?;
            io.get_ref()
                .send_to(data, &address)
                .map(|sent| (before, sent))
        });
        match attempt {
            Err(_would_block) => continue,
            Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => continue,
            Ok(Err(source)) => return Err(failed(source)),
            Ok(Ok((_, sent))) if sent != data.len() => {
                return Err(TransportError::ShortSend {
                    destination,
                    sent,
                    length: data.len(),
                })
            }
            Ok(Ok((before, _))) => return Ok(before),
        }
    }
}
