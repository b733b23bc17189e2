//! `aptp nqptp`: the drop-in for nqptp (Shairport Sync's PTP companion), with status lines.

use crate::airplay_common::master_column;
use crate::runtime::{self, Termination, Threads};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use aptp_service::nqptp::{NqptpDaemon, NqptpOptions, NqptpStatus, REJECTION_KINDS};
use serde_json::{json, Value};

/// Run in place of nqptp: follow the AirPlay sender the player names, publish its clock.
///
/// With no options it behaves as nqptp: control datagrams on 127.0.0.1:9000 (`<name> T <ip>...`,
/// `T`, `B`, `E`, `P`), the clock record in shared memory `/nqptp`, PTP on ports 319/320
/// (root or CAP_NET_BIND_SERVICE). Offsets come from the kernel receive timestamp of each Sync
/// on CLOCK_MONOTONIC_RAW; PTP is accepted from a listed peer whatever its source port. Prints a
/// status line a second (a JSON object with --json). SIGINT/SIGTERM stop it and remove the
/// shared memory.
#[derive(Debug, clap::Args)]
pub struct NqptpArgs {
    /// Where the player's control datagrams arrive.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9000")]
    control: SocketAddr,

    /// The shared-memory object to publish.
    #[arg(long, value_name = "NAME", default_value = "/nqptp")]
    shm_name: String,

    /// The PTP event port.
    #[arg(long, value_name = "N", default_value_t = 319)]
    event_port: u16,

    /// The PTP general port.
    #[arg(long, value_name = "N", default_value_t = 320)]
    general_port: u16,

    /// One JSON object per line (state, offset_ns, rate_ppb, path_delay_ns, master,
    /// local_clock, and the record, peers and counters).
    #[arg(long)]
    json: bool,
}

/// Starts the drop-in and prints a status line a second until SIGINT or SIGTERM.
pub fn run(arguments: &NqptpArgs) -> ExitCode {
    let options = NqptpOptions {
        control: arguments.control,
        shm_name: arguments.shm_name.clone(),
        event_port: arguments.event_port,
        general_port: arguments.general_port,
        ..NqptpOptions::default()
    };
    runtime::block_on("aptp nqptp", Threads::Two, serve(options, arguments.json))
        .unwrap_or_else(|code| code)
}

async fn serve(options: NqptpOptions, json_lines: bool) -> ExitCode {
    let mut termination = match Termination::install() {
        Ok(termination) => termination,
        Err(error) => {
            eprintln!("aptp nqptp: cannot handle signals: {error}");
            return ExitCode::FAILURE;
        }
    };
    let daemon = match NqptpDaemon::start(options) {
        Ok(daemon) => daemon,
        Err(error) => {
            eprintln!("aptp nqptp: {error}");
            return ExitCode::FAILURE;
        }
    };
    let status = daemon.watch_status();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut printing = true;
    loop {
        tokio::select! {
            () = termination.recv() => break,
            _ = ticker.tick() => {
                if status.has_changed().is_err() {
                    // The timing task ended: shutdown() says why.
                    break;
                }
                if printing {
                    let line = if json_lines {
                        json_line(&status.borrow()).to_string()
                    } else {
                        text_line(&status.borrow())
                    };
                    let mut stdout = io::stdout().lock();
                    // A closed stdout stops the lines, never the daemon.
                    printing = writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_ok();
                }
            }
        }
    }
    match daemon.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aptp nqptp: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The JSON line: cli.md's keys first, then the drop-in's own.
fn json_line(status: &NqptpStatus) -> Value {
    let record = &status.record;
    let rejected: serde_json::Map<String, Value> = REJECTION_KINDS
        .iter()
        .zip(status.control.rejected)
        .map(|(kind, count)| ((*kind).to_owned(), json!(count)))
        .collect();
    json!({
        "state": status.state.name_lower(),
        "offset_ns": status.offset_ns,
        "rate_ppb": status.rate_ppb.map(|rate| (rate * 1000.0).round() / 1000.0),
        "path_delay_ns": status.path_delay_ns,
        "master": status.grandmaster.map(|gm| gm.dotted().to_string()),
        "held_master": status.held_grandmaster.map(|gm| gm.dotted().to_string()),
        "local_clock": "monotonic",
        "local_clock_id": "CLOCK_MONOTONIC_RAW",
        "master_address": status.grandmaster_address.map(|address| address.to_string()),
        "error_bound_ns": status.error_bound_ns.map(f64::round),
        "two_way": status.two_way,
        "stalled": status.stalled,
        "timing_peers": status.timing_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "playing": status.playing,
        "publishing": record.is_valid(),
        "record": {
            "master_clock_id": record.master_clock_id,
            "local_time": record.local_time,
            "local_to_master_time_offset": record.local_to_master_time_offset,
            "master_clock_start_time": record.master_clock_start_time,
        },
        "publications": status.publications,
        "relocks": status.relocks,
        "control": {
            "received": status.control.received,
            "accepted": status.control.accepted,
            "other_name": status.control.other_name,
            "rejected": rejected,
        },
        "measurements": status.receiver.measurements,
        "not_a_peer": status.receiver.not_a_peer,
        "events_lost": status.receiver.events_lost,
        "monotonic_raw_ns": status.updated_at_ns,
    })
}

/// The human line, in the shape of `aptp slave`'s, then the drop-in's own state.
fn text_line(status: &NqptpStatus) -> String {
    let dash = || "-".to_owned();
    let yes_no = |flag: bool| if flag { "yes" } else { "no" };
    format!(
        "{:<12} offset {:>9} ns  rate {:>10} ppb  path delay {:>8} ns  master {}  (monotonic)  \
         peers {}  playing {}  publishing {}  control {} ok {} bad",
        status.state.name_upper(),
        status.offset_ns.map_or_else(dash, |ns| ns.to_string()),
        status
            .rate_ppb
            .map_or_else(dash, |ppb| format!("{ppb:+.1}")),
        status.path_delay_ns.map_or_else(dash, |ns| ns.to_string()),
        master_column(
            status
                .grandmaster
                .map(|id| id.dotted().to_string())
                .as_deref(),
            status
                .held_grandmaster
                .map(|id| id.dotted().to_string())
                .as_deref()
        ),
        status.timing_peers.len(),
        yes_no(status.playing),
        yes_no(status.record.is_valid()),
        status.control.accepted,
        status.control.rejected_total(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_wire::ClockIdentity;

    #[test]
    fn json_line_has_the_contract_keys() {
        let line = json_line(&NqptpStatus::default());
        for key in [
            "state",
            "offset_ns",
            "rate_ppb",
            "path_delay_ns",
            "master",
            "local_clock",
        ] {
            assert!(line.get(key).is_some(), "missing {key}: {line}");
        }
        assert_eq!(line["state"], "listening");
        assert_eq!(line["local_clock"], "monotonic");
        assert!(line["offset_ns"].is_null());
        assert_eq!(line["publishing"], false);
        let text = text_line(&NqptpStatus::default());
        assert!(
            text.starts_with("LISTENING    offset         - ns"),
            "{text}"
        );
        assert!(text.contains("master -  (monotonic)"), "{text}");
        let held = NqptpStatus {
            held_grandmaster: Some(ClockIdentity([0x0d, 0, 0, 0xff, 0xfe, 0, 0, 0x0e])),
            ..NqptpStatus::default()
        };
        assert_eq!(json_line(&held)["held_master"], "0d0000.fffe.00000e");
        assert!(json_line(&held)["master"].is_null());
        let text = text_line(&held);
        assert!(
            text.contains("master 0d0000.fffe.00000e (held)  (monotonic)"),
            "{text}"
        );
    }
}
