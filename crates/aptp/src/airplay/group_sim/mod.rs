//! A group in step, in virtual time: one [`AirplaySender`], N [`AirplayReceiver`]s, each
//! receiver's clock with its own frequency offset and its own Wi-Fi path ([`PathModel`]),
//! and the same receivers again with the nqptp smoother, fed the very same packets.
//!
//! Every 100 ms of true time after the warm-up, each receiver's [`PlaybackSchedule`] says
//! when the frame due 0.5 s later plays; its error is that local instant minus the receiver's
//! clock reading at the true instant the frame is due. The inter-receiver skew is the spread
//! (max − min) of those errors across the group.
//!
//! ```
//! use aptp::airplay::group_sim::{run_group, GroupSimConfig, PathModel};
//! let config = GroupSimConfig { duration_s: 40.0, warmup_s: 20.0, ..GroupSimConfig::new(PathModel::loopback(), 1) };
//! let rows = run_group(&config);
//! assert_eq!(rows.len(), 2);
//! assert!(rows[0].p99_skew_us < 1.0, "{rows:?}");
//! ```

mod oracle;
mod path;

pub use path::{PathModel, Queueing};

use super::{
    AirplayReceiver, AirplaySender, PlaybackRate, PlaybackSchedule, RateAnchor, ReceiverConfig,
    ReceiverEvent, SenderConfig,
};
use crate::engine::{Destination, PortKind, Transmit, TransmitToken};
use aptp_clock::{EstimatorKind, Time, TimeDelta};
use aptp_wire::ClockIdentity;
use oracle::Oracle;
use path::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSimConfig {
    /// Each receiver's path.
    pub path: PathModel,
    /// How many receivers.
    pub receivers: usize,
    /// Receivers' frequency offsets are drawn uniformly in ± this (ppm).
    pub max_frequency_offset_ppm: f64,
    /// Length of the run (s).
    pub duration_s: f64,
    /// Skew statistics start after this (s).
    pub warmup_s: f64,
    /// The seed every draw comes from.
    pub seed: u64,
    /// The schedules' slew limit (ppb).
    pub max_slew_ppb: f64,
    /// The schedules' step threshold (ns).
    pub step_threshold_ns: i64,
    /// Adds two rows on log-normal paths: maximum-likelihood fits over every Sync and
    /// Delay_Req of each aptp receiver's path, told that the clocks do not wander and each
    /// direction's base delay. `oracle-distribution` is also told the exact queueing
    /// distribution: it is efficient (at the Cramér–Rao bound), so its skew is what no
    /// estimator beats on average. `oracle-base-delays` learns the queueing's median and
    /// shape from the packets, told their family. Only their skew is comparable (they have
    /// no asymmetry error). About 10 s more per simulated 300 s in release.
    pub oracle: bool,
    /// The receivers' [`ReceiverConfig::grandmaster_holdover_ns`] (its default, 60 s, unless
    /// set): 0 forgets a grandmaster the moment its Announces time out.
    pub grandmaster_holdover_ns: u64,
}

impl GroupSimConfig {
    /// Eight receivers at ±50 ppm for 300 s (60 s warm-up), schedules slewing at most
    /// 500 ppm and stepping beyond 20 ms.
    pub fn new(path: PathModel, seed: u64) -> Self {
        GroupSimConfig {
            path,
            receivers: 8,
            max_frequency_offset_ppm: 50.0,
            duration_s: 300.0,
            warmup_s: 60.0,
            seed,
            max_slew_ppb: 500_000.0,
            step_threshold_ns: 20_000_000,
            oracle: false,
            grandmaster_holdover_ns: ReceiverConfig::new(ClockIdentity([0; 8]))
                .grandmaster_holdover_ns,
        }
    }
}

/// One line of the result: one estimator on one path model.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupResult {
    /// The path model's name.
    pub scenario: &'static str,
    /// The estimator's name (`lucky-regression` is aptp's default, `nqptp` the smoother,
    /// `oracle-distribution` and `oracle-base-delays` the oracles of
    /// [`GroupSimConfig::oracle`]).
    pub estimator: &'static str,
    /// Median inter-receiver skew (µs).
    pub p50_skew_us: f64,
    /// 99th percentile skew (µs).
    pub p99_skew_us: f64,
    /// Largest skew (µs).
    pub max_skew_us: f64,
    /// 99th percentile of each receiver's |play instant error| (µs): includes the part
    /// common to the whole group (the one-way path delay for the smoother).
    pub p99_error_us: f64,
    /// Evaluation instants at which some receiver could not schedule (no mapping).
    pub unscheduled: usize,
    /// 99th percentile skew of the estimators' mappings alone (µs): each receiver's
    /// `ClockMapping::to_local` of the frame's remote instant, without the schedule's slew.
    /// The difference from `p99_skew_us` is what slewing costs (or saves).
    pub p99_mapping_skew_us: f64,
    /// Spread across receivers of each one's mean play error over the run (µs): the static
    /// part of the skew, a per-receiver bias (for two-way measurement on asymmetric paths,
    /// what the asymmetry leaves in each receiver's offset). The rest of the skew moves with
    /// time: estimator noise.
    pub bias_spread_us: f64,
}

/// Local clock of the sender at the start (its timescale; an uptime, as Apple's).
const SENDER_START_NS: i128 = 3_600_000_000_000;
/// Local clocks of the receivers at the start, before their own offsets.
const RECEIVER_START_NS: i128 = 12_345_678_901_234;
const SAMPLE_RATE_HZ: u32 = 44_100;

/// A receiver's clock: `local = start + offset + τ × (1 + ppb)`, in scaled ns (2^-16).
#[derive(Clone, Copy, Debug)]
struct Clock {
    start_ns: i128,
    rate_ppb: f64,
}

impl Clock {
    fn at(&self, tau_ns: f64) -> Time {
        let scaled = (self.since_start_ns(tau_ns) * 65_536.0) as i128;
        Time::from_scaled_nanos((self.start_ns << 16) + scaled)
    }

    /// `at(tau_ns) − start`, in ns.
    fn since_start_ns(&self, tau_ns: f64) -> f64 {
        tau_ns * (1.0 + self.rate_ppb * 1e-9)
    }
}

struct Member {
    receiver: AirplayReceiver<usize>,
    schedule: PlaybackSchedule,
}

struct Node {
    clock: Clock,
    path_rng: Rng,
    aptp: Member,
    nqptp: Member,
    /// Fed the aptp receiver's packets (its Syncs and Delay_Req), when asked for: told the
    /// distribution, then told the base delays only.
    oracles: Vec<Oracle>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at_scaled: i128,
    order: u64,
    sent_scaled: i128,
    to: usize,
    from: usize,
    port: bool,
    bytes: Vec<u8>,
}

struct World {
    config: GroupSimConfig,
    sender: AirplaySender<usize>,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<Delivery>>,
    order: u64,
}

fn member(
    identity: u8,
    index: usize,
    estimator: EstimatorKind,
    two_way: bool,
    config: &GroupSimConfig,
) -> Member {
    let mut clock = [identity; 8];
    clock[7] = index as u8;
    let receiver_config = ReceiverConfig {
        estimator,
        delay_requests: two_way,
        grandmaster_holdover_ns: config.grandmaster_holdover_ns,
        ..ReceiverConfig::new(ClockIdentity(clock))
    };
    // Invariant: the configuration above only changes valid fields of a valid default.
    let mut receiver = AirplayReceiver::new(receiver_config, Time::EPOCH)
        .unwrap_or_else(|_| unreachable!("valid default configuration"));
    receiver.set_timing_peers(Time::EPOCH, [0]);
    Member {
        receiver,
        schedule: PlaybackSchedule::new(
            config.max_slew_ppb,
            TimeDelta::from_nanos(config.step_threshold_ns),
        ),
    }
}

impl World {
    fn new(config: &GroupSimConfig) -> Self {
        let mut rng = Rng::new(config.seed ^ 0xA12B_0000);
        let sender_clock = ClockIdentity([0x5e, 0x4d, 0, 0, 0, 0, 0, 8]);
        let start = Time::from_nanos_i128(SENDER_START_NS);
        // Invariant: SenderConfig::new is valid.
        let mut sender = AirplaySender::new(SenderConfig::new(sender_clock), start)
            .unwrap_or_else(|_| unreachable!("valid default configuration"));
        sender.set_peers(1..=config.receivers);
        let nodes = (1..=config.receivers)
            .map(|index| {
                let ppm = config.max_frequency_offset_ppm * (2.0 * rng.uniform() - 1.0);
                let offset_ns = (rng.uniform() * 1e9) as i128;
                Node {
                    clock: Clock {
                        start_ns: RECEIVER_START_NS + offset_ns,
                        rate_ppb: ppm * 1_000.0,
                    },
                    path_rng: Rng::new(rng.next_u64()),
                    aptp: member(0xa0, index, EstimatorKind::DEFAULT, true, config),
                    nqptp: member(0xb0, index, EstimatorKind::Nqptp, false, config),
                    oracles: [false, true]
                        .into_iter()
                        .filter(|_| config.oracle)
                        .filter_map(|learns| Oracle::new(&config.path, learns))
                        .collect(),
                }
            })
            .collect();
        World {
            config: config.clone(),
            sender,
            nodes,
            queue: BinaryHeap::new(),
            order: 0,
        }
    }

    fn sender_time(tau_ns: f64) -> Time {
        Time::from_scaled_nanos((SENDER_START_NS << 16) + (tau_ns * 65_536.0) as i128)
    }

    fn send(&mut self, tau_ns: f64, from: usize, to: usize, port: PortKind, bytes: Vec<u8>) {
        let node = if from == 0 { to } else { from };
        let Some(index) = node.checked_sub(1).filter(|i| *i < self.nodes.len()) else {
            return;
        };
        let path = self.config.path;
        let Some(delay) = path.draw(&mut self.nodes[index].path_rng, tau_ns * 1e-9, from == 0)
        else {
            return;
        };
        self.order += 1;
        self.queue.push(Reverse(Delivery {
            at_scaled: ((tau_ns + delay) * 65_536.0) as i128,
            order: self.order,
            sent_scaled: (tau_ns * 65_536.0) as i128,
            to,
            from,
            port: port == PortKind::Event,
            bytes,
        }));
    }

    fn run_sender(&mut self, tau_ns: f64) {
        let now = Self::sender_time(tau_ns);
        self.sender.handle_timeout(now);
        while let Some(Transmit {
            destination,
            port,
            bytes,
            timestamp_token,
        }) = self.sender.poll_transmit(now)
        {
            if let Some(token) = timestamp_token {
                self.sender
                    .handle_transmit_timestamp(now, TransmitToken(token.id()), now);
            }
            if let Destination::Unicast(to) = destination {
                self.send(tau_ns, 0, to, port, bytes);
            }
        }
    }

    fn deliver(&mut self, tau_ns: f64, delivery: Delivery) {
        let port = if delivery.port {
            PortKind::Event
        } else {
            PortKind::General
        };
        let sent_ns = delivery.sent_scaled as f64 / 65_536.0;
        if delivery.to == 0 {
            if let Some(node) = delivery
                .from
                .checked_sub(1)
                .and_then(|i| self.nodes.get_mut(i))
            {
                if port == PortKind::Event {
                    for oracle in &mut node.oracles {
                        oracle.delay_request(node.clock.since_start_ns(sent_ns), tau_ns);
                    }
                }
            }
            let now = Self::sender_time(tau_ns);
            self.sender
                .handle_datagram(now, &delivery.bytes, delivery.from, port, now);
            self.run_sender(tau_ns);
            return;
        }
        let index = delivery.to - 1;
        let local = self.nodes[index].clock.at(tau_ns);
        let node = &mut self.nodes[index];
        if port == PortKind::Event {
            for oracle in &mut node.oracles {
                oracle.sync(node.clock.since_start_ns(tau_ns), sent_ns);
            }
        }
        for member in [&mut node.aptp, &mut node.nqptp] {
            member
                .receiver
                .handle_datagram(local, &delivery.bytes, 0, port, local);
        }
        self.run_receivers(tau_ns, index);
    }

    /// Runs receiver `index`'s timers at `tau_ns` (after a datagram, or on the timer tick:
    /// a grandmaster silent past its Announce timeout is lost, and held, during the silence,
    /// as a real driver's timer finds it) and sends what they queued.
    fn run_receivers(&mut self, tau_ns: f64, index: usize) {
        let node = &mut self.nodes[index];
        let local = node.clock.at(tau_ns);
        for member in [&mut node.aptp, &mut node.nqptp] {
            member.receiver.handle_timeout(local);
            drain_events(member, local);
        }
        // The nqptp receivers send nothing; the aptp ones their Delay_Req.
        while node.nqptp.receiver.poll_transmit(local).is_some() {}
        let mut outgoing = Vec::new();
        while let Some(transmit) = node.aptp.receiver.poll_transmit(local) {
            if let Some(token) = &transmit.timestamp_token {
                node.aptp.receiver.handle_transmit_timestamp(
                    local,
                    TransmitToken(token.id()),
                    local,
                );
            }
            outgoing.push(transmit);
        }
        for transmit in outgoing {
            self.send(tau_ns, index + 1, 0, transmit.port, transmit.bytes);
        }
    }
}

fn drain_events(member: &mut Member, local: Time) {
    while let Some(event) = member.receiver.poll_event() {
        match event {
            ReceiverEvent::MappingUpdated { mapping, .. } => {
                if let Some(gm) = member.receiver.grandmaster() {
                    member.schedule.update_mapping(
                        local,
                        u64::from_be_bytes(gm.identity.0),
                        mapping,
                    );
                }
            }
            // A grandmaster that fell silent is held: the schedule plays on its mapping
            // until it is back or the hold ends.
            ReceiverEvent::GrandmasterChanged { grandmaster: None }
                if member.receiver.mapping().is_none() =>
            {
                member.schedule.clear_mapping();
            }
            ReceiverEvent::HoldoverEnded { .. } => member.schedule.clear_mapping(),
            _ => {}
        }
    }
}

/// Runs the group and returns one row for aptp's default estimator, then one for the nqptp
/// smoother, then (with [`GroupSimConfig::oracle`], on log-normal paths) one for each
/// oracle.
pub fn run_group(config: &GroupSimConfig) -> Vec<GroupResult> {
    let mut world = World::new(config);
    let anchor = RateAnchor {
        network_time_secs: (SENDER_START_NS / 1_000_000_000) as u64 + 1,
        network_time_frac: 0,
        timeline_id: world.sender.timeline_id(),
        rtp_time: u32::MAX - 200_000,
    };
    for node in &mut world.nodes {
        for member in [&mut node.aptp, &mut node.nqptp] {
            // Invariant: the sample rate is a non-zero constant.
            let _ = member
                .schedule
                .set_anchor(anchor, SAMPLE_RATE_HZ, PlaybackRate::Playing);
        }
    }
    let end_ns = config.duration_s * 1e9;
    let evaluate_every_ns = 100e6;
    let mut next_evaluation = config.warmup_s * 1e9;
    let mut next_sender_ns = 0.0;
    // Groups: aptp's default, the nqptp smoother, the oracles (when asked for).
    let groups = 2 + world.nodes.first().map_or(0, |node| node.oracles.len());
    let mut skews = vec![Vec::new(); groups];
    let mut mapping_skews = vec![Vec::new(); groups];
    let mut errors = vec![Vec::new(); groups];
    // Per group, per receiver: (sum of play errors, count).
    let mut error_sums = vec![vec![(0.0f64, 0usize); config.receivers]; groups];
    let mut unscheduled = vec![0usize; groups];
    // The receivers' timers run at least this often between datagrams.
    let timers_every_ns = 100e6;
    let mut next_timers = timers_every_ns;
    let oracle_every_ns = 1e9;
    let mut next_oracle_fit = if groups > 2 {
        oracle_every_ns
    } else {
        f64::INFINITY
    };
    loop {
        let next_delivery = world
            .queue
            .peek()
            .map_or(f64::INFINITY, |d| d.0.at_scaled as f64 / 65_536.0);
        let tau = next_delivery
            .min(next_sender_ns)
            .min(next_evaluation)
            .min(next_oracle_fit)
            .min(next_timers);
        if tau >= end_ns {
            break;
        }
        if tau == next_timers {
            next_timers += timers_every_ns;
            for index in 0..world.nodes.len() {
                world.run_receivers(tau, index);
            }
        } else if tau == next_oracle_fit {
            next_oracle_fit += oracle_every_ns;
            for oracle in world.nodes.iter_mut().flat_map(|n| n.oracles.iter_mut()) {
                oracle.refit();
            }
        } else if tau == next_sender_ns {
            world.run_sender(tau);
            next_sender_ns = world
                .sender
                .poll_timeout()
                .map_or(end_ns, |t| {
                    (t.since(Time::from_nanos_i128(SENDER_START_NS))
                        .scaled_nanos() as f64)
                        / 65_536.0
                })
                .max(tau + 1.0);
        } else if tau == next_evaluation {
            next_evaluation += evaluate_every_ns;
            // The frame due 0.5 s from now, in the sender's timescale.
            let due = World::sender_time(tau + 0.5e9);
            let rtp =
                aptp_clock::RtpAnchor::new(anchor.network_time(), anchor.rtp_time, SAMPLE_RATE_HZ);
            let Ok(rtp) = rtp else { continue };
            let frame = rtp.rtp_at_remote(due);
            let due_tau = rtp
                .remote_time_of(frame)
                .since(Time::from_nanos_i128(SENDER_START_NS))
                .scaled_nanos() as f64
                / 65_536.0;
            let due_remote = rtp.remote_time_of(frame);
            for group in 0..groups {
                let mut played = Vec::with_capacity(world.nodes.len());
                let mut mapped = Vec::with_capacity(world.nodes.len());
                for node in &world.nodes {
                    if let Some(oracle) = group.checked_sub(2).and_then(|i| node.oracles.get(i)) {
                        let truth = node.clock.since_start_ns(due_tau);
                        if let Some(local) = oracle.local_of(due_tau) {
                            played.push(local - truth);
                            mapped.push(local - truth);
                        }
                        continue;
                    }
                    let member = if group == 0 { &node.aptp } else { &node.nqptp };
                    let truth = node.clock.at(due_tau);
                    if let Ok(local) = member.schedule.local_time_of(frame) {
                        played.push((local - truth).as_nanos_f64());
                    }
                    if let Some(mapping) = member.receiver.mapping() {
                        mapped.push((mapping.to_local(due_remote) - truth).as_nanos_f64());
                    }
                }
                if played.len() < world.nodes.len() {
                    unscheduled[group] += 1;
                    continue;
                }
                skews[group].push(spread(&played));
                if mapped.len() == world.nodes.len() {
                    mapping_skews[group].push(spread(&mapped));
                }
                for (sum, error) in error_sums[group].iter_mut().zip(&played) {
                    sum.0 += error;
                    sum.1 += 1;
                }
                errors[group].extend(played.iter().map(|e| e.abs()));
            }
        } else if let Some(Reverse(delivery)) = world.queue.pop() {
            world.deliver(tau, delivery);
        }
    }
    let names = [
        "lucky-regression",
        "nqptp",
        "oracle-distribution",
        "oracle-base-delays",
    ];
    (0..groups)
        .map(|group| GroupResult {
            scenario: config.path.name,
            estimator: names[group],
            p50_skew_us: percentile(&mut skews[group], 0.50) / 1e3,
            p99_skew_us: percentile(&mut skews[group], 0.99) / 1e3,
            max_skew_us: percentile(&mut skews[group], 1.0) / 1e3,
            p99_error_us: percentile(&mut errors[group], 0.99) / 1e3,
            unscheduled: unscheduled[group],
            p99_mapping_skew_us: percentile(&mut mapping_skews[group], 0.99) / 1e3,
            bias_spread_us: spread(
                &error_sums[group]
                    .iter()
                    .filter(|(_, count)| *count > 0)
                    .map(|(sum, count)| sum / *count as f64)
                    .collect::<Vec<_>>(),
            ) / 1e3,
        })
        .collect()
}

/// max − min (0 when empty).
fn spread(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    if values.is_empty() {
        0.0
    } else {
        max - min
    }
}

/// The `q` quantile (nearest rank); infinite when there is nothing.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::INFINITY;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The rows as a table for the README.
pub fn format_table(rows: &[GroupResult]) -> String {
    let mut out = String::from(
        "| scenario | estimator | p50 skew µs | p99 skew µs | max skew µs | p99 play error µs | p99 mapping skew µs | bias spread µs |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            row.scenario,
            row.estimator,
            row.p50_skew_us,
            row.p99_skew_us,
            row.max_skew_us,
            row.p99_error_us,
            row.p99_mapping_skew_us,
            row.bias_spread_us
        ));
    }
    out
}

#[cfg(test)]
mod tests;
