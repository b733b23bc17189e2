//! Every estimator takes out the clocks' drift between a Sync (t2) and the Delay_Req (t3) it is
//! paired with: at 1 Hz, with Delay_Req at random instants seconds away from their Sync (as the
//! engine pairs each Sync with the latest exchange), 40 ppm over a 0.5 s median gap is 10 µs of
//! path delay error if it is not.

use aptp_clock::{
    Estimator, EstimatorKind, LinregEstimator, PathDelay, PiConfig, PiServo, Sample, Time,
    TimeDelta,
};

/// 400 s of 1 Hz exchanges, remote 40 ppm fast and 2 s ahead, 50 µs each way exactly; each
/// Delay_Req left 1.5 s before to 0.5 s after its Sync (a fixed pseudo-random sequence).
/// Returns the worst |time error| over the last 100 s.
fn worst_error_ns(estimator: &mut dyn Estimator) -> f64 {
    let start = Time::from_nanos(10_000_000_000);
    let rate = 40e-6;
    let remote_at = |local: Time| local + TimeDelta::from_secs(2) + (local - start).mul_f64(rate);
    let delay = TimeDelta::from_micros(50);
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut worst: f64 = 0.0;
    for n in 0..400i64 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let fraction = (state >> 11) as f64 / (1u64 << 53) as f64;
        let t2 = start + TimeDelta::from_secs(n);
        let t3 = t2 + TimeDelta::from_nanos_f64((fraction * 2.0 - 1.5) * 1e9);
        let sample = Sample {
            t1: remote_at(t2 - delay),
            t2,
            path_delay: PathDelay::Exchange {
                t3,
                t4: remote_at(t3 + delay),
            },
            grandmaster_identity: 1,
        };
        estimator.update(&sample);
        if n >= 300 {
            let mapping = estimator.mapping().expect("locked");
            let error = (mapping.to_remote(t2) - remote_at(t2)).as_nanos_f64();
            worst = worst.max(error.abs());
        }
    }
    worst
}

#[test]
fn linreg_takes_the_drift_out() {
    let error = worst_error_ns(&mut LinregEstimator::default());
    assert!(error < 500.0, "linreg: {error} ns");
}

#[test]
fn pi_takes_the_drift_out() {
    let mut servo = PiServo::new(PiConfig {
        sync_interval_s: 1.0,
        ..PiConfig::default()
    });
    let error = worst_error_ns(&mut servo);
    assert!(error < 500.0, "pi: {error} ns");
}

#[test]
fn the_default_takes_the_drift_out() {
    let error = worst_error_ns(&mut EstimatorKind::DEFAULT.build());
    assert!(error < 100.0, "default: {error} ns");
}
