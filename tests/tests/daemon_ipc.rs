//! The daemon's native interface end to end: every request, malformed requests, a version
//! mismatch, events, and a client killed mid-session.

mod daemon_support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use aptp::client::protocol::{ErrorCode, Event};
use aptp::client::{Client, ClientError, CloseReason, OpenSession, SessionRole};
use daemon_support::TestDaemon;
use serde_json::{json, Value};

fn follower(name: &str) -> OpenSession {
    OpenSession {
        role: SessionRole::Follower,
        peers: vec!["192.0.2.10".parse().unwrap()],
        name: Some(name.into()),
        lease_ms: Some(5_000),
    }
}

#[test]
fn every_request() {
    let daemon = TestDaemon::default_limits();
    let mut client = Client::connect(&daemon.socket).unwrap();
    assert_eq!(client.greeting().server, "aptp");
    assert_eq!(client.greeting().protocols, vec![1]);

    let mut watcher = Client::connect(&daemon.socket).unwrap();
    watcher.subscribe(None).unwrap();

    let session = client.open(&follower("kitchen")).unwrap();
    assert_eq!(session.name, "kitchen");
    assert_eq!(session.role, SessionRole::Follower);
    assert_eq!(session.lease_ms, 5_000);
    let sender = client
        .open(&OpenSession {
            peers: vec!["2001:db8::2".parse().unwrap()],
            ..OpenSession::new(SessionRole::Grandmaster)
        })
        .unwrap();
    assert_eq!(sender.role, SessionRole::Grandmaster);
    assert!(sender.name.starts_with("aptp-"), "{}", sender.name);

    let peers: Vec<std::net::IpAddr> = vec![
        "192.0.2.11".parse().unwrap(),
        "2001:db8::3".parse().unwrap(),
    ];
    assert_eq!(client.set_peers(session.id, &peers).unwrap(), peers);

    let mapping = client.mapping(session.id).unwrap();
    assert_eq!(mapping.session, session.id);
    // Nothing measured: every measured field is null, not a made-up number.
    assert_eq!(mapping.clock.offset_ns, None);
    assert_eq!(mapping.clock.grandmaster, None);

    assert_eq!(client.renew(session.id).unwrap(), 5_000);

    let status = client.status().unwrap();
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.sessions.len(), 2);
    assert_eq!(status.sessions[0].info.peers, peers);
    assert_eq!(status.sessions[1].info.id, sender.id);
    assert_eq!(status.socket, daemon.socket.display().to_string());

    client.close(session.id).unwrap();
    client.close(sender.id).unwrap();
    assert!(matches!(
        client.close(sender.id),
        Err(ClientError::Refused {
            code: ErrorCode::UnknownSession,
            ..
        })
    ));
    assert!(daemon.state.registry().is_empty());

    // The watcher saw it all, in order.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        match watcher.next_event(Some(Duration::from_secs(5))).unwrap() {
            Some(event) => seen.push(event),
            None => panic!("events missing; saw {seen:?}"),
        }
    }
    assert!(matches!(&seen[0], Event::Opened(info) if info.id == session.id));
    assert!(matches!(&seen[1], Event::Opened(info) if info.id == sender.id));
    assert_eq!(
        seen[2],
        Event::PeersChanged {
            session: session.id,
            peers
        }
    );
    assert_eq!(
        seen[3],
        Event::Closed {
            session: session.id,
            reason: CloseReason::Closed
        }
    );
    assert_eq!(
        seen[4],
        Event::Closed {
            session: sender.id,
            reason: CloseReason::Closed
        }
    );
}

#[test]
fn a_subscription_to_one_session_sees_only_it() {
    let daemon = TestDaemon::default_limits();
    let mut client = Client::connect(&daemon.socket).unwrap();
    let mine = client.open(&follower("mine")).unwrap();
    let other = client.open(&follower("other")).unwrap();
    let mut watcher = Client::connect(&daemon.socket).unwrap();
    watcher.subscribe(Some(mine.id)).unwrap();
    client.set_peers(other.id, &[]).unwrap();
    client.set_peers(mine.id, &[]).unwrap();
    let event = watcher.next_event(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        event,
        Some(Event::PeersChanged {
            session: mine.id,
            peers: vec![]
        })
    );
    assert!(matches!(
        watcher.subscribe(Some(9_999)),
        Err(ClientError::Refused {
            code: ErrorCode::UnknownSession,
            ..
        })
    ));
}

/// A raw connection: lines in, lines out.
struct Raw {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Raw {
    fn connect(daemon: &TestDaemon) -> Raw {
        let stream = UnixStream::connect(&daemon.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw = Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        assert!(raw.read().get("greeting").is_some());
        raw
    }

    fn send(&mut self, bytes: &[u8]) -> Value {
        self.writer.write_all(bytes).unwrap();
        self.read()
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}: {line:?}"))
    }
}

fn error_code(response: &Value) -> &str {
    response["response"]["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {response}"))
}

#[test]
fn malformed_requests_get_clear_errors_and_harm_nobody() {
    let daemon = TestDaemon::default_limits();
    let mut bystander = Client::connect(&daemon.socket).unwrap();
    let kept = bystander.open(&follower("bystander")).unwrap();

    let mut raw = Raw::connect(&daemon);
    // Before the handshake nothing else is served.
    let early = raw.send(b"{\"id\":1,\"op\":\"status\"}\n");
    assert_eq!(error_code(&early), "handshake_required");
    assert_eq!(early["response"]["id"], 1);
    let hello = raw.send(b"{\"id\":2,\"op\":\"hello\",\"protocol\":1}\n");
    assert_eq!(hello["response"]["ok"]["reply"], "hello");

    let cases: &[(&[u8], &str, Value)] = &[
        (b"this is not json\n", "malformed", Value::Null),
        (b"{\"id\":3,\"op\":\"teleport\"}\n", "malformed", json!(3)),
        (b"{\"id\":4,\"op\":\"open\"}\n", "malformed", json!(4)),
        (
            b"{\"id\":5,\"op\":\"open\",\"role\":\"follower\",\"peers\":[\"not-an-ip\"]}\n",
            "malformed",
            json!(5),
        ),
        (
            b"{\"id\":6,\"op\":\"renew\",\"session\":-1}\n",
            "malformed",
            json!(6),
        ),
        (b"[1,2,3]\n", "malformed", Value::Null),
        (b"\xff\xfe\x00garbage\n", "malformed", Value::Null),
        (
            b"{\"id\":7,\"op\":\"close\",\"session\":424242}\n",
            "unknown_session",
            json!(7),
        ),
        (
            b"{\"id\":8,\"op\":\"open\",\"role\":\"follower\",\"name\":\"a/b\"}\n",
            "invalid_name",
            json!(8),
        ),
        (
            b"{\"id\":9,\"op\":\"open\",\"role\":\"follower\",\"name\":\"bystander\"}\n",
            "name_in_use",
            json!(9),
        ),
        (
            b"{\"id\":10,\"op\":\"open\",\"role\":\"follower\",\"lease_ms\":1}\n",
            "invalid_lease",
            json!(10),
        ),
    ];
    for (line, code, id) in cases {
        let response = raw.send(line);
        assert_eq!(
            error_code(&response),
            *code,
            "{}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(response["response"]["id"], *id, "{response}");
        assert!(!response["response"]["error"]["message"]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let many_peers: Vec<String> = (0..65).map(|host| format!("192.0.2.{host}")).collect();
    let too_many = raw.send(
        format!(
            "{}\n",
            json!({"id": 11, "op": "open", "role": "follower", "peers": many_peers})
        )
        .as_bytes(),
    );
    assert_eq!(error_code(&too_many), "too_many_peers");

    // A line past the limit is refused and skipped; the connection goes on.
    let mut huge = vec![b'x'; aptp::client::protocol::MAX_LINE_BYTES + 10];
    huge.push(b'\n');
    assert_eq!(error_code(&raw.send(&huge)), "line_too_long");
    let status = raw.send(b"{\"id\":12,\"op\":\"status\"}\n");
    assert_eq!(status["response"]["ok"]["reply"], "status");
    assert!(
        status["response"]["ok"]["requests_refused"]
            .as_u64()
            .unwrap()
            >= 14
    );

    // The other client and its session are untouched.
    assert_eq!(bystander.renew(kept.id).unwrap(), 5_000);
    assert_eq!(bystander.status().unwrap().sessions.len(), 1);
}

#[test]
fn version_mismatch_names_both_versions() {
    let daemon = TestDaemon::default_limits();
    match Client::connect_with_protocol(&daemon.socket, 99) {
        Err(error @ ClientError::VersionMismatch { .. }) => {
            let text = error.to_string();
            assert!(text.contains("[99]") && text.contains("[1]"), "{text}");
            assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
        }
        other => panic!("expected a version mismatch, got {other:?}"),
    }
    // The daemon's own message names both too.
    let mut raw = Raw::connect(&daemon);
    let refused = raw.send(b"{\"id\":1,\"op\":\"hello\",\"protocol\":2}\n");
    assert_eq!(error_code(&refused), "version_mismatch");
    let message = refused["response"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("protocol 2") && message.contains("[1]"),
        "{message}"
    );
}

/// The killed client's lease: short, but long enough that the session is surely still there
/// when the parent, woken by the child's line on a loaded machine, looks it up.
const LEASE_MS: u64 = 2_000;

/// Run as a child process by `a_killed_client_frees_its_session`: opens a session with a short
/// lease, says its id, then waits to be killed.
#[test]
fn child_opens_a_session_and_hangs() {
    let Ok(socket) = std::env::var("APTP_TEST_CHILD_SOCKET") else {
        return; // Only meaningful as the child of the test below.
    };
    let mut client = Client::connect(socket).unwrap();
    let session = client
        .open(&OpenSession {
            lease_ms: Some(LEASE_MS),
            ..follower("doomed")
        })
        .unwrap();
    println!("\nSESSION {}", session.id);
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_client_frees_its_session() {
    let daemon = TestDaemon::default_limits();
    let mut watcher = Client::connect(&daemon.socket).unwrap();
    watcher.subscribe(None).unwrap();
    /// Kills the child even when an assertion below fails first.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_opens_a_session_and_hangs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("APTP_TEST_CHILD_SOCKET", &daemon.socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let id: u64 = loop {
        let line = lines
            .next()
            .expect("child ended before opening its session")
            .unwrap();
        // libtest may print "test name ... " before the child's own output on the same line.
        if let Some((_, id)) = line.split_once("SESSION ") {
            break id.trim().parse().unwrap();
        }
    };
    assert!(daemon.state.registry().get(id).is_some());
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(
        daemon.wait_for(Duration::from_millis(5 * LEASE_MS), |state| state
            .registry()
            .is_empty()),
        "the killed client's session outlived its lease"
    );
    let mut closed = None;
    while let Some(event) = watcher.next_event(Some(Duration::from_secs(2))).unwrap() {
        if let Event::Closed { session, reason } = event {
            closed = Some((session, reason));
            break;
        }
    }
    assert_eq!(closed, Some((id, CloseReason::LeaseExpired)));
    assert_eq!(daemon.state.registry().expired_total(), 1);
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused() {
    let daemon = TestDaemon::default_limits();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aptp_service::daemon::DaemonConfig {
        socket_path: daemon.socket.clone(),
        ptp: None,
        nqptp_control: None,
        ..aptp_service::daemon::DaemonConfig::default()
    };
    let error = runtime
        .block_on(async { aptp_service::daemon::Daemon::bind(config) })
        .unwrap_err();
    assert!(error.to_string().contains("already listening"), "{error}");
    // And the first still serves.
    Client::connect(&daemon.socket).unwrap().status().unwrap();
}
