//! aptp-transport between two network namespaces over a veth pair, on PTP's own ports 319/320:
//! multicast join and delivery (224.0.1.129, 224.0.0.107, FF0E::181, FF02::6B), unicast in
//! both directions, source port = destination port, kernel timestamps on both sides.
//!
//! Each side runs in its own namespace as a child process: this test binary re-executed
//! through `ip netns exec` with `--exact netns_peer --ignored`, its role in `APTP_NETNS_ROLE`.
//! The responder echoes every datagram back (unicast, from the port it arrived on) and logs
//! what it saw; the initiator sends each case until its echo returns and logs the result.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aptp_tests::netns::{lab_or_skip, Lab, INTERFACE};
use aptp_transport::{
    MulticastGroup, PortKind, PtpSocket, Received, SocketConfig, TimestampClock, TimestampSource,
};

const ROLE: &str = "APTP_NETNS_ROLE";
const PEER_V4: &str = "APTP_NETNS_PEER_V4";
const PEER_V6: &str = "APTP_NETNS_PEER_V6";
/// Marker of the datagram that tells the responder to stop.
const STOP_MARKER: u16 = 0xFFFF;

/// (name, destination kind, port kind). A destination is a group or the peer's unicast address.
#[derive(Clone, Copy, Debug)]
enum Destination {
    Group(MulticastGroup),
    Unicast,
}

const CASES: [(&str, bool, Destination, PortKind); 10] = [
    (
        "v4 224.0.1.129 event",
        false,
        Destination::Group(MulticastGroup::Primary),
        PortKind::Event,
    ),
    (
        "v4 224.0.1.129 general",
        false,
        Destination::Group(MulticastGroup::Primary),
        PortKind::General,
    ),
    (
        "v4 224.0.0.107 event",
        false,
        Destination::Group(MulticastGroup::PeerDelay),
        PortKind::Event,
    ),
    (
        "v4 unicast event",
        false,
        Destination::Unicast,
        PortKind::Event,
    ),
    (
        "v4 unicast general",
        false,
        Destination::Unicast,
        PortKind::General,
    ),
    (
        "v6 ff0e::181 event",
        true,
        Destination::Group(MulticastGroup::Primary),
        PortKind::Event,
    ),
    (
        "v6 ff0e::181 general",
        true,
        Destination::Group(MulticastGroup::Primary),
        PortKind::General,
    ),
    (
        "v6 ff02::6b event",
        true,
        Destination::Group(MulticastGroup::PeerDelay),
        PortKind::Event,
    ),
    (
        "v6 unicast event",
        true,
        Destination::Unicast,
        PortKind::Event,
    ),
    (
        "v6 unicast general",
        true,
        Destination::Unicast,
        PortKind::General,
    ),
];

#[test]
fn transport_between_two_namespaces_on_ports_319_and_320() {
    let Some(lab) = lab_or_skip(Lab::pair(), "transport_netns") else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let exe = std::env::current_exe().expect("the test binary's path");
    let peer = |host: &aptp_tests::netns::Host, role: &str, other: &aptp_tests::netns::Host| {
        let mut command = host.command(&exe);
        command
            .args([
                "--exact",
                "netns_peer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
            .env(PEER_V4, other.ipv4.to_string())
            .env(PEER_V6, other.ipv6.to_string());
        host.spawn(command).expect("spawn a peer in its namespace")
    };
    let responder = peer(b, "responder", a);
    let initiator = peer(a, "initiator", b);
    let initiator = initiator.wait_with_output(Duration::from_secs(60));
    let responder = responder.wait_with_output(Duration::from_secs(20));
    let (initiator, responder) = match (initiator, responder) {
        (Ok(i), Ok(r)) => (i, r),
        (i, r) => panic!("a peer failed to finish:\ninitiator: {i:?}\nresponder: {r:?}"),
    };
    let initiator_log = String::from_utf8_lossy(&initiator.stdout).into_owned();
    let responder_log = String::from_utf8_lossy(&responder.stdout).into_owned();
    let context = format!(
        "initiator stdout:\n{initiator_log}\ninitiator stderr:\n{}\nresponder stdout:\n{responder_log}\nresponder stderr:\n{}",
        String::from_utf8_lossy(&initiator.stderr),
        String::from_utf8_lossy(&responder.stderr)
    );
    assert!(initiator.status.success(), "initiator failed\n{context}");
    assert!(responder.status.success(), "responder failed\n{context}");
    for (name, ..) in CASES {
        assert!(
            initiator_log.contains(&format!("CASE-OK {name};")),
            "case {name} missing\n{context}"
        );
    }
    assert!(
        initiator_log.contains("TIMEOUT-OK"),
        "TX timeout case missing\n{context}"
    );
    // Multicast arrived as multicast: the responder saw each group as the destination.
    for destination in [
        "224.0.1.129",
        "224.0.0.107",
        "ff0e::181",
        "ff02::6b",
        "192.0.2.2",
        "2001:db8::2",
    ] {
        assert!(
            responder_log.contains(&format!(" to={destination} ")),
            "nothing arrived for {destination}\n{context}"
        );
    }
    // Every datagram the responder saw came from the port it arrived on; once the kernel
    // stamped one (see `send_until_echoed`), it stamped all that followed.
    let seen: Vec<&str> = responder_log
        .lines()
        .filter(|l| l.starts_with("RX "))
        .collect();
    assert!(
        seen.len() >= CASES.len(),
        "responder saw too little\n{context}"
    );
    let first_kernel = seen.iter().position(|line| line.contains("source=Kernel"));
    let first_kernel = first_kernel.unwrap_or_else(|| panic!("no kernel timestamp\n{context}"));
    for line in &seen {
        assert!(line.contains("same-port=true"), "{line}\n{context}");
    }
    for line in &seen[first_kernel..] {
        assert!(line.contains("source=Kernel"), "{line}\n{context}");
    }
    drop(lab);
}

/// The two roles, run inside a namespace by the test above (does nothing when run directly).
#[test]
#[ignore = "helper: run inside a network namespace by transport_between_two_namespaces_on_ports_319_and_320"]
fn netns_peer() {
    let Ok(role) = std::env::var(ROLE) else {
        eprintln!("netns_peer is a helper of transport_netns; nothing to do when run directly");
        return;
    };
    let peer_v4: IpAddr = std::env::var(PEER_V4).unwrap().parse().unwrap();
    let peer_v6: IpAddr = std::env::var(PEER_V6).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let v4 = bind("0.0.0.0");
        let v6 = bind("::");
        match role.as_str() {
            "responder" => respond(&v4, &v6).await,
            "initiator" => initiate(&v4, &v6, peer_v4, peer_v6).await,
            other => panic!("unknown role {other}"),
        }
    });
}

fn bind(address: &str) -> PtpSocket {
    let config = SocketConfig::new(address.parse().unwrap())
        .with_interface(INTERFACE)
        .with_multicast_group(MulticastGroup::Primary)
        .with_multicast_group(MulticastGroup::PeerDelay)
        .with_clock(TimestampClock::MonotonicRaw);
    let socket = PtpSocket::bind(config).expect("bind 319/320 in the namespace");
    assert_eq!(socket.local_addr(PortKind::Event).port(), 319);
    assert_eq!(socket.local_addr(PortKind::General).port(), 320);
    socket
}

fn message(port: PortKind, marker: u16) -> Vec<u8> {
    let mut data = vec![0u8; 44];
    data[0] = match port {
        PortKind::Event => 0x10,   // Sync
        PortKind::General => 0x18, // Follow_Up
    };
    data[1] = 0x12;
    data[2..4].copy_from_slice(&44u16.to_be_bytes());
    data[30..32].copy_from_slice(&marker.to_be_bytes());
    data
}

fn marker(received: &Received) -> u16 {
    u16::from_be_bytes([received.data[30], received.data[31]])
}

async fn recv_either(v4: &PtpSocket, v6: &PtpSocket) -> Received {
    tokio::select! {
        received = v4.recv() => received.expect("receive (v4)"),
        received = v6.recv() => received.expect("receive (v6)"),
    }
}

async fn respond(v4: &PtpSocket, v6: &PtpSocket) {
    let deadline = tokio::time::sleep(Duration::from_secs(15));
    tokio::pin!(deadline);
    loop {
        let received = tokio::select! {
            received = recv_either(v4, v6) => received,
            () = &mut deadline => panic!("no stop datagram within 15 s"),
        };
        let socket = if received.source.is_ipv4() { v4 } else { v6 };
        let own_port = socket.local_addr(received.port).port();
        println!(
            "RX port={} from={} to={} marker={} same-port={} source={:?}",
            received.port,
            received.source,
            received
                .destination
                .map_or_else(|| "?".to_owned(), |ip| ip.to_string()),
            marker(&received),
            received.source.port() == own_port,
            received.rx_timestamp.source,
        );
        if marker(&received) == STOP_MARKER {
            return;
        }
        match received.port {
            PortKind::Event => {
                socket
                    .send_event(&received.data, received.source)
                    .await
                    .expect("echo event");
            }
            PortKind::General => {
                socket
                    .send_general(&received.data, received.source)
                    .await
                    .expect("echo general");
            }
        }
    }
}

async fn initiate(v4: &PtpSocket, v6: &PtpSocket, peer_v4: IpAddr, peer_v6: IpAddr) {
    for (index, (name, ipv6, destination, port)) in CASES.into_iter().enumerate() {
        let (socket, peer) = if ipv6 { (v6, peer_v6) } else { (v4, peer_v4) };
        let target = match destination {
            Destination::Group(group) => socket.multicast_destination(group, port),
            Destination::Unicast => socket.destination(port, peer),
        };
        let marker_value = u16::try_from(index).unwrap();
        let data = message(port, marker_value);
        let echo = send_until_echoed(socket, &data, target, port).await;
        let echo = echo.unwrap_or_else(|| panic!("{name}: no echo from {peer} within 10 s"));
        assert_eq!(echo.data, data, "{name}");
        assert_eq!(echo.port, port, "{name}");
        // From the peer's port of the same kind; from its documentation address, or from its
        // link-local one when ours was the source of a link-local multicast (after DAD).
        assert_eq!(
            echo.source.port(),
            socket.destination(port, peer).port(),
            "{name}"
        );
        assert!(
            echo.source.ip() == peer || is_link_local(echo.source.ip()),
            "{name}: echo from {} instead of {peer}",
            echo.source
        );
        assert_eq!(echo.rx_timestamp.source, TimestampSource::Kernel, "{name}");
        println!("CASE-OK {name}; echo from {}", echo.source);
    }
    // A datagram that never reaches the driver gets no kernel transmit timestamp: one to an
    // address nobody answers ARP for (inside this lab's 192.0.2.0/24) waits in the neighbour
    // queue. send_event still succeeds, reports a user-space timestamp after the timeout, and
    // the next send is matched to its own kernel timestamp again.
    let nowhere = v4.destination(PortKind::Event, "192.0.2.77".parse().unwrap());
    let before = v4.counters();
    let tx = v4
        .send_event(&message(PortKind::Event, 0xFFF0), nowhere)
        .await
        .expect("a missing TX timestamp is not an error");
    assert_eq!(tx.source, TimestampSource::UserSpace);
    assert_eq!(
        v4.counters().tx_timestamp_timeouts - before.tx_timestamp_timeouts,
        1
    );
    let data = message(PortKind::Event, 0xFFF1);
    let target = v4.destination(PortKind::Event, peer_v4);
    let tx = v4
        .send_event(&data, target)
        .await
        .expect("send after a timeout");
    assert_eq!(
        tx.source,
        TimestampSource::Kernel,
        "matching recovers after a timeout"
    );
    let echo = send_until_echoed(v4, &data, target, PortKind::Event).await;
    let echo = echo.expect("echo after the timeout case");
    assert!(echo.rx_timestamp.time >= tx.time);
    println!("TIMEOUT-OK");

    let stop = message(PortKind::General, STOP_MARKER);
    v4.send_general(&stop, v4.destination(PortKind::General, peer_v4))
        .await
        .expect("send stop");
}

fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Sends `data` every 200 ms (the peer may not have bound yet) until it comes back.
async fn send_until_echoed(
    socket: &PtpSocket,
    data: &[u8],
    target: SocketAddr,
    port: PortKind,
) -> Option<Received> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        // A send can fail while the interface settles (e.g. no usable source address yet):
        // report and retry.
        match port {
            PortKind::Event => match socket.send_event(data, target).await {
                Ok(tx) => assert_eq!(
                    tx.source,
                    TimestampSource::Kernel,
                    "veth gives kernel TX timestamps"
                ),
                Err(error) => eprintln!("send to {target} failed (retrying): {error}"),
            },
            PortKind::General => {
                if let Err(error) = socket.send_general(data, target).await {
                    eprintln!("send to {target} failed (retrying): {error}");
                }
            }
        }
        let wait = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                received = socket.recv() => {
                    let received = received.expect("receive");
                    // Wait for the kernel to stamp the echo: a machine's first timestamping
                    // socket switches receive timestamps on through deferred kernel work, so
                    // the first datagrams after bind may carry user-space ones.
                    if received.data == data && received.rx_timestamp.is_kernel() {
                        return Some(received);
                    }
                    // An echo of an earlier case, or not yet kernel-stamped: ignore.
                }
                () = &mut wait => break,
            }
        }
    }
    None
}
