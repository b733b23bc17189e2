//! The fixture's own tests: reachability, bridge, cleanup, timeouts.

use super::*;
use std::net::{SocketAddr, UdpSocket};

const ECHO_PORT: u16 = 40_000;

fn namespace_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

/// Sends a datagram from `from` to `to` (a process in each namespace: this test binary
/// re-executed as [`udp_echo_helper`]) and checks that it comes back.
fn assert_reaches(from: &Host, to: &Host, target: std::net::IpAddr) {
    let exe = std::env::current_exe().unwrap();
    let helper = |host: &Host, role: &str| {
        let mut command = host.command(&exe);
        command
            .args([
                "--exact",
                "netns::tests::udp_echo_helper",
                "--ignored",
                "--nocapture",
            ])
            .env("APTP_LAB_ROLE", role)
            .env("APTP_LAB_TARGET", target.to_string());
        host.spawn(command).unwrap()
    };
    let echo = helper(to, "echo");
    let send = helper(from, "send")
        .wait_with_output(Duration::from_secs(20))
        .unwrap();
    let echo = echo.wait_with_output(Duration::from_secs(20)).unwrap();
    assert!(
        send.status.success(),
        "{from:?} -> {target}: {send:?}\n{echo:?}"
    );
    assert!(echo.status.success(), "{echo:?}");
}

#[test]
#[ignore = "helper: run inside a namespace by the lab tests"]
fn udp_echo_helper() {
    let (Ok(role), Ok(target)) = (
        std::env::var("APTP_LAB_ROLE"),
        std::env::var("APTP_LAB_TARGET"),
    ) else {
        return;
    };
    let target: std::net::IpAddr = target.parse().unwrap();
    let unspecified: std::net::IpAddr = if target.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    if role == "echo" {
        let socket = UdpSocket::bind(SocketAddr::new(unspecified, ECHO_PORT)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut buffer = [0u8; 64];
        let (len, source) = socket.recv_from(&mut buffer).unwrap();
        socket.send_to(&buffer[..len], source).unwrap();
    } else {
        let socket = UdpSocket::bind(SocketAddr::new(unspecified, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buffer = [0u8; 64];
        for _ in 0..50 {
            // The echo side may not be listening yet: retry.
            let _ = socket.send_to(b"lab", SocketAddr::new(target, ECHO_PORT));
            if let Ok((len, _)) = socket.recv_from(&mut buffer) {
                assert_eq!(&buffer[..len], b"lab");
                return;
            }
        }
        panic!("no echo from {target}");
    }
}

#[test]
fn a_pair_reaches_each_other_over_ipv4_and_ipv6_and_is_deleted_on_drop() {
    let Some(lab) = lab_or_skip(Lab::pair(), "netns pair") else {
        return;
    };
    let (a, b) = (lab.host(0).clone(), lab.host(1).clone());
    assert_eq!(a.ipv4, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(b.ipv6, "2001:db8::2".parse::<Ipv6Addr>().unwrap());
    assert_reaches(&a, &b, b.ipv4.into());
    assert_reaches(&a, &b, b.ipv6.into());
    assert!(namespace_exists(&a.namespace));
    drop(lab);
    assert!(!namespace_exists(&a.namespace), "namespace deleted");
    assert!(!namespace_exists(&b.namespace), "namespace deleted");
}

#[test]
fn a_bridge_joins_every_host_and_drop_kills_leftover_processes() {
    let Some(lab) = lab_or_skip(Lab::bridge(3), "netns bridge") else {
        return;
    };
    assert_eq!(lab.hosts().len(), 3);
    assert_reaches(lab.host(0), lab.host(2), lab.host(2).ipv4.into());
    // A process left running must not keep the lab alive.
    let mut sleeper = lab.host(1).command("sleep");
    sleeper.arg("60");
    let child = lab.host(1).spawn(sleeper).unwrap();
    let namespace = lab.host(1).namespace.clone();
    std::mem::forget(child); // simulate a test that lost track of its child
    drop(lab);
    assert!(!namespace_exists(&namespace));
}

#[test]
fn a_hung_child_times_out_with_its_output() {
    let Some(lab) = lab_or_skip(Lab::pair(), "netns timeout") else {
        return;
    };
    let started = Instant::now();
    let error = lab
        .host(0)
        .run(
            "sh",
            ["-c", "echo started; sleep 30"],
            // Time enough for `ip netns exec` and sh to print on a loaded machine.
            Duration::from_secs(3),
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the whole group was killed"
    );
    match error {
        LabError::Timeout { output, .. } => {
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "started")
        }
        other => panic!("expected a timeout, got {other}"),
    }
}
