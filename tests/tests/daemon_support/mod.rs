//! A daemon on a socket in a directory of its own, run on a thread of its own, stopped and
//! cleaned up on drop (even when the test fails).

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aptp_service::daemon::{Daemon, DaemonConfig, DaemonState, PtpPorts};
use aptp_service::sessions::{RecordPolicy, RegistryLimits};
use tokio::sync::oneshot;

/// A running daemon.
pub struct TestDaemon {
    pub directory: PathBuf,
    pub socket: PathBuf,
    pub state: Arc<DaemonState>,
    /// Where nqptp's control protocol is served, if it is.
    pub control: Option<std::net::SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestDaemon {
    pub fn start(limits: RegistryLimits, records: RecordPolicy) -> TestDaemon {
        TestDaemon::start_with(limits, records, None)
    }

    /// With PTP ports (the session backends run).
    pub fn start_with(
        limits: RegistryLimits,
        records: RecordPolicy,
        ptp: Option<PtpPorts>,
    ) -> TestDaemon {
        TestDaemon::start_full(limits, records, ptp, None)
    }

    /// With PTP ports and nqptp's control protocol at `nqptp_control`.
    pub fn start_full(
        limits: RegistryLimits,
        records: RecordPolicy,
        ptp: Option<PtpPorts>,
        nqptp_control: Option<std::net::SocketAddr>,
    ) -> TestDaemon {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let directory = std::env::temp_dir().join(format!(
            "aptp-daemon-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let socket = directory.join("run").join("aptp.sock");
        let config = DaemonConfig {
            socket_path: socket.clone(),
            socket_mode: 0o666,
            interfaces: Vec::new(),
            limits,
            records,
            ptp,
            nqptp_control,
        };
        let (ready_sender, ready) = std::sync::mpsc::channel();
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let daemon = Daemon::bind(config).unwrap();
                ready_sender
                    .send((daemon.state(), daemon.nqptp_control_address()))
                    .unwrap();
                daemon
                    .run(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        let (state, control) = ready
            .recv_timeout(Duration::from_secs(10))
            .expect("daemon did not start");
        TestDaemon {
            directory,
            socket,
            state,
            control,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn default_limits() -> TestDaemon {
        TestDaemon::start(RegistryLimits::default(), RecordPolicy::None)
    }

    /// Polls `condition` every 10 ms for at most `limit`; true when it held.
    pub fn wait_for(
        &self,
        limit: Duration,
        mut condition: impl FnMut(&DaemonState) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if condition(&self.state) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        condition(&self.state)
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// True when tests that need root and namespaces must run (CI=true makes a missing one fail).
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}
