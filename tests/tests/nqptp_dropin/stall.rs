//! A sender whose clock the test can stall and shift, as an idle Apple device's, and whose
//! link it can cut, as a Wi-Fi dropout does.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use aptp::airplay::{AirplaySender, SenderConfig};
use aptp_clock::Time;
use aptp_service::nqptp::{NqptpDaemon, NqptpReader, NqptpStatus};
use aptp_transport::{PtpSocket, SocketConfig, TimestampClock};
use aptp_wire::ClockIdentity;
use tokio::sync::watch;

use super::start_loopback_dropin;

/// The drop-in on loopback (kernel-chosen ports) with a stallable sender that sends to it,
/// and a player's control socket.
pub struct DropInWithSender {
    pub runtime: tokio::runtime::Runtime,
    pub daemon: NqptpDaemon,
    pub status: watch::Receiver<NqptpStatus>,
    pub reader: NqptpReader,
    pub clock: Arc<StallableClock>,
    name: String,
    player: UdpSocket,
    _sender: tokio::task::JoinHandle<()>,
}

impl DropInWithSender {
    /// Starts both; `tag` names the shared memory, the sender sends from `sender_address`
    /// (a loopback address) as `identity`.
    pub fn start(tag: &str, identity: ClockIdentity, sender_address: IpAddr) -> Self {
        let (runtime, daemon, name) = start_loopback_dropin(tag);
        let status = daemon.watch_status();
        let reader = NqptpReader::open(&name).expect("open the record");
        let clock = Arc::new(StallableClock::default());
        let sender = spawn_stallable_sender(
            &runtime,
            sender_address,
            identity,
            "127.0.0.1".parse().unwrap(),
            daemon.ptp_ports(),
            Arc::clone(&clock),
        );
        DropInWithSender {
            runtime,
            daemon,
            status,
            reader,
            clock,
            name,
            player: UdpSocket::bind("127.0.0.1:0").unwrap(),
            _sender: sender,
        }
    }

    /// Sends the player's control command `text` (`T 127.0.0.4`, `B`, ...).
    pub fn command(&self, text: &str) {
        self.player
            .send_to(
                format!("{} {text}\0", self.name).as_bytes(),
                self.daemon.control_address(),
            )
            .expect("send a control datagram");
    }

    /// Shuts the drop-in down cleanly.
    pub fn shutdown(self) {
        let DropInWithSender {
            runtime, daemon, ..
        } = self;
        runtime.block_on(daemon.shutdown()).expect("clean shutdown");
    }
}

/// A sender's timescale that the test can stall (every Follow_Up then repeats one
/// preciseOriginTimestamp, as an idle Apple device's) and shift (resume at another offset).
#[derive(Default)]
pub struct StallableClock {
    stalled_at: std::sync::Mutex<Option<Time>>,
    jump_ns: std::sync::atomic::AtomicI64,
    /// The link is down: nothing the sender sends or is sent arrives.
    cut: std::sync::atomic::AtomicBool,
}

impl StallableClock {
    /// CLOCK_MONOTONIC_RAW plus the jump: the sender's running timescale.
    pub fn running(&self, raw: Time) -> Time {
        raw + aptp_clock::TimeDelta::from_nanos(
            self.jump_ns.load(std::sync::atomic::Ordering::SeqCst),
        )
    }

    /// The time the sender puts on the wire for a transmit at `raw`.
    pub fn stamped(&self, raw: Time) -> Time {
        let stalled = *self.stalled_at.lock().unwrap();
        stalled.unwrap_or_else(|| self.running(raw))
    }

    pub fn stall(&self) {
        let raw = raw_time();
        *self.stalled_at.lock().unwrap() = Some(self.running(raw));
    }

    /// Cuts the sender's link (`true`) or restores it; its clock runs on either way.
    pub fn cut_link(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
    }

    fn link_cut(&self) -> bool {
        self.cut.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn resume(&self, jump_ns: i64) {
        self.jump_ns
            .store(jump_ns, std::sync::atomic::Ordering::SeqCst);
        *self.stalled_at.lock().unwrap() = None;
    }
}

pub fn raw_time() -> Time {
    let raw = TimestampClock::MonotonicRaw.now().expect("clock");
    Time::from_nanos_i128(i128::from(raw.as_nanos()))
}

/// An AirPlay sender role driven here, on `clock`'s timescale.
pub fn spawn_stallable_sender(
    runtime: &tokio::runtime::Runtime,
    address: IpAddr,
    identity: ClockIdentity,
    peer: IpAddr,
    ports: (u16, u16),
    clock: std::sync::Arc<StallableClock>,
) -> tokio::task::JoinHandle<()> {
    use aptp::engine::{Destination, PortKind};
    let _guard = runtime.enter();
    let socket = PtpSocket::bind(
        SocketConfig::new(address)
            .with_ports(0, 0)
            .with_clock(TimestampClock::MonotonicRaw),
    )
    .expect("bind the sender");
    let mut sender =
        AirplaySender::new(SenderConfig::new(identity), clock.running(raw_time())).expect("sender");
    sender.set_peers([peer]);
    runtime.spawn(async move {
        loop {
            let now = clock.running(raw_time());
            sender.handle_timeout(now);
            while let Some(transmit) = sender.poll_transmit(now) {
                let Destination::Unicast(ip) = transmit.destination else {
                    continue;
                };
                if clock.link_cut() {
                    continue;
                }
                match transmit.port {
                    PortKind::Event => {
                        let sent = socket
                            .send_event(&transmit.bytes, SocketAddr::new(ip, ports.0))
                            .await;
                        if let (Ok(tx), Some(token)) = (sent, transmit.timestamp_token) {
                            let tx = Time::from_nanos_i128(i128::from(tx.time.as_nanos()));
                            sender.handle_transmit_timestamp(now, token, clock.stamped(tx));
                        }
                    }
                    _ => {
                        let _ = socket
                            .send_general(&transmit.bytes, SocketAddr::new(ip, ports.1))
                            .await;
                    }
                }
            }
            let wait_ns = sender
                .poll_timeout()
                .map(|at| at.since(now).nanos_floor().clamp(0, 100_000_000))
                .unwrap_or(100_000_000);
            tokio::select! {
                received = socket.recv() => {
                    if let (Ok(received), false) = (received, clock.link_cut()) {
                        let rx = Time::from_nanos_i128(i128::from(received.rx_timestamp.time.as_nanos()));
                        let kind = match received.port {
                            aptp_transport::PortKind::Event => PortKind::Event,
                            _ => PortKind::General,
                        };
                        let now = clock.running(raw_time());
                        sender.handle_datagram(now, &received.data, received.source.ip(), kind, clock.stamped(rx));
                    }
                }
                () = tokio::time::sleep(Duration::from_nanos(wait_ns as u64)) => {}
            }
        }
    })
}
