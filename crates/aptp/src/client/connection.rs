//! A blocking connection to the daemon: handshake, one request at a time, events in between.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use super::protocol::{
    ErrorCode, ErrorReply, Event, Greeting, MappingReply, Outcome, Reply, Request, RequestLine,
    ServerMessage, SessionId, SessionInfo, MAX_SERVER_LINE_BYTES, PROTOCOL_VERSION,
    SUPPORTED_PROTOCOLS,
};
use super::status::DaemonStatus;
use super::OpenSession;

/// Why a client call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The socket could not be reached (daemon not running, no permission).
    #[error("cannot connect to the aptp daemon at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("aptp daemon connection: {0}")]
    Io(#[from] io::Error),
    /// The daemon closed the connection.
    #[error("the aptp daemon closed the connection")]
    Closed,
    /// The daemon sent a line that is not a message of this protocol.
    #[error("the aptp daemon sent a line this client cannot read: {0}")]
    BadMessage(String),
    /// The daemon speaks none of this client's protocol versions.
    #[error(
        "protocol version mismatch: this client speaks {client:?}, the aptp {server_version} daemon speaks {server:?}"
    )]
    VersionMismatch {
        /// The versions this client speaks.
        client: Vec<u32>,
        /// The daemon's version.
        server_version: String,
        /// The versions the daemon speaks.
        server: Vec<u32>,
    },
    /// The daemon refused the request.
    #[error("the aptp daemon refused the request ({code:?}): {message}")]
    Refused {
        /// The kind of refusal.
        code: ErrorCode,
        /// The daemon's explanation.
        message: String,
    },
    /// The daemon answered with a reply of another kind than the request's.
    #[error("the aptp daemon answered {0} with an unexpected reply")]
    UnexpectedReply(&'static str),
}

impl From<ErrorReply> for ClientError {
    fn from(reply: ErrorReply) -> ClientError {
        ClientError::Refused {
            code: reply.code,
            message: reply.message,
        }
    }
}

/// One connection to the daemon. Requests are answered in order; events of subscriptions
/// that arrive meanwhile are kept for [`Client::next_event`].
///
/// See the [module documentation](super) for an example.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    greeting: Greeting,
    next_id: u64,
    partial: Vec<u8>,
    events: VecDeque<Event>,
}

impl Client {
    /// Connects to the daemon at `path` and performs the handshake (protocol
    /// [`PROTOCOL_VERSION`]).
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_with_protocol(path, PROTOCOL_VERSION)
    }

    /// Connects and offers protocol `protocol` in the handshake. Useful for testing a daemon's
    /// version checks; applications call [`Client::connect`].
    pub fn connect_with_protocol(
        path: impl AsRef<Path>,
        protocol: u32,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let mut client = Client {
            stream,
            greeting: Greeting {
                server: String::new(),
                version: String::new(),
                protocols: Vec::new(),
            },
            next_id: 1,
            partial: Vec::new(),
            events: VecDeque::new(),
        };
        client.greeting = match client.read_message()? {
            ServerMessage::Greeting(greeting) => greeting,
            _ => return Err(ClientError::BadMessage("expected a greeting first".into())),
        };
        let hello = Request::Hello {
            protocol,
            client: Some(format!("aptp-client {}", env!("CARGO_PKG_VERSION"))),
        };
        match client.call(hello) {
            Ok(Reply::Hello { .. }) => Ok(client),
            Ok(_) => Err(ClientError::UnexpectedReply("hello")),
            Err(ClientError::Refused {
                code: ErrorCode::VersionMismatch,
                ..
            }) => Err(ClientError::VersionMismatch {
                client: if protocol == PROTOCOL_VERSION {
                    SUPPORTED_PROTOCOLS.to_vec()
                } else {
                    vec![protocol]
                },
                server_version: client.greeting.version.clone(),
                server: client.greeting.protocols.clone(),
            }),
            Err(error) => Err(error),
        }
    }

    /// What the daemon said on connecting: its version and protocol versions.
    pub fn greeting(&self) -> &Greeting {
        &self.greeting
    }

    /// Opens a session.
    pub fn open(&mut self, options: &OpenSession) -> Result<SessionInfo, ClientError> {
        match self.call(Request::Open {
            role: options.role,
            peers: options.peers.clone(),
            name: options.name.clone(),
            lease_ms: options.lease_ms,
        })? {
            Reply::Opened(info) => Ok(info),
            _ => Err(ClientError::UnexpectedReply("open")),
        }
    }

    /// Replaces a session's timing peers; returns them as the daemon holds them.
    pub fn set_peers(
        &mut self,
        session: SessionId,
        peers: &[IpAddr],
    ) -> Result<Vec<IpAddr>, ClientError> {
        match self.call(Request::SetPeers {
            session,
            peers: peers.to_vec(),
        })? {
            Reply::Peers { peers, .. } => Ok(peers),
            _ => Err(ClientError::UnexpectedReply("set_peers")),
        }
    }

    /// Reads a session's clock mapping (and the name of its shared-memory record).
    pub fn mapping(&mut self, session: SessionId) -> Result<MappingReply, ClientError> {
        match self.call(Request::Mapping { session })? {
            Reply::Mapping(mapping) => Ok(mapping),
            _ => Err(ClientError::UnexpectedReply("mapping")),
        }
    }

    /// Subscribes this connection to the events of `session`, or of every session when None.
    /// Read them with [`Client::next_event`].
    pub fn subscribe(&mut self, session: Option<SessionId>) -> Result<(), ClientError> {
        match self.call(Request::Subscribe { session })? {
            Reply::Subscribed { .. } => Ok(()),
            _ => Err(ClientError::UnexpectedReply("subscribe")),
        }
    }

    /// Renews a session's lease; returns the lease from now, in milliseconds.
    pub fn renew(&mut self, session: SessionId) -> Result<u64, ClientError> {
        match self.call(Request::Renew { session })? {
            Reply::Renewed { lease_ms, .. } => Ok(lease_ms),
            _ => Err(ClientError::UnexpectedReply("renew")),
        }
    }

    /// Closes a session.
    pub fn close(&mut self, session: SessionId) -> Result<(), ClientError> {
        match self.call(Request::Close { session })? {
            Reply::Closed { .. } => Ok(()),
            _ => Err(ClientError::UnexpectedReply("close")),
        }
    }

    /// The daemon's status.
    pub fn status(&mut self) -> Result<DaemonStatus, ClientError> {
        match self.call(Request::Status)? {
            Reply::Status(status) => Ok(status),
            _ => Err(ClientError::UnexpectedReply("status")),
        }
    }

    /// Sends any request and waits for its reply; a refusal is [`ClientError::Refused`].
    pub fn call(&mut self, request: Request) -> Result<Reply, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&RequestLine { id, request })
            .map_err(|error| ClientError::BadMessage(error.to_string()))?;
        line.push(b'\n');
        self.stream.set_read_timeout(None)?;
        self.stream.write_all(&line)?;
        loop {
            match self.read_message()? {
                ServerMessage::Response(response) if response.id == Some(id) => {
                    return match response.outcome {
                        Outcome::Ok(reply) => Ok(reply),
                        Outcome::Error(error) => Err(error.into()),
                    };
                }
                ServerMessage::Response(response) => match response.outcome {
                    // A response without our id: the daemon could not read the request at all.
                    Outcome::Error(error) if response.id.is_none() => return Err(error.into()),
                    _ => {
                        return Err(ClientError::BadMessage(format!(
                            "response to request {:?} while waiting for {id}",
                            response.id
                        )))
                    }
                },
                ServerMessage::Event(event) => self.events.push_back(event),
                ServerMessage::Greeting(_) => {
                    return Err(ClientError::BadMessage("a second greeting".into()))
                }
            }
        }
    }

    /// The next event of this connection's subscriptions, waiting at most `timeout` (None:
    /// forever). `Ok(None)` means the time ran out.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, ClientError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Some(event));
        }
        // A zero timeout means "block" to the socket; ask for the smallest real wait instead.
        let timeout = timeout.map(|timeout| timeout.max(Duration::from_millis(1)));
        self.stream.set_read_timeout(timeout)?;
        let message = match self.read_message() {
            Ok(message) => message,
            Err(ClientError::Io(error))
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(error) => return Err(error),
        };
        match message {
            ServerMessage::Event(event) => Ok(Some(event)),
            _ => Err(ClientError::BadMessage(
                "a response or greeting while no request was pending".into(),
            )),
        }
    }

    /// Reads one line (at most [`MAX_SERVER_LINE_BYTES`]) and parses it. Bytes read before a timeout
    /// are kept for the next call, so a timeout never loses part of a message.
    fn read_message(&mut self) -> Result<ServerMessage, ClientError> {
        loop {
            if let Some(end) = self.partial.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=end).collect();
                return serde_json::from_slice(&line[..end])
                    .map_err(|error| ClientError::BadMessage(error.to_string()));
            }
            if self.partial.len() >= MAX_SERVER_LINE_BYTES {
                return Err(ClientError::BadMessage(format!(
                    "a line longer than {MAX_SERVER_LINE_BYTES} bytes"
                )));
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = match self.stream.read(&mut chunk) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if read == 0 {
                return Err(ClientError::Closed);
            }
            self.partial.extend_from_slice(&chunk[..read]);
        }
    }
}
