//! aptp-transport: the tokio UDP layer that moves PTP datagrams and their timestamps.
//!
//! A [`PtpSocket`] binds the event port (319) and the general port (320) of one address,
//! optionally on one interface, joins the PTP multicast groups on request, and:
//!
//! - **receives** each datagram with its source address, the port it arrived on and a receive
//!   timestamp ([`Received`]). On Linux the timestamp is the kernel's software timestamp
//!   (`SO_TIMESTAMPING` with `SOF_TIMESTAMPING_RX_SOFTWARE`, or `SO_TIMESTAMPNS` if that is
//!   refused), read from the control messages of `recvmmsg`, which takes up to 32 datagrams
//!   per system call, each with its own timestamp, into buffers allocated once per socket.
//!   Without one, a user-space timestamp is read right after the system call returns, and
//!   [`PacketTimestamp::source`] says so.
//! - **sends** event messages from the event socket and returns their transmit timestamp
//!   ([`PtpSocket::send_event`]): the kernel's software timestamp from the socket error queue
//!   (`SOF_TIMESTAMPING_TX_SOFTWARE | OPT_ID | OPT_TSONLY`, matched by the kernel's per-socket
//!   datagram counter), awaited at most [`SocketConfig::tx_timestamp_timeout`] (10 ms, as
//!   linuxptp's `tx_timestamp_timeout`), else the user-space timestamp read right before
//!   `sendto`. Missing transmit timestamps are reported, never an error. General messages go
//!   out of the general socket ([`PtpSocket::send_general`]), so the source port always equals
//!   the PTP port (nqptp requires 319→319 and 320→320).
//! - reports every timestamp against one explicit clock ([`TimestampClock`]):
//!   `CLOCK_REALTIME` as ptp4l's software mode, or `CLOCK_MONOTONIC(_RAW)` as nqptp and audio
//!   players; the kernel's `CLOCK_REALTIME` timestamps are converted as described in
//!   [`time`](crate::TimestampClock::from_realtime).
//! - counts what it received, dropped (by [`DropReason`]) and how it was timestamped
//!   ([`TransportCounters`], atomics readable any time).
//!
//! [`TimestampedUdpSocket`] gives the event socket's timestamps on any single UDP port, for
//! timing that is not PTP (AirPlay 1's NTP-style exchange), with no PTP filtering.
//!
//! It makes no protocol decisions: it does not parse messages. In user space, the one look
//! at the bytes is the messageType nibble, to drop an event message arriving on the general
//! port or the reverse. By default a kernel socket filter also refuses, before they are
//! queued, datagrams that cannot be PTP version 2 (shorter than a header, versionPTP not 2,
//! messageLength under a header or beyond the datagram, the other port's message type), so
//! such junk never wakes the process ([`SocketConfig::with_kernel_structure_filter`]).
//!
//! # Why these crates
//! - **socket2** for creating and configuring the sockets: it covers every option needed
//!   (`SO_BINDTODEVICE`, `IP_ADD_MEMBERSHIP` with an interface index, `IP_MULTICAST_ALL`,
//!   `IPV6_V6ONLY`…) behind a safe API, and it is what tokio and mio themselves build on.
//! - **nix** for what socket2 does not do: `SO_TIMESTAMPING` flags, `recvmsg` with
//!   `MSG_ERRQUEUE`, and safe decoding of the control messages (`SCM_TIMESTAMPING`,
//!   `IP_RECVERR` with `sock_extended_err`); plus `clock_gettime` for any clock id. With both,
//!   this crate has two `unsafe` sites: handing the socket to tokio's `AsyncFd::register`,
//!   whose contract (the fd stays open and the same while registered) an owned
//!   `socket2::Socket` upholds, and the batched receive (`recvmmsg` through **libc**, with the
//!   `CMSG_*` helpers: nix's `MultiHeaders` is neither `Send` nor reusable without truncating
//!   control messages, see the `batch` module). Each block is commented where it stands and
//!   exercised by every receive test.
//! - **tokio**'s `AsyncFd` for readiness, including `Interest::ERROR` to await the error
//!   queue without polling.
//! - Pendulum's `timestamped-socket` (statime's transport) was evaluated: it does the same
//!   job, but with its own `unsafe` libc FFI, almost no documentation (under 2 % of its items
//!   on docs.rs), its own timestamp type and no clock selection; socket2 + nix keep the
//!   unsafe code in two widely used, reviewed crates and let the two PTP sockets share one API.
//!
//! # Kernel receive timestamps switch on lazily
//! The kernel stamps incoming packets only while some socket on the machine asks for it (a
//! static key). When the first such socket appears, the kernel switches stamping on through
//! deferred work, so datagrams that arrive in the first moments after the first
//! [`PtpSocket::bind`] on an otherwise idle machine may carry user-space timestamps (reported
//! as such, and counted in [`TransportCounters::rx_user_timestamps`]). A running daemon is
//! unaffected; tests that assert on kernel timestamps should first wait for one.
//!
//! # Platform
//! Linux (and Android). Kernel timestamps and `SO_BINDTODEVICE` are Linux features.
//!
//! # Example
//! ```
//! # async fn demo() -> Result<(), aptp_transport::TransportError> {
//! use aptp_transport::{PortKind, PtpSocket, SocketConfig, TimestampClock, TimestampSource};
//! let config = SocketConfig::new("::1".parse().unwrap())
//!     .with_ports(0, 0) // any free pair; PTP's own are 319/320
//!     .with_clock(TimestampClock::MonotonicRaw);
//! let master = PtpSocket::bind(config.clone())?;
//! let slave = PtpSocket::bind(config)?;
//! let mut announce = vec![0u8; 64];
//! announce[0] = 0x1B; // Announce (a general message), majorSdoId 1
//! announce[1] = 0x12; // PTP version 2.1
//! announce[2..4].copy_from_slice(&64u16.to_be_bytes()); // messageLength
//! master.send_general(&announce, slave.local_addr(PortKind::General)).await?;
//! let received = slave.recv().await?;
//! assert_eq!(received.port, PortKind::General);
//! assert_eq!(received.rx_timestamp.clock, TimestampClock::MonotonicRaw);
//! // Kernel on Linux (see "Kernel receive timestamps switch on lazily" for the exception).
//! let _kernel: bool = received.rx_timestamp.source == TimestampSource::Kernel;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
//! #     .block_on(demo()).unwrap();
//! ```

#![cfg(any(target_os = "linux", target_os = "android"))]
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod batch;
mod config;
mod counters;
mod error;
mod filter;
mod kernel_filter;
mod open;
mod socket;
mod sys;
mod time;
mod udp;

pub use config::{
    MulticastGroup, PortKind, SocketConfig, DEFAULT_MAX_DATAGRAM_LEN, DEFAULT_TX_TIMESTAMP_TIMEOUT,
    PTP_EVENT_PORT, PTP_GENERAL_PORT,
};
pub use counters::{DropReason, TransportCounters};
pub use error::TransportError;
pub use socket::{PtpSocket, Received};
pub use time::{PacketTimestamp, Timestamp, TimestampClock, TimestampSource};
pub use udp::TimestampedUdpSocket;
