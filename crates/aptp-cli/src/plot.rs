//! A hand-written SVG of two time series (offset and path delay), one panel each: polylines,
//! a zero line, and the range of each axis written at its ends. No plotting crate.

use std::fmt::Write;

/// One panel: a title, a unit, and (seconds, value) points.
pub struct Series<'a> {
    /// The panel's title.
    pub title: &'a str,
    /// The unit of the values (printed on the axis).
    pub unit: &'a str,
    /// The points, in time order.
    pub points: &'a [(f64, f64)],
    /// The line's colour (any SVG colour).
    pub colour: &'a str,
}

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 260.0;
const MARGIN_LEFT: f64 = 90.0;
const MARGIN_RIGHT: f64 = 20.0;
const MARGIN_TOP: f64 = 40.0;
const GAP: f64 = 50.0;

/// The SVG document with one panel per series, stacked, sharing the time axis.
pub fn svg(title: &str, series: &[Series<'_>]) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let (t_min, t_max) = series
        .iter()
        .flat_map(|s| s.points.iter().filter(finite))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
    let (t_min, t_max) = widen(t_min, t_max);
    let height = MARGIN_TOP + series.len() as f64 * (PANEL_HEIGHT + GAP) + 10.0;
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    for (index, s) in series.iter().enumerate() {
        let top = MARGIN_TOP + index as f64 * (PANEL_HEIGHT + GAP);
        let (v_min, v_max) = s
            .points
            .iter()
            .filter(finite)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        let (v_min, v_max) = widen(v_min.min(0.0), v_max.max(0.0));
        let x = |t: f64| MARGIN_LEFT + (t - t_min) / (t_max - t_min) * plot_width;
        let y = |v: f64| top + PANEL_HEIGHT - (v - v_min) / (v_max - v_min) * PANEL_HEIGHT;
        let _ = writeln!(
            out,
            r##"<rect x="{MARGIN_LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" fill="none" stroke="#999"/>"##
        );
        let _ = writeln!(
            out,
            r##"<line x1="{MARGIN_LEFT}" y1="{zero:.1}" x2="{right}" y2="{zero:.1}" stroke="#ccc" stroke-dasharray="4 3"/>"##,
            zero = y(0.0),
            right = MARGIN_LEFT + plot_width
        );
        let _ = writeln!(
            out,
            r#"<text x="{MARGIN_LEFT}" y="{}">{} ({})</text>"#,
            top - 6.0,
            escape(s.title),
            escape(s.unit)
        );
        for (value, anchor_y) in [(v_max, top + 10.0), (v_min, top + PANEL_HEIGHT)] {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{anchor_y:.1}" text-anchor="end">{}</text>"#,
                MARGIN_LEFT - 6.0,
                label(value)
            );
        }
        for (t, anchor) in [(t_min, "start"), (t_max, "end")] {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}">{} s</text>"#,
                x(t),
                top + PANEL_HEIGHT + 16.0,
                label(t)
            );
        }
        let mut points = String::new();
        for (t, v) in s.points.iter().filter(finite) {
            let _ = write!(points, "{:.1},{:.1} ", x(*t), y(*v));
        }
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            escape(s.colour),
            points.trim_end()
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A non-empty range around the data (a flat or empty series still gets an axis).
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 1.0, hi + 1.0);
    }
    (lo, hi)
}

fn label(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_panels_with_their_polylines() {
        let offset = [(0.0, -100.0), (1.0, 50.0), (2.0, f64::NAN), (3.0, 10.0)];
        let delay = [(0.0, 2000.0), (3.0, 2100.0)];
        let document = svg(
            "a <demo>",
            &[
                Series {
                    title: "offset",
                    unit: "ns",
                    points: &offset,
                    colour: "red",
                },
                Series {
                    title: "path delay",
                    unit: "ns",
                    points: &delay,
                    colour: "blue",
                },
            ],
        );
        assert!(document.starts_with("<svg"));
        assert!(document.trim_end().ends_with("</svg>"));
        assert_eq!(document.matches("<polyline").count(), 2);
        assert!(document.contains("a &lt;demo&gt;"));
        // The NaN point is left out: three points in the first line.
        let first = document.split("points=\"").nth(1).unwrap();
        assert_eq!(first.split('"').next().unwrap().split(' ').count(), 3);
    }

    #[test]
    fn empty_series_still_make_a_valid_document() {
        let document = svg(
            "empty",
            &[Series {
                title: "x",
                unit: "ns",
                points: &[],
                colour: "red",
            }],
        );
        assert!(document.contains("<polyline") && !document.contains("NaN"));
    }
}
