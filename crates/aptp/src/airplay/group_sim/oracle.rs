//! Oracles: yardsticks for what the best possible estimators would do with the same packets.
//!
//! Both fit `remote = α + local × (1 + γ)` by maximum likelihood over every Sync and
//! Delay_Req that reached its destination since the start (including the few whose
//! Follow_Up or Delay_Resp was then lost, which the receiver never completes: about 5 % more
//! points, 2.5 % less spread), and are told what no real receiver knows: that the receiver's
//! clock has no wander, and each direction's base delay (so they have none of the asymmetry
//! error every real two-way estimator has: only their skew is comparable).
//!
//! - Told the whole delay distribution (base, log-normal queueing's median and shape, rare
//!   spikes), the fit is asymptotically efficient: it reaches the Cramér–Rao bound, so on
//!   average no estimator working from these timestamps has a smaller error. (Any one run's
//!   p99 is one draw; and `wifi-bursty`'s bursts are taken for spikes, so there the floor is
//!   that of estimators that drop the packets of a burst.)
//! - Told the base delays and the family (log-normal queueing, spikes of 1 % in 20–100 ms),
//!   it learns each direction's median and shape from the packets, starting from the true
//!   values until it has 40 packets each way: what a parametric estimator that guessed the
//!   simulator's family exactly, and knew the base delays, could do.

use super::path::{PathModel, Queueing};

/// Log-density of one direction's delay, with its first two derivatives.
#[derive(Clone, Copy, Debug)]
struct DelayDensity {
    /// The base delay (ns): the least a packet can take.
    base_ns: f64,
    /// ln of the log-normal queueing's median (ns).
    mu: f64,
    /// σ of the queueing's underlying normal.
    sigma: f64,
    /// Chance of a spike.
    spike_probability: f64,
    /// Spikes' extra delay range (ns).
    spike_low_ns: f64,
    spike_high_ns: f64,
}

impl DelayDensity {
    /// `towards_receiver` picks the direction (as `PathModel::draw`).
    fn of(path: &PathModel, towards_receiver: bool) -> Option<Self> {
        let Queueing::LogNormal { median_ns, sigma } = path.queueing else {
            return None;
        };
        let factor = path.direction_factor(towards_receiver);
        let (spike_probability, spike_low_ns, spike_high_ns) =
            path.spikes.unwrap_or((0.0, 0.0, 1.0));
        Some(DelayDensity {
            base_ns: factor * path.base_delay_ns,
            mu: (factor * median_ns).ln(),
            sigma,
            spike_probability,
            spike_low_ns,
            spike_high_ns,
        })
    }

    /// (log f, d/dd log f, d²/dd² log f) at delay `delay_ns`; `None` where the density is 0
    /// (a delay at or below the base).
    ///
    /// The spikes (and the bursts of `wifi-bursty`, which fall in the same range) are taken
    /// as a flat density `p / (high − low)` beyond `low`: a spiked packet then carries no
    /// information about the line, as it should.
    fn log_density(&self, delay_ns: f64) -> Option<(f64, f64, f64)> {
        let r = delay_ns - self.base_ns;
        if r <= 0.0 {
            return None;
        }
        let z = (r.ln() - self.mu) / self.sigma;
        let log_normal_log =
            -r.ln() - 0.5 * z * z - self.sigma.ln() - 0.5 * (2.0 * core::f64::consts::PI).ln();
        let first = -(1.0 + z / self.sigma) / r;
        let second = (1.0 - (1.0 - z * self.sigma) / (self.sigma * self.sigma)) / (r * r);
        let spike = if r > self.spike_low_ns {
            self.spike_probability / (self.spike_high_ns - self.spike_low_ns)
        } else {
            0.0
        };
        let body_log = (1.0 - self.spike_probability).ln() + log_normal_log;
        if spike == 0.0 {
            return Some((body_log, first, second));
        }
        let body = body_log.exp();
        let total = body + spike;
        // Posterior weight of the log-normal component.
        let weight = body / total;
        let gradient = weight * first;
        let curvature = weight * (second + first * first) - gradient * gradient;
        Some((total.ln(), gradient, curvature))
    }
}

/// One receiver's oracle: every packet so far, and the last fit.
#[derive(Clone, Debug)]
pub(super) struct Oracle {
    forward: DelayDensity,
    reverse: DelayDensity,
    /// Syncs: (local receive time, remote send time), ns from the references.
    syncs: Vec<(f64, f64)>,
    /// Delay_Req: (local send time, remote receive time), ns from the references.
    delay_requests: Vec<(f64, f64)>,
    /// remote = alpha + local × (1 + gamma), once fitted.
    fit: Option<(f64, f64)>,
    /// Told only the base delays: learns the queueing's median and shape from the packets.
    learns_queueing: bool,
}

/// Newton iterations per fit at most (a warm start needs two or three).
const MAX_ITERATIONS: usize = 50;
/// Line and queueing fits alternated per refit, learning (warm-started, so the alternation
/// goes on across refits).
const LEARNING_ROUNDS: usize = 2;
/// Packets in each direction before the queueing is learned (the told values until then).
const MIN_POINTS_TO_LEARN: usize = 40;

impl Oracle {
    /// `None` unless the path's queueing is log-normal (the exponential's least delay is not
    /// a regular maximum-likelihood problem, and loopback needs no oracle). With
    /// `learns_queueing`, the queueing's median and shape start at the path's but are
    /// re-learned from the packets as soon as there are enough.
    pub(super) fn new(path: &PathModel, learns_queueing: bool) -> Option<Self> {
        Some(Oracle {
            forward: DelayDensity::of(path, true)?,
            reverse: DelayDensity::of(path, false)?,
            syncs: Vec::new(),
            delay_requests: Vec::new(),
            fit: None,
            learns_queueing,
        })
    }

    /// A Sync sent at `remote_ns` arrived at `local_ns`.
    pub(super) fn sync(&mut self, local_ns: f64, remote_ns: f64) {
        self.syncs.push((local_ns, remote_ns));
    }

    /// A Delay_Req sent at `local_ns` arrived at `remote_ns`.
    pub(super) fn delay_request(&mut self, local_ns: f64, remote_ns: f64) {
        self.delay_requests.push((local_ns, remote_ns));
    }

    /// The local instant (ns from the reference) of remote instant `remote_ns`, by the last
    /// fit.
    pub(super) fn local_of(&self, remote_ns: f64) -> Option<f64> {
        let (alpha, gamma) = self.fit?;
        Some((remote_ns - alpha) / (1.0 + gamma))
    }

    /// One direction: its points, its density, and the sign that turns `mapped − remote`
    /// into its delay (Sync: mapped receive − remote send; Delay_Req: remote receive −
    /// mapped send).
    fn direction(&self, sync: bool) -> (&[(f64, f64)], &DelayDensity, f64) {
        if sync {
            (&self.syncs, &self.forward, 1.0)
        } else {
            (&self.delay_requests, &self.reverse, -1.0)
        }
    }

    /// The delay a point had if remote = alpha + local × (1 + gamma).
    fn delay(alpha: f64, gamma: f64, (local, remote): (f64, f64), sign: f64) -> f64 {
        sign * (alpha + local * (1.0 + gamma) - remote)
    }

    /// The log-likelihood of (alpha, gamma) and its gradient and Hessian, or `None` outside
    /// the feasible region (some delay at or below its base).
    fn evaluate(&self, alpha: f64, gamma: f64) -> Option<(f64, [f64; 2], [f64; 3])> {
        let mut value = 0.0;
        let mut gradient = [0.0; 2];
        let mut hessian = [0.0; 3];
        // x in seconds keeps the Hessian well conditioned; gamma is per ns, so the second
        // parameter is gamma × 1e9 (ns per second) in the derivatives below.
        for sync in [true, false] {
            let (points, density, sign) = self.direction(sync);
            for &point in points {
                let (log, first, second) =
                    density.log_density(Self::delay(alpha, gamma, point, sign))?;
                let x = point.0 * 1e-9;
                value += log;
                gradient[0] += sign * first;
                gradient[1] += sign * first * x;
                hessian[0] += second;
                hessian[1] += second * x;
                hessian[2] += second * x * x;
            }
        }
        Some((value, gradient, hessian))
    }

    /// For a given gamma, the alpha with the most room to both directions' bounds, and that
    /// room (negative when no alpha is feasible).
    fn best_alpha(&self, gamma: f64) -> (f64, f64) {
        // Sync delay > base: alpha > remote − local (1 + γ) + base; Delay_Req: alpha <
        // remote − local (1 + γ) − base.
        let low = self
            .syncs
            .iter()
            .map(|&(l, r)| r - l * (1.0 + gamma) + self.forward.base_ns)
            .fold(f64::MIN, f64::max);
        let high = self
            .delay_requests
            .iter()
            .map(|&(l, r)| r - l * (1.0 + gamma) - self.reverse.base_ns)
            .fold(f64::MAX, f64::min);
        ((low + high) / 2.0, (high - low) / 2.0)
    }

    /// A start inside the feasible region: the last fit if still feasible, else the line
    /// with the most room to every packet's bound. The room is concave in gamma (half the
    /// difference of a minimum and a maximum of lines), so a ternary search finds it.
    fn start(&self) -> Option<(f64, f64)> {
        if let Some((alpha, gamma)) = self.fit {
            if self.evaluate(alpha, gamma).is_some() {
                return Some((alpha, gamma));
            }
        }
        let (mut low, mut high) = (-1e-3, 1e-3);
        for _ in 0..200 {
            let a = low + (high - low) / 3.0;
            let b = high - (high - low) / 3.0;
            if self.best_alpha(a).1 < self.best_alpha(b).1 {
                low = a;
            } else {
                high = b;
            }
        }
        let gamma = (low + high) / 2.0;
        let (alpha, room) = self.best_alpha(gamma);
        (room > 0.0).then_some((alpha, gamma))
    }

    /// One direction's queueing (mu, sigma) given the line: the mean and deviation of
    /// ln(queueing) over the packets that were not spiked. That is the maximum-likelihood
    /// estimate but for a hard cut at half the spikes' least extra delay (10 ms on `wifi`,
    /// where the log-normal keeps about 0.1 % of its packets).
    fn queueing_of(&self, alpha: f64, gamma: f64, sync: bool) -> Option<(f64, f64)> {
        let (points, density, sign) = self.direction(sync);
        let (mut weight_sum, mut sum, mut square_sum) = (0.0, 0.0, 0.0);
        for &point in points {
            let r = Self::delay(alpha, gamma, point, sign) - density.base_ns;
            if r <= 0.0 {
                return None;
            }
            let weight = if density.spike_probability > 0.0 && r > density.spike_low_ns * 0.5 {
                0.0
            } else {
                1.0
            };
            weight_sum += weight;
            sum += weight * r.ln();
            square_sum += weight * r.ln() * r.ln();
        }
        if weight_sum < 2.0 {
            return None;
        }
        let mean = sum / weight_sum;
        Some((
            mean,
            (square_sum / weight_sum - mean * mean).max(1e-6).sqrt(),
        ))
    }

    /// Fits the line to every packet so far; an oracle that learns the queueing alternates
    /// with fitting each direction's (mu, sigma) to the line (coordinate ascent on the joint
    /// likelihood, warm-started from the last fit).
    pub(super) fn refit(&mut self) {
        if !self.learns_queueing {
            self.refit_line();
            return;
        }
        for _ in 0..LEARNING_ROUNDS {
            self.refit_line();
            let Some((alpha, gamma)) = self.fit else {
                return;
            };
            if self.syncs.len() < MIN_POINTS_TO_LEARN
                || self.delay_requests.len() < MIN_POINTS_TO_LEARN
            {
                return;
            }
            let (Some(forward), Some(reverse)) = (
                self.queueing_of(alpha, gamma, true),
                self.queueing_of(alpha, gamma, false),
            ) else {
                return;
            };
            (self.forward.mu, self.forward.sigma) = forward;
            (self.reverse.mu, self.reverse.sigma) = reverse;
        }
    }

    /// The line alone, by damped Newton (Levenberg–Marquardt on the negative
    /// log-likelihood); keeps the last fit if no feasible start is found.
    fn refit_line(&mut self) {
        if self.syncs.is_empty() || self.delay_requests.is_empty() {
            return;
        }
        let Some((mut alpha, mut gamma)) = self.start() else {
            return;
        };
        let Some((mut value, mut gradient, mut hessian)) = self.evaluate(alpha, gamma) else {
            return;
        };
        let mut damping = 1e-3;
        for _ in 0..MAX_ITERATIONS {
            // Solve M δ = g for the ascent step, in (alpha, gamma × 1e9): M is −H with its
            // diagonal's magnitude × (1 + λ). The log-normal is not log-concave beyond
            // ~1.67 × its median, so −H's diagonal can be negative: its magnitude keeps the
            // step an ascent, and λ grows until the likelihood does.
            let a = -hessian[0];
            let b = -hessian[1];
            let c = -hessian[2];
            let (a, c) = (a.abs().max(1e-30), c.abs().max(1e-30));
            let mut improved = false;
            for _ in 0..30 {
                let (da, dc) = (a * (1.0 + damping), c * (1.0 + damping));
                let determinant = da * dc - b * b;
                if determinant <= 0.0 {
                    damping *= 10.0;
                    continue;
                }
                let step_alpha = (dc * gradient[0] - b * gradient[1]) / determinant;
                let step_rate = (da * gradient[1] - b * gradient[0]) / determinant;
                let (next_alpha, next_gamma) = (alpha + step_alpha, gamma + step_rate * 1e-9);
                match self.evaluate(next_alpha, next_gamma) {
                    Some((next_value, next_gradient, next_hessian)) if next_value >= value => {
                        let converged = step_alpha.abs() < 1e-3 && (step_rate * 300.0).abs() < 1e-3;
                        alpha = next_alpha;
                        gamma = next_gamma;
                        value = next_value;
                        gradient = next_gradient;
                        hessian = next_hessian;
                        damping = (damping / 10.0).max(1e-9);
                        improved = !converged;
                        break;
                    }
                    _ => damping *= 10.0,
                }
            }
            if !improved {
                break;
            }
        }
        self.fit = Some((alpha, gamma));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airplay::group_sim::path::Rng;

    #[test]
    fn derivatives_match_finite_differences() {
        let density = DelayDensity::of(&PathModel::wifi(), true).unwrap();
        for delay in [2.4e6, 3.0e6, 5.0e6, 2.2e7, 6.0e7] {
            let (log, first, second) = density.log_density(delay).unwrap();
            let h = 1.0;
            let (up, up_first, _) = density.log_density(delay + h).unwrap();
            let (down, down_first, _) = density.log_density(delay - h).unwrap();
            let scale = first.abs().max(1e-12);
            assert!(
                ((up - down) / (2.0 * h) - first).abs() < 1e-4 * scale + 1e-12,
                "{delay}"
            );
            let scale = second.abs().max(1e-18);
            assert!(
                ((up_first - down_first) / (2.0 * h) - second).abs() < 1e-3 * scale + 1e-18,
                "{delay}: {second}"
            );
            assert!(log.is_finite());
        }
        assert!(density.log_density(density.base_ns).is_none());
    }

    #[test]
    fn fits_a_known_line_from_wifi_packets() {
        let path = PathModel::wifi();
        let mut oracle = Oracle::new(&path, false).unwrap();
        let mut rng = Rng::new(5);
        // The receiver's clock: local = τ × (1 + 40 ppm); remote = τ + 7 ms.
        let rate = 1.0 + 40e-6;
        for i in 0..1_600 {
            let tau = i as f64 * 125e6;
            if let Some(delay) = path.draw(&mut rng, tau * 1e-9, true) {
                oracle.sync((tau + delay) * rate, tau + 7e6);
            }
            if let Some(delay) = path.draw(&mut rng, tau * 1e-9, false) {
                oracle.delay_request(tau * rate, tau + delay + 7e6);
            }
            if i % 80 == 79 {
                oracle.refit();
            }
        }
        // The true local instant of remote 200 s + 7 ms is 200 s × rate.
        let local = oracle.local_of(200e9 + 7e6).unwrap();
        let error = local - 200e9 * rate;
        // 200 s of 8 Hz Wi-Fi locate the line within a few tens of µs.
        assert!(error.abs() < 30e3, "{error}");
        assert!(Oracle::new(&PathModel::loopback(), false).is_none());
    }

    #[test]
    fn learns_the_queueing_it_was_not_told() {
        let path = PathModel::wifi();
        let mut oracle = Oracle::new(&path, true).unwrap();
        // Told a wrong start: median 3 ms, σ 0.3 (the path's: 1 ms × 1.13, 0.7).
        oracle.forward.mu = 3e6f64.ln();
        oracle.forward.sigma = 0.3;
        let mut rng = Rng::new(9);
        for i in 0..1_600 {
            let tau = i as f64 * 125e6;
            if let Some(delay) = path.draw(&mut rng, tau * 1e-9, true) {
                oracle.sync(tau + delay, tau);
            }
            if let Some(delay) = path.draw(&mut rng, tau * 1e-9, false) {
                oracle.delay_request(tau, tau + delay);
            }
            if i % 8 == 7 {
                oracle.refit();
            }
        }
        let median = oracle.forward.mu.exp();
        assert!((median / (1e6 * 2.6 / 2.3) - 1.0).abs() < 0.05, "{median}");
        assert!(
            (oracle.forward.sigma - 0.7).abs() < 0.05,
            "{}",
            oracle.forward.sigma
        );
        let error = oracle.local_of(200e9).unwrap() - 200e9;
        assert!(error.abs() < 50e3, "{error}");
    }
}
