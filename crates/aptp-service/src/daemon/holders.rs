//! Naming the processes that hold a UDP port, so "port taken" says by whom.

use std::collections::BTreeSet;
use std::fs;

/// The processes (`name (pid N)`) holding a UDP socket bound to `port`, as far as /proc shows
/// them (other users' processes need root to be seen).
pub fn udp_port_holders(port: u16) -> Vec<String> {
    let mut inodes = BTreeSet::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = fs::read_to_string(table) {
            inodes.extend(inodes_bound_to(&text, port));
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut holders = BTreeSet::new();
    let Ok(processes) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for process in processes.filter_map(Result::ok) {
        let name = process.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(descriptors) = fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        let holds = descriptors.filter_map(Result::ok).any(|descriptor| {
            fs::read_link(descriptor.path()).is_ok_and(|target| {
                let target = target.to_string_lossy();
                target
                    .strip_prefix("socket:[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|inode| inode.parse::<u64>().ok())
                    .is_some_and(|inode| inodes.contains(&inode))
            })
        });
        if holds {
            let command = fs::read_to_string(process.path().join("comm")).unwrap_or_default();
            holders.insert(format!("{} (pid {pid})", command.trim()));
        }
    }
    holders.into_iter().collect()
}

/// The socket inodes bound to local `port` in a /proc/net/udp table.
fn inodes_bound_to(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            (local_port == port && inode != 0).then_some(inode)
        })
        .collect()
}

/// `reason`, with who holds `port` when /proc says.
pub fn with_holders(reason: String, port: u16) -> String {
    let holders = udp_port_holders(port);
    if holders.is_empty() {
        reason
    } else {
        format!("{reason} (held by {})", holders.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_table() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
                     1: 00000000:013F 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n\
                     2: 0100007F:2328 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 77 2 0000000000000000 0\n";
        assert_eq!(inodes_bound_to(table, 319), vec![4242]);
        assert_eq!(inodes_bound_to(table, 9000), vec![77]);
        assert!(inodes_bound_to(table, 320).is_empty());
        assert!(inodes_bound_to("garbage\nmore garbage", 1).is_empty());
    }

    #[test]
    fn finds_this_process_holding_a_port() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let holders = udp_port_holders(port);
        let me = format!("(pid {})", std::process::id());
        assert!(
            holders.iter().any(|holder| holder.ends_with(&me)),
            "{holders:?}"
        );
        assert!(with_holders("taken".into(), port).starts_with("taken (held by "));
    }
}
