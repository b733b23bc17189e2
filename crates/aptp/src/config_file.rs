//! A reader for linuxptp-style configuration files (`ptp4l -f FILE`), mapped onto the engine's
//! [`Config`].
//!
//! The format is ptp4l's: sections in brackets (`[global]`, or a port section named after an
//! interface, whose keys apply to aptp's single port), one `key value` pair a line, `#` starts a
//! comment. The keys are linuxptp's names (`domainNumber`, `priority1`, `logSyncInterval`,
//! `delay_mechanism`, `network_transport`, `slaveOnly`…), so an existing `ptp4l.conf` can be
//! reused. Keys that only steer ptp4l's handling of the system clock (`free_running`,
//! `step_threshold`, servo constants…) are accepted and ignored with a [`Note`], since aptp
//! never steers the system clock. Unknown keys and bad values are errors naming `file:line`, as
//! ptp4l refuses them too.
//!
//! ```
//! use aptp::config_file::{ConfigFile, NetworkTransport};
//! use aptp::engine::DelayMechanism;
//!
//! let text = "[global]\n# a master on domain 3\ndomainNumber 3\npriority1 1\n\
//!             logSyncInterval -3\ndelay_mechanism P2P\nnetwork_transport UDPv6\nfree_running 1\n";
//! let file = ConfigFile::parse(text, "m.cfg").unwrap();
//! assert_eq!(file.config.domain_number, 3);
//! assert_eq!(file.config.priority1, 1);
//! assert_eq!(file.config.log_sync_interval, -3);
//! assert_eq!(file.config.delay_mechanism, DelayMechanism::PeerToPeer);
//! assert_eq!(file.network_transport, Some(NetworkTransport::UdpIpv6));
//! assert_eq!(file.notes.len(), 1); // free_running is ignored, with a note
//! assert_eq!(file.notes[0].to_string(), "m.cfg:8: free_running ignored: aptp never steers the system clock");
//! ```

use std::fmt;
use std::path::Path;

use aptp_clock::EstimatorKind;
use thiserror::Error;

use crate::engine::{Config, ConfigError, DelayMechanism};

/// The IP version a configuration asks for (linuxptp `network_transport`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkTransport {
    /// `UDPv4` (ptp4l's default).
    UdpIpv4,
    /// `UDPv6`.
    UdpIpv6,
}

/// A key that was accepted but has no effect in aptp, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The file's name as given to the reader.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// The key as written.
    pub key: String,
    /// Why it has no effect.
    pub reason: &'static str,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} ignored: {}",
            self.file, self.line, self.key, self.reason
        )
    }
}

/// What is wrong at one place of a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigFileErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(String),
    /// A `key value` line before any `[section]`.
    #[error("`{0}` is outside any section (start with [global])")]
    OutsideSection(String),
    /// A `[section` without its closing bracket, or an empty name.
    #[error("malformed section header `{0}`")]
    BadSection(String),
    /// A key linuxptp does not know (or aptp does not know yet).
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    /// A key without a value.
    #[error("`{0}` has no value")]
    MissingValue(String),
    /// A value that does not parse or is out of range for its key.
    #[error("bad value `{value}` for `{key}`: expected {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What the key accepts.
        expected: &'static str,
    },
    /// A value linuxptp accepts but aptp does not implement.
    #[error("`{key} {value}` is not supported: {reason}")]
    Unsupported {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// Why, and what to use instead.
        reason: &'static str,
    },
    /// The options read do not make a valid configuration together.
    #[error("{0}")]
    Invalid(ConfigError),
}

/// A configuration file error, with where it happened (`line` is 0 for the file as a whole).
///
/// ```
/// use aptp::config_file::ConfigFile;
/// let error = ConfigFile::parse("[global]\npriority1 300\n", "x.cfg").unwrap_err();
/// assert_eq!(error.line, 2);
/// assert!(error.to_string().starts_with("x.cfg:2: bad value `300` for `priority1`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{file}:{line}: {kind}")]
pub struct ConfigFileError {
    /// The file's name as given to the reader.
    pub file: String,
    /// The 1-based line number, 0 when the error concerns the whole file.
    pub line: usize,
    /// What is wrong.
    pub kind: ConfigFileErrorKind,
}

/// A configuration file read into the engine's [`Config`], plus the options that concern the
/// transport rather than the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigFile {
    /// The engine configuration: linuxptp defaults, overridden by the file.
    pub config: Config,
    /// `network_transport`, if the file sets it.
    pub network_transport: Option<NetworkTransport>,
    /// Keys accepted without effect, each with its reason.
    pub notes: Vec<Note>,
}

/// Keys accepted without effect, and why.
const IGNORED: &[(&str, &str)] = &[
    ("free_running", "aptp never steers the system clock"),
    ("step_threshold", "aptp never steers the system clock"),
    ("first_step_threshold", "aptp never steers the system clock"),
    ("max_frequency", "aptp never steers the system clock"),
    ("sanity_freq_limit", "aptp never steers the system clock"),
    (
        "pi_proportional_const",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_integral_const",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_proportional_scale",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_integral_scale",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_proportional_exponent",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_integral_exponent",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_proportional_norm_max",
        "aptp's estimators have their own tuning",
    ),
    (
        "pi_integral_norm_max",
        "aptp's estimators have their own tuning",
    ),
    ("summary_interval", "aptp prints a status line every second"),
    ("freq_est_interval", "aptp estimates the rate continuously"),
    ("verbose", "use aptp's -v and --json instead"),
    ("logging_level", "use aptp's -v or RUST_LOG instead"),
    ("use_syslog", "aptp logs to stderr"),
    ("message_tag", "aptp logs to stderr"),
    ("time_stamping", "aptp uses kernel software timestamps"),
    (
        "tx_timestamp_timeout",
        "aptp waits 10 ms, as linuxptp's default",
    ),
    ("udp_ttl", "aptp sends multicast with TTL 1"),
    ("clock_type", "aptp is an ordinary clock"),
    ("dscp_event", "not implemented"),
    ("dscp_general", "not implemented"),
    ("path_trace_enabled", "not implemented"),
    ("follow_up_info", "not implemented for ordinary PTP"),
    ("gmCapable", "aptp is an ordinary clock"),
    (
        "assume_two_step",
        "aptp matches one-step and two-step Syncs",
    ),
    ("delay_filter", "aptp's estimator filters the delay"),
    ("delay_filter_length", "aptp's estimator filters the delay"),
    ("uds_address", "aptp has no pmc socket"),
    ("productDescription", "not announced"),
    ("userDescription", "not announced"),
];

impl ConfigFile {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// [`ConfigFileError`] with line 0 when the file cannot be read, else as
    /// [`parse`](Self::parse).
    ///
    /// ```no_run
    /// let file = aptp::config_file::ConfigFile::read("/etc/linuxptp/ptp4l.conf")?;
    /// println!("domain {}", file.config.domain_number);
    /// # Ok::<(), aptp::config_file::ConfigFileError>(())
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<ConfigFile, ConfigFileError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigFileError {
            file: name.clone(),
            line: 0,
            kind: ConfigFileErrorKind::Read(error.to_string()),
        })?;
        Self::parse(&text, &name)
    }

    /// Parses the text of a configuration file; `file` names it in errors and notes.
    ///
    /// # Errors
    /// The first line that is wrong, as a [`ConfigFileError`]; or, with line 0, a
    /// combination the engine refuses ([`ConfigFileErrorKind::Invalid`]).
    ///
    /// ```
    /// use aptp::config_file::ConfigFile;
    /// let file = ConfigFile::parse("[global]\nslaveOnly 1\n[eth0]\nlogMinDelayReqInterval -2\n", "s.cfg").unwrap();
    /// assert!(file.config.slave_only);
    /// assert_eq!(file.config.log_min_delay_req_interval, -2);
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<ConfigFile, ConfigFileError> {
        let mut out = ConfigFile {
            config: Config::default(),
            network_transport: None,
            notes: Vec::new(),
        };
        let mut in_section = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |kind| ConfigFileError {
                file: file.to_owned(),
                line,
                kind,
            };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            if let Some(rest) = content.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .map(str::trim)
                    .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
                    .ok_or_else(|| error(ConfigFileErrorKind::BadSection(content.to_owned())))?;
                let _ = name; // [global] and port sections both apply to aptp's single port.
                in_section = true;
                continue;
            }
            if !in_section {
                return Err(error(ConfigFileErrorKind::OutsideSection(
                    content.to_owned(),
                )));
            }
            let mut words = content.split_whitespace();
            let key = words.next().unwrap_or_default();
            let value = words.collect::<Vec<_>>().join(" ");
            if value.is_empty() {
                return Err(error(ConfigFileErrorKind::MissingValue(key.to_owned())));
            }
            if let Some((_, reason)) = IGNORED.iter().find(|(name, _)| *name == key) {
                out.notes.push(Note {
                    file: file.to_owned(),
                    line,
                    key: key.to_owned(),
                    reason,
                });
                continue;
            }
            out.apply(key, &value).map_err(error)?;
        }
        out.config.validate().map_err(|e| ConfigFileError {
            file: file.to_owned(),
            line: 0,
            kind: ConfigFileErrorKind::Invalid(e),
        })?;
        Ok(out)
    }

    /// Applies one `key value` pair.
    fn apply(&mut self, key: &str, value: &str) -> Result<(), ConfigFileErrorKind> {
        let c = &mut self.config;
        match key {
            "domainNumber" => c.domain_number = number(key, value, "0..=255")?,
            "priority1" => c.priority1 = number(key, value, "0..=255")?,
            "priority2" => c.priority2 = number(key, value, "0..=255")?,
            "clockClass" => c.clock_class = number(key, value, "0..=255")?,
            "clockAccuracy" => c.clock_accuracy = number(key, value, "0..=0xFF")?,
            "offsetScaledLogVariance" => {
                c.offset_scaled_log_variance = number(key, value, "0..=0xFFFF")?
            }
            "logAnnounceInterval" => c.log_announce_interval = number(key, value, "-128..=127")?,
            "logSyncInterval" => c.log_sync_interval = number(key, value, "-128..=127")?,
            "logMinDelayReqInterval" => {
                c.log_min_delay_req_interval = number(key, value, "-128..=127")?
            }
            "logMinPdelayReqInterval" => {
                c.log_min_pdelay_req_interval = number(key, value, "-128..=127")?
            }
            "announceReceiptTimeout" => c.announce_receipt_timeout = number(key, value, "2..=255")?,
            "transportSpecific" | "majorSdoId" => {
                c.transport_specific = number(key, value, "0..=15")?
            }
            "slaveOnly" => c.slave_only = boolean(key, value)?,
            "masterOnly" => c.master_only = boolean(key, value)?,
            "twoStepFlag" => c.two_step = boolean(key, value)?,
            "utc_offset" => c.current_utc_offset = number(key, value, "-32768..=32767")?,
            "timeSource" => c.time_source = number(key, value, "0..=0xFF")?,
            "fault_reset_interval" => c.fault_reset_interval = number(key, value, "-128..=127")?,
            "delay_mechanism" => {
                c.delay_mechanism = match value {
                    "E2E" => DelayMechanism::EndToEnd,
                    "P2P" => DelayMechanism::PeerToPeer,
                    "NONE" => DelayMechanism::None,
                    "Auto" => {
                        return Err(ConfigFileErrorKind::Unsupported {
                            key: key.to_owned(),
                            value: value.to_owned(),
                            reason: "choose E2E or P2P",
                        })
                    }
                    _ => return Err(bad(key, value, "E2E, P2P or NONE")),
                }
            }
            "network_transport" => {
                self.network_transport = Some(match value {
                    "UDPv4" => NetworkTransport::UdpIpv4,
                    "UDPv6" => NetworkTransport::UdpIpv6,
                    "L2" => {
                        return Err(ConfigFileErrorKind::Unsupported {
                            key: key.to_owned(),
                            value: value.to_owned(),
                            reason: "aptp speaks PTP over UDP only (UDPv4 or UDPv6)",
                        })
                    }
                    _ => return Err(bad(key, value, "UDPv4 or UDPv6")),
                })
            }
            "clock_servo" => {
                c.estimator = match value {
                    "pi" => EstimatorKind::Pi,
                    "linreg" => EstimatorKind::Linreg,
                    other => EstimatorKind::from_name(other)
                        .ok_or_else(|| bad(key, value, "pi, linreg, nqptp or lucky-regression"))?,
                }
            }
            _ => return Err(ConfigFileErrorKind::UnknownKey(key.to_owned())),
        }
        Ok(())
    }
}

fn bad(key: &str, value: &str, expected: &'static str) -> ConfigFileErrorKind {
    ConfigFileErrorKind::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

/// A decimal or `0x` hexadecimal integer that fits `T`.
fn number<T: TryFrom<i64>>(
    key: &str,
    value: &str,
    expected: &'static str,
) -> Result<T, ConfigFileErrorKind> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let parsed = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => digits.parse::<i64>(),
    };
    parsed
        .ok()
        .map(|n| if negative { -n } else { n })
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| bad(key, value, expected))
}

fn boolean(key: &str, value: &str) -> Result<bool, ConfigFileErrorKind> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(bad(key, value, "0 or 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (usize, ConfigFileErrorKind) {
        let error = ConfigFile::parse(text, "t.cfg").unwrap_err();
        (error.line, error.kind)
    }

    #[test]
    fn linuxptp_defaults_when_empty_and_comments_are_skipped() {
        let file = ConfigFile::parse("# nothing\n\n[global]\n  # still nothing\n", "t").unwrap();
        assert_eq!(file.config, Config::default());
        assert_eq!(file.network_transport, None);
        assert!(file.notes.is_empty());
    }

    #[test]
    fn every_mapped_key_lands_in_its_field() {
        let text = "[global]\ndomainNumber 5\npriority1 10\npriority2 20\nclockClass 6\n\
            clockAccuracy 0x21\noffsetScaledLogVariance 0x436A\nlogAnnounceInterval -2\n\
            logSyncInterval -3\nlogMinDelayReqInterval -1\nlogMinPdelayReqInterval 1\n\
            announceReceiptTimeout 4\ntransportSpecific 1\ntwoStepFlag 1\nutc_offset 36\n\
            timeSource 0x20\nfault_reset_interval 2\nclock_servo pi\nmasterOnly 1\n";
        let c = ConfigFile::parse(text, "t").unwrap().config;
        assert_eq!(
            (c.domain_number, c.priority1, c.priority2, c.clock_class),
            (5, 10, 20, 6)
        );
        assert_eq!(
            (c.clock_accuracy, c.offset_scaled_log_variance),
            (0x21, 0x436A)
        );
        assert_eq!(
            (
                c.log_announce_interval,
                c.log_sync_interval,
                c.log_min_delay_req_interval
            ),
            (-2, -3, -1)
        );
        assert_eq!(
            (c.log_min_pdelay_req_interval, c.announce_receipt_timeout),
            (1, 4)
        );
        assert_eq!(
            (c.transport_specific, c.current_utc_offset, c.time_source),
            (1, 36, 0x20)
        );
        assert_eq!(c.fault_reset_interval, 2);
        assert_eq!(c.estimator, EstimatorKind::Pi);
        assert!(c.master_only && c.two_step);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            kind("priority1 1\n"),
            (1, ConfigFileErrorKind::OutsideSection("priority1 1".into()))
        );
        assert_eq!(
            kind("[global]\n\nfoo 1\n"),
            (3, ConfigFileErrorKind::UnknownKey("foo".into()))
        );
        assert_eq!(
            kind("[global]\npriority1\n"),
            (2, ConfigFileErrorKind::MissingValue("priority1".into()))
        );
        assert!(matches!(
            kind("[global\n"),
            (1, ConfigFileErrorKind::BadSection(_))
        ));
        assert!(matches!(
            kind("[global]\nslaveOnly yes\n"),
            (2, ConfigFileErrorKind::BadValue { .. })
        ));
        assert!(matches!(
            kind("[global]\ndomainNumber -1\n"),
            (2, ConfigFileErrorKind::BadValue { .. })
        ));
        assert!(matches!(
            kind("[global]\nnetwork_transport L2\n"),
            (2, ConfigFileErrorKind::Unsupported { .. })
        ));
        assert!(matches!(
            kind("[global]\ndelay_mechanism E2F\n"),
            (2, ConfigFileErrorKind::BadValue { .. })
        ));
    }

    #[test]
    fn contradictions_are_refused_after_reading() {
        let (line, kind) = kind("[global]\nslaveOnly 1\nmasterOnly 1\n");
        assert_eq!(line, 0);
        assert_eq!(
            kind,
            ConfigFileErrorKind::Invalid(ConfigError::SlaveAndMasterOnly)
        );
        let (_, kind) = self::kind("[global]\nlogSyncInterval 9\n");
        assert!(matches!(kind, ConfigFileErrorKind::Invalid(_)));
    }

    #[test]
    fn ignored_keys_leave_a_note_and_the_config_alone() {
        let file = ConfigFile::parse(
            "[global]\nfree_running 1\nsummary_interval -3\n[veth0]\nlogSyncInterval 1\n",
            "s.cfg",
        )
        .unwrap();
        assert_eq!(file.notes.len(), 2);
        assert_eq!(file.notes[1].line, 3);
        assert_eq!(file.config.log_sync_interval, 1);
    }

    #[test]
    fn a_missing_file_is_an_error_at_line_zero() {
        let error = ConfigFile::read("/nonexistent/aptp.cfg").unwrap_err();
        assert_eq!(error.line, 0);
        assert!(matches!(error.kind, ConfigFileErrorKind::Read(_)));
    }
}
