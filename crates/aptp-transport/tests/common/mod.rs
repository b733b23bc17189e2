//! Helpers shared by the loopback test files.
#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use aptp_transport::{
    PacketTimestamp, PortKind, PtpSocket, SocketConfig, TimestampClock, TimestampSource,
};
use tokio::time::timeout;

pub const V4: &str = "127.0.0.1";
pub const V6: &str = "::1";

pub fn config(address: &str, clock: TimestampClock) -> SocketConfig {
    SocketConfig::new(address.parse().unwrap())
        .with_ports(0, 0)
        .with_clock(clock)
}

/// A minimal PTP-looking message: `message_type` in the low nibble, majorSdoId 1, version
/// 2.1, messageLength `len` (so the kernel's structure filter passes it), and a marker so
/// each test datagram is distinct.
pub fn message(message_type: u8, len: usize, marker: u16) -> Vec<u8> {
    let mut data = vec![0u8; len];
    data[0] = 0x10 | message_type;
    data[1] = 0x12;
    data[2..4].copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    data[30..32].copy_from_slice(&marker.to_be_bytes());
    data
}

pub async fn recv(socket: &PtpSocket) -> aptp_transport::Received {
    timeout(Duration::from_secs(5), socket.recv())
        .await
        .expect("no datagram within 5 s")
        .expect("receive failed")
}

pub fn assert_kernel(timestamp: &PacketTimestamp, what: &str) {
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
pub async fn until_kernel_rx_timestamps(a: &PtpSocket, b: &PtpSocket) {
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
