//! Borrowed, zero-copy views of a PTP message (smoltcp's `Packet` discipline): one up-front
//! check in [`MessageView::new_checked`], then getters that read the wire bytes at the offsets
//! named in [`crate::field`] and cannot fail or panic.
//!
//! [`Message::parse`] decodes every header and body field into a 128-byte value; a receiver
//! that reads three of them (the type, the sequenceId, the timestamp) pays for all. A view
//! keeps the checked byte ranges and decodes a field only when asked: the hot path of a slave
//! (Sync, Follow_Up with its 802.1AS TLV, Delay_Resp) reads what it needs and nothing else.
//! [`MessageView::to_message`] gives the same [`Message`] that [`Message::parse`] gives.

mod body;
mod follow_up_information;
#[cfg(test)]
mod tests;

pub use body::{BodyView, DelayReqView, DelayRespView, FollowUpView, SyncView};
pub use follow_up_information::FollowUpInformationView;

use crate::error::{ErrorKind, WireError};
use crate::field::header as field;
use crate::parse::{read_array, read_i64, read_u16, read_u32};
use crate::{Body, ClockIdentity, Flags, Header, Message, MessageType, PortIdentity};
use crate::{TimeInterval, Tlvs};

/// A PTP message borrowed from its bytes, checked once, read field by field.
///
/// [`MessageView::new_checked`] rejects exactly what [`Message::parse`] rejects (fewer than
/// the header's 34 bytes, messageLength beyond the input or short of the header and body of
/// its type), with the same [`WireError`], and in addition a versionPTP other than 2
/// ([`ErrorKind::BadVersion`], which [`Message::validate`] also rejects). After it, every
/// getter reads a fixed offset of a fixed-size array: none can fail or panic.
///
/// The header getters are here; the body is reached through [`MessageView::body`] (typed
/// views of Sync, Delay_Req, Follow_Up and Delay_Resp), any other type's body through
/// [`MessageView::to_message`].
///
/// ```
/// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
///
/// let mut bytes = [0u8; 64];
/// let len = Message::sync(PortIdentity::ZERO, 0x1234, Timestamp::new(10, 20).unwrap())
///     .emit(&mut bytes)?;
/// let view = MessageView::new_checked(&bytes[..len])?;
/// assert_eq!(view.sequence_id(), 0x1234);
/// let BodyView::Sync(sync) = view.body() else { panic!("not a Sync") };
/// assert_eq!(sync.origin_timestamp(), Timestamp::new(10, 20).unwrap());
/// assert_eq!(view.to_message(), Message::parse(&bytes[..len])?);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MessageView<'a> {
    /// The 34 header bytes.
    header: &'a [u8; field::LENGTH],
    /// The body of the header's type: exactly its fixed length for a known type, every byte
    /// up to messageLength for a reserved one (as [`Body::Unknown`] keeps them).
    body: &'a [u8],
    /// The TLV area: after the body, up to messageLength.
    tlvs: &'a [u8],
    /// The bytes after messageLength.
    suffix: &'a [u8],
}

impl<'a> MessageView<'a> {
    /// Checks `input` once and views it as a PTP message.
    ///
    /// Fails, with the error and offset [`Message::parse`] gives, when `input` is shorter than
    /// the 34-byte header ([`ErrorKind::Truncated`]), when messageLength is shorter than the
    /// header and body of its type ([`ErrorKind::BadMessageLength`]), or runs beyond the input
    /// ([`ErrorKind::Truncated`]); then, unlike `parse`, when versionPTP is not 2
    /// ([`ErrorKind::BadVersion`] at byte 1, as [`Message::validate`] reports it). Reserved
    /// message types, flags, controlField, timestamps and TLVs are not judged (see
    /// [`Message::validate`]).
    ///
    /// The check is plain slicing, not nom: the header is a fixed 34 bytes and the body a
    /// fixed length per type, so the whole check is three `split_at`s on lengths that are
    /// already known, each of which returns the typed error nom's parser would. The crate's
    /// nom parser ([`Message::parse`]) remains the reference: a property test and a fuzz
    /// target check that both accept and reject the same inputs with the same errors.
    ///
    /// ```
    /// use aptp_wire::{ErrorKind, Message, MessageView, PortIdentity, Timestamp};
    ///
    /// let mut bytes = [0u8; 44];
    /// Message::delay_req(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert!(MessageView::new_checked(&bytes).is_ok());
    /// assert_eq!(
    ///     MessageView::new_checked(&bytes[..43]).unwrap_err(),
    ///     Message::parse(&bytes[..43]).unwrap_err(),
    /// );
    /// bytes[1] = 0x11; // versionPTP 1
    /// assert_eq!(
    ///     MessageView::new_checked(&bytes).unwrap_err().kind,
    ///     ErrorKind::BadVersion { version: 1 },
    /// );
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    ///
    /// Always inlined: the check is a few compares, and inlined the view stays in registers
    /// instead of going through a 56-byte return slot; the error paths are out of line.
    #[inline(always)]
    pub fn new_checked(input: &'a [u8]) -> Result<Self, WireError> {
        let Some((header, after_header)) = input.split_first_chunk::<{ field::LENGTH }>() else {
            return Err(truncated(field::LENGTH, input.len()));
        };
        let message_type = header[field::SDO_AND_TYPE] & 0x0f;
        let message_length = read_u16(header, field::MESSAGE_LENGTH.start);
        // The body's length: fixed for a known type, all that follows for a reserved one.
        let body_len = BODY_LEN[usize::from(message_type)];
        let known = body_len != RESERVED;
        let minimum = field::LENGTH + if known { usize::from(body_len) } else { 0 };
        let length = usize::from(message_length);
        if length < minimum {
            return Err(bad_message_length(message_length, minimum));
        }
        // Cannot wrap: length ≥ minimum ≥ the header's 34 bytes.
        let after_header_len = length.wrapping_sub(field::LENGTH);
        let Some((body_and_tlvs, suffix)) = after_header.split_at_checked(after_header_len) else {
            return Err(truncated(length, input.len()));
        };
        let split = if known {
            usize::from(body_len)
        } else {
            body_and_tlvs.len()
        };
        let Some((body, tlvs)) = body_and_tlvs.split_at_checked(split) else {
            // length ≥ minimum was checked above: the body is within the message.
            return Err(bad_message_length(message_length, minimum));
        };
        let version = header[field::VERSION] & 0x0f;
        if version != 2 {
            return Err(ErrorKind::BadVersion { version }.at(field::VERSION));
        }
        Ok(MessageView {
            header,
            body,
            tlvs,
            suffix,
        })
    }

    /// majorSdoId (transportSpecific in 2008): 1 for 802.1AS and AirPlay.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).with_major_sdo_id(1).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.major_sdo_id(), 1);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn major_sdo_id(&self) -> u8 {
        self.header[field::SDO_AND_TYPE] >> 4
    }

    /// messageType.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageType, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.message_type(), MessageType::FOLLOW_UP);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn message_type(&self) -> MessageType {
        MessageType(self.header[field::SDO_AND_TYPE] & 0x0f)
    }

    /// minorVersionPTP: 1 for IEEE 1588-2019, 0 for 2008.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.minor_version_ptp(), 1);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn minor_version_ptp(&self) -> u8 {
        self.header[field::VERSION] >> 4
    }

    /// versionPTP: always 2 in a view (the check rejects any other).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.version_ptp(), 2);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn version_ptp(&self) -> u8 {
        self.header[field::VERSION] & 0x0f
    }

    /// messageLength: header, body and TLVs (the suffix excluded).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 60]; // 16 bytes of padding after the 44-byte message
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// let view = MessageView::new_checked(&bytes)?;
    /// assert_eq!(view.message_length(), 44);
    /// assert_eq!(view.suffix().len(), 16);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn message_length(&self) -> u16 {
        read_u16(self.header, field::MESSAGE_LENGTH.start)
    }

    /// domainNumber.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).with_domain_number(5).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.domain_number(), 5);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn domain_number(&self) -> u8 {
        self.header[field::DOMAIN_NUMBER]
    }

    /// minorSdoId (reserved in 2008).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// bytes[5] = 0x42;
    /// assert_eq!(MessageView::new_checked(&bytes)?.minor_sdo_id(), 0x42);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn minor_sdo_id(&self) -> u8 {
        self.header[field::MINOR_SDO_ID]
    }

    /// flagField.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert!(MessageView::new_checked(&bytes)?.flags().two_step());
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn flags(&self) -> Flags {
        Flags(read_u16(self.header, field::FLAG_FIELD.start))
    }

    /// correctionField: nanoseconds × 2^16.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, TimeInterval, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO)
    ///     .with_correction_field(TimeInterval(0x18000)) // 1.5 ns
    ///     .emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.correction_field(), TimeInterval(0x18000));
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn correction_field(&self) -> TimeInterval {
        TimeInterval(read_i64(self.header, field::CORRECTION_FIELD.start))
    }

    /// messageTypeSpecific (reserved in 2008).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// bytes[16..20].copy_from_slice(&[0, 0, 1, 2]);
    /// assert_eq!(MessageView::new_checked(&bytes)?.message_type_specific(), 0x102);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn message_type_specific(&self) -> u32 {
        read_u32(self.header, field::MESSAGE_TYPE_SPECIFIC.start)
    }

    /// sourcePortIdentity.
    ///
    /// ```
    /// # use aptp_wire::{ClockIdentity, Message, MessageView, PortIdentity, Timestamp};
    /// let me = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 9);
    /// let mut bytes = [0u8; 44];
    /// Message::sync(me, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.source_port_identity(), me);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn source_port_identity(&self) -> PortIdentity {
        use crate::field::port_identity as port;
        let at = field::SOURCE_PORT_IDENTITY.start;
        PortIdentity {
            clock_identity: ClockIdentity(read_array(self.header, at + port::CLOCK_IDENTITY.start)),
            port_number: read_u16(self.header, at + port::PORT_NUMBER.start),
        }
    }

    /// sequenceId.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 0xBEEF, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.sequence_id(), 0xBEEF);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn sequence_id(&self) -> u16 {
        read_u16(self.header, field::SEQUENCE_ID.start)
    }

    /// controlField (version 1 compatibility; see [`MessageType::control_field`]).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::delay_req(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.control_field(), 1);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn control_field(&self) -> u8 {
        self.header[field::CONTROL_FIELD]
    }

    /// logMessageInterval (0x7F where not applicable).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO)
    ///     .with_log_message_interval(-3)
    ///     .emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.log_message_interval(), -3);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn log_message_interval(&self) -> i8 {
        self.header[field::LOG_MESSAGE_INTERVAL] as i8
    }

    /// Every header field, decoded ([`Header::from_bytes`]).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let sync = Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO);
    /// let mut bytes = [0u8; 44];
    /// sync.emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.header(), sync.header);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn header(&self) -> Header {
        Header::from_bytes(self.header)
    }

    /// The 34 header bytes.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.header_bytes()[..], bytes[..34]);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn header_bytes(&self) -> &'a [u8; field::LENGTH] {
        self.header
    }

    /// The body's bytes: the fixed body of a known type (10 for Sync, 20 for Delay_Resp, 30
    /// for Announce...), every byte up to messageLength for a reserved type.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 54];
    /// Message::delay_resp(PortIdentity::ZERO, 1, Timestamp::ZERO, PortIdentity::ALL).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.body_bytes(), &bytes[34..54]);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn body_bytes(&self) -> &'a [u8] {
        self.body
    }

    /// The typed view of the body, for the types a slave's hot path reads (Sync, Delay_Req,
    /// Follow_Up, Delay_Resp); [`BodyView::Other`] for any other type.
    ///
    /// ```
    /// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    ///
    /// let mut bytes = [0u8; 64];
    /// let len = Message::announce(PortIdentity::ZERO, 1, Default::default()).emit(&mut bytes)?;
    /// let view = MessageView::new_checked(&bytes[..len])?;
    /// assert!(matches!(view.body(), BodyView::Other(_)));
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn body(&self) -> BodyView<'a> {
        BodyView::of(*self)
    }

    /// The TLV area (iterate it to check and read the TLVs; error offsets count from the
    /// message's first byte).
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert!(MessageView::new_checked(&bytes)?.tlvs().is_empty());
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn tlvs(&self) -> Tlvs<'a> {
        Tlvs::at_offset(self.tlvs, field::LENGTH + self.body.len())
    }

    /// The bytes after messageLength (padding some stacks add); not part of the message.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0xAA; 46];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// assert_eq!(MessageView::new_checked(&bytes)?.suffix(), &[0xAA, 0xAA]);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn suffix(&self) -> &'a [u8] {
        self.suffix
    }

    /// The owned representation: exactly what [`Message::parse`] gives for the same input.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 54];
    /// Message::delay_resp(PortIdentity::ZERO, 1, Timestamp::ZERO, PortIdentity::ALL).emit(&mut bytes)?;
    /// let message = MessageView::new_checked(&bytes)?.to_message();
    /// assert_eq!(message, Message::parse(&bytes)?);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    pub fn to_message(&self) -> Message<'a> {
        let body = match Body::parser(self.message_type(), self.body) {
            Ok((_, body)) => body,
            // The check sized `body` for the type, so the parser cannot fail; if it ever did,
            // the bytes are kept raw (the property test compares with Message::parse).
            Err(_) => Body::Unknown { bytes: self.body },
        };
        Message {
            header: self.header(),
            body,
            tlvs: self.tlvs(),
            suffix: self.suffix,
        }
    }
}

impl<'a> From<MessageView<'a>> for Message<'a> {
    /// [`MessageView::to_message`].
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// let message = Message::from(MessageView::new_checked(&bytes)?);
    /// assert_eq!(message.header.sequence_id, 1);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    fn from(view: MessageView<'a>) -> Self {
        view.to_message()
    }
}

/// [`BODY_LEN`] of a reserved message type (no body length fits in a byte this large).
const RESERVED: u8 = u8::MAX;

/// The body's length for each messageType nibble ([`MessageType::body_end`] less the header),
/// [`RESERVED`] for a reserved type: one byte load instead of a match in the check.
const BODY_LEN: [u8; 16] = {
    let mut table = [RESERVED; 16];
    let mut message_type = 0;
    while message_type < table.len() {
        if let Some(end) = MessageType(message_type as u8).body_end() {
            let body_len = end - field::LENGTH;
            assert!(body_len < RESERVED as usize);
            table[message_type] = body_len as u8;
        }
        message_type += 1;
    }
    table
};

/// `needed` bytes at offset 0, `available` there: the error of a short header or of a
/// messageLength beyond the input. Inlined: a caller that drops the error (`.ok()?`) then
/// compiles it away, and the hot path needs no stack frame for it.
#[inline(always)]
const fn truncated(needed: usize, available: usize) -> WireError {
    ErrorKind::Truncated { needed, available }.at(0)
}

/// messageLength shorter than the header and body of its type (inlined, as [`truncated`]).
#[inline(always)]
const fn bad_message_length(message_length: u16, minimum: usize) -> WireError {
    ErrorKind::BadMessageLength {
        message_length,
        minimum,
    }
    .at(field::MESSAGE_LENGTH.start)
}
