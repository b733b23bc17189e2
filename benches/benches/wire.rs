//! aptp-wire's speed: parse, parse + validate, parse + decode every TLV, and emit, for every
//! message type and AirPlay's forms, and for one second of a real AirPlay capture, all
//! reported per message (`Throughput::Elements`).
//!
//! Run: `cargo bench -p aptp-benches --bench wire` (a filter such as `-- parse/` runs one
//! group). The goals (issue 10): parsing a Sync or Follow_Up under 10 ns, a Follow_Up with its
//! 802.1AS TLV under 20 ns.

use std::hint::black_box;
use std::time::Duration;

use aptp_benches::{capture_stream, messages, Sample};
use aptp_wire::airplay::{CompactTimingPacket, NtpTimingPacket};
use aptp_wire::{Message, WireError};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Big enough for every sample.
const BUFFER_LEN: usize = 512;

/// The samples, or a panic naming why they could not be built (a bench cannot go on).
fn samples() -> Vec<Sample> {
    match messages() {
        Ok(samples) => samples,
        Err(error) => panic!("building the sample messages failed: {error}"),
    }
}

/// Parses and strictly validates one message; what a receiver does first.
fn parse_validate(bytes: &[u8]) -> Result<Message<'_>, WireError> {
    let message = Message::parse(bytes)?;
    message.validate()?;
    Ok(message)
}

/// Parses, then checks and decodes every TLV into its typed view.
fn parse_decode_tlvs(bytes: &[u8]) -> Result<usize, WireError> {
    let message = Message::parse(bytes)?;
    let mut count = 0;
    for tlv in message.tlvs {
        black_box(tlv?.decode()?);
        count += 1;
    }
    Ok(count)
}

fn parse(c: &mut Criterion) {
    let samples = samples();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    for sample in &samples {
        group.bench_function(sample.name, |b| {
            b.iter(|| Message::parse(black_box(&sample.bytes[..])))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("parse_validate");
    group.throughput(Throughput::Elements(1));
    for sample in &samples {
        group.bench_function(sample.name, |b| {
            b.iter(|| parse_validate(black_box(&sample.bytes[..])))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("parse_decode_tlvs");
    group.throughput(Throughput::Elements(1));
    for sample in &samples {
        let has_tlvs = Message::parse(&sample.bytes).is_ok_and(|m| !m.tlvs.is_empty());
        if has_tlvs {
            group.bench_function(sample.name, |b| {
                b.iter(|| parse_decode_tlvs(black_box(&sample.bytes[..])))
            });
        }
    }
    group.finish();
}

fn emit(c: &mut Criterion) {
    let samples = samples();
    let mut group = c.benchmark_group("emit");
    group.throughput(Throughput::Elements(1));
    for sample in &samples {
        let Ok(message) = Message::parse(&sample.bytes) else {
            panic!("sample {} does not parse", sample.name);
        };
        let mut out = [0u8; BUFFER_LEN];
        group.bench_function(sample.name, |b| {
            b.iter(|| black_box(&message).emit(black_box(&mut out[..])))
        });
    }
    group.finish();

    // emit_buf into a BufMut (a Vec that keeps its capacity), for the AirPlay Follow_Up.
    let Some(follow_up) = aptp_benches::find(&samples, "airplay_follow_up") else {
        panic!("no airplay_follow_up sample");
    };
    let Ok(message) = Message::parse(&follow_up.bytes) else {
        panic!("airplay_follow_up does not parse");
    };
    let mut group = c.benchmark_group("emit_buf");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(BUFFER_LEN);
    group.bench_function("airplay_follow_up", |b| {
        b.iter(|| {
            out.clear();
            black_box(&message).emit_buf(&mut out)
        })
    });
    group.finish();
}

fn capture(c: &mut Criterion) {
    let stream = match capture_stream() {
        Ok(stream) => stream,
        Err(error) => panic!("building the capture stream failed: {error}"),
    };
    let mut group = c.benchmark_group("capture_stream");
    group.throughput(Throughput::Elements(stream.len() as u64));
    group.bench_function("parse_validate", |b| {
        b.iter(|| {
            for datagram in &stream {
                let _ = black_box(parse_validate(black_box(datagram)));
            }
        })
    });
    group.bench_function("parse_decode_tlvs", |b| {
        b.iter(|| {
            for datagram in &stream {
                let _ = black_box(parse_decode_tlvs(black_box(datagram)));
            }
        })
    });
    let messages: Vec<Message<'_>> = stream
        .iter()
        .filter_map(|datagram| Message::parse(datagram).ok())
        .collect();
    assert_eq!(
        messages.len(),
        stream.len(),
        "every datagram of the stream parses"
    );
    let mut out = [0u8; BUFFER_LEN];
    group.bench_function("emit", |b| {
        b.iter(|| {
            for message in &messages {
                let _ = black_box(message.emit(black_box(&mut out[..])));
            }
        })
    });
    group.finish();
}

fn airplay_packets(c: &mut Criterion) {
    let mut group = c.benchmark_group("airplay_packet");
    group.throughput(Throughput::Elements(1));
    for sample in aptp_benches::compact_timing_packets()
        .into_iter()
        .flatten()
        .take(1)
    {
        group.bench_function("compact_parse", |b| {
            b.iter(|| CompactTimingPacket::parse(black_box(&sample.bytes[..])))
        });
    }
    for sample in aptp_benches::ntp_timing_packets().into_iter().take(1) {
        group.bench_function("ntp_parse", |b| {
            b.iter(|| NtpTimingPacket::parse(black_box(&sample.bytes[..])))
        });
    }
    group.finish();
}

/// Short measurements: 65 benchmarks on a shared 2-core machine.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = wire;
    config = config();
    targets = parse, emit, capture, airplay_packets
}
criterion_main!(wire);
