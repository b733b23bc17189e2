//! What a [`Node`](super::Node) is started with: its role, where it listens, its engine
//! configuration and its local clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aptp_transport::{PTP_EVENT_PORT, PTP_GENERAL_PORT};
use aptp_wire::ClockIdentity;

use super::LocalClock;
use crate::engine::Config;

/// Which part a node plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Follows the best master it hears and never serves (`slaveOnly 1`).
    Slave,
    /// Always serves, never follows (`masterOnly 1`).
    Master,
    /// The BMCA decides, as the [`Config`] says (ptp4l's behaviour without `slaveOnly`).
    Automatic,
}

impl Role {
    /// `config` with this role's `slave_only` / `master_only` applied.
    ///
    /// ```
    /// use aptp::engine::Config;
    /// use aptp::runtime::Role;
    /// let config = Role::Slave.apply(Config { master_only: true, ..Config::default() });
    /// assert!(config.slave_only && !config.master_only);
    /// assert_eq!(Role::Automatic.apply(Config::default()), Config::default());
    /// ```
    pub fn apply(self, mut config: Config) -> Config {
        match self {
            Role::Slave => {
                config.slave_only = true;
                config.master_only = false;
            }
            Role::Master => {
                config.master_only = true;
                config.slave_only = false;
            }
            Role::Automatic => {}
        }
        config
    }
}

/// Where a node listens.
///
/// ```
/// use aptp::runtime::Network;
/// let multicast = Network::Interface { name: "eth0".into(), ipv6: true };
/// assert_eq!(multicast.bind_address().to_string(), "::");
/// let unicast = Network::Bind("192.0.2.7".parse().unwrap());
/// assert_eq!(unicast.bind_address().to_string(), "192.0.2.7");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Network {
    /// On a network interface, with multicast (as ptp4l -i): binds the wildcard address of
    /// the family, joins the PTP groups on the interface.
    Interface {
        /// The interface's name (`eth0`).
        name: String,
        /// IPv6 (`UDPv6`) instead of IPv4.
        ipv6: bool,
    },
    /// On one local address, unicast: a master serves its
    /// [`unicast_peers`](NodeOptions::unicast_peers); a slave answers whoever announces to it.
    Bind(IpAddr),
}

impl Network {
    /// The address the sockets bind.
    pub fn bind_address(&self) -> IpAddr {
        match self {
            Network::Interface { ipv6: false, .. } => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Network::Interface { ipv6: true, .. } => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            Network::Bind(address) => *address,
        }
    }
}

/// Everything [`Node::start`](super::Node::start) needs. Build with [`NodeOptions::new`] and
/// the `with_*` methods.
///
/// ```
/// use aptp::engine::Config;
/// use aptp::runtime::{LocalClock, Network, NodeOptions, Role};
/// let options = NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse().unwrap()))
///     .with_config(Config { log_sync_interval: -3, ..Config::default() })
///     .with_ports(0, 0)
///     .with_unicast_peers(["127.0.0.2".parse().unwrap()])
///     .with_local_clock(LocalClock::Monotonic);
/// assert_eq!(options.event_port, 0);
/// assert!(options.engine_config().master_only);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOptions {
    /// Slave, master or automatic.
    pub role: Role,
    /// Where to listen.
    pub network: Network,
    /// The engine configuration (linuxptp names and defaults); the role overrides
    /// `slave_only` / `master_only`.
    pub config: Config,
    /// The clock every timestamp is read on. Default realtime.
    pub local_clock: LocalClock,
    /// The event port (319; 0 lets the system choose, and then every peer must use the
    /// ports the node reports in [`Node::local_addr`](super::Node::local_addr)).
    pub event_port: u16,
    /// The general port (320).
    pub general_port: u16,
    /// Peers served by unicast (as master) instead of the multicast group.
    pub unicast_peers: Vec<IpAddr>,
    /// This clock's identity; by default the interface's MAC as an EUI-64, else random.
    pub clock_identity: Option<ClockIdentity>,
}

impl NodeOptions {
    /// Linuxptp defaults, PTP's ports, the realtime clock, no unicast peers.
    pub fn new(role: Role, network: Network) -> Self {
        NodeOptions {
            role,
            network,
            config: Config::default(),
            local_clock: LocalClock::default(),
            event_port: PTP_EVENT_PORT,
            general_port: PTP_GENERAL_PORT,
            unicast_peers: Vec::new(),
            clock_identity: None,
        }
    }

    /// Uses `config` for the engine.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Reads timestamps on `local_clock`.
    pub fn with_local_clock(mut self, local_clock: LocalClock) -> Self {
        self.local_clock = local_clock;
        self
    }

    /// Uses these UDP ports instead of 319/320 (unprivileged operation).
    pub fn with_ports(mut self, event_port: u16, general_port: u16) -> Self {
        self.event_port = event_port;
        self.general_port = general_port;
        self
    }

    /// Serves these peers by unicast.
    pub fn with_unicast_peers(mut self, peers: impl IntoIterator<Item = IpAddr>) -> Self {
        self.unicast_peers = peers.into_iter().collect();
        self
    }

    /// Uses this clock identity.
    pub fn with_clock_identity(mut self, clock_identity: ClockIdentity) -> Self {
        self.clock_identity = Some(clock_identity);
        self
    }

    /// The engine configuration with the role applied. On [`LocalClock::Realtime`] the
    /// ptpTimescale flag is cleared: CLOCK_REALTIME is UTC, and a master announcing the PTP
    /// timescale (TAI) with its UTC time would put its slaves `currentUtcOffset` (37 s) off.
    /// ptp4l with software timestamps does the same (it announces the arbitrary timescale).
    /// For the same reason `local_timescale_is_utc` is set there: following a master on the
    /// PTP timescale, its time is taken as TAI − currentUtcOffset (UTC), as ptp4l does.
    ///
    /// ```
    /// use aptp::runtime::{LocalClock, Network, NodeOptions, Role};
    /// let options = NodeOptions::new(Role::Master, Network::Bind("127.0.0.1".parse().unwrap()));
    /// assert!(!options.engine_config().ptp_timescale);
    /// assert!(options.engine_config().local_timescale_is_utc);
    /// let options = options.with_local_clock(LocalClock::MonotonicRaw);
    /// assert!(options.engine_config().ptp_timescale);
    /// assert!(!options.engine_config().local_timescale_is_utc);
    /// ```
    pub fn engine_config(&self) -> Config {
        let mut config = self.role.apply(self.config.clone());
        if self.local_clock == LocalClock::Realtime {
            config.ptp_timescale = false;
            config.local_timescale_is_utc = true;
        }
        config
    }
}
