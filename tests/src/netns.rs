//! Network namespaces as test hosts: a reusable fixture.
//!
//! A [`Lab`] is a small network of Linux network namespaces ("hosts") wired with veth pairs,
//! either directly ([`Lab::pair`]) or through a bridge ([`Lab::bridge`], N hosts on one
//! segment, the bridge itself living in a namespace of its own). Every host gets:
//!
//! - one interface named [`INTERFACE`] (`veth0`), up, with `lo` up too;
//! - `192.0.2.(i+1)/24` and `2001:db8::(i+1)/64` (documentation ranges, RFC 5737 / 3849;
//!   IPv6 without duplicate address detection, so the address is usable at once);
//! - a multicast route `224.0.0.0/4 dev veth0`, so PTP's IPv4 groups work without naming the
//!   interface (IPv6 multicast is routed per interface by the kernel already).
//!
//! Nothing is created in the machine's own namespace: veth ends are created directly inside
//! their namespaces (`ip link add … netns …`), so names never collide with the host or with
//! other tests running in parallel. Namespace names are unique per process and fixture
//! (`aptp-<pid>-<n>-<role>`).
//!
//! Dropping the [`Lab`] kills the processes still running in its namespaces and deletes the
//! namespaces (and with them every interface), also when the test panicked.
//!
//! Code runs inside a host as a child process: [`Host::command`] wraps
//! `ip netns exec <namespace> <program>`; [`Host::spawn`] returns a [`NsChild`] that is ended
//! (SIGTERM, then SIGKILL) if dropped while running; [`Host::run`] runs to completion with a timeout. To run Rust test
//! code in a namespace, re-execute the test binary ([`std::env::current_exe`]) with
//! `--exact <helper test> --ignored` and pass parameters in environment variables (see
//! `tests/tests/transport_netns.rs`).
//!
//! Tests must not skip silently: [`lab_or_skip`] prints why and skips only when namespaces
//! cannot work at all here (not root, no `ip`, no netns support), and panics instead when the
//! environment variable `CI` is `true`.
//!
//! ```no_run
//! use aptp_tests::netns::{lab_or_skip, Lab};
//! let Some(lab) = lab_or_skip(Lab::pair(), "my_test") else { return };
//! let a = lab.host(0);
//! let b = lab.host(1);
//! // Run any program inside host a, e.g. `ip addr` (or this test binary re-executed).
//! let output = a.run("ip", ["-br", "addr"], std::time::Duration::from_secs(5)).unwrap();
//! assert!(String::from_utf8_lossy(&output.stdout).contains(&a.ipv4.to_string()));
//! # let _ = b;
//! ```

mod child;

pub use child::NsChild;

use std::ffi::OsStr;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The interface name every host has.
pub const INTERFACE: &str = "veth0";

/// Why a lab could not be built or a command failed.
#[derive(Debug)]
pub enum LabError {
    /// Namespaces cannot work here at all (not root, no `ip`, no netns support): a reason to
    /// skip, except on CI.
    Unavailable(String),
    /// A command failed although namespaces work: a real failure.
    Command {
        /// The command line.
        command: String,
        /// Its exit status and standard error.
        detail: String,
    },
    /// A child did not finish in time (it was killed); its output so far is kept.
    Timeout {
        /// The command line.
        command: String,
        /// Standard output and error captured before the kill.
        output: Output,
    },
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::Unavailable(reason) => write!(f, "network namespaces unavailable: {reason}"),
            LabError::Command { command, detail } => write!(f, "`{command}` failed: {detail}"),
            LabError::Timeout { command, output } => write!(
                f,
                "`{command}` timed out; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

impl std::error::Error for LabError {}

/// Whether the environment variable `CI` says we run on CI (where skipping is a failure).
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value.eq_ignore_ascii_case("true") || value == "1")
}

/// The lab, or `None` after printing why the test is skipped. Panics when the lab failed for
/// another reason than namespaces being unavailable, and on CI (`CI=true`) always.
pub fn lab_or_skip(lab: Result<Lab, LabError>, test: &str) -> Option<Lab> {
    match lab {
        Ok(lab) => Some(lab),
        Err(LabError::Unavailable(reason)) if !on_ci() => {
            eprintln!("SKIPPED {test}: network namespaces unavailable: {reason}");
            None
        }
        Err(error) => panic!("{test}: cannot build the namespace lab: {error}"),
    }
}

/// A test host: one network namespace with one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The namespace's name (for `ip netns exec`, `ip -n`).
    pub namespace: String,
    /// The interface's name inside the namespace ([`INTERFACE`]).
    pub interface: String,
    /// The host's IPv4 address, `192.0.2.(i+1)`.
    pub ipv4: Ipv4Addr,
    /// The host's IPv6 address, `2001:db8::(i+1)`.
    pub ipv6: Ipv6Addr,
}

impl Host {
    /// `ip netns exec <namespace> <program>`: add arguments, environment, pipes as usual.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace])
            .arg(program);
        command
    }

    /// Spawns `command` (built with [`Host::command`]) with stdout and stderr captured.
    pub fn spawn(&self, mut command: Command) -> Result<NsChild, LabError> {
        let description = describe(&command);
        // Its own process group, so a timeout or drop ends its children too (a shell's
        // `sleep` would otherwise hold the output pipes open).
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| LabError::Command {
                command: description.clone(),
                detail: error.to_string(),
            })?;
        Ok(NsChild::new(child, description))
    }

    /// Runs `program args…` in the namespace to completion (killed after `timeout`) and
    /// returns its output, whatever its exit status.
    pub fn run<I, S>(&self, program: &str, args: I, timeout: Duration) -> Result<Output, LabError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command(program);
        command.args(args);
        self.spawn(command)?.wait_with_output(timeout)
    }

    /// Runs `ip -n <namespace> <args…>` and fails unless it succeeds.
    pub fn ip<I, S>(&self, args: I) -> Result<(), LabError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new("ip");
        command.arg("-n").arg(&self.namespace).args(args);
        run_checked(command)
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn run_checked(mut command: Command) -> Result<(), LabError> {
    let description = describe(&command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| LabError::Command {
            command: description.clone(),
            detail: error.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: description,
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

fn ip<I, S>(args: I) -> Result<(), LabError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new("ip");
    command.args(args);
    run_checked(command)
}

/// Whether this process can create network namespaces; the reason if not.
pub fn check_available() -> Result<(), LabError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned));
    if euid.as_deref() != Some("0") {
        return Err(LabError::Unavailable(format!(
            "needs root (effective uid {})",
            euid.unwrap_or_else(|| "unknown".into())
        )));
    }
    match Command::new("ip").arg("-V").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(LabError::Unavailable(format!(
            "`ip -V` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
        Err(error) => Err(LabError::Unavailable(format!(
            "the `ip` tool (iproute2) cannot run: {error}"
        ))),
    }
}

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A set of namespaces wired together; deleted on drop. See the [module docs](self).
pub struct Lab {
    hosts: Vec<Host>,
    /// The bridge's namespace ([`Lab::bridge`] only).
    hub: Option<String>,
    /// Every namespace created (hosts, and the hub of a bridge), for deletion.
    namespaces: Vec<String>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("namespaces", &self.namespaces)
            .finish()
    }
}

impl Lab {
    /// Two hosts joined by one veth pair.
    pub fn pair() -> Result<Lab, LabError> {
        let mut lab = Lab::empty()?;
        let prefix = lab.prefix();
        let a = lab.add_namespace(&format!("{prefix}-a"))?;
        let b = lab.add_namespace(&format!("{prefix}-b"))?;
        ip([
            "-n", &a, "link", "add", INTERFACE, "type", "veth", "peer", "name", INTERFACE, "netns",
            &b,
        ])?;
        lab.configure_host(&a, 0)?;
        lab.configure_host(&b, 1)?;
        lab.wait_for_carrier()?;
        Ok(lab)
    }

    /// `hosts` hosts on one Ethernet segment: each host's `veth0` is paired with a port of a
    /// bridge (multicast snooping off, so multicast floods like on a plain switch) that lives
    /// in a namespace of its own.
    pub fn bridge(hosts: usize) -> Result<Lab, LabError> {
        if !(1..=250).contains(&hosts) {
            return Err(LabError::Command {
                command: format!("Lab::bridge({hosts})"),
                detail: "between 1 and 250 hosts".into(),
            });
        }
        let mut lab = Lab::empty()?;
        let prefix = lab.prefix();
        let hub = lab.add_namespace(&format!("{prefix}-hub"))?;
        lab.hub = Some(hub.clone());
        let hub_host = Host {
            namespace: hub.clone(),
            interface: "br0".into(),
            ipv4: Ipv4Addr::UNSPECIFIED,
            ipv6: Ipv6Addr::UNSPECIFIED,
        };
        hub_host.ip([
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
        ])?;
        hub_host.ip(["link", "set", "br0", "up"])?;
        for index in 0..hosts {
            let namespace = lab.add_namespace(&format!("{prefix}-h{index}"))?;
            let port = format!("p{index}");
            hub_host.ip([
                "link", "add", &port, "type", "veth", "peer", "name", INTERFACE, "netns",
                &namespace,
            ])?;
            hub_host.ip(["link", "set", &port, "master", "br0"])?;
            hub_host.ip(["link", "set", &port, "up"])?;
            lab.configure_host(&namespace, index)?;
        }
        lab.wait_for_carrier()?;
        Ok(lab)
    }

    /// All hosts, in creation order (host `i` has `192.0.2.(i+1)`).
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Host `index`. Panics if there is no such host (a test bug).
    pub fn host(&self, index: usize) -> &Host {
        &self.hosts[index]
    }

    /// Takes the bridge port of host `index` down (`up` false) or up again: the host's cable
    /// pulled at the switch. The host keeps its addresses and routes; its interface loses
    /// carrier. Only for a [`Lab::bridge`].
    pub fn set_bridge_port(&self, index: usize, up: bool) -> Result<(), LabError> {
        let Some(hub) = &self.hub else {
            return Err(LabError::Command {
                command: format!("set_bridge_port({index})"),
                detail: "not a bridge lab".into(),
            });
        };
        let port = format!("p{index}");
        ip([
            "-n",
            hub.as_str(),
            "link",
            "set",
            port.as_str(),
            if up { "up" } else { "down" },
        ])
    }

    fn empty() -> Result<Lab, LabError> {
        check_available()?;
        Ok(Lab {
            hosts: Vec::new(),
            hub: None,
            namespaces: Vec::new(),
        })
    }

    fn prefix(&self) -> String {
        format!(
            "aptp-{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn add_namespace(&mut self, name: &str) -> Result<String, LabError> {
        // A namespace of this name can only be left over from a crashed process that had our
        // pid; it is ours to replace.
        if std::path::Path::new("/run/netns").join(name).exists() {
            let _ = ip(["netns", "del", name]);
        }
        ip(["netns", "add", name]).map_err(|error| match error {
            // The very first namespace failing means namespaces do not work here.
            LabError::Command { detail, .. } if self.namespaces.is_empty() => {
                LabError::Unavailable(format!("`ip netns add` failed: {detail}"))
            }
            other => other,
        })?;
        self.namespaces.push(name.to_owned());
        Ok(name.to_owned())
    }

    fn configure_host(&mut self, namespace: &str, index: usize) -> Result<(), LabError> {
        // index < 250 (checked by the constructors), so index + 1 fits an octet.
        let octet = u8::try_from(index + 1).unwrap_or(u8::MAX);
        let host = Host {
            namespace: namespace.to_owned(),
            interface: INTERFACE.to_owned(),
            ipv4: Ipv4Addr::new(192, 0, 2, octet),
            ipv6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(octet)),
        };
        host.ip(["link", "set", "lo", "up"])?;
        host.ip([
            "addr",
            "add",
            &format!("{}/24", host.ipv4),
            "dev",
            INTERFACE,
        ])?;
        host.ip([
            "addr",
            "add",
            &format!("{}/64", host.ipv6),
            "dev",
            INTERFACE,
            "nodad",
        ])?;
        host.ip(["link", "set", INTERFACE, "up"])?;
        host.ip(["route", "add", "224.0.0.0/4", "dev", INTERFACE])?;
        self.hosts.push(host);
        Ok(())
    }

    /// Waits until every host's interface reports carrier (both veth ends up).
    fn wait_for_carrier(&self) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        for host in &self.hosts {
            loop {
                let output = Command::new("ip")
                    .args(["-n", &host.namespace, "-o", "link", "show", INTERFACE])
                    .output()
                    .map_err(|error| LabError::Command {
                        command: format!("ip -n {} link show", host.namespace),
                        detail: error.to_string(),
                    })?;
                if String::from_utf8_lossy(&output.stdout).contains("LOWER_UP") {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(LabError::Command {
                        command: format!("ip -n {} link show {INTERFACE}", host.namespace),
                        detail: "no carrier after 5 s".into(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for namespace in self.namespaces.iter().rev() {
            // Processes still inside keep the namespace's interfaces alive: end them (by the
            // pids the kernel lists for this namespace, which only we created).
            if let Ok(output) = Command::new("ip")
                .args(["netns", "pids", namespace])
                .output()
            {
                for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            if let Err(error) = ip(["netns", "del", namespace.as_str()]) {
                eprintln!("netns fixture: could not delete {namespace}: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
