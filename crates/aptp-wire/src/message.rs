//! A whole PTP message: parse (permissive, zero-copy), encode (exact), and the sizes.

use crate::error::{check_buffer, ErrorKind, WireError};
use crate::field;
use crate::parse::{array_ref, read_u16, to_wire_error, NomError, PResult};
use crate::{Body, Header, MessageType, Timestamp, Tlvs};
use bytes::BufMut;

/// A PTP message borrowed from its bytes: header, body, TLV area and whatever followed
/// messageLength in the datagram.
///
/// [`Message::parse`] is permissive (reserved values and unknown message types are kept) and
/// does no work per TLV; [`Message::validate`] is the strict step. [`Message::emit`] of a
/// parsed message reproduces its input exactly, reserved bits, TLVs and trailing bytes
/// included.
///
/// ```
/// use aptp_wire::{Body, Message, MessageType, PortIdentity, ClockIdentity, Timestamp};
///
/// let port = PortIdentity::new(ClockIdentity([0, 1, 2, 3, 4, 5, 6, 7]), 1);
/// let sync = Message::sync(port, 9, Timestamp::new(10, 20).unwrap());
/// let mut bytes = [0u8; 64];
/// let len = sync.emit(&mut bytes).unwrap();
/// assert_eq!(len, 44);
///
/// let parsed = Message::parse(&bytes[..len]).unwrap();
/// assert_eq!(parsed, sync);
/// assert!(parsed.header.flags.two_step());
/// assert!(parsed.validate().unwrap().is_clean());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Message<'a> {
    /// The common header.
    pub header: Header,
    /// The type-specific body.
    pub body: Body<'a>,
    /// The TLVs after the body, up to messageLength (iterate to check and read them).
    pub tlvs: Tlvs<'a>,
    /// Bytes after messageLength in the input (padding some stacks add, e.g. to reach a
    /// minimum frame size). They are not part of the message but are kept, and written back by
    /// [`Message::emit`], so that parse → emit reproduces the input exactly; set to `&[]` to
    /// drop them.
    pub suffix: &'a [u8],
}

impl<'a> Message<'a> {
    /// Parses a message from the start of `input` (permissive, zero-copy, no allocation).
    ///
    /// Fails only when the bytes cannot be a message: fewer than the header's 34 bytes,
    /// messageLength beyond the input, or messageLength shorter than the header and body of
    /// its type. Everything else (versions, reserved message types and bits, controlField,
    /// timestamps, TLVs) is kept for [`Message::validate`] to judge.
    ///
    /// Not `#[inline]` on purpose: the ~128-byte result is written once, straight into the
    /// caller's slot; inlined, the two paths' results were merged through stack copies.
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, WireError> {
        // The hot path: Sync, Delay_Req and Follow_Up (a timestamp body at a fixed offset).
        // One length check, then fixed-offset reads; everything else (and every error) goes
        // through the nom parser below, which decides the same way.
        if let Some(message) = Self::parse_timestamp_message(input) {
            return Ok(message);
        }
        Self::parse_general(input)
    }

    /// [`Message::parse`] for every message type, and every error: the nom parser.
    #[inline(never)]
    fn parse_general(input: &'a [u8]) -> Result<Message<'a>, WireError> {
        match Self::parser(input) {
            Ok((_, message)) => Ok(message),
            Err(e) => Err(to_wire_error(input, e)),
        }
    }

    /// A well-formed Sync, Delay_Req or Follow_Up, read at fixed offsets after one length
    /// check; `None` for any other type or a length error (left to [`Message::parse_general`],
    /// which reports it). Gives exactly what [`Message::parser`] gives for these types.
    #[inline(always)]
    fn parse_timestamp_message(input: &'a [u8]) -> Option<Message<'a>> {
        const BODY_END: usize = field::sync::LENGTH;
        let fixed = input.first_chunk::<BODY_END>()?;
        // The type first: other types leave for the general parser after one compare.
        let message_type = MessageType(fixed[field::header::SDO_AND_TYPE] & 0x0f);
        if !matches!(
            message_type,
            MessageType::SYNC | MessageType::DELAY_REQ | MessageType::FOLLOW_UP
        ) {
            return None;
        }
        let header_bytes = fixed.first_chunk::<{ field::header::LENGTH }>()?;
        let length = usize::from(read_u16(fixed, field::header::MESSAGE_LENGTH.start));
        if length < BODY_END || length > input.len() {
            return None;
        }
        let timestamp_bytes = fixed.last_chunk::<{ field::timestamp::LENGTH }>()?;
        let timestamp = Timestamp::from_bytes(timestamp_bytes);
        let body = match message_type {
            MessageType::SYNC => Body::Sync {
                origin_timestamp: timestamp,
            },
            MessageType::DELAY_REQ => Body::DelayReq {
                origin_timestamp: timestamp,
            },
            _ => Body::FollowUp {
                precise_origin_timestamp: timestamp,
            },
        };
        // BODY_END <= length <= input.len(): both splits are in bounds.
        let (message, suffix) = input.split_at_checked(length)?;
        Some(Message {
            header: Header::from_bytes(header_bytes),
            body,
            tlvs: Tlvs::at_offset(message.get(BODY_END..)?, BODY_END),
            suffix,
        })
    }

    /// The nom parser behind [`Message::parse`]; it consumes the whole input (trailing bytes
    /// go to [`Message::suffix`]). The header is checked once for length, then every fixed
    /// field is read at its named offset.
    #[inline(always)]
    fn parser(input: &'a [u8]) -> PResult<'a, Message<'a>> {
        let (_, header_bytes) = array_ref::<{ field::header::LENGTH }>(input)?;
        let message_type = MessageType(header_bytes[field::header::SDO_AND_TYPE] & 0x0f);
        let message_length = read_u16(header_bytes, field::header::MESSAGE_LENGTH.start);
        let length = usize::from(message_length);
        let minimum = match message_type.body_end() {
            Some(end) => end,
            None => field::header::LENGTH,
        };
        if length < minimum {
            return Err(nom::Err::Error(NomError::new(
                &input[field::header::MESSAGE_LENGTH.start..],
                ErrorKind::BadMessageLength {
                    message_length,
                    minimum,
                },
            )));
        }
        let Some((message, suffix)) = input.split_at_checked(length) else {
            return Err(nom::Err::Error(NomError::truncated(input, length)));
        };
        let (tlv_area, body) = Body::parser(message_type, &message[field::header::LENGTH..])?;
        Ok((
            &suffix[suffix.len()..],
            Message {
                header: Header::from_bytes(header_bytes),
                body,
                tlvs: Tlvs::at_offset(tlv_area, length - tlv_area.len()),
                suffix,
            },
        ))
    }

    /// The message's type (from the header).
    pub const fn message_type(&self) -> MessageType {
        self.header.message_type
    }

    /// The length of header, body and TLVs: what messageLength must say.
    pub const fn message_length(&self) -> usize {
        field::header::LENGTH + self.body.len() + self.tlvs.len()
    }

    /// The bytes [`Message::emit`] writes: [`Message::message_length`] plus the suffix.
    pub const fn buffer_len(&self) -> usize {
        self.message_length() + self.suffix.len()
    }

    /// Checks what `emit` needs: messageLength matching the parts, the body matching the
    /// header's type (an [`Body::Unknown`] body is written as is under any type).
    fn check_consistent(&self) -> Result<usize, WireError> {
        if let Some(body_type) = self.body.message_type() {
            if body_type != self.header.message_type {
                return Err(ErrorKind::MessageTypeMismatch {
                    header: self.header.message_type.0,
                    body: body_type.0,
                }
                .at(field::header::SDO_AND_TYPE));
            }
        }
        let actual = self.message_length();
        if actual > usize::from(u16::MAX) {
            return Err(ErrorKind::MessageTooLong { length: actual }
                .at(field::header::MESSAGE_LENGTH.start));
        }
        if usize::from(self.header.message_length) != actual {
            return Err(ErrorKind::MessageLengthMismatch {
                message_length: self.header.message_length,
                actual,
            }
            .at(field::header::MESSAGE_LENGTH.start));
        }
        Ok(actual)
    }

    /// Writes the message (and its suffix) at the start of `out`; returns the bytes written,
    /// [`Message::buffer_len`].
    ///
    /// Fails, without panicking, on a short buffer ([`ErrorKind::BufferTooShort`]), a
    /// messageLength that disagrees with the parts ([`ErrorKind::MessageLengthMismatch`]), a
    /// body of another type than the header's, or a value too large for its field.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let message_length = self.check_consistent()?;
        let needed = message_length + self.suffix.len();
        check_buffer(needed, out.len())?;
        let Some(header) = out.first_chunk_mut::<{ field::header::LENGTH }>() else {
            // check_buffer guaranteed needed >= 34 bytes; kept as an error, never a panic.
            return Err(ErrorKind::BufferTooShort {
                needed,
                available: out.len(),
            }
            .at(0));
        };
        self.header.write(header)?;
        self.body.write(&mut out[..message_length])?;
        let tlv_start = field::header::LENGTH + self.body.len();
        out[tlv_start..message_length].copy_from_slice(self.tlvs.as_bytes());
        out[message_length..needed].copy_from_slice(self.suffix);
        Ok(needed)
    }

    /// Writes the message (and its suffix) into `buf`; returns the bytes written. Fails
    /// without writing anything when `buf` has less room than [`Message::buffer_len`], or for
    /// the reasons [`Message::emit`] gives.
    pub fn emit_buf(&self, buf: &mut impl BufMut) -> Result<usize, WireError> {
        let message_length = self.check_consistent()?;
        let needed = message_length + self.suffix.len();
        check_buffer(needed, buf.remaining_mut())?;
        // The header and any known body fit in 64 bytes (Announce is the longest).
        let mut fixed = [0u8; field::announce::LENGTH];
        let fixed_len = match self.body {
            Body::Unknown { .. } => field::header::LENGTH,
            _ => field::header::LENGTH + self.body.len(),
        };
        let mut header = [0u8; field::header::LENGTH];
        self.header.write(&mut header)?;
        fixed[..field::header::LENGTH].copy_from_slice(&header);
        match self.body {
            Body::Unknown { bytes } => {
                buf.put_slice(&fixed[..fixed_len]);
                buf.put_slice(bytes);
            }
            _ => {
                self.body.write(&mut fixed[..fixed_len])?;
                buf.put_slice(&fixed[..fixed_len]);
            }
        }
        buf.put_slice(self.tlvs.as_bytes());
        buf.put_slice(self.suffix);
        Ok(needed)
    }
}

impl Message<'_> {
    /// Whether `input` starts like a PTP version 2 message (cheap: looks at the version
    /// nibble only).
    pub fn looks_like_ptp_v2(input: &[u8]) -> bool {
        matches!(input.get(field::header::VERSION), Some(v) if v & 0x0f == 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fixed-offset fast path gives exactly what the nom parser gives, or leaves the
    /// input to it.
    fn fast_path_agrees(bytes: &[u8]) {
        let general = Message::parser(bytes).map(|(_, message)| message);
        match Message::parse_timestamp_message(bytes) {
            Some(fast) => assert_eq!(general, Ok(fast)),
            None => {
                if let Ok(message) = general {
                    assert!(
                        !matches!(
                            message.header.message_type,
                            MessageType::SYNC | MessageType::DELAY_REQ | MessageType::FOLLOW_UP
                        ),
                        "the fast path refused a parsable {:?}",
                        message.header.message_type
                    );
                }
            }
        }
        assert_eq!(Message::parse(bytes), Message::parse_general(bytes));
    }

    proptest! {
        #[test]
        fn fast_path_matches_nom(
            message_type in 0u8..16,
            message_length in 0u16..80,
            mut bytes in proptest::collection::vec(any::<u8>(), 0..96),
        ) {
            if let Some(first) = bytes.get_mut(0) {
                *first = (*first & 0xf0) | message_type;
            }
            if let Some(length) = bytes.get_mut(2..4) {
                length.copy_from_slice(&message_length.to_be_bytes());
            }
            fast_path_agrees(&bytes);
        }
    }

    #[test]
    fn fast_path_edges() {
        let port = crate::PortIdentity::new(crate::ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 1);
        let timestamp = Timestamp::new(0x1234_5678_9abc, 999_999_999).unwrap();
        let mut bytes = [0u8; 64];
        let len = Message::follow_up(port, 7, timestamp)
            .emit(&mut bytes)
            .unwrap();
        assert_eq!(len, 44);
        let parsed = Message::parse_timestamp_message(&bytes[..len]).unwrap();
        assert_eq!(parsed.body.timestamp(), Some(timestamp));
        assert!(parsed.tlvs.is_empty() && parsed.suffix.is_empty());
        // Padding after messageLength is the suffix; a TLV area within it is the TLVs.
        fast_path_agrees(&bytes);
        bytes[3] = 54;
        fast_path_agrees(&bytes);
        assert_eq!(Message::parse(&bytes).unwrap().tlvs.len(), 10);
        // messageLength short of the body, or beyond the input: errors, from the nom path.
        bytes[3] = 43;
        assert!(Message::parse_timestamp_message(&bytes).is_none());
        assert!(Message::parse(&bytes).is_err());
        bytes[3] = 65;
        assert!(Message::parse(&bytes).is_err());
        for len in 0..44 {
            fast_path_agrees(&bytes[..len]);
        }
    }
}
