//! `aptp::client`: the Rust client of the aptp daemon (`aptp daemon`).
//!
//! The daemon owns the PTP ports of the host and serves any number of local clients, each in
//! a session of its own: a follower session (an AirPlay receiver instance) or a grandmaster
//! session (a sender instance). Clients talk to it over a Unix stream socket in its runtime
//! directory ([`default_socket_path`]) with newline-delimited JSON ([`protocol`]); access is
//! governed by the socket's file permissions alone, so a client in another container that
//! shares only that directory works as a local one does.
//!
//! A session lives as long as its lease: renew it ([`Client::renew`]) more often than its
//! `lease_ms`, or close it ([`Client::close`]); a client that dies frees its sessions when
//! their leases run out.
//!
//! ```no_run
//! use aptp::client::{Client, OpenSession, SessionRole};
//!
//! let mut client = Client::connect(aptp::client::default_socket_path())?;
//! let session = client.open(&OpenSession {
//!     role: SessionRole::Follower,
//!     peers: vec!["192.0.2.10".parse()?],
//!     name: Some("kitchen".into()),
//!     lease_ms: Some(5_000),
//! })?;
//! println!("session {} publishes its record at {:?}", session.id, session.shm_name);
//! let mapping = client.mapping(session.id)?;
//! println!("offset {:?} ns", mapping.clock.offset_ns);
//! client.renew(session.id)?;
//! client.close(session.id)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod connection;
pub mod protocol;
mod status;

use std::net::IpAddr;
use std::path::PathBuf;

pub use connection::{Client, ClientError};
pub use protocol::{
    CloseReason, ErrorCode, Event, MappingReply, SessionId, SessionInfo, SessionRole,
    PROTOCOL_VERSION,
};
pub use status::{DaemonStatus, InterfaceStatus, PortStatus, SessionClock, SessionStatus};

/// The socket's file name inside the runtime directory.
pub const SOCKET_FILE_NAME: &str = "aptp.sock";

/// The socket path when neither the caller nor the environment names one.
pub const DEFAULT_SOCKET_PATH: &str = "/run/aptp/aptp.sock";

/// Where the daemon listens: `$APTP_SOCKET` if set, else `aptp.sock` in `$RUNTIME_DIRECTORY`
/// (the first one, as systemd sets it for `RuntimeDirectory=aptp`), else
/// [`DEFAULT_SOCKET_PATH`].
///
/// ```
/// let path = aptp::client::default_socket_path();
/// assert!(path.ends_with("aptp.sock") || std::env::var_os("APTP_SOCKET").is_some());
/// ```
pub fn default_socket_path() -> PathBuf {
    socket_path_from(
        std::env::var_os("APTP_SOCKET").map(PathBuf::from),
        std::env::var("RUNTIME_DIRECTORY").ok(),
    )
}

fn socket_path_from(explicit: Option<PathBuf>, runtime_directory: Option<String>) -> PathBuf {
    if let Some(path) = explicit.filter(|path| !path.as_os_str().is_empty()) {
        return path;
    }
    // systemd joins several runtime directories with ':'; ours is the first.
    match runtime_directory
        .as_deref()
        .and_then(|directories| directories.split(':').next())
        .filter(|directory| !directory.is_empty())
    {
        Some(directory) => PathBuf::from(directory).join(SOCKET_FILE_NAME),
        None => PathBuf::from(DEFAULT_SOCKET_PATH),
    }
}

/// What [`Client::open`] asks for.
///
/// ```
/// use aptp::client::{OpenSession, SessionRole};
/// let options = OpenSession::new(SessionRole::Grandmaster);
/// assert!(options.peers.is_empty() && options.name.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    /// Follower or grandmaster.
    pub role: SessionRole,
    /// The timing peers.
    pub peers: Vec<IpAddr>,
    /// The session's name (and shared-memory record name); None lets the daemon choose.
    pub name: Option<String>,
    /// The lease in milliseconds; None takes the daemon's default.
    pub lease_ms: Option<u64>,
}

impl OpenSession {
    /// A session of `role` with no peers, no name and the default lease.
    pub fn new(role: SessionRole) -> OpenSession {
        OpenSession {
            role,
            peers: Vec::new(),
            name: None,
            lease_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_precedence() {
        assert_eq!(
            socket_path_from(Some("/tmp/x.sock".into()), Some("/run/aptp".into())),
            PathBuf::from("/tmp/x.sock")
        );
        assert_eq!(
            socket_path_from(None, Some("/run/aptp:/run/other".into())),
            PathBuf::from("/run/aptp/aptp.sock")
        );
        assert_eq!(
            socket_path_from(Some("".into()), None),
            PathBuf::from(DEFAULT_SOCKET_PATH)
        );
    }
}
