//! The engine's I/O surface: what goes in with a datagram, what comes out to be sent, and the
//! token that pairs a sent event message with its transmit timestamp.

/// Which of the two PTP ports a datagram uses: event messages (Sync, Delay_Req, Pdelay_Req,
/// Pdelay_Resp) need timestamps and go to UDP port 319, general messages to 320.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortKind {
    /// The event port (319 by default).
    Event,
    /// The general port (320 by default).
    General,
}

/// Where a datagram goes. The engine never interprets addresses: a peer is whatever the
/// caller passed as a datagram's source (or listed with [`Engine::set_unicast_peers`]), and
/// the caller maps it with [`Transmit::port`] to a socket address.
///
/// [`Engine::set_unicast_peers`]: super::Engine::set_unicast_peers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Destination<A> {
    /// The PTP primary multicast group (224.0.1.129, FF0E::181).
    Multicast,
    /// The peer delay multicast group (224.0.0.107, FF02::6B).
    PeerDelayMulticast,
    /// One peer.
    Unicast(A),
}

/// Pairs one sent event message with exactly one transmit timestamp: the caller hands it back
/// with [`Engine::handle_transmit_timestamp`](super::Engine::handle_transmit_timestamp).
/// It is neither `Clone` nor `Copy`, so a timestamp cannot be reported twice by mistake.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TransmitToken(pub(crate) u64);

impl TransmitToken {
    /// The token's number, for logs. Tokens are issued in increasing order.
    pub fn id(&self) -> u64 {
        self.0
    }
}

/// A datagram the caller must send.
#[derive(Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// To whom.
    pub destination: Destination<A>,
    /// From and to which port.
    pub port: PortKind,
    /// The PTP message, complete.
    pub bytes: Vec<u8>,
    /// For event messages: hand the transmit timestamp back with this token.
    pub timestamp_token: Option<TransmitToken>,
}

/// Why a received datagram (or part of the engine's work) was dropped. Every drop is counted
/// in [`Counters`]; none changes the port's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a valid PTP message under strict validation (truncated, bad version, bad length,
    /// bad TLVs, reserved message type, nanoseconds out of range...).
    Malformed,
    /// A domainNumber other than the configured one.
    WrongDomain,
    /// A majorSdoId (transportSpecific) other than the configured one.
    WrongSdoId,
    /// A message this port sent itself (looped back by multicast).
    FromSelf,
    /// A message on the wrong port kind (an event message on the general port or back).
    WrongPort,
    /// A message type this port does not handle in its current state or configuration
    /// (Delay_Req to a slave, Pdelay messages with E2E, Management, Signaling...).
    NotExpected,
    /// Sync, Follow_Up or Delay_Resp from a port that is not the selected master.
    NotFromMaster,
    /// A response that matches no outstanding request (Delay_Resp, Pdelay_Resp, Follow_Up
    /// whose Sync never came and was expired).
    Unmatched,
    /// The same message received again.
    Duplicate,
    /// A Sync exchange older than one already used (reordered on the way).
    OutOfOrder,
    /// The foreign master table is full of qualified masters.
    ForeignMasterTableFull,
    /// An Announce that this port does not consider (masterOnly, or its own).
    AnnounceIgnored,
    /// An Announce from a master not in the acceptable master table.
    NotAcceptable,
    /// The port is FAULTY, DISABLED or INITIALIZING.
    PortInactive,
    /// The transmit queue was full.
    TransmitQueueFull,
    /// A pending exchange was pushed out of its full table.
    PendingTableFull,
    /// A sent event message never got its transmit timestamp.
    TransmitTimestampMissing,
    /// A transmit timestamp for a token that is no longer pending.
    UnknownTransmitToken,
    /// A measurement the estimator refused (implausible or inconsistent numbers).
    MeasurementRejected,
    /// Another port's exchange seen on the multicast group (another slave's Delay_Req, the
    /// master's Delay_Resp or a Pdelay response to another port): normal traffic, not an
    /// error ([`DropReason::is_benign`]).
    OtherPortsExchange,
    /// A Delay_Req or Pdelay_Req beyond the per-source answer rate
    /// ([`Config::answer_rate_limit_per_s`](super::Config::answer_rate_limit_per_s)).
    RateLimited,
    /// A request that would be answered by unicast with more bytes than it carried, from a
    /// source that is neither a configured peer nor the selected master: refused, so the
    /// port cannot be used to amplify a spoofed source's traffic.
    AmplificationRefused,
}

impl DropReason {
    /// Every reason, in the order of [`Counters::dropped`].
    pub const ALL: [DropReason; 22] = [
        DropReason::Malformed,
        DropReason::WrongDomain,
        DropReason::WrongSdoId,
        DropReason::FromSelf,
        DropReason::WrongPort,
        DropReason::NotExpected,
        DropReason::NotFromMaster,
        DropReason::Unmatched,
        DropReason::Duplicate,
        DropReason::OutOfOrder,
        DropReason::ForeignMasterTableFull,
        DropReason::AnnounceIgnored,
        DropReason::NotAcceptable,
        DropReason::PortInactive,
        DropReason::TransmitQueueFull,
        DropReason::PendingTableFull,
        DropReason::TransmitTimestampMissing,
        DropReason::UnknownTransmitToken,
        DropReason::MeasurementRejected,
        DropReason::OtherPortsExchange,
        DropReason::RateLimited,
        DropReason::AmplificationRefused,
    ];

    pub(crate) fn index(self) -> usize {
        // Invariant: ALL lists every variant once, so the position always exists.
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// A short snake_case name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::WrongDomain => "wrong_domain",
            DropReason::WrongSdoId => "wrong_sdo_id",
            DropReason::FromSelf => "from_self",
            DropReason::WrongPort => "wrong_port",
            DropReason::NotExpected => "not_expected",
            DropReason::NotFromMaster => "not_from_master",
            DropReason::Unmatched => "unmatched",
            DropReason::Duplicate => "duplicate",
            DropReason::OutOfOrder => "out_of_order",
            DropReason::ForeignMasterTableFull => "foreign_master_table_full",
            DropReason::AnnounceIgnored => "announce_ignored",
            DropReason::NotAcceptable => "not_acceptable",
            DropReason::PortInactive => "port_inactive",
            DropReason::TransmitQueueFull => "transmit_queue_full",
            DropReason::PendingTableFull => "pending_table_full",
            DropReason::TransmitTimestampMissing => "transmit_timestamp_missing",
            DropReason::UnknownTransmitToken => "unknown_transmit_token",
            DropReason::MeasurementRejected => "measurement_rejected",
            DropReason::OtherPortsExchange => "other_ports_exchange",
            DropReason::RateLimited => "rate_limited",
            DropReason::AmplificationRefused => "amplification_refused",
        }
    }

    /// True for drops that are normal traffic rather than a problem (another slave's
    /// exchange on the multicast group, our own looped-back multicast): a summary of
    /// problems can leave them out.
    ///
    /// ```
    /// use aptp::engine::DropReason;
    /// assert!(DropReason::OtherPortsExchange.is_benign());
    /// assert!(!DropReason::Malformed.is_benign());
    /// ```
    pub fn is_benign(self) -> bool {
        matches!(self, DropReason::OtherPortsExchange | DropReason::FromSelf)
    }
}

/// What the engine has received, sent and dropped since it was made.
///
/// ```
/// use aptp::engine::{Counters, DropReason};
/// let counters = Counters::default();
/// assert_eq!(counters.dropped(DropReason::Malformed), 0);
/// assert_eq!(counters.total_dropped(), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams handed to the engine.
    pub received: u64,
    /// Datagrams accepted and acted upon.
    pub accepted: u64,
    /// Datagrams returned by `poll_transmit`.
    pub sent: u64,
    /// Measurements fed to the estimator.
    pub measurements: u64,
    /// Events dropped because the event queue was full (oldest first).
    pub events_lost: u64,
    /// Restarts of the followed master recognised from its Sync sequenceIds
    /// ([`Event::MasterRestarted`](super::Event::MasterRestarted)).
    pub master_restarts: u64,
    /// Calls far later than the wake-up asked for ([`Event::Stalled`](super::Event::Stalled)).
    pub stalls: u64,
    dropped: [u64; DropReason::ALL.len()],
}

impl Counters {
    /// Drops counted for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    /// Drops counted for every reason together.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Each reason with its count, reasons never seen included.
    pub fn dropped_by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (*r, self.dropped(*r)))
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) -> u64 {
        let slot = &mut self.dropped[reason.index()];
        *slot = slot.saturating_add(1);
        *slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter_and_name() {
        let mut counters = Counters::default();
        for (n, reason) in DropReason::ALL.iter().enumerate() {
            for _ in 0..=n {
                counters.count_drop(*reason);
            }
        }
        for (n, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(counters.dropped(*reason), n as u64 + 1);
        }
        let names: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), DropReason::ALL.len());
        assert_eq!(
            counters.total_dropped(),
            (1..=DropReason::ALL.len() as u64).sum::<u64>()
        );
    }
}
