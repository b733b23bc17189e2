//! The accuracy simulator: deterministic, and the estimators land where they should (bounds are
//! loose on purpose; the README has the exact table).
#![cfg(feature = "sim")]

use aptp_clock::sim::{run_table, ResultRow, Scenario};

const SEEDS: [u64; 3] = [1, 2, 3];

fn row<'a>(rows: &'a [ResultRow], scenario: &str, estimator: &str) -> &'a ResultRow {
    rows.iter()
        .find(|row| row.scenario == scenario && row.estimator == estimator)
        .unwrap_or_else(|| panic!("no row for {scenario}/{estimator}"))
}

fn default_row<'a>(rows: &'a [ResultRow], scenario: &str) -> &'a ResultRow {
    rows.iter()
        .find(|row| row.scenario == scenario && row.default)
        .expect("a default row")
}

#[test]
fn same_seed_same_table_other_seed_other_table() {
    let first = run_table(Some("wifi"), 7).expect("known scenario");
    let second = run_table(Some("wifi"), 7).expect("known scenario");
    assert_eq!(first, second);
    let other = run_table(Some("wifi"), 8).expect("known scenario");
    assert_ne!(first, other);
}

#[test]
fn the_table_has_every_scenario_and_estimator_once_with_one_default() {
    let rows = run_table(None, 1).expect("whole table");
    assert_eq!(rows.len(), Scenario::all().len() * 4);
    for scenario in Scenario::names() {
        let defaults = rows
            .iter()
            .filter(|row| row.scenario == scenario && row.default)
            .count();
        assert_eq!(defaults, 1, "{scenario}");
        for estimator in ["pi", "linreg", "nqptp", "lucky-regression"] {
            row(&rows, scenario, estimator);
        }
    }
    assert!(run_table(Some("nope"), 1).is_err());
}

#[test]
fn default_is_no_worse_than_pi_or_nqptp_on_wired_lan_and_loopback() {
    for seed in SEEDS {
        let rows = run_table(None, seed).expect("whole table");
        for scenario in ["wired-lan", "loopback"] {
            let default = default_row(&rows, scenario);
            for other in ["pi", "nqptp"] {
                let other = row(&rows, scenario, other);
                assert!(
                    default.p99_us <= other.p99_us,
                    "seed {seed} {scenario}: {default:?} vs {other:?}"
                );
            }
            assert!(default.p99_us < 10.0, "seed {seed}: {default:?}");
            assert!(
                default.converge_10us_s.is_some_and(|seconds| seconds < 5.0),
                "seed {seed}: {default:?}"
            );
            assert_eq!(default.steps_detected, 0);
        }
    }
}

#[test]
fn default_beats_pi_twice_and_nqptp_five_times_where_asymmetry_allows() {
    for seed in SEEDS {
        let rows = run_table(None, seed).expect("whole table");
        for scenario in ["wifi", "wifi-bursty"] {
            let default = default_row(&rows, scenario);
            let pi = row(&rows, scenario, "pi");
            assert!(
                default.p99_us * 2.0 <= pi.p99_us,
                "seed {seed} {scenario}: {default:?} vs {pi:?}"
            );
            // The 30 % asymmetry puts ~260 µs out of every two-way estimator's reach (the
            // floor); the default's own noise and lucky queueing share add 30–110 µs.
            assert!(
                default.p99_us > default.floor_us,
                "seed {seed}: {default:?}"
            );
            assert!(default.p99_us < 450.0, "seed {seed}: {default:?}");
            assert_eq!(default.steps_detected, 0, "no false steps on a noisy link");
        }
        let default = default_row(&rows, "wifi-bursty");
        let nqptp = row(&rows, "wifi-bursty", "nqptp");
        assert!(
            default.p99_us * 5.0 <= nqptp.p99_us,
            "seed {seed}: {default:?} vs {nqptp:?}"
        );
    }
}

#[test]
fn default_relocks_within_two_seconds_after_master_steps() {
    for seed in SEEDS {
        let rows = run_table(Some("master-step"), seed).expect("known scenario");
        let default = default_row(&rows, "master-step");
        assert_eq!(default.steps_detected, 2, "seed {seed}: {default:?}");
        assert!(
            default.relock_s.is_some_and(|seconds| seconds <= 2.0),
            "seed {seed}: {default:?}"
        );
        assert!(default.p99_us < 10.0, "seed {seed}: {default:?}");
        // nqptp's 1/256 fall cannot follow a step back in time.
        assert!(row(&rows, "master-step", "nqptp").relock_s.is_none());
    }
}

#[test]
fn pi_waits_for_its_frequency_estimate_like_ptp4l() {
    let rows = run_table(Some("wired-lan"), 1).expect("known scenario");
    let pi = row(&rows, "wired-lan", "pi");
    // 0.016 / ki = 36.8 s at 8 Hz with the software constants.
    assert!(
        pi.converge_100us_s
            .is_some_and(|seconds| (36.0..40.0).contains(&seconds)),
        "{pi:?}"
    );
}

#[test]
fn rates_end_close_to_the_truth() {
    let rows = run_table(Some("drift-ramp"), 2).expect("known scenario");
    let default = default_row(&rows, "drift-ramp");
    assert!(default.rate_error_ppb.abs() < 500.0, "{default:?}");
    assert!(default.p99_us < 20.0, "{default:?}");
}

#[test]
fn no_false_steps_anywhere_but_master_step_over_twelve_seeds() {
    // Seeds 6, 10, 11 and 12 once caught a start-up re-fit as a step.
    for seed in 1..=12 {
        for scenario in ["wifi", "wifi-bursty", "drift-ramp"] {
            let rows = run_table(Some(scenario), seed).expect("known scenario");
            let default = default_row(&rows, scenario);
            assert_eq!(default.steps_detected, 0, "seed {seed}: {default:?}");
        }
    }
}

#[test]
fn one_way_airplay_carries_the_path_delay_but_no_false_steps() {
    for seed in SEEDS {
        let rows = run_table(Some("airplay-one-way"), seed).expect("known scenario");
        let default = default_row(&rows, "airplay-one-way");
        let pi = row(&rows, "airplay-one-way", "pi");
        assert_eq!(default.steps_detected, 0, "seed {seed}: {default:?}");
        // The master-to-slave base delay (2.26 ms) is invisible one way: the floor for all.
        assert!(
            (2_200.0..3_500.0).contains(&default.p99_us),
            "seed {seed}: {default:?}"
        );
        assert!(
            default.p99_us < pi.p99_us,
            "seed {seed}: {default:?} vs {pi:?}"
        );
    }
}

#[test]
fn default_is_robust_at_every_sync_interval_with_the_engines_delay_request_timing() {
    // linuxptp's default is 1 Hz, AirPlay's 8 Hz; Delay_Req on their own randomised timer,
    // each Sync paired with the latest exchange (seconds old at 1 Hz and slower). Seeds 4-6
    // once drew p99s of 54-501 µs here and took 70-280 s to come within 10 µs.
    for seed in 1..=6 {
        for log_interval in -3..=1 {
            let scenario = Scenario::wired_lan_engine(log_interval);
            let rows = aptp_clock::sim::run(&scenario, seed);
            let default = default_row(&rows, scenario.name);
            assert!(default.p99_us < 6.0, "seed {seed}: {default:?}");
            assert!(
                default
                    .converge_10us_s
                    .is_some_and(|seconds| seconds < 20.0),
                "seed {seed}: {default:?}"
            );
            assert_eq!(default.steps_detected, 0, "seed {seed}: {default:?}");
        }
    }
}

#[test]
fn default_relocks_after_master_steps_at_one_hertz() {
    for seed in SEEDS {
        let rows = run_table(Some("master-step-1hz"), seed).expect("known scenario");
        let default = default_row(&rows, "master-step-1hz");
        assert_eq!(default.steps_detected, 2, "seed {seed}: {default:?}");
        // The +1 ms step is seen by the Syncs alone (two of them, 1-2 s); the -1 ms one
        // waits for fresh Delay_Req exchanges on their random 0-2 s timer.
        assert!(
            default.relock_s.is_some_and(|seconds| seconds <= 4.0),
            "seed {seed}: {default:?}"
        );
    }
}

#[test]
fn the_asymmetry_floor_is_half_the_base_delay_difference() {
    // wifi: 2 ms mean base, master-to-slave 1.3 × slave-to-master: (2.2609 − 1.7391) / 2 ms.
    let floor = Scenario::wifi().asymmetry_floor_ns();
    assert!((floor - 260_869.6).abs() < 1.0, "{floor}");
    assert_eq!(Scenario::wired_lan().asymmetry_floor_ns(), 0.0);
    // One way, the whole master-to-slave base delay.
    let one_way = Scenario::airplay_one_way().asymmetry_floor_ns();
    assert!((one_way - 2_260_869.6).abs() < 1.0, "{one_way}");
    let rows = run_table(Some("wifi-bursty"), 1).expect("known scenario");
    assert!(rows.iter().all(|row| (row.floor_us - 260.87).abs() < 0.01));
    // No estimator beats it on the asymmetric link: the default stays above it.
    assert!(default_row(&rows, "wifi-bursty").p50_us > floor / 1e3);
}
