//! Every estimator by name, dispatched without allocation.

use super::{Estimator, LinregEstimator, LuckyRegression, NqptpSmoother, PiServo, Sample, Update};
use crate::mapping::ClockMapping;

/// The estimators aptp ships, by name.
///
/// ```
/// use aptp_clock::EstimatorKind;
/// assert_eq!(EstimatorKind::DEFAULT, EstimatorKind::LuckyRegression);
/// assert_eq!(EstimatorKind::from_name("pi"), Some(EstimatorKind::Pi));
/// assert_eq!(EstimatorKind::LuckyRegression.name(), "lucky-regression");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EstimatorKind {
    /// [`PiServo`]: linuxptp's PI servo, software-timestamping constants.
    Pi,
    /// [`LinregEstimator`]: linuxptp's linreg, weighted against queueing.
    Linreg,
    /// [`NqptpSmoother`]: nqptp's one-way smoother.
    Nqptp,
    /// [`LuckyRegression`]: aptp's default.
    LuckyRegression,
}

impl EstimatorKind {
    /// Every estimator, in table order.
    pub const ALL: [Self; 4] = [Self::Pi, Self::Linreg, Self::Nqptp, Self::LuckyRegression];
    /// The one aptp uses by default (chosen by the accuracy simulator).
    pub const DEFAULT: Self = Self::LuckyRegression;

    /// The printed name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pi => "pi",
            Self::Linreg => "linreg",
            Self::Nqptp => "nqptp",
            Self::LuckyRegression => "lucky-regression",
        }
    }
    /// The kind with this printed name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
    /// A fresh estimator of this kind tuned for Syncs every `sync_interval_s` seconds: the PI
    /// servo's constants scale with it (linuxptp's pi_sync_interval); the others adapt alone.
    ///
    /// ```
    /// use aptp_clock::{AnyEstimator, EstimatorKind};
    /// let AnyEstimator::Pi(servo) = EstimatorKind::Pi.build_for_sync_interval(1.0) else { panic!() };
    /// assert_eq!(servo.config().sync_interval_s, 1.0);
    /// ```
    pub fn build_for_sync_interval(self, sync_interval_s: f64) -> AnyEstimator {
        match self {
            Self::Pi if sync_interval_s.is_finite() && sync_interval_s > 0.0 => {
                AnyEstimator::Pi(PiServo::new(crate::PiConfig {
                    sync_interval_s,
                    ..crate::PiConfig::default()
                }))
            }
            other => other.build(),
        }
    }
    /// As [`build_for_sync_interval`](Self::build_for_sync_interval), with `lucky_regression`
    /// as the default estimator's tuning and capacities (the other kinds ignore it).
    ///
    /// ```
    /// use aptp_clock::{AnyEstimator, EstimatorKind, LuckyRegressionConfig};
    /// let config = LuckyRegressionConfig { max_points: 64, ..LuckyRegressionConfig::default() };
    /// let estimator = EstimatorKind::LuckyRegression.build_with(0.125, config);
    /// assert!(matches!(estimator, AnyEstimator::LuckyRegression(_)));
    /// ```
    pub fn build_with(
        self,
        sync_interval_s: f64,
        lucky_regression: crate::LuckyRegressionConfig,
    ) -> AnyEstimator {
        match self {
            Self::LuckyRegression => {
                AnyEstimator::LuckyRegression(LuckyRegression::new(lucky_regression))
            }
            other => other.build_for_sync_interval(sync_interval_s),
        }
    }
    /// A fresh estimator of this kind with default tuning.
    pub fn build(self) -> AnyEstimator {
        match self {
            Self::Pi => AnyEstimator::Pi(PiServo::default()),
            Self::Linreg => AnyEstimator::Linreg(LinregEstimator::default()),
            Self::Nqptp => AnyEstimator::Nqptp(NqptpSmoother::default()),
            Self::LuckyRegression => AnyEstimator::LuckyRegression(LuckyRegression::default()),
        }
    }
}

/// Any of the shipped estimators, as one sized type (no `Box<dyn>` needed in `no_std`).
///
/// ```
/// use aptp_clock::{Estimator, EstimatorKind};
/// let estimator = EstimatorKind::Nqptp.build();
/// assert_eq!(estimator.name(), "nqptp");
/// ```
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // held once per session; never moved on the hot path
pub enum AnyEstimator {
    /// See [`PiServo`].
    Pi(PiServo),
    /// See [`LinregEstimator`].
    Linreg(LinregEstimator),
    /// See [`NqptpSmoother`].
    Nqptp(NqptpSmoother),
    /// See [`LuckyRegression`].
    LuckyRegression(LuckyRegression),
}

impl AnyEstimator {
    fn inner(&self) -> &dyn Estimator {
        match self {
            Self::Pi(estimator) => estimator,
            Self::Linreg(estimator) => estimator,
            Self::Nqptp(estimator) => estimator,
            Self::LuckyRegression(estimator) => estimator,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn Estimator {
        match self {
            Self::Pi(estimator) => estimator,
            Self::Linreg(estimator) => estimator,
            Self::Nqptp(estimator) => estimator,
            Self::LuckyRegression(estimator) => estimator,
        }
    }
}

impl Estimator for AnyEstimator {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn update(&mut self, sample: &Sample) -> Update {
        self.inner_mut().update(sample)
    }
    fn mapping(&self) -> Option<ClockMapping> {
        self.inner().mapping()
    }
    fn reset(&mut self) {
        self.inner_mut().reset()
    }
}
