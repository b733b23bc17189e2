//! The daemon's native IPC: a Unix stream socket speaking newline-delimited JSON (the protocol
//! of [`aptp::client::protocol`], described in the repository's `docs/ipc.md`).
//!
//! Access is the socket's file permission: whoever can connect may open sessions. Nothing
//! depends on the client's PID, user or IPC namespace, so a client in another container that
//! shares only the socket's directory is served like a local one. Sessions are named by id and
//! kept alive by their lease, not by the connection that opened them.

mod connection;
mod handler;
mod line;
mod listener;

pub use connection::{serve_connection, OUTBOX_MESSAGES, WRITE_TIMEOUT};
pub use line::{Line, LineReader};
pub use listener::{bind_socket, IpcError, SocketGuard, MAX_CONNECTIONS};
