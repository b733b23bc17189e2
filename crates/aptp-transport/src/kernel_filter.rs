//! A classic BPF program attached to a socket (`SO_ATTACH_FILTER`) that refuses, inside the
//! kernel, the datagrams the node would drop anyway: under a flood of junk the socket's
//! receive queue then holds only what matters, so the master's Sync, Follow_Up, Delay_Resp
//! and Announce are neither dropped at a full queue nor queued behind tens of thousands of
//! junk datagrams a second that each cost a wake-up, a `recvmmsg` and a parse.
//!
//! Attached by default ([`SocketConfig::kernel_structure_filter`]), and whenever
//! [`SocketConfig::accepted_clocks`] or [`SocketConfig::accepted_sources`] is set (a node that
//! follows only named masters or peers). With neither, no filter is attached and every
//! datagram reaches user space, where [`classify`](crate::filter::classify) counts the drops.
//! The program accepts a datagram when all of these hold:
//!
//! 1. it is at least a PTP header long and its messageType belongs to the socket's port
//!    (the same test as `classify`);
//! 2. with the structure checks: versionPTP (the low nibble of octet 1) is 2, and
//!    messageLength is at least a header (34) and at most the datagram's length (padding
//!    after messageLength passes) — the first checks of aptp-wire's `MessageView::new_checked`,
//!    so nothing the engine would accept is refused;
//! 3. with `accepted_sources`: its IP source address is one of them;
//! 4. with `accepted_clocks`: a Sync, Follow_Up, Delay_Resp or Announce carries one of them as
//!    sourcePortIdentity.clockIdentity (other message types — Delay_Req, peer delay,
//!    signaling, management — pass: a peer-delay link partner is never a master to follow).
//!
//! Datagrams the kernel refuses are not counted in [`crate::TransportCounters`]: the kernel
//! keeps no per-filter count.
//!
//! For a UDP socket the program sees the datagram from its UDP header on (8 bytes), and the IP
//! header at the negative offset `SKF_NET_OFF`.
//!
//! [`SocketConfig::kernel_structure_filter`]: crate::SocketConfig::kernel_structure_filter
//! [`SocketConfig::accepted_clocks`]: crate::SocketConfig::accepted_clocks
//! [`SocketConfig::accepted_sources`]: crate::SocketConfig::accepted_sources

use std::net::IpAddr;

use socket2::SockFilter;

use crate::filter::PTP_HEADER_LEN;
use crate::PortKind;

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_ALU: u16 = 0x04;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_B: u16 = 0x10;
const BPF_ABS: u16 = 0x20;
const BPF_LEN: u16 = 0x80;
const BPF_JEQ: u16 = 0x10;
const BPF_JGT: u16 = 0x20;
const BPF_JGE: u16 = 0x30;
const BPF_JA: u16 = 0x00;
const BPF_ADD: u16 = 0x00;
const BPF_AND: u16 = 0x50;
const BPF_K: u16 = 0x00;
const BPF_X: u16 = 0x08;
/// `SKF_NET_OFF`: loads relative to the network (IP) header.
const SKF_NET_OFF: i32 = -0x0010_0000;

/// The UDP header in front of the PTP message.
const UDP_HEADER: u32 = 8;
/// versionPTP's octet (low nibble; minorVersionPTP is the high one) in the PTP header.
const VERSION: u32 = 1;
/// messageLength's offset in the PTP header (16 bits, big-endian).
const MESSAGE_LENGTH: u32 = 2;
/// sourcePortIdentity.clockIdentity's offset in the PTP header.
const CLOCK_IDENTITY: u32 = 20;

/// Where a jump goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The next instruction.
    Next,
    /// A labelled instruction (an index into the label table).
    Label(usize),
}

/// A tiny assembler: instructions with symbolic jump targets, resolved at the end.
struct Program {
    code: Vec<(u16, Target, Target, u32)>,
    labels: Vec<Option<usize>>,
}

impl Program {
    fn new() -> Self {
        Self {
            code: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn place(&mut self, label: usize) {
        self.labels[label] = Some(self.code.len());
    }

    fn op(&mut self, code: u16, k: u32) {
        self.code.push((code, Target::Next, Target::Next, k));
    }

    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.code.push((BPF_JMP | code | BPF_K, jt, jf, k));
    }

    /// A conditional jump comparing the accumulator with the index register X.
    fn jump_x(&mut self, code: u16, jt: Target, jf: Target) {
        self.code.push((BPF_JMP | code | BPF_X, jt, jf, 0));
    }

    /// The program, or `None` if a jump is too long for classic BPF's 8-bit offsets.
    fn assemble(self) -> Option<Vec<Instruction>> {
        let resolve = |at: usize, target: Target| -> Option<u8> {
            match target {
                Target::Next => Some(0),
                Target::Label(label) => {
                    let to = (*self.labels.get(label)?)?;
                    u8::try_from(to.checked_sub(at + 1)?).ok()
                }
            }
        };
        let mut out = Vec::with_capacity(self.code.len());
        for (at, &(code, jt, jf, k)) in self.code.iter().enumerate() {
            if code == BPF_JMP | BPF_JA {
                // An unconditional jump's distance is its k.
                let Target::Label(label) = jt else {
                    return None;
                };
                let to = (*self.labels.get(label)?)?;
                let k = u32::try_from(to.checked_sub(at + 1)?).ok()?;
                out.push((code, 0, 0, k));
            } else {
                out.push((code, resolve(at, jt)?, resolve(at, jf)?, k));
            }
        }
        Some(out)
    }
}

fn net_offset(offset: i32) -> u32 {
    // The kernel reads k as a signed offset; the cast keeps the bit pattern.
    (SKF_NET_OFF + offset) as u32
}

/// The filter for the socket of `port`, with the structure checks when `structure`, or
/// `None` when there is nothing to filter on (or the lists are too long to encode).
pub(crate) fn program(
    port: PortKind,
    structure: bool,
    accepted_clocks: &[[u8; 8]],
    accepted_sources: &[IpAddr],
) -> Option<Vec<SockFilter>> {
    let code = instructions(port, structure, accepted_clocks, accepted_sources)?;
    Some(
        code.into_iter()
            .map(|(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
            .collect(),
    )
}

/// One assembled classic BPF instruction: `(code, jt, jf, k)` as in `struct sock_filter`.
type Instruction = (u16, u8, u8, u32);

/// The instructions of [`program`].
fn instructions(
    port: PortKind,
    structure: bool,
    accepted_clocks: &[[u8; 8]],
    accepted_sources: &[IpAddr],
) -> Option<Vec<Instruction>> {
    if !structure && accepted_clocks.is_empty() && accepted_sources.is_empty() {
        return None;
    }
    // Conditional jumps reach 255 instructions at most: every one below goes to a nearby
    // instruction, and the far targets are reached with `ja` (32-bit offsets).
    let mut p = Program::new();
    let accept = p.label();
    // 1. Long enough, and a message type of this port.
    let short_drop = p.label();
    let structure_ok = p.label();
    p.op(BPF_LD | BPF_W | BPF_LEN, 0);
    p.jump(
        BPF_JGE,
        UDP_HEADER + PTP_HEADER_LEN as u32,
        Target::Next,
        Target::Label(short_drop),
    );
    p.op(BPF_LD | BPF_B | BPF_ABS, UDP_HEADER);
    p.op(BPF_ALU | BPF_AND | BPF_K, 0x0F);
    match port {
        PortKind::Event => p.jump(BPF_JGT, 0x3, Target::Label(short_drop), Target::Next),
        PortKind::General => p.jump(BPF_JGE, 0x8, Target::Next, Target::Label(short_drop)),
    }
    if structure {
        // 2. Version 2, and 34 <= messageLength <= the datagram (X = UDP header + payload).
        p.op(BPF_LD | BPF_B | BPF_ABS, UDP_HEADER + VERSION);
        p.op(BPF_ALU | BPF_AND | BPF_K, 0x0F);
        p.jump(BPF_JEQ, 2, Target::Next, Target::Label(short_drop));
        p.op(BPF_LDX | BPF_W | BPF_LEN, 0);
        p.op(BPF_LD | BPF_H | BPF_ABS, UDP_HEADER + MESSAGE_LENGTH);
        p.jump(
            BPF_JGE,
            PTP_HEADER_LEN as u32,
            Target::Next,
            Target::Label(short_drop),
        );
        p.op(BPF_ALU | BPF_ADD | BPF_K, UDP_HEADER);
        p.jump_x(BPF_JGT, Target::Label(short_drop), Target::Next);
    }
    p.jump(BPF_JA, 0, Target::Label(structure_ok), Target::Next);
    p.place(short_drop);
    p.op(BPF_RET | BPF_K, 0);
    p.place(structure_ok);
    // 3. From an accepted address.
    if !accepted_sources.is_empty() {
        let source_ok = p.label();
        for source in accepted_sources {
            let next = p.label();
            match source {
                IpAddr::V4(v4) => {
                    p.op(BPF_LD | BPF_W | BPF_ABS, net_offset(12));
                    p.jump(BPF_JEQ, u32::from(*v4), Target::Next, Target::Label(next));
                }
                IpAddr::V6(v6) => {
                    let octets = v6.octets();
                    for (word, chunk) in octets.chunks_exact(4).enumerate() {
                        let value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                        // The IPv6 source address starts 8 bytes into the header.
                        p.op(BPF_LD | BPF_W | BPF_ABS, net_offset(8 + 4 * word as i32));
                        p.jump(BPF_JEQ, value, Target::Next, Target::Label(next));
                    }
                }
            }
            p.jump(BPF_JA, 0, Target::Label(source_ok), Target::Next);
            p.place(next);
        }
        p.op(BPF_RET | BPF_K, 0);
        p.place(source_ok);
    }
    // 4. Sync, Follow_Up, Delay_Resp and Announce from an accepted clock.
    if !accepted_clocks.is_empty() {
        let check = p.label();
        p.op(BPF_LD | BPF_B | BPF_ABS, UDP_HEADER);
        p.op(BPF_ALU | BPF_AND | BPF_K, 0x0F);
        for message_type in [0x0, 0x8, 0x9, 0xB] {
            p.jump(BPF_JEQ, message_type, Target::Label(check), Target::Next);
        }
        p.jump(BPF_JA, 0, Target::Label(accept), Target::Next);
        p.place(check);
        for clock in accepted_clocks {
            let next = p.label();
            let high = u32::from_be_bytes([clock[0], clock[1], clock[2], clock[3]]);
            let low = u32::from_be_bytes([clock[4], clock[5], clock[6], clock[7]]);
            p.op(BPF_LD | BPF_W | BPF_ABS, UDP_HEADER + CLOCK_IDENTITY);
            p.jump(BPF_JEQ, high, Target::Next, Target::Label(next));
            p.op(BPF_LD | BPF_W | BPF_ABS, UDP_HEADER + CLOCK_IDENTITY + 4);
            p.jump(BPF_JEQ, low, Target::Next, Target::Label(next));
            p.op(BPF_RET | BPF_K, u32::MAX);
            p.place(next);
        }
        p.op(BPF_RET | BPF_K, 0);
    }
    p.place(accept);
    p.op(BPF_RET | BPF_K, u32::MAX);
    p.assemble()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_lists_no_filter() {
        assert!(program(PortKind::Event, false, &[], &[]).is_none());
        assert!(program(PortKind::Event, true, &[], &[]).is_some());
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let clocks: Vec<[u8; 8]> = (0..64u8).map(|n| [n; 8]).collect();
        let sources: Vec<IpAddr> = (0..64u16)
            .flat_map(|n| {
                [
                    IpAddr::from([192, 0, 2, n as u8]),
                    IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n]),
                ]
            })
            .collect();
        for port in [PortKind::Event, PortKind::General] {
            for structure in [false, true] {
                let program = program(port, structure, &clocks, &sources).expect("encodable");
                assert!(program.len() < 4096);
            }
        }
    }

    /// Runs a classic BPF program (the instructions this module emits) on a UDP datagram
    /// `payload` as the kernel would for a UDP socket: packet offsets from the UDP header on,
    /// `len` = 8 + payload. Returns the accepted length (0: dropped), or `None` when the
    /// program reads outside the packet (the kernel then drops) or uses another instruction.
    fn run(code: &[Instruction], payload: &[u8]) -> Option<u32> {
        let mut packet = vec![0u8; UDP_HEADER as usize];
        packet.extend_from_slice(payload);
        let load = |offset: u32, size: usize| -> Option<u32> {
            let start = usize::try_from(offset).ok()?;
            let bytes = packet.get(start..start.checked_add(size)?)?;
            Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        };
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        loop {
            let &(op, jt, jf, k) = code.get(pc)?;
            pc += 1;
            let jump = |taken: bool| usize::from(if taken { jt } else { jf });
            match op {
                o if o == BPF_LD | BPF_W | BPF_LEN => a = packet.len() as u32,
                o if o == BPF_LDX | BPF_W | BPF_LEN => x = packet.len() as u32,
                o if o == BPF_LD | BPF_W | BPF_ABS => a = load(k, 4)?,
                o if o == BPF_LD | BPF_H | BPF_ABS => a = load(k, 2)?,
                o if o == BPF_LD | BPF_B | BPF_ABS => a = load(k, 1)?,
                o if o == BPF_ALU | BPF_AND | BPF_K => a &= k,
                o if o == BPF_ALU | BPF_ADD | BPF_K => a = a.wrapping_add(k),
                o if o == BPF_JMP | BPF_JA => pc += usize::try_from(k).ok()?,
                o if o == BPF_JMP | BPF_JEQ | BPF_K => pc += jump(a == k),
                o if o == BPF_JMP | BPF_JGT | BPF_K => pc += jump(a > k),
                o if o == BPF_JMP | BPF_JGE | BPF_K => pc += jump(a >= k),
                o if o == BPF_JMP | BPF_JGT | BPF_X => pc += jump(a > x),
                o if o == BPF_RET | BPF_K => return Some(k),
                _ => return None,
            }
        }
    }

    /// What the structure filter must accept on `port`, restated from the rules: no more
    /// than aptp-wire's header view and the transport's classify would (so the engine never
    /// loses a message it would take), and nothing they refuse for version or length.
    fn reference(bytes: &[u8], port: PortKind) -> bool {
        let wire_ok = aptp_wire::MessageView::new_checked(bytes).is_ok();
        let classify_ok = crate::filter::classify(bytes, port).is_ok();
        let declared = bytes
            .get(2..4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        let structure_ok = bytes.len() >= PTP_HEADER_LEN
            && bytes[1] & 0x0F == 2
            && declared.is_some_and(|length| (PTP_HEADER_LEN..=bytes.len()).contains(&length));
        // The engine's view implies the structure rules (never refuse what it accepts).
        if wire_ok {
            assert!(structure_ok, "{bytes:02x?}");
        }
        classify_ok && structure_ok
    }

    /// Datagrams near the rules' edges: a valid header with random version, messageLength,
    /// type and length, or random bytes.
    fn datagram() -> impl Strategy<Value = Vec<u8>> {
        let near_valid = (
            any::<u8>(),
            any::<u8>(),
            prop_oneof![0u16..100, any::<u16>()],
            0usize..120,
            proptest::collection::vec(any::<u8>(), 120),
        )
            .prop_map(|(first, version, length, size, filler)| {
                let mut bytes = filler[..size].to_vec();
                if let Some(b) = bytes.get_mut(0) {
                    *b = first;
                }
                if let Some(b) = bytes.get_mut(1) {
                    *b = if version & 1 == 0 { 0x12 } else { version };
                }
                if bytes.len() >= 4 {
                    let length = if length & 1 == 0 { size as u16 } else { length };
                    bytes[2..4].copy_from_slice(&length.to_be_bytes());
                }
                bytes
            });
        prop_oneof![near_valid, proptest::collection::vec(any::<u8>(), 0..120)]
    }

    proptest::proptest! {
        /// The structure filter, run by a reference interpreter, accepts exactly what the
        /// rules accept, on both ports, alone or in front of a clock list.
        #[test]
        fn the_structure_filter_accepts_exactly_the_rules(bytes in datagram()) {
            for port in [PortKind::Event, PortKind::General] {
                let expected = reference(&bytes, port);
                let alone = instructions(port, true, &[], &[]).expect("encodable");
                let accepted = run(&alone, &bytes).is_some_and(|length| length > 0);
                proptest::prop_assert_eq!(accepted, expected, "{:?} {:02x?}", port, bytes);
                // Delay_Req (1) and Pdelay_Resp_Follow_Up (0xA) pass any clock list, so with
                // one the structure rules alone decide for them.
                if matches!(bytes.first().map(|b| b & 0x0F), Some(0x1 | 0xA)) {
                    let listed = instructions(port, true, &[[7; 8]], &[]).expect("encodable");
                    let accepted = run(&listed, &bytes).is_some_and(|length| length > 0);
                    proptest::prop_assert_eq!(accepted, expected);
                }
            }
        }
    }

    /// A PTP message of `message_type` from `clock`, `length` bytes.
    fn message(message_type: u8, clock: [u8; 8], length: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; length];
        bytes[0] = message_type;
        bytes[1] = 2;
        bytes[2..4].copy_from_slice(&(length as u16).to_be_bytes());
        bytes[20..28].copy_from_slice(&clock);
        bytes
    }

    /// The structure filter, on by default, through the kernel: on both ports, every kind of
    /// structurally invalid datagram sent ahead of valid ones never arrives (a socket is a
    /// FIFO, so a valid message received first means the junk ahead of it was refused), while
    /// valid messages at the edges pass (messageLength equal to the datagram, padding after
    /// messageLength, minorVersionPTP 0 or 1). With the filter off the same junk reaches user
    /// space, so the test fails if the filter does nothing.
    #[tokio::test]
    async fn the_kernel_refuses_datagrams_that_cannot_be_ptp_v2_by_default() {
        for address in ["127.0.0.1", "::1"] {
            refuses_datagrams_that_cannot_be_ptp_v2(address.parse().unwrap()).await;
        }
    }

    async fn refuses_datagrams_that_cannot_be_ptp_v2(address: IpAddr) {
        use crate::{PtpSocket, SocketConfig};
        let clock = [1, 2, 3, 0xFF, 0xFE, 4, 5, 6];
        let base = SocketConfig::new(address).with_ports(0, 0);
        assert!(base.kernel_structure_filter, "on by default");
        let sender = PtpSocket::bind(base.clone().with_kernel_structure_filter(false)).unwrap();
        let filtered = PtpSocket::bind(base.clone()).unwrap();
        let unfiltered = PtpSocket::bind(base.with_kernel_structure_filter(false)).unwrap();
        for (port, message_type, other_port_type) in
            [(PortKind::Event, 0x0, 0xB), (PortKind::General, 0xB, 0x0)]
        {
            let valid = message(message_type, clock, 64);
            let mut junk = Vec::new();
            junk.push(Vec::new()); // empty
            junk.push(valid[..33].to_vec()); // shorter than a header
            let mut version = valid.clone();
            version[1] = 0x11; // versionPTP 1
            junk.push(version.clone());
            version[1] = 0x03; // versionPTP 3
            junk.push(version);
            let mut beyond = valid.clone();
            beyond[2..4].copy_from_slice(&65u16.to_be_bytes()); // one byte past the datagram
            junk.push(beyond);
            let mut below = valid.clone();
            below[2..4].copy_from_slice(&33u16.to_be_bytes()); // shorter than a header
            junk.push(below);
            junk.push(message(other_port_type, clock, 64)); // the other port's type
            junk.push(message(0x5, clock, 64)); // a reserved type
            let mut padded = message(message_type, clock, 80);
            padded[2..4].copy_from_slice(&64u16.to_be_bytes()); // 16 bytes of padding
            let mut minor_zero = message(message_type, clock, 44);
            minor_zero[1] = 0x02;
            let valids = [valid, padded, minor_zero];
            for socket in [&filtered, &unfiltered] {
                let to = socket.local_addr(port);
                for datagram in junk.iter().chain(&valids) {
                    match port {
                        PortKind::Event => sender.send_event(datagram, to).await.map(|_| ()),
                        PortKind::General => sender.send_general(datagram, to).await,
                    }
                    .unwrap();
                }
            }
            for expected in &valids {
                let received =
                    tokio::time::timeout(std::time::Duration::from_secs(5), filtered.recv_on(port))
                        .await
                        .expect("a valid message within 5 s")
                        .unwrap();
                assert_eq!(
                    &received.data, expected,
                    "{port}: junk got through the filter"
                );
            }
            // Unfiltered, user space sees every datagram: it drops the short and wrong-port
            // ones (counted) and passes the rest (the engine's checks would drop them).
            let before = unfiltered.counters();
            let mut passed = 0;
            loop {
                let received = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    unfiltered.recv_on(port),
                )
                .await
                .expect("a datagram within 5 s")
                .unwrap();
                if received.data == valids[2] {
                    break;
                }
                passed += 1;
            }
            let after = unfiltered.counters();
            assert_eq!(
                after.dropped() - before.dropped(),
                4,
                "{address} {port}: {after:?}"
            );
            assert_eq!(
                passed,
                4 + 2,
                "{address} {port}: version and length junk, two valid"
            );
        }
        assert_eq!(
            filtered.counters().dropped(),
            0,
            "{address}: refused in the kernel"
        );
    }

    /// Through the kernel: what the filter refuses never arrives, what it accepts does, in
    /// order behind the refused ones (so the offsets into the datagram are right).
    #[tokio::test]
    async fn the_kernel_refuses_other_clocks_and_sources() {
        use crate::{PtpSocket, SocketConfig};
        let master = [1, 2, 3, 0xFF, 0xFE, 4, 5, 6];
        let other = [9, 9, 9, 0xFF, 0xFE, 9, 9, 9];
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let base = SocketConfig::new(loopback).with_ports(0, 0);
        let sender = PtpSocket::bind(base.clone()).unwrap();
        let slave = PtpSocket::bind(base.clone().with_accepted_clocks([master])).unwrap();
        let event = slave.local_addr(PortKind::Event);
        let general = slave.local_addr(PortKind::General);
        sender
            .send_event(&message(0x0, other, 44), event)
            .await
            .unwrap();
        sender.send_event(&[0x00; 20], event).await.unwrap();
        sender
            .send_event(&message(0xB, master, 64), event)
            .await
            .unwrap();
        sender
            .send_general(&message(0xB, other, 64), general)
            .await
            .unwrap();
        sender
            .send_general(&message(0x9, other, 54), general)
            .await
            .unwrap();
        sender
            .send_event(&message(0x0, master, 44), event)
            .await
            .unwrap();
        sender
            .send_general(&message(0xB, master, 64), general)
            .await
            .unwrap();
        // A Delay_Req from any clock passes (only the master's four types are tested).
        sender
            .send_event(&message(0x1, other, 44), event)
            .await
            .unwrap();
        let recv = || async {
            tokio::time::timeout(std::time::Duration::from_secs(5), slave.recv())
                .await
                .expect("a datagram within 5 s")
                .unwrap()
        };
        let mut got = vec![recv().await.data, recv().await.data, recv().await.data];
        got.sort();
        let mut expected = vec![
            message(0x0, master, 44),
            message(0xB, master, 64),
            message(0x1, other, 44),
        ];
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(slave.counters().dropped(), 0, "refused in the kernel");

        // Sources: only the listed address gets through.
        let elsewhere: IpAddr = "192.0.2.77".parse().unwrap();
        let peer_only = PtpSocket::bind(base.clone().with_accepted_sources([elsewhere])).unwrap();
        let to = peer_only.local_addr(PortKind::General);
        sender
            .send_general(&message(0xB, master, 64), to)
            .await
            .unwrap();
        let open = PtpSocket::bind(base.with_accepted_sources([loopback])).unwrap();
        let to_open = open.local_addr(PortKind::General);
        sender
            .send_general(&message(0xB, master, 64), to_open)
            .await
            .unwrap();
        let received = tokio::time::timeout(std::time::Duration::from_secs(5), open.recv())
            .await
            .expect("from an accepted source")
            .unwrap();
        assert_eq!(received.data, message(0xB, master, 64));
        let refused =
            tokio::time::timeout(std::time::Duration::from_millis(300), peer_only.recv()).await;
        assert!(refused.is_err(), "a datagram from a non-peer arrived");
    }
}
