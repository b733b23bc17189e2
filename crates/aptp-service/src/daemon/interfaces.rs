//! This host's interfaces and their addresses: which peers are this machine (a follower whose
//! peer is local takes a local grandmaster session's clock directly), what `status` lists for
//! each interface, and what changed since the last look (an address change re-acquires the
//! clocks measured through it).
//!
//! Read with getifaddrs(3) once a second rather than from a netlink RTMGRP_*_IFADDR
//! subscription: polling has no message stream to parse or overrun (ENOBUFS would need a full
//! re-dump anyway), needs no privilege, and behaves the same inside a network namespace. The
//! cost is one kernel dump a second and up to a second's delay in noticing a change, short next
//! to the seconds a clock takes to re-acquire.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The addresses of every interface, by interface name.
///
/// ```
/// use std::net::IpAddr;
/// use aptp_service::daemon::LocalAddresses;
/// let host = LocalAddresses::from_pairs([("veth0", "192.0.2.1".parse::<IpAddr>().unwrap())]);
/// assert!(host.is_local("192.0.2.1".parse().unwrap()));
/// assert!(host.is_local("127.0.0.1".parse().unwrap()), "loopback is always this host");
/// assert!(host.is_local("::ffff:192.0.2.1".parse().unwrap()), "IPv4-mapped form");
/// assert!(!host.is_local("192.0.2.2".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAddresses {
    by_interface: BTreeMap<String, BTreeSet<IpAddr>>,
}

/// What changed on one interface between two readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressChange {
    /// The interface.
    pub interface: String,
    /// Addresses it gained.
    pub added: Vec<IpAddr>,
    /// Addresses it lost.
    pub removed: Vec<IpAddr>,
}

impl LocalAddresses {
    /// Reads the host's interfaces now (an interface without addresses is listed too).
    pub fn read() -> std::io::Result<LocalAddresses> {
        let mut by_interface: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
        for entry in nix::ifaddrs::getifaddrs().map_err(std::io::Error::from)? {
            let addresses = by_interface
                .entry(entry.interface_name.clone())
                .or_default();
            let Some(address) = entry.address else {
                continue;
            };
            if let Some(v4) = address.as_sockaddr_in() {
                addresses.insert(IpAddr::V4(v4.ip()));
            } else if let Some(v6) = address.as_sockaddr_in6() {
                addresses.insert(IpAddr::V6(v6.ip()));
            }
        }
        Ok(LocalAddresses { by_interface })
    }

    /// A set made of `(interface, address)` pairs (for tests and examples).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, IpAddr)>) -> LocalAddresses {
        let mut by_interface: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
        for (interface, address) in pairs {
            by_interface
                .entry(interface.to_owned())
                .or_default()
                .insert(canonical_ip(address));
        }
        LocalAddresses { by_interface }
    }

    /// Whether `address` is this host's (a loopback address always is).
    pub fn is_local(&self, address: IpAddr) -> bool {
        let address = canonical_ip(address);
        address.is_loopback()
            || self
                .by_interface
                .values()
                .any(|addresses| addresses.contains(&address))
    }

    /// The addresses of `interface` (none if it does not exist).
    pub fn of(&self, interface: &str) -> Vec<IpAddr> {
        self.by_interface
            .get(interface)
            .map(|addresses| addresses.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The interface holding `address`, if one does.
    pub fn interface_of(&self, address: IpAddr) -> Option<&str> {
        let address = canonical_ip(address);
        self.by_interface
            .iter()
            .find(|(_, addresses)| addresses.contains(&address))
            .map(|(name, _)| name.as_str())
    }

    /// The interface names, sorted.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> {
        self.by_interface.keys().map(String::as_str)
    }

    /// What changed from `earlier` to `self`, interface by interface (an interface that
    /// appeared or vanished shows as addresses added or removed).
    pub fn changes_since(&self, earlier: &LocalAddresses) -> Vec<AddressChange> {
        let names: BTreeSet<&String> = self
            .by_interface
            .keys()
            .chain(earlier.by_interface.keys())
            .collect();
        let empty = BTreeSet::new();
        names
            .into_iter()
            .filter_map(|name| {
                let now = self.by_interface.get(name).unwrap_or(&empty);
                let before = earlier.by_interface.get(name).unwrap_or(&empty);
                let change = AddressChange {
                    interface: name.clone(),
                    added: now.difference(before).copied().collect(),
                    removed: before.difference(now).copied().collect(),
                };
                (!change.added.is_empty() || !change.removed.is_empty()).then_some(change)
            })
            .collect()
    }
}

/// An address as peers are named and compared: an IPv4-mapped IPv6 address as its IPv4
/// address, every other address as it is (IPv6 in its one canonical binary form, so the text
/// `2001:DB8:0::1` and `2001:db8::1` name the same peer).
pub fn canonical_ip(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_live_host_has_a_loopback_interface() {
        let host = LocalAddresses::read().unwrap();
        assert!(host.interfaces().any(|name| name == "lo"), "{host:?}");
        assert!(host.of("lo").contains(&ip("127.0.0.1")), "{host:?}");
    }

    #[test]
    fn changes_name_the_interface_and_what_came_and_went() {
        let before = LocalAddresses::from_pairs([
            ("veth0", ip("192.0.2.1")),
            ("veth0", ip("2001:db8::1")),
            ("eth1", ip("198.51.100.1")),
        ]);
        let after = LocalAddresses::from_pairs([
            ("veth0", ip("192.0.2.9")),
            ("veth0", ip("2001:db8::1")),
            ("wlan0", ip("203.0.113.4")),
        ]);
        assert_eq!(
            after.changes_since(&before),
            vec![
                AddressChange {
                    interface: "eth1".into(),
                    added: vec![],
                    removed: vec![ip("198.51.100.1")],
                },
                AddressChange {
                    interface: "veth0".into(),
                    added: vec![ip("192.0.2.9")],
                    removed: vec![ip("192.0.2.1")],
                },
                AddressChange {
                    interface: "wlan0".into(),
                    added: vec![ip("203.0.113.4")],
                    removed: vec![],
                },
            ]
        );
        assert!(after.changes_since(&after).is_empty());
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_ip(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(canonical_ip(ip("2001:DB8:0::1")), ip("2001:db8::1"));
        assert_eq!(canonical_ip(ip("::1")), ip("::1"));
    }
}
