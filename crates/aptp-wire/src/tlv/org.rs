//! ORGANIZATION_EXTENSION TLVs: the generic form, and IEEE 802.1AS's two (the Follow_Up
//! information TLV and the message interval request).

use nom::combinator::{map, rest};
use nom::Parser;

use crate::error::{ErrorKind, WireError};
use crate::parse::{array_ref, read_array, read_u16, read_u32, NomError};
use crate::TlvType;

/// organizationId of IEEE 802.1 (00-80-C2).
pub const OUI_IEEE_802_1: [u8; 3] = [0x00, 0x80, 0xC2];

/// organizationId and organizationSubType: 6 bytes.
const ORGANIZATION_HEADER_LENGTH: usize = 6;

/// Whether a TLV value must be consumed exactly by its parser, or may go on (a variable
/// part the parser takes whole, or bytes a later version may add).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Length {
    /// The value is exactly what the parser consumes.
    Exact,
    /// The parser takes all of it (its last part is variable).
    AtLeast,
}

/// Runs the nom `parser` over the whole value of a TLV of `tlv_type`. A value too short for
/// it is [`ErrorKind::BadTlvLength`] with `expected` the length the parser needed; with
/// [`Length::Exact`], one too long is the same error with `expected` what it consumed. The
/// offset is the TLV's lengthField.
#[inline]
pub(crate) fn parse_value<'a, T>(
    tlv_type: TlvType,
    value: &'a [u8],
    length: Length,
    mut parser: impl Parser<&'a [u8], Output = T, Error = NomError<'a>>,
) -> Result<T, WireError> {
    let bad = |expected: usize| {
        ErrorKind::BadTlvLength {
            tlv_type: tlv_type.0,
            length: value.len(),
            expected,
        }
        .at(crate::field::tlv::LENGTH_FIELD.start)
    };
    match parser.parse(value) {
        Ok((rest, parsed)) if length == Length::AtLeast || rest.is_empty() => Ok(parsed),
        Ok((rest, _)) => Err(bad(value.len() - rest.len())),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => match e.kind {
            ErrorKind::Truncated { needed, available } => {
                Err(bad(value.len() - available + needed))
            }
            kind => Err(kind.at(crate::field::tlv::VALUE + value.len() - e.input.len())),
        },
        // Only streaming parsers return Incomplete, and the crate uses none.
        Err(nom::Err::Incomplete(_)) => Err(bad(value.len() + 1)),
    }
}

/// An organization extension TLV (ORGANIZATION_EXTENSION, ..._PROPAGATE or
/// ..._DO_NOT_PROPAGATE): organizationId, organizationSubType and the data, borrowed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct OrganizationExtension<'a> {
    /// Which of the three organization extension tlvTypes this is.
    pub tlv_type: TlvType,
    /// organizationId (an OUI or CID).
    pub organization_id: [u8; 3],
    /// organizationSubType.
    pub organization_sub_type: [u8; 3],
    /// The organization's data after the subtype.
    pub data: &'a [u8],
}

impl<'a> OrganizationExtension<'a> {
    /// The bytes before `data` in the value: organizationId and organizationSubType.
    pub const HEADER_LENGTH: usize = ORGANIZATION_HEADER_LENGTH;

    /// Splits a TLV value into organizationId, subtype and data (at least 6 bytes).
    #[inline]
    pub fn parse_value(tlv_type: TlvType, value: &'a [u8]) -> Result<Self, WireError> {
        parse_value(
            tlv_type,
            value,
            Length::AtLeast,
            map(
                (array_ref::<ORGANIZATION_HEADER_LENGTH>, rest),
                |(head, data)| OrganizationExtension {
                    tlv_type,
                    organization_id: read_array(head, 0),
                    organization_sub_type: read_array(head, 3),
                    data,
                },
            ),
        )
    }

    /// organizationSubType as an integer (0..2^24).
    pub const fn sub_type(&self) -> u32 {
        let s = self.organization_sub_type;
        (s[0] as u32) << 16 | (s[1] as u32) << 8 | s[2] as u32
    }

    /// The value's length: 6 + data.
    pub const fn value_len(&self) -> usize {
        Self::HEADER_LENGTH + self.data.len()
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) {
        out[..3].copy_from_slice(&self.organization_id);
        out[3..6].copy_from_slice(&self.organization_sub_type);
        out[6..6 + self.data.len()].copy_from_slice(self.data);
    }
}

/// IEEE 802.1AS's Follow_Up information TLV (ORGANIZATION_EXTENSION, 00-80-C2, subtype 1,
/// lengthField 28), which AirPlay senders and gPTP put in every Follow_Up.
///
/// ```
/// use aptp_wire::{FollowUpInformation, Tlv, TlvRepr};
///
/// let info = FollowUpInformation { cumulative_scaled_rate_offset: 1 << 21, ..Default::default() };
/// let mut out = [0u8; 32];
/// assert_eq!(TlvRepr::FollowUpInformation(info).emit(&mut out), Ok(32));
/// assert_eq!(&out[..10], &[0x00, 0x03, 0x00, 0x1c, 0x00, 0x80, 0xc2, 0x00, 0x00, 0x01]);
/// assert!((info.rate_ratio() - (1.0 + 2f64.powi(-20))).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FollowUpInformation {
    /// cumulativeScaledRateOffset: (rateRatio − 1) × 2^41.
    pub cumulative_scaled_rate_offset: i32,
    /// gmTimeBaseIndicator.
    pub gm_time_base_indicator: u16,
    /// lastGmPhaseChange: a 96-bit signed ScaledNs (ns × 2^16), big-endian.
    pub last_gm_phase_change: [u8; 12],
    /// scaledLastGmFreqChange: the fractional frequency change × 2^41.
    pub scaled_last_gm_freq_change: i32,
}

// The quick decoder compares against these bytes as one literal.
const _: () = assert!(
    OUI_IEEE_802_1[0] == 0x00
        && OUI_IEEE_802_1[1] == 0x80
        && OUI_IEEE_802_1[2] == 0xC2
        && FollowUpInformation::SUB_TYPE[0] == 0
        && FollowUpInformation::SUB_TYPE[1] == 0
        && FollowUpInformation::SUB_TYPE[2] == 1
);

impl FollowUpInformation {
    /// organizationSubType.
    pub const SUB_TYPE: [u8; 3] = [0, 0, 1];
    /// lengthField.
    pub const VALUE_LENGTH: usize = 28;

    /// rateRatio = 1 + cumulativeScaledRateOffset / 2^41.
    pub fn rate_ratio(&self) -> f64 {
        1.0 + f64::from(self.cumulative_scaled_rate_offset) / (1u64 << 41) as f64
    }

    /// lastGmPhaseChange as a signed integer in units of 2^-16 ns.
    pub fn last_gm_phase_change_scaled(&self) -> i128 {
        let mut bytes = [0u8; 16];
        bytes[4..].copy_from_slice(&self.last_gm_phase_change);
        if self.last_gm_phase_change[0] & 0x80 != 0 {
            bytes[..4].fill(0xff);
        }
        i128::from_be_bytes(bytes)
    }

    /// Sets lastGmPhaseChange from a signed value in units of 2^-16 ns; fails when it needs
    /// more than 96 bits.
    pub fn set_last_gm_phase_change_scaled(&mut self, scaled: i128) -> Result<(), WireError> {
        let limit = 1i128 << 95;
        if !(-limit..limit).contains(&scaled) {
            return Err(ErrorKind::FieldOutOfRange {
                field: "lastGmPhaseChange",
                value: scaled.unsigned_abs() as u64,
            }
            .at(0));
        }
        self.last_gm_phase_change
            .copy_from_slice(&scaled.to_be_bytes()[4..]);
        Ok(())
    }

    /// The 802.1AS Follow_Up information in `tlv`, without going through [`TlvRepr`]
    /// (the quick path for a slave reading every Follow_Up). Fails with
    /// [`ErrorKind::WrongTlvType`] for another TLV, [`ErrorKind::BadTlvLength`] for a value
    /// of the wrong size; offsets count from the TLV's first byte.
    ///
    /// [`TlvRepr`]: crate::TlvRepr
    ///
    /// ```
    /// use aptp_wire::{FollowUpInformation, TlvBuf, TlvRepr, Tlvs};
    ///
    /// let info = FollowUpInformation { gm_time_base_indicator: 3, ..Default::default() };
    /// let mut area = TlvBuf::<32>::new();
    /// area.push(&TlvRepr::FollowUpInformation(info))?;
    /// let tlv = area.tlvs().next().unwrap()?;
    /// assert_eq!(FollowUpInformation::decode(tlv), Ok(info));
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn decode(tlv: crate::Tlv<'_>) -> Result<Self, WireError> {
        if tlv.tlv_type == TlvType::ORGANIZATION_EXTENSION {
            if let Some(info) = Self::quick_decode(tlv.value) {
                return Ok(info);
            }
        }
        let org = expect_organization(tlv, OUI_IEEE_802_1, Self::SUB_TYPE)?;
        Self::parse_data(org.data)
    }

    /// The fast path of the common case: an ORGANIZATION_EXTENSION value of exactly 28 bytes
    /// starting 00-80-C2 / 00-00-01, read at fixed offsets with one length check. `None`
    /// for anything else (the nom path then decides, and reports any error); for the values
    /// it accepts it gives exactly what that path gives.
    #[inline]
    pub(crate) fn quick_decode(value: &[u8]) -> Option<Self> {
        let b: &[u8; Self::VALUE_LENGTH] = value.try_into().ok()?;
        let head: [u8; ORGANIZATION_HEADER_LENGTH] = read_array(b, 0);
        if head != [0x00, 0x80, 0xC2, 0x00, 0x00, 0x01] {
            return None;
        }
        const DATA: usize = ORGANIZATION_HEADER_LENGTH;
        Some(FollowUpInformation {
            cumulative_scaled_rate_offset: read_u32(b, DATA) as i32,
            gm_time_base_indicator: read_u16(b, DATA + 4),
            last_gm_phase_change: read_array(b, DATA + 6),
            scaled_last_gm_freq_change: read_u32(b, DATA + 18) as i32,
        })
    }

    /// From the organization's data (after organizationId and subtype): exactly 22 bytes,
    /// read at their offsets.
    #[inline]
    pub(crate) fn parse_data(data: &[u8]) -> Result<Self, WireError> {
        const DATA_LENGTH: usize =
            FollowUpInformation::VALUE_LENGTH - OrganizationExtension::HEADER_LENGTH;
        parse_value(
            TlvType::ORGANIZATION_EXTENSION,
            data,
            Length::Exact,
            map(array_ref::<DATA_LENGTH>, |b| FollowUpInformation {
                cumulative_scaled_rate_offset: read_u32(b, 0) as i32,
                gm_time_base_indicator: read_u16(b, 4),
                last_gm_phase_change: read_array(b, 6),
                scaled_last_gm_freq_change: read_u32(b, 18) as i32,
            }),
        )
        .map_err(|e| with_value_len(e, Self::VALUE_LENGTH, data.len()))
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) {
        out[..3].copy_from_slice(&OUI_IEEE_802_1);
        out[3..6].copy_from_slice(&Self::SUB_TYPE);
        out[6..10].copy_from_slice(&self.cumulative_scaled_rate_offset.to_be_bytes());
        out[10..12].copy_from_slice(&self.gm_time_base_indicator.to_be_bytes());
        out[12..24].copy_from_slice(&self.last_gm_phase_change);
        out[24..28].copy_from_slice(&self.scaled_last_gm_freq_change.to_be_bytes());
    }
}

/// IEEE 802.1AS's message interval request TLV (Signaling; ORGANIZATION_EXTENSION, 00-80-C2,
/// subtype 2, lengthField 12).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct MessageIntervalRequest {
    /// linkDelayInterval (log2 seconds; 126: stop, 127: initial value, -128: unchanged).
    pub link_delay_interval: i8,
    /// timeSyncInterval.
    pub time_sync_interval: i8,
    /// announceInterval.
    pub announce_interval: i8,
    /// flags (bit 0 computeNeighborRateRatio, bit 1 computeNeighborPropDelay).
    pub flags: u8,
    /// The 2 reserved bytes, kept for an exact round trip.
    pub reserved: [u8; 2],
}

impl MessageIntervalRequest {
    /// organizationSubType.
    pub const SUB_TYPE: [u8; 3] = [0, 0, 2];
    /// lengthField.
    pub const VALUE_LENGTH: usize = 12;

    /// The message interval request in `tlv`, without going through [`crate::TlvRepr`].
    /// Fails with [`ErrorKind::WrongTlvType`] for another TLV and [`ErrorKind::BadTlvLength`]
    /// for a value of the wrong size.
    pub fn decode(tlv: crate::Tlv<'_>) -> Result<Self, WireError> {
        let org = expect_organization(tlv, OUI_IEEE_802_1, Self::SUB_TYPE)?;
        Self::parse_data(org.data)
    }

    pub(crate) fn parse_data(data: &[u8]) -> Result<Self, WireError> {
        const DATA_LENGTH: usize =
            MessageIntervalRequest::VALUE_LENGTH - OrganizationExtension::HEADER_LENGTH;
        parse_value(
            TlvType::ORGANIZATION_EXTENSION,
            data,
            Length::Exact,
            map(array_ref::<DATA_LENGTH>, |b| MessageIntervalRequest {
                link_delay_interval: b[0] as i8,
                time_sync_interval: b[1] as i8,
                announce_interval: b[2] as i8,
                flags: b[3],
                reserved: read_array(b, 4),
            }),
        )
        .map_err(|e| with_value_len(e, Self::VALUE_LENGTH, data.len()))
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) {
        out[..3].copy_from_slice(&OUI_IEEE_802_1);
        out[3..6].copy_from_slice(&Self::SUB_TYPE);
        out[6] = self.link_delay_interval as u8;
        out[7] = self.time_sync_interval as u8;
        out[8] = self.announce_interval as u8;
        out[9] = self.flags;
        out[10..12].copy_from_slice(&self.reserved);
    }
}

/// The organization extension in `tlv` if it is of tlvType ORGANIZATION_EXTENSION with
/// `organization_id` and `sub_type`, else [`ErrorKind::WrongTlvType`].
#[inline]
pub(crate) fn expect_organization<'a>(
    tlv: crate::Tlv<'a>,
    organization_id: [u8; 3],
    sub_type: [u8; 3],
) -> Result<OrganizationExtension<'a>, WireError> {
    if tlv.tlv_type != TlvType::ORGANIZATION_EXTENSION {
        return Err(ErrorKind::WrongTlvType {
            expected: u32::from(TlvType::ORGANIZATION_EXTENSION.0),
            found: u32::from(tlv.tlv_type.0),
        }
        .at(crate::field::tlv::TLV_TYPE.start));
    }
    let org = OrganizationExtension::parse_value(tlv.tlv_type, tlv.value)?;
    if org.organization_id != organization_id || org.organization_sub_type != sub_type {
        return Err(wrong_organization(&org, organization_id, sub_type));
    }
    Ok(org)
}

/// The [`ErrorKind::WrongTlvType`] naming the first of organizationId and subtype that
/// differs (kept out of line: the quick path never builds it).
#[cold]
fn wrong_organization(
    org: &OrganizationExtension<'_>,
    organization_id: [u8; 3],
    sub_type: [u8; 3],
) -> WireError {
    let number = |bytes: [u8; 3]| u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
    let (expected, found) = if org.organization_id != organization_id {
        (number(organization_id), number(org.organization_id))
    } else {
        (number(sub_type), number(org.organization_sub_type))
    };
    ErrorKind::WrongTlvType { expected, found }.at(crate::field::tlv::VALUE)
}

/// Rewrites a length error found on an organization's data to speak of the whole value.
pub(crate) fn with_value_len(error: WireError, expected: usize, data_len: usize) -> WireError {
    match error.kind {
        ErrorKind::BadTlvLength { tlv_type, .. } => ErrorKind::BadTlvLength {
            tlv_type,
            length: data_len + OrganizationExtension::HEADER_LENGTH,
            expected,
        }
        .at(error.offset),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the nom path gives for an ORGANIZATION_EXTENSION value.
    fn general(value: &[u8]) -> Result<FollowUpInformation, WireError> {
        let tlv = crate::Tlv {
            tlv_type: TlvType::ORGANIZATION_EXTENSION,
            value,
        };
        let org = expect_organization(tlv, OUI_IEEE_802_1, FollowUpInformation::SUB_TYPE)?;
        FollowUpInformation::parse_data(org.data)
    }

    proptest! {
        #[test]
        fn quick_decode_matches_nom(
            length in 24usize..32,
            spoil_head in any::<bool>(),
            spoil_at in 0usize..6,
            mut value in proptest::collection::vec(any::<u8>(), 32),
        ) {
            value.truncate(length);
            value[..6].copy_from_slice(&[0x00, 0x80, 0xC2, 0x00, 0x00, 0x01]);
            if spoil_head {
                value[spoil_at] ^= 0x10;
            }
            let tlv = crate::Tlv { tlv_type: TlvType::ORGANIZATION_EXTENSION, value: &value };
            match FollowUpInformation::quick_decode(&value) {
                Some(info) => {
                    prop_assert_eq!(general(&value), Ok(info));
                    prop_assert_eq!(
                        crate::TlvRepr::decode(tlv),
                        Ok(crate::TlvRepr::FollowUpInformation(info))
                    );
                }
                None => prop_assert!(spoil_head || length != 28),
            }
            // The public decoders give what the nom path gives, error or not.
            prop_assert_eq!(FollowUpInformation::decode(tlv), general(&value));
        }
    }
}
