//! A follower session that follows a grandmaster session of the same daemon takes that
//! session's clock directly instead of measuring it over the network.
//!
//! A grandmaster session's timescale is this host's CLOCK_MONOTONIC_RAW (offset zero, rate
//! exact), and a follower's mapping is to the same clock, so the exact mapping is known without
//! a single datagram: offset 0, rate 0 ppb, error bound 0. Measured over loopback instead it
//! would carry the user-space timestamping error of both ends (a few hundred ns).
//!
//! Which grandmaster session, if any (decided afresh at each write-back, so a changed peer
//! list or a closed session switches back to network PTP at once):
//!
//! 1. once the follower's election has chosen a grandmaster, the grandmaster session with that
//!    clock identity (none: a remote grandmaster leads, network PTP);
//! 2. before any election, when one of the follower's peers is an address of this host: the
//!    oldest grandmaster session that serves an address of this host (a local sender that
//!    names the local player among its peers). A grandmaster session serving only other
//!    machines is not taken on a guess; its Announce will decide by rule 1.

use std::net::IpAddr;

use aptp::client::protocol::SessionId;
use aptp::client::SessionClock;
use aptp_clock::Time;
use aptp_wire::ClockIdentity;

use super::backends::{snapshot, Backend, Role};
use super::interfaces::LocalAddresses;
use crate::nqptp::NqptpRecord;

/// A grandmaster session as a local follower may take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LocalGrandmaster {
    /// The grandmaster session.
    pub(super) session: SessionId,
    /// Its clock identity as a big-endian integer (SETRATEANCHORTIME's timeline id).
    pub(super) timeline_id: u64,
    /// One of its peers is an address of this host.
    pub(super) serves_this_host: bool,
    /// When it last sent a Sync.
    pub(super) last_sync: Option<Time>,
    /// When it last sent a Follow_Up.
    pub(super) last_follow_up: Option<Time>,
}

/// The grandmaster session a follower with `peers` and elected grandmaster `elected` (its
/// timeline id) takes its clock from, if any (`grandmasters` oldest first).
pub(super) fn choose_local_grandmaster(
    peers: &[IpAddr],
    elected: Option<u64>,
    grandmasters: &[LocalGrandmaster],
    local: &LocalAddresses,
) -> Option<LocalGrandmaster> {
    if peers.is_empty() {
        return None;
    }
    match elected {
        Some(timeline_id) => grandmasters
            .iter()
            .find(|gm| gm.timeline_id == timeline_id)
            .copied(),
        None if peers.iter().any(|peer| local.is_local(*peer)) => {
            grandmasters.iter().find(|gm| gm.serves_this_host).copied()
        }
        None => None,
    }
}

/// A follower's clock and record taken from the grandmaster session `gm`, followed since
/// `since`: offset and rate exact.
pub(super) fn local_snapshot(
    backend: &Backend,
    gm: LocalGrandmaster,
    since: Time,
    now: Time,
) -> (SessionClock, NqptpRecord) {
    let network = snapshot(backend, now).0;
    let age_ms = |at: Option<Time>| {
        at.and_then(|at| u64::try_from(now.since(at).nanos_rounded() / 1_000_000).ok())
    };
    let clock = SessionClock {
        grandmaster: Some(
            ClockIdentity(gm.timeline_id.to_be_bytes())
                .dotted()
                .to_string(),
        ),
        local_time_ns: u64::try_from(now.nanos_rounded()).ok(),
        offset_ns: Some(0),
        rate_ppb: Some(0.0),
        error_bound_ns: Some(0),
        last_sync_age_ms: age_ms(gm.last_sync),
        last_follow_up_age_ms: age_ms(gm.last_follow_up),
        drops: network.drops,
        local_grandmaster: Some(gm.session),
        holdover: false,
    };
    // The nqptp policy still decides whether the record is published (a control-protocol
    // session publishes only while playing); the mapping itself needs no refresh, so the
    // record stays as written at `since`.
    let publish = match &backend.role {
        Role::Follower { policy, .. } => policy.playing() && !backend.peers.is_empty(),
        Role::Grandmaster { .. } => false,
    };
    let since_ns = since.nanos_rounded() as u64;
    let record = if publish {
        NqptpRecord {
            master_clock_id: gm.timeline_id,
            local_time: since_ns,
            local_to_master_time_offset: 0,
            master_clock_start_time: since_ns,
        }
    } else {
        NqptpRecord::default()
    };
    (clock, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn gm(session: SessionId, timeline_id: u64, serves_this_host: bool) -> LocalGrandmaster {
        LocalGrandmaster {
            session,
            timeline_id,
            serves_this_host,
            last_sync: None,
            last_follow_up: None,
        }
    }

    #[test]
    fn the_elected_identity_decides_once_known() {
        let host = LocalAddresses::from_pairs([("eth0", ip("192.0.2.5"))]);
        let grandmasters = [gm(1, 0xaa, false), gm(2, 0xbb, true)];
        let remote = [ip("192.0.2.20")];
        // A remote peer whose Announce named our session 1 (it relays it, or lists it).
        assert_eq!(
            choose_local_grandmaster(&remote, Some(0xaa), &grandmasters, &host),
            Some(grandmasters[0])
        );
        // A remote grandmaster leads: network PTP, even with a local peer listed.
        let mixed = [ip("192.0.2.20"), ip("192.0.2.5")];
        assert_eq!(
            choose_local_grandmaster(&mixed, Some(0xcc), &grandmasters, &host),
            None
        );
    }

    #[test]
    fn before_an_election_a_local_peer_takes_the_session_serving_this_host() {
        let host = LocalAddresses::from_pairs([("eth0", ip("2001:db8::5"))]);
        let grandmasters = [gm(1, 0xaa, false), gm(2, 0xbb, true), gm(3, 0xcc, true)];
        for peer in ["127.0.0.1", "::1", "2001:db8::5", "2001:DB8:0::5"] {
            assert_eq!(
                choose_local_grandmaster(&[ip(peer)], None, &grandmasters, &host),
                Some(grandmasters[1]),
                "{peer}"
            );
        }
        // Only sessions serving other machines: no guess.
        assert_eq!(
            choose_local_grandmaster(&[ip("127.0.0.1")], None, &grandmasters[..1], &host),
            None
        );
        // No local peer, or no peer at all: network PTP.
        assert_eq!(
            choose_local_grandmaster(&[ip("192.0.2.20")], None, &grandmasters, &host),
            None
        );
        assert_eq!(
            choose_local_grandmaster(&[], None, &grandmasters, &host),
            None
        );
    }
}
