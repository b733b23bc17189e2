//! What one exchange costs each estimator once its windows are full (issue 17's soak runs
//! seven simulated days of eight receivers, so this is its budget; issue 11 asks for no
//! allocation on the hot path, so it is the daemon's per-session CPU too).
//!
//! `cargo bench -p aptp-benches --bench estimator`: each estimator is first fed 300 s of
//! 8 Hz two-way exchanges over a Wi-Fi-like path (log-normal queueing with a 1 ms median each
//! way, the slave's clock 37 ppm fast), which fills `LuckyRegression`'s 64 s of exchanges and
//! 256 s of one-second bins. One iteration then clones that warmed estimator (untimed) and
//! times it over the next 64 exchanges; criterion reports the time per exchange
//! (`Throughput::Elements(64)`). A one-way group does the same without Delay_Req (AirPlay).

use std::hint::black_box;
use std::time::{Duration, Instant};

use aptp_clock::sim::Rng;
use aptp_clock::{Estimator, EstimatorKind, PathDelay, Sample, Time};
use criterion::{criterion_group, BatchSize, Criterion, Throughput};

const SYNC_INTERVAL_NS: i128 = 125_000_000;
const WARM_UP_EXCHANGES: usize = 2_400;
const TIMED_EXCHANGES: usize = 64;
const RATE_OFFSET: f64 = 37e-6;
const GRANDMASTER: u64 = 0x0011_22ff_fe33_4455;

/// Exchange `index` of the stream: remote = local × (1 − rate offset) + 5 ms.
fn exchange(rng: &mut Rng, index: usize, two_way: bool) -> Sample {
    let local = |ns: i128| Time::from_nanos((1_000_000_000_000 + ns) as u64);
    let remote_of = |local_ns: f64| {
        Time::from_nanos(1_000_005_000_000 + (local_ns * (1.0 - RATE_OFFSET)) as u64)
    };
    let sent_ns = index as i128 * SYNC_INTERVAL_NS;
    let forward_ns = 200_000.0 + rng.log_normal(1_000_000.0, 0.6);
    let t1 = remote_of(sent_ns as f64);
    let t2 = local(sent_ns + forward_ns as i128);
    let path_delay = if two_way {
        let t3_ns = sent_ns + forward_ns as i128 + 2_000_000;
        let backward_ns = 200_000.0 + rng.log_normal(1_000_000.0, 0.6);
        PathDelay::Exchange {
            t3: local(t3_ns),
            t4: remote_of(t3_ns as f64 + backward_ns),
        }
    } else {
        PathDelay::Unknown
    };
    Sample {
        t1,
        t2,
        path_delay,
        grandmaster_identity: GRANDMASTER,
    }
}

fn bench_estimators(c: &mut Criterion) {
    for (group_name, two_way) in [("estimator_two_way", true), ("estimator_one_way", false)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(TIMED_EXCHANGES as u64));
        for kind in EstimatorKind::ALL {
            let mut rng = Rng::new(0x5eed);
            let mut warmed = kind.build();
            for index in 0..WARM_UP_EXCHANGES {
                warmed.update(&exchange(&mut rng, index, two_way));
            }
            assert!(
                warmed.mapping().is_some(),
                "{} has no mapping after {WARM_UP_EXCHANGES} exchanges",
                warmed.name()
            );
            let next: Vec<Sample> = (WARM_UP_EXCHANGES..WARM_UP_EXCHANGES + TIMED_EXCHANGES)
                .map(|index| exchange(&mut rng, index, two_way))
                .collect();
            group.bench_function(warmed.name(), |b| {
                b.iter_batched_ref(
                    || warmed.clone(),
                    |estimator| {
                        for sample in &next {
                            black_box(estimator.update(black_box(sample)));
                        }
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
}

/// A long run outside criterion: one simulated hour after the warm-up, wall time per exchange,
/// printed (the figure the soak's budget is about).
fn print_hour() {
    for two_way in [true, false] {
        let mut rng = Rng::new(0x5eed);
        let mut estimator = EstimatorKind::DEFAULT.build();
        for index in 0..WARM_UP_EXCHANGES {
            estimator.update(&exchange(&mut rng, index, two_way));
        }
        let hour = 3_600 * 8;
        let samples: Vec<Sample> = (WARM_UP_EXCHANGES..WARM_UP_EXCHANGES + hour)
            .map(|index| exchange(&mut rng, index, two_way))
            .collect();
        let started = Instant::now();
        for sample in &samples {
            black_box(estimator.update(black_box(sample)));
        }
        let elapsed: Duration = started.elapsed();
        println!(
            "{} {}: one simulated hour at 8 Hz in {:.3} s, {:.0} ns per exchange",
            estimator.name(),
            if two_way { "two way" } else { "one way" },
            elapsed.as_secs_f64(),
            elapsed.as_nanos() as f64 / hour as f64
        );
    }
}

criterion_group!(benches, bench_estimators);

fn main() {
    print_hour();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
