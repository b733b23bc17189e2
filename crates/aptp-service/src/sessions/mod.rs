//! The daemon's sessions: who asked for what, for how long.
//!
//! A [`Registry`] holds every live session under its id with a lease: the session ends when a
//! client closes it or when its lease runs out ([`Registry::expire`]). It is sans-IO: every
//! call that depends on time takes `now`, so leases are tested in virtual time. Records and
//! backends that a session owns live inside its [`Session`] and are dropped with it, so
//! nothing outlives the session.
//!
//! Capacity policy: at most [`RegistryLimits::max_sessions`] live sessions. An `open` beyond
//! that first ends the sessions whose leases have run out; if none has, it is refused with
//! [`SessionError::Capacity`]. A live session is never evicted to make room.

mod limits;
mod record;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use aptp::client::protocol::{
    CloseReason, ErrorCode, Event, SessionId, SessionInfo, SessionRole, MAX_NAME_BYTES, MAX_PEERS,
};
use aptp::client::{SessionClock, SessionStatus};
use thiserror::Error;

pub use limits::RegistryLimits;
pub use record::RecordPolicy;
use record::SessionRecord;

/// Why a session request was refused. Nothing changed in the registry.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// No live session has that id.
    #[error("no live session {0} (closed, expired or never opened)")]
    UnknownSession(SessionId),
    /// The registry is full of live sessions.
    #[error("the daemon already holds its maximum of {0} sessions")]
    Capacity(usize),
    /// The name cannot name a session (and its shared-memory record).
    #[error("invalid session name {0:?}: 1 to 200 bytes, no '/' after the first, no NUL")]
    InvalidName(String),
    /// A live session already has the name.
    #[error("a live session ({id}) is already named {name:?}")]
    NameInUse {
        /// The name.
        name: String,
        /// The session that has it.
        id: SessionId,
    },
    /// Too many peers.
    #[error("{0} peers named; a session may have at most {MAX_PEERS}")]
    TooManyPeers(usize),
    /// The lease is outside the bounds.
    #[error("lease of {requested_ms} ms is outside {min_ms}..={max_ms} ms")]
    InvalidLease {
        /// What was asked.
        requested_ms: u64,
        /// The shortest allowed.
        min_ms: u64,
        /// The longest allowed.
        max_ms: u64,
    },
    /// The session's shared-memory record could not be created.
    #[error("cannot create the session's record: {0}")]
    Record(String),
}

impl SessionError {
    /// The protocol's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SessionError::UnknownSession(_) => ErrorCode::UnknownSession,
            SessionError::Capacity(_) => ErrorCode::Capacity,
            SessionError::InvalidName(_) => ErrorCode::InvalidName,
            SessionError::NameInUse { .. } => ErrorCode::NameInUse,
            SessionError::TooManyPeers(_) => ErrorCode::TooManyPeers,
            SessionError::InvalidLease { .. } => ErrorCode::InvalidLease,
            SessionError::Record(_) => ErrorCode::Internal,
        }
    }
}

/// What opening a session asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    /// Follower or grandmaster.
    pub role: SessionRole,
    /// Its timing peers.
    pub peers: Vec<IpAddr>,
    /// Its name; None: `aptp-<pid>-<id>`.
    pub name: Option<String>,
    /// Its lease; None: the registry's default.
    pub lease_ms: Option<u64>,
}

/// One live session.
#[derive(Debug)]
pub struct Session {
    info: SessionInfo,
    opened_at: Instant,
    /// None: pinned (no lease; ends when closed or when the daemon stops).
    lease: Option<Duration>,
    lease_expires_at: Option<Instant>,
    clock: SessionClock,
    record: Option<SessionRecord>,
}

impl Session {
    /// What the session is.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Its clock as last reported by its backend.
    pub fn clock(&self) -> &SessionClock {
        &self.clock
    }

    /// When its lease runs out (None: pinned, it has no lease).
    pub fn lease_expires_at(&self) -> Option<Instant> {
        self.lease_expires_at
    }

    fn status(&self, now: Instant) -> SessionStatus {
        SessionStatus {
            info: self.info.clone(),
            age_ms: millis(now.saturating_duration_since(self.opened_at)),
            lease_remaining_ms: self
                .lease_expires_at
                .map_or(0, |expires| millis(expires.saturating_duration_since(now))),
            clock: self.clock.clone(),
        }
    }
}

/// Every live session, with leases and a bounded capacity.
///
/// ```
/// use std::time::{Duration, Instant};
/// use aptp::client::SessionRole;
/// use aptp_service::sessions::{OpenRequest, RecordPolicy, Registry, RegistryLimits};
///
/// let mut registry = Registry::new(RegistryLimits::default(), RecordPolicy::None);
/// let now = Instant::now();
/// let (info, _events) = registry
///     .open(OpenRequest { role: SessionRole::Follower, peers: vec![], name: None, lease_ms: Some(1_000) }, now)
///     .unwrap();
/// assert_eq!(registry.len(), 1);
/// // Nobody renews: two seconds later the lease has run out.
/// let ended = registry.expire(now + Duration::from_secs(2));
/// assert_eq!(ended.len(), 1);
/// assert!(registry.is_empty());
/// # let _ = info;
/// ```
#[derive(Debug)]
pub struct Registry {
    limits: RegistryLimits,
    records: RecordPolicy,
    sessions: BTreeMap<SessionId, Session>,
    next_id: SessionId,
    opened_total: u64,
    expired_total: u64,
}

impl Registry {
    /// An empty registry.
    pub fn new(limits: RegistryLimits, records: RecordPolicy) -> Registry {
        Registry {
            limits,
            records,
            sessions: BTreeMap::new(),
            next_id: 1,
            opened_total: 0,
            expired_total: 0,
        }
    }

    /// Its limits.
    pub fn limits(&self) -> &RegistryLimits {
        &self.limits
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// No session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Sessions opened since the registry was made.
    pub fn opened_total(&self) -> u64 {
        self.opened_total
    }

    /// Sessions ended by lease expiry since the registry was made.
    pub fn expired_total(&self) -> u64 {
        self.expired_total
    }

    /// The session `id`, if live.
    pub fn get(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// The session named `name`, if live.
    pub fn find_by_name(&self, name: &str) -> Option<&Session> {
        self.sessions
            .values()
            .find(|session| session.info.name == name)
    }

    /// Opens a session; returns it and the events to publish (expiries made room first, then
    /// the opening).
    pub fn open(
        &mut self,
        request: OpenRequest,
        now: Instant,
    ) -> Result<(SessionInfo, Vec<Event>), SessionError> {
        let lease = self.limits.lease(request.lease_ms)?;
        self.open_with(request, Some(lease), now)
    }

    /// Opens a pinned session: no lease, it ends only when closed (or the daemon stops). For
    /// the sessions nqptp's control protocol creates: Shairport Sync renews nothing. Its
    /// `lease_ms` reads 0.
    pub fn open_pinned(
        &mut self,
        request: OpenRequest,
        now: Instant,
    ) -> Result<(SessionInfo, Vec<Event>), SessionError> {
        self.open_with(request, None, now)
    }

    fn open_with(
        &mut self,
        request: OpenRequest,
        lease: Option<Duration>,
        now: Instant,
    ) -> Result<(SessionInfo, Vec<Event>), SessionError> {
        check_peers(&request.peers)?;
        if let Some(name) = &request.name {
            check_name(name)?;
        }
        let mut events = Vec::new();
        if self.sessions.len() >= self.limits.max_sessions {
            events.extend(self.expire(now));
            if self.sessions.len() >= self.limits.max_sessions {
                return Err(SessionError::Capacity(self.limits.max_sessions));
            }
        }
        let id = self.next_id;
        let name = match request.name {
            // "/kitchen" and "kitchen" name the same record: keep the bare form.
            Some(name) => name.strip_prefix('/').unwrap_or(&name).to_owned(),
            None => format!("aptp-{}-{id}", std::process::id()),
        };
        if let Some(holder) = self.find_by_name(&name) {
            return Err(SessionError::NameInUse {
                name,
                id: holder.info.id,
            });
        }
        let record = self.records.create(&name)?;
        self.next_id += 1;
        self.opened_total += 1;
        let info = SessionInfo {
            id,
            role: request.role,
            name,
            peers: request.peers,
            lease_ms: lease.map_or(0, millis),
            shm_name: record.as_ref().map(|record| record.name().to_owned()),
        };
        self.sessions.insert(
            id,
            Session {
                info: info.clone(),
                opened_at: now,
                lease,
                lease_expires_at: lease.map(|lease| now + lease),
                clock: SessionClock::default(),
                record,
            },
        );
        events.push(Event::Opened(info.clone()));
        Ok((info, events))
    }

    /// Replaces a session's peers; returns the event to publish.
    pub fn set_peers(&mut self, id: SessionId, peers: Vec<IpAddr>) -> Result<Event, SessionError> {
        check_peers(&peers)?;
        let session = self.live_mut(id)?;
        if session.info.peers != peers {
            // New peers: whatever was measured from the old ones no longer holds.
            session.clock = SessionClock::default();
            if let Some(record) = &session.record {
                record.clear();
            }
        }
        session.info.peers = peers.clone();
        Ok(Event::PeersChanged { session: id, peers })
    }

    /// Renews a session's lease from `now`; returns the lease (zero for a pinned session).
    pub fn renew(&mut self, id: SessionId, now: Instant) -> Result<Duration, SessionError> {
        let session = self.live_mut(id)?;
        session.lease_expires_at = session.lease.map(|lease| now + lease);
        Ok(session.lease.unwrap_or_default())
    }

    /// Closes a session; returns the event to publish. Its record is removed.
    pub fn close(&mut self, id: SessionId) -> Result<Event, SessionError> {
        self.sessions
            .remove(&id)
            .ok_or(SessionError::UnknownSession(id))?;
        Ok(Event::Closed {
            session: id,
            reason: CloseReason::Closed,
        })
    }

    /// Ends every session whose lease ran out by `now`; returns an event for each.
    pub fn expire(&mut self, now: Instant) -> Vec<Event> {
        let expired: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|session| {
                session
                    .lease_expires_at
                    .is_some_and(|expires| expires <= now)
            })
            .map(|session| session.info.id)
            .collect();
        self.expired_total += expired.len() as u64;
        expired
            .into_iter()
            .map(|id| {
                self.sessions.remove(&id);
                Event::Closed {
                    session: id,
                    reason: CloseReason::LeaseExpired,
                }
            })
            .collect()
    }

    /// Ends every session (the daemon is stopping); returns an event for each.
    pub fn close_all(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.sessions)
            .into_keys()
            .map(|id| Event::Closed {
                session: id,
                reason: CloseReason::DaemonStopping,
            })
            .collect()
    }

    /// When the next lease runs out, if any session is live.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.sessions
            .values()
            .filter_map(|session| session.lease_expires_at)
            .min()
    }

    /// Sets a session's clock as its backend measured it; returns the event to publish.
    pub fn update_clock(
        &mut self,
        id: SessionId,
        clock: SessionClock,
    ) -> Result<Event, SessionError> {
        let session = self.live_mut(id)?;
        session.clock = clock.clone();
        Ok(Event::Clock { session: id, clock })
    }

    /// Publishes `record` in the session's shared-memory record (when it has one).
    pub fn publish_record(
        &mut self,
        id: SessionId,
        record: &crate::nqptp::NqptpRecord,
    ) -> Result<(), SessionError> {
        if let Some(shared) = &self.live_mut(id)?.record {
            shared.publish(record);
        }
        Ok(())
    }

    /// The status of every live session, oldest first.
    pub fn statuses(&self, now: Instant) -> Vec<SessionStatus> {
        self.sessions
            .values()
            .map(|session| session.status(now))
            .collect()
    }

    fn live_mut(&mut self, id: SessionId) -> Result<&mut Session, SessionError> {
        self.sessions
            .get_mut(&id)
            .ok_or(SessionError::UnknownSession(id))
    }
}

fn check_peers(peers: &[IpAddr]) -> Result<(), SessionError> {
    if peers.len() > MAX_PEERS {
        return Err(SessionError::TooManyPeers(peers.len()));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), SessionError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let valid = !bare.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !bare.contains('/')
        && !bare.contains('\0')
        && bare != "."
        && bare != ".."
        && !bare.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(SessionError::InvalidName(name.to_owned()))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
