//! aptp: Precision Time Protocol as AirPlay 2 uses it.
//!
//! [`engine`] is the deterministic sans-IO protocol engine (an ordinary clock: BMCA, master
//! and slave roles) that the rest of the crate drives; [`runtime`] is the tokio glue that runs
//! it over real sockets as a [`Node`]; [`config_file`] reads linuxptp configuration files.

pub mod airplay;
#[cfg(feature = "client")]
pub mod client;
pub mod config_file;
pub mod engine;
pub mod runtime;

pub use engine::{Config, Engine, Event, PortState};
pub use runtime::{LocalClock, Network, Node, NodeOptions, Role, Status};
