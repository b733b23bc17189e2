//! The timing task: moves PTP datagrams (with their kernel receive timestamps), transmit
//! timestamps and timers between the sockets and the AirPlay receiver role, applies the
//! player's commands through the [`Session`], and writes the record to shared memory whenever
//! it changes. PTP datagrams always go first; at most [`COMMANDS_PER_STEP`] commands are
//! applied between two of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use aptp::airplay::{AirplayReceiver, ReceiverEvent};
use aptp::engine::{Destination, PortKind, Transmit};
use aptp_clock::Time;
use aptp_transport::{PtpSocket, Received, Timestamp, TimestampClock, TransportError};
use tokio::sync::{mpsc, oneshot, watch};

use super::control_server::ControlStats;
use super::session::wrapping_nanos;
use super::{ControlCommand, ControlRequest, NqptpPublisher, NqptpRecord, NqptpStatus, Session};

/// Commands applied at most between two looks at the PTP sockets.
const COMMANDS_PER_STEP: usize = 8;

/// How long to pause after a receive error, so a failing socket cannot spin a core.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The PTP sockets: IPv4 always, IPv6 when available.
pub(crate) struct Sockets {
    pub(crate) ipv4: PtpSocket,
    pub(crate) ipv6: Option<PtpSocket>,
}

impl Sockets {
    fn for_address(&self, address: IpAddr) -> Option<&PtpSocket> {
        match address {
            IpAddr::V4(_) => Some(&self.ipv4),
            IpAddr::V6(_) => self.ipv6.as_ref(),
        }
    }
}

/// A transport timestamp as the role's time type.
pub(crate) fn to_time(timestamp: Timestamp) -> Time {
    Time::from_nanos_i128(i128::from(timestamp.as_nanos()))
}

pub(crate) struct TimingTask {
    receiver: AirplayReceiver<IpAddr>,
    session: Session,
    sockets: Sockets,
    publisher: NqptpPublisher,
    published: NqptpRecord,
    publications: u64,
    clock: TimestampClock,
    commands: mpsc::Receiver<ControlRequest>,
    status: watch::Sender<NqptpStatus>,
    stats: Arc<ControlStats>,
}

impl TimingTask {
    pub(crate) fn new(
        receiver: AirplayReceiver<IpAddr>,
        sockets: Sockets,
        publisher: NqptpPublisher,
        clock: TimestampClock,
        commands: mpsc::Receiver<ControlRequest>,
        status: watch::Sender<NqptpStatus>,
        stats: Arc<ControlStats>,
    ) -> TimingTask {
        TimingTask {
            receiver,
            session: Session::new(),
            sockets,
            publisher,
            published: NqptpRecord::default(),
            publications: 0,
            clock,
            commands,
            status,
            stats,
        }
    }

    fn now(&self) -> Result<Time, TransportError> {
        self.clock.now().map(to_time)
    }

    /// Runs until `shutdown` fires (or its sender is dropped); then publishes zeros. The
    /// publisher is dropped with the task, which unlinks the object.
    pub(crate) async fn run(
        mut self,
        mut shutdown: oneshot::Receiver<()>,
    ) -> Result<(), TransportError> {
        let mut commands_open = true;
        let result = loop {
            let now = match self.now() {
                Ok(now) => now,
                Err(error) => break Err(error),
            };
            if let Err(error) = self.flush_transmits(now).await {
                break Err(error);
            }
            self.drain_events(now);
            self.publish(now);
            let sleep = self
                .receiver
                .poll_timeout()
                .map(|deadline| until(deadline, now));
            tokio::select! {
                biased;
                _ = &mut shutdown => break Ok(()),
                received = self.sockets.ipv4.recv() => self.on_received(received).await,
                received = recv_optional(self.sockets.ipv6.as_ref()) => {
                    self.on_received(received).await
                }
                command = self.commands.recv(), if commands_open => match command {
                    Some(command) => self.apply_commands(command),
                    None => commands_open = false,
                },
                () = sleep_or_forever(sleep) => match self.now() {
                    Ok(now) => self.receiver.handle_timeout(now),
                    Err(error) => break Err(error),
                },
            }
        };
        self.publisher.clear();
        tracing::info!(shm = %self.publisher.name(), "nqptp drop-in stopped");
        result
    }

    async fn on_received(&mut self, received: Result<Received, TransportError>) {
        match received {
            Ok(received) => {
                let Ok(now) = self.now() else { return };
                let rx = to_time(received.rx_timestamp.time);
                let port = match received.port {
                    aptp_transport::PortKind::Event => PortKind::Event,
                    aptp_transport::PortKind::General => PortKind::General,
                };
                self.receiver.handle_datagram(
                    now,
                    &received.data,
                    canonical(received.source),
                    port,
                    rx,
                );
                // A measurement this datagram completed is anchored at its receive time.
                self.drain_events(rx);
            }
            Err(error) => {
                tracing::warn!(%error, "PTP receive failed");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
            }
        }
    }

    fn apply_commands(&mut self, first: ControlRequest) {
        let mut next = Some(first);
        let mut applied = 0;
        while let Some(request) = next.take() {
            let Ok(now) = self.now() else { return };
            match request.command {
                // P is frequent and changes nothing.
                ControlCommand::Pause => tracing::debug!("control command P"),
                ref command => tracing::info!(?command, "control command"),
            }
            self.session
                .handle_command(now, &request.command, &mut self.receiver);
            self.drain_events(now);
            self.publish(now);
            applied += 1;
            if applied < COMMANDS_PER_STEP {
                next = self.commands.try_recv().ok();
            }
        }
    }

    /// Sends what the role queued; an event message's transmit timestamp goes back at once.
    async fn flush_transmits(&mut self, now: Time) -> Result<(), TransportError> {
        while let Some(transmit) = self.receiver.poll_transmit(now) {
            let Transmit {
                destination,
                port,
                bytes,
                timestamp_token,
            } = transmit;
            let Destination::Unicast(address) = destination else {
                continue;
            };
            let Some(socket) = self.sockets.for_address(address) else {
                continue;
            };
            let kind = match port {
                PortKind::Event => aptp_transport::PortKind::Event,
                PortKind::General => aptp_transport::PortKind::General,
            };
            let target = socket.destination(kind, address);
            let sent = match port {
                PortKind::Event => socket.send_event(&bytes, target).await.map(Some),
                PortKind::General => socket.send_general(&bytes, target).await.map(|()| None),
            };
            match sent {
                Ok(Some(tx)) => {
                    if let Some(token) = timestamp_token {
                        let now = self.now()?;
                        self.receiver
                            .handle_transmit_timestamp(now, token, to_time(tx.time));
                        self.drain_events(now);
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::debug!(%error, %target, "send failed"),
            }
        }
        Ok(())
    }

    /// Logs the role's events and tells the session what it must know; `measured_at` anchors
    /// a new mapping.
    fn drain_events(&mut self, measured_at: Time) {
        while let Some(event) = self.receiver.poll_event() {
            match event {
                ReceiverEvent::GrandmasterChanged { grandmaster } => {
                    match grandmaster {
                        Some(gm) => tracing::info!(
                            grandmaster = %gm.identity.dotted(),
                            address = %gm.address,
                            "following grandmaster"
                        ),
                        None => match self.receiver.held_grandmaster() {
                            Some(held) => tracing::info!(
                                grandmaster = %held.identity.dotted(),
                                stalled = self.receiver.stalled(),
                                "grandmaster silent: held"
                            ),
                            None => tracing::info!("no grandmaster among the timing peers"),
                        },
                    }
                    self.session.on_grandmaster_changed(&self.receiver);
                    if self.session.holding() {
                        tracing::info!("the held grandmaster's record stays published");
                    }
                }
                ReceiverEvent::HoldoverEnded { identity, .. } => {
                    tracing::info!(grandmaster = %identity.dotted(), "held grandmaster not back: forgotten");
                    self.session.on_grandmaster_changed(&self.receiver);
                }
                ReceiverEvent::MappingUpdated { mapping, stepped } => {
                    tracing::trace!(rate_ppb = mapping.rate_ppb(), stepped, "mapping updated");
                    self.session
                        .on_mapping_updated(measured_at, &mut self.receiver);
                }
                ReceiverEvent::MeasurementRestarted { .. } => {
                    tracing::info!("measurement restarted: the next Sync locks afresh");
                    self.session.on_measurement_restarted();
                }
                ReceiverEvent::StateChanged { from, to, .. } => {
                    tracing::info!("state {} to {}", from.name_lower(), to.name_lower())
                }
                ReceiverEvent::GrandmasterStalled { identity, .. } => {
                    tracing::info!(grandmaster = %identity.dotted(), "grandmaster clock stalled")
                }
                ReceiverEvent::GrandmasterResumed { identity } => {
                    tracing::info!(grandmaster = %identity.dotted(), "grandmaster clock resumed")
                }
                other => tracing::debug!(?other, "receiver event"),
            }
        }
    }

    /// Writes the record when it changed, and the status snapshot.
    fn publish(&mut self, now: Time) {
        let record = self.session.record(&self.receiver);
        if record != self.published {
            self.publisher.publish(&record);
            self.published = record;
            self.publications += 1;
        }
        let status = self.receiver.status(now);
        let control = self.stats.snapshot();
        let session = &self.session;
        let publications = self.publications;
        self.status.send_modify(|snapshot| {
            snapshot.state = status.state;
            snapshot.grandmaster = status.grandmaster.map(|gm| gm.identity);
            snapshot.grandmaster_address = status.grandmaster.map(|gm| gm.address);
            snapshot.held_grandmaster = status.held_grandmaster.map(|gm| gm.identity);
            snapshot.offset_ns = status.offset_ns;
            snapshot.rate_ppb = status.rate_ppb;
            snapshot.path_delay_ns = status.path_delay_ns;
            snapshot.error_bound_ns = status.error_bound_ns;
            snapshot.two_way = status.two_way;
            snapshot.stalled = status.stalled;
            if snapshot.timing_peers != session.timing_peers() {
                snapshot.timing_peers = session.timing_peers().to_vec();
            }
            snapshot.playing = session.playing();
            snapshot.record = record;
            snapshot.publications = publications;
            snapshot.relocks = session.relocks();
            snapshot.control = control;
            snapshot.receiver = status.counters;
            snapshot.updated_at_ns = wrapping_nanos(now);
        });
    }
}

/// The source address as the control protocol names it (an IPv4-mapped IPv6 address as IPv4).
fn canonical(source: SocketAddr) -> IpAddr {
    match source.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

async fn recv_optional(socket: Option<&PtpSocket>) -> Result<Received, TransportError> {
    match socket {
        Some(socket) => socket.recv().await,
        None => std::future::pending().await,
    }
}

/// The time from `now` to `deadline` (zero when it passed).
fn until(deadline: Time, now: Time) -> Duration {
    let nanos = deadline.since(now).nanos_floor();
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}
