//! A client in a mount and IPC namespace of its own (as in another container) that sees only
//! the daemon's socket directory, at another path, reaches the daemon through it.

mod daemon_support;

use std::process::Command;
use std::time::Duration;

use aptp::client::{Client, OpenSession, SessionRole};
use aptp_service::nqptp::NqptpReader;
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use daemon_support::{required, TestDaemon};

/// Where the child sees the socket directory.
const CHILD_SOCKET: &str = "/run/aptp-namespace-test/aptp.sock";

/// Why the namespace test cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0);
    if !root {
        return Some("needs root to create mount namespaces".into());
    }
    for tool in ["unshare", "mount", "sh"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// Run inside the namespaces by the test below.
#[test]
fn child_in_other_namespaces() {
    let Ok(record) = std::env::var("APTP_TEST_NAMESPACE_CHILD") else {
        return; // Only meaningful as the child of the test below.
    };
    // The daemon's shared memory is not visible here: only the socket is shared.
    assert!(
        NqptpReader::open(&record).is_err(),
        "the child sees the host's /dev/shm"
    );
    let mut client = Client::connect(CHILD_SOCKET).unwrap();
    let session = client
        .open(&OpenSession {
            role: SessionRole::Follower,
            peers: vec!["192.0.2.20".parse().unwrap()],
            name: Some("from-the-container".into()),
            lease_ms: Some(2_000),
        })
        .unwrap();
    let status = client.status().unwrap();
    assert!(status
        .sessions
        .iter()
        .any(|listed| listed.info.id == session.id));
    assert_eq!(client.mapping(session.id).unwrap().session, session.id);
    client.renew(session.id).unwrap();
    client.close(session.id).unwrap();
    println!("\nNAMESPACE CHILD OK");
}

#[test]
fn a_client_in_other_mount_and_ipc_namespaces_reaches_the_daemon() {
    if let Some(reason) = unavailable() {
        assert!(
            !required(),
            "CI=true and the namespace test cannot run: {reason}"
        );
        eprintln!("skipped: {reason}");
        return;
    }
    let daemon = TestDaemon::start(RegistryLimits::default(), RecordPolicy::Nqptp);
    // A session of the host: its record is in the host's /dev/shm, which the child must not see.
    let mut host = Client::connect(&daemon.socket).unwrap();
    let host_session = host
        .open(&OpenSession {
            name: Some(format!("aptp-namespace-host-{}", std::process::id())),
            ..OpenSession::new(SessionRole::Grandmaster)
        })
        .unwrap();
    let record = host_session.shm_name.clone().unwrap();
    assert!(NqptpReader::open(&record).is_ok());

    let socket_directory = daemon.socket.parent().unwrap();
    // In the child's private mount namespace: the socket directory is bound at another path,
    // then everything else of the test's directory is hidden under an empty tmpfs, and
    // /dev/shm is a fresh tmpfs; its IPC namespace is new.
    let script = format!(
        "set -e
         mount -t tmpfs aptp-run /run
         mkdir -p /run/aptp-namespace-test
         mount --bind '{socket_dir}' /run/aptp-namespace-test
         mount -t tmpfs aptp-hide '{test_dir}'
         mount -t tmpfs aptp-shm /dev/shm
         test ! -e '{socket}'
         exec \"$0\" --exact child_in_other_namespaces --nocapture --test-threads=1",
        socket_dir = socket_directory.display(),
        test_dir = daemon.directory.display(),
        socket = daemon.socket.display(),
    );
    let output = Command::new("unshare")
        .args([
            "--mount",
            "--ipc",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .arg(std::env::current_exe().unwrap())
        .env("APTP_TEST_NAMESPACE_CHILD", &record)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("NAMESPACE CHILD OK"),
        "the child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The daemon served it: one session more was opened and it is gone again.
    let status = host.status().unwrap();
    assert_eq!(status.sessions_opened, 2);
    assert_eq!(status.sessions.len(), 1);
    assert!(daemon.wait_for(Duration::from_secs(1), |state| state.registry().len() == 1));
    host.close(host_session.id).unwrap();
}
