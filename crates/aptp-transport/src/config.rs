//! What a [`crate::PtpSocket`] binds and how: address, interface, ports, groups, clock.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::TimestampClock;

/// UDP port of PTP event messages (Sync, Delay_Req, Pdelay_Req, Pdelay_Resp).
pub const PTP_EVENT_PORT: u16 = 319;
/// UDP port of PTP general messages (Follow_Up, Delay_Resp, Announce, Signaling, Management…).
pub const PTP_GENERAL_PORT: u16 = 320;

/// linuxptp's default `tx_timestamp_timeout`: how long to wait for a transmit timestamp.
pub const DEFAULT_TX_TIMESTAMP_TIMEOUT: Duration = Duration::from_millis(10);

/// Largest datagram accepted by default. PTP messages are far shorter (Apple's longest are
/// about 100 bytes; management messages stay under 1500); anything longer is dropped and
/// counted as truncated.
pub const DEFAULT_MAX_DATAGRAM_LEN: usize = 1500;

/// Which of the two PTP sockets: event (timestamped) or general.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortKind {
    /// The event port (319 by default): Sync, Delay_Req, Pdelay_Req, Pdelay_Resp.
    Event,
    /// The general port (320 by default): everything else.
    General,
}

impl fmt::Display for PortKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortKind::Event => "event",
            PortKind::General => "general",
        })
    }
}

/// The PTP multicast groups (IEEE 1588-2019 annex C and D).
///
/// ```
/// use aptp_transport::MulticastGroup;
/// assert_eq!(MulticastGroup::Primary.ipv4().to_string(), "224.0.1.129");
/// assert_eq!(MulticastGroup::PeerDelay.ipv6().to_string(), "ff02::6b");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MulticastGroup {
    /// All messages but peer delay: 224.0.1.129 and FF0E::181.
    Primary,
    /// Peer delay messages: 224.0.0.107 and FF02::6B (link-local, never routed).
    PeerDelay,
}

impl MulticastGroup {
    /// The IPv4 group address.
    pub const fn ipv4(self) -> Ipv4Addr {
        match self {
            MulticastGroup::Primary => Ipv4Addr::new(224, 0, 1, 129),
            MulticastGroup::PeerDelay => Ipv4Addr::new(224, 0, 0, 107),
        }
    }

    /// The IPv6 group address.
    pub const fn ipv6(self) -> Ipv6Addr {
        match self {
            MulticastGroup::Primary => Ipv6Addr::new(0xff0e, 0, 0, 0, 0, 0, 0, 0x181),
            MulticastGroup::PeerDelay => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x6b),
        }
    }

    /// The group address in the family of `like`.
    pub const fn address_like(self, like: IpAddr) -> IpAddr {
        match like {
            IpAddr::V4(_) => IpAddr::V4(self.ipv4()),
            IpAddr::V6(_) => IpAddr::V6(self.ipv6()),
        }
    }
}

/// How to bind a [`crate::PtpSocket`]. Build with [`SocketConfig::new`] and the `with_*`
/// methods; the defaults are PTP's: ports 319/320, `CLOCK_REALTIME`, kernel timestamps, a
/// 10 ms transmit timestamp timeout, no multicast groups.
///
/// To receive multicast, bind the unspecified address (`0.0.0.0` or `::`) and name the
/// interface: Linux delivers a multicast datagram only to sockets bound to the wildcard or to
/// the group address, never to a socket bound to a unicast address.
///
/// ```
/// use aptp_transport::{MulticastGroup, SocketConfig, TimestampClock};
/// let config = SocketConfig::new("0.0.0.0".parse().unwrap())
///     .with_interface("eth0")
///     .with_ports(3319, 3320)
///     .with_multicast_group(MulticastGroup::Primary)
///     .with_clock(TimestampClock::MonotonicRaw);
/// assert_eq!(config.event_port, 3319);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketConfig {
    /// Local address to bind both sockets to; its family decides IPv4 or IPv6.
    pub bind_address: IpAddr,
    /// Network interface to bind to (`SO_BINDTODEVICE`), join groups on and send multicast
    /// from; `None` lets routing decide.
    pub interface: Option<String>,
    /// UDP port of the event socket (319).
    pub event_port: u16,
    /// UDP port of the general socket (320).
    pub general_port: u16,
    /// Groups to join on both sockets.
    pub multicast_groups: Vec<MulticastGroup>,
    /// Whether this host's own multicast datagrams come back to it (`IP_MULTICAST_LOOP`).
    pub multicast_loop: bool,
    /// TTL / hop limit of multicast datagrams (linuxptp's `udp_ttl`, default 1).
    pub multicast_ttl: u32,
    /// Allow other sockets to bind the same ports (`SO_REUSEADDR`; linuxptp sets it). Off by
    /// default so that a port held by another daemon is reported instead of silently shared.
    pub reuse_address: bool,
    /// The clock timestamps are reported in.
    pub clock: TimestampClock,
    /// Ask the kernel for software timestamps. When false (or when the kernel refuses),
    /// timestamps are taken in user space.
    pub kernel_timestamps: bool,
    /// How long [`crate::PtpSocket::send_event`] waits for the kernel's transmit timestamp
    /// before reporting a user-space one.
    pub tx_timestamp_timeout: Duration,
    /// Longest datagram accepted; longer ones are dropped and counted.
    pub max_datagram_len: usize,
    /// When not empty, a Sync, Follow_Up, Delay_Resp or Announce is received only from these
    /// clocks (sourcePortIdentity.clockIdentity): a slave with an acceptable-master list. The
    /// test runs in the kernel (a socket filter), so a flood of messages from other clocks
    /// never reaches user space; see [`SocketConfig::with_accepted_clocks`].
    pub accepted_clocks: Vec<[u8; 8]>,
    /// When not empty, datagrams are received only from these IP addresses (an AirPlay node's
    /// timing peers), tested in the kernel as `accepted_clocks`.
    pub accepted_sources: Vec<IpAddr>,
    /// Refuse in the kernel (a socket filter) datagrams that cannot be PTP version 2: shorter
    /// than the 34-byte header, versionPTP not 2, messageLength under 34 or beyond the
    /// datagram, or a message type of the other port. On by default; see
    /// [`SocketConfig::with_kernel_structure_filter`].
    pub kernel_structure_filter: bool,
}

impl SocketConfig {
    /// The defaults (see the type's documentation), bound to `bind_address`.
    pub fn new(bind_address: IpAddr) -> Self {
        Self {
            bind_address,
            interface: None,
            event_port: PTP_EVENT_PORT,
            general_port: PTP_GENERAL_PORT,
            multicast_groups: Vec::new(),
            multicast_loop: false,
            multicast_ttl: 1,
            reuse_address: false,
            clock: TimestampClock::Realtime,
            kernel_timestamps: true,
            tx_timestamp_timeout: DEFAULT_TX_TIMESTAMP_TIMEOUT,
            max_datagram_len: DEFAULT_MAX_DATAGRAM_LEN,
            accepted_clocks: Vec::new(),
            accepted_sources: Vec::new(),
            kernel_structure_filter: true,
        }
    }

    /// Binds to, joins groups on and sends multicast from `interface`.
    pub fn with_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// Uses `event_port` and `general_port` instead of 319 and 320.
    pub fn with_ports(mut self, event_port: u16, general_port: u16) -> Self {
        self.event_port = event_port;
        self.general_port = general_port;
        self
    }

    /// Joins `group` (in the bind address's family) on both sockets.
    pub fn with_multicast_group(mut self, group: MulticastGroup) -> Self {
        if !self.multicast_groups.contains(&group) {
            self.multicast_groups.push(group);
        }
        self
    }

    /// Sets `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`.
    pub fn with_multicast_loop(mut self, multicast_loop: bool) -> Self {
        self.multicast_loop = multicast_loop;
        self
    }

    /// Sets `SO_REUSEADDR`.
    pub fn with_reuse_address(mut self, reuse_address: bool) -> Self {
        self.reuse_address = reuse_address;
        self
    }

    /// Reports timestamps against `clock`.
    pub fn with_clock(mut self, clock: TimestampClock) -> Self {
        self.clock = clock;
        self
    }

    /// Asks the kernel for timestamps (`true`, the default) or takes them in user space.
    pub fn with_kernel_timestamps(mut self, kernel_timestamps: bool) -> Self {
        self.kernel_timestamps = kernel_timestamps;
        self
    }

    /// Waits at most `timeout` for a kernel transmit timestamp.
    pub fn with_tx_timestamp_timeout(mut self, timeout: Duration) -> Self {
        self.tx_timestamp_timeout = timeout;
        self
    }

    /// Accepts datagrams up to `max_datagram_len` bytes.
    pub fn with_max_datagram_len(mut self, max_datagram_len: usize) -> Self {
        self.max_datagram_len = max_datagram_len;
        self
    }

    /// Receives Sync, Follow_Up, Delay_Resp and Announce only from `clocks` (clock identities,
    /// 8 bytes each); other message types still pass. Attaches a socket filter (classic BPF,
    /// `SO_ATTACH_FILTER`) that also refuses datagrams shorter than a PTP header or of the
    /// other port's message class: those never reach user space, so they are not counted in
    /// [`crate::TransportCounters`]. Under a flood this keeps the socket's receive queue for
    /// the master's messages, which would otherwise be dropped with the junk at a full queue.
    /// An empty list (the default) attaches no filter.
    pub fn with_accepted_clocks(mut self, clocks: impl IntoIterator<Item = [u8; 8]>) -> Self {
        self.accepted_clocks = clocks.into_iter().collect();
        self
    }

    /// Receives datagrams only from `sources` (IP addresses of the socket's family; others
    /// never match), with the same kernel filter as [`SocketConfig::with_accepted_clocks`].
    pub fn with_accepted_sources(mut self, sources: impl IntoIterator<Item = IpAddr>) -> Self {
        self.accepted_sources = sources.into_iter().collect();
        self
    }

    /// Whether the kernel refuses datagrams that cannot be PTP version 2 (`true`, the
    /// default): a socket filter (classic BPF, `SO_ATTACH_FILTER`) drops, before they are
    /// queued, datagrams shorter than the 34-byte common header, with versionPTP (the low
    /// nibble of octet 1) other than 2, with messageLength under 34 or longer than the
    /// datagram, or whose messageType belongs to the other port. Every one of them would be
    /// dropped in user space anyway (by the transport's length and port check, or by the
    /// engine's header check), so no PTP message is lost; what changes is that junk of this
    /// kind never wakes the process nor takes room in the socket's receive queue, and that it
    /// is not counted in [`crate::TransportCounters`] (the kernel keeps no per-filter count).
    /// `false` attaches no filter unless accepted clocks or sources are set (whose filter
    /// then checks only the length and the port).
    ///
    /// ```
    /// use aptp_transport::SocketConfig;
    /// let config = SocketConfig::new("127.0.0.1".parse().unwrap());
    /// assert!(config.kernel_structure_filter);
    /// assert!(!config.with_kernel_structure_filter(false).kernel_structure_filter);
    /// ```
    pub fn with_kernel_structure_filter(mut self, enabled: bool) -> Self {
        self.kernel_structure_filter = enabled;
        self
    }

    /// The port number of `port`.
    pub fn port_number(&self, port: PortKind) -> u16 {
        match port {
            PortKind::Event => self.event_port,
            PortKind::General => self.general_port,
        }
    }
}
