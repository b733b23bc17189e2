//! Finding the PTP message inside a captured frame: link layer, VLAN tags, IPv4/IPv6, UDP.
//!
//! PTP travels as the payload of UDP datagrams to or from port 319 (event) or 320 (general), or
//! directly over Ethernet with ethertype 0x88F7. [`ptp_payload`] walks the headers of one frame
//! by hand (they are few and fixed) and returns the PTP bytes, [`Extracted::NotPtp`] for traffic
//! that is something else, or a [`FrameError`] naming what is malformed and at which byte.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// UDP port of PTP event messages (Sync, Delay_Req, Pdelay_Req, Pdelay_Resp).
pub const PTP_EVENT_PORT: u16 = 319;
/// UDP port of PTP general messages (Follow_Up, Delay_Resp, Announce, ...).
pub const PTP_GENERAL_PORT: u16 = 320;
/// Ethertype of PTP carried directly over Ethernet (IEEE 1588 annex E).
pub const ETHERTYPE_PTP: u16 = 0x88F7;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// IEEE 802.1Q customer VLAN tag.
const ETHERTYPE_VLAN: u16 = 0x8100;
/// IEEE 802.1ad service VLAN tag (QinQ outer tag).
const ETHERTYPE_QINQ: u16 = 0x88A8;
/// Pre-standard QinQ outer tag, still seen on some switches.
const ETHERTYPE_QINQ_LEGACY: u16 = 0x9100;

const IP_PROTOCOL_UDP: u8 = 17;
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DESTINATION_OPTIONS: u8 = 60;

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const LINUX_SLL_HEADER_LEN: usize = 16;
const LINUX_SLL2_HEADER_LEN: usize = 20;
const NULL_HEADER_LEN: usize = 4;
const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const UDP_HEADER_LEN: usize = 8;

/// The link layer a capture's frames start with (pcap LINKTYPE_* values that can carry PTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1): Ethernet II, possibly with VLAN tags.
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113): Linux "cooked" capture, version 1 (`tcpdump -i any`).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux "cooked" capture, version 2.
    LinuxSll2,
    /// LINKTYPE_RAW (101), LINKTYPE_IPV4 (228), LINKTYPE_IPV6 (229): the frame is an IP packet.
    RawIp,
    /// LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): BSD loopback, a 4-byte family then IP.
    BsdLoopback,
}

/// How the PTP message travelled: shown in the readable decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP over IPv4 or IPv6.
    Udp {
        /// Source address.
        source: IpAddr,
        /// Source port.
        source_port: u16,
        /// Destination address.
        destination: IpAddr,
        /// Destination port.
        destination_port: u16,
    },
    /// Directly over Ethernet (ethertype 0x88F7).
    Ethernet,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Udp {
                source,
                source_port,
                destination,
                destination_port,
            } => {
                let source = SocketText(*source, *source_port);
                let destination = SocketText(*destination, *destination_port);
                write!(f, "udp {source} -> {destination}")
            }
            Transport::Ethernet => f.write_str("ethernet (ethertype 0x88f7)"),
        }
    }
}

/// An address and port written as `192.0.2.1:319` or `[2001:db8::1]:319`.
struct SocketText(IpAddr, u16);

impl fmt::Display for SocketText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(address) => write!(f, "{address}:{}", self.1),
            IpAddr::V6(address) => write!(f, "[{address}]:{}", self.1),
        }
    }
}

/// What one frame holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// A PTP message (the bytes of the UDP payload or of the Ethernet payload).
    Ptp {
        /// The PTP message, as many bytes as the UDP length (or the frame) says.
        payload: &'a [u8],
        /// Offset of the payload in the frame, to translate parse error offsets.
        offset: usize,
        /// How the message travelled.
        transport: Transport,
    },
    /// Well-formed traffic that is not PTP (another protocol or other UDP ports).
    NotPtp,
}

/// A frame that is too short or inconsistent to find its payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at frame offset {offset}")]
pub struct FrameError {
    /// What is wrong.
    pub kind: FrameErrorKind,
    /// Byte offset in the frame where the problem was found.
    pub offset: usize,
}

/// The ways a frame can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// The frame ends inside the named header.
    #[error("truncated {0} header")]
    Truncated(&'static str),
    /// An IPv4 header whose version or header length is impossible.
    #[error("bad IPv4 header (version or IHL)")]
    BadIpv4Header,
    /// An IPv4 total length shorter than its header or longer than the frame.
    #[error("IPv4 total length inconsistent with the frame")]
    BadIpv4Length,
    /// An IPv6 payload length longer than the frame.
    #[error("IPv6 payload length longer than the frame")]
    BadIpv6Length,
    /// A raw-IP frame whose first nibble is neither 4 nor 6.
    #[error("IP version {0} is neither 4 nor 6")]
    BadIpVersion(u8),
    /// A UDP length shorter than its header or longer than the IP payload.
    #[error("UDP length inconsistent with the IP payload")]
    BadUdpLength,
    /// A fragment of a PTP datagram: fragments are not reassembled.
    #[error("IP fragment not reassembled")]
    Fragment,
}

fn truncated(what: &'static str, offset: usize) -> FrameError {
    FrameError {
        kind: FrameErrorKind::Truncated(what),
        offset,
    }
}

fn read_u16(frame: &[u8], offset: usize, what: &'static str) -> Result<u16, FrameError> {
    match frame.get(offset..offset + 2) {
        Some(&[high, low]) => Ok(u16::from_be_bytes([high, low])),
        _ => Err(truncated(what, offset)),
    }
}

/// Finds the PTP message in one captured frame of the given link type.
pub fn ptp_payload(link: LinkType, frame: &[u8]) -> Result<Extracted<'_>, FrameError> {
    match link {
        LinkType::Ethernet => {
            let ethertype = read_u16(frame, 12, "Ethernet")?;
            after_ethertype(frame, ETHERNET_HEADER_LEN, ethertype)
        }
        LinkType::LinuxSll => {
            if frame.len() < LINUX_SLL_HEADER_LEN {
                return Err(truncated("Linux cooked (SLL)", 0));
            }
            let protocol = read_u16(frame, 14, "Linux cooked (SLL)")?;
            after_ethertype(frame, LINUX_SLL_HEADER_LEN, protocol)
        }
        LinkType::LinuxSll2 => {
            if frame.len() < LINUX_SLL2_HEADER_LEN {
                return Err(truncated("Linux cooked (SLL2)", 0));
            }
            let protocol = read_u16(frame, 0, "Linux cooked (SLL2)")?;
            after_ethertype(frame, LINUX_SLL2_HEADER_LEN, protocol)
        }
        LinkType::RawIp => ip_packet(frame, 0),
        LinkType::BsdLoopback => {
            if frame.len() < NULL_HEADER_LEN {
                return Err(truncated("BSD loopback", 0));
            }
            ip_packet(frame, NULL_HEADER_LEN)
        }
    }
}

/// Continues after an ethertype field: skips VLAN tags, then dispatches on the protocol.
fn after_ethertype(
    frame: &[u8],
    mut offset: usize,
    mut ethertype: u16,
) -> Result<Extracted<'_>, FrameError> {
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_LEGACY
    ) {
        // A tag is the 2-byte TCI then the next ethertype.
        ethertype = read_u16(frame, offset + 2, "VLAN tag")?;
        offset += VLAN_TAG_LEN;
    }
    match ethertype {
        ETHERTYPE_PTP => Ok(Extracted::Ptp {
            payload: &frame[offset.min(frame.len())..],
            offset,
            transport: Transport::Ethernet,
        }),
        ETHERTYPE_IPV4 => ipv4(frame, offset),
        ETHERTYPE_IPV6 => ipv6(frame, offset),
        _ => Ok(Extracted::NotPtp),
    }
}

/// An IP packet whose version is given by its first nibble.
fn ip_packet(frame: &[u8], offset: usize) -> Result<Extracted<'_>, FrameError> {
    let Some(first) = frame.get(offset) else {
        return Err(truncated("IP", offset));
    };
    match first >> 4 {
        4 => ipv4(frame, offset),
        6 => ipv6(frame, offset),
        version => Err(FrameError {
            kind: FrameErrorKind::BadIpVersion(version),
            offset,
        }),
    }
}

fn ipv4(frame: &[u8], start: usize) -> Result<Extracted<'_>, FrameError> {
    let Some(header) = frame.get(start..start + IPV4_MIN_HEADER_LEN) else {
        return Err(truncated("IPv4", start));
    };
    let header_len = usize::from(header[0] & 0x0F) * 4;
    if header[0] >> 4 != 4 || header_len < IPV4_MIN_HEADER_LEN {
        return Err(FrameError {
            kind: FrameErrorKind::BadIpv4Header,
            offset: start,
        });
    }
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    // The frame may be longer than the packet (Ethernet padding), never shorter.
    if total_len < header_len || frame.len() - start < total_len {
        return Err(FrameError {
            kind: FrameErrorKind::BadIpv4Length,
            offset: start + 2,
        });
    }
    if header[9] != IP_PROTOCOL_UDP {
        return Ok(Extracted::NotPtp);
    }
    let flags_fragment = u16::from_be_bytes([header[6], header[7]]);
    if flags_fragment & 0x1FFF != 0 {
        // A later fragment has no UDP header: nothing tells it is PTP.
        return Ok(Extracted::NotPtp);
    }
    let more_fragments = flags_fragment & 0x2000 != 0;
    let source = IpAddr::V4(Ipv4Addr::new(
        header[12], header[13], header[14], header[15],
    ));
    let destination = IpAddr::V4(Ipv4Addr::new(
        header[16], header[17], header[18], header[19],
    ));
    let packet = &frame[..start + total_len];
    udp(
        packet,
        start + header_len,
        source,
        destination,
        more_fragments,
    )
}

fn ipv6(frame: &[u8], start: usize) -> Result<Extracted<'_>, FrameError> {
    let Some(header) = frame.get(start..start + IPV6_HEADER_LEN) else {
        return Err(truncated("IPv6", start));
    };
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if frame.len() - start - IPV6_HEADER_LEN < payload_len {
        return Err(FrameError {
            kind: FrameErrorKind::BadIpv6Length,
            offset: start + 4,
        });
    }
    let packet = &frame[..start + IPV6_HEADER_LEN + payload_len];
    let address = |at: usize| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&header[at..at + 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let (source, destination) = (address(8), address(24));
    let mut next_header = header[6];
    let mut offset = start + IPV6_HEADER_LEN;
    let mut fragmented = false;
    loop {
        match next_header {
            IP_PROTOCOL_UDP => return udp(packet, offset, source, destination, fragmented),
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS => {
                let Some(extension) = packet.get(offset..offset + 8) else {
                    return Err(truncated("IPv6 extension", offset));
                };
                next_header = extension[0];
                offset += (usize::from(extension[1]) + 1) * 8;
            }
            IPV6_FRAGMENT => {
                let Some(extension) = packet.get(offset..offset + 8) else {
                    return Err(truncated("IPv6 fragment", offset));
                };
                let offset_flags = u16::from_be_bytes([extension[2], extension[3]]);
                if offset_flags & 0xFFF8 != 0 {
                    // A later fragment has no UDP header: nothing tells it is PTP.
                    return Ok(Extracted::NotPtp);
                }
                fragmented |= offset_flags & 1 != 0;
                next_header = extension[0];
                offset += 8;
            }
            _ => return Ok(Extracted::NotPtp),
        }
    }
}

/// The UDP datagram at `offset` of an IP packet whose end is the end of `packet`.
fn udp(
    packet: &[u8],
    offset: usize,
    source: IpAddr,
    destination: IpAddr,
    fragmented: bool,
) -> Result<Extracted<'_>, FrameError> {
    let Some(header) = packet.get(offset..offset + UDP_HEADER_LEN) else {
        return Err(truncated("UDP", offset));
    };
    let source_port = u16::from_be_bytes([header[0], header[1]]);
    let destination_port = u16::from_be_bytes([header[2], header[3]]);
    let is_ptp = [source_port, destination_port]
        .iter()
        .any(|port| *port == PTP_EVENT_PORT || *port == PTP_GENERAL_PORT);
    if !is_ptp {
        return Ok(Extracted::NotPtp);
    }
    if fragmented {
        return Err(FrameError {
            kind: FrameErrorKind::Fragment,
            offset,
        });
    }
    let udp_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if udp_len < UDP_HEADER_LEN || packet.len() - offset < udp_len {
        return Err(FrameError {
            kind: FrameErrorKind::BadUdpLength,
            offset: offset + 4,
        });
    }
    Ok(Extracted::Ptp {
        payload: &packet[offset + UDP_HEADER_LEN..offset + udp_len],
        offset: offset + UDP_HEADER_LEN,
        transport: Transport::Udp {
            source,
            source_port,
            destination,
            destination_port,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PTP: &[u8] = &[0x10, 0x02, 0x00, 0x2C, 0xAA, 0xBB];

    fn ethernet(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x01, 0x00, 0x5E, 0x00, 0x01, 0x81, 0x02, 0, 0, 0, 0, 1];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(rest);
        frame
    }

    fn udp_datagram(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut datagram = Vec::new();
        datagram.extend_from_slice(&source_port.to_be_bytes());
        datagram.extend_from_slice(&destination_port.to_be_bytes());
        let len = u16::try_from(UDP_HEADER_LEN + payload.len()).unwrap();
        datagram.extend_from_slice(&len.to_be_bytes());
        datagram.extend_from_slice(&[0, 0]);
        datagram.extend_from_slice(payload);
        datagram
    }

    fn ipv4(protocol: u8, flags_fragment: u16, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        let mut packet = vec![0x45, 0];
        packet.extend_from_slice(&total.to_be_bytes());
        packet.extend_from_slice(&[0, 1]);
        packet.extend_from_slice(&flags_fragment.to_be_bytes());
        packet.extend_from_slice(&[1, protocol, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        packet.extend_from_slice(payload);
        packet
    }

    fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len()).unwrap();
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(&[next_header, 1]);
        packet.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        packet.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        packet.extend_from_slice(payload);
        packet
    }

    fn payload_of(link: LinkType, frame: &[u8]) -> (Vec<u8>, usize, Transport) {
        match ptp_payload(link, frame) {
            Ok(Extracted::Ptp {
                payload,
                offset,
                transport,
            }) => (payload.to_vec(), offset, transport),
            other => panic!("expected a PTP payload, got {other:?}"),
        }
    }

    #[test]
    fn test_udp_ipv4_over_ethernet() {
        let frame = ethernet(
            ETHERTYPE_IPV4,
            &ipv4(IP_PROTOCOL_UDP, 0x4000, &udp_datagram(319, 319, PTP)),
        );
        let (payload, offset, transport) = payload_of(LinkType::Ethernet, &frame);
        assert_eq!(payload, PTP);
        assert_eq!(offset, 42);
        assert_eq!(transport.to_string(), "udp 192.0.2.1:319 -> 192.0.2.2:319");
    }

    #[test]
    fn test_ethernet_padding_is_not_payload() {
        let mut frame = ethernet(
            ETHERTYPE_IPV4,
            &ipv4(IP_PROTOCOL_UDP, 0, &udp_datagram(40000, 320, PTP)),
        );
        frame.extend_from_slice(&[0; 12]);
        let (payload, _, _) = payload_of(LinkType::Ethernet, &frame);
        assert_eq!(payload, PTP);
    }

    #[test]
    fn test_source_port_320_is_ptp() {
        let frame = ethernet(
            ETHERTYPE_IPV4,
            &ipv4(IP_PROTOCOL_UDP, 0, &udp_datagram(320, 50000, PTP)),
        );
        assert_eq!(payload_of(LinkType::Ethernet, &frame).0, PTP);
    }

    #[test]
    fn test_udp_ipv6_with_extension_header() {
        // A hop-by-hop options header (8 bytes) before UDP.
        let mut extension = vec![IP_PROTOCOL_UDP, 0, 5, 2, 0, 0, 1, 0];
        extension.extend_from_slice(&udp_datagram(320, 320, PTP));
        let frame = ethernet(ETHERTYPE_IPV6, &ipv6(IPV6_HOP_BY_HOP, &extension));
        let (payload, offset, transport) = payload_of(LinkType::Ethernet, &frame);
        assert_eq!(payload, PTP);
        assert_eq!(offset, 14 + 40 + 8 + 8);
        assert_eq!(
            transport.to_string(),
            "udp [2001:db8::1]:320 -> [2001:db8::2]:320"
        );
    }

    #[test]
    fn test_layer2_ptp_behind_two_vlan_tags() {
        let mut tags = vec![0x00, 0x64];
        tags.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        tags.extend_from_slice(&[0x00, 0x05]);
        tags.extend_from_slice(&ETHERTYPE_PTP.to_be_bytes());
        tags.extend_from_slice(PTP);
        let frame = ethernet(ETHERTYPE_QINQ, &tags);
        let (payload, offset, transport) = payload_of(LinkType::Ethernet, &frame);
        assert_eq!(payload, PTP);
        assert_eq!(offset, 22);
        assert_eq!(transport, Transport::Ethernet);
    }

    #[test]
    fn test_linux_cooked_captures() {
        let packet = ipv4(IP_PROTOCOL_UDP, 0, &udp_datagram(319, 319, PTP));
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll.extend_from_slice(&packet);
        assert_eq!(payload_of(LinkType::LinuxSll, &sll).0, PTP);

        let mut sll2 = ETHERTYPE_IPV4.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        sll2.extend_from_slice(&packet);
        assert_eq!(payload_of(LinkType::LinuxSll2, &sll2).0, PTP);
    }

    #[test]
    fn test_raw_ip_and_loopback() {
        let packet = ipv6(IP_PROTOCOL_UDP, &udp_datagram(319, 319, PTP));
        assert_eq!(payload_of(LinkType::RawIp, &packet).0, PTP);
        let mut looped = vec![30, 0, 0, 0];
        looped.extend_from_slice(&ipv4(IP_PROTOCOL_UDP, 0, &udp_datagram(319, 319, PTP)));
        assert_eq!(payload_of(LinkType::BsdLoopback, &looped).0, PTP);
    }

    #[test]
    fn test_other_traffic_is_not_ptp() {
        let dns = ethernet(
            ETHERTYPE_IPV4,
            &ipv4(IP_PROTOCOL_UDP, 0, &udp_datagram(53, 5353, PTP)),
        );
        assert_eq!(ptp_payload(LinkType::Ethernet, &dns), Ok(Extracted::NotPtp));
        let tcp = ethernet(ETHERTYPE_IPV4, &ipv4(6, 0, &[0; 20]));
        assert_eq!(ptp_payload(LinkType::Ethernet, &tcp), Ok(Extracted::NotPtp));
        let arp = ethernet(0x0806, &[0; 28]);
        assert_eq!(ptp_payload(LinkType::Ethernet, &arp), Ok(Extracted::NotPtp));
        let later_fragment = ethernet(ETHERTYPE_IPV4, &ipv4(IP_PROTOCOL_UDP, 0x00B9, PTP));
        assert_eq!(
            ptp_payload(LinkType::Ethernet, &later_fragment),
            Ok(Extracted::NotPtp)
        );
    }

    #[test]
    fn test_impossible_frames_are_typed_errors() {
        let error = |link, frame: &[u8]| ptp_payload(link, frame).unwrap_err();
        assert_eq!(
            error(LinkType::Ethernet, &[0; 13]),
            truncated("Ethernet", 12)
        );
        assert_eq!(
            error(LinkType::Ethernet, &ethernet(ETHERTYPE_VLAN, &[0, 1])),
            truncated("VLAN tag", 16)
        );
        let udp_ptp = udp_datagram(319, 319, PTP);
        let mut cut = ethernet(ETHERTYPE_IPV4, &ipv4(IP_PROTOCOL_UDP, 0, &udp_ptp));
        cut.truncate(cut.len() - 1);
        assert_eq!(
            error(LinkType::Ethernet, &cut).kind,
            FrameErrorKind::BadIpv4Length
        );
        let mut bad_ihl = ipv4(IP_PROTOCOL_UDP, 0, &udp_ptp);
        bad_ihl[0] = 0x44;
        assert_eq!(
            error(LinkType::RawIp, &bad_ihl).kind,
            FrameErrorKind::BadIpv4Header
        );
        let mut long_udp = udp_ptp.clone();
        long_udp[5] += 1;
        assert_eq!(
            error(LinkType::RawIp, &ipv4(IP_PROTOCOL_UDP, 0, &long_udp)),
            FrameError {
                kind: FrameErrorKind::BadUdpLength,
                offset: 24
            }
        );
        assert_eq!(
            error(LinkType::RawIp, &ipv4(IP_PROTOCOL_UDP, 0x2000, &udp_ptp)).kind,
            FrameErrorKind::Fragment
        );
        assert_eq!(
            error(LinkType::RawIp, &[0x50, 0, 0]).kind,
            FrameErrorKind::BadIpVersion(5)
        );
        assert_eq!(error(LinkType::RawIp, &[]), truncated("IP", 0));
        let mut short_v6 = ipv6(IP_PROTOCOL_UDP, &udp_ptp);
        short_v6.pop();
        assert_eq!(
            error(LinkType::RawIp, &short_v6).kind,
            FrameErrorKind::BadIpv6Length
        );
        assert_eq!(
            error(LinkType::RawIp, &ipv4(IP_PROTOCOL_UDP, 0, &[1, 63, 1, 63])),
            truncated("UDP", 20)
        );
        assert_eq!(
            error(LinkType::LinuxSll2, &[0; 19]),
            truncated("Linux cooked (SLL2)", 0)
        );
    }

    #[test]
    fn test_every_prefix_of_a_frame_is_handled() {
        let frame = ethernet(
            ETHERTYPE_IPV6,
            &ipv6(IP_PROTOCOL_UDP, &udp_datagram(319, 319, PTP)),
        );
        for len in 0..frame.len() {
            for link in [
                LinkType::Ethernet,
                LinkType::LinuxSll,
                LinkType::LinuxSll2,
                LinkType::RawIp,
                LinkType::BsdLoopback,
            ] {
                // Any result is fine; a panic fails the test.
                let _ = ptp_payload(link, &frame[..len]);
            }
        }
    }
}
