//! Apple's organization-extension TLVs (OUI 00-0D-93).

use nom::combinator::map;

use crate::error::WireError;
use crate::parse::{array_ref, read_array};
use crate::tlv::org::{parse_value, Length};
use crate::tlv::OrganizationExtension;
use crate::{ClockIdentity, TlvType};

/// Apple's organizationId, 00-0D-93.
pub const OUI_APPLE: [u8; 3] = [0x00, 0x0D, 0x93];
/// The first of Apple's two Signaling TLVs (lengthField 22; meaning not public, kept raw as an
/// [`OrganizationExtension`]).
pub const SUB_TYPE_SIGNALING_1: [u8; 3] = [0, 0, 1];
/// The second of Apple's two Signaling TLVs (lengthField 32; meaning not public, kept raw as
/// an [`OrganizationExtension`]).
pub const SUB_TYPE_SIGNALING_5: [u8; 3] = [0, 0, 5];

/// Apple's TLV in Follow_Up (ORGANIZATION_EXTENSION, 00-0D-93, subtype 000004, lengthField
/// 16): the sender's clock identity, then 2 bytes (observed zero).
///
/// ```
/// use aptp_wire::airplay::AppleClockIdentity;
/// use aptp_wire::{ClockIdentity, TlvRepr, Tlvs};
///
/// let apple = AppleClockIdentity { clock_identity: ClockIdentity([0xaa; 8]), reserved: [0, 0] };
/// let mut out = [0u8; 20];
/// TlvRepr::AppleClockIdentity(apple).emit(&mut out).unwrap();
/// assert_eq!(&out[..10], &[0x00, 0x03, 0x00, 0x10, 0x00, 0x0d, 0x93, 0x00, 0x00, 0x04]);
/// let tlv = Tlvs::new(&out).next().unwrap().unwrap();
/// assert_eq!(tlv.decode(), Ok(TlvRepr::AppleClockIdentity(apple)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct AppleClockIdentity {
    /// The sending clock's identity.
    pub clock_identity: ClockIdentity,
    /// The 2 bytes after it (observed zero), kept for an exact round trip.
    pub reserved: [u8; 2],
}

impl AppleClockIdentity {
    /// organizationSubType.
    pub const SUB_TYPE: [u8; 3] = [0, 0, 4];
    /// lengthField: 3 (OUI) + 3 (subtype) + 8 + 2.
    pub const VALUE_LENGTH: usize = 16;

    /// Apple's clock identity TLV in `tlv`, without going through [`crate::TlvRepr`].
    /// Fails with [`crate::ErrorKind::WrongTlvType`] for another TLV and
    /// [`crate::ErrorKind::BadTlvLength`] for a value of the wrong size.
    pub fn decode(tlv: crate::Tlv<'_>) -> Result<Self, WireError> {
        let org = crate::tlv::org::expect_organization(tlv, OUI_APPLE, Self::SUB_TYPE)?;
        Self::parse_data(org.data)
            .map_err(|e| crate::tlv::org::with_value_len(e, Self::VALUE_LENGTH, org.data.len()))
    }

    pub(crate) fn parse_data(data: &[u8]) -> Result<Self, WireError> {
        const DATA_LENGTH: usize =
            AppleClockIdentity::VALUE_LENGTH - OrganizationExtension::HEADER_LENGTH;
        parse_value(
            TlvType::ORGANIZATION_EXTENSION,
            data,
            Length::Exact,
            map(array_ref::<DATA_LENGTH>, |b| AppleClockIdentity {
                clock_identity: ClockIdentity(read_array(b, 0)),
                reserved: read_array(b, 8),
            }),
        )
    }

    pub(crate) fn write_value(&self, out: &mut [u8]) {
        out[..3].copy_from_slice(&OUI_APPLE);
        out[3..6].copy_from_slice(&Self::SUB_TYPE);
        out[6..14].copy_from_slice(&self.clock_identity.0);
        out[14..16].copy_from_slice(&self.reserved);
    }
}
