//! Errors a user can act on: port held, no privilege, unknown interface, bad configuration.

mod common;

use std::net::{IpAddr, SocketAddr};

use aptp_transport::{PortKind, PtpSocket, SocketConfig, TimestampClock, TransportError};
use common::*;

#[tokio::test]
async fn a_held_port_names_the_daemons_that_may_hold_it() {
    let first = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap();
    let taken = first.local_addr(PortKind::Event).port();
    let free = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let error =
        PtpSocket::bind(SocketConfig::new(V4.parse().unwrap()).with_ports(taken, free_port))
            .unwrap_err();
    assert!(
        matches!(error, TransportError::AddressInUse { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&format!("127.0.0.1:{taken}")), "{message}");
    assert!(
        message.contains("ptp4l") && message.contains("nqptp"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unknown_interface_is_named() {
    let error = PtpSocket::bind(config(V4, TimestampClock::Realtime).with_interface("aptpnosuch0"))
        .unwrap_err();
    assert!(
        matches!(error, TransportError::UnknownInterface { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("aptpnosuch0"));
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let same_ports = SocketConfig::new(V4.parse().unwrap()).with_ports(5000, 5000);
    assert!(matches!(
        PtpSocket::bind(same_ports),
        Err(TransportError::InvalidConfig { .. })
    ));
    let tiny = config(V4, TimestampClock::Realtime).with_max_datagram_len(10);
    assert!(matches!(
        PtpSocket::bind(tiny),
        Err(TransportError::InvalidConfig { .. })
    ));
}

#[tokio::test]
async fn sending_across_address_families_is_a_typed_error() {
    let a = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap();
    let destination = SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 319);
    let error = a
        .send_event(&message(0, 44, 0), destination)
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::AddressFamilyMismatch { .. }),
        "{error:?}"
    );
    let error = a
        .send_general(&vec![0; 70_000], a.local_addr(PortKind::General))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::DatagramTooLarge { .. }),
        "{error:?}"
    );
}

#[test]
fn binding_outside_a_runtime_is_an_error_not_a_panic() {
    let error = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap_err();
    assert!(matches!(error, TransportError::NoRuntime), "{error:?}");
}

const PERMISSION_HELPER: &str = "APTP_TRANSPORT_PERMISSION_HELPER";

fn effective_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let ids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    ids.split_whitespace().nth(1).map(str::to_owned)
}

/// Binding 319/320 without privileges: the error names CAP_NET_BIND_SERVICE. As root, the
/// check runs in this test binary re-executed as `nobody` (setpriv); as a normal user, here.
#[test]
fn binding_ptp_ports_without_privileges_names_cap_net_bind_service() {
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    if start.is_some_and(|start| start <= 319) {
        eprintln!("SKIPPED: ip_unprivileged_port_start = {start:?} lets anyone bind 319");
        return;
    }
    if effective_uid().as_deref() != Some("0") {
        assert_permission_denied();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args(["--exact", "permission_helper", "--ignored", "--nocapture"])
        .env(PERMISSION_HELPER, "1")
        .output();
    match output {
        Ok(output) => assert!(
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("1 passed"),
            "unprivileged helper failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("setpriv is needed on CI: {error}")
        }
        Err(error) => eprintln!("SKIPPED: cannot run setpriv to drop root: {error}"),
    }
}

fn assert_permission_denied() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let error = PtpSocket::bind(SocketConfig::new(V4.parse().unwrap())).unwrap_err();
    assert!(
        matches!(error, TransportError::PermissionDenied { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("CAP_NET_BIND_SERVICE"),
        "{error}"
    );
    assert!(error.to_string().contains("127.0.0.1:319"), "{error}");
}

#[test]
#[ignore = "helper: run as an unprivileged user by binding_ptp_ports_without_privileges_names_cap_net_bind_service"]
fn permission_helper() {
    if std::env::var(PERMISSION_HELPER).is_ok() {
        assert_permission_denied();
    }
}
