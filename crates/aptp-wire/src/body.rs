//! The body of each message type: the fields between the header and the TLVs.

use nom::combinator::map;
use nom::Parser;

use crate::error::{ErrorKind, WireError};
use crate::field;
use crate::parse::{array_ref, read_array, read_u16, PResult};
use crate::{ClockAccuracy, ClockIdentity, ManagementAction, MessageType, PortIdentity};
use crate::{TimeSource, Timestamp};

/// grandmasterClockQuality (ClockQuality, 4 bytes).
///
/// Ordered as the Best Master Clock Algorithm compares it: clockClass, then clockAccuracy,
/// then offsetScaledLogVariance; the lesser is the better clock.
///
/// ```
/// use aptp_wire::{ClockAccuracy, ClockQuality};
///
/// let apple = ClockQuality { clock_class: 248, clock_accuracy: ClockAccuracy::WITHIN_100_NS, offset_scaled_log_variance: 0x436a };
/// assert!(apple < ClockQuality::default()); // linuxptp's default accuracy is unknown (0xFE)
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ClockQuality {
    /// clockClass (248: default, 6: locked to a primary reference...).
    pub clock_class: u8,
    /// clockAccuracy.
    pub clock_accuracy: ClockAccuracy,
    /// offsetScaledLogVariance.
    pub offset_scaled_log_variance: u16,
}

impl Default for ClockQuality {
    /// linuxptp's defaults: class 248, accuracy unknown (0xFE), variance 0xFFFF.
    fn default() -> Self {
        ClockQuality {
            clock_class: 248,
            clock_accuracy: ClockAccuracy::UNKNOWN,
            offset_scaled_log_variance: 0xffff,
        }
    }
}

/// The body of an Announce (IEEE 1588-2019 13.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AnnounceBody {
    /// originTimestamp (often zero, or a rough time).
    pub origin_timestamp: Timestamp,
    /// currentUtcOffset in seconds (37 since 2017).
    pub current_utc_offset: i16,
    /// The reserved octet 46, kept for an exact round trip.
    pub reserved: u8,
    /// grandmasterPriority1.
    pub grandmaster_priority1: u8,
    /// grandmasterClockQuality.
    pub grandmaster_clock_quality: ClockQuality,
    /// grandmasterPriority2.
    pub grandmaster_priority2: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// stepsRemoved.
    pub steps_removed: u16,
    /// timeSource.
    pub time_source: TimeSource,
}

impl Default for AnnounceBody {
    /// linuxptp's defaults (priorities 128, default clock quality, INTERNAL_OSCILLATOR) with a
    /// zero grandmasterIdentity and origin timestamp.
    fn default() -> Self {
        AnnounceBody {
            origin_timestamp: Timestamp::ZERO,
            current_utc_offset: 37,
            reserved: 0,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality::default(),
            grandmaster_priority2: 128,
            grandmaster_identity: ClockIdentity::ZERO,
            steps_removed: 0,
            time_source: TimeSource::INTERNAL_OSCILLATOR,
        }
    }
}

/// Offsets in a body: the message offsets of `crate::field` less the header.
const fn at(message_offset: usize) -> usize {
    message_offset - field::header::LENGTH
}

impl AnnounceBody {
    /// From the 30 body bytes after the header.
    #[inline(always)]
    pub fn from_bytes(b: &[u8; field::announce::LENGTH - field::header::LENGTH]) -> Self {
        use field::announce as a;
        AnnounceBody {
            origin_timestamp: Timestamp::from_bytes(&read_array(b, at(a::ORIGIN_TIMESTAMP.start))),
            current_utc_offset: read_u16(b, at(a::CURRENT_UTC_OFFSET.start)) as i16,
            reserved: b[at(a::RESERVED)],
            grandmaster_priority1: b[at(a::GRANDMASTER_PRIORITY1)],
            grandmaster_clock_quality: ClockQuality {
                clock_class: b[at(a::CLOCK_CLASS)],
                clock_accuracy: ClockAccuracy(b[at(a::CLOCK_ACCURACY)]),
                offset_scaled_log_variance: read_u16(b, at(a::OFFSET_SCALED_LOG_VARIANCE.start)),
            },
            grandmaster_priority2: b[at(a::GRANDMASTER_PRIORITY2)],
            grandmaster_identity: ClockIdentity(read_array(b, at(a::GRANDMASTER_IDENTITY.start))),
            steps_removed: read_u16(b, at(a::STEPS_REMOVED.start)),
            time_source: TimeSource(b[at(a::TIME_SOURCE)]),
        }
    }
}

/// The body of a Management message (IEEE 1588-2019 15.4.1), before its management TLV.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ManagementBody {
    /// targetPortIdentity.
    pub target_port_identity: PortIdentity,
    /// startingBoundaryHops.
    pub starting_boundary_hops: u8,
    /// boundaryHops.
    pub boundary_hops: u8,
    /// actionField (the low nibble of octet 46).
    pub action_field: ManagementAction,
    /// The reserved high nibble of octet 46 (0..=15), kept for an exact round trip.
    pub action_reserved: u8,
    /// The reserved octet 47, kept for an exact round trip.
    pub reserved: u8,
}

impl ManagementBody {
    /// From the 14 body bytes after the header.
    #[inline(always)]
    pub fn from_bytes(b: &[u8; field::management::LENGTH - field::header::LENGTH]) -> Self {
        use field::management as m;
        let action = b[at(m::ACTION_FIELD)];
        ManagementBody {
            target_port_identity: PortIdentity::from_bytes(&read_array(
                b,
                at(m::TARGET_PORT_IDENTITY.start),
            )),
            starting_boundary_hops: b[at(m::STARTING_BOUNDARY_HOPS)],
            boundary_hops: b[at(m::BOUNDARY_HOPS)],
            action_field: ManagementAction(action & 0x0f),
            action_reserved: action >> 4,
            reserved: b[at(m::RESERVED)],
        }
    }
}

/// The body of a message: one variant per message type, with IEEE 1588's field names.
///
/// Only [`Body::Unknown`] borrows from the input; every other variant holds plain values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Body<'a> {
    /// Sync.
    Sync {
        /// originTimestamp (zero or approximate in a two-step Sync).
        origin_timestamp: Timestamp,
    },
    /// Delay_Req.
    DelayReq {
        /// originTimestamp.
        origin_timestamp: Timestamp,
    },
    /// Pdelay_Req.
    PdelayReq {
        /// originTimestamp.
        origin_timestamp: Timestamp,
        /// The 10 reserved bytes, kept for an exact round trip.
        reserved: [u8; 10],
    },
    /// Pdelay_Resp.
    PdelayResp {
        /// requestReceiptTimestamp (t2).
        request_receipt_timestamp: Timestamp,
        /// requestingPortIdentity.
        requesting_port_identity: PortIdentity,
    },
    /// Follow_Up.
    FollowUp {
        /// preciseOriginTimestamp (t1 of the preceding Sync).
        precise_origin_timestamp: Timestamp,
    },
    /// Delay_Resp.
    DelayResp {
        /// receiveTimestamp (t4).
        receive_timestamp: Timestamp,
        /// requestingPortIdentity.
        requesting_port_identity: PortIdentity,
    },
    /// Pdelay_Resp_Follow_Up.
    PdelayRespFollowUp {
        /// responseOriginTimestamp (t3).
        response_origin_timestamp: Timestamp,
        /// requestingPortIdentity.
        requesting_port_identity: PortIdentity,
    },
    /// Announce.
    Announce(AnnounceBody),
    /// Signaling (its content is in the TLVs).
    Signaling {
        /// targetPortIdentity.
        target_port_identity: PortIdentity,
    },
    /// Management (its content is in the management TLV).
    Management(ManagementBody),
    /// A reserved messageType: every byte after the header up to messageLength, kept as is.
    Unknown {
        /// The bytes after the header (the message then has no TLV area).
        bytes: &'a [u8],
    },
}

impl<'a> Body<'a> {
    /// The messageType of this body; `None` for [`Body::Unknown`] (the header says).
    pub const fn message_type(&self) -> Option<MessageType> {
        Some(match self {
            Body::Sync { .. } => MessageType::SYNC,
            Body::DelayReq { .. } => MessageType::DELAY_REQ,
            Body::PdelayReq { .. } => MessageType::PDELAY_REQ,
            Body::PdelayResp { .. } => MessageType::PDELAY_RESP,
            Body::FollowUp { .. } => MessageType::FOLLOW_UP,
            Body::DelayResp { .. } => MessageType::DELAY_RESP,
            Body::PdelayRespFollowUp { .. } => MessageType::PDELAY_RESP_FOLLOW_UP,
            Body::Announce(_) => MessageType::ANNOUNCE,
            Body::Signaling { .. } => MessageType::SIGNALING,
            Body::Management(_) => MessageType::MANAGEMENT,
            Body::Unknown { .. } => return None,
        })
    }

    /// The body's length on the wire (without header and TLVs).
    pub const fn len(&self) -> usize {
        match self {
            Body::Unknown { bytes } => bytes.len(),
            _ => match self.message_type() {
                Some(t) => match t.body_end() {
                    Some(end) => end - field::header::LENGTH,
                    None => 0,
                },
                None => 0,
            },
        }
    }

    /// Whether the body has no bytes (only an empty [`Body::Unknown`]).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body's timestamp (origin, precise origin, receive, request receipt or response
    /// origin; always at byte 34 of the message); `None` for Signaling, Management and unknown
    /// types.
    pub const fn timestamp(&self) -> Option<Timestamp> {
        match self {
            Body::Sync { origin_timestamp }
            | Body::DelayReq { origin_timestamp }
            | Body::PdelayReq {
                origin_timestamp, ..
            } => Some(*origin_timestamp),
            Body::Announce(a) => Some(a.origin_timestamp),
            Body::FollowUp {
                precise_origin_timestamp,
            } => Some(*precise_origin_timestamp),
            Body::DelayResp {
                receive_timestamp, ..
            } => Some(*receive_timestamp),
            Body::PdelayResp {
                request_receipt_timestamp,
                ..
            } => Some(*request_receipt_timestamp),
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                ..
            } => Some(*response_origin_timestamp),
            _ => None,
        }
    }

    /// The requestingPortIdentity of Delay_Resp, Pdelay_Resp and Pdelay_Resp_Follow_Up.
    pub const fn requesting_port_identity(&self) -> Option<PortIdentity> {
        match self {
            Body::DelayResp {
                requesting_port_identity,
                ..
            }
            | Body::PdelayResp {
                requesting_port_identity,
                ..
            }
            | Body::PdelayRespFollowUp {
                requesting_port_identity,
                ..
            } => Some(*requesting_port_identity),
            _ => None,
        }
    }

    /// Parses the body of `message_type` from `input` (the message after the header, up to
    /// messageLength); the rest is the TLV area.
    #[inline(always)]
    pub(crate) fn parser(message_type: MessageType, input: &'a [u8]) -> PResult<'a, Body<'a>> {
        match message_type {
            MessageType::SYNC => map(Timestamp::parse, |origin_timestamp| Body::Sync {
                origin_timestamp,
            })
            .parse(input),
            MessageType::DELAY_REQ => map(Timestamp::parse, |origin_timestamp| Body::DelayReq {
                origin_timestamp,
            })
            .parse(input),
            MessageType::FOLLOW_UP => map(Timestamp::parse, |precise_origin_timestamp| {
                Body::FollowUp {
                    precise_origin_timestamp,
                }
            })
            .parse(input),
            MessageType::PDELAY_REQ => map(
                (Timestamp::parse, array_ref::<10>),
                |(origin_timestamp, reserved)| Body::PdelayReq {
                    origin_timestamp,
                    reserved: *reserved,
                },
            )
            .parse(input),
            MessageType::PDELAY_RESP => map(
                (Timestamp::parse, PortIdentity::parse),
                |(request_receipt_timestamp, requesting_port_identity)| Body::PdelayResp {
                    request_receipt_timestamp,
                    requesting_port_identity,
                },
            )
            .parse(input),
            MessageType::DELAY_RESP => map(
                (Timestamp::parse, PortIdentity::parse),
                |(receive_timestamp, requesting_port_identity)| Body::DelayResp {
                    receive_timestamp,
                    requesting_port_identity,
                },
            )
            .parse(input),
            MessageType::PDELAY_RESP_FOLLOW_UP => map(
                (Timestamp::parse, PortIdentity::parse),
                |(response_origin_timestamp, requesting_port_identity)| Body::PdelayRespFollowUp {
                    response_origin_timestamp,
                    requesting_port_identity,
                },
            )
            .parse(input),
            MessageType::ANNOUNCE => map(
                array_ref::<{ field::announce::LENGTH - field::header::LENGTH }>,
                |b| Body::Announce(AnnounceBody::from_bytes(b)),
            )
            .parse(input),
            MessageType::SIGNALING => map(PortIdentity::parse, |target_port_identity| {
                Body::Signaling {
                    target_port_identity,
                }
            })
            .parse(input),
            MessageType::MANAGEMENT => map(
                array_ref::<{ field::management::LENGTH - field::header::LENGTH }>,
                |b| Body::Management(ManagementBody::from_bytes(b)),
            )
            .parse(input),
            _ => Ok((&input[input.len()..], Body::Unknown { bytes: input })),
        }
    }

    /// Writes the body into `out`, which starts at the message's first byte and holds at
    /// least the header and this body (the caller checked).
    pub(crate) fn write(&self, out: &mut [u8]) -> Result<(), WireError> {
        use field::{announce as a, delay_resp as d, management as m};
        let timestamp = |out: &mut [u8], t: &Timestamp| -> Result<(), WireError> {
            let mut bytes = [0; field::timestamp::LENGTH];
            t.write(&mut bytes)
                .map_err(|e| e.shifted(field::sync::ORIGIN_TIMESTAMP.start))?;
            out[field::sync::ORIGIN_TIMESTAMP].copy_from_slice(&bytes);
            Ok(())
        };
        match self {
            Body::Sync { origin_timestamp } | Body::DelayReq { origin_timestamp } => {
                timestamp(out, origin_timestamp)?;
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } => timestamp(out, precise_origin_timestamp)?,
            Body::PdelayReq {
                origin_timestamp,
                reserved,
            } => {
                timestamp(out, origin_timestamp)?;
                out[field::pdelay_req::RESERVED].copy_from_slice(reserved);
            }
            Body::PdelayResp {
                request_receipt_timestamp: t,
                requesting_port_identity: p,
            }
            | Body::DelayResp {
                receive_timestamp: t,
                requesting_port_identity: p,
            }
            | Body::PdelayRespFollowUp {
                response_origin_timestamp: t,
                requesting_port_identity: p,
            } => {
                timestamp(out, t)?;
                out[d::REQUESTING_PORT_IDENTITY].copy_from_slice(&p.to_bytes());
            }
            Body::Announce(body) => {
                timestamp(out, &body.origin_timestamp)?;
                out[a::CURRENT_UTC_OFFSET].copy_from_slice(&body.current_utc_offset.to_be_bytes());
                out[a::RESERVED] = body.reserved;
                out[a::GRANDMASTER_PRIORITY1] = body.grandmaster_priority1;
                let quality = &body.grandmaster_clock_quality;
                out[a::CLOCK_CLASS] = quality.clock_class;
                out[a::CLOCK_ACCURACY] = quality.clock_accuracy.0;
                out[a::OFFSET_SCALED_LOG_VARIANCE]
                    .copy_from_slice(&quality.offset_scaled_log_variance.to_be_bytes());
                out[a::GRANDMASTER_PRIORITY2] = body.grandmaster_priority2;
                out[a::GRANDMASTER_IDENTITY].copy_from_slice(&body.grandmaster_identity.0);
                out[a::STEPS_REMOVED].copy_from_slice(&body.steps_removed.to_be_bytes());
                out[a::TIME_SOURCE] = body.time_source.0;
            }
            Body::Signaling {
                target_port_identity,
            } => {
                out[field::signaling::TARGET_PORT_IDENTITY]
                    .copy_from_slice(&target_port_identity.to_bytes());
            }
            Body::Management(body) => {
                for (name, value) in [
                    ("actionField", body.action_field.0),
                    ("reserved (actionField octet)", body.action_reserved),
                ] {
                    if value > 0x0f {
                        return Err(ErrorKind::FieldOutOfRange {
                            field: name,
                            value: u64::from(value),
                        }
                        .at(m::ACTION_FIELD));
                    }
                }
                out[m::TARGET_PORT_IDENTITY].copy_from_slice(&body.target_port_identity.to_bytes());
                out[m::STARTING_BOUNDARY_HOPS] = body.starting_boundary_hops;
                out[m::BOUNDARY_HOPS] = body.boundary_hops;
                out[m::ACTION_FIELD] = (body.action_reserved << 4) | body.action_field.0;
                out[m::RESERVED] = body.reserved;
            }
            Body::Unknown { bytes } => {
                let start = field::header::LENGTH;
                out[start..start + bytes.len()].copy_from_slice(bytes);
            }
        }
        Ok(())
    }
}
