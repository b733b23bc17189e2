//! A robust receive loop: bad datagrams are dropped and counted by reason, never stall it.
//!
//! These tests exercise the checks in user space, so they switch the kernel's structure
//! filter off (it would refuse most of this junk before it is queued; see
//! `kernel_structure_filter` in src/kernel_filter.rs for that side).

mod common;

use aptp_transport::{PortKind, PtpSocket, TimestampClock};
use common::*;

#[tokio::test]
async fn bad_datagrams_are_counted_and_dropped_without_stalling() {
    let a = PtpSocket::bind(config(V4, TimestampClock::Realtime)).unwrap();
    let b = PtpSocket::bind(
        config(V4, TimestampClock::Realtime)
            .with_max_datagram_len(128)
            .with_kernel_structure_filter(false),
    )
    .unwrap();
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
    let b = PtpSocket::bind(
        config(V6, TimestampClock::Realtime)
            .with_max_datagram_len(MAX)
            .with_kernel_structure_filter(false),
    )
    .unwrap();
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
