//! What every part of the daemon shares: the session registry, the event channel, counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use aptp::client::protocol::{Event, SUPPORTED_PROTOCOLS};
use aptp::client::{DaemonStatus, InterfaceStatus, PortStatus};
use tokio::sync::{broadcast, Notify};

use crate::sessions::{RecordPolicy, Registry, RegistryLimits};

/// How many events a slow subscriber may fall behind before it is told it lagged.
pub const EVENT_BACKLOG: usize = 1024;

/// The daemon's shared state. Every lock is held for a few map operations, never across an
/// `.await`.
#[derive(Debug)]
pub struct DaemonState {
    registry: Mutex<Registry>,
    events: broadcast::Sender<Event>,
    leases_changed: Notify,
    ports: Mutex<Vec<PortStatus>>,
    interfaces: Mutex<Vec<InterfaceStatus>>,
    socket_path: PathBuf,
    started_at: Instant,
    requests_refused: AtomicU64,
    suspends: AtomicU64,
}

impl DaemonState {
    /// A daemon with no sessions, listening at `socket_path`.
    pub fn new(socket_path: PathBuf, limits: RegistryLimits, records: RecordPolicy) -> DaemonState {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        DaemonState {
            registry: Mutex::new(Registry::new(limits, records)),
            events,
            leases_changed: Notify::new(),
            ports: Mutex::new(Vec::new()),
            interfaces: Mutex::new(Vec::new()),
            socket_path,
            started_at: Instant::now(),
            requests_refused: AtomicU64::new(0),
            suspends: AtomicU64::new(0),
        }
    }

    /// The registry, locked. A panic while it was held cannot leave it half changed (each
    /// registry call changes it in one step), so a poisoned lock is taken over.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends `events` to every subscriber (none listening is fine).
    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            let _ = self.events.send(event);
        }
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Wakes the lease reaper: a lease was added or moved.
    pub fn leases_changed(&self) {
        self.leases_changed.notify_one();
    }

    /// Waits until [`DaemonState::leases_changed`] is called.
    pub async fn wait_leases_changed(&self) {
        self.leases_changed.notified().await;
    }

    /// Ends the sessions whose leases ran out by `now` and publishes their events.
    pub fn expire(&self, now: Instant) -> usize {
        let ended = self.registry().expire(now);
        let count = ended.len();
        self.publish(ended);
        count
    }

    /// Replaces the PTP ports shown in the status.
    pub fn set_ports(&self, ports: Vec<PortStatus>) {
        *self
            .ports
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ports;
    }

    /// Replaces the interfaces shown in the status.
    pub fn set_interfaces(&self, interfaces: Vec<InterfaceStatus>) {
        *self
            .interfaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = interfaces;
    }

    /// Counts a refused request.
    pub fn count_refused(&self) {
        self.requests_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a suspend of the host.
    pub fn count_suspend(&self) {
        self.suspends.fetch_add(1, Ordering::Relaxed);
    }

    /// The status as `aptp status` shows it.
    pub fn status(&self, now: Instant) -> DaemonStatus {
        let ports = self
            .ports
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let interfaces = self
            .interfaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let registry = self.registry();
        DaemonStatus {
            server: "aptp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocols: SUPPORTED_PROTOCOLS.to_vec(),
            socket: self.socket_path.display().to_string(),
            uptime_ms: u64::try_from(now.saturating_duration_since(self.started_at).as_millis())
                .unwrap_or(u64::MAX),
            max_sessions: registry.limits().max_sessions,
            ports,
            interfaces,
            sessions: registry.statuses(now),
            sessions_opened: registry.opened_total(),
            sessions_expired: registry.expired_total(),
            requests_refused: self.requests_refused.load(Ordering::Relaxed),
            suspends: self.suspends.load(Ordering::Relaxed),
        }
    }
}
