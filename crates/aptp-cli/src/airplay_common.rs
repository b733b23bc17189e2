//! What `aptp airplay-sender` and `aptp airplay-receiver` (and the nqptp drop-in's lines)
//! share: socket options, the clock identity and the master column.

use std::net::IpAddr;

use aptp::airplay::runtime::PeerPorts;
use aptp::airplay::runtime::{PtpSocket, SocketConfig, TimestampClock, TransportError};
use aptp_wire::ClockIdentity;

/// Socket options of the AirPlay roles.
#[derive(Debug, clap::Args)]
pub struct SocketArgs {
    /// Local address to bind (its family picks IPv4 or IPv6).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Bind to this network interface only.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,

    /// Local event port (PTP's is 319; another lets aptp run beside another PTP daemon; 0:
    /// any free one).
    #[arg(long, value_name = "N", default_value_t = 319)]
    pub event_port: u16,

    /// Local general port (PTP's is 320; 0: any free one).
    #[arg(long, value_name = "N", default_value_t = 320)]
    pub general_port: u16,

    /// The peers' event port.
    #[arg(long, value_name = "N", default_value_t = 319)]
    pub peer_event_port: u16,

    /// The peers' general port.
    #[arg(long, value_name = "N", default_value_t = 320)]
    pub peer_general_port: u16,

    /// This clock's identity (dotted `001122.fffe.334455` or 16 hex digits); default: from the
    /// process id and the time.
    #[arg(long, value_name = "CLOCK_ID")]
    pub clock_id: Option<ClockIdentity>,
}

/// The clock named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalClock {
    /// CLOCK_REALTIME.
    Realtime,
    /// CLOCK_MONOTONIC_RAW (what nqptp publishes and audio players compare against).
    Monotonic,
}

impl LocalClock {
    /// The transport's clock.
    pub fn timestamp_clock(self) -> TimestampClock {
        match self {
            LocalClock::Realtime => TimestampClock::Realtime,
            LocalClock::Monotonic => TimestampClock::MonotonicRaw,
        }
    }

    /// The name JSON lines print.
    pub fn name(self) -> &'static str {
        match self {
            LocalClock::Realtime => "realtime",
            LocalClock::Monotonic => "monotonic",
        }
    }
}

impl SocketArgs {
    /// Binds the two sockets. With `peers`, datagrams from other addresses are refused in the
    /// kernel (a socket filter), so a flood from elsewhere never fills the sockets' queues.
    pub fn bind(&self, clock: LocalClock, peers: &[IpAddr]) -> Result<PtpSocket, TransportError> {
        let mut config = SocketConfig::new(self.bind)
            .with_ports(self.event_port, self.general_port)
            .with_clock(clock.timestamp_clock())
            .with_accepted_sources(peers.iter().copied());
        if let Some(interface) = &self.interface {
            config = config.with_interface(interface.clone());
        }
        PtpSocket::bind(config)
    }

    /// The peers' ports.
    pub fn peer_ports(&self) -> PeerPorts {
        PeerPorts {
            event: self.peer_event_port,
            general: self.peer_general_port,
        }
    }

    /// The configured clock identity, or one made from the process id and the time (the
    /// locally administered bit set, ending 00 08 as Apple's do).
    pub fn clock_identity(&self) -> ClockIdentity {
        if let Some(identity) = self.clock_id {
            return identity;
        }
        let pid = std::process::id().to_be_bytes();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            .to_be_bytes();
        ClockIdentity([
            0x02, pid[2], pid[3], nanos[1], nanos[2], nanos[3], 0x00, 0x08,
        ])
    }
}

/// Nanoseconds of a time, saturating into `i64` for JSON.
pub fn nanos(time: aptp_clock::Time) -> i64 {
    i64::try_from(time.nanos_rounded()).unwrap_or(i64::MAX)
}

/// The text lines' master column: the grandmaster followed, or the held one marked so.
pub(crate) fn master_column(master: Option<&str>, held: Option<&str>) -> String {
    match (master, held) {
        (Some(master), _) => master.to_owned(),
        (None, Some(held)) => format!("{held} (held)"),
        (None, None) => "-".to_owned(),
    }
}
