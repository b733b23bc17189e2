//! Per-packet path delays: the parameters of aptp-clock's `wifi`, `wifi-bursty` and `loopback`
//! scenarios (`aptp_clock::sim::Scenario`), drawn packet by packet for each receiver's own path.

/// How queueing delay is drawn for each packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Queueing {
    /// Exponential with this mean (ns).
    Exponential {
        /// Mean (ns).
        mean_ns: f64,
    },
    /// Log-normal with this median (ns) and shape σ.
    LogNormal {
        /// Median (ns).
        median_ns: f64,
        /// σ of the underlying normal.
        sigma: f64,
    },
}

/// One receiver's network path model (both directions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathModel {
    /// The scenario's name, as aptp-clock names it.
    pub name: &'static str,
    /// Mean of the two directions' base delay (ns).
    pub base_delay_ns: f64,
    /// Sender-to-receiver delay over receiver-to-sender delay.
    pub asymmetry_ratio: f64,
    /// Queueing per packet.
    pub queueing: Queueing,
    /// Rare long delays: (probability, shortest ns, longest ns).
    pub spikes: Option<(f64, f64, f64)>,
    /// Congestion: every `.0` s for `.1` s, `.2` ns more in both directions.
    pub bursts: Option<(f64, f64, f64)>,
    /// Chance a packet is lost.
    pub loss: f64,
    /// Dropouts: every `.0` s for `.1` s, every packet lost both ways (the sender's Wi-Fi
    /// gone, so every receiver at once).
    pub outages: Option<(f64, f64)>,
}

impl PathModel {
    /// aptp-clock's `wifi`: 2 ms base, log-normal queueing (median 1 ms, σ 0.7), 1 % of packets
    /// 20–100 ms late, 5 % loss, sender-to-receiver 30 % slower.
    pub fn wifi() -> Self {
        PathModel {
            name: "wifi",
            base_delay_ns: 2_000_000.0,
            asymmetry_ratio: 1.3,
            queueing: Queueing::LogNormal {
                median_ns: 1_000_000.0,
                sigma: 0.7,
            },
            spikes: Some((0.01, 20_000_000.0, 100_000_000.0)),
            bursts: None,
            loss: 0.05,
            outages: None,
        }
    }

    /// aptp-clock's `wifi-bursty`: `wifi` plus 2 s of 50 ms extra delay every 30 s.
    pub fn wifi_bursty() -> Self {
        PathModel {
            name: "wifi-bursty",
            bursts: Some((30.0, 2.0, 50_000_000.0)),
            ..Self::wifi()
        }
    }

    /// `wifi` with both directions equally slow (`asymmetry_ratio` 1): what is left of the
    /// skew when the path's asymmetry, which no timing exchange can observe, is removed.
    pub fn wifi_symmetric() -> Self {
        PathModel {
            name: "wifi-symmetric",
            asymmetry_ratio: 1.0,
            ..Self::wifi()
        }
    }

    /// `wifi` with the sender's Wi-Fi gone for 5 s every 60 s: longer than the Announce
    /// timeout, so every receiver loses its grandmaster and (within its holdover) gets it
    /// back. (The simulator runs a receiver's timers when a packet reaches it, so the loss
    /// is noticed when the packets come back.)
    pub fn wifi_outages() -> Self {
        PathModel {
            name: "wifi-outages",
            outages: Some((60.0, 5.0)),
            ..Self::wifi()
        }
    }

    /// aptp-clock's `loopback`: 1 µs base, 1 µs exponential noise, nothing lost.
    pub fn loopback() -> Self {
        PathModel {
            name: "loopback",
            base_delay_ns: 1_000.0,
            asymmetry_ratio: 1.0,
            queueing: Queueing::Exponential { mean_ns: 1_000.0 },
            spikes: None,
            bursts: None,
            loss: 0.0,
            outages: None,
        }
    }

    /// The model with this name (`wifi`, `wifi-bursty`, `wifi-symmetric`, `wifi-outages`,
    /// `loopback`).
    pub fn by_name(name: &str) -> Option<Self> {
        [
            Self::wifi(),
            Self::wifi_bursty(),
            Self::wifi_symmetric(),
            Self::wifi_outages(),
            Self::loopback(),
        ]
        .into_iter()
        .find(|m| m.name == name)
    }

    /// What one direction's base and queueing are multiplied by, so that sender-to-receiver
    /// over receiver-to-sender is `asymmetry_ratio` and their mean is the model's.
    pub(crate) fn direction_factor(&self, towards_receiver: bool) -> f64 {
        let ratio = self.asymmetry_ratio;
        if towards_receiver {
            2.0 * ratio / (1.0 + ratio)
        } else {
            2.0 / (1.0 + ratio)
        }
    }

    /// The delay (ns) of a packet sent at `at_s` seconds of true time, or `None` if it is
    /// lost. `towards_receiver` picks the direction.
    pub(crate) fn draw(&self, rng: &mut Rng, at_s: f64, towards_receiver: bool) -> Option<f64> {
        let factor = self.direction_factor(towards_receiver);
        let queueing = match self.queueing {
            Queueing::Exponential { mean_ns } => -mean_ns * (1.0 - rng.uniform()).ln(),
            Queueing::LogNormal { median_ns, sigma } => median_ns * (sigma * rng.normal()).exp(),
        };
        let mut delay = factor * (self.base_delay_ns + queueing);
        if let Some((probability, low, high)) = self.spikes {
            if rng.uniform() < probability {
                delay += low + (high - low) * rng.uniform();
            }
        }
        if let Some((period_s, length_s, extra_ns)) = self.bursts {
            if in_stretch(at_s, period_s, length_s) {
                delay += extra_ns;
            }
        }
        if rng.uniform() < self.loss {
            return None;
        }
        if let Some((period_s, length_s)) = self.outages {
            if in_stretch(at_s, period_s, length_s) {
                return None;
            }
        }
        Some(delay)
    }
}

/// Whether `at_s` falls in one of the stretches of `length_s` that start every `period_s`
/// from `period_s` on (bursts, outages).
fn in_stretch(at_s: f64, period_s: f64, length_s: f64) -> bool {
    at_s >= period_s && at_s % period_s < length_s
}

/// splitmix64: small, fast and deterministic.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * core::f64::consts::PI * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_delays_have_the_scenario_shape() {
        let mut rng = Rng::new(1);
        let model = PathModel::wifi();
        let mut delays: Vec<f64> = (0..20_000)
            .filter_map(|_| model.draw(&mut rng, 1.0, true))
            .collect();
        let lost = 20_000 - delays.len();
        assert!((800..1_200).contains(&lost), "{lost}");
        delays.sort_by(f64::total_cmp);
        let median = delays[delays.len() / 2];
        // 1.13 × (2 ms + 1 ms median).
        assert!((3.2e6..3.6e6).contains(&median), "{median}");
        let bursty = PathModel::by_name("wifi-bursty").unwrap();
        let in_burst = bursty.draw(&mut Rng::new(2), 30.5, false).unwrap();
        assert!(in_burst > 50e6);
        assert!(PathModel::by_name("nowhere").is_none());
    }
}
