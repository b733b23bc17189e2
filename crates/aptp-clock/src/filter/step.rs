//! Step detection: the master's clock jumped (or a new grandmaster took over).

use crate::time::{Time, TimeDelta};

/// Tuning of a [`StepDetector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepDetectorConfig {
    /// A residual at least this large (either sign) is suspicious.
    pub threshold: TimeDelta,
    /// Consecutive suspicious residuals that must agree before a step is declared.
    pub confirmations: u8,
    /// How far suspicious residuals may differ from their first one and still agree.
    pub tolerance: TimeDelta,
}

impl Default for StepDetectorConfig {
    /// 1 ms threshold, 3 confirmations, 500 µs tolerance: a queueing burst moves residuals
    /// around by its own jitter and a route change shifts only the delay, but a clock step
    /// moves every residual by the same amount at once.
    fn default() -> Self {
        Self {
            threshold: TimeDelta::from_millis(1),
            confirmations: 3,
            tolerance: TimeDelta::from_micros(500),
        }
    }
}

/// What a [`StepDetector`] concluded from one residual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepVerdict {
    /// The residual is within the threshold.
    Normal,
    /// The residual is beyond the threshold, not (yet) confirmed: hold the sample back.
    Suspect,
    /// The remote clock stepped by this much (the mean of the confirming residuals).
    Step(TimeDelta),
}

/// Watches the residuals (measured offset minus predicted offset) of accepted samples and
/// declares a step when `confirmations` residuals in a row are beyond `threshold` and agree
/// within `tolerance`.
///
/// Contract: a lone outlier (or a run whose residuals disagree) never declares a step; a step of
/// any size beyond the threshold is declared on exactly its `confirmations`-th consistent sample;
/// after a verdict of `Step` or `Normal` the detector starts afresh.
///
/// ```
/// use aptp_clock::{StepDetector, StepDetectorConfig, StepVerdict, TimeDelta};
/// let mut detector = StepDetector::new(StepDetectorConfig::default());
/// let second = TimeDelta::from_secs(1);
/// assert_eq!(detector.observe(TimeDelta::from_micros(20)), StepVerdict::Normal);
/// assert_eq!(detector.observe(second), StepVerdict::Suspect);
/// assert_eq!(detector.observe(second + TimeDelta::from_micros(30)), StepVerdict::Suspect);
/// assert_eq!(detector.observe(second - TimeDelta::from_micros(30)), StepVerdict::Step(second));
/// ```
#[derive(Clone, Debug)]
pub struct StepDetector {
    config: StepDetectorConfig,
    pending_count: u8,
    first: TimeDelta,
    sum: TimeDelta,
    first_at: Time,
    envelope: TimeDelta,
}

impl StepDetector {
    /// A detector with its tuning.
    pub const fn new(config: StepDetectorConfig) -> Self {
        Self {
            config,
            pending_count: 0,
            first: TimeDelta::ZERO,
            sum: TimeDelta::ZERO,
            first_at: Time::EPOCH,
            envelope: TimeDelta::ZERO,
        }
    }
    /// The tuning.
    pub const fn config(&self) -> StepDetectorConfig {
        self.config
    }
    /// Replaces the threshold (e.g. to follow the measured noise).
    pub fn set_threshold(&mut self, threshold: TimeDelta) {
        self.config.threshold = threshold;
    }
    /// Forgets any suspicion.
    pub fn reset(&mut self) {
        self.pending_count = 0;
        self.sum = TimeDelta::ZERO;
    }
    /// How many suspicious residuals are pending.
    pub const fn pending(&self) -> u8 {
        self.pending_count
    }
    /// Judges one residual.
    pub fn observe(&mut self, residual: TimeDelta) -> StepVerdict {
        self.observe_inner(None, residual)
    }

    /// Judges one residual taken at local instant `now`: like [`observe`](Self::observe), but
    /// on a slow exchange rate two agreeing residuals at least `quick_span` apart are enough
    /// (at 1 Hz, three confirmations would take 3 s; two take 1–2 s and still hold back a
    /// single bad sample).
    ///
    /// ```
    /// use aptp_clock::{StepDetector, StepDetectorConfig, StepVerdict, Time, TimeDelta};
    /// let mut detector = StepDetector::new(StepDetectorConfig::default());
    /// let quick = TimeDelta::from_millis(750);
    /// let step = TimeDelta::from_millis(2);
    /// let at = |ms: i64| Time::EPOCH + TimeDelta::from_millis(ms);
    /// assert_eq!(detector.observe_at(at(0), step, quick), StepVerdict::Suspect);
    /// assert_eq!(detector.observe_at(at(1_000), step, quick), StepVerdict::Step(step));
    /// // At 8 Hz the span is short: the third confirmation is needed.
    /// assert_eq!(detector.observe_at(at(2_000), step, quick), StepVerdict::Suspect);
    /// assert_eq!(detector.observe_at(at(2_125), step, quick), StepVerdict::Suspect);
    /// assert_eq!(detector.observe_at(at(2_250), step, quick), StepVerdict::Step(step));
    /// ```
    pub fn observe_at(
        &mut self,
        now: Time,
        residual: TimeDelta,
        quick_span: TimeDelta,
    ) -> StepVerdict {
        self.observe_inner(Some((now, quick_span)), residual)
    }

    fn observe_inner(
        &mut self,
        timed: Option<(Time, TimeDelta)>,
        residual: TimeDelta,
    ) -> StepVerdict {
        if residual.abs() < self.config.threshold {
            self.reset();
            return StepVerdict::Normal;
        }
        let agrees =
            self.pending_count > 0 && (residual - self.first).abs() <= self.config.tolerance;
        if !agrees {
            self.pending_count = 0;
            self.sum = TimeDelta::ZERO;
            self.first = residual;
            if let Some((now, _)) = timed {
                self.first_at = now;
            }
        }
        self.pending_count = self.pending_count.saturating_add(1);
        self.sum += residual;
        let quick =
            timed.is_some_and(|(now, span)| self.pending_count >= 2 && now - self.first_at >= span);
        if quick || self.pending_count >= self.config.confirmations.max(1) {
            let count = i128::from(self.pending_count);
            let step = TimeDelta::from_scaled_nanos(self.sum.scaled_nanos() / count);
            self.reset();
            StepVerdict::Step(step)
        } else {
            StepVerdict::Suspect
        }
    }
}

impl StepDetector {
    /// Judges one residual of a one-way measurement taken at local instant `now`, where
    /// queueing cannot be told from the residual itself.
    ///
    /// Residuals beyond the threshold of one sign are suspicious; a step is declared once
    /// `confirmations` of them have been seen and they have lasted at least `hold` (a burst of
    /// queueing ends sooner), by the largest of them: the packet that queued least. Noise
    /// needs no agreement here, so the tolerance is not used.
    ///
    /// ```
    /// use aptp_clock::{StepDetector, StepDetectorConfig, StepVerdict, Time, TimeDelta};
    /// let mut detector = StepDetector::new(StepDetectorConfig::default());
    /// let hold = TimeDelta::from_secs(5);
    /// let at = |ms: i64| Time::EPOCH + TimeDelta::from_millis(ms);
    /// // 2 s of 50 ms extra delay: suspicious, never a step.
    /// for ms in (0..2_000).step_by(125) {
    ///     assert_eq!(detector.observe_envelope(at(ms), TimeDelta::from_millis(-50), hold), StepVerdict::Suspect);
    /// }
    /// assert_eq!(detector.observe_envelope(at(2_000), TimeDelta::ZERO, hold), StepVerdict::Normal);
    /// // A lasting fall of 0.5 s is one, measured by its least delayed packet.
    /// for ms in (3_000..8_000).step_by(125) {
    ///     assert_eq!(detector.observe_envelope(at(ms), TimeDelta::from_millis(-503), hold), StepVerdict::Suspect);
    /// }
    /// let step = detector.observe_envelope(at(8_000), TimeDelta::from_millis(-501), hold);
    /// assert_eq!(step, StepVerdict::Step(TimeDelta::from_millis(-501)));
    /// ```
    pub fn observe_envelope(
        &mut self,
        now: Time,
        residual: TimeDelta,
        hold: TimeDelta,
    ) -> StepVerdict {
        if residual.abs() < self.config.threshold {
            self.reset();
            return StepVerdict::Normal;
        }
        let same_sign = residual.is_negative() == self.envelope.is_negative();
        if self.pending_count == 0 || !same_sign {
            self.pending_count = 0;
            self.first_at = now;
            self.envelope = residual;
        }
        self.pending_count = self.pending_count.saturating_add(1);
        if residual > self.envelope {
            self.envelope = residual;
        }
        if self.pending_count >= self.config.confirmations.max(1) && now - self.first_at >= hold {
            let step = self.envelope;
            self.reset();
            StepVerdict::Step(step)
        } else {
            StepVerdict::Suspect
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreeing_outliers_never_step() {
        let mut detector = StepDetector::new(StepDetectorConfig::default());
        for millis in [5, -7, 30, 5, -2, 9] {
            assert_eq!(
                detector.observe(TimeDelta::from_millis(millis)),
                StepVerdict::Suspect
            );
        }
        assert_eq!(detector.observe(TimeDelta::ZERO), StepVerdict::Normal);
        assert_eq!(detector.pending(), 0);
    }

    #[test]
    fn negative_step_is_found() {
        let mut detector = StepDetector::new(StepDetectorConfig {
            confirmations: 2,
            ..Default::default()
        });
        let step = TimeDelta::from_millis(-500);
        assert_eq!(detector.observe(step), StepVerdict::Suspect);
        assert_eq!(detector.observe(step), StepVerdict::Step(step));
        assert_eq!(detector.pending(), 0);
    }
}
