//! The strict step: what a conforming receiver checks after the permissive parse.

use core::fmt;

use crate::error::{ErrorKind, WireError};
use crate::field;
use crate::{Body, Message, TlvType, NANOSECONDS_PER_SECOND};

/// What [`Message::validate`] noticed without rejecting the message.
///
/// ```
/// use aptp_wire::{Message, PortIdentity, Timestamp, Warning};
///
/// let mut delay_resp = Message::delay_resp(PortIdentity::ZERO, 1, Timestamp::ZERO, PortIdentity::ZERO);
/// delay_resp.header.control_field = 0; // as a HomePod mini sends it
/// let validation = delay_resp.validate().unwrap();
/// assert_eq!(
///     validation.warnings().next(),
///     Some(Warning::ControlFieldMismatch { expected: 3, found: 0 })
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Validation {
    /// controlField differs from the one IEEE 1588 prescribes for the type: `(expected,
    /// found)`. Never a reason to reject (real Apple devices send 0 in Delay_Resp).
    pub control_field_mismatch: Option<(u8, u8)>,
    /// minorVersionPTP is neither 0 (2008) nor 1 (2019).
    pub unknown_minor_version: Option<u8>,
    /// Bytes after messageLength in the input ([`Message::suffix`]).
    pub trailing_bytes: usize,
    /// How many TLVs the message carries (all well-formed, or validation would have failed).
    pub tlv_count: usize,
}

/// One thing [`Validation`] noticed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Warning {
    /// controlField is not the one prescribed for the message type.
    ControlFieldMismatch {
        /// The prescribed value.
        expected: u8,
        /// The value found.
        found: u8,
    },
    /// minorVersionPTP is not 0 or 1.
    UnknownMinorVersion {
        /// The value found.
        minor_version_ptp: u8,
    },
    /// The input went on after messageLength.
    TrailingBytes {
        /// How many bytes followed.
        count: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ControlFieldMismatch { expected, found } => {
                write!(f, "controlField {found}, expected {expected}")
            }
            Warning::UnknownMinorVersion { minor_version_ptp } => {
                write!(f, "unknown minorVersionPTP {minor_version_ptp}")
            }
            Warning::TrailingBytes { count } => write!(f, "{count} bytes after messageLength"),
        }
    }
}

impl Validation {
    /// Whether nothing was noticed.
    pub fn is_clean(&self) -> bool {
        self.warnings().next().is_none()
    }

    /// Every warning, in header order.
    pub fn warnings(&self) -> impl Iterator<Item = Warning> + '_ {
        let control = self
            .control_field_mismatch
            .map(|(expected, found)| Warning::ControlFieldMismatch { expected, found });
        let minor = self
            .unknown_minor_version
            .map(|minor_version_ptp| Warning::UnknownMinorVersion { minor_version_ptp });
        let trailing = (self.trailing_bytes > 0).then_some(Warning::TrailingBytes {
            count: self.trailing_bytes,
        });
        control.into_iter().chain(minor).chain(trailing)
    }
}

impl Message<'_> {
    /// The strict check (IEEE 1588-2019 and linuxptp's rules), after the permissive parse.
    ///
    /// Rejects, with the offset of the offending field: versionPTP other than 2, a reserved
    /// messageType, a messageLength that disagrees with the parts, a timestamp whose
    /// nanoseconds are 10^9 or more (or seconds beyond 48 bits), a malformed TLV area (odd
    /// length, overrun, not adding up), a Management message whose first TLV is not a
    /// MANAGEMENT or MANAGEMENT_ERROR_STATUS TLV. Warns (never rejects) about controlField,
    /// minorVersionPTP and trailing bytes.
    pub fn validate(&self) -> Result<Validation, WireError> {
        let header = &self.header;
        if header.version_ptp != 2 {
            return Err(ErrorKind::BadVersion {
                version: header.version_ptp,
            }
            .at(field::header::VERSION));
        }
        let message_type = header.message_type;
        if !message_type.is_known() || matches!(self.body, Body::Unknown { .. }) {
            return Err(ErrorKind::UnknownMessageType {
                message_type: message_type.0,
            }
            .at(field::header::SDO_AND_TYPE));
        }
        let actual = self.message_length();
        if usize::from(header.message_length) != actual {
            return Err(ErrorKind::MessageLengthMismatch {
                message_length: header.message_length,
                actual,
            }
            .at(field::header::MESSAGE_LENGTH.start));
        }
        if let Some(t) = self.body.timestamp() {
            let at = field::sync::ORIGIN_TIMESTAMP.start;
            if t.seconds > crate::Timestamp::MAX_SECONDS {
                return Err(ErrorKind::FieldOutOfRange {
                    field: "seconds",
                    value: t.seconds,
                }
                .at(at));
            }
            if t.nanoseconds >= NANOSECONDS_PER_SECOND {
                return Err(ErrorKind::NanosecondsOutOfRange {
                    nanoseconds: t.nanoseconds,
                }
                .at(at + field::timestamp::NANOSECONDS.start));
            }
        }
        let tlv_count = self.tlvs.validate()?;
        if let Body::Management(_) = self.body {
            let first = { self.tlvs }
                .next()
                .and_then(Result::ok)
                .map(|tlv| tlv.tlv_type);
            if !matches!(
                first,
                Some(TlvType::MANAGEMENT | TlvType::MANAGEMENT_ERROR_STATUS)
            ) {
                return Err(ErrorKind::MissingManagementTlv.at(field::management::LENGTH));
            }
        }
        let expected = message_type.control_field();
        Ok(Validation {
            control_field_mismatch: (header.control_field != expected)
                .then_some((expected, header.control_field)),
            unknown_minor_version: (header.minor_version_ptp > 1)
                .then_some(header.minor_version_ptp),
            trailing_bytes: self.suffix.len(),
            tlv_count,
        })
    }
}
