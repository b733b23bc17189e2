//! An AirPlay 2 receiver on real sockets: follows the grandmaster its timing peers elect and
//! prints the offset once a second.
//!
//! Run (root for ports 319/320, or pick others):
//! `cargo run -p aptp --example airplay_receiver -- 192.0.2.1 [EVENT_PORT GENERAL_PORT]`.

use std::net::IpAddr;
use std::time::Duration;

use aptp::airplay::runtime::{
    now, PeerPorts, PtpSocket, ReceiverDriver, SocketConfig, TimestampClock,
};
use aptp::airplay::{AirplayReceiver, ReceiverConfig};
use aptp_wire::ClockIdentity;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let peer: IpAddr = args
        .next()
        .ok_or("usage: airplay_receiver PEER [EVENT GENERAL]")?
        .parse()?;
    let event: u16 = args.next().map_or(Ok(319), |p| p.parse())?;
    let general: u16 = args.next().map_or(Ok(320), |p| p.parse())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = SocketConfig::new("0.0.0.0".parse()?)
            .with_ports(event, general)
            .with_clock(TimestampClock::MonotonicRaw);
        let socket = PtpSocket::bind(config)?;
        let start = now(TimestampClock::MonotonicRaw)?;
        let mut receiver = AirplayReceiver::new(
            ReceiverConfig::new(ClockIdentity([0x02, 0, 0, 0, 0, 1, 0, 8])),
            start,
        )?;
        receiver.set_timing_peers(start, [peer]);
        let mut driver = ReceiverDriver::new(socket, receiver, PeerPorts::default());
        loop {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while tokio::time::Instant::now() < deadline {
                driver.step(deadline).await?;
            }
            let local = driver.now()?;
            let status = driver.receiver().status(local);
            println!(
                "{} grandmaster {:?} offset_ns {:?} two_way {} error_bound_ns {:?}",
                status.state.name_lower(),
                status.grandmaster.map(|g| g.identity.dotted().to_string()),
                status.offset_ns,
                status.two_way,
                status.error_bound_ns
            );
        }
    })
}
