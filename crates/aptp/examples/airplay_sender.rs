//! An AirPlay 2 sender on real sockets: serves the AirPlay PTP profile to the peers named on
//! the command line and prints "now" as SETRATEANCHORTIME's network time once a second.
//!
//! Run (root for ports 319/320): `cargo run -p aptp --example airplay_sender -- 192.0.2.2 192.0.2.3`.

use std::net::IpAddr;
use std::time::Duration;

use aptp::airplay::runtime::{
    now, PeerPorts, PtpSocket, SenderDriver, SocketConfig, TimestampClock,
};
use aptp::airplay::{AirplaySender, SenderConfig};
use aptp_wire::ClockIdentity;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peers: Vec<IpAddr> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    if peers.is_empty() {
        return Err("usage: airplay_sender PEER...".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let socket = PtpSocket::bind(
            SocketConfig::new("0.0.0.0".parse()?).with_clock(TimestampClock::Realtime),
        )?;
        let mut sender = AirplaySender::new(
            SenderConfig::new(ClockIdentity([0x02, 0, 0, 0, 0, 2, 0, 8])),
            now(TimestampClock::Realtime)?,
        )?;
        sender.set_peers(peers);
        let mut driver = SenderDriver::new(socket, sender, PeerPorts::default());
        loop {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while tokio::time::Instant::now() < deadline {
                driver.step(deadline).await?;
            }
            let local = driver.now()?;
            let sender = driver.sender();
            let (secs, frac) = sender.network_time(local).unwrap_or((0, 0));
            println!(
                "timeline {:#018x} networkTimeSecs {secs} networkTimeFrac {frac} syncs {}",
                sender.timeline_id(),
                sender.counters().syncs
            );
        }
    })
}
