//! Loopback tests of timestamps: two PtpSockets on 127.0.0.1 or ::1, ports chosen by the
//! kernel; kernel timestamps, every clock, TX before RX, both ports in one loop.

mod common;

use std::net::IpAddr;

use aptp_transport::{PacketTimestamp, PortKind, PtpSocket, TimestampClock, TimestampSource};
use common::*;

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

/// Datagrams sent back to back, before the receiver reads, are taken by one batched read
/// (`recvmmsg`) and each still carries its own kernel receive timestamp: distinct, in order,
/// and each after its own transmit timestamp; a junk datagram in the middle of the batch is
/// dropped and counted without disturbing the others.
#[tokio::test]
async fn back_to_back_datagrams_keep_their_own_kernel_timestamps_through_a_batch() {
    let clock = TimestampClock::MonotonicRaw;
    let a = PtpSocket::bind(config(V4, clock)).unwrap();
    // No kernel structure filter, so the short datagram below reaches user space.
    let b = PtpSocket::bind(config(V4, clock).with_kernel_structure_filter(false)).unwrap();
    until_kernel_rx_timestamps(&a, &b).await;
    let before = b.counters();
    let to = b.local_addr(PortKind::Event);
    let mut sent = Vec::new();
    for sequence_id in 0..6u16 {
        sent.push((
            message(0x0, 44, sequence_id),
            a.send_event(&message(0x0, 44, sequence_id), to)
                .await
                .unwrap(),
        ));
        if sequence_id == 2 {
            // Too short for a PTP header: dropped inside the batch.
            a.send_event(&[0u8; 10], to).await.unwrap();
        }
    }
    let mut previous: Option<PacketTimestamp> = None;
    for (bytes, tx) in &sent {
        let received = recv(&b).await;
        assert_eq!(&received.data, bytes, "in the order sent");
        let rx = received.rx_timestamp;
        assert_kernel(&rx, "receive timestamp");
        assert!(
            rx.time >= tx.time,
            "rx {} before its tx {}",
            rx.time,
            tx.time
        );
        if let Some(previous) = previous {
            assert!(
                rx.time > previous.time,
                "{} not after {}",
                rx.time,
                previous.time
            );
        }
        previous = Some(rx);
    }
    let after = b.counters();
    assert_eq!(after.received - before.received, 6);
    assert_eq!(after.dropped_too_short - before.dropped_too_short, 1);
}
