//! The 34-byte common header of every PTP message.

use nom::Parser;

use crate::error::{ErrorKind, WireError};
use crate::field::header as field;
use crate::parse::{array_ref, read_array, read_i64, read_u16, read_u32, PResult};
use crate::{ClockIdentity, Flags, MessageType, PortIdentity, TimeInterval};

/// The common header (IEEE 1588-2019 13.3): every field, reserved ones included, as received.
///
/// ```
/// use aptp_wire::{Header, MessageType};
///
/// let header = Header::new(MessageType::SYNC);
/// assert_eq!(header.version_ptp, 2);
/// assert_eq!(header.control_field, 0);
/// assert_eq!(header.message_length, 44);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Header {
    /// majorSdoId (transportSpecific in 2008): 1 for 802.1AS and AirPlay. A 4-bit value.
    pub major_sdo_id: u8,
    /// messageType (4 bits).
    pub message_type: MessageType,
    /// minorVersionPTP: 1 for IEEE 1588-2019, 0 for 2008 (4 bits).
    pub minor_version_ptp: u8,
    /// versionPTP: 2 (4 bits).
    pub version_ptp: u8,
    /// messageLength: the whole message, TLVs included.
    pub message_length: u16,
    /// domainNumber.
    pub domain_number: u8,
    /// minorSdoId (reserved in 2008).
    pub minor_sdo_id: u8,
    /// flagField.
    pub flags: Flags,
    /// correctionField: nanoseconds × 2^16.
    pub correction_field: TimeInterval,
    /// messageTypeSpecific (reserved in 2008).
    pub message_type_specific: u32,
    /// sourcePortIdentity.
    pub source_port_identity: PortIdentity,
    /// sequenceId.
    pub sequence_id: u16,
    /// controlField (version 1 compatibility; see [`MessageType::control_field`]).
    pub control_field: u8,
    /// logMessageInterval (0x7F where not applicable).
    pub log_message_interval: i8,
}

impl Header {
    /// The header's length on the wire.
    pub const LENGTH: usize = field::LENGTH;
    /// logMessageInterval where no interval applies (Delay_Req, Signaling, Management...).
    pub const LOG_INTERVAL_NOT_APPLICABLE: i8 = 0x7f;

    /// A consistent header for a message of `message_type` without TLVs: version 2.1,
    /// majorSdoId 0, domain 0, no flags, zero correction, the type's controlField and
    /// messageLength (34 for an unknown type), sourcePortIdentity zero, sequenceId 0, and the
    /// linuxptp default logMessageInterval (0 for Sync, Follow_Up and Delay_Resp, 1 for
    /// Announce, 0x7F otherwise).
    pub const fn new(message_type: MessageType) -> Self {
        let message_length = match message_type.body_end() {
            Some(len) => len as u16,
            None => field::LENGTH as u16,
        };
        let log_message_interval = match message_type {
            MessageType::SYNC | MessageType::FOLLOW_UP | MessageType::DELAY_RESP => 0,
            MessageType::ANNOUNCE => 1,
            _ => Self::LOG_INTERVAL_NOT_APPLICABLE,
        };
        Header {
            major_sdo_id: 0,
            message_type,
            minor_version_ptp: 1,
            version_ptp: 2,
            message_length,
            domain_number: 0,
            minor_sdo_id: 0,
            flags: Flags::EMPTY,
            correction_field: TimeInterval::ZERO,
            message_type_specific: 0,
            source_port_identity: PortIdentity::ZERO,
            sequence_id: 0,
            control_field: message_type.control_field(),
            log_message_interval,
        }
    }

    /// Parses the header from the start of `input` (permissive: any value is kept).
    ///
    /// ```
    /// use aptp_wire::{Header, MessageType};
    ///
    /// let bytes = Header::new(MessageType::DELAY_REQ).to_bytes().unwrap();
    /// let header = Header::parse(&bytes).unwrap();
    /// assert_eq!(header.message_type, MessageType::DELAY_REQ);
    /// ```
    pub fn parse(input: &[u8]) -> Result<Header, WireError> {
        crate::parse::run(Self::parser, input).map(|(_, header)| header)
    }

    #[inline(always)]
    pub(crate) fn parser(input: &[u8]) -> PResult<'_, Header> {
        nom::combinator::map(array_ref::<{ field::LENGTH }>, Self::from_bytes).parse(input)
    }

    /// From the 34 wire bytes (permissive: every value is kept).
    #[inline(always)]
    pub fn from_bytes(b: &[u8; field::LENGTH]) -> Header {
        let sdo_and_type = b[field::SDO_AND_TYPE];
        let version = b[field::VERSION];
        Header {
            major_sdo_id: sdo_and_type >> 4,
            message_type: MessageType(sdo_and_type & 0x0f),
            minor_version_ptp: version >> 4,
            version_ptp: version & 0x0f,
            message_length: read_u16(b, field::MESSAGE_LENGTH.start),
            domain_number: b[field::DOMAIN_NUMBER],
            minor_sdo_id: b[field::MINOR_SDO_ID],
            flags: Flags(read_u16(b, field::FLAG_FIELD.start)),
            correction_field: TimeInterval(read_i64(b, field::CORRECTION_FIELD.start)),
            message_type_specific: read_u32(b, field::MESSAGE_TYPE_SPECIFIC.start),
            source_port_identity: PortIdentity {
                clock_identity: ClockIdentity(read_array(b, field::SOURCE_PORT_IDENTITY.start)),
                port_number: read_u16(b, field::SOURCE_PORT_IDENTITY.start + 8),
            },
            sequence_id: read_u16(b, field::SEQUENCE_ID.start),
            control_field: b[field::CONTROL_FIELD],
            log_message_interval: b[field::LOG_MESSAGE_INTERVAL] as i8,
        }
    }

    /// Writes the 34 header bytes; fails when a 4-bit field holds more than 4 bits.
    pub(crate) fn write(&self, out: &mut [u8; field::LENGTH]) -> Result<(), WireError> {
        let nibble = |name: &'static str, value: u8, offset: usize| {
            if value > 0x0f {
                Err(ErrorKind::FieldOutOfRange {
                    field: name,
                    value: u64::from(value),
                }
                .at(offset))
            } else {
                Ok(value)
            }
        };
        let (first, second) = (field::SDO_AND_TYPE, field::VERSION);
        out[first] = (nibble("majorSdoId", self.major_sdo_id, first)? << 4)
            | nibble("messageType", self.message_type.0, first)?;
        out[second] = (nibble("minorVersionPTP", self.minor_version_ptp, second)? << 4)
            | nibble("versionPTP", self.version_ptp, second)?;
        out[field::MESSAGE_LENGTH].copy_from_slice(&self.message_length.to_be_bytes());
        out[field::DOMAIN_NUMBER] = self.domain_number;
        out[field::MINOR_SDO_ID] = self.minor_sdo_id;
        out[field::FLAG_FIELD].copy_from_slice(&self.flags.0.to_be_bytes());
        out[field::CORRECTION_FIELD].copy_from_slice(&self.correction_field.0.to_be_bytes());
        out[field::MESSAGE_TYPE_SPECIFIC]
            .copy_from_slice(&self.message_type_specific.to_be_bytes());
        out[field::SOURCE_PORT_IDENTITY].copy_from_slice(&self.source_port_identity.to_bytes());
        out[field::SEQUENCE_ID].copy_from_slice(&self.sequence_id.to_be_bytes());
        out[field::CONTROL_FIELD] = self.control_field;
        out[field::LOG_MESSAGE_INTERVAL] = self.log_message_interval as u8;
        Ok(())
    }

    /// The 34 wire bytes, or an error when a 4-bit field holds more than 4 bits.
    pub fn to_bytes(&self) -> Result<[u8; field::LENGTH], WireError> {
        let mut out = [0; field::LENGTH];
        self.write(&mut out)?;
        Ok(out)
    }
}
