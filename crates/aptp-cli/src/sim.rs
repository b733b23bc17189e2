//! `aptp sim`: the accuracy simulator's table (every estimator against every scenario).

use std::io::{self, Write};
use std::process::ExitCode;

use aptp_clock::sim::{format_table, run_table, ResultRow, Scenario};

/// Run the deterministic accuracy simulator and print its table.
///
/// For each scenario (wired-lan, wifi, wifi-bursty, master-step, drift-ramp, loopback,
/// airplay-one-way) and each estimator (pi, linreg, nqptp, and aptp's default, marked *), one
/// row: the time error p50, p99 and maximum after warm-up (µs), the seconds until the error
/// stays within 100 µs and 10 µs, the final rate error (ppb), the steps detected, and the
/// re-lock time after a master step.
/// The same seed gives the same table.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// One JSON object per row (scenario, estimator, default, p50_us, p99_us, max_us,
    /// converge_100us_s, converge_10us_s, rate_error_ppb, steps_detected, relock_s).
    #[arg(long)]
    json: bool,

    /// Only this scenario.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(Scenario::names()))]
    scenario: Option<String>,

    /// Seed of the simulated world.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

/// One `--json` line, keys as cli.md lists them; a figure without meaning (no re-lock without a
/// master step, a bound never held, an estimator never locked) is null.
#[derive(serde::Serialize)]
struct RowJson<'a> {
    scenario: &'a str,
    estimator: &'a str,
    default: bool,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    max_us: Option<f64>,
    converge_100us_s: Option<f64>,
    converge_10us_s: Option<f64>,
    rate_error_ppb: Option<f64>,
    steps_detected: u32,
    relock_s: Option<f64>,
}

/// A figure rounded to a thousandth of its unit (a nanosecond for µs, a millisecond for s),
/// or null when it is not finite.
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then(|| (value * 1000.0).round() / 1000.0)
}

impl<'a> From<&'a ResultRow> for RowJson<'a> {
    fn from(row: &'a ResultRow) -> Self {
        Self {
            scenario: row.scenario,
            estimator: row.estimator,
            default: row.default,
            p50_us: finite(row.p50_us),
            p99_us: finite(row.p99_us),
            max_us: finite(row.max_us),
            converge_100us_s: row.converge_100us_s.and_then(finite),
            converge_10us_s: row.converge_10us_s.and_then(finite),
            rate_error_ppb: finite(row.rate_error_ppb),
            steps_detected: row.steps_detected,
            relock_s: row.relock_s.and_then(finite),
        }
    }
}

/// Runs `aptp sim`.
pub fn run(args: &SimArgs) -> ExitCode {
    let rows = match run_table(args.scenario.as_deref(), args.seed) {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("aptp: {error}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = io::stdout().lock();
    let written = if args.json {
        rows.iter().try_for_each(|row| {
            let line = serde_json::to_string(&RowJson::from(row)).map_err(io::Error::other)?;
            writeln!(stdout, "{line}")
        })
    } else {
        write!(stdout, "{}", format_table(&rows)).and_then(|()| {
            writeln!(
                stdout,
                "* the default estimator; - never (or no master step)"
            )
        })
    };
    match written.and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aptp: {error}");
            ExitCode::FAILURE
        }
        Ok(()) => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_are_the_contract_and_nulls_stay_null() {
        let rows = run_table(Some("loopback"), 3).expect("loopback is a scenario");
        let value = serde_json::to_value(RowJson::from(&rows[0])).expect("serializable");
        let object = value.as_object().expect("an object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "converge_100us_s",
                "converge_10us_s",
                "default",
                "estimator",
                "max_us",
                "p50_us",
                "p99_us",
                "rate_error_ppb",
                "relock_s",
                "scenario",
                "steps_detected"
            ]
        );
        assert!(object["relock_s"].is_null());
        assert_eq!(object["scenario"], "loopback");
    }
}
