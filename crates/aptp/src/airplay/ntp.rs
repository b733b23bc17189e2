//! AirPlay 1's NTP-style timing exchange (payload types 0x52 request / 0x53 reply, sent as
//! 0xD2 / 0xD3 with the marker bit), both ways, producing the same [`ClockMapping`] as PTP.
//!
//! - [`NtpTimingClient`]: the receiver's side. It asks the sender's timing port every
//!   `interval` and feeds each reply to an aptp-clock estimator: the reply's transmit time and
//!   its arrival are the forward leg (t1, t2), the request's send and the sender's receive
//!   time the backward leg (t3, t4), so the exchange is a two-way measurement.
//! - [`NtpTimingResponder`]: the other side, answering requests with the local clock.
//!
//! Times on the wire are NTP 32.32 fixed point. The remote timescale of the mapping is the
//! peer's NTP timescale as it writes it (seconds since 1900 for a real sender); the local one
//! is the caller's clock written as 32.32 seconds.

use aptp_clock::{AnyEstimator, ClockMapping, Estimator, EstimatorKind, PathDelay, Sample, Time};
use aptp_wire::airplay::{NtpTimingKind, NtpTimingPacket};
use aptp_wire::{NtpTimestamp, WireError};
use thiserror::Error;

/// Why a timing datagram was not used.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NtpTimingError {
    /// Not a 32-byte 0xD2/0xD3 packet.
    #[error("not an NTP-style timing packet: {0}")]
    Wire(#[from] WireError),
    /// A request where a reply was expected, or the reverse.
    #[error("unexpected {0:?} packet")]
    UnexpectedKind(NtpTimingKind),
    /// A reply to no outstanding request (its reference time matches none sent).
    #[error("reply to no outstanding request")]
    Unmatched,
    /// A local time that NTP 32.32 cannot write (before the epoch or beyond 2^32 s).
    #[error("local time outside the NTP 32.32 range")]
    TimeOutOfRange,
}

fn ntp_of(time: Time) -> Result<NtpTimestamp, NtpTimingError> {
    time.to_fixed_32_32()
        .map(NtpTimestamp::from_bits)
        .ok_or(NtpTimingError::TimeOutOfRange)
}

fn time_of_ntp(ntp: NtpTimestamp) -> Time {
    Time::from_fixed_32_32(ntp.to_bits())
}

/// The receiver's side of AirPlay 1 timing.
///
/// ```
/// use aptp::airplay::{NtpTimingClient, NtpTimingResponder};
/// use aptp_clock::{EstimatorKind, Time, TimeDelta};
///
/// let mut client = NtpTimingClient::new(EstimatorKind::DEFAULT, TimeDelta::from_millis(500), Time::from_nanos(0));
/// let responder = NtpTimingResponder::new();
/// // The sender's clock reads 3 s more than ours; 1 ms each way.
/// let mut local = Time::from_nanos(1_000_000_000);
/// for _ in 0..40 {
///     if let Some(request) = client.poll_transmit(local).unwrap() {
///         let at_sender = local + TimeDelta::from_secs(3) + TimeDelta::from_millis(1);
///         let reply = responder.respond(&request, at_sender, at_sender).unwrap();
///         client.handle_datagram(&reply, local + TimeDelta::from_millis(2)).unwrap();
///     }
///     local += TimeDelta::from_millis(500);
/// }
/// let offset = client.mapping().unwrap().offset_at(local);
/// assert!((offset - TimeDelta::from_secs(3)).abs() < TimeDelta::from_micros(1));
/// ```
#[derive(Debug)]
pub struct NtpTimingClient {
    estimator: AnyEstimator,
    mapping: Option<ClockMapping>,
    interval: aptp_clock::TimeDelta,
    next_request_at: Time,
    sequence_number: u16,
    /// Transmit times of requests not yet answered (newest last), with their local instant.
    outstanding: [(NtpTimestamp, Time); 4],
    outstanding_count: usize,
    peer_identity: u64,
}

impl NtpTimingClient {
    /// A client asking every `interval`, its first request due at `now`.
    pub fn new(estimator: EstimatorKind, interval: aptp_clock::TimeDelta, now: Time) -> Self {
        NtpTimingClient {
            estimator: estimator.build(),
            mapping: None,
            interval,
            next_request_at: now,
            sequence_number: 0,
            outstanding: [(NtpTimestamp::from_bits(0), Time::EPOCH); 4],
            outstanding_count: 0,
            peer_identity: 1,
        }
    }

    /// Restarts the estimation for another sender (`peer_identity` names it in the samples).
    pub fn restart(&mut self, peer_identity: u64) {
        self.estimator.reset();
        self.mapping = None;
        self.outstanding_count = 0;
        self.peer_identity = peer_identity;
    }

    /// The mapping from the local clock to the sender's timescale.
    pub fn mapping(&self) -> Option<ClockMapping> {
        self.mapping
    }

    /// When the next request is due.
    pub fn poll_timeout(&self) -> Time {
        self.next_request_at
    }

    /// The request to send now, if one is due (`now` is its transmit time: call this right
    /// before sending).
    ///
    /// # Errors
    /// [`NtpTimingError::TimeOutOfRange`] for a local clock NTP cannot write.
    pub fn poll_transmit(
        &mut self,
        now: Time,
    ) -> Result<Option<[u8; NtpTimingPacket::LENGTH]>, NtpTimingError> {
        if now < self.next_request_at {
            return Ok(None);
        }
        self.next_request_at = now + self.interval;
        let transmit = ntp_of(now)?;
        self.sequence_number = self.sequence_number.wrapping_add(1);
        if self.outstanding_count == self.outstanding.len() {
            self.outstanding.rotate_left(1);
            self.outstanding_count -= 1;
        }
        self.outstanding[self.outstanding_count] = (transmit, now);
        self.outstanding_count += 1;
        Ok(Some(
            NtpTimingPacket::request(self.sequence_number, transmit).to_bytes(),
        ))
    }

    /// Records when `request` (a packet [`NtpTimingClient::poll_transmit`] returned) actually
    /// left: its send time (the exchange's t3) becomes `transmitted`, typically the kernel's
    /// transmit timestamp, instead of the `now` given to `poll_transmit`. The reply is still
    /// matched by the transmit time written in the packet, which the peer echoes. Returns
    /// whether an outstanding request has that transmit time (`false` once it was answered
    /// or pushed out by newer requests, or for bytes that are not a request).
    ///
    /// ```
    /// use aptp::airplay::NtpTimingClient;
    /// use aptp_clock::{EstimatorKind, Time, TimeDelta};
    ///
    /// let start = Time::from_nanos(1_000_000_000);
    /// let mut client = NtpTimingClient::new(EstimatorKind::DEFAULT, TimeDelta::from_secs(1), start);
    /// let request = client.poll_transmit(start).unwrap().unwrap();
    /// // The kernel stamped it 20 µs later, when it left.
    /// assert!(client.transmitted(&request, start + TimeDelta::from_micros(20)));
    /// assert!(!client.transmitted(&[0x80, 0xd2], start));
    /// ```
    pub fn transmitted(&mut self, request: &[u8], transmitted: Time) -> bool {
        let Ok(packet) = NtpTimingPacket::parse(request) else {
            return false;
        };
        if packet.kind != NtpTimingKind::Request {
            return false;
        }
        match self.outstanding[..self.outstanding_count]
            .iter_mut()
            .find(|(sent, _)| *sent == packet.transmit_time)
        {
            Some((_, t3)) => {
                *t3 = transmitted;
                true
            }
            None => false,
        }
    }

    /// A reply received at local instant `rx_timestamp`: the new mapping, if it changed.
    ///
    /// # Errors
    /// [`NtpTimingError`] for anything that is not a reply to an outstanding request.
    pub fn handle_datagram(
        &mut self,
        bytes: &[u8],
        rx_timestamp: Time,
    ) -> Result<Option<ClockMapping>, NtpTimingError> {
        let packet = NtpTimingPacket::parse(bytes)?;
        if packet.kind != NtpTimingKind::Reply {
            return Err(NtpTimingError::UnexpectedKind(packet.kind));
        }
        let outstanding = &self.outstanding[..self.outstanding_count];
        let index = outstanding
            .iter()
            .position(|(sent, _)| *sent == packet.reference_time)
            .ok_or(NtpTimingError::Unmatched)?;
        let (_, t3) = outstanding[index];
        self.outstanding
            .copy_within(index + 1..self.outstanding_count, index);
        self.outstanding_count -= 1;
        let sample = Sample {
            t1: time_of_ntp(packet.transmit_time),
            t2: rx_timestamp,
            path_delay: PathDelay::Exchange {
                t3,
                t4: time_of_ntp(packet.receive_time),
            },
            grandmaster_identity: self.peer_identity,
        };
        let update = self.estimator.update(&sample);
        let changed = update.mapping.is_some() && update.mapping != self.mapping;
        self.mapping = update.mapping.or(self.mapping);
        Ok(if changed { update.mapping } else { None })
    }
}

/// The answering side of AirPlay 1 timing: replies carry the local clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct NtpTimingResponder;

impl NtpTimingResponder {
    /// A responder.
    pub fn new() -> Self {
        NtpTimingResponder
    }

    /// The reply to the request `bytes` received at `rx_timestamp`, to be sent at `now`.
    ///
    /// # Errors
    /// [`NtpTimingError`] for anything that is not a request, or an out-of-range clock.
    pub fn respond(
        &self,
        bytes: &[u8],
        rx_timestamp: Time,
        now: Time,
    ) -> Result<[u8; NtpTimingPacket::LENGTH], NtpTimingError> {
        let request = NtpTimingPacket::parse(bytes)?;
        if request.kind != NtpTimingKind::Request {
            return Err(NtpTimingError::UnexpectedKind(request.kind));
        }
        let reply = NtpTimingPacket::reply_to(&request, ntp_of(rx_timestamp)?, ntp_of(now)?);
        Ok(reply.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_clock::TimeDelta;

    #[test]
    fn bad_datagrams_are_typed_errors() {
        let mut client =
            NtpTimingClient::new(EstimatorKind::DEFAULT, TimeDelta::from_secs(1), Time::EPOCH);
        let responder = NtpTimingResponder::new();
        assert!(matches!(
            client.handle_datagram(&[0x80, 0xd3, 0], Time::EPOCH),
            Err(NtpTimingError::Wire(_))
        ));
        let request = client
            .poll_transmit(Time::from_nanos(1_000_000_000))
            .unwrap()
            .unwrap();
        assert_eq!(
            client.handle_datagram(&request, Time::EPOCH),
            Err(NtpTimingError::UnexpectedKind(NtpTimingKind::Request))
        );
        let reply = responder
            .respond(&request, Time::from_nanos(5), Time::from_nanos(6))
            .unwrap();
        assert!(matches!(
            responder.respond(&reply, Time::EPOCH, Time::EPOCH),
            Err(NtpTimingError::UnexpectedKind(NtpTimingKind::Reply))
        ));
        // Answered once; the same reply again matches nothing.
        client
            .handle_datagram(&reply, Time::from_nanos(1_000_001_000))
            .unwrap();
        assert_eq!(
            client.handle_datagram(&reply, Time::from_nanos(1_000_002_000)),
            Err(NtpTimingError::Unmatched)
        );
        assert_eq!(
            responder.respond(&request, Time::from_scaled_nanos(-1), Time::EPOCH),
            Err(NtpTimingError::TimeOutOfRange)
        );
        // Not due yet: nothing to send.
        assert_eq!(
            client.poll_transmit(Time::from_nanos(1_000_000_001)),
            Ok(None)
        );
    }

    /// One clock on both sides, 50 µs each way, but each request leaves 100 µs after the
    /// `now` given to `poll_transmit` (the scheduling delay a user-space timestamp carries).
    /// With the real departure given to `transmitted`, the offset is right; without it, it
    /// is off by half the delay.
    fn offset_after_exchanges(record_departure: bool) -> TimeDelta {
        let second = TimeDelta::from_secs(1);
        let (late, one_way) = (TimeDelta::from_micros(100), TimeDelta::from_micros(50));
        let start = Time::from_nanos(1_000_000_000);
        let mut client = NtpTimingClient::new(EstimatorKind::DEFAULT, second, start);
        let responder = NtpTimingResponder::new();
        let mut now = start;
        for _ in 0..32 {
            let request = client.poll_transmit(now).unwrap().unwrap();
            let departure = now + late;
            if record_departure {
                assert!(client.transmitted(&request, departure));
            }
            let at_peer = departure + one_way;
            let reply = responder.respond(&request, at_peer, at_peer).unwrap();
            client.handle_datagram(&reply, at_peer + one_way).unwrap();
            now += second;
        }
        assert!(!client.transmitted(&[0u8; 32], now), "not a request");
        client
            .mapping()
            .expect("a mapping after 32 exchanges")
            .offset_at(now)
    }

    #[test]
    fn the_real_departure_time_removes_the_send_delay_bias() {
        let exact = offset_after_exchanges(true);
        assert!(exact.abs() < TimeDelta::from_micros(1), "{exact:?}");
        let biased = offset_after_exchanges(false);
        assert!(
            (biased - TimeDelta::from_micros(50)).abs() < TimeDelta::from_micros(1),
            "{biased:?}"
        );
    }
}
