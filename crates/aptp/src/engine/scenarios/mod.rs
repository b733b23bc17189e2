//! Protocol scenarios in virtual time: each drives engines through [`super::sim`] and asserts
//! the state sequence and the time error reached (the ground truth is known).
//!
//! Each test prints its measured figures (`cargo test -p aptp scenarios -- --nocapture`).

mod election;
mod fuzz;
mod one_hertz;
mod robustness;
mod timescale;
mod timing;

use super::sim::{NodeId, Sim};
use super::{Config, PortState};
use aptp_clock::EstimatorKind;

/// A node's config: linuxptp defaults, `priority1`, the default estimator and 4 Hz Sync.
fn config(priority1: u8) -> Config {
    Config {
        priority1,
        estimator: EstimatorKind::DEFAULT,
        log_sync_interval: -2,
        log_min_delay_req_interval: -2,
        ..Config::default()
    }
}

/// A node's config at linuxptp's defaults (1 Hz Sync and Delay_Req) with `priority1`.
fn config_1hz(priority1: u8) -> Config {
    Config {
        priority1,
        ..Config::default()
    }
}

/// Runs `seconds` more, one second at a time, and returns the largest |time error| of
/// `slave` against `master` seen at the end of each second (None while unmapped counts as
/// a failure: i64::MAX).
fn worst_error_ns(sim: &mut Sim, slave: NodeId, master: NodeId, seconds: u64) -> i64 {
    let mut worst = 0i64;
    for _ in 0..seconds {
        sim.run_for_secs(1);
        let error = sim.time_error_ns(slave, master).map_or(i64::MAX, i64::abs);
        worst = worst.max(error);
    }
    worst
}

/// Runs until `slave`'s |time error| against `master` is at most `bound_ns` (checked every
/// 100 ms), at most `limit_s` seconds; returns the seconds it took, None if never.
fn seconds_to_lock(
    sim: &mut Sim,
    slave: NodeId,
    master: NodeId,
    bound_ns: i64,
    limit_s: u64,
) -> Option<f64> {
    let start = sim.elapsed_ns();
    for _ in 0..limit_s * 10 {
        sim.run_for_ns(100_000_000);
        if sim
            .time_error_ns(slave, master)
            .is_some_and(|error| error.abs() <= bound_ns)
            && sim.engine(slave).state() == PortState::Slave
        {
            return Some((sim.elapsed_ns() - start) as f64 / 1e9);
        }
    }
    None
}

/// The states `node` went through, without repeats of INITIALIZING at the start.
fn states(sim: &Sim, node: NodeId) -> Vec<PortState> {
    sim.states(node)
}
