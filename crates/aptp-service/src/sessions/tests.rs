use std::time::{Duration, Instant};

use aptp::client::protocol::{CloseReason, Event, SessionRole};
use aptp::client::SessionClock;

use super::*;
use crate::nqptp::{NqptpReader, NqptpRecord};

fn follower(name: Option<&str>, lease_ms: Option<u64>) -> OpenRequest {
    OpenRequest {
        role: SessionRole::Follower,
        peers: vec!["192.0.2.1".parse().unwrap()],
        name: name.map(str::to_owned),
        lease_ms,
    }
}

fn registry(max_sessions: usize) -> Registry {
    Registry::new(
        RegistryLimits {
            max_sessions,
            ..RegistryLimits::default()
        },
        RecordPolicy::None,
    )
}

#[test]
fn open_renew_close() {
    let mut registry = registry(8);
    let now = Instant::now();
    let (info, events) = registry
        .open(follower(Some("/room"), Some(1_000)), now)
        .unwrap();
    assert_eq!(info.name, "room");
    assert_eq!(info.lease_ms, 1_000);
    assert_eq!(events, vec![Event::Opened(info.clone())]);
    // Renewed at 0.9 s, it outlives its first lease.
    registry
        .renew(info.id, now + Duration::from_millis(900))
        .unwrap();
    assert!(registry
        .expire(now + Duration::from_millis(1_500))
        .is_empty());
    assert_eq!(
        registry.close(info.id).unwrap(),
        Event::Closed {
            session: info.id,
            reason: CloseReason::Closed
        }
    );
    assert_eq!(
        registry.close(info.id),
        Err(SessionError::UnknownSession(info.id))
    );
    assert!(registry.is_empty());
}

#[test]
fn lease_expiry_ends_only_the_silent_session() {
    let mut registry = registry(8);
    let now = Instant::now();
    let (quiet, _) = registry.open(follower(None, Some(200)), now).unwrap();
    let (busy, _) = registry.open(follower(None, Some(200)), now).unwrap();
    registry
        .renew(busy.id, now + Duration::from_millis(150))
        .unwrap();
    let ended = registry.expire(now + Duration::from_millis(250));
    assert_eq!(
        ended,
        vec![Event::Closed {
            session: quiet.id,
            reason: CloseReason::LeaseExpired
        }]
    );
    assert!(registry.get(busy.id).is_some());
    assert_eq!(registry.expired_total(), 1);
    assert_eq!(
        registry.next_expiry(),
        Some(now + Duration::from_millis(350))
    );
}

#[test]
fn capacity_refuses_then_reaps_expired() {
    let mut registry = registry(2);
    let now = Instant::now();
    registry.open(follower(None, Some(100)), now).unwrap();
    registry.open(follower(None, Some(5_000)), now).unwrap();
    assert_eq!(
        registry.open(follower(None, None), now).unwrap_err(),
        SessionError::Capacity(2)
    );
    // Once the short lease ran out, its place is taken and its expiry reported.
    let (info, events) = registry
        .open(follower(None, None), now + Duration::from_millis(100))
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[0],
        Event::Closed {
            reason: CloseReason::LeaseExpired,
            ..
        }
    ));
    assert_eq!(events[1], Event::Opened(info));
    assert_eq!(registry.len(), 2);
}

#[test]
fn bad_requests_change_nothing() {
    let mut registry = registry(8);
    let now = Instant::now();
    for name in ["", "/", "a/b", "..", "nul\0", "tab\there", &"x".repeat(201)] {
        assert!(
            matches!(
                registry.open(follower(Some(name), None), now),
                Err(SessionError::InvalidName(_))
            ),
            "{name:?}"
        );
    }
    assert!(matches!(
        registry.open(follower(None, Some(99)), now),
        Err(SessionError::InvalidLease {
            requested_ms: 99,
            ..
        })
    ));
    let many = OpenRequest {
        peers: vec!["192.0.2.1".parse().unwrap(); MAX_PEERS + 1],
        ..follower(None, None)
    };
    assert_eq!(
        registry.open(many, now).unwrap_err(),
        SessionError::TooManyPeers(MAX_PEERS + 1)
    );
    let (first, _) = registry.open(follower(Some("same"), None), now).unwrap();
    assert_eq!(
        registry
            .open(follower(Some("/same"), None), now)
            .unwrap_err(),
        SessionError::NameInUse {
            name: "same".into(),
            id: first.id
        }
    );
    assert_eq!(registry.len(), 1);
    assert_eq!(registry.opened_total(), 1);
}

#[test]
fn new_peers_forget_the_measured_clock() {
    let mut registry = registry(8);
    let now = Instant::now();
    let (info, _) = registry.open(follower(None, None), now).unwrap();
    let measured = SessionClock {
        offset_ns: Some(42),
        ..SessionClock::default()
    };
    registry.update_clock(info.id, measured.clone()).unwrap();
    assert_eq!(registry.get(info.id).unwrap().clock(), &measured);
    // The same peers again: nothing to forget.
    registry.set_peers(info.id, info.peers.clone()).unwrap();
    assert_eq!(registry.get(info.id).unwrap().clock(), &measured);
    let event = registry.set_peers(info.id, vec![]).unwrap();
    assert_eq!(
        event,
        Event::PeersChanged {
            session: info.id,
            peers: vec![]
        }
    );
    assert_eq!(
        registry.get(info.id).unwrap().clock(),
        &SessionClock::default()
    );
}

#[test]
fn ids_are_never_reused_and_status_lists_oldest_first() {
    let mut registry = registry(8);
    let now = Instant::now();
    let (a, _) = registry.open(follower(None, None), now).unwrap();
    registry.close(a.id).unwrap();
    let (b, _) = registry.open(follower(None, None), now).unwrap();
    let (c, _) = registry
        .open(follower(None, None), now + Duration::from_secs(1))
        .unwrap();
    assert!(b.id > a.id && c.id > b.id);
    let statuses = registry.statuses(now + Duration::from_secs(2));
    assert_eq!(
        statuses.iter().map(|s| s.info.id).collect::<Vec<_>>(),
        vec![b.id, c.id]
    );
    assert_eq!(statuses[0].age_ms, 2_000);
    assert_eq!(statuses[1].lease_remaining_ms, 9_000);
    assert_eq!(registry.close_all().len(), 2);
    assert!(registry.is_empty());
}

#[test]
fn records_live_and_die_with_their_session() {
    let mut registry = Registry::new(RegistryLimits::default(), RecordPolicy::Nqptp);
    let now = Instant::now();
    let name = format!("aptp-test-record-{}", std::process::id());
    let (info, _) = registry
        .open(follower(Some(&name), Some(100)), now)
        .unwrap();
    let shm = info.shm_name.clone().unwrap();
    assert_eq!(shm, format!("/{name}"));
    let record = NqptpRecord {
        master_clock_id: 7,
        local_time: 1,
        ..NqptpRecord::default()
    };
    registry.publish_record(info.id, &record).unwrap();
    assert_eq!(NqptpReader::open(&shm).unwrap().read().unwrap(), record);
    // New peers: the record goes back to "no clock".
    registry.set_peers(info.id, vec![]).unwrap();
    assert_eq!(
        NqptpReader::open(&shm).unwrap().read().unwrap(),
        NqptpRecord::default()
    );
    registry.expire(now + Duration::from_secs(1));
    assert!(
        NqptpReader::open(&shm).is_err(),
        "the record outlived its session"
    );
}

#[test]
fn pinned_sessions_never_expire() {
    let mut registry = registry(8);
    let now = Instant::now();
    let (info, _) = registry
        .open_pinned(follower(Some("nqptp"), None), now)
        .unwrap();
    assert_eq!(info.lease_ms, 0);
    assert_eq!(registry.next_expiry(), None);
    assert!(registry
        .expire(now + Duration::from_secs(365 * 24 * 3600))
        .is_empty());
    assert_eq!(registry.renew(info.id, now).unwrap(), Duration::ZERO);
    assert_eq!(registry.statuses(now)[0].lease_remaining_ms, 0);
    registry.close(info.id).unwrap();
}
