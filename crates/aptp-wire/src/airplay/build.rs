//! Messages like a real Apple device sends, and AirPlay's 64-bit network time.

use crate::error::WireError;
use crate::field;
use crate::tlv::{FollowUpInformation, PathTrace, TlvBuf, TlvRepr, Tlvs};
use crate::{AnnounceBody, Body, ClockAccuracy, ClockQuality, Flags, Header, Message};
use crate::{PortIdentity, TimeInterval, TimeSource, Timestamp, NANOSECONDS_PER_SECOND};

use super::AppleClockIdentity;

/// majorSdoId of AirPlay's PTP (802.1AS's transportSpecific 1).
pub const APPLE_MAJOR_SDO_ID: u8 = 1;
/// flagField Apple sends on Announce, Follow_Up and Signaling: unicast | ptpTimescale
/// (0x0408). Sync and Delay_Resp add twoStep (0x0608).
pub const APPLE_FLAGS: Flags = Flags(Flags::UNICAST.0 | Flags::PTP_TIMESCALE.0);

/// A message with its TLVs stored inline (no allocation): what [`follow_up`] and
/// [`announce`] return. [`AirplayMessage::message`] views it as a [`Message`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AirplayMessage<const N: usize> {
    header: Header,
    body: Body<'static>,
    tlvs: TlvBuf<N>,
}

/// A Follow_Up like Apple's: 96 bytes with two TLVs.
pub type AppleFollowUp = AirplayMessage<52>;
/// An Announce like Apple's: 76 bytes with a PATH_TRACE TLV.
pub type AppleAnnounce = AirplayMessage<12>;

impl<const N: usize> AirplayMessage<N> {
    /// `message` with `tlvs`; messageLength is set once here, so views stay consistent.
    fn from_parts(message: Message<'static>, tlvs: TlvBuf<N>) -> Result<Self, WireError> {
        let header = message.with_tlvs(tlvs.tlvs())?.header;
        Ok(AirplayMessage {
            header,
            body: message.body,
            tlvs,
        })
    }

    /// The message (a cheap view; change its header fields, e.g. sequenceId, before
    /// emitting).
    pub fn message(&self) -> Message<'_> {
        Message {
            header: self.header,
            body: self.body,
            tlvs: Tlvs::at_offset(
                self.tlvs.as_bytes(),
                field::header::LENGTH + self.body.len(),
            ),
            suffix: &[],
        }
    }

    /// The message's length.
    pub fn buffer_len(&self) -> usize {
        self.message().buffer_len()
    }

    /// Writes the message at the start of `out` (see [`Message::emit`]).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        self.message().emit(out)
    }
}

/// A Follow_Up as Apple sends it: majorSdoId 1, flags 0x0408, logMessageInterval −3, the
/// 802.1AS Follow_Up information TLV (`information`; Apple's is sometimes all zero) then
/// Apple's 00-0D-93/000004 TLV with the sender's clock identity: 96 bytes.
///
/// ```
/// use aptp_wire::airplay::{self, AppleClockIdentity};
/// use aptp_wire::{ClockIdentity, FollowUpInformation, Message, PortIdentity, Timestamp, TlvRepr};
///
/// let me = PortIdentity::new(ClockIdentity([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00, 0x08]), 0x8001);
/// let follow_up = airplay::follow_up(me, 42, Timestamp::new(1000, 5).unwrap(), FollowUpInformation::default())?;
/// let mut out = [0u8; 128];
/// assert_eq!(follow_up.emit(&mut out)?, 96);
///
/// let parsed = Message::parse(&out[..96])?;
/// assert_eq!(parsed.header.flags.0, 0x0408);
/// assert_eq!(parsed.header.log_message_interval, -3);
/// let tlvs: Vec<_> = parsed.tlvs.map(|tlv| tlv.and_then(|t| t.decode())).collect::<Result<_, _>>()?;
/// assert_eq!(tlvs[1], TlvRepr::AppleClockIdentity(AppleClockIdentity {
///     clock_identity: me.clock_identity,
///     reserved: [0, 0],
/// }));
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
pub fn follow_up(
    source_port_identity: PortIdentity,
    sequence_id: u16,
    precise_origin_timestamp: Timestamp,
    information: FollowUpInformation,
) -> Result<AppleFollowUp, WireError> {
    let mut tlvs = TlvBuf::new();
    tlvs.push(&TlvRepr::FollowUpInformation(information))?;
    tlvs.push(&TlvRepr::AppleClockIdentity(AppleClockIdentity {
        clock_identity: source_port_identity.clock_identity,
        reserved: [0, 0],
    }))?;
    let message = Message::follow_up(source_port_identity, sequence_id, precise_origin_timestamp)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(APPLE_FLAGS)
        .with_log_message_interval(-3)
        .with_correction_field(TimeInterval::ZERO);
    AirplayMessage::from_parts(message, tlvs)
}

/// An Announce as a Mac running Music sends it: majorSdoId 1, flags 0x0408,
/// logMessageInterval −2, priority1 250, `grandmaster_priority2` (Apple uses 248 or 239),
/// clockClass 248, clockAccuracy 0x21, offsetScaledLogVariance 0x436A, timeSource 0xA0,
/// currentUtcOffset 37, stepsRemoved 0, the grandmaster being the sender's clock, and a
/// PATH_TRACE TLV holding that clock: 76 bytes.
///
/// ```
/// use aptp_wire::airplay;
/// use aptp_wire::{Body, ClockIdentity, Message, PortIdentity};
///
/// let me = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 0, 8]), 0x8001);
/// let announce = airplay::announce(me, 1, 248)?;
/// let mut out = [0u8; 76];
/// announce.emit(&mut out)?;
/// let parsed = Message::parse(&out)?;
/// let Body::Announce(body) = parsed.body else { unreachable!() };
/// assert_eq!(body.grandmaster_priority1, 250);
/// assert_eq!(body.grandmaster_identity, me.clock_identity);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
pub fn announce(
    source_port_identity: PortIdentity,
    sequence_id: u16,
    grandmaster_priority2: u8,
) -> Result<AppleAnnounce, WireError> {
    let clock = [source_port_identity.clock_identity];
    let mut tlvs = TlvBuf::new();
    tlvs.push(&TlvRepr::PathTrace(PathTrace::from_identities(&clock)))?;
    let body = AnnounceBody {
        origin_timestamp: Timestamp::ZERO,
        current_utc_offset: 37,
        reserved: 0,
        grandmaster_priority1: 250,
        grandmaster_clock_quality: ClockQuality {
            clock_class: 248,
            clock_accuracy: ClockAccuracy::WITHIN_100_NS,
            offset_scaled_log_variance: 0x436a,
        },
        grandmaster_priority2,
        grandmaster_identity: source_port_identity.clock_identity,
        steps_removed: 0,
        time_source: TimeSource::INTERNAL_OSCILLATOR,
    };
    let message = Message::announce(source_port_identity, sequence_id, body)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(APPLE_FLAGS)
        .with_log_message_interval(-2);
    AirplayMessage::from_parts(message, tlvs)
}

/// A two-step Sync as Apple sends it: majorSdoId 1, flags 0x0608 (twoStep | unicast |
/// ptpTimescale), logMessageInterval −3 (8 per second); 44 bytes.
///
/// ```
/// use aptp_wire::{airplay, PortIdentity, Timestamp};
///
/// let sync = airplay::sync(PortIdentity::ZERO, 5, Timestamp::ZERO);
/// let mut out = [0u8; 44];
/// sync.emit(&mut out)?;
/// assert_eq!(&out[..8], &[0x10, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x06, 0x08]);
/// assert_eq!(out[33] as i8, -3);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
pub const fn sync(
    source_port_identity: PortIdentity,
    sequence_id: u16,
    origin_timestamp: Timestamp,
) -> Message<'static> {
    Message::sync(source_port_identity, sequence_id, origin_timestamp)
        .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
        .with_flags(Flags(APPLE_FLAGS.0 | Flags::TWO_STEP.0))
        .with_log_message_interval(-3)
}

/// A Delay_Resp as Apple sends it: majorSdoId 1, flags 0x0608, logMessageInterval −3, and
/// the controlField IEEE 1588 prescribes (3; a HomePod mini sends 0, which receivers must
/// accept: set `header.control_field` to mimic it).
pub const fn delay_resp(
    source_port_identity: PortIdentity,
    sequence_id: u16,
    receive_timestamp: Timestamp,
    requesting_port_identity: PortIdentity,
) -> Message<'static> {
    Message::delay_resp(
        source_port_identity,
        sequence_id,
        receive_timestamp,
        requesting_port_identity,
    )
    .with_major_sdo_id(APPLE_MAJOR_SDO_ID)
    .with_flags(Flags(APPLE_FLAGS.0 | Flags::TWO_STEP.0))
    .with_log_message_interval(-3)
}

/// AirPlay's network time (SETRATEANCHORTIME's networkTimeSecs and networkTimeFrac, a 64-bit
/// binary fraction of a second) as a PTP timestamp, the fraction rounded to the nearest
/// nanosecond (halves up, carrying into the seconds). `None` when the seconds (after a carry)
/// need more than 48 bits.
///
/// ```
/// use aptp_wire::airplay::{network_time_to_timestamp, timestamp_to_network_time};
/// use aptp_wire::Timestamp;
///
/// let t = network_time_to_timestamp(100, 1 << 63).unwrap();
/// assert_eq!(t, Timestamp { seconds: 100, nanoseconds: 500_000_000 });
/// assert_eq!(timestamp_to_network_time(t), Some((100, 1 << 63)));
/// assert_eq!(network_time_to_timestamp(100, u64::MAX), Timestamp::new(101, 0));
/// ```
pub fn network_time_to_timestamp(
    network_time_secs: u64,
    network_time_frac: u64,
) -> Option<Timestamp> {
    let nanoseconds = ((u128::from(network_time_frac) * u128::from(NANOSECONDS_PER_SECOND)
        + (1 << 63))
        >> 64) as u32;
    if nanoseconds == NANOSECONDS_PER_SECOND {
        Timestamp::new(network_time_secs.checked_add(1)?, 0)
    } else {
        Timestamp::new(network_time_secs, nanoseconds)
    }
}

/// A PTP timestamp as AirPlay's network time `(networkTimeSecs, networkTimeFrac)`, the
/// nanoseconds rounded to the nearest 2^-64 s (halves up; exact back through
/// [`network_time_to_timestamp`]). `None` for an invalid timestamp.
pub fn timestamp_to_network_time(t: Timestamp) -> Option<(u64, u64)> {
    if !t.is_valid() {
        return None;
    }
    let scaled = (u128::from(t.nanoseconds) << 64) + u128::from(NANOSECONDS_PER_SECOND / 2);
    // Below 2^64: (10^9 − 1) · 2^64 / 10^9 + 1/2 < 2^64.
    Some((
        t.seconds,
        (scaled / u128::from(NANOSECONDS_PER_SECOND)) as u64,
    ))
}
