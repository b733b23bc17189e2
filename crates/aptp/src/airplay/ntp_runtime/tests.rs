//! AirPlay 1 timing between two drivers on loopback, with real sockets and two different
//! clocks, so the mapping has a known, non-zero truth; the timestamps are the kernel's.

use super::*;
use aptp_clock::{EstimatorKind, TimeDelta};
use std::time::Duration;
use tokio::net::UdpSocket;

fn client(clock: TimestampClock, interval: TimeDelta) -> NtpTimingClient {
    let start = time_of(clock.now().unwrap());
    NtpTimingClient::new(EstimatorKind::DEFAULT, interval, start)
}

/// Runs both drivers until `deadline`; returns the mapping updates the receiver saw.
async fn run(
    sender: &mut NtpTimingDriver,
    receiver: &mut NtpTimingDriver,
    deadline: Instant,
) -> usize {
    let mut updates = 0;
    while Instant::now() < deadline {
        tokio::select! {
            stepped = sender.step(deadline) => {
                stepped.unwrap();
            }
            stepped = receiver.step(deadline) => {
                if let NtpStepped::MappingUpdated(_) = stepped.unwrap() {
                    updates += 1;
                }
            }
        }
    }
    updates
}

#[tokio::test]
async fn a_receiver_follows_a_sender_on_loopback_from_another_clock() {
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    // The sender's timescale is CLOCK_REALTIME, the receiver's CLOCK_MONOTONIC_RAW.
    let sender_clock = TimestampClock::Realtime;
    let receiver_clock = TimestampClock::MonotonicRaw;
    let mut sender = NtpTimingDriver::bind(
        bind,
        sender_clock,
        client(sender_clock, TimeDelta::from_secs(1)),
        None,
    )
    .await
    .unwrap();
    let peer = sender.local_addr().unwrap();
    let mut receiver = NtpTimingDriver::bind(
        bind,
        receiver_clock,
        client(receiver_clock, TimeDelta::from_millis(50)),
        Some(peer),
    )
    .await
    .unwrap();
    assert_eq!(receiver.peer(), Some(peer));
    // Loopback gives kernel software timestamps both ways.
    for driver in [&sender, &receiver] {
        assert!(driver.kernel_rx_timestamps() && driver.kernel_tx_timestamps());
    }
    // Garbage and a stray reply are counted, never a panic.
    let stray = UdpSocket::bind(bind).await.unwrap();
    let to = receiver.local_addr().unwrap();
    stray.send_to(&[0x80, 0xd3, 0x00], to).await.unwrap();
    let mut reply = [0u8; NtpTimingPacket::LENGTH];
    reply[0] = 0x80;
    reply[1] = 0xd3;
    reply[2] = 0x00;
    reply[3] = 0x07;
    stray.send_to(&reply, to).await.unwrap();
    // 3 s at 20 Hz, then on until 40 exchanges are in: on a loaded machine a late wake-up
    // delays the next request for good, so a fixed time is not a fixed count.
    let started = Instant::now();
    let mut updates = run(&mut sender, &mut receiver, started + Duration::from_secs(3)).await;
    let enough = |sender: &NtpTimingDriver, receiver: &NtpTimingDriver| {
        let (sent, answered) = (receiver.counters(), sender.counters());
        let (received, served) = (receiver.transport_counters(), sender.transport_counters());
        sent.replies_used >= 40
            && answered.requests_answered >= 40
            && received.tx_kernel_timestamps >= 40
            && received.rx_kernel_timestamps >= 40
            && served.rx_kernel_timestamps >= 40
    };
    while !enough(&sender, &receiver) && started.elapsed() < Duration::from_secs(20) {
        updates += run(
            &mut sender,
            &mut receiver,
            Instant::now() + Duration::from_millis(250),
        )
        .await;
    }
    let mapping = receiver.mapping().expect("locked");
    let local = receiver.now().unwrap();
    let truth = time_of(sender_clock.now().unwrap()).since(local);
    let error = mapping.offset_at(local) - truth;
    let transport = receiver.transport_counters();
    eprintln!(
        "AirPlay 1 timing on loopback: mapping error {error:?}, {updates} updates, \
         receiver {transport:?}"
    );
    // Loopback, a shared machine: loose, but far below the seconds between the two clocks
    // and the milliseconds of a wrong leg.
    assert!(error.abs() < TimeDelta::from_micros(500), "{error:?}");
    // The exchange ran on kernel timestamps: every request's departure, and the arrivals
    // after the kernel's lazy switch-on (the first few may be user space).
    assert_eq!(transport.tx_user_timestamps, 0, "{transport:?}");
    assert!(transport.tx_kernel_timestamps >= 40, "{transport:?}");
    assert!(
        transport.rx_kernel_timestamps >= 40
            && transport.rx_user_timestamps * 10 < transport.rx_kernel_timestamps,
        "{transport:?}"
    );
    let answered = sender.transport_counters();
    assert!(answered.rx_kernel_timestamps >= 40, "{answered:?}");
    assert!(updates >= 1, "{updates}");
    let counters = receiver.counters();
    assert!(counters.requests_sent >= 40, "{counters:?}");
    assert!(counters.replies_used >= 40, "{counters:?}");
    assert_eq!(counters.rejected, 2, "{counters:?}");
    assert!(sender.counters().requests_answered >= 40);
    assert!(sender.mapping().is_none());
    // Another peer: the estimation restarts.
    receiver.set_peer(Some("127.0.0.1:9".parse().unwrap()));
    assert!(receiver.mapping().is_none());
}
