//! The deterministic, sans-IO PTP engine: one ordinary clock with one port.
//!
//! This first part holds the configuration (linuxptp's names and defaults), the port states
//! and the Best Master Clock Algorithm; the engine that drives them follows.

// The state decision and interval helpers are used by the engine that follows.
#[allow(dead_code)]
mod bmca;
#[allow(dead_code)]
mod config;
mod state;

pub use bmca::{compare_datasets, ComparisonDataset, DatasetComparison};
pub use config::{Capacities, Config, ConfigError, DelayMechanism};
pub use state::PortState;
