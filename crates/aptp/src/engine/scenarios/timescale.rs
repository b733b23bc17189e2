//! A slave on a UTC clock (CLOCK_REALTIME) following a master on the PTP timescale (TAI):
//! the master's time is taken as TAI − currentUtcOffset, as ptp4l does; otherwise nothing
//! is subtracted.

use super::{config, worst_error_ns};
use crate::engine::sim::{LinkModel, Sim, SimClock};
use crate::engine::{Config, PortState, TimeProperties};

const UTC_OFFSET_NS: i64 = 37_000_000_000;

/// A master whose clock reads TAI (truth + 37 s) announcing `ptp_timescale` with
/// currentUtcOffset 37, and a slave on UTC (truth + 4 ms) with `local_timescale_is_utc`;
/// returns the slave's worst time error against the master's clock over 20 s once locked.
fn run(ptp_timescale: bool, local_timescale_is_utc: bool) -> (i64, TimeProperties) {
    let mut sim = Sim::new(40, LinkModel::default());
    let master = sim.add_node(
        Config {
            ptp_timescale,
            current_utc_offset: 37,
            ..config(1)
        },
        SimClock {
            offset_ns: UTC_OFFSET_NS,
            rate_ppb: 0,
        },
    );
    let slave = sim.add_node(
        Config {
            local_timescale_is_utc,
            ..config(128)
        },
        SimClock {
            offset_ns: 4_000_000,
            rate_ppb: 20_000,
        },
    );
    sim.run_for_secs(40);
    assert_eq!(sim.engine(slave).state(), PortState::Slave);
    let worst = worst_error_ns(&mut sim, slave, master, 20);
    let properties = sim
        .engine(slave)
        .master()
        .expect("following")
        .time_properties;
    (worst, properties)
}

#[test]
fn utc_slave_of_a_ptp_timescale_master_subtracts_the_utc_offset() {
    let (worst, properties) = run(true, true);
    // time_error_ns compares with the master's clock (TAI): the slave's estimate is UTC.
    let error_against_utc = worst.abs_diff(UTC_OFFSET_NS);
    println!("UTC slave of a TAI master: |estimate − (TAI − 37 s)| ≤ {error_against_utc} ns");
    assert!(error_against_utc <= 1_000, "{worst} ns against TAI");
    assert_eq!(
        (
            properties.ptp_timescale,
            properties.current_utc_offset_valid
        ),
        (true, true)
    );
    assert_eq!(properties.current_utc_offset, 37);
}

#[test]
fn nothing_is_subtracted_without_the_utc_flag_or_the_ptp_timescale() {
    // A monotonic slave (no flag): the mapping stays in the master's timescale (TAI).
    let (worst, properties) = run(true, false);
    assert!(worst <= 1_000, "{worst} ns against TAI without the flag");
    assert!(properties.ptp_timescale);
    // A UTC slave of an arbitrary-timescale master: its time is taken as it is.
    let (worst, properties) = run(false, true);
    assert!(worst <= 1_000, "{worst} ns with an arbitrary timescale");
    assert!(!properties.ptp_timescale);
}
