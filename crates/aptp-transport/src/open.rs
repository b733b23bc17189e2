//! Opening one of the two UDP sockets: options, bind, multicast membership, timestamping.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::batch::ReceiveBatch;
use crate::sys::{self, KernelTimestamping};
use crate::{PortKind, SocketConfig, TransportError};

/// Largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP).
pub(crate) const MAX_UDP_PAYLOAD: usize = 65_507;

/// One bound socket: the event one or the general one.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) io: AsyncFd<Socket>,
    pub(crate) port: PortKind,
    pub(crate) local: SocketAddr,
    pub(crate) kernel: KernelTimestamping,
    /// Buffers of the batched reads (`recvmmsg`) and the datagrams read but not yet handed
    /// out; locked only while reading or handing out, never across an `await`.
    pub(crate) batch: std::sync::Mutex<ReceiveBatch>,
}

/// Checks what `bind` cannot check for us.
pub(crate) fn validate(config: &SocketConfig) -> Result<(), TransportError> {
    if config.event_port == config.general_port && config.event_port != 0 {
        return Err(TransportError::InvalidConfig {
            reason: "the event and general ports must differ",
        });
    }
    if config.max_datagram_len < crate::filter::PTP_HEADER_LEN
        || config.max_datagram_len > MAX_UDP_PAYLOAD
    {
        return Err(TransportError::InvalidConfig {
            reason: "max_datagram_len must be between 34 (a PTP header) and 65507 bytes",
        });
    }
    if let Some(name) = &config.interface {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', '\0']) {
            return Err(TransportError::UnknownInterface { name: name.clone() });
        }
    }
    Ok(())
}

/// The index of `name`, or the error naming it.
pub(crate) fn interface_index(name: &str) -> Result<u32, TransportError> {
    nix::net::if_::if_nametoindex(name).map_err(|_| TransportError::UnknownInterface {
        name: name.to_owned(),
    })
}

fn setup(operation: &'static str) -> impl FnOnce(io::Error) -> TransportError {
    move |source| TransportError::Setup { operation, source }
}

/// Creates, configures and binds the socket of `port`, and registers it with tokio.
pub(crate) fn open_endpoint(
    config: &SocketConfig,
    port: PortKind,
    interface_index: Option<u32>,
) -> Result<Endpoint, TransportError> {
    let address = SocketAddr::new(config.bind_address, config.port_number(port));
    // socket2 creates it with SOCK_CLOEXEC.
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(setup("creating a UDP socket"))?;
    socket
        .set_nonblocking(true)
        .map_err(setup("making the socket non-blocking"))?;
    if config.reuse_address {
        socket
            .set_reuse_address(true)
            .map_err(setup("setting SO_REUSEADDR"))?;
    }
    if let Some(name) = &config.interface {
        socket
            .bind_device(Some(name.as_bytes()))
            .map_err(|source| {
                if source.raw_os_error() == Some(libc::ENODEV) {
                    TransportError::UnknownInterface { name: name.clone() }
                } else {
                    TransportError::Setup {
                        operation: "binding to the interface (SO_BINDTODEVICE)",
                        source,
                    }
                }
            })?;
    }
    match config.bind_address {
        IpAddr::V4(_) => {
            // Only the groups this socket joined, not every group any socket joined.
            if let Err(error) = socket.set_multicast_all_v4(false) {
                tracing::debug!(%error, "IP_MULTICAST_ALL not supported");
            }
            socket
                .set_multicast_loop_v4(config.multicast_loop)
                .map_err(setup("setting IP_MULTICAST_LOOP"))?;
            socket
                .set_multicast_ttl_v4(config.multicast_ttl)
                .map_err(setup("setting IP_MULTICAST_TTL"))?;
        }
        IpAddr::V6(_) => {
            socket
                .set_only_v6(true)
                .map_err(setup("setting IPV6_V6ONLY"))?;
            if let Err(error) = socket.set_multicast_all_v6(false) {
                tracing::debug!(%error, "IPV6_MULTICAST_ALL not supported");
            }
            socket
                .set_multicast_loop_v6(config.multicast_loop)
                .map_err(setup("setting IPV6_MULTICAST_LOOP"))?;
            socket
                .set_multicast_hops_v6(config.multicast_ttl)
                .map_err(setup("setting IPV6_MULTICAST_HOPS"))?;
            if let Some(index) = interface_index {
                socket
                    .set_multicast_if_v6(index)
                    .map_err(setup("setting IPV6_MULTICAST_IF"))?;
            }
        }
    }
    socket
        .bind(&SockAddr::from(address))
        .map_err(|source| TransportError::from_bind(address, source))?;
    join_groups(&socket, config, interface_index)?;
    sys::enable_packet_info(&socket, config.bind_address.is_ipv6());
    attach_filter(&socket, config, port)?;
    let kernel = if config.kernel_timestamps {
        sys::enable_kernel_timestamps(&socket, port == PortKind::Event)
    } else {
        KernelTimestamping {
            rx: false,
            tx: false,
        }
    };
    let local = socket
        .local_addr()
        .map_err(setup("reading the bound address"))?
        .as_socket()
        .ok_or(TransportError::Setup {
            operation: "reading the bound address",
            source: io::Error::other("not an IP address"),
        })?;
    // SAFETY: `AsyncFd::register` requires the fd to stay open and be the same for the
    // AsyncFd's whole life. `socket` owns its fd (socket2::Socket wraps an OwnedFd), is moved
    // into the AsyncFd, is never replaced (we never call `get_mut`/`into_inner`), and
    // `as_raw_fd` always returns that one fd; it is closed only when the AsyncFd drops it.
    #[allow(unsafe_code)]
    let io = unsafe { AsyncFd::register(socket) }.map_err(|error| TransportError::Setup {
        operation: "registering the socket with tokio",
        source: error.into(),
    })?;
    Ok(Endpoint {
        io,
        port,
        local,
        kernel,
        batch: std::sync::Mutex::new(ReceiveBatch::new(config.max_datagram_len)),
    })
}

/// Attaches the kernel filter of [`crate::kernel_filter`]: the structure checks (by
/// default) and the accepted clocks or sources the configuration names. Before the socket is
/// registered, so no datagram is read unfiltered after it (the few queued since `bind` are
/// checked in user space as usual).
fn attach_filter(
    socket: &Socket,
    config: &SocketConfig,
    port: PortKind,
) -> Result<(), TransportError> {
    let sources: Vec<IpAddr> = config
        .accepted_sources
        .iter()
        .map(|source| source.to_canonical())
        .filter(|source| source.is_ipv4() == config.bind_address.is_ipv4())
        .collect();
    // Sources of the other family cannot reach this socket; none left means no source test
    // (user space still ignores non-peers).
    let structure = config.kernel_structure_filter;
    let program = crate::kernel_filter::program(port, structure, &config.accepted_clocks, &sources)
        .or_else(|| {
            if !config.accepted_clocks.is_empty() || !sources.is_empty() {
                tracing::debug!("accepted clocks or sources too many for a kernel filter");
            }
            // Too long to encode: keep at least the structure checks.
            crate::kernel_filter::program(port, structure, &[], &[])
        });
    match program {
        Some(program) => socket
            .attach_filter(&program)
            .map_err(setup("attaching the socket filter (SO_ATTACH_FILTER)")),
        None => Ok(()),
    }
}

fn join_groups(
    socket: &Socket,
    config: &SocketConfig,
    interface_index: Option<u32>,
) -> Result<(), TransportError> {
    for group in &config.multicast_groups {
        let group = group.address_like(config.bind_address);
        let result = match group {
            IpAddr::V4(group) => socket.join_multicast_v4_n(
                &group,
                &InterfaceIndexOrAddress::Index(interface_index.unwrap_or(0)),
            ),
            IpAddr::V6(group) => socket.join_multicast_v6(&group, interface_index.unwrap_or(0)),
        };
        result.map_err(|source| TransportError::JoinMulticast {
            group,
            interface: config
                .interface
                .clone()
                .unwrap_or_else(|| "the default interface".to_owned()),
            source,
        })?;
    }
    Ok(())
}
