//! A clock identity for a node that was not given one.

use std::hash::{BuildHasher, Hasher};

use aptp_wire::ClockIdentity;

/// The interface's MAC address as an EUI-64 (as ptp4l does), if it has a usable one.
pub(crate) fn from_interface(name: &str) -> Option<ClockIdentity> {
    // The name goes into a path: refuse anything that could leave /sys/class/net.
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    if parts.next().is_some() || mac == [0; 6] {
        return None;
    }
    Some(ClockIdentity::from_mac(mac))
}

/// A random identity (locally administered bit set, so it never claims a vendor's EUI).
pub(crate) fn random() -> ClockIdentity {
    let mut bytes = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: std's randomly keyed hasher, fed with the time and the pid.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(elapsed) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(elapsed.as_nanos());
        }
        bytes = hasher.finish().to_be_bytes();
    }
    bytes[0] = (bytes[0] | 0x02) & !0x01;
    ClockIdentity(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_identities_differ_and_are_local_unicast() {
        let (a, b) = (random(), random());
        assert_ne!(a, b);
        assert_eq!(a.0[0] & 0x03, 0x02);
    }

    #[test]
    fn bad_interface_names_give_none() {
        assert_eq!(from_interface("../../etc"), None);
        assert_eq!(from_interface("no-such-interface-0"), None);
        // Loopback's MAC is all zeros: not an identity.
        assert_eq!(from_interface("lo"), None);
    }
}
