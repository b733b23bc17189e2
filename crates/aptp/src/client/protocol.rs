//! The messages of the daemon's IPC protocol, version 1: one JSON object per line each way.
//!
//! The server speaks first with a [`ServerMessage::Greeting`]; the client answers with a
//! [`Request::Hello`] naming the protocol version it speaks, then sends any [`Request`] as a
//! [`RequestLine`] (an `id` of its choosing plus the request). Each request gets exactly one
//! [`ServerMessage::Response`] carrying the same `id`; [`ServerMessage::Event`]s arrive on a
//! connection that subscribed, between responses. The full description is the repository's
//! `docs/ipc.md`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::status::{DaemonStatus, SessionClock};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every protocol version this crate can speak, oldest first.
pub const SUPPORTED_PROTOCOLS: &[u32] = &[PROTOCOL_VERSION];

/// The longest request line the server accepts, newline included, in bytes. A longer request is
/// answered with [`ErrorCode::LineTooLong`] and skipped up to its newline.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The longest line the server sends, newline included, in bytes: a `status` of a full daemon
/// (1024 sessions of 64 peers and 200-byte names) fits with room to spare.
pub const MAX_SERVER_LINE_BYTES: usize = 8 * 1024 * 1024;

/// The most timing peers one session may name.
pub const MAX_PEERS: usize = 64;

/// The longest session name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// A session's id: unique within one daemon run, never reused by it.
pub type SessionId = u64;

/// What a session does: follow a grandmaster (an AirPlay receiver) or be one (a sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRole {
    /// Follows the grandmaster among its peers (a receiver instance).
    Follower,
    /// Serves its peers the AirPlay profile (a sender instance).
    Grandmaster,
}

/// One request, tagged by `op`.
///
/// ```
/// use aptp::client::protocol::{Request, RequestLine, SessionRole};
/// let line = RequestLine {
///     id: 7,
///     request: Request::Open {
///         role: SessionRole::Follower,
///         peers: vec!["192.0.2.10".parse().unwrap()],
///         name: Some("kitchen".into()),
///         lease_ms: None,
///     },
/// };
/// let json = serde_json::to_string(&line).unwrap();
/// assert_eq!(
///     json,
///     r#"{"id":7,"op":"open","role":"follower","peers":["192.0.2.10"],"name":"kitchen","lease_ms":null}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// The handshake: the protocol version the client speaks. Must come first.
    Hello {
        /// The protocol version the client speaks.
        protocol: u32,
        /// The client's name, for logs.
        #[serde(default)]
        client: Option<String>,
    },
    /// Opens a session.
    Open {
        /// Follower or grandmaster.
        role: SessionRole,
        /// The timing peers (the addresses PTP is accepted from or served to).
        #[serde(default)]
        peers: Vec<IpAddr>,
        /// The session's name; it names its shared-memory record too. Unique among live
        /// sessions. None: the daemon chooses one.
        #[serde(default)]
        name: Option<String>,
        /// The lease in milliseconds. None: the daemon's default.
        #[serde(default)]
        lease_ms: Option<u64>,
    },
    /// Replaces a session's timing peers.
    SetPeers {
        /// The session.
        session: SessionId,
        /// The new peer list (empty: follow nobody, serve nobody).
        peers: Vec<IpAddr>,
    },
    /// Reads a session's clock mapping.
    Mapping {
        /// The session.
        session: SessionId,
    },
    /// Subscribes this connection to events: of one session, or of all when `session` is None.
    Subscribe {
        /// The session, or None for every session.
        #[serde(default)]
        session: Option<SessionId>,
    },
    /// Renews a session's lease for another lease period.
    Renew {
        /// The session.
        session: SessionId,
    },
    /// Closes a session now.
    Close {
        /// The session.
        session: SessionId,
    },
    /// The daemon's status: ports, sessions, counters.
    Status,
}

/// A request as sent on the wire: the client's `id` (echoed in the response) and the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    /// Chosen by the client; the response carries it back.
    pub id: u64,
    /// The request itself.
    #[serde(flatten)]
    pub request: Request,
}

/// Every line the server sends, keyed by its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMessage {
    /// The first line on every connection.
    Greeting(Greeting),
    /// The answer to one request.
    Response(Response),
    /// Something happened to a session this connection subscribed to.
    Event(Event),
}

/// What the server says first: who it is and which protocol versions it speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    /// Always `aptp`.
    pub server: String,
    /// The daemon's version (its crate version).
    pub version: String,
    /// The protocol versions the daemon speaks.
    pub protocols: Vec<u32>,
}

/// The answer to one request: its `id` (None when the request line was too broken to have one)
/// and either `ok` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's `id`.
    pub id: Option<u64>,
    /// The result.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Success or failure of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The request was carried out.
    Ok(Reply),
    /// It was not; nothing changed.
    Error(ErrorReply),
}

/// What a carried-out request returns, tagged by `reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// The handshake was accepted.
    Hello {
        /// The protocol version both sides speak from now on.
        protocol: u32,
        /// The daemon's version.
        version: String,
    },
    /// A session was opened.
    Opened(SessionInfo),
    /// A session's peers were replaced.
    Peers {
        /// The session.
        session: SessionId,
        /// Its peers now.
        peers: Vec<IpAddr>,
    },
    /// A session's clock mapping.
    Mapping(MappingReply),
    /// Events will follow on this connection.
    Subscribed {
        /// The session subscribed to, or None for every session.
        session: Option<SessionId>,
    },
    /// A lease was renewed.
    Renewed {
        /// The session.
        session: SessionId,
        /// The lease, from now, in milliseconds.
        lease_ms: u64,
    },
    /// A session was closed.
    Closed {
        /// The session.
        session: SessionId,
    },
    /// The daemon's status.
    Status(DaemonStatus),
}

/// An open session as the daemon describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Its id.
    pub id: SessionId,
    /// Follower or grandmaster.
    pub role: SessionRole,
    /// Its name (unique among live sessions).
    pub name: String,
    /// Its timing peers.
    pub peers: Vec<IpAddr>,
    /// Its lease, in milliseconds: renew within this time or the session ends.
    pub lease_ms: u64,
    /// The POSIX shared-memory object holding its nqptp-format clock record (read it without a
    /// round trip), or None when the daemon publishes no records.
    pub shm_name: Option<String>,
}

/// A session's mapping from the local clock to its grandmaster's timescale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingReply {
    /// The session.
    pub session: SessionId,
    /// The shared-memory record holding the same mapping, if the daemon publishes one.
    pub shm_name: Option<String>,
    /// The clock as measured now; its fields are None until measured.
    pub clock: SessionClock,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// The kind of failure, for programs.
    pub code: ErrorCode,
    /// One line for people.
    pub message: String,
}

/// The kinds of failure a request can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The line is not a request (bad JSON, unknown op, missing or mistyped field).
    Malformed,
    /// The line passed [`MAX_LINE_BYTES`].
    LineTooLong,
    /// A request came before the handshake.
    HandshakeRequired,
    /// The client's protocol version is not one the daemon speaks.
    VersionMismatch,
    /// No live session has that id (closed, expired or never opened).
    UnknownSession,
    /// The daemon holds as many sessions as it may.
    Capacity,
    /// The name is not a valid session name.
    InvalidName,
    /// A live session already has that name.
    NameInUse,
    /// More than [`MAX_PEERS`] peers.
    TooManyPeers,
    /// The lease is outside the daemon's bounds.
    InvalidLease,
    /// The daemon could not do it (a system error, named in the message).
    Internal,
    /// A code this client does not know (a newer daemon).
    #[serde(other)]
    Unknown,
}

/// Something that happened to a session, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A session was opened.
    Opened(SessionInfo),
    /// A session's peers were replaced.
    PeersChanged {
        /// The session.
        session: SessionId,
        /// Its peers now.
        peers: Vec<IpAddr>,
    },
    /// A session's clock changed (a new grandmaster, a new measurement, lost).
    Clock {
        /// The session.
        session: SessionId,
        /// The clock now.
        clock: SessionClock,
    },
    /// A session ended.
    Closed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// The host was suspended for `slept_ms`: every session's clock was marked invalid and is
    /// being re-acquired.
    Resumed {
        /// How long the host slept, in ms.
        slept_ms: u64,
    },
    /// An interface of the host gained or lost addresses: the clocks of `sessions` (those
    /// whose peers are reached through it) were marked invalid and are being re-acquired.
    AddressChanged {
        /// The interface.
        interface: String,
        /// Addresses it gained.
        added: Vec<IpAddr>,
        /// Addresses it lost.
        removed: Vec<IpAddr>,
        /// The sessions whose clocks were marked invalid.
        sessions: Vec<SessionId>,
    },
    /// This connection read events too slowly and `missed` were dropped for it.
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
}

impl Event {
    /// The session the event is about, if one.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Event::Opened(info) => Some(info.id),
            Event::PeersChanged { session, .. }
            | Event::Clock { session, .. }
            | Event::Closed { session, .. } => Some(*session),
            Event::Lagged { .. } | Event::Resumed { .. } | Event::AddressChanged { .. } => None,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// A client closed it.
    Closed,
    /// Its lease ran out (its client stopped renewing: exited, killed or stuck).
    LeaseExpired,
    /// The daemon is stopping.
    DaemonStopping,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::Hello {
                protocol: 1,
                client: None,
            },
            Request::SetPeers {
                session: 3,
                peers: vec!["2001:db8::1".parse().unwrap()],
            },
            Request::Mapping { session: 3 },
            Request::Subscribe { session: None },
            Request::Renew { session: 3 },
            Request::Close { session: 3 },
            Request::Status,
        ];
        for (id, request) in requests.into_iter().enumerate() {
            let line = RequestLine {
                id: id as u64,
                request,
            };
            let json = serde_json::to_string(&line).unwrap();
            assert_eq!(serde_json::from_str::<RequestLine>(&json).unwrap(), line);
        }
    }

    #[test]
    fn error_response_shape() {
        let response = ServerMessage::Response(Response {
            id: Some(2),
            outcome: Outcome::Error(ErrorReply {
                code: ErrorCode::UnknownSession,
                message: "no session 9".into(),
            }),
        });
        let json = serde_json::to_string(&response).unwrap();
        assert_eq!(
            json,
            r#"{"response":{"id":2,"error":{"code":"unknown_session","message":"no session 9"}}}"#
        );
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&json).unwrap(),
            response
        );
    }

    #[test]
    fn unknown_error_code_from_a_newer_daemon_parses() {
        let reply: ErrorReply =
            serde_json::from_str(r#"{"code":"something_new","message":"m"}"#).unwrap();
        assert_eq!(reply.code, ErrorCode::Unknown);
    }
}
