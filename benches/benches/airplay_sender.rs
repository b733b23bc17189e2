//! The AirPlay sender at 1000 receivers (issue 14: one core serves at least 1000 receivers;
//! benchmark the CPU time per receiver per second and the send jitter of Sync).
//!
//! Two parts, run by `cargo bench -p aptp-benches --bench airplay_sender`:
//!
//! - **Send jitter of Sync** (printed first, a table): the sans-IO sender runs 30 s of rounds
//!   on a virtual clock that starts each round at its nominal instant (every 125 ms) and then
//!   advances by the real time spent building datagrams (and, in the second row, sending each
//!   one through a real UDP socket to a loopback sink). Each Sync's send instant is the
//!   transmit timestamp handed back right after it left, so every figure includes the real
//!   cost of the Syncs, Follow_Ups and Announces served before it. Printed: the lateness of
//!   each Sync after its round's nominal instant, the spread of each round (last Sync − first
//!   Sync), each peer's Sync-to-Sync interval minus 125 ms (what a receiver sees), and the
//!   busy time per receiver per second.
//! - **CPU time per receiver per second** (criterion): one iteration is one second of the
//!   sender's work (eight Sync rounds, each Sync's transmit timestamp handed back and its
//!   Follow_Up built, plus the Announces), reported per receiver (`Throughput::Elements(1000)`),
//!   so criterion's "time per element" is the CPU time per receiver per second. Socket sends
//!   are not included there. Also `set_peers` of an unchanged 1000-peer list (O(n)).

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::Instant;

use aptp::airplay::{AirplaySender, SenderConfig};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::ClockIdentity;
use criterion::{criterion_group, Criterion, Throughput};

const RECEIVERS: u32 = 1_000;
/// Rounds measured for the jitter table (30 s at 8 Hz), after `WARM_UP_ROUNDS`.
const JITTER_ROUNDS: usize = 240;
const WARM_UP_ROUNDS: usize = 16;
const SYNC_INTERVAL_NS: i128 = 125_000_000;

fn start() -> Time {
    Time::from_secs_nanos(1_700_000_000, 0).unwrap_or(Time::EPOCH)
}

fn sender() -> AirplaySender<u32> {
    let config = SenderConfig::new(ClockIdentity([0x5e, 0x4d, 0, 0, 0, 0, 0, 8]));
    match AirplaySender::new(config, start()) {
        Ok(sender) => sender,
        Err(error) => panic!("the AirPlay profile is a valid configuration: {error}"),
    }
}

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

/// Where the datagrams go in a jitter run: nowhere (sans-IO only) or a real loopback socket.
struct Sink {
    socket: UdpSocket,
    _receiver: UdpSocket,
}

impl Sink {
    fn loopback() -> std::io::Result<Sink> {
        let receiver = UdpSocket::bind("127.0.0.1:0")?;
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(receiver.local_addr()?)?;
        Ok(Sink {
            socket,
            _receiver: receiver,
        })
    }
}

/// What one jitter run measured.
struct JitterRun {
    /// Each Sync's send instant after its round's nominal instant (ns).
    lateness_ns: Vec<i64>,
    /// Last Sync − first Sync, per round (ns).
    spread_ns: Vec<i64>,
    /// |Sync-to-Sync interval − 125 ms| of every peer (ns).
    interval_error_ns: Vec<i64>,
    /// Real time spent per receiver per second of service (ns).
    busy_ns_per_receiver_second: f64,
}

fn jitter_run(sink: Option<&Sink>) -> JitterRun {
    let mut sender = sender();
    sender.set_peers(0..RECEIVERS);
    let receivers = RECEIVERS as usize;
    let mut last_sent: Vec<Option<Time>> = vec![None; receivers];
    let mut lateness_ns = Vec::with_capacity(JITTER_ROUNDS * receivers);
    let mut spread_ns = Vec::with_capacity(JITTER_ROUNDS);
    let mut interval_error_ns = Vec::with_capacity(JITTER_ROUNDS * receivers);
    let mut busy_ns = 0u128;
    let mut nominal = start();
    for round in 0..WARM_UP_ROUNDS + JITTER_ROUNDS {
        let measured = round >= WARM_UP_ROUNDS;
        let wall = Instant::now();
        let clock = || nominal + TimeDelta::from_nanos_i128(wall.elapsed().as_nanos() as i128);
        sender.handle_timeout(clock());
        let (mut first, mut last) = (None, None);
        while let Some(transmit) = sender.poll_transmit(clock()) {
            if let Some(sink) = sink {
                // A full loopback buffer drops the datagram; the send's cost is what counts.
                let _ = black_box(sink.socket.send(&transmit.bytes));
            }
            let sent = clock();
            let Some(token) = transmit.timestamp_token else {
                continue;
            };
            sender.handle_transmit_timestamp(sent, token, sent);
            let aptp::engine::Destination::Unicast(peer) = transmit.destination else {
                continue;
            };
            first.get_or_insert(sent);
            last = Some(sent);
            let previous = last_sent[peer as usize].replace(sent);
            if measured {
                lateness_ns.push(nanos(sent.since(nominal).nanos_rounded()));
                if let Some(previous) = previous {
                    let interval = sent.since(previous).nanos_rounded();
                    interval_error_ns.push(nanos((interval - SYNC_INTERVAL_NS).abs()));
                }
            }
        }
        if measured {
            busy_ns += wall.elapsed().as_nanos();
            if let (Some(first), Some(last)) = (first, last) {
                spread_ns.push(nanos(last.since(first).nanos_rounded()));
            }
        }
        nominal = sender
            .poll_timeout()
            .unwrap_or(nominal + TimeDelta::from_millis(125));
    }
    let seconds = JITTER_ROUNDS as f64 / 8.0;
    JitterRun {
        lateness_ns,
        spread_ns,
        interval_error_ns,
        busy_ns_per_receiver_second: busy_ns as f64 / seconds / f64::from(RECEIVERS),
    }
}

fn nanos(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The `fraction` quantile (nearest rank) of `values`, in µs.
fn quantile_us(values: &mut [i64], fraction: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let rank = ((values.len() as f64 * fraction).ceil() as usize).clamp(1, values.len());
    values[rank - 1] as f64 / 1_000.0
}

fn print_jitter_table() {
    println!(
        "Sync send jitter at {RECEIVERS} receivers, {JITTER_ROUNDS} rounds (µs; virtual clock \
         advanced by real cost)"
    );
    println!(
        "| sends | Sync lateness p50 / p99 / max | round spread p50 / p99 / max | \
         per-peer interval error p50 / p99 / max | busy µs per receiver per s |"
    );
    println!("|---|---|---|---|---|");
    let sink = match Sink::loopback() {
        Ok(sink) => Some(sink),
        Err(error) => {
            println!("(no loopback socket, the send row is skipped: {error})");
            None
        }
    };
    let rows: [(&str, Option<&Sink>); 2] = [
        ("sans-IO (datagrams built, not sent)", None),
        ("sans-IO + UDP send on loopback", sink.as_ref()),
    ];
    for (name, sink) in rows {
        if name.contains("UDP") && sink.is_none() {
            continue;
        }
        let mut run = jitter_run(sink);
        let triple = |values: &mut Vec<i64>| {
            format!(
                "{:.0} / {:.0} / {:.0}",
                quantile_us(values, 0.5),
                quantile_us(values, 0.99),
                quantile_us(values, 1.0)
            )
        };
        println!(
            "| {name} | {} | {} | {} | {:.2} |",
            triple(&mut run.lateness_ns),
            triple(&mut run.spread_ns),
            triple(&mut run.interval_error_ns),
            run.busy_ns_per_receiver_second / 1_000.0
        );
    }
}

fn bench(criterion: &mut Criterion) {
    let start = start();
    let mut sender = sender();
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
    group.bench_function("set_peers_unchanged_1000", |b| {
        b.iter(|| sender.set_peers(black_box(0..RECEIVERS)))
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    // `cargo bench -- --list` and criterion's test mode only enumerate.
    let arguments: Vec<String> = std::env::args().collect();
    if !arguments.iter().any(|a| a == "--list" || a == "--test") {
        print_jitter_table();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
