//! Cost of rejecting junk: nanoseconds per datagram that a slave [`Engine`] drops, for
//! random bytes, truncated or inconsistent PTP, and well-formed messages from a source it
//! does not follow (an Apple grandmaster's Sync, Follow_Up and Announce while the slave's
//! acceptable-master list names another clock). Reported per datagram
//! (`Throughput::Elements`): the goal (issue 17) is at least a million junk datagrams per
//! second on one core, i.e. under 1 µs each.
//!
//! Each iteration hands the engine the next datagram of a set of 256, so the branch
//! predictor sees a mix, as under a flood. The counters are checked after the run: every
//! datagram must have been dropped, none accepted.
//!
//! Run: `cargo bench -p aptp-benches --bench rejection`.

use std::hint::black_box;
use std::time::Duration;

use aptp::engine::{Config, Engine, PortKind};
use aptp_benches::{find, messages, Sample};
use aptp_clock::Time;
use aptp_wire::ClockIdentity;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The only master the slave accepts: not the samples' sender.
const REAL_MASTER: ClockIdentity = ClockIdentity([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);

fn slave() -> Engine<u32> {
    let config = Config {
        slave_only: true,
        acceptable_masters: vec![REAL_MASTER],
        ..Config::default()
    };
    match Engine::new(
        config,
        ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 1]),
        Time::EPOCH,
    ) {
        Ok(engine) => engine,
        Err(error) => panic!("the slave's configuration is valid: {error}"),
    }
}

/// splitmix64, for reproducible random bytes.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

fn sample(samples: &[Sample], name: &str) -> Vec<u8> {
    match find(samples, name) {
        Some(sample) => sample.bytes.clone(),
        None => panic!("no sample named {name}"),
    }
}

/// The junk sets, 256 datagrams each.
fn junk_sets() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let samples = match messages() {
        Ok(samples) => samples,
        Err(error) => panic!("building the sample messages failed: {error}"),
    };
    let sync = sample(&samples, "sync");
    let follow_up = sample(&samples, "airplay_follow_up");
    let announce = sample(&samples, "airplay_announce");
    let random = (0..256)
        .map(|i| random_bytes(i, 20 + (i as usize * 7) % 200))
        .collect();
    let inconsistent = (0..256usize)
        .map(|i| {
            let mut bytes = if i % 2 == 0 {
                sync.clone()
            } else {
                announce.clone()
            };
            match i % 4 {
                // Truncated inside the header.
                0 | 1 => bytes.truncate(10 + i % 24),
                // messageLength beyond the datagram.
                2 => bytes[2..4].copy_from_slice(&400u16.to_be_bytes()),
                // Zero-length.
                _ => bytes.clear(),
            }
            bytes
        })
        .collect();
    let not_followed = (0..256usize)
        .map(|i| {
            let mut bytes = [&sync, &follow_up, &announce][i % 3].clone();
            // A different sequenceId each (offset 30 in the common header).
            bytes[30..32].copy_from_slice(&(i as u16).to_be_bytes());
            bytes
        })
        .collect();
    vec![
        ("random_bytes", random),
        ("truncated_or_inconsistent", inconsistent),
        ("not_followed_source", not_followed),
    ]
}

fn rejection(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_rejects");
    group.throughput(Throughput::Elements(1));
    for (name, set) in junk_sets() {
        let mut engine = slave();
        let mut index = 0usize;
        let now = Time::from_nanos(1_000_000_000);
        group.bench_function(name, |b| {
            b.iter(|| {
                let bytes = &set[index & 255];
                let port = if index & 1 == 0 {
                    PortKind::Event
                } else {
                    PortKind::General
                };
                index = index.wrapping_add(1);
                engine.handle_datagram(now, black_box(bytes), 7, port, now);
            })
        });
        let sent = engine.poll_transmit(now);
        let counters = engine.counters();
        assert!(
            counters.received == index as u64
                && counters.total_dropped() == counters.received
                && counters.measurements == 0
                && engine.foreign_master_count() == 0
                && sent.is_none(),
            "{name}: junk changed the slave's state: {:?}",
            engine.counters()
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = rejection
}
criterion_main!(benches);
