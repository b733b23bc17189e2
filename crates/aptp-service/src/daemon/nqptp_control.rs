//! nqptp's control protocol, served by the daemon: datagrams `<name> <command> [args]` on
//! 127.0.0.1:9000, where the first token (the shared-memory name Shairport Sync is configured
//! with) selects the session. A name not seen before makes a pinned follower session of that
//! name (no lease: Shairport Sync renews nothing), whose record is published at `/<name>` and
//! stays all zeros until `B`, as nqptp's does. Several unchanged Shairport Sync instances, each
//! with its own name, so play independently: one's `T` (clear) or exit never touches another.

use std::sync::Arc;
use std::time::Instant;

use aptp::client::protocol::{SessionId, SessionRole};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::DaemonState;
use crate::nqptp::{ControlCommand, ControlRequest, MAX_CONTROL_LENGTH};
use crate::sessions::OpenRequest;

/// A play-state command for one session's receiver role (peers travel through the registry).
pub(super) type PlayCommand = (SessionId, ControlCommand);

/// Serves the control socket until the task is aborted.
pub(super) async fn serve(
    socket: UdpSocket,
    state: Arc<DaemonState>,
    play: mpsc::Sender<PlayCommand>,
) {
    let mut buffer = vec![0u8; MAX_CONTROL_LENGTH + 1];
    loop {
        let length = match socket.recv_from(&mut buffer).await {
            Ok((length, _)) => length,
            Err(error) => {
                tracing::warn!(%error, "nqptp control receive failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        match ControlRequest::parse(&buffer[..length]) {
            Ok(request) => apply(&state, &play, request),
            Err(error) => {
                state.count_refused();
                tracing::debug!(%error, "nqptp control datagram refused");
            }
        }
    }
}

/// Carries out one control request.
fn apply(state: &DaemonState, play: &mpsc::Sender<PlayCommand>, request: ControlRequest) {
    let name = request
        .name
        .strip_prefix('/')
        .unwrap_or(&request.name)
        .to_owned();
    let existing = state
        .registry()
        .find_by_name(&name)
        .map(|session| session.info().id);
    let id = match existing {
        Some(id) => id,
        None => {
            let opened = state.registry().open_pinned(
                OpenRequest {
                    role: SessionRole::Follower,
                    peers: Vec::new(),
                    name: Some(name.clone()),
                    lease_ms: None,
                },
                Instant::now(),
            );
            match opened {
                Ok((info, events)) => {
                    state.publish(events);
                    // Not playing until `B`, as nqptp.
                    let _ = play.try_send((info.id, ControlCommand::End));
                    info.id
                }
                Err(error) => {
                    state.count_refused();
                    tracing::warn!(%error, %name, "nqptp control: cannot make a session");
                    return;
                }
            }
        }
    };
    match request.command {
        ControlCommand::SetTimingPeers(peers) => set_peers(state, id, peers),
        ControlCommand::ClearTimingPeers => set_peers(state, id, Vec::new()),
        command => {
            if play.try_send((id, command)).is_err() {
                tracing::warn!(
                    session = id,
                    "nqptp control: the PTP task is not keeping up"
                );
            }
        }
    }
}

fn set_peers(state: &DaemonState, id: SessionId, peers: Vec<std::net::IpAddr>) {
    let changed = state.registry().set_peers(id, peers);
    match changed {
        Ok(event) => state.publish([event]),
        Err(error) => {
            state.count_refused();
            tracing::warn!(%error, session = id, "nqptp control: peers refused");
        }
    }
}
