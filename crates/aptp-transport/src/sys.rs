//! The Linux socket calls: enabling software timestamps, `recvmsg` with control messages,
//! and reading transmit timestamps from the socket error queue. (The batched `recvmmsg`
//! path of [`crate::PtpSocket`] is in `batch`.)
//!
//! Everything goes through nix's safe wrappers (`setsockopt`, `recvmsg`, `ControlMessageOwned`);
//! this module holds no `unsafe`.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage, TimestampingFlag,
};
use nix::sys::time::TimeSpec;

use crate::{Timestamp, TimestampClock};

/// What the kernel agreed to timestamp on one socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KernelTimestamping {
    /// Receive timestamps arrive as control messages.
    pub(crate) rx: bool,
    /// Transmit timestamps arrive on the error queue, tagged with `SOF_TIMESTAMPING_OPT_ID`.
    pub(crate) tx: bool,
}

/// Asks for software receive timestamps (and, when `transmit`, software transmit timestamps
/// tagged with a per-socket counter, reported without the packet: OPT_ID | OPT_TSONLY).
/// Falls back to `SO_TIMESTAMPNS` for receive timestamps if `SO_TIMESTAMPING` is refused.
pub(crate) fn enable_kernel_timestamps(socket: &impl AsFd, transmit: bool) -> KernelTimestamping {
    let receive = TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE
        | TimestampingFlag::SOF_TIMESTAMPING_RX_SOFTWARE;
    if transmit {
        let flags = receive
            | TimestampingFlag::SOF_TIMESTAMPING_TX_SOFTWARE
            | TimestampingFlag::SOF_TIMESTAMPING_OPT_ID
            | TimestampingFlag::SOF_TIMESTAMPING_OPT_TSONLY;
        if setsockopt(socket, sockopt::Timestamping, &flags).is_ok() {
            return KernelTimestamping { rx: true, tx: true };
        }
        tracing::debug!("SO_TIMESTAMPING with transmit timestamps refused; trying receive only");
    }
    if setsockopt(socket, sockopt::Timestamping, &receive).is_ok() {
        return KernelTimestamping {
            rx: true,
            tx: false,
        };
    }
    let rx = setsockopt(socket, sockopt::ReceiveTimestampns, &true).is_ok();
    if !rx {
        tracing::warn!("the kernel gives no receive timestamps; using user-space timestamps");
    }
    KernelTimestamping { rx, tx: false }
}

/// Asks for the destination address and interface of each datagram (`IP_PKTINFO` /
/// `IPV6_RECVPKTINFO`). Informational: a refusal only leaves them unreported.
pub(crate) fn enable_packet_info(socket: &impl AsFd, ipv6: bool) {
    let result = if ipv6 {
        setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
    } else {
        setsockopt(socket, sockopt::Ipv4PacketInfo, &true)
    };
    if let Err(error) = result {
        tracing::debug!(%error, "packet info (destination address) not available");
    }
}

/// Room for every control message we may get: SCM_TIMESTAMPING (three timespecs), or
/// SCM_TIMESTAMPNS, the packet info, plus an IP(V6)_RECVERR record on the error queue.
fn control_buffer() -> Vec<u8> {
    nix::cmsg_space!(
        [libc::timespec; 3],
        libc::timespec,
        libc::in6_pktinfo,
        libc::sock_extended_err,
        libc::sockaddr_in6
    )
}

pub(crate) fn timespec_to_timestamp(spec: &TimeSpec) -> Option<Timestamp> {
    // An all-zero software slot means "no software timestamp" (e.g. only hardware ones).
    if spec.tv_sec() == 0 && spec.tv_nsec() == 0 {
        None
    } else {
        Some(Timestamp::from_seconds_nanos(spec.tv_sec(), spec.tv_nsec()))
    }
}

/// One datagram as `recvmsg` (or `recvmmsg`) returned it.
#[derive(Clone, Debug)]
pub(crate) struct RawDatagram {
    /// Bytes written into the buffer.
    pub(crate) len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub(crate) truncated: bool,
    /// Where it came from.
    pub(crate) source: Option<SocketAddr>,
    /// The kernel's software receive timestamp (`CLOCK_REALTIME`).
    pub(crate) kernel_realtime: Option<Timestamp>,
    /// The destination address in the IP header (a group address for multicast).
    pub(crate) destination: Option<IpAddr>,
    /// The interface it arrived on.
    pub(crate) interface_index: Option<u32>,
    /// The user-space timestamp read right after `recvmsg` returned, on the socket's clock.
    pub(crate) user: Timestamp,
}

/// Reads one datagram without blocking (`WouldBlock` when there is none).
pub(crate) fn receive(
    socket: &impl AsRawFd,
    buffer: &mut [u8],
    clock: TimestampClock,
) -> io::Result<RawDatagram> {
    let mut control = control_buffer();
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    // As early as possible after the datagram left the kernel.
    let user = clock.now().map_err(io::Error::other)?;

    let mut kernel_realtime = None;
    let mut destination = None;
    let mut interface_index = None;
    // cmsgs() fails only when the control data was truncated (MSG_CTRUNC): then there is no
    // kernel timestamp to trust, and the user-space one is used.
    if let Ok(control_messages) = message.cmsgs() {
        for control_message in control_messages {
            match control_message {
                ControlMessageOwned::ScmTimestampsns(timestamps) => {
                    kernel_realtime = timespec_to_timestamp(&timestamps.system);
                }
                ControlMessageOwned::ScmTimestampns(spec) => {
                    kernel_realtime = timespec_to_timestamp(&spec);
                }
                ControlMessageOwned::Ipv4PacketInfo(info) => {
                    destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    ))));
                    interface_index = u32::try_from(info.ipi_ifindex).ok();
                }
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    interface_index = Some(info.ipi6_ifindex);
                }
                _ => {}
            }
        }
    }
    let source = message.address.as_ref().and_then(storage_to_socket_addr);
    Ok(RawDatagram {
        len: message.bytes,
        truncated: message.flags.contains(MsgFlags::MSG_TRUNC),
        source,
        kernel_realtime,
        destination,
        interface_index,
        user,
    })
}

fn storage_to_socket_addr(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    storage
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// `SCM_TSTAMP_SND` from `<linux/errqueue.h>` (not in the libc crate): the timestamp was taken
/// when the driver got the packet, as opposed to SCHED (queued) or ACK (TCP only).
const SCM_TSTAMP_SND: u32 = 0;

/// One record of the socket error queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorQueueEntry {
    /// A software transmit timestamp for the datagram numbered `id` (OPT_ID counter).
    TxTimestamp { id: u32, realtime: Timestamp },
    /// Something else (an ICMP error, a timestamp without an id): skipped.
    Other,
}

/// Reads one record from the error queue without blocking (`WouldBlock` when empty).
pub(crate) fn read_error_queue(socket: &impl AsRawFd) -> io::Result<ErrorQueueEntry> {
    let mut control = control_buffer();
    // OPT_TSONLY: the record carries no payload; a small buffer absorbs one if it does.
    let mut payload = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let Ok(control_messages) = message.cmsgs() else {
        return Ok(ErrorQueueEntry::Other);
    };
    let mut realtime = None;
    let mut id = None;
    for control_message in control_messages {
        match control_message {
            ControlMessageOwned::ScmTimestampsns(timestamps) => {
                realtime = timespec_to_timestamp(&timestamps.system);
            }
            ControlMessageOwned::Ipv4RecvErr(error, _)
            | ControlMessageOwned::Ipv6RecvErr(error, _)
                if error.ee_origin == libc::SO_EE_ORIGIN_TIMESTAMPING
                    && error.ee_info == SCM_TSTAMP_SND =>
            {
                id = Some(error.ee_data);
            }
            _ => {}
        }
    }
    Ok(match (id, realtime) {
        (Some(id), Some(realtime)) => ErrorQueueEntry::TxTimestamp { id, realtime },
        _ => ErrorQueueEntry::Other,
    })
}
