//! The transport's error type: each variant says what to do about it.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::PortKind;

/// Everything that can go wrong in the transport.
///
/// Missing transmit timestamps are *not* an error: [`crate::PtpSocket::send_event`] then
/// reports a user-space timestamp and says so in [`crate::PacketTimestamp::source`].
///
/// ```
/// use aptp_transport::TransportError;
/// let error = TransportError::UnknownInterface { name: "eth9".into() };
/// assert!(error.to_string().contains("eth9"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Binding the address needs a privilege this process lacks.
    #[error(
        "binding {address} was refused: ports below 1024 (PTP's 319 and 320) need root or the \
         CAP_NET_BIND_SERVICE capability (e.g. `setcap cap_net_bind_service=+ep <binary>`); \
         or choose unprivileged ports"
    )]
    PermissionDenied {
        /// The address that could not be bound.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Someone else has the port.
    #[error(
        "{address} is already in use: another PTP daemon (ptp4l, nqptp, another aptp) may hold \
         the port; stop it, or choose other ports"
    )]
    AddressInUse {
        /// The address that could not be bound.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The configured network interface does not exist (in this network namespace).
    #[error(
        "network interface {name:?} does not exist (see `ip link` for the interfaces there are)"
    )]
    UnknownInterface {
        /// The interface name as configured.
        name: String,
    },

    /// The bind address is not one of this host's addresses.
    #[error("cannot bind {address}: the address is not assigned to any interface of this host")]
    AddressNotAvailable {
        /// The address that could not be bound.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Binding failed for another reason.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address that could not be bound.
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The configuration contradicts itself.
    #[error("invalid transport configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },

    /// A socket option or socket creation failed.
    #[error("socket setup failed while {operation}: {source}")]
    Setup {
        /// What was being done, e.g. "setting IPV6_V6ONLY".
        operation: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Joining a multicast group failed.
    #[error("joining multicast group {group} on {interface} failed: {source}")]
    JoinMulticast {
        /// The group.
        group: IpAddr,
        /// The interface name, or "the default interface".
        interface: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The destination's address family differs from the socket's.
    #[error(
        "cannot send to {destination} from a socket bound to {local}: address families differ"
    )]
    AddressFamilyMismatch {
        /// The requested destination.
        destination: SocketAddr,
        /// The socket's local address.
        local: SocketAddr,
    },

    /// The datagram is larger than a UDP datagram can be.
    #[error("datagram of {length} bytes is too large to send (at most {max_length})")]
    DatagramTooLarge {
        /// The datagram's length.
        length: usize,
        /// The largest length accepted.
        max_length: usize,
    },

    /// Sending failed.
    #[error("sending {length} bytes to {destination} from the {port} port failed: {source}")]
    Send {
        /// The destination.
        destination: SocketAddr,
        /// The port (socket) it was sent from.
        port: PortKind,
        /// The datagram's length.
        length: usize,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The kernel accepted only part of the datagram.
    #[error("sent only {sent} of {length} bytes to {destination}")]
    ShortSend {
        /// The destination.
        destination: SocketAddr,
        /// Bytes the kernel accepted.
        sent: usize,
        /// The datagram's length.
        length: usize,
    },

    /// Receiving failed (not a dropped datagram: those are counted, see
    /// [`crate::TransportCounters`]).
    #[error("receiving on the {port} port failed: {source}")]
    Receive {
        /// The port (socket) that failed.
        port: PortKind,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Reading a clock failed.
    #[error("reading {clock} failed: {source}")]
    Clock {
        /// The clock's name.
        clock: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The socket was created outside a tokio runtime.
    #[error(
        "PtpSocket::bind must be called from within a tokio runtime (with the I/O driver enabled)"
    )]
    NoRuntime,
}

impl TransportError {
    /// Classifies a failed `bind(2)` into an actionable variant.
    pub(crate) fn from_bind(address: SocketAddr, source: io::Error) -> Self {
        match source.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => Self::PermissionDenied { address, source },
            Some(libc::EADDRINUSE) => Self::AddressInUse { address, source },
            Some(libc::EADDRNOTAVAIL) => Self::AddressNotAvailable { address, source },
            _ => Self::Bind { address, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_errors_are_classified_with_advice() {
        let address: SocketAddr = "0.0.0.0:319".parse().unwrap();
        let denied = TransportError::from_bind(address, io::Error::from_raw_os_error(libc::EACCES));
        assert!(matches!(denied, TransportError::PermissionDenied { .. }));
        assert!(denied.to_string().contains("CAP_NET_BIND_SERVICE"));
        let in_use =
            TransportError::from_bind(address, io::Error::from_raw_os_error(libc::EADDRINUSE));
        assert!(in_use.to_string().contains("ptp4l"));
        assert!(in_use.to_string().contains("nqptp"));
        let other = TransportError::from_bind(address, io::Error::from_raw_os_error(libc::EINVAL));
        assert!(matches!(other, TransportError::Bind { .. }));
    }
}
