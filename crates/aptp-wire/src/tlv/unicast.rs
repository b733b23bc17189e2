//! The unicast negotiation TLVs (IEEE 1588-2019 16.1.4).

use crate::error::WireError;
use nom::combinator::map;

use crate::parse::{array_ref, read_u32};
use crate::tlv::org::{parse_value, Length};
use crate::{MessageType, TlvType};

/// REQUEST_UNICAST_TRANSMISSION (lengthField 6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RequestUnicastTransmission {
    /// The messageType requested (high nibble of the first octet).
    pub message_type: MessageType,
    /// The reserved low nibble of the first octet (0..=15), kept for an exact round trip.
    pub reserved_nibble: u8,
    /// logInterMessagePeriod.
    pub log_inter_message_period: i8,
    /// durationField in seconds.
    pub duration_field: u32,
}

/// GRANT_UNICAST_TRANSMISSION (lengthField 8).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GrantUnicastTransmission {
    /// The messageType granted (high nibble of the first octet).
    pub message_type: MessageType,
    /// The reserved low nibble of the first octet (0..=15).
    pub reserved_nibble: u8,
    /// logInterMessagePeriod.
    pub log_inter_message_period: i8,
    /// durationField in seconds (0: denied).
    pub duration_field: u32,
    /// The reserved octet 6.
    pub reserved: u8,
    /// Octet 7: bit 0 is the renewal flag, the others reserved.
    pub flags: u8,
}

impl GrantUnicastTransmission {
    /// Whether the grantor invites renewal (R flag).
    pub const fn renewal_invited(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// CANCEL_UNICAST_TRANSMISSION or ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION (lengthField 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CancelUnicastTransmission {
    /// The messageType cancelled (high nibble of the first octet).
    pub message_type: MessageType,
    /// The reserved low nibble of the first octet (0..=15).
    pub reserved_nibble: u8,
    /// The reserved second octet.
    pub reserved: u8,
}

/// The first octet of these TLVs: messageType and a reserved nibble.
fn split_nibbles(byte: u8) -> (MessageType, u8) {
    (MessageType(byte >> 4), byte & 0x0f)
}

/// Joins them back; fails when a part needs more than 4 bits.
fn join_nibbles(message_type: MessageType, reserved: u8) -> Result<u8, WireError> {
    for (field, value) in [("messageType", message_type.0), ("reserved", reserved)] {
        if value > 0x0f {
            return Err(crate::ErrorKind::FieldOutOfRange {
                field,
                value: u64::from(value),
            }
            .at(crate::field::tlv::VALUE));
        }
    }
    Ok(message_type.0 << 4 | reserved)
}

impl RequestUnicastTransmission {
    /// lengthField.
    pub const VALUE_LENGTH: usize = 6;

    pub(crate) fn parse_value(value: &[u8]) -> Result<Self, WireError> {
        parse_value(
            TlvType::REQUEST_UNICAST_TRANSMISSION,
            value,
            Length::Exact,
            map(array_ref::<{ Self::VALUE_LENGTH }>, |b| {
                let (message_type, reserved_nibble) = split_nibbles(b[0]);
                Self {
                    message_type,
                    reserved_nibble,
                    log_inter_message_period: b[1] as i8,
                    duration_field: read_u32(b, 2),
                }
            }),
        )
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) -> Result<(), WireError> {
        out[0] = join_nibbles(self.message_type, self.reserved_nibble)?;
        out[1] = self.log_inter_message_period as u8;
        out[2..6].copy_from_slice(&self.duration_field.to_be_bytes());
        Ok(())
    }
}

impl GrantUnicastTransmission {
    /// lengthField.
    pub const VALUE_LENGTH: usize = 8;

    pub(crate) fn parse_value(value: &[u8]) -> Result<Self, WireError> {
        parse_value(
            TlvType::GRANT_UNICAST_TRANSMISSION,
            value,
            Length::Exact,
            map(array_ref::<{ Self::VALUE_LENGTH }>, |b| {
                let (message_type, reserved_nibble) = split_nibbles(b[0]);
                Self {
                    message_type,
                    reserved_nibble,
                    log_inter_message_period: b[1] as i8,
                    duration_field: read_u32(b, 2),
                    reserved: b[6],
                    flags: b[7],
                }
            }),
        )
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) -> Result<(), WireError> {
        out[0] = join_nibbles(self.message_type, self.reserved_nibble)?;
        out[1] = self.log_inter_message_period as u8;
        out[2..6].copy_from_slice(&self.duration_field.to_be_bytes());
        out[6] = self.reserved;
        out[7] = self.flags;
        Ok(())
    }
}

impl CancelUnicastTransmission {
    /// lengthField.
    pub const VALUE_LENGTH: usize = 2;

    pub(crate) fn parse_value(tlv_type: TlvType, value: &[u8]) -> Result<Self, WireError> {
        parse_value(
            tlv_type,
            value,
            Length::Exact,
            map(array_ref::<{ Self::VALUE_LENGTH }>, |b| {
                let (message_type, reserved_nibble) = split_nibbles(b[0]);
                Self {
                    message_type,
                    reserved_nibble,
                    reserved: b[1],
                }
            }),
        )
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) -> Result<(), WireError> {
        out[0] = join_nibbles(self.message_type, self.reserved_nibble)?;
        out[1] = self.reserved;
        Ok(())
    }
}
