//! Running the `aptp` binary (and ptp4l) as processes in namespaces: building it once, reading
//! its JSON lines, its resident memory, and order statistics of what it printed.
//!
//! Shared by the tests that run real processes under stress (`flood`, `faults_netns`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::netns::{LabError, NsChild};

/// The `aptp` binary, built once per test process with `cargo build -p aptp-cli --bin aptp`
/// (`--release` when `release`: a stress test measures what ships, not an unoptimised
/// build). `APTP_BIN` names a prebuilt binary instead (another tree's, or a profiling build).
pub fn aptp_binary(release: bool) -> &'static Path {
    static DEBUG: OnceLock<PathBuf> = OnceLock::new();
    static RELEASE: OnceLock<PathBuf> = OnceLock::new();
    let cell = if release { &RELEASE } else { &DEBUG };
    cell.get_or_init(|| {
        if let Some(path) = std::env::var_os("APTP_BIN") {
            return PathBuf::from(path);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ lives in the workspace");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "aptp-cli", "--bin", "aptp"])
            .current_dir(workspace);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build -p aptp-cli failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let binary = target
            .join(if release { "release" } else { "debug" })
            .join("aptp");
        assert!(binary.exists(), "{} missing", binary.display());
        binary
    })
}

/// Waits for `child` at most `timeout`; a child still running then is killed and its output
/// so far returned all the same (for programs without a `--duration`, such as ptp4l).
pub fn output_within(child: NsChild, timeout: Duration) -> Output {
    match child.wait_with_output(timeout) {
        Ok(output) => output,
        Err(LabError::Timeout { output, .. }) => output,
        Err(error) => panic!("{error}"),
    }
}

/// Every stdout line of `output` that is a JSON object, in order (other lines skipped).
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(Value::is_object)
        .collect()
}

/// The resident memory of process `pid` in KiB (`VmRSS`), `None` once it is gone.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The 99th percentile (nearest rank) of `|values|`; infinity when there are none, so an
/// empty window fails every bound.
pub fn p99_abs(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().map(f64::abs).collect();
    values.sort_by(f64::total_cmp);
    let rank = ((0.99 * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1));
    values.get(rank - 1).copied().unwrap_or(f64::INFINITY)
}

/// One `master offset` line of `ptp4l -m`: its time stamp (ptp4l's CLOCK_MONOTONIC seconds),
/// the offset and the path delay in ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ptp4lOffset {
    /// The `[seconds]` ptp4l prefixed the line with.
    pub at_s: f64,
    /// `master offset` (ns).
    pub offset_ns: f64,
    /// `path delay` (ns).
    pub path_delay_ns: f64,
}

/// The time stamp ptp4l puts in front of each line (`ptp4l[1234.567]: …`).
pub fn ptp4l_time(line: &str) -> Option<f64> {
    let start = line.find('[')? + 1;
    let end = start + line[start..].find(']')?;
    line[start..end].parse().ok()
}

/// Every `master offset` line in ptp4l's output.
pub fn ptp4l_offsets(text: &str) -> Vec<Ptp4lOffset> {
    text.lines()
        .filter_map(|line| {
            let at_s = ptp4l_time(line)?;
            let rest = &line[line.find("master offset")? + "master offset".len()..];
            let offset_ns = rest.split_whitespace().next()?.parse().ok()?;
            let delay = &rest[rest.find("path delay")? + "path delay".len()..];
            let path_delay_ns = delay.split_whitespace().next()?.parse().ok()?;
            Some(Ptp4lOffset {
                at_s,
                offset_ns,
                path_delay_ns,
            })
        })
        .collect()
}

/// `--uds_address=…` for one ptp4l process: a management socket path of its own. ptp4l
/// binds `/var/run/ptp4l` by default, so two started at once (tests run in parallel, and
/// network namespaces share the filesystem) race for it, and the loser's port 0 goes FAULTY
/// ("uds: bind failed: Address already in use"), which the tests rightly count as a fault.
pub fn ptp4l_uds_argument() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let index = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("aptp-{}-ptp4l-{index}.uds", std::process::id()));
    format!("--uds_address={}", path.display())
}

/// A config file in the temporary directory, named after this test process and `name`,
/// deleted on drop (shared by the tests that start aptp, ptp4l or both with a config).
pub struct ConfigFile(PathBuf);

impl ConfigFile {
    /// Writes `text` to the file; `name` must be unique within the test binary.
    pub fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("aptp-{}-{name}.cfg", std::process::id()));
        std::fs::write(&path, text).expect("temp dir writable");
        Self(path)
    }

    /// The file's path, for a command line.
    pub fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_the_nearest_rank_of_absolute_values() {
        let values = (1..=200).map(|v| -f64::from(v));
        assert_eq!(p99_abs(values), 198.0);
        assert_eq!(p99_abs([5.0]), 5.0);
        assert!(p99_abs(std::iter::empty()).is_infinite());
    }

    #[test]
    fn ptp4l_lines_are_parsed() {
        let text =
            "ptp4l[100.250]: port 1 (veth0): UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED\n\
                    ptp4l[101.125]: master offset        -42 s0 freq      +0 path delay      7531\n\
                    ptp4l[101.250]: master offset 17 s2 freq -3 path delay 7000\n";
        let offsets = ptp4l_offsets(text);
        assert_eq!(offsets.len(), 2);
        assert_eq!(offsets[0].at_s, 101.125);
        assert_eq!(offsets[0].offset_ns, -42.0);
        assert_eq!(offsets[0].path_delay_ns, 7531.0);
        assert_eq!(offsets[1].offset_ns, 17.0);
        assert_eq!(ptp4l_time("ptp4l[100.250]: x"), Some(100.25));
    }
}
