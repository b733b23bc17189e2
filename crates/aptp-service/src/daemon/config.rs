//! The daemon's settings, from the command line and a configuration file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::sessions::{RecordPolicy, RegistryLimits};

/// The daemon's settings.
///
/// ```
/// use aptp_service::daemon::DaemonConfig;
/// let config = DaemonConfig::parse("# a comment\nsocket /tmp/aptp.sock\nmax_sessions 16\ninterface eth0\n", "example").unwrap();
/// assert_eq!(config.socket_path, std::path::PathBuf::from("/tmp/aptp.sock"));
/// assert_eq!(config.limits.max_sessions, 16);
/// assert_eq!(config.interfaces, vec!["eth0".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Where clients connect.
    pub socket_path: PathBuf,
    /// The socket's permissions.
    pub socket_mode: u32,
    /// The interfaces to own the PTP ports on (empty: all).
    pub interfaces: Vec<String>,
    /// Session capacity and lease bounds.
    pub limits: RegistryLimits,
    /// Whether sessions publish shared-memory records.
    pub records: RecordPolicy,
    /// The PTP ports the daemon owns for its sessions; None: no PTP (sessions are registered
    /// and leased, but nothing measures their clocks).
    pub ptp: Option<PtpPorts>,
    /// Where nqptp's control protocol is served (127.0.0.1:9000); None: not served.
    pub nqptp_control: Option<SocketAddr>,
}

/// Where the daemon's PTP socket binds.
///
/// ```
/// use aptp_service::daemon::PtpPorts;
/// let ports = PtpPorts::default();
/// assert_eq!((ports.event_port, ports.general_port), (319, 320));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtpPorts {
    /// The local address (default: every IPv4 address, and then every IPv6 address too; any
    /// other address: that address alone).
    pub bind_address: IpAddr,
    /// The event port (319; 0 lets the kernel choose).
    pub event_port: u16,
    /// The general port (320; 0 lets the kernel choose).
    pub general_port: u16,
}

impl Default for PtpPorts {
    fn default() -> PtpPorts {
        PtpPorts {
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            event_port: 319,
            general_port: 320,
        }
    }
}

impl Default for DaemonConfig {
    fn default() -> DaemonConfig {
        DaemonConfig {
            socket_path: aptp::client::default_socket_path(),
            socket_mode: 0o666,
            interfaces: Vec::new(),
            limits: RegistryLimits::default(),
            records: RecordPolicy::Nqptp,
            ptp: Some(PtpPorts::default()),
            nqptp_control: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 9000))),
        }
    }
}

/// A configuration file the daemon cannot use.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{file}:{line}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl DaemonConfig {
    /// Reads a configuration file over the defaults.
    pub fn read(path: &Path) -> Result<DaemonConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: path.display().to_string(),
            line: 0,
            reason: error.to_string(),
        })?;
        DaemonConfig::parse(&text, &path.display().to_string())
    }

    /// Parses `key value` lines (`#` starts a comment) over the defaults. Keys: `socket`,
    /// `socket_mode` (octal), `interface` (repeatable), `max_sessions`, `default_lease_ms`,
    /// `min_lease_ms`, `max_lease_ms`, `records` (`nqptp` or `none`), `ptp` (`on` or `off`),
    /// `ptp_address`, `event_port`, `general_port`, `nqptp_control` (`ADDR:PORT` or `off`).
    pub fn parse(text: &str, file: &str) -> Result<DaemonConfig, ConfigError> {
        let mut config = DaemonConfig::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let error = |reason: String| ConfigError {
                file: file.to_owned(),
                line: index + 1,
                reason,
            };
            let (key, value) = line
                .split_once(char::is_whitespace)
                .map(|(key, value)| (key, value.trim()))
                .ok_or_else(|| error(format!("`{line}` has no value")))?;
            let number = |value: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| error(format!("{key}: `{value}` is not a whole number")))
            };
            match key {
                "socket" => config.socket_path = PathBuf::from(value),
                "socket_mode" => {
                    config.socket_mode = u32::from_str_radix(value, 8)
                        .map_err(|_| error(format!("socket_mode: `{value}` is not octal")))?
                }
                "interface" => config.interfaces.push(value.to_owned()),
                "max_sessions" => {
                    config.limits.max_sessions = usize::try_from(number(value)?)
                        .map_err(|_| error(format!("max_sessions: {value} is too large")))?
                }
                "default_lease_ms" => config.limits.default_lease_ms = number(value)?,
                "min_lease_ms" => config.limits.min_lease_ms = number(value)?,
                "max_lease_ms" => config.limits.max_lease_ms = number(value)?,
                "records" => {
                    config.records = match value {
                        "nqptp" => RecordPolicy::Nqptp,
                        "none" => RecordPolicy::None,
                        _ => return Err(error(format!("records: `{value}` is not nqptp or none"))),
                    }
                }
                "nqptp_control" => {
                    config.nqptp_control = match value {
                        "off" => None,
                        _ => Some(value.parse().map_err(|_| {
                            error(format!("nqptp_control: `{value}` is not ADDR:PORT or off"))
                        })?),
                    }
                }
                "ptp" => {
                    config.ptp = match value {
                        "on" => Some(config.ptp.unwrap_or_default()),
                        "off" => None,
                        _ => return Err(error(format!("ptp: `{value}` is not on or off"))),
                    }
                }
                "ptp_address" | "event_port" | "general_port" => {
                    let ports = config.ptp.get_or_insert_with(PtpPorts::default);
                    let port = |value: &str| {
                        value
                            .parse::<u16>()
                            .map_err(|_| error(format!("{key}: `{value}` is not a port number")))
                    };
                    match key {
                        "ptp_address" => {
                            ports.bind_address = value.parse().map_err(|_| {
                                error(format!("ptp_address: `{value}` is not an IP address"))
                            })?
                        }
                        "event_port" => ports.event_port = port(value)?,
                        _ => ports.general_port = port(value)?,
                    }
                }
                _ => return Err(error(format!("unknown key `{key}`"))),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let error = DaemonConfig::parse("\nmax_sessions many\n", "f").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.reason.contains("whole number"), "{error}");
        assert!(DaemonConfig::parse("bogus 1", "f")
            .unwrap_err()
            .reason
            .contains("unknown key"));
        assert!(DaemonConfig::parse("records maybe", "f").is_err());
        assert_eq!(
            DaemonConfig::parse("socket_mode 660\nrecords none", "f")
                .unwrap()
                .socket_mode,
            0o660
        );
    }
}
