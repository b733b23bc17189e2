//! The group measure in virtual time, with loose bounds (the README has the full figures).

use super::*;

fn run(path: PathModel, duration_s: f64) -> Vec<GroupResult> {
    let config = GroupSimConfig {
        duration_s,
        warmup_s: 60.0,
        ..GroupSimConfig::new(path, 7)
    };
    let rows = run_group(&config);
    eprintln!("{}", format_table(&rows));
    rows
}

#[test]
fn loopback_group_plays_within_a_microsecond() {
    let rows = run(PathModel::loopback(), 120.0);
    assert_eq!(rows[0].unscheduled, 0);
    assert!(rows[0].p99_skew_us < 1.0, "{rows:?}");
}

#[test]
fn wifi_group_beats_the_nqptp_smoother() {
    let rows = run(PathModel::wifi(), 180.0);
    // The goal is 100 µs over 300 s (README: 88–137 µs on seeds 1–5, 205 µs before
    // aptp-clock's per-direction lucky packets); this shorter run (60–180 s, the noisiest
    // part) measured 130 µs (146 µs with a 4 s noisy refit throughout). The test holds the
    // line at 300 µs and at beating the smoother.
    assert!(rows[0].p99_skew_us < 300.0, "{rows:?}");
    assert!(rows[0].p99_skew_us < rows[1].p99_skew_us, "{rows:?}");
}

#[test]
fn the_wifi_skew_is_estimator_noise_not_asymmetry_nor_slew() {
    let asymmetric = run(PathModel::wifi(), 180.0);
    let symmetric = run(PathModel::wifi_symmetric(), 180.0);
    let (asymmetric, symmetric) = (&asymmetric[0], &symmetric[0]);
    // Without asymmetry the common error shrinks (the bias was the same on every path)...
    assert!(
        symmetric.p99_error_us < asymmetric.p99_error_us / 2.0,
        "{symmetric:?}"
    );
    // ...but the skew stays: it never came from the asymmetry.
    assert!(
        symmetric.p99_skew_us > asymmetric.p99_skew_us * 0.7,
        "{symmetric:?} {asymmetric:?}"
    );
    for row in [asymmetric, symmetric] {
        // Not a static per-receiver bias (what there is of one is the estimator's slow
        // noise: its 256 s windows move little over the 120 s evaluated here)...
        assert!(row.bias_spread_us < row.p99_skew_us / 2.0, "{row:?}");
        // ...nor the schedule's slew: the mappings alone are as far apart.
        assert!(
            (row.p99_mapping_skew_us - row.p99_skew_us).abs() < row.p99_skew_us / 10.0,
            "{row:?}"
        );
    }
}

#[test]
fn no_estimator_beats_the_oracle_told_the_distribution() {
    let config = GroupSimConfig {
        duration_s: 180.0,
        warmup_s: 60.0,
        oracle: true,
        ..GroupSimConfig::new(PathModel::wifi(), 7)
    };
    let rows = run_group(&config);
    eprintln!("{}", format_table(&rows));
    let names: Vec<_> = rows.iter().map(|row| row.estimator).collect();
    assert_eq!(
        names,
        [
            "lucky-regression",
            "nqptp",
            "oracle-distribution",
            "oracle-base-delays"
        ]
    );
    let oracle = &rows[2];
    assert_eq!(oracle.unscheduled, 0);
    // The floor is below every estimator, and not absurdly so: on these packets it measured
    // 0.6–0.8 × aptp's default (README).
    for row in &rows[..2] {
        assert!(oracle.p99_skew_us < row.p99_skew_us, "{rows:?}");
    }
    assert!(oracle.p99_skew_us > rows[0].p99_skew_us / 3.0, "{rows:?}");
    // Knowing the whole distribution is worth more than knowing the base delays alone.
    assert!(oracle.p99_skew_us < rows[3].p99_skew_us, "{rows:?}");
}

#[test]
fn wifi_bursty_group_stays_within_a_millisecond() {
    let rows = run(PathModel::wifi_bursty(), 180.0);
    assert!(rows[0].p99_skew_us < 1_000.0, "{rows:?}");
}

#[test]
fn equal_seeds_give_equal_runs() {
    let config = GroupSimConfig {
        duration_s: 30.0,
        warmup_s: 10.0,
        receivers: 3,
        ..GroupSimConfig::new(PathModel::wifi(), 3)
    };
    assert_eq!(run_group(&config), run_group(&config));
}

#[test]
fn a_group_keeps_playing_in_step_through_dropouts() {
    // `wifi-outages`: the sender's Wi-Fi gone for 5 s every 60 s, longer than the Announce
    // timeout. Held, each receiver's grandmaster comes back with what was measured of it;
    // forgotten (holdover 0), every receiver locks afresh after each dropout, and the young
    // lines disagree for seconds.
    let held = run(PathModel::wifi_outages(), 180.0);
    let config = GroupSimConfig {
        duration_s: 180.0,
        warmup_s: 60.0,
        grandmaster_holdover_ns: 0,
        ..GroupSimConfig::new(PathModel::wifi_outages(), 7)
    };
    let forgotten = run_group(&config);
    eprintln!("{}", format_table(&forgotten));
    // The timers run through a dropout: 2 s in, a receiver that forgets its grandmaster
    // has nothing to play on for the 3 s left, about 30 evaluations of each of the two
    // dropouts measured here (76 in all; 12 when timers ran only as packets arrived).
    assert!(forgotten[0].unscheduled >= 50, "{forgotten:?}");
    // Measured: p99 skew 128 µs held (130 µs without the dropouts, above), 4.7 ms forgotten.
    assert_eq!(held[0].unscheduled, 0, "{held:?}");
    assert!(held[0].p99_skew_us < 300.0, "{held:?}");
    assert!(
        forgotten[0].p99_skew_us > 5.0 * held[0].p99_skew_us,
        "{forgotten:?}"
    );
}

#[test]
fn receivers_lose_a_silent_grandmaster_during_the_silence() {
    // The timers run between datagrams, as a real driver's: 2 s into a dropout every
    // receiver has lost its grandmaster, and holds it, before any packet comes back.
    let config = GroupSimConfig {
        receivers: 2,
        ..GroupSimConfig::new(PathModel::loopback(), 1)
    };
    let mut world = World::new(&config);
    let mut next_sender_ns = 0.0;
    let mut tau = 0.0;
    while tau < 10e9 {
        let next_delivery = world
            .queue
            .peek()
            .map_or(f64::INFINITY, |d| d.0.at_scaled as f64 / 65_536.0);
        tau = next_delivery.min(next_sender_ns);
        if tau == next_sender_ns {
            world.run_sender(tau);
            next_sender_ns = tau + 10e6;
        } else if let Some(std::cmp::Reverse(delivery)) = world.queue.pop() {
            world.deliver(tau, delivery);
        }
    }
    world.queue.clear();
    for node in &world.nodes {
        assert!(node.aptp.receiver.grandmaster().is_some());
    }
    // The sender falls silent at 10 s: only the timer ticks run.
    for tick in 1..=40 {
        let tau = 10e9 + f64::from(tick) * 100e6;
        for index in 0..world.nodes.len() {
            world.run_receivers(tau, index);
        }
    }
    for node in &world.nodes {
        for member in [&node.aptp, &node.nqptp] {
            assert!(member.receiver.grandmaster().is_none());
            assert!(member.receiver.held_grandmaster().is_some());
            assert!(
                member.receiver.mapping().is_some(),
                "the held mapping is kept"
            );
        }
    }
}
