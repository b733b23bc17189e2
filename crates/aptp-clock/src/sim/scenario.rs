//! The simulated worlds: network, clocks and master steps.

/// How queueing delay is drawn for each packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Queueing {
    /// Exponential with this mean (ns).
    Exponential {
        /// Mean queueing delay (ns).
        mean_ns: f64,
    },
    /// Log-normal with this median (ns) and shape σ (heavy-tailed).
    LogNormal {
        /// Median queueing delay (ns).
        median_ns: f64,
        /// Shape σ of the underlying normal.
        sigma: f64,
    },
}

/// Rare long delays (Wi-Fi retries, power save): with `probability` a packet is held a
/// uniform `min_ns..max_ns` more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spikes {
    /// Chance per packet.
    pub probability: f64,
    /// Shortest extra delay (ns).
    pub min_ns: f64,
    /// Longest extra delay (ns).
    pub max_ns: f64,
}

/// Periodic congestion: every `period_s` (first at `period_s`) for `length_s`, every packet in
/// both directions is held `extra_ns` more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bursts {
    /// Time between bursts (s).
    pub period_s: f64,
    /// Length of a burst (s).
    pub length_s: f64,
    /// Extra delay during a burst (ns).
    pub extra_ns: f64,
}

/// A change of the slave's frequency over time (temperature): linear from `start_s` for
/// `length_s`, by `change_ppb` in all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// When the ramp starts (s).
    pub start_s: f64,
    /// How long it lasts (s).
    pub length_s: f64,
    /// Total frequency change (ppb).
    pub change_ppb: f64,
}

/// A jump of the master's clock at `at_s` by `step_ns`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MasterStep {
    /// When (s of true time).
    pub at_s: f64,
    /// By how much (ns).
    pub step_ns: f64,
}

/// One simulated world. All times are true (simulation) time from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The name printed in the table.
    pub name: &'static str,
    /// Length of the run (s).
    pub duration_s: f64,
    /// Time between Syncs (s); each Sync is followed by a Delay_Req.
    pub sync_interval_s: f64,
    /// Mean of the two directions' base delay (ns).
    pub base_delay_ns: f64,
    /// Master-to-slave delay (base and queueing) over slave-to-master delay; 1 is symmetric.
    pub asymmetry_ratio: f64,
    /// Queueing per packet.
    pub queueing: Queueing,
    /// Rare long delays.
    pub spikes: Option<Spikes>,
    /// Periodic congestion.
    pub bursts: Option<Bursts>,
    /// Chance each packet (Sync/Follow_Up pair, Delay_Req, Delay_Resp) is lost.
    pub loss: f64,
    /// Chance a Sync is delivered twice.
    pub duplicate: f64,
    /// Largest |frequency offset| of the slave, drawn uniformly per seed (ppb).
    pub max_frequency_offset_ppb: f64,
    /// Random-walk wander of the slave's frequency: standard deviation per second (ppb).
    pub wander_ppb_per_s: f64,
    /// A frequency ramp of the slave.
    pub ramp: Option<Ramp>,
    /// Steps of the master's clock.
    pub master_steps: &'static [MasterStep],
    /// Whether the slave sends Delay_Req (Apple receivers do not answer them: AirPlay then has
    /// only the one-way Sync/Follow_Up measurement).
    pub delay_requests: bool,
    /// `None`: a Delay_Req follows each Sync (0 to half an interval after it). `Some(mean)`:
    /// Delay_Req leave on their own timer, uniformly random in [0, 2 × mean) apart (IEEE
    /// 1588's randomisation, as ptp4l and aptp's engine do), and each Sync is paired with the
    /// latest completed exchange, however old (what the engine hands the estimator).
    pub delay_request_interval_s: Option<f64>,
    /// Time error statistics start after this (s), so that every estimator has locked.
    pub warmup_s: f64,
}

const WIRED_LAN: Scenario = Scenario {
    name: "wired-lan",
    duration_s: 180.0,
    sync_interval_s: 0.125,
    base_delay_ns: 50_000.0,
    asymmetry_ratio: 1.0,
    queueing: Queueing::Exponential { mean_ns: 10_000.0 },
    spikes: None,
    bursts: None,
    loss: 0.001,
    duplicate: 0.001,
    max_frequency_offset_ppb: 100_000.0,
    wander_ppb_per_s: 2.0,
    ramp: None,
    master_steps: &[],
    delay_requests: true,
    delay_request_interval_s: None,
    warmup_s: 60.0,
};

const WIFI: Scenario = Scenario {
    name: "wifi",
    duration_s: 300.0,
    base_delay_ns: 2_000_000.0,
    asymmetry_ratio: 1.3,
    queueing: Queueing::LogNormal {
        median_ns: 1_000_000.0,
        sigma: 0.7,
    },
    spikes: Some(Spikes {
        probability: 0.01,
        min_ns: 20_000_000.0,
        max_ns: 100_000_000.0,
    }),
    loss: 0.05,
    ..WIRED_LAN
};

impl Scenario {
    /// `wired-lan`: 8 Hz, 50 µs base, exponential queueing of 10 µs mean, 0.1 % loss.
    pub fn wired_lan() -> Self {
        WIRED_LAN
    }
    /// `wifi`: 8 Hz, 2 ms base, log-normal queueing (median 1 ms, σ 0.7), 1 % of packets held
    /// 20–100 ms, 5 % loss, master-to-slave 30 % slower than slave-to-master.
    pub fn wifi() -> Self {
        WIFI
    }
    /// `wifi-bursty`: `wifi` plus 2-second bursts of 50 ms extra delay every 30 s.
    pub fn wifi_bursty() -> Self {
        Self {
            name: "wifi-bursty",
            bursts: Some(Bursts {
                period_s: 30.0,
                length_s: 2.0,
                extra_ns: 50_000_000.0,
            }),
            ..WIFI
        }
    }
    /// `airplay-one-way`: `wifi` with no Delay_Req, as an AirPlay receiver following an Apple
    /// sender sees it: every estimator then carries the whole (unknowable) path delay.
    pub fn airplay_one_way() -> Self {
        Self {
            name: "airplay-one-way",
            delay_requests: false,
            ..WIFI
        }
    }
    /// `master-step`: `wired-lan` with the master stepping +1 s at 90 s and −0.5 s at 150 s.
    pub fn master_step() -> Self {
        const STEPS: [MasterStep; 2] = [
            MasterStep {
                at_s: 90.0,
                step_ns: 1e9,
            },
            MasterStep {
                at_s: 150.0,
                step_ns: -0.5e9,
            },
        ];
        Self {
            name: "master-step",
            duration_s: 210.0,
            master_steps: &STEPS,
            ..WIRED_LAN
        }
    }
    /// `drift-ramp`: `wired-lan` with the slave's frequency changing 10 ppm over 60 s (60–120 s).
    pub fn drift_ramp() -> Self {
        Self {
            name: "drift-ramp",
            ramp: Some(Ramp {
                start_s: 60.0,
                length_s: 60.0,
                change_ppb: 10_000.0,
            }),
            ..WIRED_LAN
        }
    }
    /// `loopback`: 1 µs base, 1 µs exponential noise, nothing lost.
    pub fn loopback() -> Self {
        Self {
            name: "loopback",
            duration_s: 120.0,
            base_delay_ns: 1_000.0,
            queueing: Queueing::Exponential { mean_ns: 1_000.0 },
            loss: 0.0,
            duplicate: 0.0,
            ..WIRED_LAN
        }
    }
    /// `wired-lan` at linuxptp's defaults: Sync every `2^log_interval` s and Delay_Req on their
    /// own randomised timer with the same mean, each Sync paired with the latest exchange, 300 s.
    /// Named `wired-lan-1hz` (log 0), `wired-lan-8hz` (log −3), `wired-lan-2s` (log 1)...
    /// Not in the table; [`by_name`](Self::by_name) finds the five of log −3..=1.
    pub fn wired_lan_engine(log_interval: i8) -> Self {
        let log = log_interval.clamp(-7, 7);
        let interval_s = libm::pow(2.0, f64::from(log));
        Self {
            name: match log {
                -3 => "wired-lan-8hz",
                -2 => "wired-lan-4hz",
                -1 => "wired-lan-2hz",
                0 => "wired-lan-1hz",
                1 => "wired-lan-2s",
                _ => "wired-lan-engine",
            },
            duration_s: 300.0,
            sync_interval_s: interval_s,
            delay_request_interval_s: Some(interval_s),
            ..WIRED_LAN
        }
    }
    /// `master-step` at 1 Hz with the engine's Delay_Req timing (`master-step-1hz`, not in
    /// the table): a +1 ms step at 90 s and a −1 ms one at 150 s.
    pub fn master_step_1hz() -> Self {
        const STEPS: [MasterStep; 2] = [
            MasterStep {
                at_s: 90.5,
                step_ns: 1e6,
            },
            MasterStep {
                at_s: 150.5,
                step_ns: -1e6,
            },
        ];
        Self {
            name: "master-step-1hz",
            master_steps: &STEPS,
            duration_s: 210.0,
            ..Self::wired_lan_engine(0)
        }
    }
    /// The error (ns) of an oracle that knows the rate and both directions' exact minimum
    /// delays but, like every two-way estimator, takes the path for symmetric: half the
    /// difference of the two base delays, `base × |r − 1| / (r + 1)` for `asymmetry_ratio` r
    /// (≈ 261 µs on `wifi`, 0 on symmetric links). No two-way estimator can see it, so a
    /// p99 below it is luck. One way (no Delay_Req) the whole master-to-slave base delay is
    /// invisible instead.
    pub fn asymmetry_floor_ns(&self) -> f64 {
        let ratio = self.asymmetry_ratio;
        if !(ratio.is_finite() && ratio > 0.0 && self.base_delay_ns.is_finite()) {
            return f64::NAN;
        }
        let master_to_slave = 2.0 * ratio / (1.0 + ratio) * self.base_delay_ns;
        let slave_to_master = 2.0 / (1.0 + ratio) * self.base_delay_ns;
        if self.delay_requests {
            (master_to_slave - slave_to_master).abs() / 2.0
        } else {
            master_to_slave
        }
    }
    /// Scenarios outside the table, found by [`by_name`](Self::by_name).
    pub fn extra() -> [Self; 6] {
        [
            Self::wired_lan_engine(-3),
            Self::wired_lan_engine(-2),
            Self::wired_lan_engine(-1),
            Self::wired_lan_engine(0),
            Self::wired_lan_engine(1),
            Self::master_step_1hz(),
        ]
    }
    /// Every scenario, in table order.
    pub fn all() -> [Self; 7] {
        [
            Self::wired_lan(),
            Self::wifi(),
            Self::wifi_bursty(),
            Self::master_step(),
            Self::drift_ramp(),
            Self::loopback(),
            Self::airplay_one_way(),
        ]
    }
    /// The scenario with this name.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .chain(Self::extra())
            .find(|scenario| scenario.name == name)
    }
    /// The names, in table order.
    pub fn names() -> [&'static str; 7] {
        Self::all().map(|scenario| scenario.name)
    }
}
