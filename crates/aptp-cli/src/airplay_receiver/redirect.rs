//! `--redirect-from-standard-ports`: nftables rules that hand the timing peers' PTP datagrams,
//! addressed to 319/320 (held by another PTP daemon such as ptp4l), to the receiver's own
//! ports, and leave every other datagram to that daemon.
//!
//! The rules rewrite the UDP destination port in a `prerouting` chain at `raw` priority,
//! statelessly (`notrack`), before the kernel looks up the receiving socket. Why not the
//! alternatives:
//! - a relay socket on 319/320 cannot be bound beside ptp4l with `SO_REUSEPORT` (ptp4l does not
//!   set it: `EADDRINUSE`), and with `SO_REUSEADDR` (which ptp4l sets) the kernel hands each
//!   unicast datagram to one of the sockets whatever its source, so the relay would take
//!   ptp4l's unicast traffic too;
//! - a NAT `redirect` is decided on a flow's first packet and kept in its conntrack entry, which
//!   a peer sending 8 Sync a second never lets expire: a receiver restarted on other ports would
//!   keep receiving nothing. The stateless rewrite applies the current rules to every packet.
//!
//! The kernel's software receive timestamp is taken when the driver hands the packet up, before
//! netfilter runs, so timestamps are unaffected. Replies (Delay_Req, the Announce that wakes a
//! stalled grandmaster) leave from the receiver's own ports: they only ever go to the
//! grandmaster, an Apple or aptp sender, which answers whatever the source port (Delay_Resp
//! comes to 320 and is rewritten too); nqptp, the one peer that insists on 319→319, is never a
//! grandmaster.
//!
//! One table per network namespace, [`TABLE`]: installing replaces it whole in one nft
//! transaction (so rules left by a killed receiver go), dropping the [`Installed`] guard
//! deletes it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use aptp::airplay::runtime::PeerPorts;

/// The nftables table (family `inet`) the rules live in.
pub const TABLE: &str = "aptp_airplay_receiver";

/// PTP's own ports, which the rules redirect from.
const STANDARD: PeerPorts = PeerPorts {
    event: 319,
    general: 320,
};

/// Why the rules could not be made or installed.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// The receiver's ports are 319/320 themselves: nothing to redirect.
    #[error(
        "--redirect-from-standard-ports needs the receiver on other ports than 319/320 \
         (--event-port 0 --general-port 0 for any free ones)"
    )]
    StandardPorts,
    /// The rules can only be printed for ports chosen in advance.
    #[error(
        "--print-redirect-rules needs chosen ports (--event-port N --general-port M, not 0 and \
         not 319/320): ephemeral ones are only known once bound"
    )]
    UnchosenPorts,
    /// An interface name nft could not take literally.
    #[error("interface name {0:?} cannot go into an nft rule")]
    InterfaceName(String),
    /// `nft` could not be started.
    #[error("cannot run `nft` (package nftables): {0}; apply these rules as root instead:\n{1}")]
    Spawn(std::io::Error, String),
    /// `nft` refused the rules (typically: no CAP_NET_ADMIN).
    #[error("`nft -f -` failed ({0}): {1}; apply these rules as root instead:\n{2}")]
    Refused(std::process::ExitStatus, String, String),
}

/// The redirect for one receiver: its peers, its ports, optionally its interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectRules {
    peers: Vec<IpAddr>,
    ports: PeerPorts,
    interface: Option<String>,
}

impl RedirectRules {
    /// Rules sending `peers`' datagrams for 319/320 to `ports` (arriving on `interface` only,
    /// if given). Peers are taken in canonical form (an IPv4-mapped IPv6 address is IPv4).
    pub fn new(
        peers: impl IntoIterator<Item = IpAddr>,
        ports: PeerPorts,
        interface: Option<String>,
    ) -> Result<RedirectRules, RedirectError> {
        if ports.event == STANDARD.event
            || ports.general == STANDARD.general
            || ports.event == STANDARD.general
            || ports.general == STANDARD.event
        {
            return Err(RedirectError::StandardPorts);
        }
        if let Some(name) = &interface {
            let literal = |c: char| c.is_ascii_alphanumeric() || "._-@:".contains(c);
            if name.is_empty() || !name.chars().all(literal) {
                return Err(RedirectError::InterfaceName(name.clone()));
            }
        }
        let mut peers: Vec<IpAddr> = peers.into_iter().map(|ip| ip.to_canonical()).collect();
        peers.sort_unstable();
        peers.dedup();
        Ok(RedirectRules {
            peers,
            ports,
            interface,
        })
    }

    /// The nft script: replaces [`TABLE`] in one transaction (`nft -f -` applies it).
    pub fn script(&self) -> String {
        let mut script = format!(
            "# aptp airplay-receiver: PTP from the timing peers to 319/320 goes to {}/{}.\n\
             table inet {TABLE} {{}}\n\
             delete table inet {TABLE}\n\
             table inet {TABLE} {{\n\
             \tchain prerouting {{\n\
             \t\ttype filter hook prerouting priority raw; policy accept;\n",
            self.ports.event, self.ports.general
        );
        let interface = self
            .interface
            .as_ref()
            .map(|name| format!("iifname \"{name}\" "))
            .unwrap_or_default();
        for (family, addresses) in [
            ("ip", self.addresses(IpAddr::is_ipv4)),
            ("ip6", self.addresses(IpAddr::is_ipv6)),
        ] {
            let Some(addresses) = addresses else { continue };
            for (from, to) in [
                (STANDARD.event, self.ports.event),
                (STANDARD.general, self.ports.general),
            ] {
                let _ = writeln!(
                    script,
                    "\t\t{interface}{family} saddr {{ {addresses} }} udp dport {from} counter notrack udp dport set {to}"
                );
            }
        }
        script.push_str("\t}\n}\n");
        script
    }

    /// The peers of one family, comma-separated; `None` if there are none.
    fn addresses(&self, family: fn(&IpAddr) -> bool) -> Option<String> {
        let addresses: Vec<String> = self
            .peers
            .iter()
            .filter(|ip| family(ip))
            .map(IpAddr::to_string)
            .collect();
        (!addresses.is_empty()).then(|| addresses.join(", "))
    }

    /// The script for `--print-redirect-rules`, for ports chosen in advance.
    pub fn printable(&self) -> Result<String, RedirectError> {
        if self.ports.event == 0 || self.ports.general == 0 {
            return Err(RedirectError::UnchosenPorts);
        }
        Ok(self.script())
    }

    /// Installs the rules with `nft` (needs CAP_NET_ADMIN); the guard deletes them on drop.
    pub fn install(&self) -> Result<Installed, RedirectError> {
        let script = self.script();
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| RedirectError::Spawn(error, script.clone()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A write error means nft exited early; its status and stderr say why.
            let _ = stdin.write_all(script.as_bytes());
        }
        let output = child
            .wait_with_output()
            .map_err(|error| RedirectError::Spawn(error, script.clone()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(RedirectError::Refused(output.status, stderr, script));
        }
        tracing::info!(table = TABLE, "redirect rules installed:\n{script}");
        Ok(Installed { _private: () })
    }
}

/// Rules installed by [`RedirectRules::install`]; dropping this deletes them.
#[derive(Debug)]
pub struct Installed {
    _private: (),
}

impl Drop for Installed {
    fn drop(&mut self) {
        match Command::new("nft")
            .args(["delete", "table", "inet", TABLE])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(output) if output.status.success() => {
                tracing::info!(table = TABLE, "redirect rules removed");
            }
            Ok(output) => eprintln!(
                "aptp: could not remove the redirect rules (nft delete table inet {TABLE}): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => eprintln!(
                "aptp: could not remove the redirect rules (nft delete table inet {TABLE}): {error}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(event: u16, general: u16) -> PeerPorts {
        PeerPorts { event, general }
    }

    #[test]
    fn rules_rewrite_only_the_peers_datagrams_to_the_bound_ports() {
        let peers = [
            "192.0.2.1".parse().unwrap(),
            "::ffff:192.0.2.9".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
        ];
        let rules = RedirectRules::new(peers, ports(40000, 40001), Some("eth0".into())).unwrap();
        let script = rules.script();
        assert!(script.contains(
            "iifname \"eth0\" ip saddr { 192.0.2.1, 192.0.2.9 } udp dport 319 counter notrack udp dport set 40000\n"
        ), "{script}");
        assert!(script.contains(
            "iifname \"eth0\" ip saddr { 192.0.2.1, 192.0.2.9 } udp dport 320 counter notrack udp dport set 40001\n"
        ), "{script}");
        assert!(
            script.contains(
                "ip6 saddr { 2001:db8::1 } udp dport 319 counter notrack udp dport set 40000\n"
            ),
            "{script}"
        );
        // The whole table is replaced in one transaction.
        assert!(
            script.contains(&format!("delete table inet {TABLE}\n")),
            "{script}"
        );
        assert!(script.contains("priority raw"), "{script}");
    }

    #[test]
    fn a_family_without_peers_has_no_rules() {
        let rules =
            RedirectRules::new(["192.0.2.1".parse().unwrap()], ports(4000, 4001), None).unwrap();
        let script = rules.script();
        assert!(!script.contains("ip6 saddr"), "{script}");
        assert!(!script.contains("iifname"), "{script}");
    }

    #[test]
    fn standard_or_unchosen_ports_are_refused() {
        let peer: [IpAddr; 1] = ["192.0.2.1".parse().unwrap()];
        assert!(matches!(
            RedirectRules::new(peer, ports(319, 40001), None),
            Err(RedirectError::StandardPorts)
        ));
        assert!(matches!(
            RedirectRules::new(peer, ports(320, 319), None),
            Err(RedirectError::StandardPorts)
        ));
        assert!(matches!(
            RedirectRules::new(peer, ports(4000, 4001), Some("eth0\" accept".into())),
            Err(RedirectError::InterfaceName(_))
        ));
        let ephemeral = RedirectRules::new(peer, ports(0, 0), None).unwrap();
        assert!(matches!(
            ephemeral.printable(),
            Err(RedirectError::UnchosenPorts)
        ));
        assert!(RedirectRules::new(peer, ports(10319, 10320), None)
            .unwrap()
            .printable()
            .is_ok());
    }
}
