//! The engine's configuration: linuxptp's option names and defaults, plus the capacity of
//! every table the engine keeps.
//!
//! A ptp4l user finds what they know: `domainNumber` is [`Config::domain_number`],
//! `logSyncInterval` is [`Config::log_sync_interval`], and so on, with ptp4l's defaults
//! (`configs/default.cfg`).

use aptp_clock::{EstimatorKind, LuckyRegression};
use aptp_wire::ClockIdentity;
use thiserror::Error;

/// How the path delay is measured (linuxptp `delay_mechanism`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DelayMechanism {
    /// End to end: the slave sends Delay_Req to its master, which answers Delay_Resp
    /// (linuxptp `E2E`, the default).
    EndToEnd,
    /// Peer to peer: every port measures the link to its neighbour with Pdelay_Req,
    /// Pdelay_Resp and Pdelay_Resp_Follow_Up (linuxptp `P2P`).
    PeerToPeer,
    /// No delay measurement at all: the offset is taken one way from Sync/Follow_Up, as AirPlay
    /// receivers do with Apple grandmasters (which never answer Delay_Req). Path delay is
    /// taken as zero.
    None,
}

/// The bounds of every table the engine keeps, each with its policy when full.
///
/// No input sequence can grow the engine's memory beyond what these allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacities {
    /// Foreign masters tracked from their Announces. When full, the least recently heard
    /// unqualified entry is evicted; when every entry is qualified the newcomer is refused
    /// and counted ([`DropReason::ForeignMasterTableFull`](super::DropReason)), so a flood of
    /// new identities never displaces a qualified master. Default 16 (the standard asks for
    /// at least 5).
    pub foreign_masters: usize,
    /// Sync (or Follow_Up arriving first) waiting for its partner. When full, the oldest is
    /// dropped. Default 8.
    pub pending_syncs: usize,
    /// Delay_Req / Pdelay_Req sent and awaiting their answer. When full, the oldest is
    /// forgotten. Default 8.
    pub pending_delay_requests: usize,
    /// Event messages sent and awaiting their transmit timestamp. When full, the oldest is
    /// forgotten (its Follow_Up is never sent; counted). Default 2048 (a Sync round to a
    /// thousand unicast peers whose timestamps come back late, twice over).
    pub pending_transmit_timestamps: usize,
    /// Datagrams queued for [`Engine::poll_transmit`](super::Engine::poll_transmit). When
    /// full, new datagrams are refused and counted. Default 4096 (an Announce and a Sync
    /// round with their Follow_Ups to a thousand unicast peers).
    pub transmit_queue: usize,
    /// Events queued for [`Engine::poll_event`](super::Engine::poll_event). When full, the
    /// oldest event is dropped and counted. Default 256.
    pub event_queue: usize,
    /// Unicast peers served by a master (and accepted as timing peers). When full,
    /// further peers are refused. Default 1024.
    pub unicast_peers: usize,
    /// Entries of the acceptable master table; a longer list is refused by
    /// [`Config::validate`]. Default 64.
    pub acceptable_masters: usize,
    /// Sources whose Delay_Req / Pdelay_Req answers are rate-limited individually. When
    /// full, the source heard from least recently is forgotten (it starts again with a full
    /// allowance). Default 256.
    pub rate_limited_sources: usize,
    /// Exchanges the default estimator ([`EstimatorKind::LuckyRegression`]) holds, 1 to
    /// [`LuckyRegression::MAX_POINTS`]: its windows over exchanges see no further back. When
    /// full, the oldest is forgotten. Default [`LuckyRegression::MAX_POINTS`] (512: 64 s at
    /// 8 Hz, 512 s at linuxptp's 1 Hz). Storage is the estimator's fixed maximum whatever the
    /// value (no allocation): it bounds what each fit reads, and so its cost. The other
    /// estimators ignore it.
    pub estimator_points: usize,
    /// One-second bins (each second's least-delayed Sync and Delay_Req) the default estimator
    /// holds for its windows longer than the exchanges reach, 1 to
    /// [`LuckyRegression::MAX_BINS`]. When full, the oldest is forgotten. Default
    /// [`LuckyRegression::MAX_BINS`] (256: 256 s). Fixed storage as `estimator_points`.
    pub estimator_bins: usize,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            foreign_masters: 16,
            pending_syncs: 8,
            pending_delay_requests: 8,
            pending_transmit_timestamps: 2048,
            transmit_queue: 4096,
            event_queue: 256,
            unicast_peers: 1024,
            acceptable_masters: 64,
            rate_limited_sources: 256,
            estimator_points: LuckyRegression::MAX_POINTS,
            estimator_bins: LuckyRegression::MAX_BINS,
        }
    }
}

/// Everything the engine can be told, with linuxptp's names and defaults.
///
/// ```
/// use aptp::engine::{Config, DelayMechanism};
///
/// let config = Config {
///     priority1: 1,
///     log_sync_interval: -3,
///     delay_mechanism: DelayMechanism::PeerToPeer,
///     ..Config::default()
/// };
/// assert!(config.validate().is_ok());
/// assert_eq!(config.domain_number, 0);
/// assert_eq!(config.announce_receipt_timeout, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `domainNumber`: messages of any other domain are dropped. Default 0.
    pub domain_number: u8,
    /// `priority1`: the first BMCA criterion, lower wins. Default 128.
    pub priority1: u8,
    /// `priority2`: the BMCA criterion after the clock quality, lower wins. Default 128.
    pub priority2: u8,
    /// `clockClass`. Default 248 (a default, free-running clock); a value in 1..=127 makes
    /// the clock never a slave (it goes PASSIVE when it loses). Set to 255 by `slave_only`.
    pub clock_class: u8,
    /// `clockAccuracy`. Default 0xFE (unknown).
    pub clock_accuracy: u8,
    /// `offsetScaledLogVariance`. Default 0xFFFF.
    pub offset_scaled_log_variance: u16,
    /// `logAnnounceInterval`: Announce every 2^n seconds. Default 1.
    pub log_announce_interval: i8,
    /// `logSyncInterval`: Sync every 2^n seconds. Default 0.
    pub log_sync_interval: i8,
    /// `logMinDelayReqInterval`: mean Delay_Req interval 2^n seconds. Default 0.
    pub log_min_delay_req_interval: i8,
    /// `logMinPdelayReqInterval`: Pdelay_Req interval 2^n seconds. Default 0.
    pub log_min_pdelay_req_interval: i8,
    /// `announceReceiptTimeout`: a master is lost after this many announce intervals
    /// without its Announce. Default 3.
    pub announce_receipt_timeout: u8,
    /// `delay_mechanism`. Default [`DelayMechanism::EndToEnd`].
    pub delay_mechanism: DelayMechanism,
    /// `transportSpecific` (majorSdoId in IEEE 1588-2019): sent in every message, and
    /// messages with another value are dropped. Default 0; 1 for 802.1AS and AirPlay.
    pub transport_specific: u8,
    /// `slaveOnly`: never become master (clockClass 255). Default false.
    pub slave_only: bool,
    /// `masterOnly`: never become slave; received Announces are not qualified. Default false.
    pub master_only: bool,
    /// `twoStep`: the master sends a Follow_Up with each Sync. Default true. With false the
    /// master still needs the transmit timestamp, so it puts the Sync's scheduled send time
    /// in originTimestamp (one-step without hardware insertion is approximate).
    pub two_step: bool,
    /// `currentUtcOffset` announced as master. Default 37.
    pub current_utc_offset: i16,
    /// `timeSource` announced as master. Default 0xA0 (internal oscillator).
    pub time_source: u8,
    /// The ptpTimescale flag announced as master. Default true.
    pub ptp_timescale: bool,
    /// The local clock's timescale is UTC (CLOCK_REALTIME, as ptp4l's software mode): the
    /// time of a master announcing the PTP timescale (TAI) is taken as
    /// `remote − currentUtcOffset`, so the mapping, measurements and offsetFromMaster are in
    /// UTC as ptp4l reports them. False (default): the mapping stays in the master's own
    /// timescale (a monotonic local clock, AirPlay). See
    /// [`TimeProperties::utc_correction_ns`](super::TimeProperties::utc_correction_ns).
    pub local_timescale_is_utc: bool,
    /// The port number of this ordinary clock's single port. Default 1.
    pub port_number: u16,
    /// `fault_reset_interval`: a FAULTY port retries after 2^n seconds. Default 4.
    pub fault_reset_interval: i8,
    /// Measurements the estimator must take in UNCALIBRATED before the port is SLAVE.
    /// Default 4.
    pub calibration_measurements: u32,
    /// Seed of the engine's pseudo-random generator (Delay_Req randomisation, sequence
    /// ids). Equal seeds give equal runs. Default 0x5eed.
    pub random_seed: u64,
    /// How long, in nanoseconds, a sent event message waits for its transmit timestamp
    /// before it is given up and counted. Default 100 ms.
    pub transmit_timestamp_timeout_ns: u64,
    /// The acceptable master table (IEEE 1588-2019 §17.5, optional): when not empty, only
    /// Announces whose grandmasterIdentity or sender clockIdentity is listed take part in the
    /// BMCA; others are counted ([`DropReason::NotAcceptable`](super::DropReason)) and
    /// ignored. Default empty (any master). At most `capacities.acceptable_masters` entries.
    pub acceptable_masters: Vec<ClockIdentity>,
    /// The estimator that turns measurements into the clock mapping. Default aptp-clock's
    /// default ([`EstimatorKind::DEFAULT`]). The engine hands it raw exchanges; taking out
    /// the drift between a Sync and the Delay_Req it is paired with is the estimator's job.
    pub estimator: EstimatorKind,
    /// Answers (Delay_Resp, Pdelay_Resp) per second to any one source, in bursts of up to
    /// a second's worth; requests beyond it are counted
    /// ([`DropReason::RateLimited`](super::DropReason)) and not answered. `None` (default):
    /// four times the rate the standard allows a requester, 4 × 2^−logMinDelayReqInterval
    /// (4 a second at linuxptp's default, 32 at AirPlay's −3).
    pub answer_rate_limit_per_s: Option<u32>,
    /// With E2E, after this many Delay_Req in a row without a Delay_Resp the port measures
    /// one way (Sync/Follow_Up alone, with the last path delay measured, if any) instead of
    /// never measuring; it keeps sending Delay_Req and goes back to two-way at the first
    /// answer ([`Engine::delay_mode`](super::Engine::delay_mode)). 0 never falls back.
    /// Default 16 (16 s at linuxptp's default rate; 30 % loss each way leaves 16 in a row
    /// unanswered about once in 50 000 requests).
    pub delay_request_fallback: u32,
    /// The bounds of every table.
    pub capacities: Capacities,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            domain_number: 0,
            priority1: 128,
            priority2: 128,
            clock_class: 248,
            clock_accuracy: 0xFE,
            offset_scaled_log_variance: 0xFFFF,
            log_announce_interval: 1,
            log_sync_interval: 0,
            log_min_delay_req_interval: 0,
            log_min_pdelay_req_interval: 0,
            announce_receipt_timeout: 3,
            delay_mechanism: DelayMechanism::EndToEnd,
            transport_specific: 0,
            slave_only: false,
            master_only: false,
            two_step: true,
            current_utc_offset: 37,
            time_source: 0xA0,
            ptp_timescale: true,
            local_timescale_is_utc: false,
            port_number: 1,
            fault_reset_interval: 4,
            calibration_measurements: 4,
            random_seed: 0x5eed,
            transmit_timestamp_timeout_ns: 100_000_000,
            acceptable_masters: Vec::new(),
            estimator: EstimatorKind::DEFAULT,
            answer_rate_limit_per_s: None,
            delay_request_fallback: 16,
            capacities: Capacities::default(),
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `slave_only` and `master_only` together leave the port nothing to do.
    #[error("slaveOnly and masterOnly are both set")]
    SlaveAndMasterOnly,
    /// A log interval outside -7..=7 (128 per second to one per 128 s).
    #[error("{name} = {value} is outside -7..=7")]
    LogIntervalOutOfRange {
        /// The option's linuxptp name.
        name: &'static str,
        /// The value given.
        value: i8,
    },
    /// `announceReceiptTimeout` must be at least 2.
    #[error("announceReceiptTimeout = {0} is below 2")]
    AnnounceReceiptTimeoutTooSmall(u8),
    /// `transportSpecific` is a 4-bit field.
    #[error("transportSpecific = {0} does not fit in 4 bits")]
    TransportSpecificTooLarge(u8),
    /// A table with no room at all cannot work.
    #[error("capacity {0} is zero")]
    ZeroCapacity(&'static str),
    /// More acceptable masters than `capacities.acceptable_masters`.
    #[error("{given} acceptable masters, more than the capacity of {capacity}")]
    TooManyAcceptableMasters {
        /// Entries given.
        given: usize,
        /// The configured capacity.
        capacity: usize,
    },
    /// Port number 0 and 0xFFFF are reserved.
    #[error("port number {0} is reserved")]
    ReservedPortNumber(u16),
    /// A capacity beyond the most its table can hold (the estimator's fixed storage).
    #[error("capacity {name} = {value} is above its maximum of {max}")]
    CapacityTooLarge {
        /// The capacity's field name in [`Capacities`].
        name: &'static str,
        /// The value given.
        value: usize,
        /// The largest allowed.
        max: usize,
    },
}

impl Config {
    /// Checks the options against each other and their ranges.
    ///
    /// ```
    /// use aptp::engine::{Config, ConfigError};
    /// let bad = Config { slave_only: true, master_only: true, ..Config::default() };
    /// assert_eq!(bad.validate(), Err(ConfigError::SlaveAndMasterOnly));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.slave_only && self.master_only {
            return Err(ConfigError::SlaveAndMasterOnly);
        }
        for (name, value) in [
            ("logAnnounceInterval", self.log_announce_interval),
            ("logSyncInterval", self.log_sync_interval),
            ("logMinDelayReqInterval", self.log_min_delay_req_interval),
            ("logMinPdelayReqInterval", self.log_min_pdelay_req_interval),
            ("fault_reset_interval", self.fault_reset_interval),
        ] {
            if !(-7..=7).contains(&value) {
                return Err(ConfigError::LogIntervalOutOfRange { name, value });
            }
        }
        if self.announce_receipt_timeout < 2 {
            return Err(ConfigError::AnnounceReceiptTimeoutTooSmall(
                self.announce_receipt_timeout,
            ));
        }
        if self.transport_specific > 0x0F {
            return Err(ConfigError::TransportSpecificTooLarge(
                self.transport_specific,
            ));
        }
        if self.port_number == 0 || self.port_number == 0xFFFF {
            return Err(ConfigError::ReservedPortNumber(self.port_number));
        }
        let c = &self.capacities;
        for (name, value) in [
            ("foreign_masters", c.foreign_masters),
            ("pending_syncs", c.pending_syncs),
            ("pending_delay_requests", c.pending_delay_requests),
            ("pending_transmit_timestamps", c.pending_transmit_timestamps),
            ("transmit_queue", c.transmit_queue),
            ("event_queue", c.event_queue),
            ("unicast_peers", c.unicast_peers),
            ("acceptable_masters", c.acceptable_masters),
            ("rate_limited_sources", c.rate_limited_sources),
            ("estimator_points", c.estimator_points),
            ("estimator_bins", c.estimator_bins),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroCapacity(name));
            }
        }
        for (name, value, max) in [
            (
                "estimator_points",
                c.estimator_points,
                LuckyRegression::MAX_POINTS,
            ),
            (
                "estimator_bins",
                c.estimator_bins,
                LuckyRegression::MAX_BINS,
            ),
        ] {
            if value > max {
                return Err(ConfigError::CapacityTooLarge { name, value, max });
            }
        }
        if self.acceptable_masters.len() > c.acceptable_masters {
            return Err(ConfigError::TooManyAcceptableMasters {
                given: self.acceptable_masters.len(),
                capacity: c.acceptable_masters,
            });
        }
        Ok(())
    }

    /// Whether an Announce from `sender` naming `grandmaster` may take part in the BMCA.
    pub fn is_acceptable_master(&self, grandmaster: ClockIdentity, sender: ClockIdentity) -> bool {
        self.acceptable_masters.is_empty()
            || self
                .acceptable_masters
                .iter()
                .any(|id| *id == grandmaster || *id == sender)
    }

    /// Answers per second allowed to one source for requests at `log_min_interval`
    /// (logMinDelayReqInterval or logMinPdelayReqInterval).
    pub fn answer_rate_limit(&self, log_min_interval: i8) -> u32 {
        self.answer_rate_limit_per_s.unwrap_or_else(|| {
            let per_s = if log_min_interval >= 0 {
                1
            } else {
                1u32 << (-log_min_interval).clamp(0, 7)
            };
            4 * per_s
        })
    }

    /// The clockClass this port announces: 255 when `slave_only`, else `clock_class`.
    pub fn effective_clock_class(&self) -> u8 {
        if self.slave_only {
            255
        } else {
            self.clock_class
        }
    }
}

/// The duration of 2^`log_interval` seconds in nanoseconds (log in -7..=7 after validation;
/// saturating outside that range so it can never overflow).
pub(crate) fn log_interval_ns(log_interval: i8) -> u64 {
    let log = log_interval.clamp(-30, 30);
    if log >= 0 {
        1_000_000_000u64 << log
    } else {
        1_000_000_000u64 >> (-log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_linuxptp_defaults() {
        let c = Config::default();
        assert_eq!(
            (c.domain_number, c.priority1, c.priority2, c.clock_class),
            (0, 128, 128, 248)
        );
        assert_eq!(
            (c.clock_accuracy, c.offset_scaled_log_variance),
            (0xFE, 0xFFFF)
        );
        assert_eq!(
            (
                c.log_announce_interval,
                c.log_sync_interval,
                c.log_min_delay_req_interval,
                c.announce_receipt_timeout
            ),
            (1, 0, 0, 3)
        );
        assert_eq!(c.delay_mechanism, DelayMechanism::EndToEnd);
        assert!(c.two_step && !c.slave_only && !c.master_only);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn validation_rejects_each_bad_option() {
        let base = Config::default();
        let cases = [
            (
                Config {
                    log_sync_interval: 8,
                    ..base.clone()
                },
                ConfigError::LogIntervalOutOfRange {
                    name: "logSyncInterval",
                    value: 8,
                },
            ),
            (
                Config {
                    announce_receipt_timeout: 1,
                    ..base.clone()
                },
                ConfigError::AnnounceReceiptTimeoutTooSmall(1),
            ),
            (
                Config {
                    transport_specific: 16,
                    ..base.clone()
                },
                ConfigError::TransportSpecificTooLarge(16),
            ),
            (
                Config {
                    port_number: 0,
                    ..base.clone()
                },
                ConfigError::ReservedPortNumber(0),
            ),
            (
                Config {
                    capacities: Capacities {
                        pending_syncs: 0,
                        ..Capacities::default()
                    },
                    ..base.clone()
                },
                ConfigError::ZeroCapacity("pending_syncs"),
            ),
            (
                Config {
                    capacities: Capacities {
                        estimator_points: 0,
                        ..Capacities::default()
                    },
                    ..base.clone()
                },
                ConfigError::ZeroCapacity("estimator_points"),
            ),
            (
                Config {
                    capacities: Capacities {
                        estimator_points: LuckyRegression::MAX_POINTS + 1,
                        ..Capacities::default()
                    },
                    ..base.clone()
                },
                ConfigError::CapacityTooLarge {
                    name: "estimator_points",
                    value: LuckyRegression::MAX_POINTS + 1,
                    max: LuckyRegression::MAX_POINTS,
                },
            ),
            (
                Config {
                    capacities: Capacities {
                        estimator_bins: 0,
                        ..Capacities::default()
                    },
                    ..base.clone()
                },
                ConfigError::ZeroCapacity("estimator_bins"),
            ),
            (
                Config {
                    capacities: Capacities {
                        estimator_bins: LuckyRegression::MAX_BINS + 1,
                        ..Capacities::default()
                    },
                    ..base.clone()
                },
                ConfigError::CapacityTooLarge {
                    name: "estimator_bins",
                    value: LuckyRegression::MAX_BINS + 1,
                    max: LuckyRegression::MAX_BINS,
                },
            ),
        ];
        for (config, error) in cases {
            assert_eq!(config.validate(), Err(error));
        }
    }

    #[test]
    fn acceptable_masters_filter_and_bound() {
        let real = ClockIdentity([1; 8]);
        let other = ClockIdentity([2; 8]);
        assert!(Config::default().is_acceptable_master(other, other));
        let config = Config {
            acceptable_masters: vec![real],
            ..Config::default()
        };
        assert!(config.is_acceptable_master(real, other));
        assert!(config.is_acceptable_master(other, real));
        assert!(!config.is_acceptable_master(other, other));
        let too_many = Config {
            acceptable_masters: vec![real; 65],
            ..Config::default()
        };
        assert_eq!(
            too_many.validate(),
            Err(ConfigError::TooManyAcceptableMasters {
                given: 65,
                capacity: 64
            })
        );
    }

    #[test]
    fn slave_only_announces_class_255() {
        let c = Config {
            slave_only: true,
            ..Config::default()
        };
        assert_eq!(c.effective_clock_class(), 255);
        assert_eq!(Config::default().effective_clock_class(), 248);
    }

    #[test]
    fn log_intervals_in_nanoseconds() {
        assert_eq!(log_interval_ns(0), 1_000_000_000);
        assert_eq!(log_interval_ns(1), 2_000_000_000);
        assert_eq!(log_interval_ns(-3), 125_000_000);
        assert_eq!(log_interval_ns(i8::MIN), 0);
        assert_eq!(log_interval_ns(i8::MAX), 1_000_000_000u64 << 30);
    }

    /// A slave whose clock runs 50 ppm fast follows a master at 8 Hz for 300 s with the
    /// estimator's capacities `points` and `bins`: its state and mapping rate at the end.
    fn follow_at_8_hz(points: usize, bins: usize) -> (crate::engine::PortState, Option<f64>) {
        use crate::engine::sim::{LinkModel, Sim, SimClock};
        let config = Config {
            log_sync_interval: -3,
            log_min_delay_req_interval: -3,
            capacities: Capacities {
                estimator_points: points,
                estimator_bins: bins,
                ..Capacities::default()
            },
            ..Config::default()
        };
        let mut sim = Sim::new(9, LinkModel::default());
        sim.add_node(
            Config {
                priority1: 1,
                ..config.clone()
            },
            SimClock::default(),
        );
        let fast = SimClock {
            offset_ns: 1_000_000,
            rate_ppb: 50_000,
        };
        let slave = sim.add_node(
            Config {
                slave_only: true,
                ..config
            },
            fast,
        );
        sim.run_for_secs(300);
        let engine = sim.engine(slave);
        (engine.state(), engine.mapping().map(|m| m.rate_ppb()))
    }

    #[test]
    fn the_estimator_holds_the_configured_points_and_bins() {
        use crate::engine::PortState;
        // 8 exchanges at 8 Hz span 0.875 s, less than the 1 s a rate fit needs, and one bin
        // spans nothing: the slave locks on the offset but never finds the 50 ppm.
        assert_eq!(follow_at_8_hz(8, 1), (PortState::Slave, Some(0.0)));
        // 16 exchanges (1.875 s), or 16 one-second bins, are enough: remote runs
        // 1 / (1 + 50e-6) as fast as local, −49 997.5 ppb.
        for (points, bins) in [(16, 1), (8, 16), (512, 256)] {
            let (state, rate_ppb) = follow_at_8_hz(points, bins);
            assert_eq!(state, PortState::Slave);
            let rate_ppb = rate_ppb.unwrap();
            assert!(
                (rate_ppb + 49_997.5).abs() < 50.0,
                "{points} points, {bins} bins: {rate_ppb} ppb"
            );
        }
        let default = Capacities::default();
        assert_eq!(
            (default.estimator_points, default.estimator_bins),
            (LuckyRegression::MAX_POINTS, LuckyRegression::MAX_BINS)
        );
    }
}
