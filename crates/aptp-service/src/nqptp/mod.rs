//! The nqptp drop-in: the control protocol Shairport Sync speaks and the shared-memory clock
//! record it reads, reproduced from their public description, served by aptp's AirPlay
//! receiver role.
//!
//! - [`ControlRequest`]: one control datagram (`<name> T <ip>...`, `T`, `B`, `E`, `P`).
//! - [`NqptpPublisher`] / [`NqptpReader`]: the 72-byte record in POSIX shared memory.
//! - [`Session`]: the policy (what each command does, which record is published), sans-IO,
//!   written against the [`ClockFollower`] trait.
//! - [`NqptpDaemon`]: the running drop-in (shared memory, PTP sockets with kernel receive
//!   timestamps on CLOCK_MONOTONIC_RAW, the control socket, two tasks), with
//!   [`NqptpStatus`] snapshots for status lines.

mod control;
mod control_server;
mod daemon;
mod follower;
mod session;
mod shm;
mod status;
mod timing;

pub use control::{
    ControlCommand, ControlError, ControlRequest, MAX_CONTROL_LENGTH, MAX_TIMING_PEERS,
};
pub use control_server::{ControlCounters, REJECTION_KINDS};
pub use daemon::{NqptpDaemon, NqptpError, NqptpOptions, DEFAULT_CONTROL_ADDRESS};
pub use follower::{ClockFollower, FollowedGrandmaster};
pub use session::{Session, RELOCK_AFTER_NS};
pub use shm::{
    shm_name, NqptpPublisher, NqptpReader, NqptpRecord, ShmError, DEFAULT_SHM_NAME, NQPTP_SHM_SIZE,
    NQPTP_SHM_VERSION,
};
pub use status::NqptpStatus;
