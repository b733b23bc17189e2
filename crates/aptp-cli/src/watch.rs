//! `aptp watch`: a line a second per session of the daemon.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aptp::client::{SessionRole, SessionStatus};
use serde_json::json;

use crate::status::{connect, render_session};

/// Watch the aptp daemon's sessions: a line a second for each.
///
/// Text lines are `aptp status`'s session lines; with --json each line is an object with
/// `session`, `name`, `role`, `peers`, `grandmaster`, `local_grandmaster`, `offset_ns`, `rate_ppb`,
/// `error_bound_ns`, `last_sync_age_ms`, `last_follow_up_age_ms`, `lease_remaining_ms`,
/// `age_ms` and `drops` (null where not measured yet).
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// One JSON object per line.
    #[arg(long)]
    json: bool,

    /// The daemon's socket (default: $APTP_SOCKET, $RUNTIME_DIRECTORY/aptp.sock or
    /// /run/aptp/aptp.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// Stop after this many rounds (default: until interrupted or the daemon stops).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

/// Asks for the status once a second and prints each session's line.
pub fn run(arguments: &WatchArgs) -> ExitCode {
    let mut client = match connect(arguments.socket.as_ref()) {
        Ok(client) => client,
        Err(reason) => {
            eprintln!("aptp watch: {reason}");
            return ExitCode::FAILURE;
        }
    };
    let mut next = Instant::now();
    let mut round = 0;
    while arguments.count.is_none_or(|count| round < count) {
        round += 1;
        let status = match client.status() {
            Ok(status) => status,
            Err(error) => {
                eprintln!("aptp watch: {error}");
                return ExitCode::FAILURE;
            }
        };
        let mut output = std::io::stdout().lock();
        for session in &status.sessions {
            let line = if arguments.json {
                json_line(session).to_string()
            } else {
                render_session(session)
            };
            if writeln!(output, "{line}").is_err() {
                // stdout closed (a pipe's reader left): nothing more to do.
                return ExitCode::SUCCESS;
            }
        }
        let _ = output.flush();
        next += Duration::from_secs(1);
        if arguments.count.is_none_or(|count| round < count) {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    ExitCode::SUCCESS
}

/// A session's JSON line.
pub fn json_line(session: &SessionStatus) -> serde_json::Value {
    let clock = &session.clock;
    json!({
        "session": session.info.id,
        "name": session.info.name,
        "role": match session.info.role {
            SessionRole::Follower => "follower",
            SessionRole::Grandmaster => "grandmaster",
        },
        "peers": session.info.peers,
        "grandmaster": clock.grandmaster,
        "local_grandmaster": clock.local_grandmaster,
        "holdover": clock.holdover,
        "offset_ns": clock.offset_ns,
        "rate_ppb": clock.rate_ppb,
        "error_bound_ns": clock.error_bound_ns,
        "last_sync_age_ms": clock.last_sync_age_ms,
        "last_follow_up_age_ms": clock.last_follow_up_age_ms,
        "lease_remaining_ms": session.lease_remaining_ms,
        "age_ms": session.age_ms,
        "drops": clock.drops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp::client::{SessionClock, SessionInfo};

    #[test]
    fn json_line_keys() {
        let session = SessionStatus {
            info: SessionInfo {
                id: 3,
                role: SessionRole::Grandmaster,
                name: "office".into(),
                peers: vec!["2001:db8::5".parse().unwrap()],
                lease_ms: 10_000,
                shm_name: None,
            },
            age_ms: 1_500,
            lease_remaining_ms: 8_500,
            clock: SessionClock {
                offset_ns: Some(-12),
                ..SessionClock::default()
            },
        };
        let line = json_line(&session);
        assert_eq!(line["session"], 3);
        assert_eq!(line["role"], "grandmaster");
        assert_eq!(line["peers"][0], "2001:db8::5");
        assert_eq!(line["offset_ns"], -12);
        assert!(line["rate_ppb"].is_null());
        assert!(line["local_grandmaster"].is_null());
        assert_eq!(line["holdover"], false);
        assert_eq!(line["lease_remaining_ms"], 8_500);
    }
}
