//! aptp: Precision Time Protocol as AirPlay 2 uses it.
//!
//! [`engine`] is the deterministic sans-IO protocol engine (an ordinary clock: BMCA, master
//! and slave roles) that the rest of the crate drives.

pub mod engine;

pub use engine::{Config, Engine, Event, PortState};
