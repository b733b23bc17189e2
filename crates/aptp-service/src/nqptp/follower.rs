//! What the drop-in needs from the clock it follows, as a small trait, and its implementation
//! on aptp's AirPlay receiver role.
//!
//! The [`Session`](super::Session) policy is written against [`ClockFollower`] so that it can
//! be tested with a scripted follower, and so the role's API can move without touching it.

use std::net::IpAddr;

use aptp::airplay::{AirplayReceiver, GrandmasterInfo};
use aptp_clock::{ClockMapping, Time};

/// The grandmaster being followed, as the drop-in publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowedGrandmaster {
    /// grandmasterIdentity of its Announce, as a big-endian integer (nqptp's
    /// `master_clock_id`).
    pub clock_id: u64,
    /// The timing peer it is reached at.
    pub address: IpAddr,
    /// The local instant (CLOCK_MONOTONIC_RAW) of the first Follow_Up of this mastership;
    /// `None` until one arrived.
    pub mastership_start: Option<Time>,
}

impl From<GrandmasterInfo<IpAddr>> for FollowedGrandmaster {
    fn from(grandmaster: GrandmasterInfo<IpAddr>) -> Self {
        FollowedGrandmaster {
            clock_id: u64::from_be_bytes(grandmaster.identity.0),
            address: grandmaster.address,
            mastership_start: grandmaster.mastership_start,
        }
    }
}

/// A clock follower the drop-in drives: told the timing peers, asked what it follows.
///
/// ```
/// use aptp::airplay::{AirplayReceiver, ReceiverConfig};
/// use aptp_clock::Time;
/// use aptp_service::nqptp::ClockFollower;
/// use aptp_wire::ClockIdentity;
/// let now = Time::from_nanos(1_000);
/// let mut receiver: AirplayReceiver<std::net::IpAddr> =
///     AirplayReceiver::new(ReceiverConfig::new(ClockIdentity([2; 8])), now).unwrap();
/// ClockFollower::set_timing_peers(&mut receiver, now, &["192.0.2.1".parse().unwrap()]);
/// // Nothing announced yet: no grandmaster, no mapping.
/// assert!(ClockFollower::grandmaster(&receiver).is_none());
/// assert!(ClockFollower::mapping(&receiver).is_none());
/// ```
pub trait ClockFollower {
    /// Replaces the timing peers (empty: follow nothing).
    fn set_timing_peers(&mut self, now: Time, peers: &[IpAddr]);
    /// Forgets what was measured so the next measurement locks at once, keeping the peers.
    fn relock(&mut self, now: Time);
    /// The grandmaster followed, if any.
    fn grandmaster(&self) -> Option<FollowedGrandmaster>;
    /// The grandmaster that fell silent and is held, if any: not followed, but its mapping
    /// stands, and it is followed again from where it was if it comes back in time.
    fn held_grandmaster(&self) -> Option<FollowedGrandmaster>;
    /// Whether the grandmaster's clock is stalled (its preciseOriginTimestamps repeat).
    fn stalled(&self) -> bool;
    /// The latest mapping from the local clock to the grandmaster's, if locked.
    fn mapping(&self) -> Option<ClockMapping>;
}

impl ClockFollower for AirplayReceiver<IpAddr> {
    fn set_timing_peers(&mut self, now: Time, peers: &[IpAddr]) {
        AirplayReceiver::set_timing_peers(self, now, peers.iter().copied());
    }

    fn relock(&mut self, now: Time) {
        // Forgets the estimator and the pending exchanges, keeps the grandmaster: the next
        // Sync locks a fresh mapping.
        self.restart_measurement(now);
    }

    fn grandmaster(&self) -> Option<FollowedGrandmaster> {
        AirplayReceiver::grandmaster(self).map(FollowedGrandmaster::from)
    }

    fn held_grandmaster(&self) -> Option<FollowedGrandmaster> {
        AirplayReceiver::held_grandmaster(self).map(FollowedGrandmaster::from)
    }

    fn stalled(&self) -> bool {
        AirplayReceiver::stalled(self)
    }

    fn mapping(&self) -> Option<ClockMapping> {
        AirplayReceiver::mapping(self)
    }
}
