//! [`TimestampedUdpSocket`]: one UDP port with the timestamps of [`crate::PtpSocket`]'s event
//! socket, for timing protocols that are not PTP (AirPlay 1's NTP-style exchange).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::counters::Counters;
use crate::open::{self, Endpoint};
use crate::socket::{
    check_destination, discard_late_tx_timestamps, packet_timestamp, send_from, wait_tx_timestamp,
};
use crate::sys;
use crate::{
    DropReason, PacketTimestamp, PortKind, SocketConfig, TimestampClock, TransportCounters,
    TransportError, DEFAULT_TX_TIMESTAMP_TIMEOUT,
};

/// One bound UDP socket whose datagrams carry kernel software timestamps, as the event socket
/// of a [`crate::PtpSocket`] does, but on any single port and for any payload (no PTP
/// filtering: a 32-byte AirPlay 1 timing packet is returned like any other datagram).
///
/// - [`TimestampedUdpSocket::recv_from`] returns each datagram with its receive timestamp:
///   the kernel's (`SO_TIMESTAMPING` software receive), or a user-space one read right after
///   `recvmsg` when the kernel gave none.
/// - [`TimestampedUdpSocket::send_to`] returns the datagram's transmit timestamp: the
///   kernel's from the error queue within [`DEFAULT_TX_TIMESTAMP_TIMEOUT`], or the user-space
///   one read right before `sendto`.
///
/// [`PacketTimestamp::source`] says which for each; [`TimestampedUdpSocket::counters`]
/// counts them. Errors name the socket as the event port.
///
/// ```
/// # async fn demo() -> Result<(), aptp_transport::TransportError> {
/// use aptp_transport::{TimestampClock, TimestampedUdpSocket};
/// let any = "127.0.0.1:0".parse().unwrap();
/// let a = TimestampedUdpSocket::bind(any, TimestampClock::MonotonicRaw)?;
/// let b = TimestampedUdpSocket::bind(any, TimestampClock::MonotonicRaw)?;
/// let sent = a.send_to(&[0x80, 0xd2, 0, 7], b.local_addr()).await?;
/// let mut buffer = [0u8; 64];
/// let (length, source, received) = b.recv_from(&mut buffer).await?;
/// assert_eq!((&buffer[..length], source), (&[0x80, 0xd2, 0, 7][..], a.local_addr()));
/// assert!(received.time >= sent.time);
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
/// #     .block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct TimestampedUdpSocket {
    endpoint: Endpoint,
    clock: TimestampClock,
    /// The kernel's number of the next datagram sent (`SOF_TIMESTAMPING_OPT_ID`).
    next_tx_id: Mutex<u32>,
    counters: Counters,
}

impl TimestampedUdpSocket {
    /// Binds `address` (port 0: any) and enables kernel receive and transmit timestamps,
    /// reported on `clock`. Must be called inside a tokio runtime with I/O enabled.
    ///
    /// # Errors
    /// As [`crate::PtpSocket::bind`]: [`TransportError::AddressInUse`],
    /// [`TransportError::PermissionDenied`], [`TransportError::NoRuntime`],
    /// [`TransportError::Clock`], [`TransportError::Setup`].
    ///
    /// # Panics
    /// As [`crate::PtpSocket::bind`], inside a tokio runtime built without its I/O driver.
    pub fn bind(address: SocketAddr, clock: TimestampClock) -> Result<Self, TransportError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::NoRuntime);
        }
        clock.now()?;
        // The event endpoint of a one-port configuration: same options, same timestamping,
        // but no PTP structure filter (these datagrams are not PTP).
        let config = SocketConfig::new(address.ip())
            .with_ports(address.port(), 0)
            .with_clock(clock)
            .with_kernel_structure_filter(false);
        let endpoint = open::open_endpoint(&config, PortKind::Event, None)?;
        tracing::debug!(
            local = %endpoint.local,
            kernel_rx = endpoint.kernel.rx,
            kernel_tx = endpoint.kernel.tx,
            %clock,
            "timestamped UDP socket bound"
        );
        Ok(Self {
            endpoint,
            clock,
            next_tx_id: Mutex::new(0),
            counters: Counters::default(),
        })
    }

    /// The bound address (with the port the kernel chose if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.endpoint.local
    }

    /// The clock every timestamp is reported on.
    pub fn clock(&self) -> TimestampClock {
        self.clock
    }

    /// Whether the kernel agreed to give receive timestamps.
    pub fn kernel_rx_timestamps(&self) -> bool {
        self.endpoint.kernel.rx
    }

    /// Whether the kernel agreed to give transmit timestamps (a driver may still not deliver
    /// them: see [`TransportCounters::tx_timestamp_timeouts`]).
    pub fn kernel_tx_timestamps(&self) -> bool {
        self.endpoint.kernel.tx
    }

    /// A snapshot of the counters (sends are counted as event messages).
    pub fn counters(&self) -> TransportCounters {
        self.counters.snapshot()
    }

    /// Receives the next datagram into `buffer`: its length, its source and its receive
    /// timestamp. A datagram longer than `buffer` is dropped (counted as truncated) and
    /// receiving goes on. Cancel safe, as [`crate::PtpSocket::recv`].
    ///
    /// # Errors
    /// [`TransportError::Receive`] when the operating system fails the read.
    pub async fn recv_from(
        &self,
        buffer: &mut [u8],
    ) -> Result<(usize, SocketAddr, PacketTimestamp), TransportError> {
        let port = self.endpoint.port;
        loop {
            let mut guard = self
                .endpoint
                .io
                .readable()
                .await
                .map_err(|source| TransportError::Receive { port, source })?;
            let raw = match guard.try_io(|io| sys::receive(io.get_ref(), buffer, self.clock)) {
                Err(_would_block) => continue,
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(source)) => return Err(TransportError::Receive { port, source }),
                Ok(Ok(raw)) => raw,
            };
            drop(guard);
            if raw.truncated {
                self.counters.dropped(DropReason::Truncated);
                continue;
            }
            let Some(source) = raw.source else {
                self.counters.dropped(DropReason::Malformed);
                continue;
            };
            let rx_timestamp = packet_timestamp(self.clock, raw.kernel_realtime, raw.user);
            self.counters.received(rx_timestamp.source);
            return Ok((raw.len, source, rx_timestamp));
        }
    }

    /// Sends `data` to `destination` and returns its transmit timestamp: the kernel's when
    /// it arrives within [`DEFAULT_TX_TIMESTAMP_TIMEOUT`], else the user-space one read right
    /// before the send. A missing kernel timestamp is never an error. Concurrent sends are
    /// serialised, each waiting for its own timestamp.
    ///
    /// # Errors
    /// [`TransportError::AddressFamilyMismatch`], [`TransportError::DatagramTooLarge`],
    /// [`TransportError::Send`], [`TransportError::ShortSend`].
    pub async fn send_to(
        &self,
        data: &[u8],
        destination: SocketAddr,
    ) -> Result<PacketTimestamp, TransportError> {
        check_destination(&self.endpoint, data, destination)?;
        let mut next_tx_id = self.next_tx_id.lock().await;
        let kernel_tx = self.endpoint.kernel.tx;
        if kernel_tx {
            discard_late_tx_timestamps(&self.endpoint, &self.counters);
        }
        let user = send_from(&self.endpoint, self.clock, data, destination).await?;
        let mut kernel_realtime = None;
        if kernel_tx {
            let id = *next_tx_id;
            *next_tx_id = id.wrapping_add(1);
            let timeout: Duration = DEFAULT_TX_TIMESTAMP_TIMEOUT;
            match wait_tx_timestamp(&self.endpoint, id, timeout, &self.counters).await {
                Some((matched_id, realtime)) => {
                    // The kernel's count is the truth (see PtpSocket::send_event).
                    *next_tx_id = matched_id.wrapping_add(1);
                    kernel_realtime = Some(realtime);
                }
                None => {
                    self.counters.tx_timestamp_timeout();
                    tracing::debug!(%destination, "no kernel transmit timestamp in time; using user space");
                }
            }
        }
        let tx_timestamp = packet_timestamp(self.clock, kernel_realtime, user);
        self.counters.sent_event(tx_timestamp.source);
        Ok(tx_timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback: both directions stamped by the kernel (after the lazy switch-on), in order.
    #[tokio::test]
    async fn kernel_timestamps_both_ways_on_loopback() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = TimestampedUdpSocket::bind(any, TimestampClock::MonotonicRaw).unwrap();
        let b = TimestampedUdpSocket::bind(any, TimestampClock::MonotonicRaw).unwrap();
        assert!(a.kernel_rx_timestamps() && a.kernel_tx_timestamps());
        let mut buffer = [0u8; 8];
        // Kernel receive stamping switches on lazily (see the crate docs): try a few times.
        let mut last = None;
        for _ in 0..50 {
            let sent = a.send_to(&[1, 2, 3], b.local_addr()).await.unwrap();
            let (length, source, received) = b.recv_from(&mut buffer).await.unwrap();
            assert_eq!((length, source), (3, a.local_addr()));
            assert!(received.time >= sent.time, "{sent:?} {received:?}");
            if received.is_kernel() && sent.is_kernel() {
                last = Some((sent, received));
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (sent, received) = last.expect("kernel timestamps on loopback");
        assert!(received.time.nanos_since(sent.time) < 10_000_000);
        // A datagram longer than the buffer is dropped and counted; the next one arrives.
        a.send_to(&[0; 16], b.local_addr()).await.unwrap();
        a.send_to(&[9], b.local_addr()).await.unwrap();
        let (length, _, _) = b.recv_from(&mut buffer).await.unwrap();
        assert_eq!((length, buffer[0]), (1, 9));
        assert_eq!(b.counters().dropped_truncated, 1);
        assert!(a.counters().tx_kernel_timestamps >= 1);
        // The other family is refused before anything is sent.
        assert!(matches!(
            a.send_to(&[1], "[::1]:9".parse().unwrap()).await,
            Err(TransportError::AddressFamilyMismatch { .. })
        ));
    }
}
