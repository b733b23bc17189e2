//! The simulated world: two clocks with known truth, and the exchanges between them.

use super::prng::Rng;
use super::scenario::{Queueing, Scenario};
use crate::estimator::{PathDelay, Sample};
use crate::time::{Time, TimeDelta};
use std::vec::Vec;

/// The slave's local clock at the start (CLOCK_MONOTONIC_RAW after ~3.4 h of uptime).
const LOCAL_START_NS: u64 = 12_345_678_901_234;
/// The master's clock at the start (a PTP/TAI time in 2023).
const REMOTE_START_S: u64 = 1_700_000_000;
/// The grandmaster's identity in every scenario.
pub(crate) const GRANDMASTER: u64 = 0x0011_22FF_FE33_4455;

/// The clocks: true time τ (ns from the start) to local and remote readings.
#[derive(Clone, Debug)]
pub(crate) struct Clocks {
    /// Slave frequency offset at each whole second (ppb).
    frequency_ppb: Vec<f64>,
    /// Local-minus-true phase at each whole second (ns).
    phase_ns: Vec<f64>,
    steps: Vec<(f64, f64)>,
}

impl Clocks {
    fn new(scenario: &Scenario, rng: &mut Rng) -> Self {
        let seconds = scenario.duration_s.ceil() as usize + 2;
        let base = rng.uniform_in(
            -scenario.max_frequency_offset_ppb,
            scenario.max_frequency_offset_ppb,
        );
        let mut wander = 0.0;
        let mut frequency_ppb = Vec::with_capacity(seconds);
        for second in 0..seconds {
            let time_s = second as f64;
            let ramp = scenario.ramp.map_or(0.0, |ramp| {
                let progress = ((time_s - ramp.start_s) / ramp.length_s).clamp(0.0, 1.0);
                ramp.change_ppb * progress
            });
            frequency_ppb.push(base + wander + ramp);
            wander += scenario.wander_ppb_per_s * rng.normal();
        }
        let mut phase_ns = Vec::with_capacity(seconds);
        let mut phase = 0.0;
        for second in 0..seconds {
            phase_ns.push(phase);
            if second + 1 < seconds {
                // Trapezoid: the frequency is linear between knots. ppb × 1 s = ns.
                phase += 0.5 * (frequency_ppb[second] + frequency_ppb[second + 1]);
            }
        }
        let steps = scenario
            .master_steps
            .iter()
            .map(|step| (step.at_s * 1e9, step.step_ns))
            .collect();
        Self {
            frequency_ppb,
            phase_ns,
            steps,
        }
    }

    /// Slave frequency offset at true time τ (ppb).
    pub(crate) fn frequency_ppb(&self, tau_ns: f64) -> f64 {
        let (index, fraction) = self.knot(tau_ns);
        self.frequency_ppb[index]
            + fraction * (self.frequency_ppb[index + 1] - self.frequency_ppb[index])
    }

    fn knot(&self, tau_ns: f64) -> (usize, f64) {
        let seconds = (tau_ns * 1e-9).max(0.0);
        let index = (seconds.floor() as usize).min(self.frequency_ppb.len() - 2);
        (index, seconds - index as f64)
    }

    /// The local clock at true time τ.
    pub(crate) fn local(&self, tau_ns: f64) -> Time {
        let (index, fraction) = self.knot(tau_ns);
        let start = self.frequency_ppb[index];
        let slope = self.frequency_ppb[index + 1] - start;
        // ∫0^f (start + slope·u) du seconds, in ns.
        let phase = self.phase_ns[index] + start * fraction + 0.5 * slope * fraction * fraction;
        Time::from_nanos(LOCAL_START_NS) + TimeDelta::from_nanos_f64(tau_ns + phase)
    }

    /// The master's clock at true time τ.
    pub(crate) fn remote(&self, tau_ns: f64) -> Time {
        let stepped: f64 = self
            .steps
            .iter()
            .filter(|(at, _)| tau_ns >= *at)
            .map(|(_, step)| step)
            .sum();
        Time::from_secs_nanos(REMOTE_START_S, 0).unwrap_or(Time::EPOCH)
            + TimeDelta::from_nanos_f64(tau_ns + stepped)
    }

    /// Remote seconds per local second at τ, minus 1.
    pub(crate) fn true_rate_offset(&self, tau_ns: f64) -> f64 {
        let frequency = self.frequency_ppb(tau_ns) * 1e-9;
        -frequency / (1.0 + frequency)
    }
}

/// One sample and when (true time) the slave has all of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delivery {
    pub at_ns: f64,
    pub sample: Sample,
}

/// The whole run's clocks and deliveries, identical for every estimator.
#[derive(Clone, Debug)]
pub(crate) struct World {
    pub clocks: Clocks,
    pub deliveries: Vec<Delivery>,
}

impl World {
    pub(crate) fn new(scenario: &Scenario, seed: u64) -> Self {
        // A hand-made scenario with a nonsensical length or rate is bounded, not a panic or an
        // exhausted memory: at most a day, at least 1 ms between Syncs.
        let mut bounded = scenario.clone();
        bounded.duration_s = if scenario.duration_s.is_finite() {
            scenario.duration_s.clamp(0.0, 86_400.0)
        } else {
            0.0
        };
        bounded.sync_interval_s = if scenario.sync_interval_s.is_finite() {
            scenario.sync_interval_s.clamp(0.001, 3_600.0)
        } else {
            1.0
        };
        let scenario = &bounded;
        let mut rng = Rng::new(seed);
        let clocks = Clocks::new(scenario, &mut rng);
        let ratio = scenario.asymmetry_ratio;
        let master_to_slave = 2.0 * ratio / (1.0 + ratio);
        let slave_to_master = 2.0 / (1.0 + ratio);
        let delay = |rng: &mut Rng, factor: f64, at_ns: f64| {
            let queueing = match scenario.queueing {
                Queueing::Exponential { mean_ns } => rng.exponential(mean_ns),
                Queueing::LogNormal { median_ns, sigma } => rng.log_normal(median_ns, sigma),
            };
            let mut total = factor * (scenario.base_delay_ns + queueing);
            if let Some(spikes) = scenario.spikes {
                if rng.chance(spikes.probability) {
                    total += rng.uniform_in(spikes.min_ns, spikes.max_ns);
                }
            }
            if let Some(bursts) = scenario.bursts {
                let seconds = at_ns * 1e-9;
                let phase = seconds % bursts.period_s;
                if seconds >= bursts.period_s && phase < bursts.length_s {
                    total += bursts.extra_ns;
                }
            }
            total
        };
        let interval_ns = scenario.sync_interval_s * 1e9;
        if let Some(mean_s) = scenario.delay_request_interval_s {
            let deliveries = own_timer_deliveries(scenario, &clocks, &mut rng, mean_s, &delay);
            return Self { clocks, deliveries };
        }
        let count = (scenario.duration_s / scenario.sync_interval_s) as usize;
        let mut deliveries = Vec::with_capacity(count + count / 16);
        for index in 0..count {
            let sent = 10e6 + index as f64 * interval_ns;
            let forward = delay(&mut rng, master_to_slave, sent);
            let sync_lost = rng.chance(scenario.loss);
            let request_sent = sent + forward + rng.uniform_in(0.0, interval_ns / 2.0);
            let backward = delay(&mut rng, slave_to_master, request_sent);
            let response = delay(&mut rng, master_to_slave, request_sent + backward);
            let exchange_lost = rng.chance(scenario.loss) || rng.chance(scenario.loss);
            let duplicated = rng.chance(scenario.duplicate);
            if sync_lost {
                continue;
            }
            let t1 = clocks.remote(sent);
            let t2 = clocks.local(sent + forward);
            let (path_delay, at_ns) = if exchange_lost || !scenario.delay_requests {
                (PathDelay::Unknown, sent + forward)
            } else {
                let t3 = clocks.local(request_sent);
                let t4 = clocks.remote(request_sent + backward);
                (
                    PathDelay::Exchange { t3, t4 },
                    request_sent + backward + response,
                )
            };
            let sample = Sample {
                t1,
                t2,
                path_delay,
                grandmaster_identity: GRANDMASTER,
            };
            deliveries.push(Delivery { at_ns, sample });
            if duplicated {
                deliveries.push(Delivery {
                    at_ns: at_ns + 1e6,
                    sample,
                });
            }
        }
        deliveries.sort_by(|a, b| a.at_ns.total_cmp(&b.at_ns));
        Self { clocks, deliveries }
    }
}

/// Deliveries when Delay_Req run on their own randomised timer and every Sync is paired with
/// the latest completed exchange (the engine's way).
fn own_timer_deliveries(
    scenario: &Scenario,
    clocks: &Clocks,
    rng: &mut Rng,
    mean_s: f64,
    delay: &dyn Fn(&mut Rng, f64, f64) -> f64,
) -> Vec<Delivery> {
    let ratio = scenario.asymmetry_ratio;
    let master_to_slave = 2.0 * ratio / (1.0 + ratio);
    let slave_to_master = 2.0 / (1.0 + ratio);
    let end_ns = scenario.duration_s * 1e9;
    let mean_ns = if mean_s.is_finite() {
        mean_s.clamp(0.001, 3_600.0) * 1e9
    } else {
        1e9
    };
    // (completed at, t3, t4), in order of completion.
    let mut exchanges: Vec<(f64, Time, Time)> = Vec::new();
    let mut request_sent = rng.uniform_in(0.0, 2.0 * mean_ns);
    while request_sent < end_ns {
        let backward = delay(rng, slave_to_master, request_sent);
        let response = delay(rng, master_to_slave, request_sent + backward);
        if !(rng.chance(scenario.loss) || rng.chance(scenario.loss)) {
            exchanges.push((
                request_sent + backward + response,
                clocks.local(request_sent),
                clocks.remote(request_sent + backward),
            ));
        }
        request_sent += rng.uniform_in(0.0, 2.0 * mean_ns).max(1.0);
    }
    exchanges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let interval_ns = scenario.sync_interval_s * 1e9;
    let count = (scenario.duration_s / scenario.sync_interval_s) as usize;
    let mut deliveries = Vec::with_capacity(count);
    for index in 0..count {
        let sent = 10e6 + index as f64 * interval_ns;
        let forward = delay(rng, master_to_slave, sent);
        if rng.chance(scenario.loss) {
            continue;
        }
        let at_ns = sent + forward;
        let latest = exchanges.partition_point(|exchange| exchange.0 <= at_ns);
        let Some((_, t3, t4)) = latest.checked_sub(1).map(|index| exchanges[index]) else {
            continue;
        };
        let sample = Sample {
            t1: clocks.remote(sent),
            t2: clocks.local(at_ns),
            path_delay: PathDelay::Exchange { t3, t4 },
            grandmaster_identity: GRANDMASTER,
        };
        deliveries.push(Delivery { at_ns, sample });
    }
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_follow_their_frequency() {
        let scenario = Scenario::drift_ramp();
        let world = World::new(&scenario, 1);
        let clocks = &world.clocks;
        let tau = 100.5e9;
        let frequency = clocks.frequency_ppb(tau) * 1e-9;
        let dt = 1e6;
        let local_rate = (clocks.local(tau + dt) - clocks.local(tau)).as_nanos_f64() / dt - 1.0;
        assert!(
            (local_rate - frequency).abs() < 1e-8,
            "{local_rate} {frequency}"
        );
        assert!(
            (clocks.frequency_ppb(130e9) - clocks.frequency_ppb(50e9) - 10_000.0).abs() < 500.0
        );
        // Deliveries are in order and nearly all arrive.
        assert!(world
            .deliveries
            .windows(2)
            .all(|pair| pair[0].at_ns <= pair[1].at_ns));
        assert!(world.deliveries.len() > (scenario.duration_s * 8.0 * 0.99) as usize);
    }

    #[test]
    fn nonsense_scenarios_are_bounded() {
        let mut scenario = Scenario::loopback();
        scenario.sync_interval_s = 0.0;
        scenario.duration_s = 1.0;
        assert_eq!(World::new(&scenario, 1).deliveries.len(), 1_000);
        scenario.duration_s = f64::NAN;
        assert!(World::new(&scenario, 1).deliveries.is_empty());
    }
}
