//! Soak in virtual time: an [`AirplaySender`] serving [`AirplayReceiver`]s at 8 Hz over
//! simulated Wi-Fi (log-normal queueing, 1 % late spikes, 5 % loss, asymmetric paths) for
//! simulated days, with the receivers' clocks off by up to ±50 ppm.
//!
//! What must hold over the whole run, checked as it goes:
//! - **bounded memory**: the process's live heap (a counting global allocator) after the
//!   first simulated day does not grow by more than [`HEAP_GROWTH_LIMIT_BYTES`] by the end,
//!   and every receiver's timing-peer table stays within its capacity;
//! - **no drift**: each receiver's mapping error (its `to_local` of the sender's true time
//!   minus its own clock at that instant) has a p99 within [`MAPPING_ERROR_LIMIT_NS`] on
//!   every simulated day, the last day no worse than twice the first;
//! - **monotonic mapped time**: each receiver's mapped remote time at every mapping update is
//!   later than at the previous one, and its playback schedule's RTP frame (which wraps every
//!   27 h at 44.1 kHz) advances every second;
//! - the 16-bit sequenceId wraps every 2.3 h at 8 Hz: the mapping keeps updating across
//!   every wrap (no day without accepted measurements).
//!
//! The eight receivers run in as many worlds as there are cores (two on CI), each with its
//! own copy of the sender serving all eight peers (see [`soak`]); the run checks that every
//! copy sent every peer the same datagrams.

use aptp::airplay::{
    AirplayReceiver, AirplaySender, PlaybackRate, PlaybackSchedule, RateAnchor, ReceiverConfig,
    ReceiverEvent, SenderConfig,
};
use aptp::engine::{Destination, PortKind, Transmit};
use aptp_clock::{Time, TimeDelta};
use aptp_wire::ClockIdentity;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Instant;

/// Live heap bytes of the whole test process.
struct CountingAllocator;

/// One thread's share of the live heap, on a cache line of its own: the soak's worlds
/// allocate a datagram at a time on two cores, and one shared counter bounced between them.
#[repr(align(64))]
struct HeapSlot(AtomicI64);

const HEAP_SLOTS: usize = 16;
static LIVE_HEAP: [HeapSlot; HEAP_SLOTS] = [const { HeapSlot(AtomicI64::new(0)) }; HEAP_SLOTS];
static NEXT_HEAP_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static HEAP_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The calling thread's counter (slot 0 should its thread-local be out of reach).
fn heap_slot() -> &'static AtomicI64 {
    let index = HEAP_SLOT
        .try_with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_HEAP_SLOT.fetch_add(1, Ordering::Relaxed) % HEAP_SLOTS);
            }
            slot.get()
        })
        .unwrap_or(0);
    &LIVE_HEAP[index].0
}

/// Live heap bytes of the whole process (memory freed by another thread than allocated it
/// counts in both slots, and the sum is right).
fn live_heap_bytes() -> i64 {
    LIVE_HEAP
        .iter()
        .map(|slot| slot.0.load(Ordering::Relaxed))
        .sum()
}

// SAFETY: every call forwards to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        heap_slot().fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        heap_slot().fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        heap_slot().fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Live heap may grow at most this much between the end of day 1 and the end of the run:
/// the in-flight packet queue and the estimators' windows are full by then.
const HEAP_GROWTH_LIMIT_BYTES: i64 = 64 * 1024;
/// p99 |mapping error| allowed on any simulated day: the Wi-Fi path's asymmetry (30 %)
/// leaves a static bias of a few hundred µs that no two-way exchange can see, plus noise.
const MAPPING_ERROR_LIMIT_NS: f64 = 2_000_000.0;
/// Receivers the sender serves.
const RECEIVERS: usize = 8;
const DAY_S: u64 = 86_400;
const SAMPLE_RATE_HZ: u32 = 44_100;
const SENDER_START_NS: i128 = 3_600_000_000_000;
const RECEIVER_START_NS: i128 = 12_345_678_901_234;

/// splitmix64, with Box–Muller normals (both of each pair used).
struct Rng {
    state: u64,
    spare_normal: Option<f64>,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            spare_normal: None,
        }
    }
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        if let Some(spare) = self.spare_normal.take() {
            return spare;
        }
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let radius = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (2.0 * std::f64::consts::PI * u2).sin_cos();
        self.spare_normal = Some(radius * sin);
        radius * cos
    }
}

/// aptp-clock's `wifi` scenario: 2 ms base, log-normal queueing (median 1 ms, σ 0.7), 1 %
/// of packets 20–100 ms late, 5 % lost, sender-to-receiver 30 % slower than back.
fn wifi_delay_ns(rng: &mut Rng, towards_receiver: bool) -> Option<f64> {
    let ratio: f64 = 1.3;
    let factor = if towards_receiver {
        2.0 * ratio / (1.0 + ratio)
    } else {
        2.0 / (1.0 + ratio)
    };
    let mut delay = factor * (2_000_000.0 + 1_000_000.0 * (0.7 * rng.normal()).exp());
    if rng.uniform() < 0.01 {
        delay += 20_000_000.0 + 80_000_000.0 * rng.uniform();
    }
    (rng.uniform() >= 0.05).then_some(delay)
}

/// p99 of |values| without keeping them: 1 µs bins up to 100 ms, then one overflow bin.
struct Histogram {
    bins: Vec<u64>,
    count: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            bins: vec![0; 100_001],
            count: 0,
        }
    }
    fn add(&mut self, value_ns: f64) {
        let bin = ((value_ns.abs() / 1_000.0) as usize).min(self.bins.len() - 1);
        self.bins[bin] += 1;
        self.count += 1;
    }
    /// The quantile in ns (upper edge of its bin); infinite when empty or in the overflow.
    fn quantile_ns(&self, q: f64) -> f64 {
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bin, count) in self.bins.iter().enumerate() {
            seen += count;
            if seen >= target && bin + 1 < self.bins.len() {
                return (bin + 1) as f64 * 1_000.0;
            }
        }
        f64::INFINITY
    }
    fn add_all(&mut self, other: &Histogram) {
        for (bin, count) in self.bins.iter_mut().zip(other.bins.iter()) {
            *bin += count;
        }
        self.count += other.count;
    }
    fn clear(&mut self) {
        self.bins.iter_mut().for_each(|b| *b = 0);
        self.count = 0;
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at_ns: i128,
    order: u64,
    to: usize,
    from: usize,
    event_port: bool,
    bytes: Vec<u8>,
}

struct Node {
    /// The receiver's peer number at the sender (1-based).
    peer: usize,
    start_ns: i128,
    rate_ppb: f64,
    path: Rng,
    receiver: AirplayReceiver<usize>,
    schedule: PlaybackSchedule,
    last_mapped_remote: Option<Time>,
    last_rtp: Option<u32>,
    mapping_updates: u64,
}

impl Node {
    fn local(&self, tau_ns: i128) -> Time {
        let drift = (tau_ns as f64 * self.rate_ppb * 1e-9) as i128;
        Time::from_nanos_i128(self.start_ns + tau_ns + drift)
    }
}

struct World {
    sender: AirplaySender<usize>,
    /// The receivers this world simulates, in peer order: a contiguous run of the sender's
    /// peers (all of them on one thread).
    nodes: Vec<Node>,
    /// The peer number of `nodes[0]`.
    first_peer: usize,
    queue: BinaryHeap<Reverse<Delivery>>,
    order: u64,
    /// Per peer (index 0 unused): a hash of every datagram the sender sent it other than
    /// Delay_Resp, in order, whether or not that peer lives in this world.
    served: Vec<std::hash::DefaultHasher>,
}

/// messageType of a PTP datagram (low nibble of its first byte).
const DELAY_RESP: u8 = 0x9;

fn sender_time(tau_ns: i128) -> Time {
    Time::from_nanos_i128(SENDER_START_NS + tau_ns)
}

impl World {
    /// A sender serving `receivers` peers, of which this world simulates `live` (1-based peer
    /// numbers). Every receiver's clock, path and start are drawn from `seed` whatever part
    /// of them a world simulates, so that splitting the group over threads changes nothing.
    fn new(receivers: usize, live: std::ops::RangeInclusive<usize>, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut sender = AirplaySender::new(
            SenderConfig::new(ClockIdentity([0x5e, 0x4d, 0, 0, 0, 0, 0, 8])),
            sender_time(0),
        )
        .expect("valid sender configuration");
        sender.set_peers(1..=receivers);
        let anchor = RateAnchor {
            network_time_secs: (SENDER_START_NS / 1_000_000_000) as u64 + 1,
            network_time_frac: 0,
            timeline_id: sender.timeline_id(),
            // Wraps 200 000 frames (4.5 s) in, then every 27 h.
            rtp_time: u32::MAX - 200_000,
        };
        let first_peer = *live.start();
        let nodes = (1..=receivers)
            .map(|peer| {
                let start_ns = RECEIVER_START_NS + (rng.uniform() * 1e9) as i128;
                let rate_ppb = 50_000.0 * (2.0 * rng.uniform() - 1.0);
                let path = Rng::new(rng.next_u64());
                (peer, start_ns, rate_ppb, path)
            })
            .filter(|(peer, ..)| live.contains(peer))
            .map(|(peer, start_ns, rate_ppb, path)| {
                let mut clock = [0xa0; 8];
                clock[7] = peer as u8;
                let mut receiver =
                    AirplayReceiver::new(ReceiverConfig::new(ClockIdentity(clock)), Time::EPOCH)
                        .expect("valid receiver configuration");
                receiver.set_timing_peers(Time::EPOCH, [0]);
                let mut schedule = PlaybackSchedule::new(500_000.0, TimeDelta::from_millis(20));
                schedule
                    .set_anchor(anchor, SAMPLE_RATE_HZ, PlaybackRate::Playing)
                    .expect("non-zero sample rate");
                Node {
                    peer,
                    start_ns,
                    rate_ppb,
                    path,
                    receiver,
                    schedule,
                    last_mapped_remote: None,
                    last_rtp: None,
                    mapping_updates: 0,
                }
            })
            .collect();
        World {
            sender,
            nodes,
            first_peer,
            queue: BinaryHeap::new(),
            order: 0,
            served: vec![std::hash::DefaultHasher::new(); receivers + 1],
        }
    }

    /// The simulated receiver with this peer number, if this world has it.
    fn node_index(&self, peer: usize) -> Option<usize> {
        let index = peer.checked_sub(self.first_peer)?;
        (index < self.nodes.len()).then_some(index)
    }

    fn send(&mut self, tau_ns: i128, from: usize, to: usize, port: PortKind, bytes: Vec<u8>) {
        if from == 0 && bytes.first().is_some_and(|byte| byte & 0x0f != DELAY_RESP) {
            std::hash::Hash::hash(bytes.as_slice(), &mut self.served[to]);
        }
        let peer = if from == 0 { to } else { from };
        // The sender's datagrams to a peer another world simulates go nowhere here.
        let Some(index) = self.node_index(peer) else {
            return;
        };
        let Some(delay) = wifi_delay_ns(&mut self.nodes[index].path, from == 0) else {
            return;
        };
        self.order += 1;
        self.queue.push(Reverse(Delivery {
            at_ns: tau_ns + delay as i128,
            order: self.order,
            to,
            from,
            event_port: port == PortKind::Event,
            bytes,
        }));
    }

    fn run_sender(&mut self, tau_ns: i128) {
        let now = sender_time(tau_ns);
        self.sender.handle_timeout(now);
        while let Some(Transmit {
            destination,
            port,
            bytes,
            timestamp_token,
        }) = self.sender.poll_transmit(now)
        {
            if let Some(token) = timestamp_token {
                self.sender.handle_transmit_timestamp(now, token, now);
            }
            if let Destination::Unicast(to) = destination {
                self.send(tau_ns, 0, to, port, bytes);
            }
        }
    }

    fn deliver(&mut self, delivery: Delivery) {
        let tau_ns = delivery.at_ns;
        let port = if delivery.event_port {
            PortKind::Event
        } else {
            PortKind::General
        };
        if delivery.to == 0 {
            let now = sender_time(tau_ns);
            self.sender
                .handle_datagram(now, &delivery.bytes, delivery.from, port, now);
            self.run_sender(tau_ns);
            return;
        }
        let Some(index) = self.node_index(delivery.to) else {
            return;
        };
        let node = &mut self.nodes[index];
        let local = node.local(tau_ns);
        node.receiver
            .handle_datagram(local, &delivery.bytes, 0, port, local);
        node.receiver.handle_timeout(local);
        while let Some(event) = node.receiver.poll_event() {
            if let ReceiverEvent::MappingUpdated { mapping, .. } = event {
                let remote = mapping.to_remote(local);
                if let Some(previous) = node.last_mapped_remote {
                    assert!(
                        remote > previous,
                        "receiver {} mapped time went back at τ {tau_ns} ns: {previous:?} → {remote:?}",
                        node.peer
                    );
                }
                node.last_mapped_remote = Some(remote);
                node.mapping_updates += 1;
                if let Some(gm) = node.receiver.grandmaster() {
                    node.schedule
                        .update_mapping(local, u64::from_be_bytes(gm.identity.0), mapping);
                }
            }
        }
        let mut outgoing = Vec::new();
        while let Some(mut transmit) = node.receiver.poll_transmit(local) {
            if let Some(token) = transmit.timestamp_token.take() {
                node.receiver.handle_transmit_timestamp(local, token, local);
            }
            outgoing.push(transmit);
        }
        for transmit in outgoing {
            self.send(tau_ns, delivery.to, 0, transmit.port, transmit.bytes);
        }
    }

    /// Once a second: each receiver's mapping error into `errors`, RTP progress checked.
    fn evaluate(&mut self, tau_ns: i128, errors: &mut Histogram) {
        let remote = sender_time(tau_ns);
        for node in self.nodes.iter_mut() {
            let peer = node.peer;
            let truth = node.local(tau_ns);
            let status = node.receiver.status(truth);
            assert!(
                status.timing_peers <= node.receiver.config().max_timing_peers,
                "receiver {peer}: {} timing peers",
                status.timing_peers
            );
            if let Some(mapping) = node.receiver.mapping() {
                errors.add((mapping.to_local(remote) - truth).as_nanos_f64());
            }
            if let Ok(rtp) = node.schedule.rtp_at(truth) {
                if let Some(previous) = node.last_rtp {
                    let advance = rtp.wrapping_sub(previous) as i32;
                    assert!(
                        advance > 0,
                        "receiver {peer}: RTP frame went from {previous} to {rtp} at τ {tau_ns} ns"
                    );
                }
                node.last_rtp = Some(rtp);
            }
        }
    }
}

/// What a run measured.
struct Soak {
    daily_p99_ns: Vec<f64>,
    heap_after_day_one: i64,
    heap_at_end: i64,
    sequence_wraps: u64,
    rtp_wraps: u64,
}

/// What the worlds of one run share: each period's mapping errors of every receiver, and a
/// meeting point at each period's end, where the live heap is read with every world at the
/// same simulated instant.
struct Shared {
    /// One per period, allocated before the run (so the heap check does not see them).
    errors: std::sync::Mutex<Vec<Histogram>>,
    period_end: Meeting,
    heap_after_day_one: AtomicI64,
    /// Read at the last period's end, every world still alive.
    heap_at_end: AtomicI64,
}

/// A barrier that a failing world can call off: `std::sync::Barrier` would leave the other
/// worlds waiting for ever when one panics (an assertion failed), and the test would hang
/// instead of failing.
struct Meeting {
    parties: usize,
    /// (arrived, generation, called off)
    state: std::sync::Mutex<(usize, u64, bool)>,
    wake: std::sync::Condvar,
}

impl Meeting {
    fn new(parties: usize) -> Self {
        Meeting {
            parties,
            state: std::sync::Mutex::new((0, 0, false)),
            wake: std::sync::Condvar::new(),
        }
    }

    /// Waits until every world has arrived; true for exactly one of them. Panics when another
    /// world failed.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        assert!(!state.2, "another soak world failed");
        let generation = state.1;
        state.0 += 1;
        if state.0 == self.parties {
            state.0 = 0;
            state.1 += 1;
            self.wake.notify_all();
            return true;
        }
        while state.1 == generation && !state.2 {
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        assert!(!state.2, "another soak world failed");
        false
    }

    /// Calls the meeting off: every world waiting or yet to wait panics instead.
    fn call_off(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).2 = true;
        self.wake.notify_all();
    }
}

/// Calls the meeting off when its world unwinds from a panic.
struct CallOffOnPanic<'a>(&'a Meeting);

impl Drop for CallOffOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.call_off();
        }
    }
}

/// The sender's non-Delay_Resp datagrams to each peer, hashed, as one world saw them.
type Served = Vec<u64>;

/// `receivers` receivers for `periods` × `period_s` simulated seconds, split over `threads`
/// worlds run side by side. Each world runs the whole sender (its peer list holds every
/// receiver, and it sends each its Syncs, Follow_Ups and Announces) but simulates only its
/// own run of receivers: the sender keeps its state per peer (sequence ids, rotation, answer
/// limits), so every receiver gets the same datagrams as from one sender serving the whole
/// group. The run checks that: each world's hash of what the sender sent each peer (Delay_Resp
/// apart) must be the same.
fn soak(receivers: usize, threads: usize, periods: u64, period_s: u64, seed: u64) -> Soak {
    let started = Instant::now();
    let threads = threads.clamp(1, receivers);
    let shared = Shared {
        errors: std::sync::Mutex::new((0..periods).map(|_| Histogram::new()).collect()),
        period_end: Meeting::new(threads),
        heap_after_day_one: AtomicI64::new(0),
        heap_at_end: AtomicI64::new(0),
    };
    let parts: Vec<std::ops::RangeInclusive<usize>> = (0..threads)
        .map(|part| (part * receivers / threads + 1)..=((part + 1) * receivers / threads))
        .collect();
    let (served, syncs): (Vec<Served>, Vec<u64>) = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|live| {
                let shared = &shared;
                let live = live.clone();
                scope.spawn(move || {
                    run_world(receivers, live, periods, period_s, seed, shared, started)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a soak world panicked"))
            .unzip()
    });
    for (world, hashes) in served.iter().enumerate().skip(1) {
        assert_eq!(
            hashes, &served[0],
            "world {world}'s sender served the peers other datagrams than world 0's"
        );
    }
    let errors = shared
        .errors
        .into_inner()
        .expect("no world panicked holding it");
    Soak {
        daily_p99_ns: errors
            .iter()
            .map(|period| period.quantile_ns(0.99))
            .collect(),
        heap_after_day_one: shared.heap_after_day_one.load(Ordering::Relaxed),
        heap_at_end: shared.heap_at_end.load(Ordering::Relaxed),
        // Syncs go to every peer, each with its own sequenceId-per-peer counter or a shared
        // one: either way each receiver sees syncs / receivers of them.
        sequence_wraps: syncs[0] / receivers as u64 / 65_536,
        rtp_wraps: (periods * period_s * u64::from(SAMPLE_RATE_HZ) + 200_000) >> 32,
    }
}

/// One world of [`soak`]: the sender and the receivers `live`. Returns what its sender sent
/// each peer (hashed) and how many Syncs it sent.
fn run_world(
    receivers: usize,
    live: std::ops::RangeInclusive<usize>,
    periods: u64,
    period_s: u64,
    seed: u64,
    shared: &Shared,
    started: Instant,
) -> (Served, u64) {
    let _call_off = CallOffOnPanic(&shared.period_end);
    let mut world = World::new(receivers, live, seed);
    let mut errors = Histogram::new();
    let warmup_ns: i128 = 60_000_000_000;
    // One more second so the evaluation closing the last period runs.
    let end_ns = i128::from(periods * period_s + 1) * 1_000_000_000;
    let mut next_sender_ns: i128 = 0;
    let mut next_evaluation_ns = warmup_ns;
    let mut next_period_ns: i128 = i128::from(period_s) * 1_000_000_000;
    let mut period = 0;
    let mut updates_at_period_start: Vec<u64> = vec![0; world.nodes.len()];
    loop {
        let next_delivery = world.queue.peek().map_or(i128::MAX, |d| d.0.at_ns);
        let tau = next_delivery.min(next_sender_ns).min(next_evaluation_ns);
        if tau >= end_ns {
            break;
        }
        if tau == next_sender_ns {
            world.run_sender(tau);
            next_sender_ns = world
                .sender
                .poll_timeout()
                .map_or(end_ns, |t| t.since(sender_time(0)).nanos_rounded())
                .max(tau + 1);
        } else if tau == next_evaluation_ns {
            world.evaluate(tau, &mut errors);
            next_evaluation_ns += 1_000_000_000;
            if tau >= next_period_ns {
                next_period_ns += i128::from(period_s) * 1_000_000_000;
                for (index, node) in world.nodes.iter().enumerate() {
                    assert!(
                        node.mapping_updates > updates_at_period_start[index] + 1000,
                        "receiver {} stopped updating its mapping in period {}",
                        node.peer,
                        period + 1
                    );
                    updates_at_period_start[index] = node.mapping_updates;
                }
                {
                    let mut all = shared.errors.lock().unwrap_or_else(|e| e.into_inner());
                    all[period].add_all(&errors);
                }
                errors.clear();
                // Every world at this instant: the heap is read once, by one of them.
                if shared.period_end.wait() {
                    let heap = live_heap_bytes();
                    if period == 0 {
                        shared.heap_after_day_one.store(heap, Ordering::Relaxed);
                    }
                    shared.heap_at_end.store(heap, Ordering::Relaxed);
                    let p99 = shared.errors.lock().unwrap_or_else(|e| e.into_inner())[period]
                        .quantile_ns(0.99);
                    eprintln!(
                        "soak {receivers} receivers: period {} p99 |mapping error| {:.0} µs, live heap {heap} B, {:.1} s",
                        period + 1,
                        p99 / 1e3,
                        started.elapsed().as_secs_f64()
                    );
                }
                shared.period_end.wait();
                period += 1;
            }
        } else if let Some(Reverse(delivery)) = world.queue.pop() {
            world.deliver(delivery);
        }
    }
    for node in &world.nodes {
        let counters = node.receiver.counters();
        let peer = node.peer;
        assert_eq!(counters.malformed, 0, "receiver {peer}: {counters:?}");
        assert_eq!(counters.not_a_peer, 0, "receiver {peer}: {counters:?}");
        assert!(
            counters.accepted_measurements > counters.measurements / 2,
            "receiver {peer}: {counters:?}"
        );
    }
    let served = world.served.iter().map(std::hash::Hasher::finish).collect();
    (served, world.sender.counters().syncs)
}

fn check(soak: &Soak, periods: u64) {
    assert_eq!(soak.daily_p99_ns.len() as u64, periods);
    for (day, p99) in soak.daily_p99_ns.iter().enumerate() {
        assert!(
            *p99 <= MAPPING_ERROR_LIMIT_NS,
            "period {}: p99 |mapping error| {p99} ns",
            day + 1
        );
    }
    let first = soak.daily_p99_ns[0];
    let last = soak.daily_p99_ns[soak.daily_p99_ns.len() - 1];
    assert!(
        last <= 2.0 * first.max(100_000.0),
        "drift: first period {first} ns, last {last} ns"
    );
    let growth = soak.heap_at_end - soak.heap_after_day_one;
    assert!(
        growth <= HEAP_GROWTH_LIMIT_BYTES,
        "live heap grew {growth} B after the first period ({} → {})",
        soak.heap_after_day_one,
        soak.heap_at_end
    );
}

/// Seven simulated days of the sender with all eight receivers (73 sequenceId wraps, 6 RTP
/// wraps), checked every day, the receivers split over as many threads as there are cores.
/// One test for the whole week, so that the live-heap measurement sees no other test's
/// allocations (the meeting's test below is over in milliseconds, long before day 1 ends).
#[test]
fn week_of_a_sender_with_eight_receivers() {
    let started = Instant::now();
    // At least two worlds, so that the check that their senders agree compares something.
    let threads = std::thread::available_parallelism().map_or(2, |cores| cores.get().max(2));
    let week = soak(RECEIVERS, threads, 7, DAY_S, 7);
    eprintln!(
        "week of {RECEIVERS} on {} threads: {} sequenceId wraps, {} RTP wraps, daily p99 µs {:?}, heap {} → {} B, {:.1} s",
        threads.min(RECEIVERS),
        week.sequence_wraps,
        week.rtp_wraps,
        week.daily_p99_ns
            .iter()
            .map(|p| (p / 1e3).round())
            .collect::<Vec<_>>(),
        week.heap_after_day_one,
        week.heap_at_end,
        started.elapsed().as_secs_f64()
    );
    assert!(week.sequence_wraps >= 70, "{}", week.sequence_wraps);
    assert!(week.rtp_wraps >= 6, "{}", week.rtp_wraps);
    check(&week, 7);
}

/// A world that fails calls the meeting off: the others fail too instead of waiting for it
/// for ever.
#[test]
fn a_failing_world_calls_the_meeting_off() {
    let meeting = Meeting::new(2);
    let (failing, waiting) = std::thread::scope(|scope| {
        let failing = scope.spawn(|| {
            let _call_off = CallOffOnPanic(&meeting);
            panic!("an assertion in one world");
        });
        let waiting = scope.spawn(|| meeting.wait());
        (failing.join(), waiting.join())
    });
    assert!(failing.is_err() && waiting.is_err());
    // Without a failure, exactly one of the two leads.
    let meeting = Meeting::new(2);
    let leaders = std::thread::scope(|scope| {
        let first = scope.spawn(|| meeting.wait());
        let second = meeting.wait();
        usize::from(first.join().expect("no panic")) + usize::from(second)
    });
    assert_eq!(leaders, 1);
}
