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
//! The group `transport_then_engine` measures the same junk through the transport's receive
//! path first (aptp-transport's `PtpSocket::recv_on`: one `recvmmsg` system call for up to 32
//! datagrams with their kernel receive timestamps, then per datagram the length and
//! message-class check and the counters) and then the engine, over a loopback socket pair:
//! each iteration sends a batch of [`BATCH`] junk datagrams and one marker (untimed), then
//! times receiving until the marker, handing every datagram the transport passes to the
//! engine. Reported per junk datagram of the batch. The socket has its default configuration,
//! so the kernel's structure filter (`SocketConfig::kernel_structure_filter`) refuses junk
//! that cannot be PTP version 2 before it is queued: on loopback that work runs inside the
//! sender's untimed `sendto`, so this group times what the receiving process pays. The group
//! `transport_unfiltered_then_engine` is the same with that filter off
//! (`with_kernel_structure_filter(false)`): every datagram reaches user space, so it measures
//! the user-space receive path itself. Every junk datagram is accounted for after the run:
//! dropped by the kernel (the sockets' `drops` column in `/proc/net/udp`; zero for the
//! unfiltered group), by the transport (its counters) or by the engine (its counters). The
//! transport's classify step is internal (`pub(crate)`), so it is measured only as part of
//! this path.
//!
//! The group `transport_kernel_filter` measures junk that the transport's kernel socket
//! filter drops (`SocketConfig::with_accepted_sources`, the AirPlay receiver's setting): the
//! receiver accepts only 127.0.0.2, the junk comes from 127.0.0.1, the marker from
//! 127.0.0.2. On loopback the kernel's receive path — including the BPF program — runs inside
//! the sender's `sendto`, so timing only the receiver would show almost nothing (it is woken
//! once, for the marker). The timed region therefore covers sending the [`BATCH`] junk
//! datagrams and the marker and receiving until the marker, all in this thread: the figure is
//! an upper bound of what one filtered junk datagram costs the receiving machine, since it
//! includes the sender's `sendto` system call, which on a real network the sender pays. The
//! counters are checked after the run: the receiving process saw only the markers (received
//! = iterations, dropped = 0) and the engine nothing. All transport groups also print the
//! time spent in the junk `sendto` calls per datagram (untimed in the two groups above, part
//! of the figure here): comparing them bounds the kernel filter's cost, the rest of this
//! group's figure is the marker's `sendto` and its one receive per iteration.
//!
//! Run: `cargo bench -p aptp-benches --bench rejection`.

use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use aptp::engine::{Config, Engine, PortKind};
use aptp_benches::{find, messages, Sample};
use aptp_clock::Time;
use aptp_transport::{PtpSocket, SocketConfig, TimestampClock};
use aptp_wire::ClockIdentity;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The only master the slave accepts: not the samples' sender.
const REAL_MASTER: ClockIdentity = ClockIdentity([0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);

/// Junk datagrams per iteration of the transport group (plus one marker): few enough to fit
/// the socket's default receive buffer.
const BATCH: usize = 64;

fn slave<A: Copy + Eq + core::fmt::Debug>() -> Engine<A> {
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

/// A message whose bytes no junk set contains, of the class of `port` (a Delay_Req on the
/// event port, a Delay_Resp on the general port): the end of a batch.
fn marker(port: aptp_transport::PortKind) -> Vec<u8> {
    let mut bytes = vec![0u8; 44];
    bytes[0] = match port {
        aptp_transport::PortKind::Event => 0x01,
        aptp_transport::PortKind::General => 0x09,
    };
    bytes[1] = 0x02;
    bytes[2..4].copy_from_slice(&44u16.to_be_bytes());
    bytes[20..28].copy_from_slice(b"MARKER!!");
    bytes
}

/// Datagrams the kernel dropped on the UDP sockets bound to `ports` on 127.0.0.1 (the
/// `drops` column of `/proc/net/udp`: a socket filter's refusals and receive-queue overflows).
fn kernel_drops(ports: [u16; 2]) -> u64 {
    let table = match std::fs::read_to_string("/proc/net/udp") {
        Ok(table) => table,
        Err(error) => panic!("reading /proc/net/udp: {error}"),
    };
    let wanted = ports.map(|port| format!("0100007F:{port:04X}"));
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = *fields.get(1)?;
            if !wanted.iter().any(|address| address == local) {
                return None;
            }
            fields.last()?.parse::<u64>().ok()
        })
        .sum()
}

fn transport_then_engine(c: &mut Criterion) {
    through_transport(c, "transport_then_engine", true);
    through_transport(c, "transport_unfiltered_then_engine", false);
}

/// The groups `transport_then_engine` (the default configuration: the kernel's structure
/// filter on) and `transport_unfiltered_then_engine` (`with_kernel_structure_filter(false)`:
/// every datagram reaches user space).
fn through_transport(c: &mut Criterion, group_name: &str, structure_filter: bool) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("a tokio runtime: {error}"),
    };
    let config = SocketConfig::new("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()))
        .with_ports(0, 0)
        .with_clock(TimestampClock::Monotonic)
        .with_kernel_structure_filter(structure_filter);
    let receiver = match runtime.block_on(async { PtpSocket::bind(config) }) {
        Ok(socket) => socket,
        Err(error) => panic!("binding the receiving PtpSocket on loopback: {error}"),
    };
    let ports = [
        receiver.local_addr(aptp_transport::PortKind::Event).port(),
        receiver
            .local_addr(aptp_transport::PortKind::General)
            .port(),
    ];
    let sender = match UdpSocket::bind("127.0.0.1:0") {
        Ok(socket) => socket,
        Err(error) => panic!("binding the sending socket: {error}"),
    };
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, set) in junk_sets() {
        let mut engine: Engine<SocketAddr> = slave();
        let now = Time::from_nanos(1_000_000_000);
        let mut batches = 0u64;
        let mut passed = 0u64;
        let mut sending = Duration::ZERO;
        let mut timed = Duration::ZERO;
        let before = receiver.counters();
        let kernel_before = kernel_drops(ports);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    // Event and general port in turn, one port per batch (so the marker
                    // comes last on the socket read).
                    let port = if batches & 1 == 0 {
                        aptp_transport::PortKind::Event
                    } else {
                        aptp_transport::PortKind::General
                    };
                    let engine_port = match port {
                        aptp_transport::PortKind::Event => PortKind::Event,
                        aptp_transport::PortKind::General => PortKind::General,
                    };
                    let to = receiver.local_addr(port);
                    let marker = marker(port);
                    let first = (batches as usize * BATCH) % 256;
                    let send_start = Instant::now();
                    for bytes in set.iter().cycle().skip(first).take(BATCH) {
                        if let Err(error) = sender.send_to(bytes, to) {
                            panic!("sending junk: {error}");
                        }
                    }
                    sending += send_start.elapsed();
                    if let Err(error) = sender.send_to(&marker, to) {
                        panic!("sending the marker: {error}");
                    }
                    batches += 1;
                    let start = Instant::now();
                    runtime.block_on(async {
                        loop {
                            let received = match receiver.recv_on(port).await {
                                Ok(received) => received,
                                Err(error) => panic!("receiving: {error}"),
                            };
                            if received.data == marker {
                                break;
                            }
                            passed += 1;
                            engine.handle_datagram(
                                now,
                                black_box(&received.data),
                                received.source,
                                engine_port,
                                now,
                            );
                        }
                    });
                    total += start.elapsed();
                }
                timed += total;
                total
            })
        });
        let after = receiver.counters();
        let kernel_dropped = kernel_drops(ports) - kernel_before;
        let sent = engine.poll_transmit(now);
        let counters = engine.counters();
        let transport_dropped = after.dropped() - before.dropped();
        let junk = batches * BATCH as u64;
        // Every junk datagram was refused by one of the three, and none changed the slave;
        // without the structure filter the kernel refused none.
        assert!(
            kernel_dropped + transport_dropped + passed == junk
                && (structure_filter || kernel_dropped == 0)
                && after.received - before.received == passed + batches
                && counters.received == passed
                && counters.total_dropped() == passed
                && counters.measurements == 0
                && engine.foreign_master_count() == 0
                && sent.is_none(),
            "{group_name}/{name}: {batches} batches, kernel dropped {kernel_dropped}, \
             transport dropped {transport_dropped}, passed {passed}, engine {counters:?}"
        );
        let reached = transport_dropped + passed + batches;
        eprintln!(
            "{group_name}/{name}: of {junk} junk datagrams the kernel filter dropped {kernel_dropped}, \
             the transport {transport_dropped}, the engine the other {passed}; \
             {:.0} ns per datagram that reached user space (markers included); \
             sendto (not timed above, kernel receive path included): {:.0} ns per datagram",
            timed.as_nanos() as f64 / reached as f64,
            sending.as_nanos() as f64 / junk as f64
        );
    }
    group.finish();
}

fn transport_kernel_filter(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("a tokio runtime: {error}"),
    };
    let accepted: std::net::IpAddr = "127.0.0.2".parse().unwrap_or_else(|_| unreachable!());
    let config = SocketConfig::new("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()))
        .with_ports(0, 0)
        .with_clock(TimestampClock::Monotonic)
        .with_accepted_sources([accepted]);
    let receiver = match runtime.block_on(async { PtpSocket::bind(config) }) {
        Ok(socket) => socket,
        Err(error) => panic!("binding the filtered PtpSocket on loopback: {error}"),
    };
    let junk_sender = match UdpSocket::bind("127.0.0.1:0") {
        Ok(socket) => socket,
        Err(error) => panic!("binding the junk sender: {error}"),
    };
    let peer = match UdpSocket::bind((accepted, 0)) {
        Ok(socket) => socket,
        Err(error) => panic!("binding the accepted peer on 127.0.0.2: {error}"),
    };
    let mut group = c.benchmark_group("transport_kernel_filter");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, set) in junk_sets() {
        let mut engine: Engine<SocketAddr> = slave();
        let now = Time::from_nanos(1_000_000_000);
        let mut batches = 0u64;
        let mut passed = 0u64;
        let mut sending = Duration::ZERO;
        let before = receiver.counters();
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    let port = if batches & 1 == 0 {
                        aptp_transport::PortKind::Event
                    } else {
                        aptp_transport::PortKind::General
                    };
                    let engine_port = match port {
                        aptp_transport::PortKind::Event => PortKind::Event,
                        aptp_transport::PortKind::General => PortKind::General,
                    };
                    let to = receiver.local_addr(port);
                    let marker = marker(port);
                    let first = (batches as usize * BATCH) % 256;
                    let send_start = Instant::now();
                    for bytes in set.iter().cycle().skip(first).take(BATCH) {
                        if let Err(error) = junk_sender.send_to(bytes, to) {
                            panic!("sending junk: {error}");
                        }
                    }
                    sending += send_start.elapsed();
                    if let Err(error) = peer.send_to(&marker, to) {
                        panic!("sending the marker: {error}");
                    }
                    batches += 1;
                    runtime.block_on(async {
                        loop {
                            let received = match receiver.recv_on(port).await {
                                Ok(received) => received,
                                Err(error) => panic!("receiving: {error}"),
                            };
                            if received.data == marker {
                                break;
                            }
                            passed += 1;
                            engine.handle_datagram(
                                now,
                                black_box(&received.data),
                                received.source,
                                engine_port,
                                now,
                            );
                        }
                    });
                }
                start.elapsed()
            })
        });
        let after = receiver.counters();
        let counters = engine.counters();
        // The kernel dropped every junk datagram: the process saw only the markers.
        assert!(
            passed == 0
                && after.received - before.received == passed + batches
                && after.dropped() == before.dropped()
                && counters.received == 0,
            "{name}: {batches} batches, {passed} junk datagrams reached user space, transport {after:?}"
        );
        let junk = (batches * BATCH as u64) as f64;
        eprintln!(
            "{name}: the kernel filter dropped all {} junk datagrams; the process received {batches} markers; \
             of the time above, sendto of the junk (kernel receive path and filter included): {:.0} ns per datagram",
            batches * BATCH as u64,
            sending.as_nanos() as f64 / junk
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = rejection, transport_then_engine, transport_kernel_filter
}
criterion_main!(benches);
