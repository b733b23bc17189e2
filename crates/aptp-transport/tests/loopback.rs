//! Loopback tests: two PtpSockets on 127.0.0.1 or ::1, ports chosen by the kernel.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aptp_transport::{
    PacketTimestamp, PortKind, PtpSocket, SocketConfig, TimestampClock, TimestampSource,
    TransportError,
};
use tokio::time::timeout;

const V4: &str = "127.0.0.1";
const V6: &str = "::1";

fn config(address: &str, clock: TimestampClock) -> SocketConfig {
    SocketConfig::new(address.parse().unwrap())
        .with_ports(0, 0)
        .with_clock(clock)
}

/// A minimal PTP-looking message: `message_type` in the low nibble, majorSdoId 1, and a
/// marker so each test datagram is distinct.
fn message(message_type: u8, len: usize, marker: u16) -> Vec<u8> {
    let mut data = vec![0u8; len];
    data[0] = 0x10 | message_type;
    data[1] = 0x12;
    data[30..32].copy_from_slice(&marker.to_be_bytes());
    data
}

async fn recv(socket: &PtpSocket) -> aptp_transport::Received {
    timeout(Duration::from_secs(5), socket.recv())
        .await
        .expect("no datagram within 5 s")
        .expect("receive failed")
}

fn assert_kernel(timestamp: &PacketTimestamp, what: &str) {
    assert_eq!(
        timestamp.source,
        TimestampSource::Kernel,
        "{what} should be a kernel timestamp on Linux"
    );
}

/// Waits until the kernel stamps received datagrams. When no socket on the machine has asked
/// for receive timestamps, the first one to ask switches them on through a deferred kernel
/// work item (`net_enable_timestamp`), so datagrams arriving in the first moments after
/// `bind` may carry user-space timestamps. Tests running in parallel open and close sockets
/// all the time, so each test waits for the switch before asserting on timestamps.
async fn until_kernel_rx_timestamps(a: &PtpSocket, b: &PtpSocket) {
    for attempt in 0..200u16 {
        a.send_event(
            &message(0x0, 44, 0xF000 | attempt),
            b.local_addr(PortKind::Event),
        )
        .await
        .unwrap();
        if recv(b).await.rx_timestamp.is_kernel() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the kernel never stamped a received datagram in 1 s");
}

async fn event_round_trips(address: &str, clock: TimestampClock) {
    let a = PtpSocket::bind(config(address, clock)).unwrap();
    let b = PtpSocket::bind(config(address, clock)).unwrap();
    assert!(a.kernel_rx_timestamps() && a.kernel_tx_timestamps());
    until_kernel_rx_timestamps(&a, &b).await;
    let (a_before, b_before) = (a.counters(), b.counters());
    let mut previous: Option<(PacketTimestamp, PacketTimestamp)> = None;
    for sequence_id in 0..20u16 {
        let sync = message(0x0, 44, sequence_id);
        let tx = a
            .send_event(&sync, b.local_addr(PortKind::Event))
            .await
            .unwrap();
        let received = recv(&b).await;
        assert_eq!(received.data, sync);
        assert_eq!(received.port, PortKind::Event);
        assert_eq!(
            received.destination,
            Some(address.parse::<IpAddr>().unwrap())
        );
        assert!(received.interface_index.is_some());
        assert_eq!(
            received.source,
            a.local_addr(PortKind::Event),
            "sent from the event port"
        );
        let rx = received.rx_timestamp;
        assert_kernel(&tx, "transmit timestamp");
        assert_kernel(&rx, "receive timestamp");
        assert_eq!(tx.clock, clock);
        assert_eq!(rx.clock, clock);
        assert!(
            rx.time >= tx.time,
            "{clock}: rx {} before tx {}",
            rx.time,
            tx.time
        );
        // Same machine, same clock: the datagram cannot have taken a second.
        assert!(rx.time.nanos_since(tx.time) < 1_000_000_000);
        if let Some((previous_tx, previous_rx)) = previous {
            assert!(tx.time > previous_tx.time, "transmit timestamps go forward");
            assert!(rx.time > previous_rx.time, "receive timestamps go forward");
        }
        previous = Some((tx, rx));
    }
    let (a_after, b_after) = (a.counters(), b.counters());
    assert_eq!(a_after.sent_event - a_before.sent_event, 20);
    assert_eq!(
        a_after.tx_kernel_timestamps - a_before.tx_kernel_timestamps,
        20
    );
    assert_eq!(a_after.tx_timestamp_timeouts, 0);
    assert_eq!(b_after.received - b_before.received, 20);
    assert_eq!(
        b_after.rx_kernel_timestamps - b_before.rx_kernel_timestamps,
        20
    );
    assert_eq!(b_after.dropped(), 0);
}

#[tokio::test]
async fn ipv4_event_messages_carry_kernel_timestamps_in_every_clock() {
    for clock in [
        TimestampClock::Realtime,
        TimestampClock::Monotonic,
        TimestampClock::MonotonicRaw,
    ] {
        event_round_trips(V4, clock).await;
    }
}

#[tokio::test]
async fn ipv6_event_messages_carry_kernel_timestamps_in_every_clock() {
    for clock in [
        TimestampClock::Realtime,
        TimestampClock::Monotonic,
        TimestampClock::MonotonicRaw,
    ] {
        event_round_trips(V6, clock).await;
    }
}

#[tokio::test]
async fn converted_timestamps_are_close_to_the_clock_read_around_them() {
    let clock = TimestampClock::MonotonicRaw;
    let a = PtpSocket::bind(config(V4, clock)).unwrap();
    let b = PtpSocket::bind(config(V4, clock)).unwrap();
    until_kernel_rx_timestamps(&a, &b).await;
    let before = clock.now().unwrap();
    let tx = a
        .send_event(&message(0, 44, 1), b.local_addr(PortKind::Event))
        .await
        .unwrap();
    let rx = recv(&b).await.rx_timestamp;
    let after = clock.now().unwrap();
    // Both timestamps were taken between `before` and `after` (1 ms of slack for the
    // REALTIME→MONOTONIC_RAW conversion, which is good to tens of nanoseconds).
    for (what, t) in [("tx", tx.time), ("rx", rx.time)] {
        assert!(
            t.nanos_since(before) > -1_000_000,
            "{what} {t} long before {before}"
        );
        assert!(
            after.nanos_since(t) > -1_000_000,
            "{what} {t} long after {after}"
        );
    }
}

#[tokio::test]
async fn one_loop_receives_from_both_ports() {
    for address in [V4, V6] {
        let a = PtpSocket::bind(config(address, TimestampClock::Realtime)).unwrap();
        let b = PtpSocket::bind(config(address, TimestampClock::Realtime)).unwrap();
        until_kernel_rx_timestamps(&a, &b).await;
        let follow_up = message(0x8, 44, 7);
        let sync = message(0x0, 44, 7);
        a.send_general(&follow_up, b.local_addr(PortKind::General))
            .await
            .unwrap();
        a.send_event(&sync, b.local_addr(PortKind::Event))
            .await
            .unwrap();
        let mut seen = [recv(&b).await, recv(&b).await];
        seen.sort_by_key(|received| received.port == PortKind::General);
        assert_eq!(seen[0].port, PortKind::Event);
        assert_eq!(seen[0].data, sync);
        assert_eq!(seen[1].port, PortKind::General);
        assert_eq!(seen[1].data, follow_up);
        assert_eq!(
            seen[1].source,
            a.local_addr(PortKind::General),
            "sent from the general port"
        );
        assert_kernel(&seen[1].rx_timestamp, "general receive timestamp");
        assert_eq!(a.counters().sent_general, 1);
    }
}

#[tokio::test]
async fn bad_datagrams_are_counted_and_dropped_without_stalling() {
    let a = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap();
    let b =
        PtpSocket::bind(config(V4, TimestampClock::Realtime).with_max_datagram_len(128)).unwrap();
    let general = b.local_addr(PortKind::General);
    let event = b.local_addr(PortKind::Event);
    a.send_general(&message(0x0, 44, 1), general).await.unwrap(); // Sync on the general port
    a.send_event(&message(0xB, 64, 2), event).await.unwrap(); // Announce on the event port
    a.send_event(&message(0x5, 44, 3), event).await.unwrap(); // reserved message type
    a.send_general(&[0x1B; 20], general).await.unwrap(); // shorter than a header
    a.send_general(&[], general).await.unwrap(); // empty
    a.send_general(&message(0xB, 500, 4), general)
        .await
        .unwrap(); // longer than 128
                   // One good datagram behind the bad ones on each socket: receiving both means every bad
                   // one was read (each socket is a FIFO).
    let good_general = message(0xB, 64, 5);
    let good_event = message(0x1, 44, 6);
    a.send_general(&good_general, general).await.unwrap();
    a.send_event(&good_event, event).await.unwrap();
    let mut goods = vec![recv(&b).await.data, recv(&b).await.data];
    goods.sort();
    let mut expected = vec![good_general, good_event];
    expected.sort();
    assert_eq!(
        goods, expected,
        "the good datagrams get through after the bad ones"
    );
    let counters = b.counters();
    assert_eq!(counters.dropped_wrong_port, 3);
    assert_eq!(counters.dropped_too_short, 2);
    assert_eq!(counters.dropped_truncated, 1);
    assert_eq!(counters.received, 2);
}

#[tokio::test]
async fn concurrent_event_sends_each_get_their_own_kernel_timestamp() {
    let a = std::sync::Arc::new(PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap());
    let b = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap();
    let destination = b.local_addr(PortKind::Event);
    let mut tasks = Vec::new();
    for marker in 0..16u16 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            let tx = a
                .send_event(&message(0, 44, marker), destination)
                .await
                .unwrap();
            (marker, tx)
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.push(task.await.unwrap());
    }
    for _ in 0..16 {
        let received = recv(&b).await;
        let marker = u16::from_be_bytes([received.data[30], received.data[31]]);
        let (_, tx) = sent.iter().find(|(m, _)| *m == marker).unwrap();
        assert_kernel(tx, "transmit timestamp");
        assert!(
            received.rx_timestamp.time >= tx.time,
            "tx of {marker} matched to its datagram"
        );
    }
    assert_eq!(a.counters().tx_kernel_timestamps, 16);
}

#[tokio::test]
async fn user_space_timestamps_when_kernel_ones_are_off() {
    let config = config(V6, TimestampClock::Monotonic).with_kernel_timestamps(false);
    let a = PtpSocket::bind(config.clone()).unwrap();
    let b = PtpSocket::bind(config).unwrap();
    assert!(!a.kernel_tx_timestamps());
    let tx = a
        .send_event(&message(0, 44, 1), b.local_addr(PortKind::Event))
        .await
        .unwrap();
    let rx = recv(&b).await.rx_timestamp;
    assert_eq!(tx.source, TimestampSource::UserSpace);
    assert_eq!(rx.source, TimestampSource::UserSpace);
    assert!(rx.time > tx.time);
    assert_eq!(a.counters().tx_user_timestamps, 1);
    assert_eq!(b.counters().rx_user_timestamps, 1);
}

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

/// A small deterministic generator (xorshift64*), so a failure replays exactly.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn datagram(&mut self, max_len: u64) -> Vec<u8> {
        let len = usize::try_from(self.next() % max_len).unwrap();
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn a_stream_of_garbage_is_dropped_and_counted_exactly() {
    const MAX: usize = 128;
    let a = PtpSocket::bind(config(V6, TimestampClock::Realtime)).unwrap();
    let b =
        PtpSocket::bind(config(V6, TimestampClock::Realtime).with_max_datagram_len(MAX)).unwrap();
    let mut garbage = Garbage(0x5EED_1588);
    let (mut expected_accepted, mut expected_truncated, mut expected_short, mut expected_wrong) =
        (0u64, 0u64, 0u64, 0u64);
    for chunk in 0..20u16 {
        let port = if chunk % 2 == 0 {
            PortKind::Event
        } else {
            PortKind::General
        };
        let destination = b.local_addr(port);
        let mut accepted_here = 0;
        for _ in 0..20 {
            let data = garbage.datagram(300);
            // The rules, restated independently of the implementation.
            let class_ok = data.first().is_some_and(|first| match first & 0x0F {
                0..=3 => port == PortKind::Event,
                8..=15 => port == PortKind::General,
                _ => false,
            });
            if data.len() > MAX {
                expected_truncated += 1;
            } else if data.len() < 34 {
                expected_short += 1;
            } else if !class_ok {
                expected_wrong += 1;
            } else {
                accepted_here += 1;
            }
            match port {
                PortKind::Event => a.send_event(&data, destination).await.map(|_| ()),
                PortKind::General => a.send_general(&data, destination).await,
            }
            .unwrap();
        }
        let good = match port {
            PortKind::Event => message(0x0, 44, 0xAA00 | chunk),
            PortKind::General => message(0xB, 64, 0xAA00 | chunk),
        };
        match port {
            PortKind::Event => a.send_event(&good, destination).await.map(|_| ()),
            PortKind::General => a.send_general(&good, destination).await,
        }
        .unwrap();
        // Everything before the good datagram on this socket has been handled once it arrives.
        loop {
            let received = recv(&b).await;
            assert_eq!(received.port, port);
            if received.data == good {
                break;
            }
            accepted_here -= 1; // random bytes that happen to look like PTP pass through
        }
        assert_eq!(
            accepted_here, 0,
            "chunk {chunk}: garbage accepted that should not be"
        );
        expected_accepted += 1;
    }
    let counters = b.counters();
    assert_eq!(counters.dropped_truncated, expected_truncated);
    assert_eq!(counters.dropped_too_short, expected_short);
    assert_eq!(counters.dropped_wrong_port, expected_wrong);
    assert!(counters.received >= expected_accepted);
    assert!(expected_truncated > 0 && expected_short > 0 && expected_wrong > 0);
}
