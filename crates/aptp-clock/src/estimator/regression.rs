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
}
