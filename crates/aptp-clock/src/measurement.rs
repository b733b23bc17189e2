//! Measurements: offset and path delay from the timestamps of one exchange.
//!
//! Sign conventions follow IEEE 1588: `offset_from_master` is the slave's (local) time minus the
//! master's (remote) time, and a positive delay asymmetry means the master-to-slave direction is
//! the longer one (`t_ms = mean_path_delay + asymmetry`, `t_sm = mean_path_delay - asymmetry`).

use crate::time::{Time, TimeDelta};

/// The delay asymmetry of a path (IEEE 1588 delayAsymmetry): how much longer the
/// master-to-slave direction is than the mean path delay.
///
/// ```
/// use aptp_clock::{DelayAsymmetry, TimeDelta};
/// let asymmetry = DelayAsymmetry::new(TimeDelta::from_micros(30));
/// assert_eq!(asymmetry.master_to_slave_excess(), TimeDelta::from_micros(30));
/// assert_eq!(DelayAsymmetry::default().master_to_slave_excess(), TimeDelta::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelayAsymmetry {
    master_to_slave_excess: TimeDelta,
}

impl DelayAsymmetry {
    /// An asymmetry where master-to-slave takes `master_to_slave_excess` more than the mean.
    pub const fn new(master_to_slave_excess: TimeDelta) -> Self {
        Self {
            master_to_slave_excess,
        }
    }
    /// The master-to-slave excess over the mean path delay.
    pub const fn master_to_slave_excess(self) -> TimeDelta {
        self.master_to_slave_excess
    }
}

/// The result of a two-way measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetAndDelay {
    /// Local minus remote time (IEEE 1588 offsetFromMaster).
    pub offset_from_master: TimeDelta,
    /// The mean of the two one-way delays (IEEE 1588 meanPathDelay).
    pub mean_path_delay: TimeDelta,
}

/// The four timestamps of an end-to-end exchange (Sync/Follow_Up then Delay_Req/Delay_Resp)
/// and the correctionFields that go with them.
///
/// ```
/// use aptp_clock::{DelayAsymmetry, EndToEndExchange, Time, TimeDelta};
/// let at = |ns: u64| Time::from_nanos(ns);
/// // The slave is 1 ms ahead; each direction takes 50 µs.
/// let exchange = EndToEndExchange {
///     t1: at(10_000_000),
///     t2: at(10_000_000 + 50_000 + 1_000_000),
///     t3: at(20_000_000),
///     t4: at(20_000_000 - 1_000_000 + 50_000),
///     sync_correction: TimeDelta::ZERO,
///     delay_response_correction: TimeDelta::ZERO,
/// };
/// let measured = exchange.measure(DelayAsymmetry::default());
/// assert_eq!(measured.offset_from_master, TimeDelta::from_millis(1));
/// assert_eq!(measured.mean_path_delay, TimeDelta::from_micros(50));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndToEndExchange {
    /// Sync's origin: preciseOriginTimestamp (remote timescale).
    pub t1: Time,
    /// Sync's receipt (local timescale).
    pub t2: Time,
    /// Delay_Req's origin (local timescale).
    pub t3: Time,
    /// Delay_Req's receipt: Delay_Resp's receiveTimestamp (remote timescale).
    pub t4: Time,
    /// Sync's plus Follow_Up's correctionField (added to t1).
    pub sync_correction: TimeDelta,
    /// Delay_Resp's correctionField (subtracted from t4).
    pub delay_response_correction: TimeDelta,
}

impl EndToEndExchange {
    /// t1 with the corrections folded in.
    pub fn corrected_t1(&self) -> Time {
        self.t1 + self.sync_correction
    }
    /// t4 with the correction folded in.
    pub fn corrected_t4(&self) -> Time {
        self.t4 - self.delay_response_correction
    }
    /// The round trip: both one-way delays added, independent of the clocks' offset.
    pub fn round_trip(&self) -> TimeDelta {
        (self.t2 - self.corrected_t1()) + (self.corrected_t4() - self.t3)
    }
    /// `mean_path_delay = ((t2 − t1) + (t4 − t3)) / 2`, `offset = (t2 − t1) − mean − asymmetry`.
    pub fn measure(&self, asymmetry: DelayAsymmetry) -> OffsetAndDelay {
        let master_to_slave = self.t2 - self.corrected_t1();
        let mean_path_delay = self.round_trip().half();
        OffsetAndDelay {
            offset_from_master: master_to_slave
                - mean_path_delay
                - asymmetry.master_to_slave_excess(),
            mean_path_delay,
        }
    }
}

/// The four timestamps of a peer-delay exchange (Pdelay_Req, Pdelay_Resp,
/// Pdelay_Resp_Follow_Up); it measures the link delay only.
///
/// ```
/// use aptp_clock::{PeerDelayExchange, Time, TimeDelta};
/// let exchange = PeerDelayExchange {
///     t1: Time::from_nanos(1_000),
///     t2: Time::from_nanos(900_000),        // the peer's clock is far off: no matter
///     t3: Time::from_nanos(910_000),        // it took 10 µs to answer
///     t4: Time::from_nanos(1_000 + 10_000 + 2 * 700),
///     correction: TimeDelta::ZERO,
/// };
/// assert_eq!(exchange.mean_link_delay(), TimeDelta::from_nanos(700));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerDelayExchange {
    /// Pdelay_Req's origin (local).
    pub t1: Time,
    /// Pdelay_Req's receipt at the peer: Pdelay_Resp's requestReceiptTimestamp.
    pub t2: Time,
    /// Pdelay_Resp's origin at the peer: Pdelay_Resp_Follow_Up's responseOriginTimestamp.
    pub t3: Time,
    /// Pdelay_Resp's receipt (local).
    pub t4: Time,
    /// Pdelay_Resp's plus Pdelay_Resp_Follow_Up's correctionField.
    pub correction: TimeDelta,
}

impl PeerDelayExchange {
    /// `((t4 − t1) − (t3 − t2) − correction) / 2`.
    pub fn mean_link_delay(&self) -> TimeDelta {
        ((self.t4 - self.t1) - (self.t3 - self.t2) - self.correction).half()
    }
}

/// AirPlay's one-way measurement: a Follow_Up's preciseOriginTimestamp and corrections against
/// the local receive time, with no Delay_Req.
///
/// ```
/// use aptp_clock::{DelayAsymmetry, OneWayMeasurement, Time, TimeDelta};
/// let measurement = OneWayMeasurement {
///     precise_origin_timestamp: Time::from_nanos(5_000_000),
///     correction: TimeDelta::ZERO,
///     receive: Time::from_nanos(2_000_000),
/// };
/// // What nqptp publishes: remote minus local, path delay ignored.
/// assert_eq!(measurement.remote_minus_local(), TimeDelta::from_millis(3));
/// let offset = measurement.offset_from_master(TimeDelta::from_micros(100), DelayAsymmetry::default());
/// assert_eq!(offset, -TimeDelta::from_millis(3) - TimeDelta::from_micros(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneWayMeasurement {
    /// Follow_Up's preciseOriginTimestamp (remote timescale).
    pub precise_origin_timestamp: Time,
    /// Sync's plus Follow_Up's correctionField.
    pub correction: TimeDelta,
    /// Local receive time of the Sync (or of the Follow_Up, as nqptp does).
    pub receive: Time,
}

impl OneWayMeasurement {
    /// The origin with the corrections folded in.
    pub fn corrected_origin(&self) -> Time {
        self.precise_origin_timestamp + self.correction
    }
    /// Remote minus local, path delay ignored (nqptp's raw offset).
    pub fn remote_minus_local(&self) -> TimeDelta {
        self.corrected_origin() - self.receive
    }
    /// Local minus remote given an assumed mean path delay and asymmetry.
    pub fn offset_from_master(
        &self,
        mean_path_delay: TimeDelta,
        asymmetry: DelayAsymmetry,
    ) -> TimeDelta {
        -self.remote_minus_local() - mean_path_delay - asymmetry.master_to_slave_excess()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_and_asymmetry_fold_in() {
        let at = |ns: u64| Time::from_nanos(ns);
        // True offset 0; master→slave 80 µs, slave→master 40 µs (asymmetry +20 µs).
        // Sync carries a 10 µs correction (residence time), Delay_Resp a 4 µs one.
        let exchange = EndToEndExchange {
            t1: at(1_000_000),
            t2: at(1_000_000 + 80_000 + 10_000),
            t3: at(2_000_000),
            t4: at(2_000_000 + 40_000 + 4_000),
            sync_correction: TimeDelta::from_micros(10),
            delay_response_correction: TimeDelta::from_micros(4),
        };
        let symmetric = exchange.measure(DelayAsymmetry::default());
        assert_eq!(symmetric.mean_path_delay, TimeDelta::from_micros(60));
        assert_eq!(symmetric.offset_from_master, TimeDelta::from_micros(20));
        let corrected = exchange.measure(DelayAsymmetry::new(TimeDelta::from_micros(20)));
        assert_eq!(corrected.offset_from_master, TimeDelta::ZERO);
        assert_eq!(exchange.round_trip(), TimeDelta::from_micros(120));
    }

    #[test]
    fn fractional_correction_is_kept() {
        let exchange = PeerDelayExchange {
            t1: Time::from_nanos(0),
            t2: Time::from_nanos(100),
            t3: Time::from_nanos(100),
            t4: Time::from_nanos(3),
            correction: TimeDelta::from_correction_field(0x8000), // 0.5 ns
        };
        assert_eq!(
            exchange.mean_link_delay(),
            TimeDelta::from_correction_field(0x1_4000)
        );
    }
}
