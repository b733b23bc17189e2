//! The driver task: moves datagrams, kernel timestamps and timers between a [`PtpSocket`] and
//! the [`Engine`], and publishes what the engine reports. No protocol logic lives here.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aptp_clock::Time;
use aptp_transport::{MulticastGroup, PtpSocket, TransportError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::local_clock::to_time;
use super::{LocalClock, NodeEvent, Status};
use crate::engine::{Destination, Engine, Event, Measurement, PortKind, Transmit};

/// How long the driver pauses after a receive error before receiving again, so a socket that
/// fails persistently cannot spin a core.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What the application asks of a running node (through [`Node`](super::Node)'s methods).
#[derive(Debug)]
pub(crate) enum Command {
    /// Replace the unicast peers.
    SetUnicastPeers(Vec<IpAddr>),
    /// Disable the port (DISABLED) or enable it again.
    SetEnabled(bool),
}

/// The driver's state: the engine, the socket and the channels it publishes on.
pub(crate) struct Driver {
    pub(crate) engine: Engine<IpAddr>,
    pub(crate) socket: PtpSocket,
    pub(crate) local_clock: LocalClock,
    /// The event and general ports actually bound (the kernel's choice when 0 was asked).
    pub(crate) event_port: u16,
    pub(crate) general_port: u16,
    pub(crate) status: watch::Sender<Status>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    /// The latest Sync exchange, for the status.
    pub(crate) last_measurement: Option<Measurement>,
}

impl Driver {
    /// Runs until `shutdown` fires or its sender is dropped. Fails only when the local clock
    /// cannot be read any more.
    pub(crate) async fn run(
        mut self,
        mut shutdown: oneshot::Receiver<()>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) -> Result<(), TransportError> {
        loop {
            let now = self.now()?;
            self.flush_transmits(now).await?;
            self.drain_events();
            self.publish(now);
            let sleep = match self.engine.poll_timeout() {
                Some(deadline) => Some(until(deadline, self.now()?)),
                None => None,
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                Some(command) = commands.recv() => {
                    let now = self.now()?;
                    self.apply(now, command);
                }
                received = self.socket.recv() => match received {
                    Ok(received) => {
                        let now = self.now()?;
                        self.engine.handle_datagram(
                            now,
                            &received.data,
                            received.source.ip(),
                            engine_port(received.port),
                            to_time(received.rx_timestamp.time),
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, "receive failed");
                        tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
                    }
                },
                () = sleep_or_forever(sleep) => {
                    let now = self.now()?;
                    self.engine.handle_timeout(now);
                }
            }
        }
        tracing::info!("node stopped");
        Ok(())
    }

    fn apply(&mut self, now: Time, command: Command) {
        match command {
            Command::SetUnicastPeers(peers) => {
                let asked = peers.len();
                let kept = self.engine.set_unicast_peers(peers);
                tracing::info!(asked, kept, "unicast peers set");
            }
            Command::SetEnabled(false) => {
                self.engine.disable(now);
                tracing::info!("port disabled");
            }
            Command::SetEnabled(true) => {
                self.engine.enable(now);
                tracing::info!("port enabled");
            }
        }
    }

    fn now(&self) -> Result<Time, TransportError> {
        self.local_clock.now()
    }

    /// Sends everything the engine queued; each event message's transmit timestamp goes back
    /// to the engine at once (its Follow_Up is then queued and sent in the same flush).
    async fn flush_transmits(&mut self, now: Time) -> Result<(), TransportError> {
        while let Some(transmit) = self.engine.poll_transmit(now) {
            let Transmit {
                destination,
                port,
                bytes,
                timestamp_token,
            } = transmit;
            let address = self.address(destination, port);
            let sent = match port {
                PortKind::Event => self.socket.send_event(&bytes, address).await.map(Some),
                PortKind::General => self
                    .socket
                    .send_general(&bytes, address)
                    .await
                    .map(|()| None),
            };
            match sent {
                Ok(tx_timestamp) => {
                    if let (Some(token), Some(tx)) = (timestamp_token, tx_timestamp) {
                        let now = self.now()?;
                        self.engine
                            .handle_transmit_timestamp(now, token, to_time(tx.time));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, %address, port = port_name(port), "send failed");
                    if !matches!(destination, Destination::Unicast(_)) {
                        // The multicast group is the port's whole link: it is down.
                        self.engine.handle_fault(self.now()?);
                    }
                }
            }
        }
        Ok(())
    }

    fn address(&self, destination: Destination<IpAddr>, port: PortKind) -> SocketAddr {
        let family = self.socket.config().bind_address;
        let ip = match destination {
            Destination::Multicast => MulticastGroup::Primary.address_like(family),
            Destination::PeerDelayMulticast => MulticastGroup::PeerDelay.address_like(family),
            Destination::Unicast(ip) => ip,
        };
        let number = match port {
            PortKind::Event => self.event_port,
            PortKind::General => self.general_port,
        };
        SocketAddr::new(ip, number)
    }

    /// Logs each engine event where an operator greps for it, and broadcasts it.
    fn drain_events(&mut self) {
        while let Some(event) = self.engine.poll_event() {
            match &event {
                Event::StateChanged { from, to, .. } => {
                    tracing::info!(from = %from, to = %to, "port state changed: {from} to {to}");
                }
                Event::MasterChanged {
                    master: Some(master),
                } => tracing::info!(
                    grandmaster = %master.grandmaster_identity.dotted(),
                    parent = %master.parent_port_identity,
                    address = %master.address,
                    "selected master"
                ),
                Event::MasterChanged { master: None } => tracing::info!("no master selected"),
                Event::Measurement(measurement) => {
                    self.last_measurement = Some(*measurement);
                    tracing::trace!(
                        offset_from_master_ns =
                            measurement.offset_from_master.map(|d| d.as_nanos_f64()),
                        path_delay_ns = measurement.mean_path_delay.map(|d| d.as_nanos_f64()),
                        accepted = measurement.accepted,
                        "measurement"
                    )
                }
                Event::MappingUpdated(mapping) => {
                    tracing::debug!(rate_ppb = mapping.rate_ppb(), "mapping updated")
                }
                Event::StepDetected { step_ns } => {
                    tracing::warn!(step_ns, "clock step detected; estimator restarted")
                }
                Event::MasterRestarted {
                    previous_sequence_id,
                    sequence_id,
                } => tracing::warn!(
                    previous_sequence_id,
                    sequence_id,
                    "master restarted: its Sync sequenceIds started again"
                ),
                Event::Stalled { late_ns } => tracing::warn!(
                    late_ns,
                    "called {late_ns} ns after the wake-up asked for: suspended or stalled"
                ),
                Event::Fault { reason } => tracing::error!(?reason, "port faulty"),
                Event::Dropped { reason, total } => {
                    tracing::debug!(reason = reason.name(), total, "datagrams dropped")
                }
            }
            // Nobody subscribed is fine: the status watch carries the state anyway.
            let _ = self.events.send(event);
        }
    }

    fn publish(&mut self, now: Time) {
        let engine = &self.engine;
        let transport = self.socket.counters();
        let last_measurement = self.last_measurement;
        self.status.send_modify(|status| {
            status.state = engine.state();
            status.master = engine.master();
            status.mapping = engine.mapping();
            status.quality = engine.mapping_quality();
            status.path_delay_ns = engine.path_delay_ns();
            status.counters = engine.counters().clone();
            status.transport = transport;
            status.last_measurement = last_measurement;
            status.updated_at = Some(now);
        });
    }
}

/// The engine's name for a transport port.
pub(crate) fn engine_port(port: aptp_transport::PortKind) -> PortKind {
    match port {
        aptp_transport::PortKind::Event => PortKind::Event,
        aptp_transport::PortKind::General => PortKind::General,
    }
}

fn port_name(port: PortKind) -> &'static str {
    match port {
        PortKind::Event => "event",
        PortKind::General => "general",
    }
}

/// The time from `now` to `deadline` on the local clock (zero when it passed).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_is_zero_for_past_deadlines() {
        let now = Time::from_nanos(2_000);
        assert_eq!(until(Time::from_nanos(1_000), now), Duration::ZERO);
        assert_eq!(
            until(Time::from_nanos(3_500), now),
            Duration::from_nanos(1_500)
        );
    }
}
