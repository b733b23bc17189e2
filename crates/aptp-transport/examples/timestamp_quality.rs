//! Measures what the transport's timestamps are worth: on a veth pair between two network
//! namespaces, sends Sync-like datagrams from one PtpSocket to another and reports
//! (receive timestamp − transmit timestamp) of the same datagram, p50 / p99 / max, for kernel
//! software timestamps against user-space ones, on an idle and on a loaded machine.
//!
//! Both namespaces share one kernel clock, so that difference is the path delay plus the
//! timestamping error; its spread is what the layers above must live with.
//!
//! Needs root (creates and deletes namespaces `aptp-tq-<pid>-{a,b}` with 192.0.2.1/2):
//!
//! ```text
//! cargo run --release -p aptp-transport --example timestamp_quality [samples per row]
//! ```

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aptp_transport::{PortKind, PtpSocket, SocketConfig, TimestampClock, TimestampSource};
use nix::sched::{setns, CloneFlags};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Two namespaces joined by a veth pair; deleted on drop.
struct VethPair {
    namespaces: [String; 2],
}

fn ip(args: &[&str]) -> Result<(), Error> {
    let output = Command::new("ip").args(args).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into())
    }
}

impl VethPair {
    fn create() -> Result<Self, Error> {
        let pid = std::process::id();
        let pair = VethPair {
            namespaces: [format!("aptp-tq-{pid}-a"), format!("aptp-tq-{pid}-b")],
        };
        // From here on, dropping `pair` deletes whatever was created.
        let [a, b] = &pair.namespaces;
        ip(&["netns", "add", a])?;
        ip(&["netns", "add", b])?;
        ip(&[
            "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b,
        ])?;
        for (namespace, address) in [(a, "192.0.2.1/24"), (b, "192.0.2.2/24")] {
            ip(&["-n", namespace, "addr", "add", address, "dev", "veth0"])?;
            ip(&["-n", namespace, "link", "set", "lo", "up"])?;
            ip(&["-n", namespace, "link", "set", "veth0", "up"])?;
        }
        std::thread::sleep(Duration::from_millis(200)); // carrier up on both ends
        Ok(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for namespace in &self.namespaces {
            let _ = ip(&["netns", "del", namespace]);
        }
    }
}

/// Binds a PtpSocket inside `namespace`: a thread enters the namespace (network namespaces
/// are per thread), creates the sockets there, and they stay in it for their whole life.
fn bind_in(
    namespace: &str,
    config: SocketConfig,
    runtime: &tokio::runtime::Handle,
) -> Result<PtpSocket, Error> {
    let path = format!("/run/netns/{namespace}");
    let runtime = runtime.clone();
    std::thread::spawn(move || -> Result<PtpSocket, Error> {
        setns(File::open(path)?, CloneFlags::CLONE_NEWNET)?;
        let _entered = runtime.enter();
        Ok(PtpSocket::bind(config)?)
    })
    .join()
    .map_err(|_| "binding thread panicked")?
}

struct Row {
    timestamps: &'static str,
    clock: TimestampClock,
    load: &'static str,
    samples: usize,
    kernel_share: f64,
    p50_ns: i64,
    p99_ns: i64,
    max_ns: i64,
}

fn percentile(sorted: &[i64], fraction: f64) -> i64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

async fn measure(
    pair: &VethPair,
    runtime: &tokio::runtime::Handle,
    kernel: bool,
    clock: TimestampClock,
    samples: u16,
) -> Result<(Vec<i64>, f64), Error> {
    let config = |address: &str| {
        SocketConfig::new(address.parse().expect("a literal address"))
            .with_interface("veth0")
            .with_ports(31_900, 32_000)
            .with_clock(clock)
            .with_kernel_timestamps(kernel)
    };
    let sender = bind_in(&pair.namespaces[0], config("0.0.0.0"), runtime)?;
    let receiver = Arc::new(bind_in(&pair.namespaces[1], config("0.0.0.0"), runtime)?);
    let destination = sender.destination(PortKind::Event, "192.0.2.2".parse()?);

    // Warm up (lets the kernel switch receive timestamps on, fills ARP).
    for _ in 0..50 {
        sender.send_event(&sync(0xFFFF), destination).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(1), receiver.recv()).await {}

    let receiving = {
        let receiver = receiver.clone();
        tokio::spawn(async move {
            let mut rx = vec![None; usize::from(samples)];
            let mut kernel_count = 0usize;
            let mut got = 0;
            while got < rx.len() {
                let Ok(Ok(received)) =
                    tokio::time::timeout(Duration::from_secs(2), receiver.recv()).await
                else {
                    break;
                };
                let sequence_id = u16::from_be_bytes([received.data[30], received.data[31]]);
                if let Some(slot) = rx.get_mut(usize::from(sequence_id)) {
                    if received.rx_timestamp.source == TimestampSource::Kernel {
                        kernel_count += 1;
                    }
                    *slot = Some(received.rx_timestamp);
                    got += 1;
                }
            }
            (rx, kernel_count)
        })
    };
    let mut tx = Vec::with_capacity(usize::from(samples));
    let mut kernel_count = 0usize;
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    for sequence_id in 0..samples {
        interval.tick().await;
        let stamp = sender.send_event(&sync(sequence_id), destination).await?;
        if stamp.source == TimestampSource::Kernel {
            kernel_count += 1;
        }
        tx.push(stamp);
    }
    let (rx, rx_kernel) = receiving.await?;
    let mut deltas: Vec<i64> = tx
        .iter()
        .zip(&rx)
        .filter_map(|(tx, rx)| rx.map(|rx| rx.time.nanos_since(tx.time)))
        .collect();
    deltas.sort_unstable();
    let kernel_share = (kernel_count + rx_kernel) as f64 / (2.0 * f64::from(samples));
    Ok((deltas, kernel_share))
}

fn sync(sequence_id: u16) -> Vec<u8> {
    let mut data = vec![0u8; 44];
    data[0] = 0x10; // Sync, majorSdoId 1
    data[1] = 0x12;
    data[2..4].copy_from_slice(&44u16.to_be_bytes());
    data[30..32].copy_from_slice(&sequence_id.to_be_bytes());
    data
}

/// Busy threads, one per CPU, until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cpus)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn main() -> Result<(), Error> {
    let samples: u16 = match std::env::args().nth(1) {
        Some(argument) => argument.parse()?,
        None => 2000,
    };
    let pair = VethPair::create()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let mut rows = Vec::new();
    for (load_name, loaded) in [("idle", false), ("2 busy threads", true)] {
        for (timestamps, kernel, clock) in [
            ("kernel", true, TimestampClock::Realtime),
            ("kernel", true, TimestampClock::MonotonicRaw),
            ("user space", false, TimestampClock::MonotonicRaw),
        ] {
            let load = loaded.then(Load::start);
            let (deltas, kernel_share) =
                runtime.block_on(measure(&pair, &handle, kernel, clock, samples))?;
            drop(load);
            rows.push(Row {
                timestamps,
                clock,
                load: load_name,
                samples: deltas.len(),
                kernel_share,
                p50_ns: percentile(&deltas, 0.50),
                p99_ns: percentile(&deltas, 0.99),
                max_ns: deltas.last().copied().unwrap_or_default(),
            });
        }
    }
    println!("rx timestamp − tx timestamp of the same datagram, veth pair between two namespaces");
    println!("| timestamps | clock | load | samples | kernel-stamped | p50 µs | p99 µs | max µs |");
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} % | {:.1} | {:.1} | {:.1} |",
            row.timestamps,
            row.clock,
            row.load,
            row.samples,
            row.kernel_share * 100.0,
            row.p50_ns as f64 / 1000.0,
            row.p99_ns as f64 / 1000.0,
            row.max_ns as f64 / 1000.0,
        );
    }
    Ok(())
}
