//! aptp-service: the host's PTP daemon.
//!
//! It holds what library users of [`aptp`] do not pay for: the nqptp drop-in (the control
//! protocol and the shared-memory clock record Shairport Sync reads), client sessions and the IPC
//! server.
#![deny(missing_docs)]

pub mod daemon;
pub mod ipc;
pub mod nqptp;
pub mod sessions;
