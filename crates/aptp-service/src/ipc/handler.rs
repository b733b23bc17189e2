//! Carrying out one request against the daemon's state.

use std::time::Instant;

use aptp::client::protocol::{
    ErrorCode, ErrorReply, MappingReply, Outcome, Reply, Request, SessionId,
};

use crate::daemon::DaemonState;
use crate::sessions::{OpenRequest, SessionError};

/// Carries out a request that needs no connection state (everything but `hello` and
/// `subscribe`, which the connection handles).
pub(super) fn handle(state: &DaemonState, request: Request, now: Instant) -> Outcome {
    match request {
        Request::Open {
            role,
            peers,
            name,
            lease_ms,
        } => {
            let opened = state.registry().open(
                OpenRequest {
                    role,
                    peers,
                    name,
                    lease_ms,
                },
                now,
            );
            opened.map(|(info, events)| {
                state.publish(events);
                state.leases_changed();
                Reply::Opened(info)
            })
        }
        Request::SetPeers { session, peers } => {
            let changed = state.registry().set_peers(session, peers.clone());
            changed.map(|event| {
                state.publish([event]);
                Reply::Peers { session, peers }
            })
        }
        Request::Mapping { session } => {
            let registry = state.registry();
            registry
                .get(session)
                .map(|live| {
                    Reply::Mapping(MappingReply {
                        session,
                        shm_name: live.info().shm_name.clone(),
                        clock: live.clock().clone(),
                    })
                })
                .ok_or(SessionError::UnknownSession(session))
        }
        Request::Renew { session } => {
            let renewed = state.registry().renew(session, now);
            renewed.map(|lease| {
                state.leases_changed();
                Reply::Renewed {
                    session,
                    lease_ms: u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
                }
            })
        }
        Request::Close { session } => {
            let closed = state.registry().close(session);
            closed.map(|event| {
                state.publish([event]);
                Reply::Closed { session }
            })
        }
        Request::Status => Ok(Reply::Status(state.status(now))),
        // The connection answers these itself; reaching here is a caller's slip, reported as
        // such rather than acted on.
        Request::Hello { .. } | Request::Subscribe { .. } => {
            return refuse(
                state,
                ErrorCode::Internal,
                "hello and subscribe are handled by the connection".into(),
            )
        }
        _ => {
            return refuse(
                state,
                ErrorCode::Malformed,
                "a request this daemon does not carry out".into(),
            )
        }
    }
    .map_or_else(
        |error| refuse(state, error.code(), error.to_string()),
        Outcome::Ok,
    )
}

/// The refusal to give when `session` is not live (for `subscribe`), if it is not.
pub(super) fn refuse_unknown(state: &DaemonState, session: SessionId) -> Option<Outcome> {
    if state.registry().get(session).is_some() {
        None
    } else {
        Some(refuse(
            state,
            ErrorCode::UnknownSession,
            SessionError::UnknownSession(session).to_string(),
        ))
    }
}

/// An error outcome, counted.
pub(super) fn refuse(state: &DaemonState, code: ErrorCode, message: String) -> Outcome {
    state.count_refused();
    Outcome::Error(ErrorReply { code, message })
}
