//! [`NsChild`]: a process started in a namespace, with captured output, ended on drop.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::LabError;

/// A child process in a namespace. Dropping it ends it if it still runs (SIGTERM, then
/// SIGKILL after a grace period).
pub struct NsChild {
    child: Child,
    description: String,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

impl NsChild {
    pub(super) fn new(mut child: Child, description: String) -> Self {
        // Read both pipes while the child runs, so a chatty child never blocks on a full pipe.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Self {
            child,
            description,
            stdout,
            stderr,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the child exits or `timeout` passes (then ends it, as a drop does, and
    /// returns [`LabError::Timeout`] with the output so far).
    pub fn wait_with_output(mut self, timeout: Duration) -> Result<Output, LabError> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(error) => {
                    return Err(LabError::Command {
                        command: self.description.clone(),
                        detail: error.to_string(),
                    })
                }
            }
        };
        let status = match status {
            Some(status) => status,
            None => {
                self.end_group();
                let status = self.child.wait().ok();
                let output = self.collect(status.unwrap_or_else(failed_status));
                return Err(LabError::Timeout {
                    command: self.description.clone(),
                    output,
                });
            }
        };
        Ok(self.collect(status))
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        let join = |handle: Option<JoinHandle<Vec<u8>>>| {
            handle
                .and_then(|handle| handle.join().ok())
                .unwrap_or_default()
        };
        Output {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

fn failed_status() -> ExitStatus {
    ExitStatus::from_raw(9)
}

/// How long a child has to end after SIGTERM when dropped, before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

impl NsChild {
    /// Sends `signal` (`TERM`, `KILL`) to the child's process group (the child and
    /// everything it started).
    fn signal_group(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), "--", &group])
            .status();
    }

    /// Ends the child's process group: SIGTERM and [`GRACE`] to exit, so that the daemons
    /// remove what they made outside the namespace (their sessions' shared memory in
    /// /dev/shm, ptp4l its socket), which a SIGKILL leaves behind run after run; then
    /// SIGKILL if it is still there.
    fn end_group(&mut self) {
        self.signal_group("TERM");
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal_group("KILL");
        let _ = self.child.kill();
    }
}

impl Drop for NsChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.end_group();
            let _ = self.child.wait();
        }
    }
}
