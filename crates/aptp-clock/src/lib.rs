//! Clock mathematics for PTP as AirPlay 2 uses it: no I/O, `#![no_std]`, no allocation.
//!
//! The path of a measurement through this crate:
//!
//! 1. [`Time`] and [`TimeDelta`] carry nanoseconds with 16 fractional bits (a correctionField
//!    exactly), wide enough for 48-bit PTP seconds.
//! 2. [`measurement`] turns an exchange's timestamps into an offset and a path delay
//!    ([`EndToEndExchange`], [`PeerDelayExchange`], [`OneWayMeasurement`]).
//! 3. An [`Estimator`] ([`PiServo`], [`LinregEstimator`], [`NqptpSmoother`], or the default
//!    [`LuckyRegression`]) takes [`Sample`]s and produces a [`ClockMapping`]
//!    (`remote = remote_ref + (local − local_ref) × rate`), helped by the [`filter`]s.
//! 4. A [`SlewedClock`] follows those mappings without running backwards, and an
//!    [`RtpAnchor`] says when an RTP frame plays.
//!
//! With the `sim` feature, [`sim`] is the deterministic accuracy simulator that compares the
//! estimators (`aptp sim`).
//!
//! ```
//! use aptp_clock::{ClockMapping, RtpAnchor, Time, TimeDelta};
//! let mapping = ClockMapping::new(Time::from_nanos(0), Time::from_secs_nanos(100, 0).unwrap(), 1.0);
//! let anchor = RtpAnchor::new(Time::from_secs_nanos(101, 0).unwrap(), 1_000, 48_000).unwrap();
//! assert_eq!(anchor.local_time_of(49_000, &mapping), Time::from_nanos(2_000_000_000));
//! let _ = TimeDelta::ZERO;
//! ```
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod estimator;
pub mod filter;
pub mod mapping;
pub mod measurement;
pub mod rtp;
pub mod slewed;
pub mod time;

#[cfg(feature = "sim")]
pub mod sim;

pub use estimator::{
    AnyEstimator, Estimator, EstimatorKind, LinregConfig, LinregEstimator, LuckyRegression,
    LuckyRegressionConfig, LuckyRegressionConfigError, NqptpSmoother, PathDelay, PiConfig, PiServo,
    Sample, Update,
};
pub use filter::{
    MinDelayWindow, MovingMedian, OutlierRule, RoundTripOutlierFilter, StepDetector,
    StepDetectorConfig, StepVerdict,
};
pub use mapping::ClockMapping;
pub use measurement::{
    DelayAsymmetry, EndToEndExchange, OffsetAndDelay, OneWayMeasurement, PeerDelayExchange,
};
pub use rtp::{RtpAnchor, RtpError};
pub use slewed::SlewedClock;
pub use time::{Time, TimeDelta, TimeError};
