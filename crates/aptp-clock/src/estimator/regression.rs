//! Weighted least squares for a line, in `f64` on values already made small by the caller.

/// A fitted line `y = intercept + slope × (x − x_center)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Line {
    pub x_center: f64,
    pub intercept: f64,
    pub slope: f64,
}

impl Line {
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * (x - self.x_center)
    }
}

/// Fits `y = a + b x` to weighted points. When the points span less than `min_x_span` in x (or
/// their weights vanish), the slope is `fallback_slope` and only the intercept is fitted.
pub(crate) fn fit(
    points: impl Iterator<Item = (f64, f64, f64)> + Clone,
    min_x_span: f64,
    fallback_slope: f64,
) -> Option<Line> {
    let mut weight_sum = 0.0;
    let mut x_sum = 0.0;
    let mut y_sum = 0.0;
    let mut x_min = f64::INFINITY;
    let mut x_max = f64::NEG_INFINITY;
    for (x, y, weight) in points.clone() {
        if weight <= 0.0 || !weight.is_finite() {
            continue;
        }
        weight_sum += weight;
        x_sum += weight * x;
        y_sum += weight * y;
        x_min = x_min.min(x);
        x_max = x_max.max(x);
    }
    if weight_sum <= 0.0 {
        return None;
    }
    let x_center = x_sum / weight_sum;
    let y_mean = y_sum / weight_sum;
    if x_max - x_min < min_x_span {
        return Some(Line {
            x_center,
            intercept: y_mean,
            slope: fallback_slope,
        });
    }
    let mut xx = 0.0;
    let mut xy = 0.0;
    for (x, y, weight) in points {
        if weight <= 0.0 || !weight.is_finite() {
            continue;
        }
        let dx = x - x_center;
        xx += weight * dx * dx;
        xy += weight * dx * (y - y_mean);
    }
    if xx <= 0.0 {
        return Some(Line {
            x_center,
            intercept: y_mean,
            slope: fallback_slope,
        });
    }
    Some(Line {
        x_center,
        intercept: y_mean,
        slope: xy / xx,
    })
}

/// Weighted sums of one group of points about its own weighted centre.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Moments {
    x_mean: f64,
    y_mean: f64,
    xx: f64,
    xy: f64,
    x_min: f64,
    x_max: f64,
}

impl Moments {
    /// Two passes over `points`: the reference [`RunningMoments`] is tested against.
    #[cfg(test)]
    fn of(points: impl Iterator<Item = (f64, f64, f64)> + Clone) -> Option<Self> {
        let mut weight = 0.0;
        let mut x_sum = 0.0;
        let mut y_sum = 0.0;
        let mut x_min = f64::INFINITY;
        let mut x_max = f64::NEG_INFINITY;
        let usable = |(_, _, w): &(f64, f64, f64)| *w > 0.0 && w.is_finite();
        for (x, y, w) in points.clone().filter(usable) {
            weight += w;
            x_sum += w * x;
            y_sum += w * y;
            x_min = x_min.min(x);
            x_max = x_max.max(x);
        }
        if weight <= 0.0 {
            return None;
        }
        let (x_mean, y_mean) = (x_sum / weight, y_sum / weight);
        let (mut xx, mut xy) = (0.0, 0.0);
        for (x, y, w) in points.filter(usable) {
            xx += w * (x - x_mean) * (x - x_mean);
            xy += w * (x - x_mean) * (y - y_mean);
        }
        Some(Self {
            x_mean,
            y_mean,
            xx,
            xy,
            x_min,
            x_max,
        })
    }
}

/// [`Moments`] built one point at a time, so that every prefix of a sequence (windows that
/// share their newest end) is had in a single pass. Plain weighted sums, no division per
/// point: x is already small (relative to the fit's instant), and y is taken relative to the
/// first point's, so the centred sums lose at most a digit or two of the 16.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunningMoments {
    y_ref: Option<f64>,
    weight: f64,
    x_sum: f64,
    y_sum: f64,
    xx_sum: f64,
    xy_sum: f64,
    x_min: f64,
    x_max: f64,
}

impl Default for RunningMoments {
    fn default() -> Self {
        Self {
            y_ref: None,
            weight: 0.0,
            x_sum: 0.0,
            y_sum: 0.0,
            xx_sum: 0.0,
            xy_sum: 0.0,
            x_min: f64::INFINITY,
            x_max: f64::NEG_INFINITY,
        }
    }
}

impl RunningMoments {
    /// Adds one point; a weight that is not positive and finite (or a NaN coordinate) adds
    /// nothing, as in [`Moments::of`].
    #[inline]
    pub(crate) fn add(&mut self, x: f64, y: f64, weight: f64) {
        if !(weight > 0.0 && weight.is_finite() && x.is_finite() && y.is_finite()) {
            return;
        }
        let y = y - *self.y_ref.get_or_insert(y);
        let weighted_x = weight * x;
        self.weight += weight;
        self.x_sum += weighted_x;
        self.y_sum += weight * y;
        self.xx_sum += weighted_x * x;
        self.xy_sum += weighted_x * y;
        self.x_min = self.x_min.min(x);
        self.x_max = self.x_max.max(x);
    }

    /// The moments so far; `None` before any point weighed.
    pub(crate) fn moments(&self) -> Option<Moments> {
        let y_ref = self.y_ref?;
        if self.weight <= 0.0 {
            return None;
        }
        let x_mean = self.x_sum / self.weight;
        let y_mean = self.y_sum / self.weight;
        Some(Moments {
            x_mean,
            y_mean: y_mean + y_ref,
            xx: (self.xx_sum - x_mean * self.x_sum).max(0.0),
            xy: self.xy_sum - x_mean * self.y_sum,
            x_min: self.x_min,
            x_max: self.x_max,
        })
    }
}

/// [`fit`] from the points' moments.
pub(crate) fn fit_moments(moments: Moments, min_x_span: f64, fallback_slope: f64) -> Line {
    let slope = if moments.x_max - moments.x_min < min_x_span || moments.xx <= 0.0 {
        fallback_slope
    } else {
        moments.xy / moments.xx
    };
    Line {
        x_center: moments.x_mean,
        intercept: moments.y_mean,
        slope,
    }
}

/// Two parallel lines from each group's moments: one slope, two intercepts, and their mean (see
/// `fit_two_way`, the same from the points).
pub(crate) fn fit_two_way_moments(
    forward: Moments,
    backward: Moments,
    min_x_span: f64,
    fallback_slope: f64,
) -> Line {
    let span = (forward.x_max.max(backward.x_max)) - (forward.x_min.min(backward.x_min));
    let xx = forward.xx + backward.xx;
    let slope = if span < min_x_span || xx <= 0.0 {
        fallback_slope
    } else {
        (forward.xy + backward.xy) / xx
    };
    Line {
        x_center: (forward.x_mean + backward.x_mean) / 2.0,
        intercept: (forward.y_mean + backward.y_mean) / 2.0,
        slope,
    }
}

/// Fits two parallel lines, `y = a_f + b x` to the `forward` points and `y = a_b + b x` to the
/// `backward` ones (one slope, two intercepts, each group weighted on its own), and returns
/// their mean `y = (a_f + a_b) / 2 + b x`. Two-way time transfer: the Syncs' `t1 − t2` lie
/// below the offset by the master-to-slave delay, the Delay_Req's `t4 − t3` above it by the
/// slave-to-master one, so the mean of the two lines is the offset (symmetry assumed) and
/// each direction's least-delayed packets can carry its own line, whichever exchange they
/// came in. With less than `min_x_span` of x in both groups (or a group empty), as [`fit`].
#[cfg(test)]
pub(crate) fn fit_two_way(
    forward: impl Iterator<Item = (f64, f64, f64)> + Clone,
    backward: impl Iterator<Item = (f64, f64, f64)> + Clone,
    min_x_span: f64,
    fallback_slope: f64,
) -> Option<Line> {
    let forward = Moments::of(forward)?;
    let backward = Moments::of(backward)?;
    Some(fit_two_way_moments(
        forward,
        backward,
        min_x_span,
        fallback_slope,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_and_fallback() {
        let points = [
            (0.0, 1.0, 1.0),
            (1.0, 3.0, 1.0),
            (2.0, 5.0, 1.0),
            (3.0, 100.0, 0.0),
        ];
        let line = fit(points.iter().copied(), 0.5, 0.0).unwrap();
        assert!((line.slope - 2.0).abs() < 1e-12);
        assert!((line.at(10.0) - 21.0).abs() < 1e-9);
        let line = fit(points.iter().copied(), 5.0, 7.0).unwrap();
        assert_eq!(line.slope, 7.0);
        assert!(fit([(0.0, 1.0, 0.0)].iter().copied(), 0.0, 0.0).is_none());
    }

    #[test]
    fn running_moments_match_the_two_pass_ones_on_every_prefix() {
        let points: [(f64, f64, f64); 6] = [
            (-0.0, 12.0, 1.0),
            (-125e6, 9.5, 0.25),
            (-250e6, 7.0, 0.0),
            (-375e6, f64::NAN, 1.0),
            (-500e6, 3.25, 0.75),
            (-625e6, 1.0, 2.0),
        ];
        let mut running = RunningMoments::default();
        for end in 1..=points.len() {
            let (x, y, w) = points[end - 1];
            running.add(x, y, w);
            let prefix = points[..end].iter().copied().filter(|p| p.1.is_finite());
            let two_pass = Moments::of(prefix);
            match (running.moments(), two_pass) {
                (Some(a), Some(b)) => {
                    for (left, right) in [
                        (a.x_mean, b.x_mean),
                        (a.y_mean, b.y_mean),
                        (a.xx, b.xx),
                        (a.xy, b.xy),
                        (a.x_min, b.x_min),
                        (a.x_max, b.x_max),
                    ] {
                        assert!(
                            (left - right).abs() <= 1e-9 * right.abs().max(1.0),
                            "prefix {end}: {a:?} against {b:?}"
                        );
                    }
                    let line = fit_moments(a, 0.0, 0.0);
                    let reference = fit(
                        points[..end].iter().copied().filter(|p| p.1.is_finite()),
                        0.0,
                        0.0,
                    )
                    .expect("a line");
                    assert!(
                        (line.slope - reference.slope).abs() < 1e-15,
                        "{line:?} {reference:?}"
                    );
                }
                (None, None) => {}
                (a, b) => panic!("prefix {end}: {a:?} against {b:?}"),
            }
        }
    }

    #[test]
    fn two_way_fit_is_the_mean_of_two_parallel_lines() {
        // Offset 10 + 0.5 x; the forward points 3 below it, the backward ones 5 above, at
        // other x; a heavily delayed point of each weighs nothing.
        let forward = [(0.0, 7.0, 1.0), (2.0, 8.0, 1.0), (4.0, -50.0, 0.0)];
        let backward = [(1.0, 15.5, 1.0), (3.0, 16.5, 1.0), (5.0, 90.0, 0.0)];
        let line = fit_two_way(forward.iter().copied(), backward.iter().copied(), 0.5, 0.0)
            .expect("a line");
        assert!((line.slope - 0.5).abs() < 1e-12, "{line:?}");
        // (−3 + 5) / 2 = 1 above the offset.
        assert!((line.at(6.0) - 14.0).abs() < 1e-9, "{line:?}");
        let flat = fit_two_way(
            forward.iter().copied(),
            backward.iter().copied(),
            50.0,
            0.25,
        )
        .expect("a line");
        assert_eq!(flat.slope, 0.25);
        assert!(fit_two_way(forward.iter().copied(), core::iter::empty(), 0.0, 0.0).is_none());
    }
}
