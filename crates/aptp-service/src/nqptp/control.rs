//! The nqptp control protocol: the text datagrams Shairport Sync sends to UDP port 9000.
//!
//! Each datagram is `<name> <command> [arguments]`, terminated by a NUL or a newline. `name` is
//! the shared-memory name the player reads its clock from (Shairport Sync sends its configured
//! interface name, `/nqptp` by default). The commands are:
//!
//! | command | meaning |
//! | --- | --- |
//! | `T <ip> <ip>...` | the timing peers: the first is the clock to follow, the rest the group |
//! | `T` | clear the timing peers |
//! | `B` | playing begins: the clock must be published |
//! | `E` | playing ended: stop publishing |
//! | `P` | paused (nqptp ignores it; so does aptp, but it is parsed) |
//!
//! nqptp overwrites the last byte of every datagram with a NUL, so a datagram without a
//! terminator loses its last character there. aptp is more forgiving: it strips one trailing NUL
//! or newline when present and otherwise reads the whole datagram.

use std::net::IpAddr;

use thiserror::Error;

/// The longest control datagram accepted, in bytes (nqptp reads at most 4096).
pub const MAX_CONTROL_LENGTH: usize = 4096;

/// The most timing peers one `T` command may name; more is refused, not truncated.
pub const MAX_TIMING_PEERS: usize = 64;

/// One parsed control datagram.
///
/// ```
/// use aptp_service::nqptp::{ControlCommand, ControlRequest};
/// let request = ControlRequest::parse(b"/nqptp T 192.0.2.1 192.0.2.7\0").unwrap();
/// assert_eq!(request.name, "/nqptp");
/// assert_eq!(
///     request.command,
///     ControlCommand::SetTimingPeers(vec!["192.0.2.1".parse().unwrap(), "192.0.2.7".parse().unwrap()])
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRequest {
    /// The first token: the shared-memory name that selects the session (`/nqptp` by default).
    pub name: String,
    /// What the player asked for.
    pub command: ControlCommand,
}

/// A control command, by its letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// `T <ip>...`: follow the first address; the others are the group's other peers.
    SetTimingPeers(Vec<IpAddr>),
    /// `T` alone: forget every peer and clock.
    ClearTimingPeers,
    /// `B`: playing begins.
    Play,
    /// `E`: playing ended.
    End,
    /// `P`: paused.
    Pause,
}

/// Why a control datagram was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The datagram had no name or no command.
    #[error("control datagram is empty or has no command")]
    Empty,
    /// The datagram is longer than [`MAX_CONTROL_LENGTH`].
    #[error("control datagram of {0} bytes is longer than {MAX_CONTROL_LENGTH}")]
    TooLong(usize),
    /// The datagram is not UTF-8 text.
    #[error("control datagram is not text")]
    NotText,
    /// The command letter is not one of T, B, E, P.
    #[error("unknown control command {0:?}")]
    UnknownCommand(String),
    /// A `T` argument is not an IPv4 or IPv6 address.
    #[error("timing peer {0:?} is not an IP address")]
    BadAddress(String),
    /// A command that takes no arguments was given some.
    #[error("control command {0} takes no arguments")]
    UnexpectedArguments(char),
    /// A `T` command named more than [`MAX_TIMING_PEERS`] peers.
    #[error("more than {MAX_TIMING_PEERS} timing peers")]
    TooManyPeers,
}

impl ControlRequest {
    /// Parses one control datagram.
    ///
    /// IPv6 addresses may carry a zone (`fe80::1%eth0`): the zone is dropped, since the
    /// address is matched against the source of PTP datagrams, which carries its own scope.
    ///
    /// ```
    /// use aptp_service::nqptp::{ControlCommand, ControlError, ControlRequest};
    /// assert_eq!(ControlRequest::parse(b"x B\0").unwrap().command, ControlCommand::Play);
    /// assert_eq!(ControlRequest::parse(b"x Q\0"), Err(ControlError::UnknownCommand("Q".into())));
    /// ```
    pub fn parse(datagram: &[u8]) -> Result<ControlRequest, ControlError> {
        if datagram.len() > MAX_CONTROL_LENGTH {
            return Err(ControlError::TooLong(datagram.len()));
        }
        let body = match datagram.last() {
            Some(0) | Some(b'\n') => &datagram[..datagram.len() - 1],
            _ => datagram,
        };
        let text = core::str::from_utf8(body).map_err(|_| ControlError::NotText)?;
        // A NUL inside the text ends it, as it would for a C reader.
        let text = text.split('\0').next().unwrap_or("");
        let mut tokens = text.split_ascii_whitespace();
        let name = tokens.next().ok_or(ControlError::Empty)?;
        let letter = tokens.next().ok_or(ControlError::Empty)?;
        let command = match letter {
            "T" => {
                let mut peers = Vec::new();
                for token in tokens {
                    if peers.len() == MAX_TIMING_PEERS {
                        return Err(ControlError::TooManyPeers);
                    }
                    peers.push(parse_address(token)?);
                }
                if peers.is_empty() {
                    ControlCommand::ClearTimingPeers
                } else {
                    ControlCommand::SetTimingPeers(peers)
                }
            }
            "B" | "E" | "P" => {
                let letter_char = letter.chars().next().unwrap_or('?');
                if tokens.next().is_some() {
                    return Err(ControlError::UnexpectedArguments(letter_char));
                }
                match letter {
                    "B" => ControlCommand::Play,
                    "E" => ControlCommand::End,
                    _ => ControlCommand::Pause,
                }
            }
            other => return Err(ControlError::UnknownCommand(other.to_string())),
        };
        Ok(ControlRequest {
            name: name.to_string(),
            command,
        })
    }
}

fn parse_address(token: &str) -> Result<IpAddr, ControlError> {
    let without_zone = token.split('%').next().unwrap_or(token);
    let unbracketed = without_zone
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(without_zone);
    let address: IpAddr = unbracketed
        .parse()
        .map_err(|_| ControlError::BadAddress(token.to_string()))?;
    // An IPv4-mapped IPv6 address names the same host as its IPv4 form.
    Ok(match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn test_set_peers_ipv4_and_ipv6() {
        let request =
            ControlRequest::parse(b"/nqptp T 192.0.2.1 2001:db8::1 fe80::2%eth0\0").unwrap();
        assert_eq!(request.name, "/nqptp");
        assert_eq!(
            request.command,
            ControlCommand::SetTimingPeers(vec![ip("192.0.2.1"), ip("2001:db8::1"), ip("fe80::2")])
        );
    }

    #[test]
    fn test_ipv6_canonical_form() {
        let request = ControlRequest::parse(b"n T 2001:DB8:0:0::0001\0").unwrap();
        assert_eq!(
            request.command,
            ControlCommand::SetTimingPeers(vec![ip("2001:db8::1")])
        );
        let mapped = ControlRequest::parse(b"n T ::ffff:192.0.2.9\n").unwrap();
        assert_eq!(
            mapped.command,
            ControlCommand::SetTimingPeers(vec![ip("192.0.2.9")])
        );
    }

    #[test]
    fn test_clear_play_end_pause() {
        assert_eq!(
            ControlRequest::parse(b"n T\0").unwrap().command,
            ControlCommand::ClearTimingPeers
        );
        assert_eq!(
            ControlRequest::parse(b"n B\0").unwrap().command,
            ControlCommand::Play
        );
        assert_eq!(
            ControlRequest::parse(b"n E\n").unwrap().command,
            ControlCommand::End
        );
        assert_eq!(
            ControlRequest::parse(b"n P").unwrap().command,
            ControlCommand::Pause
        );
    }

    #[test]
    fn test_terminator_optional() {
        // nqptp would lose the final "1" here; aptp reads the whole address.
        let request = ControlRequest::parse(b"n T 192.0.2.1").unwrap();
        assert_eq!(
            request.command,
            ControlCommand::SetTimingPeers(vec![ip("192.0.2.1")])
        );
    }

    #[test]
    fn test_bad_requests() {
        assert_eq!(ControlRequest::parse(b""), Err(ControlError::Empty));
        assert_eq!(ControlRequest::parse(b"\0"), Err(ControlError::Empty));
        assert_eq!(ControlRequest::parse(b"name\0"), Err(ControlError::Empty));
        assert_eq!(
            ControlRequest::parse(&[0xff, b' ', b'B', 0]),
            Err(ControlError::NotText)
        );
        assert_eq!(
            ControlRequest::parse(b"n T 192.0.2.300\0"),
            Err(ControlError::BadAddress("192.0.2.300".into()))
        );
        assert_eq!(
            ControlRequest::parse(b"n B now\0"),
            Err(ControlError::UnexpectedArguments('B'))
        );
        assert_eq!(
            ControlRequest::parse(b"n X\0"),
            Err(ControlError::UnknownCommand("X".into()))
        );
        let long = vec![b'a'; MAX_CONTROL_LENGTH + 1];
        assert_eq!(
            ControlRequest::parse(&long),
            Err(ControlError::TooLong(MAX_CONTROL_LENGTH + 1))
        );
        let mut many = b"n T".to_vec();
        for _ in 0..=MAX_TIMING_PEERS {
            many.extend_from_slice(b" 192.0.2.1");
        }
        assert_eq!(
            ControlRequest::parse(&many),
            Err(ControlError::TooManyPeers)
        );
    }
}
