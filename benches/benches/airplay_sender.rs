//! The AirPlay sender's CPU cost at 1000 receivers: one iteration is one second of its work
//! (eight Sync rounds, each Sync's transmit timestamp handed back and its Follow_Up built,
//! plus the Announces), reported per receiver (`Throughput::Elements(1000)`), so criterion's
//! "time per element" is the CPU time per receiver per second. Socket sends are not included
//! (the kernel's share is measured by the namespace tests, not here).
//!
//! Run: `cargo bench -p aptp-benches --bench airplay_sender`. The goal (issue 14): one core
//! serves at least 1000 receivers, i.e. well under 1 ms of CPU per receiver per second.

use std::hint::black_box;

use aptp::airplay::{AirplaySender, SenderConfig};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::ClockIdentity;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECEIVERS: u32 = 1_000;

fn one_second(sender: &mut AirplaySender<u32>, start: Time) -> usize {
    let mut sent = 0;
    let mut now = start;
    for _ in 0..8 {
        sender.handle_timeout(now);
        while let Some(transmit) = sender.poll_transmit(now) {
            if let Some(token) = transmit.timestamp_token {
                sender.handle_transmit_timestamp(now, token, now + TimeDelta::from_nanos(700));
            }
            sent += black_box(transmit.bytes.len());
        }
        now = sender
            .poll_timeout()
            .unwrap_or(now + TimeDelta::from_millis(125));
    }
    sent
}

fn bench(criterion: &mut Criterion) {
    let start = Time::from_secs_nanos(1_700_000_000, 0).unwrap_or(Time::EPOCH);
    let config = SenderConfig::new(ClockIdentity([0x5e, 0x4d, 0, 0, 0, 0, 0, 8]));
    let mut sender = match AirplaySender::new(config, start) {
        Ok(sender) => sender,
        Err(error) => panic!("the AirPlay profile is a valid configuration: {error}"),
    };
    sender.set_peers(0..RECEIVERS);
    let mut group = criterion.benchmark_group("airplay_sender");
    group.throughput(Throughput::Elements(u64::from(RECEIVERS)));
    let mut second = start;
    group.bench_function("one_second_1000_receivers", |b| {
        b.iter(|| {
            let sent = one_second(&mut sender, second);
            second += TimeDelta::from_secs(1);
            sent
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
