//! aptp-wire's speed: parse, parse + validate, parse + decode every TLV, and emit, for every
//! message type and AirPlay's forms, and for one second of a real AirPlay capture, all
//! reported per message (`Throughput::Elements`).
//!
//! Run: `cargo bench -p aptp-benches --bench wire` (a filter such as `-- parse/` runs one
//! group). The goals (issue 10): parsing a Sync or Follow_Up under 10 ns, a Follow_Up with its
//! 802.1AS TLV under 20 ns.
//!
//! The `view_read` and `parse_read` groups do a slave's work on the hot messages two ways: a
//! checked zero-copy `MessageView` (then the typed body view), and `Message::parse` (the fully
//! decoded message); each reads the same fields (sequenceId and the timestamp; for Follow_Up
//! the correctionField, and with the 802.1AS TLV its four fields decoded; for Delay_Resp the
//! requestingPortIdentity) and returns them to `black_box`.

use std::hint::black_box;
use std::time::Duration;

use aptp_benches::{capture_stream, messages, Sample};
use aptp_wire::airplay::{CompactTimingPacket, NtpTimingPacket};
use aptp_wire::{
    Body, BodyView, FollowUpInformation, Message, MessageView, PortIdentity, TimeInterval,
    Timestamp, WireError,
};
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

/// A Sync through the view: sequenceId and originTimestamp.
fn view_sync(bytes: &[u8]) -> Option<(u16, Timestamp)> {
    match MessageView::new_checked(bytes).ok()?.body() {
        BodyView::Sync(sync) => Some((sync.sequence_id(), sync.origin_timestamp())),
        _ => None,
    }
}

/// A Follow_Up through the view: sequenceId, preciseOriginTimestamp, correctionField.
fn view_follow_up(bytes: &[u8]) -> Option<(u16, Timestamp, TimeInterval)> {
    match MessageView::new_checked(bytes).ok()?.body() {
        BodyView::FollowUp(f) => Some((
            f.sequence_id(),
            f.precise_origin_timestamp(),
            f.correction_field(),
        )),
        _ => None,
    }
}

/// [`view_follow_up`] and the 802.1AS Follow_Up information TLV, decoded.
fn view_follow_up_information(
    bytes: &[u8],
) -> Option<(u16, Timestamp, TimeInterval, FollowUpInformation)> {
    match MessageView::new_checked(bytes).ok()?.body() {
        BodyView::FollowUp(f) => Some((
            f.sequence_id(),
            f.precise_origin_timestamp(),
            f.correction_field(),
            f.follow_up_information()?.to_follow_up_information(),
        )),
        _ => None,
    }
}

/// A Delay_Resp through the view: sequenceId, receiveTimestamp, requestingPortIdentity.
fn view_delay_resp(bytes: &[u8]) -> Option<(u16, Timestamp, PortIdentity)> {
    match MessageView::new_checked(bytes).ok()?.body() {
        BodyView::DelayResp(d) => Some((
            d.sequence_id(),
            d.receive_timestamp(),
            d.requesting_port_identity(),
        )),
        _ => None,
    }
}

/// [`view_sync`] through `Message::parse`.
fn parse_sync(bytes: &[u8]) -> Option<(u16, Timestamp)> {
    let message = Message::parse(bytes).ok()?;
    match message.body {
        Body::Sync { origin_timestamp } => Some((message.header.sequence_id, origin_timestamp)),
        _ => None,
    }
}

/// [`view_follow_up`] through `Message::parse`.
fn parse_follow_up(bytes: &[u8]) -> Option<(u16, Timestamp, TimeInterval)> {
    let message = Message::parse(bytes).ok()?;
    match message.body {
        Body::FollowUp {
            precise_origin_timestamp,
        } => Some((
            message.header.sequence_id,
            precise_origin_timestamp,
            message.header.correction_field,
        )),
        _ => None,
    }
}

/// [`view_follow_up_information`] through `Message::parse` and `FollowUpInformation::decode`
/// of the first TLV.
fn parse_follow_up_information(
    bytes: &[u8],
) -> Option<(u16, Timestamp, TimeInterval, FollowUpInformation)> {
    let message = Message::parse(bytes).ok()?;
    match message.body {
        Body::FollowUp {
            precise_origin_timestamp,
        } => {
            let tlv = { message.tlvs }.next()?.ok()?;
            Some((
                message.header.sequence_id,
                precise_origin_timestamp,
                message.header.correction_field,
                FollowUpInformation::decode(tlv).ok()?,
            ))
        }
        _ => None,
    }
}

/// [`view_delay_resp`] through `Message::parse`.
fn parse_delay_resp(bytes: &[u8]) -> Option<(u16, Timestamp, PortIdentity)> {
    let message = Message::parse(bytes).ok()?;
    match message.body {
        Body::DelayResp {
            receive_timestamp,
            requesting_port_identity,
        } => Some((
            message.header.sequence_id,
            receive_timestamp,
            requesting_port_identity,
        )),
        _ => None,
    }
}

/// The hot-path reads, through the view and through `Message::parse`, on the samples they
/// apply to; each sample is checked to give the same values both ways before it is timed.
fn reads(c: &mut Criterion) {
    let samples = samples();
    let sample = |name: &str| match aptp_benches::find(&samples, name) {
        Some(sample) => sample.bytes.clone(),
        None => panic!("no {name} sample"),
    };
    let sync = sample("sync");
    let follow_up = sample("follow_up");
    let follow_up_802_1as = sample("follow_up_802_1as");
    let airplay_follow_up = sample("airplay_follow_up");
    let delay_resp = sample("delay_resp_control_field_0");
    assert!(view_sync(&sync).is_some() && view_sync(&sync) == parse_sync(&sync));
    assert!(view_follow_up(&follow_up).is_some());
    assert_eq!(view_follow_up(&follow_up), parse_follow_up(&follow_up));
    for bytes in [&follow_up_802_1as, &airplay_follow_up] {
        assert!(view_follow_up_information(bytes).is_some());
        assert_eq!(
            view_follow_up_information(bytes),
            parse_follow_up_information(bytes)
        );
    }
    assert!(view_delay_resp(&delay_resp).is_some());
    assert_eq!(view_delay_resp(&delay_resp), parse_delay_resp(&delay_resp));

    let mut group = c.benchmark_group("view_read");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sync", |b| b.iter(|| view_sync(black_box(&sync))));
    group.bench_function("follow_up", |b| {
        b.iter(|| view_follow_up(black_box(&follow_up)))
    });
    group.bench_function("follow_up_802_1as", |b| {
        b.iter(|| view_follow_up_information(black_box(&follow_up_802_1as)))
    });
    group.bench_function("airplay_follow_up", |b| {
        b.iter(|| view_follow_up_information(black_box(&airplay_follow_up)))
    });
    group.bench_function("delay_resp", |b| {
        b.iter(|| view_delay_resp(black_box(&delay_resp)))
    });
    group.finish();

    let mut group = c.benchmark_group("parse_read");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sync", |b| b.iter(|| parse_sync(black_box(&sync))));
    group.bench_function("follow_up", |b| {
        b.iter(|| parse_follow_up(black_box(&follow_up)))
    });
    group.bench_function("follow_up_802_1as", |b| {
        b.iter(|| parse_follow_up_information(black_box(&follow_up_802_1as)))
    });
    group.bench_function("airplay_follow_up", |b| {
        b.iter(|| parse_follow_up_information(black_box(&airplay_follow_up)))
    });
    group.bench_function("delay_resp", |b| {
        b.iter(|| parse_delay_resp(black_box(&delay_resp)))
    });
    group.finish();
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
    targets = parse, reads, emit, capture, airplay_packets
}
criterion_main!(wire);
