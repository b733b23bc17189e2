//! Typed TLVs: [`TlvRepr`], decoded from a [`Tlv`] and encoded back to the same bytes.

use core::fmt;

use nom::combinator::{map, rest};

use crate::airplay::{AppleClockIdentity, OUI_APPLE};
use crate::error::{check_buffer, ErrorKind, WireError};
use crate::field::tlv as field;
use crate::parse::{array_ref, be_u16, length_prefixed, read_u32, read_u48};
use crate::tlv::org::{parse_value, with_value_len, Length};
use crate::tlv::{
    CancelUnicastTransmission, FollowUpInformation, GrantUnicastTransmission,
    MessageIntervalRequest, OrganizationExtension, RequestUnicastTransmission, Tlv, OUI_IEEE_802_1,
};
use crate::{ClockIdentity, ManagementErrorId, ManagementId, TlvType};

/// A MANAGEMENT TLV: managementId and its data (the dataset, for a RESPONSE), borrowed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ManagementTlv<'a> {
    /// managementId.
    pub management_id: ManagementId,
    /// dataField (empty in a GET).
    pub data: &'a [u8],
}

/// A MANAGEMENT_ERROR_STATUS TLV.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ManagementErrorStatus<'a> {
    /// managementErrorId.
    pub management_error_id: ManagementErrorId,
    /// managementId the error is about.
    pub management_id: ManagementId,
    /// The 4 reserved bytes.
    pub reserved: [u8; 4],
    /// displayData (a PTPText, length byte included, and any padding), raw; see
    /// [`ManagementErrorStatus::display_text`].
    pub display_data: &'a [u8],
}

impl<'a> ManagementErrorStatus<'a> {
    /// The text of displayData, when it holds a well-formed PTPText.
    pub fn display_text(&self) -> Option<&'a [u8]> {
        let (&len, rest) = self.display_data.split_first()?;
        rest.get(..usize::from(len))
    }
}

/// A PATH_TRACE TLV: the clock identities a message went through.
///
/// ```
/// use aptp_wire::{ClockIdentity, PathTrace, TlvRepr};
///
/// let ids = [ClockIdentity([1; 8]), ClockIdentity([2; 8])];
/// let path = PathTrace::from_identities(&ids);
/// let mut out = [0u8; 20];
/// assert_eq!(TlvRepr::PathTrace(path).emit(&mut out), Ok(20));
/// let wire = PathTrace::from_wire(&out[4..]).unwrap();
/// assert_eq!(wire, path);
/// assert_eq!(wire.iter().nth(1), Some(ClockIdentity([2; 8])));
/// ```
#[derive(Clone, Copy)]
pub struct PathTrace<'a> {
    sequence: PathSequence<'a>,
}

#[derive(Clone, Copy)]
enum PathSequence<'a> {
    Wire(&'a [u8]),
    Identities(&'a [ClockIdentity]),
}

impl<'a> PathTrace<'a> {
    /// From a TLV value: a multiple of 8 bytes (an odd number of identities is fine).
    pub fn from_wire(value: &'a [u8]) -> Result<Self, WireError> {
        if value.len() % 8 != 0 {
            return Err(ErrorKind::BadTlvLength {
                tlv_type: TlvType::PATH_TRACE.0,
                length: value.len(),
                expected: value.len() / 8 * 8 + 8,
            }
            .at(field::LENGTH_FIELD.start));
        }
        Ok(PathTrace {
            sequence: PathSequence::Wire(value),
        })
    }

    /// From identities, to encode.
    pub const fn from_identities(identities: &'a [ClockIdentity]) -> Self {
        PathTrace {
            sequence: PathSequence::Identities(identities),
        }
    }

    /// How many identities.
    pub const fn len(&self) -> usize {
        match self.sequence {
            PathSequence::Wire(bytes) => bytes.len() / 8,
            PathSequence::Identities(ids) => ids.len(),
        }
    }

    /// Whether the path is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The identities, in order.
    pub fn iter(&self) -> impl Iterator<Item = ClockIdentity> + 'a {
        let (wire, ids): (&'a [u8], &'a [ClockIdentity]) = match self.sequence {
            PathSequence::Wire(bytes) => (bytes, &[]),
            PathSequence::Identities(ids) => (&[], ids),
        };
        wire.chunks_exact(8)
            .map(|chunk| {
                let mut id = [0; 8];
                id.copy_from_slice(chunk);
                ClockIdentity(id)
            })
            .chain(ids.iter().copied())
    }

    fn write_value(&self, out: &mut [u8]) {
        for (slot, id) in out.chunks_exact_mut(8).zip(self.iter()) {
            slot.copy_from_slice(&id.0);
        }
    }
}

impl PartialEq for PathTrace<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for PathTrace<'_> {}

impl fmt::Debug for PathTrace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An ALTERNATE_TIME_OFFSET_INDICATOR TLV (IEEE 1588-2019 16.3.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AlternateTimeOffsetIndicator<'a> {
    /// keyField.
    pub key_field: u8,
    /// currentOffset in seconds.
    pub current_offset: i32,
    /// jumpSeconds.
    pub jump_seconds: i32,
    /// timeOfNextJump (48-bit seconds).
    pub time_of_next_jump: u64,
    /// displayName's text (the PTPText without its length octet).
    pub display_name: &'a [u8],
    /// Bytes after displayName (a padding octet when needed for an even length), kept.
    pub padding: &'a [u8],
}

impl AlternateTimeOffsetIndicator<'_> {
    /// The value's length without displayName's text and padding.
    pub const FIXED_LENGTH: usize = 16;
}

/// A TLV decoded by type: every type the crate knows, and [`TlvRepr::Other`] for the rest.
/// [`TlvRepr::emit`] writes exactly the bytes it was decoded from.
///
/// ```
/// use aptp_wire::{ManagementId, ManagementTlv, Tlv, TlvRepr, TlvType};
///
/// let bytes = [0x00, 0x01, 0x00, 0x02, 0x20, 0x01];
/// let tlv = Tlv { tlv_type: TlvType::MANAGEMENT, value: &bytes[4..] };
/// assert_eq!(
///     tlv.decode(),
///     Ok(TlvRepr::Management(ManagementTlv { management_id: ManagementId::CURRENT_DATA_SET, data: &[] }))
/// );
/// let mut out = [0u8; 6];
/// tlv.decode().unwrap().emit(&mut out).unwrap();
/// assert_eq!(out, bytes);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum TlvRepr<'a> {
    /// MANAGEMENT.
    Management(ManagementTlv<'a>),
    /// MANAGEMENT_ERROR_STATUS.
    ManagementErrorStatus(ManagementErrorStatus<'a>),
    /// 802.1AS Follow_Up information (ORGANIZATION_EXTENSION, 00-80-C2 / 1).
    FollowUpInformation(FollowUpInformation),
    /// 802.1AS message interval request (ORGANIZATION_EXTENSION, 00-80-C2 / 2).
    MessageIntervalRequest(MessageIntervalRequest),
    /// Apple's clock identity TLV in Follow_Up (ORGANIZATION_EXTENSION, 00-0D-93 / 4).
    AppleClockIdentity(AppleClockIdentity),
    /// Any other organization extension (Apple's Signaling subtypes 1 and 5 among them).
    OrganizationExtension(OrganizationExtension<'a>),
    /// REQUEST_UNICAST_TRANSMISSION.
    RequestUnicastTransmission(RequestUnicastTransmission),
    /// GRANT_UNICAST_TRANSMISSION.
    GrantUnicastTransmission(GrantUnicastTransmission),
    /// CANCEL_UNICAST_TRANSMISSION.
    CancelUnicastTransmission(CancelUnicastTransmission),
    /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION.
    AcknowledgeCancelUnicastTransmission(CancelUnicastTransmission),
    /// PATH_TRACE.
    PathTrace(PathTrace<'a>),
    /// ALTERNATE_TIME_OFFSET_INDICATOR.
    AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicator<'a>),
    /// PAD: its (normally zero) bytes, kept.
    Pad(&'a [u8]),
    /// Any other type, raw.
    Other(Tlv<'a>),
}

impl<'a> TlvRepr<'a> {
    /// Decodes `tlv` by its type. Fails with [`ErrorKind::BadTlvLength`] when a known type has
    /// a value of the wrong size; error offsets count from the TLV's first byte.
    pub fn decode(tlv: Tlv<'a>) -> Result<Self, WireError> {
        let value = tlv.value;
        // The 802.1AS Follow_Up information TLV (every gPTP and AirPlay Follow_Up carries
        // one): decoded at fixed offsets; anything else goes the general way below.
        if tlv.tlv_type == TlvType::ORGANIZATION_EXTENSION {
            if let Some(info) = FollowUpInformation::quick_decode(value) {
                return Ok(TlvRepr::FollowUpInformation(info));
            }
        }
        Ok(match tlv.tlv_type {
            TlvType::MANAGEMENT => TlvRepr::Management(parse_value(
                tlv.tlv_type,
                value,
                Length::AtLeast,
                map((be_u16, rest), |(id, data)| ManagementTlv {
                    management_id: ManagementId(id),
                    data,
                }),
            )?),
            TlvType::MANAGEMENT_ERROR_STATUS => TlvRepr::ManagementErrorStatus(parse_value(
                tlv.tlv_type,
                value,
                Length::AtLeast,
                map(
                    (be_u16, be_u16, array_ref::<4>, rest),
                    |(error_id, id, reserved, display_data)| ManagementErrorStatus {
                        management_error_id: ManagementErrorId(error_id),
                        management_id: ManagementId(id),
                        reserved: *reserved,
                        display_data,
                    },
                ),
            )?),
            TlvType::ORGANIZATION_EXTENSION
            | TlvType::ORGANIZATION_EXTENSION_PROPAGATE
            | TlvType::ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE => {
                let org = OrganizationExtension::parse_value(tlv.tlv_type, value)?;
                Self::decode_organization(org)?
            }
            TlvType::REQUEST_UNICAST_TRANSMISSION => {
                TlvRepr::RequestUnicastTransmission(RequestUnicastTransmission::parse_value(value)?)
            }
            TlvType::GRANT_UNICAST_TRANSMISSION => {
                TlvRepr::GrantUnicastTransmission(GrantUnicastTransmission::parse_value(value)?)
            }
            TlvType::CANCEL_UNICAST_TRANSMISSION => TlvRepr::CancelUnicastTransmission(
                CancelUnicastTransmission::parse_value(tlv.tlv_type, value)?,
            ),
            TlvType::ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION => {
                TlvRepr::AcknowledgeCancelUnicastTransmission(
                    CancelUnicastTransmission::parse_value(tlv.tlv_type, value)?,
                )
            }
            TlvType::PATH_TRACE => TlvRepr::PathTrace(PathTrace::from_wire(value)?),
            TlvType::ALTERNATE_TIME_OFFSET_INDICATOR => {
                TlvRepr::AlternateTimeOffsetIndicator(parse_value(
                    tlv.tlv_type,
                    value,
                    Length::AtLeast,
                    map(
                        (array_ref::<15>, length_prefixed, rest),
                        |(b, display_name, padding)| AlternateTimeOffsetIndicator {
                            key_field: b[0],
                            current_offset: read_u32(b, 1) as i32,
                            jump_seconds: read_u32(b, 5) as i32,
                            time_of_next_jump: read_u48(b, 9),
                            display_name,
                            padding,
                        },
                    ),
                )?)
            }
            TlvType::PAD => TlvRepr::Pad(value),
            _ => TlvRepr::Other(tlv),
        })
    }

    /// The typed form of an organization extension: 802.1AS's and Apple's known subtypes
    /// (only under tlvType ORGANIZATION_EXTENSION), the generic form otherwise.
    fn decode_organization(org: OrganizationExtension<'a>) -> Result<Self, WireError> {
        if org.tlv_type != TlvType::ORGANIZATION_EXTENSION {
            return Ok(TlvRepr::OrganizationExtension(org));
        }
        Ok(match (org.organization_id, org.organization_sub_type) {
            (OUI_IEEE_802_1, FollowUpInformation::SUB_TYPE) => {
                TlvRepr::FollowUpInformation(FollowUpInformation::parse_data(org.data)?)
            }
            (OUI_IEEE_802_1, MessageIntervalRequest::SUB_TYPE) => {
                TlvRepr::MessageIntervalRequest(MessageIntervalRequest::parse_data(org.data)?)
            }
            (OUI_APPLE, AppleClockIdentity::SUB_TYPE) => {
                TlvRepr::AppleClockIdentity(AppleClockIdentity::parse_data(org.data).map_err(
                    |e| with_value_len(e, AppleClockIdentity::VALUE_LENGTH, org.data.len()),
                )?)
            }
            _ => TlvRepr::OrganizationExtension(org),
        })
    }

    /// The tlvType this TLV is written with.
    pub const fn tlv_type(&self) -> TlvType {
        match self {
            TlvRepr::Management(_) => TlvType::MANAGEMENT,
            TlvRepr::ManagementErrorStatus(_) => TlvType::MANAGEMENT_ERROR_STATUS,
            TlvRepr::FollowUpInformation(_)
            | TlvRepr::MessageIntervalRequest(_)
            | TlvRepr::AppleClockIdentity(_) => TlvType::ORGANIZATION_EXTENSION,
            TlvRepr::OrganizationExtension(org) => org.tlv_type,
            TlvRepr::RequestUnicastTransmission(_) => TlvType::REQUEST_UNICAST_TRANSMISSION,
            TlvRepr::GrantUnicastTransmission(_) => TlvType::GRANT_UNICAST_TRANSMISSION,
            TlvRepr::CancelUnicastTransmission(_) => TlvType::CANCEL_UNICAST_TRANSMISSION,
            TlvRepr::AcknowledgeCancelUnicastTransmission(_) => {
                TlvType::ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION
            }
            TlvRepr::PathTrace(_) => TlvType::PATH_TRACE,
            TlvRepr::AlternateTimeOffsetIndicator(_) => TlvType::ALTERNATE_TIME_OFFSET_INDICATOR,
            TlvRepr::Pad(_) => TlvType::PAD,
            TlvRepr::Other(tlv) => tlv.tlv_type,
        }
    }

    /// The lengthField: the value's length in bytes.
    pub const fn length_field(&self) -> usize {
        match self {
            TlvRepr::Management(m) => 2 + m.data.len(),
            TlvRepr::ManagementErrorStatus(m) => 8 + m.display_data.len(),
            TlvRepr::FollowUpInformation(_) => FollowUpInformation::VALUE_LENGTH,
            TlvRepr::MessageIntervalRequest(_) => MessageIntervalRequest::VALUE_LENGTH,
            TlvRepr::AppleClockIdentity(_) => AppleClockIdentity::VALUE_LENGTH,
            TlvRepr::OrganizationExtension(org) => org.value_len(),
            TlvRepr::RequestUnicastTransmission(_) => RequestUnicastTransmission::VALUE_LENGTH,
            TlvRepr::GrantUnicastTransmission(_) => GrantUnicastTransmission::VALUE_LENGTH,
            TlvRepr::CancelUnicastTransmission(_)
            | TlvRepr::AcknowledgeCancelUnicastTransmission(_) => {
                CancelUnicastTransmission::VALUE_LENGTH
            }
            TlvRepr::PathTrace(path) => 8 * path.len(),
            TlvRepr::AlternateTimeOffsetIndicator(a) => {
                AlternateTimeOffsetIndicator::FIXED_LENGTH + a.display_name.len() + a.padding.len()
            }
            TlvRepr::Pad(bytes) => bytes.len(),
            TlvRepr::Other(tlv) => tlv.value.len(),
        }
    }

    /// The TLV's length on the wire: 4 + lengthField.
    pub const fn buffer_len(&self) -> usize {
        field::VALUE + self.length_field()
    }

    /// Writes the TLV at the start of `out`; returns the bytes written. Fails on a short
    /// buffer, an odd or too long value (IEEE 1588 requires even lengths: add a padding byte
    /// yourself), or a field that does not fit its wire size.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let length_field = self.length_field();
        let length = u16::try_from(length_field).map_err(|_| {
            ErrorKind::FieldOutOfRange {
                field: "lengthField",
                value: length_field as u64,
            }
            .at(field::LENGTH_FIELD.start)
        })?;
        if length % 2 != 0 {
            return Err(ErrorKind::OddTlvLength {
                length_field: length,
            }
            .at(field::LENGTH_FIELD.start));
        }
        let needed = self.buffer_len();
        check_buffer(needed, out.len())?;
        out[field::TLV_TYPE].copy_from_slice(&self.tlv_type().0.to_be_bytes());
        out[field::LENGTH_FIELD].copy_from_slice(&length.to_be_bytes());
        let value = &mut out[field::VALUE..needed];
        match self {
            TlvRepr::Management(m) => {
                value[..2].copy_from_slice(&m.management_id.0.to_be_bytes());
                value[2..].copy_from_slice(m.data);
            }
            TlvRepr::ManagementErrorStatus(m) => {
                value[..2].copy_from_slice(&m.management_error_id.0.to_be_bytes());
                value[2..4].copy_from_slice(&m.management_id.0.to_be_bytes());
                value[4..8].copy_from_slice(&m.reserved);
                value[8..].copy_from_slice(m.display_data);
            }
            TlvRepr::FollowUpInformation(info) => info.write_value(value),
            TlvRepr::MessageIntervalRequest(request) => request.write_value(value),
            TlvRepr::AppleClockIdentity(apple) => apple.write_value(value),
            TlvRepr::OrganizationExtension(org) => org.write_value(value),
            TlvRepr::RequestUnicastTransmission(r) => r.write_value(value)?,
            TlvRepr::GrantUnicastTransmission(g) => g.write_value(value)?,
            TlvRepr::CancelUnicastTransmission(c)
            | TlvRepr::AcknowledgeCancelUnicastTransmission(c) => c.write_value(value)?,
            TlvRepr::PathTrace(path) => path.write_value(value),
            TlvRepr::AlternateTimeOffsetIndicator(a) => {
                let name_length = u8::try_from(a.display_name.len()).map_err(|_| {
                    ErrorKind::FieldOutOfRange {
                        field: "displayName",
                        value: a.display_name.len() as u64,
                    }
                    .at(field::VALUE + AlternateTimeOffsetIndicator::FIXED_LENGTH - 1)
                })?;
                if a.time_of_next_jump > crate::Timestamp::MAX_SECONDS {
                    return Err(ErrorKind::FieldOutOfRange {
                        field: "timeOfNextJump",
                        value: a.time_of_next_jump,
                    }
                    .at(field::VALUE + 9));
                }
                value[0] = a.key_field;
                value[1..5].copy_from_slice(&a.current_offset.to_be_bytes());
                value[5..9].copy_from_slice(&a.jump_seconds.to_be_bytes());
                crate::parse::put_u48(&mut value[9..15], a.time_of_next_jump);
                value[15] = name_length;
                let (name, padding) = value[16..].split_at_mut(a.display_name.len());
                name.copy_from_slice(a.display_name);
                padding.copy_from_slice(a.padding);
            }
            TlvRepr::Pad(bytes) => value.copy_from_slice(bytes),
            TlvRepr::Other(tlv) => value.copy_from_slice(tlv.value),
        }
        Ok(needed)
    }
}
