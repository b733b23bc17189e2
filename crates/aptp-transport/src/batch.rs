//! Batched receive: up to [`BATCH_LEN`] datagrams and their control messages (kernel receive
//! timestamp, destination address) per `recvmmsg` system call, into buffers allocated once
//! per socket.
//!
//! Why libc and not nix's `recvmmsg`: nix's `MultiHeaders` keeps raw pointers (it is neither
//! `Send` nor `Sync`, so a [`crate::PtpSocket`] holding one could not be shared between
//! tasks), and it does not reset each header's `msg_controllen` before the next call (the
//! kernel shrinks it to what the last datagram used), so reusing it truncates the control
//! messages of a later datagram that carries more of them — e.g. the first datagram with a
//! kernel timestamp after the kernel switched stamping on lazily. Building a fresh
//! `MultiHeaders` per call would allocate on every read. So the headers are built here, on
//! the stack, for each call, pointing into buffers this struct owns; the control messages
//! are decoded with the libc `CMSG_*` helpers. This is the crate's second `unsafe` site; each
//! block states why it holds.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::time::TimeSpec;

use crate::sys::{timespec_to_timestamp, RawDatagram};
use crate::{Timestamp, TimestampClock};

/// Datagrams read per system call at most.
pub(crate) const BATCH_LEN: usize = 32;

/// Control-message room per datagram, in 8-byte words (so each slot is aligned for
/// `cmsghdr`): SCM_TIMESTAMPING (16 + 48 bytes) and IPV6_PKTINFO (16 + 20 → 40) need 104;
/// 256 leaves room for anything else the kernel adds.
const CONTROL_WORDS: usize = 32;

/// The buffers of one socket's batched reads and the datagrams of the last read not yet
/// handed out.
pub(crate) struct ReceiveBatch {
    /// `BATCH_LEN` slots of `slot_len` bytes each.
    data: Box<[u8]>,
    slot_len: usize,
    control: Box<[u64]>,
    addresses: Box<[libc::sockaddr_storage]>,
    /// What the last read returned, slot by slot (`filled` entries are valid).
    datagrams: Box<[RawDatagram]>,
    filled: usize,
    next: usize,
    /// `CLOCK_REALTIME −` the socket's clock, sampled for this read when the first kernel
    /// timestamp of it is converted ([`ReceiveBatch::kernel_time`]); `None` until then.
    realtime_offset_ns: Cell<Option<i64>>,
}

impl core::fmt::Debug for ReceiveBatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReceiveBatch")
            .field("slot_len", &self.slot_len)
            .field("queued", &(self.filled - self.next))
            .finish_non_exhaustive()
    }
}

impl ReceiveBatch {
    /// Buffers for datagrams of up to `slot_len` bytes (longer ones are reported truncated).
    pub(crate) fn new(slot_len: usize) -> Self {
        // SAFETY: sockaddr_storage is plain data (integers and padding); all zeroes is valid.
        let zeroed: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        let empty = RawDatagram {
            len: 0,
            truncated: false,
            source: None,
            kernel_realtime: None,
            destination: None,
            interface_index: None,
            user: Timestamp::from_seconds_nanos(0, 0),
        };
        Self {
            data: vec![0u8; slot_len * BATCH_LEN].into_boxed_slice(),
            slot_len,
            control: vec![0u64; CONTROL_WORDS * BATCH_LEN].into_boxed_slice(),
            addresses: vec![zeroed; BATCH_LEN].into_boxed_slice(),
            datagrams: vec![empty; BATCH_LEN].into_boxed_slice(),
            filled: 0,
            next: 0,
            realtime_offset_ns: Cell::new(None),
        }
    }

    /// Whether datagrams of the last read are still waiting to be handed out.
    pub(crate) fn has_queued(&self) -> bool {
        self.next < self.filled
    }

    /// Takes the next datagram of the last read, in arrival order: its index for
    /// [`ReceiveBatch::get`].
    pub(crate) fn pop(&mut self) -> Option<usize> {
        if self.next >= self.filled {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(index)
    }

    /// The datagram of the last read at `index` and its bytes.
    pub(crate) fn get(&self, index: usize) -> Option<(&RawDatagram, &[u8])> {
        if index >= self.filled {
            return None;
        }
        let datagram = self.datagrams.get(index)?;
        let start = index * self.slot_len;
        let bytes = self
            .data
            .get(start..start + datagram.len.min(self.slot_len))?;
        Some((datagram, bytes))
    }

    /// A kernel receive timestamp of this read converted to `clock`: the `CLOCK_REALTIME`
    /// offset is sampled at the first call after a read and shared by the rest of its
    /// datagrams (see [`TimestampClock`]), so a read whose datagrams are all dropped costs no
    /// clock read. `None` if the clock cannot be read.
    pub(crate) fn kernel_time(
        &self,
        clock: TimestampClock,
        realtime: Timestamp,
    ) -> Option<Timestamp> {
        let offset_ns = match self.realtime_offset_ns.get() {
            Some(offset_ns) => offset_ns,
            None => {
                let offset_ns = clock.realtime_offset_ns().ok()?;
                self.realtime_offset_ns.set(Some(offset_ns));
                offset_ns
            }
        };
        Some(clock.convert_realtime(realtime, offset_ns))
    }

    /// Reads up to [`BATCH_LEN`] datagrams without blocking (`WouldBlock` when there is
    /// none), replacing whatever was queued; returns how many.
    pub(crate) fn fill(
        &mut self,
        socket: &impl AsRawFd,
        clock: TimestampClock,
    ) -> io::Result<usize> {
        self.filled = 0;
        self.next = 0;
        self.realtime_offset_ns.set(None);
        // SAFETY: iovec, msghdr and mmsghdr are plain C structs (pointers and integers);
        // all zeroes is a valid value of each (null pointers, zero lengths).
        let mut iovecs: [libc::iovec; BATCH_LEN] = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut headers: [libc::mmsghdr; BATCH_LEN] =
            unsafe { MaybeUninit::zeroed().assume_init() };
        let data = self.data.as_mut_ptr();
        let control = self.control.as_mut_ptr();
        let addresses = self.addresses.as_mut_ptr();
        for (index, (iovec, header)) in iovecs.iter_mut().zip(headers.iter_mut()).enumerate() {
            // `wrapping_add` keeps this safe code; the offsets stay inside the buffers:
            // data has BATCH_LEN slots of slot_len bytes, control BATCH_LEN slots of
            // CONTROL_WORDS words, addresses BATCH_LEN entries.
            iovec.iov_base = data.wrapping_add(index * self.slot_len).cast();
            iovec.iov_len = self.slot_len;
            let message = &mut header.msg_hdr;
            message.msg_name = addresses.wrapping_add(index).cast();
            message.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            message.msg_iov = iovec;
            message.msg_iovlen = 1;
            message.msg_control = control.wrapping_add(index * CONTROL_WORDS).cast();
            message.msg_controllen = CONTROL_WORDS * size_of::<u64>();
        }
        // SAFETY: `headers` holds BATCH_LEN entries, each pointing at its own iovec (on this
        // stack frame, alive for the call), its own slot of `self.data`, `self.control` and
        // `self.addresses` (owned by `self`, borrowed mutably for the whole call, with the
        // lengths given), so the kernel writes only inside them. No timeout pointer.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH_LEN as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            return Err(io::Error::last_os_error());
        }
        // As early as possible after the datagrams left the kernel; shared by the batch (it
        // is used only for datagrams the kernel did not stamp).
        let user = clock.now().map_err(io::Error::other)?;
        let received = (received as usize).min(BATCH_LEN);
        let results = headers.iter().zip(self.addresses.iter());
        for ((entry, address), datagram) in results.zip(self.datagrams.iter_mut()).take(received) {
            let header = &entry.msg_hdr;
            let length = entry.msg_len as usize;
            datagram.len = length.min(self.slot_len);
            datagram.truncated = header.msg_flags & libc::MSG_TRUNC != 0;
            datagram.source = socket_address(address, header.msg_namelen);
            datagram.user = user;
            datagram.kernel_realtime = None;
            datagram.destination = None;
            datagram.interface_index = None;
            // MSG_CTRUNC: the control data was cut, no kernel timestamp to trust; the
            // user-space one is used.
            if header.msg_flags & libc::MSG_CTRUNC == 0 {
                decode_control(header, datagram);
            }
        }
        self.filled = received;
        Ok(received)
    }
}

/// The source address the kernel wrote, if it is IPv4 or IPv6 and complete.
fn socket_address(storage: &libc::sockaddr_storage, length: libc::socklen_t) -> Option<SocketAddr> {
    let length = length as usize;
    let pointer: *const libc::sockaddr_storage = storage;
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if length >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET, length checked) at the
            // start of the storage, which is larger and at least as aligned.
            let address = unsafe { &*pointer.cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr)),
                u16::from_be(address.sin_port),
            )))
        }
        libc::AF_INET6 if length >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, a sockaddr_in6.
            let address = unsafe { &*pointer.cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(address.sin6_addr.s6_addr),
                u16::from_be(address.sin6_port),
                address.sin6_flowinfo,
                address.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Reads a `T` from the data of `cmsg` if the message is long enough to hold one.
///
/// # Safety
/// `cmsg` must point at a control message header inside the control buffer of a message the
/// kernel just filled (as returned by `CMSG_FIRSTHDR`/`CMSG_NXTHDR` for it).
unsafe fn cmsg_data<T: Copy>(cmsg: *const libc::cmsghdr) -> Option<T> {
    // SAFETY: CMSG_LEN is arithmetic on its argument only.
    let header_len = unsafe { libc::CMSG_LEN(0) } as usize;
    // SAFETY (caller): cmsg points at a valid header.
    let length = unsafe { (*cmsg).cmsg_len };
    if length < header_len + size_of::<T>() {
        return None;
    }
    // SAFETY: the message's data holds at least size_of::<T>() bytes (checked above) of a
    // plain C struct the kernel wrote; read_unaligned makes no alignment assumption.
    Some(unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<T>()) })
}

/// Takes the receive timestamp and packet info out of the control messages of `header`.
fn decode_control(header: &libc::msghdr, datagram: &mut RawDatagram) {
    // SAFETY: `header` is a msghdr the kernel just filled; its msg_control points at this
    // datagram's control slot and msg_controllen says how much of it the kernel used.
    // CMSG_FIRSTHDR/CMSG_NXTHDR return null or a header inside that range.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(header) };
    while !cmsg.is_null() {
        // SAFETY: non-null, so a header inside the used control data.
        let (level, kind) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type) };
        match (level, kind) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING) => {
                // [software, (deprecated), raw hardware]: the software one.
                // SAFETY: cmsg comes from CMSG_FIRSTHDR/CMSG_NXTHDR of this message.
                if let Some(specs) = unsafe { cmsg_data::<[libc::timespec; 3]>(cmsg) } {
                    datagram.kernel_realtime = timespec_to_timestamp(&TimeSpec::from(specs[0]));
                }
            }
            (libc::SOL_SOCKET, libc::SO_TIMESTAMPNS) => {
                // SAFETY: as above.
                if let Some(spec) = unsafe { cmsg_data::<libc::timespec>(cmsg) } {
                    datagram.kernel_realtime = timespec_to_timestamp(&TimeSpec::from(spec));
                }
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                // SAFETY: as above.
                if let Some(info) = unsafe { cmsg_data::<libc::in_pktinfo>(cmsg) } {
                    datagram.destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    ))));
                    datagram.interface_index = u32::try_from(info.ipi_ifindex).ok();
                }
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // SAFETY: as above.
                if let Some(info) = unsafe { cmsg_data::<libc::in6_pktinfo>(cmsg) } {
                    datagram.destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    datagram.interface_index = Some(info.ipi6_ifindex);
                }
            }
            _ => {}
        }
        // SAFETY: `cmsg` is a header of this message; CMSG_NXTHDR returns the next one
        // inside msg_controllen or null.
        cmsg = unsafe { libc::CMSG_NXTHDR(header, cmsg) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn pair() -> (UdpSocket, UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        (receiver, sender)
    }

    /// Reads until `count` datagrams were returned (the socket is non-blocking: loops on
    /// WouldBlock, for at most 5 s, so a busy machine's late delivery is still read).
    fn read_all(batch: &mut ReceiveBatch, socket: &UdpSocket, count: usize) -> Vec<RawDatagram> {
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            match batch.fill(socket, TimestampClock::Realtime) {
                Ok(_) => {
                    while let Some(index) = batch.pop() {
                        let (datagram, bytes) = batch.get(index).unwrap();
                        assert_eq!(bytes.len(), datagram.len);
                        out.push(datagram.clone());
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                Err(error) => panic!("recvmmsg: {error}"),
            }
            if out.len() >= count {
                break;
            }
        }
        out
    }

    /// More datagrams than one batch holds come back in order, each with its own bytes,
    /// source, destination and a kernel timestamp; back-to-back datagrams get distinct,
    /// non-decreasing kernel timestamps.
    #[test]
    fn a_batch_returns_each_datagram_with_its_own_timestamp_in_order() {
        let (receiver, sender) = pair();
        receiver.set_nonblocking(true).unwrap();
        crate::sys::enable_kernel_timestamps(&receiver, false);
        crate::sys::enable_packet_info(&receiver, false);
        let mut batch = ReceiveBatch::new(64);
        // Kernel stamping switches on lazily (crate docs): wait for a stamped datagram.
        let mut stamped = false;
        for _ in 0..200 {
            sender
                .send_to(&[0xAA], receiver.local_addr().unwrap())
                .unwrap();
            let got = read_all(&mut batch, &receiver, 1);
            if got.first().is_some_and(|d| d.kernel_realtime.is_some()) {
                stamped = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(stamped, "no kernel receive timestamp on loopback");
        let count = BATCH_LEN + 8;
        for i in 0..count {
            sender
                .send_to(&[i as u8, 1, 2, 3], receiver.local_addr().unwrap())
                .unwrap();
        }
        let got = read_all(&mut batch, &receiver, count);
        assert_eq!(got.len(), count);
        let mut last: Option<Timestamp> = None;
        for (i, datagram) in got.iter().enumerate() {
            assert_eq!(datagram.len, 4);
            assert!(!datagram.truncated);
            assert_eq!(datagram.source, Some(sender.local_addr().unwrap()));
            assert_eq!(datagram.destination, Some("127.0.0.1".parse().unwrap()));
            let stamp = datagram.kernel_realtime.expect("a kernel timestamp");
            if let Some(previous) = last {
                assert!(
                    stamp > previous,
                    "datagram {i}: {stamp:?} after {previous:?}"
                );
            }
            last = Some(stamp);
        }
    }

    /// A datagram longer than a slot is reported truncated; the next one is intact.
    #[test]
    fn a_datagram_longer_than_a_slot_is_reported_truncated() {
        let (receiver, sender) = pair();
        receiver.set_nonblocking(true).unwrap();
        let mut batch = ReceiveBatch::new(8);
        sender
            .send_to(&[7; 20], receiver.local_addr().unwrap())
            .unwrap();
        sender
            .send_to(&[9; 3], receiver.local_addr().unwrap())
            .unwrap();
        let got = read_all(&mut batch, &receiver, 2);
        assert_eq!(got.len(), 2);
        assert!(got[0].truncated);
        assert_eq!((got[1].truncated, got[1].len), (false, 3));
        assert!(
            got[1].kernel_realtime.is_none(),
            "no stamping was asked for"
        );
    }
}
