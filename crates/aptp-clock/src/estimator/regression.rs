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
struct Moments {
    x_mean: f64,
    y_mean: f64,
    xx: f64,
    xy: f64,
    x_min: f64,
    x_max: f64,
}

impl Moments {
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

/// Fits two parallel lines, `y = a_f + b x` to the `forward` points and `y = a_b + b x` to the
/// `backward` ones (one slope, two intercepts, each group weighted on its own), and returns
/// their mean `y = (a_f + a_b) / 2 + b x`. Two-way time transfer: the Syncs' `t1 − t2` lie
/// below the offset by the master-to-slave delay, the Delay_Req's `t4 − t3` above it by the
/// slave-to-master one, so the mean of the two lines is the offset (symmetry assumed) and
/// each direction's least-delayed packets can carry its own line, whichever exchange they
/// came in. With less than `min_x_span` of x in both groups (or a group empty), as [`fit`].
pub(crate) fn fit_two_way(
    forward: impl Iterator<Item = (f64, f64, f64)> + Clone,
    backward: impl Iterator<Item = (f64, f64, f64)> + Clone,
    min_x_span: f64,
    fallback_slope: f64,
) -> Option<Line> {
    let forward = Moments::of(forward)?;
    let backward = Moments::of(backward)?;
    let span = (forward.x_max.max(backward.x_max)) - (forward.x_min.min(backward.x_min));
    let xx = forward.xx + backward.xx;
    let slope = if span < min_x_span || xx <= 0.0 {
        fallback_slope
    } else {
        (forward.xy + backward.xy) / xx
    };
    Some(Line {
        x_center: (forward.x_mean + backward.x_mean) / 2.0,
        intercept: (forward.y_mean + backward.y_mean) / 2.0,
        slope,
    })
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
