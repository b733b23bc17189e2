//! TLVs: the borrowed TLV area of a message, its validating iterator, one raw TLV, owned
//! storage to build a TLV area without allocating, and typed views.

pub(crate) mod org;
mod typed;
mod unicast;

pub use org::{FollowUpInformation, MessageIntervalRequest, OrganizationExtension, OUI_IEEE_802_1};
pub use typed::{
    AlternateTimeOffsetIndicator, ManagementErrorStatus, ManagementTlv, PathTrace, TlvRepr,
};
pub use unicast::{
    CancelUnicastTransmission, GrantUnicastTransmission, RequestUnicastTransmission,
};

use core::hash::{Hash, Hasher};

use crate::error::{check_buffer, ErrorKind, WireError};
use crate::field::tlv as field;
use crate::TlvType;

/// One TLV: its type and its value (lengthField bytes), borrowed from the message.
///
/// ```
/// use aptp_wire::{Tlv, TlvType};
///
/// let tlv = Tlv { tlv_type: TlvType::PAD, value: &[0, 0] };
/// let mut out = [0xAA; 6];
/// assert_eq!(tlv.emit(&mut out), Ok(6));
/// assert_eq!(out, [0x80, 0x08, 0x00, 0x02, 0x00, 0x00]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Tlv<'a> {
    /// tlvType.
    pub tlv_type: TlvType,
    /// The value: lengthField bytes after the 4-byte type and length.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The lengthField: the value's length.
    pub const fn length_field(&self) -> usize {
        self.value.len()
    }

    /// The TLV's length on the wire: 4 + lengthField.
    pub const fn buffer_len(&self) -> usize {
        field::VALUE + self.value.len()
    }

    /// Writes the TLV at the start of `out`; returns the bytes written. Fails on a short
    /// buffer or a value longer than 65535 bytes (an odd length is written as is).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let length = u16::try_from(self.value.len()).map_err(|_| {
            ErrorKind::FieldOutOfRange {
                field: "lengthField",
                value: self.value.len() as u64,
            }
            .at(field::LENGTH_FIELD.start)
        })?;
        let needed = self.buffer_len();
        check_buffer(needed, out.len())?;
        out[field::TLV_TYPE].copy_from_slice(&self.tlv_type.0.to_be_bytes());
        out[field::LENGTH_FIELD].copy_from_slice(&length.to_be_bytes());
        out[field::VALUE..needed].copy_from_slice(self.value);
        Ok(needed)
    }

    /// The typed view of this TLV (see [`TlvRepr`]); types without one come back as
    /// [`TlvRepr::Other`]. Error offsets count from the TLV's first byte.
    pub fn decode(&self) -> Result<TlvRepr<'a>, WireError> {
        TlvRepr::decode(*self)
    }
}

/// The TLV area of a message: the bytes after the body up to messageLength, borrowed.
///
/// It is an iterator of `Result<Tlv, WireError>`: each step checks one TLV (room for its type
/// and length, an even lengthField, a value within messageLength); the first error ends the
/// iteration. Nothing is checked before iterating, so parsing a message costs nothing per TLV.
/// [`Tlvs::validate`] walks them all. Two `Tlvs` are equal when their bytes are.
///
/// ```
/// use aptp_wire::{Tlvs, TlvType};
///
/// let area = [0x80, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00];
/// let mut tlvs = Tlvs::new(&area);
/// assert_eq!(tlvs.validate(), Ok(2));
/// let first = tlvs.next().unwrap().unwrap();
/// assert_eq!(first.tlv_type, TlvType::PAD);
/// assert_eq!(tlvs.next().unwrap().unwrap().tlv_type, TlvType::PATH_TRACE);
/// assert!(tlvs.next().is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Tlvs<'a> {
    bytes: &'a [u8],
    /// Offset of `bytes` in the message, for error offsets.
    offset: usize,
}

impl<'a> Tlvs<'a> {
    /// No TLV.
    pub const EMPTY: Tlvs<'static> = Tlvs {
        bytes: &[],
        offset: 0,
    };

    /// The TLV area `bytes`; errors count offsets from its first byte.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Tlvs { bytes, offset: 0 }
    }

    /// The TLV area `bytes`, found at `offset` in its message (errors count from there).
    pub const fn at_offset(bytes: &'a [u8], offset: usize) -> Self {
        Tlvs { bytes, offset }
    }

    /// The bytes not yet iterated (all of them before the first `next`).
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The offset of the next TLV in the message.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The length in bytes.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there is no byte (and so no TLV).
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Checks every TLV (even lengths, within the area, adding up exactly) and returns how
    /// many there are, or the first error.
    pub fn validate(&self) -> Result<usize, WireError> {
        let mut count = 0;
        for tlv in *self {
            tlv?;
            count += 1;
        }
        Ok(count)
    }

    /// The first well-formed TLV of `tlv_type`, if any before the first malformed one.
    pub fn find(&self, tlv_type: TlvType) -> Option<Tlv<'a>> {
        self.map_while(Result::ok)
            .find(|tlv| tlv.tlv_type == tlv_type)
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, WireError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.bytes.is_empty() {
            return None;
        }
        let result = parse_one(self.bytes);
        match result {
            Ok((tlv, rest)) => {
                self.offset += tlv.buffer_len();
                self.bytes = rest;
                Some(Ok(tlv))
            }
            Err(error) => {
                let error = error.shifted(self.offset);
                self.offset += self.bytes.len();
                self.bytes = &[];
                Some(Err(error))
            }
        }
    }
}

impl core::iter::FusedIterator for Tlvs<'_> {}

impl PartialEq for Tlvs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Tlvs<'_> {}

impl Hash for Tlvs<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

/// One TLV from the start of `input`, with what follows it. Offsets count from `input`.
#[inline]
fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), WireError> {
    use crate::parse::{array_ref, read_u16};
    let Ok((rest, head)) = array_ref::<{ field::VALUE }>(input) else {
        return Err(ErrorKind::TlvsDoNotAddUp {
            remaining: input.len(),
        }
        .at(0));
    };
    let tlv_type = TlvType(read_u16(head, field::TLV_TYPE.start));
    let length_field = read_u16(head, field::LENGTH_FIELD.start);
    if length_field % 2 != 0 {
        return Err(ErrorKind::OddTlvLength { length_field }.at(field::LENGTH_FIELD.start));
    }
    match rest.split_at_checked(usize::from(length_field)) {
        Some((value, rest)) => Ok((Tlv { tlv_type, value }, rest)),
        None => Err(ErrorKind::TlvOverrun {
            length_field,
            available: rest.len(),
        }
        .at(field::LENGTH_FIELD.start)),
    }
}

/// Owned storage for a TLV area of up to `N` bytes, to build messages without allocating.
///
/// ```
/// use aptp_wire::{FollowUpInformation, Message, PortIdentity, Timestamp, TlvBuf, TlvRepr};
///
/// let mut area = TlvBuf::<32>::new();
/// area.push(&TlvRepr::FollowUpInformation(FollowUpInformation::default())).unwrap();
/// let follow_up = Message::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO)
///     .with_tlvs(area.tlvs())
///     .unwrap();
/// assert_eq!(follow_up.header.message_length, 76);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlvBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> TlvBuf<N> {
    /// Empty storage.
    pub const fn new() -> Self {
        TlvBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Appends the encoding of `tlv`; fails with [`ErrorKind::BufferTooShort`] when it does
    /// not fit (nothing is appended then).
    pub fn push(&mut self, tlv: &TlvRepr<'_>) -> Result<(), WireError> {
        let written = tlv
            .emit(&mut self.bytes[self.len..])
            .map_err(|e| e.shifted(self.len))?;
        self.len += written;
        Ok(())
    }

    /// Appends a raw TLV (see [`Tlv::emit`]).
    pub fn push_raw(&mut self, tlv: Tlv<'_>) -> Result<(), WireError> {
        let written = tlv
            .emit(&mut self.bytes[self.len..])
            .map_err(|e| e.shifted(self.len))?;
        self.len += written;
        Ok(())
    }

    /// The TLV area built so far.
    pub fn tlvs(&self) -> Tlvs<'_> {
        Tlvs::new(self.as_bytes())
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Removes every TLV.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<const N: usize> Default for TlvBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterator_errors() {
        // Odd length.
        let mut tlvs = Tlvs::at_offset(&[0, 8, 0, 1, 0], 44);
        assert_eq!(
            tlvs.next(),
            Some(Err(ErrorKind::OddTlvLength { length_field: 1 }.at(46)))
        );
        assert_eq!(tlvs.next(), None);
        // Overrun.
        let mut tlvs = Tlvs::at_offset(&[0, 8, 0, 4, 0, 0], 44);
        assert_eq!(
            tlvs.next(),
            Some(Err(ErrorKind::TlvOverrun {
                length_field: 4,
                available: 2
            }
            .at(46)))
        );
        // Leftover after a good TLV.
        let tlvs = Tlvs::at_offset(&[0, 8, 0, 0, 1, 2], 44);
        assert_eq!(
            tlvs.validate(),
            Err(ErrorKind::TlvsDoNotAddUp { remaining: 2 }.at(48))
        );
        assert_eq!(Tlvs::EMPTY.validate(), Ok(0));
    }

    #[test]
    fn tlv_buf_full() {
        let mut area = TlvBuf::<6>::new();
        let pad = Tlv {
            tlv_type: TlvType::PAD,
            value: &[0, 0],
        };
        area.push_raw(pad).unwrap();
        assert_eq!(
            area.push_raw(pad),
            Err(ErrorKind::BufferTooShort {
                needed: 6,
                available: 0
            }
            .at(6))
        );
        assert_eq!(area.as_bytes(), &[0x80, 0x08, 0, 2, 0, 0]);
    }
}
