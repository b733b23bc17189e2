//! The one error type of the crate: what was wrong, and at which byte.

use thiserror::Error;

/// A parse, validation or encoding failure: what was wrong ([`ErrorKind`]) and the byte offset
/// where it was found.
///
/// For parsing and validation the offset counts from the first byte of the input given to the
/// parser (for [`crate::Message::parse`], the first byte of the PTP message; for a typed TLV
/// decode, the first byte of the TLV's type field). For encoding it is the offset in the output
/// where writing would have gone wrong.
///
/// ```
/// use aptp_wire::{ErrorKind, Message};
///
/// let error = Message::parse(&[0x10, 0x12, 0x00]).unwrap_err();
/// assert_eq!(error.kind, ErrorKind::Truncated { needed: 34, available: 3 });
/// assert_eq!(error.offset, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("{kind} at byte {offset}")]
pub struct WireError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Where: a byte offset (see the type's documentation for what it counts from).
    pub offset: usize,
}

impl WireError {
    /// Makes an error of `kind` found at byte `offset`.
    pub const fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// The same error, its offset moved `base` bytes further (for errors found in a part of a
    /// larger message).
    pub const fn shifted(self, base: usize) -> Self {
        Self {
            kind: self.kind,
            offset: self.offset + base,
        }
    }
}

/// What was wrong with some bytes or with a value to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ends before a field or structure does.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the structure needs from the offset on.
        needed: usize,
        /// Bytes the input has from the offset on.
        available: usize,
    },
    /// versionPTP is not 2 (strict validation only).
    #[error("versionPTP is {version}, not 2")]
    BadVersion {
        /// The versionPTP nibble found.
        version: u8,
    },
    /// messageType is a reserved value (strict validation only; parsing keeps it).
    #[error("messageType {message_type:#x} is reserved")]
    UnknownMessageType {
        /// The messageType nibble found.
        message_type: u8,
    },
    /// messageLength is shorter than the header and the body of its message type.
    #[error(
        "messageLength {message_length} is less than the {minimum} bytes the message type needs"
    )]
    BadMessageLength {
        /// The messageLength field.
        message_length: u16,
        /// The length of the header and body of this message type.
        minimum: usize,
    },
    /// When encoding: messageLength disagrees with the header, body and TLVs actually present.
    #[error(
        "messageLength {message_length} disagrees with the {actual} bytes of header, body and TLVs"
    )]
    MessageLengthMismatch {
        /// The header's messageLength field.
        message_length: u16,
        /// The length of header, body and TLVs.
        actual: usize,
    },
    /// When encoding: the message would be longer than messageLength (u16) can say.
    #[error("message of {length} bytes is longer than 65535")]
    MessageTooLong {
        /// The length the message would have.
        length: usize,
    },
    /// When encoding: the header's messageType does not match the body's variant.
    #[error("header messageType {header:#x} does not match the body's {body:#x}")]
    MessageTypeMismatch {
        /// messageType in the header.
        header: u8,
        /// messageType of the body variant.
        body: u8,
    },
    /// A timestamp's nanoseconds field is 10^9 or more (strict validation only).
    #[error("nanoseconds {nanoseconds} is not below 10^9")]
    NanosecondsOutOfRange {
        /// The nanoseconds field found.
        nanoseconds: u32,
    },
    /// When encoding: a value does not fit in its wire field (48-bit seconds, a 4-bit nibble...).
    #[error("{field} value {value} does not fit its wire field")]
    FieldOutOfRange {
        /// The field's name, as in IEEE 1588.
        field: &'static str,
        /// The value that did not fit.
        value: u64,
    },
    /// A Management message carries no MANAGEMENT or MANAGEMENT_ERROR_STATUS TLV (strict
    /// validation only).
    #[error("Management message without a MANAGEMENT or MANAGEMENT_ERROR_STATUS TLV")]
    MissingManagementTlv,
    /// A TLV's lengthField is odd (IEEE 1588 requires an even length; linuxptp rejects it).
    #[error("TLV lengthField {length_field} is odd")]
    OddTlvLength {
        /// The lengthField found.
        length_field: u16,
    },
    /// A TLV's lengthField runs past messageLength.
    #[error("TLV lengthField {length_field} runs past messageLength ({available} bytes left)")]
    TlvOverrun {
        /// The lengthField found.
        length_field: u16,
        /// The bytes left for the TLV's value before messageLength.
        available: usize,
    },
    /// Bytes are left after the last TLV that are too few to be a TLV (fewer than 4).
    #[error("{remaining} bytes after the last TLV do not make a TLV")]
    TlvsDoNotAddUp {
        /// The bytes left over.
        remaining: usize,
    },
    /// A typed TLV decode found a value of the wrong length for its type.
    #[error("TLV type {tlv_type:#06x} has {length} value bytes, expected {expected}")]
    BadTlvLength {
        /// The tlvType.
        tlv_type: u16,
        /// The value's length.
        length: usize,
        /// The length this type needs (the minimum, for variable-length types).
        expected: usize,
    },
    /// A typed TLV decode was asked of another TLV: the first of tlvType, organizationId,
    /// organizationSubType that differs.
    #[error("TLV is {found:#x}, not {expected:#x}")]
    WrongTlvType {
        /// The tlvType, organizationId or organizationSubType expected.
        expected: u32,
        /// The one found.
        found: u32,
    },
    /// When encoding: the output buffer is too short (encoders never panic on a short buffer).
    #[error("buffer too short: {needed} bytes needed, {available} available")]
    BufferTooShort {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A byte that identifies a packet kind has a value this parser does not know (AirPlay
    /// timing packets).
    #[error("unknown packet type byte {value:#04x}")]
    BadPacketType {
        /// The byte found.
        value: u8,
    },
}

impl ErrorKind {
    /// This kind at byte `offset`.
    pub const fn at(self, offset: usize) -> WireError {
        WireError { kind: self, offset }
    }
}

/// Fails with [`ErrorKind::BufferTooShort`] unless `available >= needed`.
pub(crate) fn check_buffer(needed: usize, available: usize) -> Result<(), WireError> {
    if available < needed {
        Err(ErrorKind::BufferTooShort { needed, available }.at(available))
    } else {
        Ok(())
    }
}
