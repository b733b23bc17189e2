//! A simulated network in virtual time, in the manner of quinn-proto's test `Pair`: N engines,
//! each with its own clock (offset, drift, steps), joined by links with delay, jitter, loss and
//! duplication, driven event by event with no sockets and no sleeping. The ground truth is
//! known, so a test can assert the time error a slave reaches.
//!
//! ```
//! use aptp::engine::sim::{LinkModel, Sim, SimClock};
//! use aptp::engine::{Config, PortState};
//!
//! // Sync and Delay_Req at 4 Hz; the slave's clock is 3 ms ahead and 20 ppm fast.
//! let config = Config { log_sync_interval: -2, log_min_delay_req_interval: -2, ..Config::default() };
//! let mut sim = Sim::new(7, LinkModel::default());
//! let master = sim.add_node(Config { priority1: 1, ..config.clone() }, SimClock::default());
//! let slave = sim.add_node(config, SimClock { offset_ns: 3_000_000, rate_ppb: 20_000 });
//! sim.run_for_secs(60);
//! assert_eq!(sim.engine(master).state(), PortState::Master);
//! assert_eq!(sim.engine(slave).state(), PortState::Slave);
//! assert!(sim.time_error_ns(slave, master).unwrap().abs() < 1_000);
//! ```

use super::random::SplitMix64;
use super::{Config, Destination, Engine, Event, PortKind, PortState};
use aptp_clock::Time;
use aptp_wire::ClockIdentity;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A node's number in the simulation, and its peer address for the other engines.
pub type NodeId = usize;

/// The true time at which every simulation starts, in nanoseconds (about 2023-11-14, so that
/// every clock reads a positive, realistic PTP time).
pub const START_NS: i128 = 1_700_000_000_000_000_000;

/// A node's local clock against true time: `local = true + offset_ns + (true − start) × rate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimClock {
    /// The clock's reading minus true time at the start, in nanoseconds.
    pub offset_ns: i64,
    /// How fast it runs against true time, in parts per billion (positive: fast).
    pub rate_ppb: i64,
}

impl SimClock {
    /// The local reading at true time `true_ns`.
    pub fn local_ns(&self, true_ns: i128) -> i128 {
        let elapsed = true_ns - START_NS;
        true_ns + i128::from(self.offset_ns) + elapsed * i128::from(self.rate_ppb) / 1_000_000_000
    }

    /// The earliest true time at which the clock reads `local_ns` or later.
    pub fn true_ns_at(&self, local_ns: i128) -> i128 {
        let rate = 1_000_000_000 + i128::from(self.rate_ppb);
        let elapsed_local = local_ns - START_NS - i128::from(self.offset_ns);
        let mut true_ns = START_NS + elapsed_local * 1_000_000_000 / rate.max(1);
        while self.local_ns(true_ns) < local_ns {
            true_ns += 1;
        }
        while self.local_ns(true_ns - 1) >= local_ns {
            true_ns -= 1;
        }
        true_ns
    }
}

/// How a link treats datagrams. Probabilities are in parts per million.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkModel {
    /// The fixed one-way delay, in nanoseconds.
    pub delay_ns: u64,
    /// A uniformly random extra delay in [0, jitter_ns).
    pub jitter_ns: u64,
    /// An extra delay for event messages only (Sync slower than its Follow_Up).
    pub event_extra_delay_ns: u64,
    /// Chance that a datagram is lost.
    pub loss_ppm: u32,
    /// Chance that a datagram is delivered twice (the copy with its own delay).
    pub duplicate_ppm: u32,
}

impl Default for LinkModel {
    /// 50 µs each way, no jitter, no loss.
    fn default() -> Self {
        LinkModel {
            delay_ns: 50_000,
            jitter_ns: 0,
            event_extra_delay_ns: 0,
            loss_ppm: 0,
            duplicate_ppm: 0,
        }
    }
}

/// One simulated host.
#[derive(Debug)]
pub struct SimNode {
    engine: Engine<NodeId>,
    clock: SimClock,
    up: bool,
    /// Frozen (a stopped process): datagrams wait in the socket, with their receive
    /// timestamps, until it runs again.
    frozen: bool,
    /// Datagrams received while frozen: (local receive time, from, port, bytes).
    backlog: Vec<(Time, NodeId, PortKind, Vec<u8>)>,
    events: Vec<(i128, Event<NodeId>)>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    deliver_at_ns: i128,
    order: u64,
    to: NodeId,
    from: NodeId,
    port: PortKindOrder,
    bytes: Vec<u8>,
}

/// PortKind with an order, for the heap.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum PortKindOrder {
    Event,
    General,
}

/// The simulation: nodes, links, datagrams in flight and true time.
#[derive(Debug)]
pub struct Sim {
    now_ns: i128,
    nodes: Vec<SimNode>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    random: SplitMix64,
    link: LinkModel,
    links: Vec<(NodeId, NodeId, LinkModel)>,
    /// Datagrams delivered so far (all nodes).
    pub delivered: u64,
    /// Datagrams lost on links so far.
    pub lost: u64,
}

impl Sim {
    /// An empty simulation whose links all follow `link`; `seed` fixes every random choice.
    pub fn new(seed: u64, link: LinkModel) -> Self {
        Sim {
            now_ns: START_NS,
            nodes: Vec::new(),
            in_flight: BinaryHeap::new(),
            order: 0,
            random: SplitMix64::new(seed),
            link,
            links: Vec::new(),
            delivered: 0,
            lost: 0,
        }
    }

    /// The clock identity given to node `id`.
    pub fn clock_identity(id: NodeId) -> ClockIdentity {
        let n = (id as u16).wrapping_add(1).to_be_bytes();
        ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, n[0], n[1]])
    }

    /// Adds a node started now with `config` and `clock`. Panics on an invalid config (a test
    /// mistake).
    pub fn add_node(&mut self, config: Config, clock: SimClock) -> NodeId {
        let id = self.nodes.len();
        let config = Config {
            random_seed: config.random_seed ^ (id as u64).wrapping_mul(0x9E37_79B9),
            ..config
        };
        let local = Time::from_nanos_i128(clock.local_ns(self.now_ns));
        let mut engine = match Engine::new(config, Self::clock_identity(id), local) {
            Ok(engine) => engine,
            Err(error) => panic!("invalid simulator node config: {error}"),
        };
        let mut events = Vec::new();
        while let Some(event) = engine.poll_event() {
            events.push((self.now_ns, event));
        }
        self.nodes.push(SimNode {
            engine,
            clock,
            up: true,
            frozen: false,
            backlog: Vec::new(),
            events,
        });
        id
    }

    /// Replaces node `id`'s engine with a new one made now from `config`, with the same clock
    /// identity and clock: a restarted process (sequenceIds start again, every table empty).
    /// Its events go on in the same log. Panics on an invalid config (a test mistake).
    pub fn restart_node(&mut self, id: NodeId, config: Config) {
        let config = Config {
            random_seed: config.random_seed ^ (id as u64).wrapping_mul(0x9E37_79B9),
            ..config
        };
        let local = self.local_now(id);
        let node = &mut self.nodes[id];
        node.engine = match Engine::new(config, Self::clock_identity(id), local) {
            Ok(engine) => engine,
            Err(error) => panic!("invalid simulator node config: {error}"),
        };
        node.backlog.clear();
        while let Some(event) = node.engine.poll_event() {
            node.events.push((self.now_ns, event));
        }
    }

    /// Freezes (true) or thaws (false) node `id`, as SIGSTOP and SIGCONT do to a process:
    /// while frozen its timers do not run and it sends nothing, but datagrams sent to it are
    /// kept with their receive timestamps (the kernel's, taken on arrival); thawed, it handles
    /// them all at once, then its overdue timers.
    pub fn set_frozen(&mut self, id: NodeId, frozen: bool) {
        let now = self.local_now(id);
        let node = &mut self.nodes[id];
        node.frozen = frozen;
        if !frozen {
            for (rx, from, port, bytes) in core::mem::take(&mut node.backlog) {
                node.engine.handle_datagram(now, &bytes, from, port, rx);
            }
        }
    }

    /// Thaws node `id` as a runtime that runs its overdue timers before it reads its
    /// sockets would: the timers first, then the datagrams received while frozen.
    pub fn thaw_timers_first(&mut self, id: NodeId) {
        let now = self.local_now(id);
        let node = &mut self.nodes[id];
        node.frozen = false;
        node.engine.handle_timeout(now);
        for (rx, from, port, bytes) in core::mem::take(&mut node.backlog) {
            node.engine.handle_datagram(now, &bytes, from, port, rx);
        }
    }

    /// Uses `link` from node `from` to node `to` instead of the default.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: LinkModel) {
        self.links.retain(|(f, t, _)| !(*f == from && *t == to));
        self.links.push((from, to, link));
    }

    /// Uses `link` for every link without its own.
    pub fn set_default_link(&mut self, link: LinkModel) {
        self.link = link;
    }

    fn link(&self, from: NodeId, to: NodeId) -> LinkModel {
        self.links
            .iter()
            .find(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, l)| *l)
            .unwrap_or(self.link)
    }

    /// The engine of node `id`.
    pub fn engine(&self, id: NodeId) -> &Engine<NodeId> {
        &self.nodes[id].engine
    }

    /// The engine of node `id`, to configure it (unicast peers, faults).
    pub fn engine_mut(&mut self, id: NodeId) -> &mut Engine<NodeId> {
        &mut self.nodes[id].engine
    }

    /// True time now, in nanoseconds since the simulation's start.
    pub fn elapsed_ns(&self) -> i128 {
        self.now_ns - START_NS
    }

    /// Node `id`'s local clock now.
    pub fn local_now(&self, id: NodeId) -> Time {
        Time::from_nanos_i128(self.nodes[id].clock.local_ns(self.now_ns))
    }

    /// Stops (false) or restarts (true) node `id`: a stopped node neither sends nor receives
    /// and its timers do not run, as if its process were frozen.
    pub fn set_up(&mut self, id: NodeId, up: bool) {
        self.nodes[id].up = up;
    }

    /// Steps node `id`'s clock by `step_ns` (a settime on that host).
    pub fn step_clock(&mut self, id: NodeId, step_ns: i64) {
        self.nodes[id].clock.offset_ns += step_ns;
    }

    /// Every event node `id` reported, with the true time (ns since start) it was collected.
    pub fn events(&self, id: NodeId) -> impl Iterator<Item = (i128, &Event<NodeId>)> {
        self.nodes[id]
            .events
            .iter()
            .map(|(at, e)| (at - START_NS, e))
    }

    /// The states node `id` went through, in order, starting with the first one left.
    pub fn states(&self, id: NodeId) -> Vec<PortState> {
        let mut states = Vec::new();
        for (_, event) in &self.nodes[id].events {
            if let Event::StateChanged { from, to, .. } = event {
                if states.is_empty() {
                    states.push(*from);
                }
                states.push(*to);
            }
        }
        states
    }

    /// The error of `slave`'s estimate of `master`'s time right now, in nanoseconds: the
    /// slave's mapping applied to its local clock, minus the master's clock (its PTP time).
    pub fn time_error_ns(&self, slave: NodeId, master: NodeId) -> Option<i64> {
        let mapping = self.nodes[slave].engine.mapping()?;
        let estimate = mapping.to_remote(self.local_now(slave));
        let truth = self.local_now(master);
        i64::try_from(estimate.since(truth).nanos_rounded()).ok()
    }

    /// Runs until `seconds` of true time have passed.
    pub fn run_for_secs(&mut self, seconds: u64) {
        self.run_for_ns(i128::from(seconds) * 1_000_000_000);
    }

    /// Runs until `nanos` of true time have passed.
    pub fn run_for_ns(&mut self, nanos: i128) {
        let until = self.now_ns + nanos;
        loop {
            self.flush();
            let next_delivery = self.in_flight.peek().map(|Reverse(f)| f.deliver_at_ns);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.up && !n.frozen)
                .filter_map(|n| {
                    n.engine
                        .poll_timeout()
                        .map(|deadline| n.clock.true_ns_at(deadline.nanos_rounded()))
                })
                .min();
            let next = match (next_delivery, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now_ns = self.now_ns.max(next);
            if next_delivery == Some(next) {
                self.deliver_one();
            } else {
                self.fire_timers();
            }
        }
        self.now_ns = until;
        self.flush();
    }

    fn fire_timers(&mut self) {
        let now = self.now_ns;
        for node in self.nodes.iter_mut().filter(|n| n.up && !n.frozen) {
            let local = Time::from_nanos_i128(node.clock.local_ns(now));
            if node
                .engine
                .poll_timeout()
                .is_some_and(|deadline| deadline <= local)
            {
                node.engine.handle_timeout(local);
            }
        }
    }

    fn deliver_one(&mut self) {
        let Some(Reverse(datagram)) = self.in_flight.pop() else {
            return;
        };
        let node = &mut self.nodes[datagram.to];
        if !node.up {
            self.lost += 1;
            return;
        }
        let local = Time::from_nanos_i128(node.clock.local_ns(self.now_ns));
        let port = match datagram.port {
            PortKindOrder::Event => PortKind::Event,
            PortKindOrder::General => PortKind::General,
        };
        if node.frozen {
            node.backlog
                .push((local, datagram.from, port, datagram.bytes));
            self.delivered += 1;
            return;
        }
        node.engine
            .handle_datagram(local, &datagram.bytes, datagram.from, port, local);
        self.delivered += 1;
    }

    /// Collects every node's events and sends every node's datagrams, feeding transmit
    /// timestamps back at once (perfect software timestamps at the send instant).
    fn flush(&mut self) {
        let now = self.now_ns;
        for id in 0..self.nodes.len() {
            if !self.nodes[id].up || self.nodes[id].frozen {
                continue;
            }
            loop {
                let local = Time::from_nanos_i128(self.nodes[id].clock.local_ns(now));
                let Some(transmit) = self.nodes[id].engine.poll_transmit(local) else {
                    break;
                };
                if let Some(token) = transmit.timestamp_token {
                    self.nodes[id]
                        .engine
                        .handle_transmit_timestamp(local, token, local);
                }
                let targets: Vec<NodeId> = match transmit.destination {
                    Destination::Unicast(to) => vec![to],
                    Destination::Multicast | Destination::PeerDelayMulticast => {
                        (0..self.nodes.len()).filter(|n| *n != id).collect()
                    }
                };
                for to in targets {
                    if to < self.nodes.len() {
                        self.launch(id, to, transmit.port, &transmit.bytes);
                    }
                }
            }
            let node = &mut self.nodes[id];
            while let Some(event) = node.engine.poll_event() {
                node.events.push((now, event));
            }
        }
    }

    fn launch(&mut self, from: NodeId, to: NodeId, port: PortKind, bytes: &[u8]) {
        let link = self.link(from, to);
        let copies = if self.chance(link.duplicate_ppm) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.chance(link.loss_ppm) {
                self.lost += 1;
                continue;
            }
            let mut delay = link.delay_ns + self.random.below(link.jitter_ns);
            if port == PortKind::Event {
                delay += link.event_extra_delay_ns;
            }
            self.order += 1;
            self.in_flight.push(Reverse(InFlight {
                deliver_at_ns: self.now_ns + i128::from(delay),
                order: self.order,
                to,
                from,
                port: match port {
                    PortKind::Event => PortKindOrder::Event,
                    PortKind::General => PortKindOrder::General,
                },
                bytes: bytes.to_vec(),
            }));
        }
    }

    fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.random.below(1_000_000) < u64::from(ppm)
    }
}
