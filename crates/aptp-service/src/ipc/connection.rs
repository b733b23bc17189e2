//! One client connection: greeting, handshake, requests in order, subscribed events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aptp::client::protocol::{
    ErrorCode, Event, Greeting, Outcome, Reply, Request, RequestLine, Response, ServerMessage,
    SessionId, MAX_LINE_BYTES, SUPPORTED_PROTOCOLS,
};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::handler::{handle, refuse, refuse_unknown};
use super::line::{Line, LineReader};
use crate::daemon::DaemonState;

/// Messages waiting to be written to one client; past this, requests wait and events are
/// dropped for it (and it is told how many with a `lagged` event).
pub const OUTBOX_MESSAGES: usize = 64;

/// A client that does not read a message within this time is disconnected.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one client until it disconnects (or stops reading).
pub async fn serve_connection(stream: UnixStream, state: Arc<DaemonState>) {
    let (read, write) = stream.into_split();
    let (outbox, inbox) = mpsc::channel(OUTBOX_MESSAGES);
    let writer = tokio::spawn(write_messages(write, inbox));
    let greeting = ServerMessage::Greeting(greeting());
    if outbox.send(greeting).await.is_err() {
        return;
    }
    let mut connection = Connection {
        state,
        outbox,
        handshake: false,
        subscription: None,
    };
    let mut lines = LineReader::new(BufReader::new(read), MAX_LINE_BYTES);
    loop {
        let response = match lines.next_line().await {
            Ok(Line::Complete(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Line::Complete(line)) => connection.request(&line),
            Ok(Line::TooLong) => Response {
                id: None,
                outcome: refuse(
                    &connection.state,
                    ErrorCode::LineTooLong,
                    format!("request line longer than {MAX_LINE_BYTES} bytes"),
                ),
            },
            Ok(Line::End) | Err(_) => break,
        };
        if connection
            .outbox
            .send(ServerMessage::Response(response))
            .await
            .is_err()
        {
            break;
        }
    }
    if let Some(subscription) = connection.subscription.take() {
        subscription.abort();
    }
    drop(connection);
    // The writer ends once every queued message is written (or the client stops reading).
    let _ = writer.await;
}

fn greeting() -> Greeting {
    Greeting {
        server: "aptp".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocols: SUPPORTED_PROTOCOLS.to_vec(),
    }
}

struct Connection {
    state: Arc<DaemonState>,
    outbox: mpsc::Sender<ServerMessage>,
    handshake: bool,
    subscription: Option<JoinHandle<()>>,
}

impl Connection {
    fn request(&mut self, line: &[u8]) -> Response {
        let parsed: RequestLine = match serde_json::from_slice(line) {
            Ok(parsed) => parsed,
            Err(error) => {
                // Answer with the id when the line has one, so the client can match it.
                let id = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|value| value.get("id").and_then(serde_json::Value::as_u64));
                return Response {
                    id,
                    outcome: refuse(
                        &self.state,
                        ErrorCode::Malformed,
                        format!("not a request: {error}"),
                    ),
                };
            }
        };
        let outcome = self.carry_out(parsed.request);
        Response {
            id: Some(parsed.id),
            outcome,
        }
    }

    fn carry_out(&mut self, request: Request) -> Outcome {
        match request {
            Request::Hello { protocol, .. } => {
                if SUPPORTED_PROTOCOLS.contains(&protocol) {
                    self.handshake = true;
                    Outcome::Ok(Reply::Hello {
                        protocol,
                        version: env!("CARGO_PKG_VERSION").into(),
                    })
                } else {
                    refuse(
                        &self.state,
                        ErrorCode::VersionMismatch,
                        format!(
                            "the client speaks protocol {protocol}; aptp {} speaks protocols {SUPPORTED_PROTOCOLS:?}",
                            env!("CARGO_PKG_VERSION")
                        ),
                    )
                }
            }
            _ if !self.handshake => refuse(
                &self.state,
                ErrorCode::HandshakeRequired,
                "send {\"op\":\"hello\",\"protocol\":N} first".into(),
            ),
            Request::Subscribe { session } => {
                if let Some(session) = session {
                    if let Some(refusal) = refuse_unknown(&self.state, session) {
                        return refusal;
                    }
                }
                if let Some(previous) = self.subscription.take() {
                    previous.abort();
                }
                self.subscription = Some(tokio::spawn(forward_events(
                    self.state.subscribe(),
                    self.outbox.clone(),
                    session,
                )));
                Outcome::Ok(Reply::Subscribed { session })
            }
            request => handle(&self.state, request, Instant::now()),
        }
    }
}

/// Forwards the events of `session` (or all) to the client; never waits on a slow client.
async fn forward_events(
    mut events: broadcast::Receiver<Event>,
    outbox: mpsc::Sender<ServerMessage>,
    session: Option<SessionId>,
) {
    let mut missed: u64 = 0;
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(count)) => {
                missed += count;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if session.is_some() && event.session() != session {
            continue;
        }
        if missed > 0 {
            match outbox.try_send(ServerMessage::Event(Event::Lagged { missed })) {
                Ok(()) => missed = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    missed += 1;
                    continue;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
        match outbox.try_send(ServerMessage::Event(event)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => missed += 1,
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

async fn write_messages(mut write: OwnedWriteHalf, mut inbox: mpsc::Receiver<ServerMessage>) {
    while let Some(message) = inbox.recv().await {
        let mut line = match serde_json::to_vec(&message) {
            Ok(line) => line,
            Err(error) => {
                tracing::error!(%error, "cannot encode a message for an IPC client");
                continue;
            }
        };
        line.push(b'\n');
        match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&line)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
}
