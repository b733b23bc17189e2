//! A view of IEEE 802.1AS's Follow_Up information TLV, read in place.

use crate::field::follow_up_information as field;
use crate::parse::{read_array, read_u16, read_u32};
use crate::{FollowUpInformation, TlvType, OUI_IEEE_802_1};

/// The 10 bytes that start every 802.1AS Follow_Up information TLV: tlvType, lengthField,
/// organizationId, organizationSubType.
const HEAD: [u8; field::CUMULATIVE_SCALED_RATE_OFFSET.start] = {
    let tlv_type = TlvType::ORGANIZATION_EXTENSION.0.to_be_bytes();
    let length_field = (FollowUpInformation::VALUE_LENGTH as u16).to_be_bytes();
    let sub_type = FollowUpInformation::SUB_TYPE;
    [
        tlv_type[0],
        tlv_type[1],
        length_field[0],
        length_field[1],
        OUI_IEEE_802_1[0],
        OUI_IEEE_802_1[1],
        OUI_IEEE_802_1[2],
        sub_type[0],
        sub_type[1],
        sub_type[2],
    ]
};

// The head's parts sit where the field table says.
const _: () = assert!(
    field::TLV_TYPE.start == 0
        && field::LENGTH_FIELD.start == 2
        && field::ORGANIZATION_ID.start == 4
        && field::ORGANIZATION_SUB_TYPE.start == 7
        && field::LENGTH == crate::field::tlv::VALUE + FollowUpInformation::VALUE_LENGTH
);

/// IEEE 802.1AS's Follow_Up information TLV (ORGANIZATION_EXTENSION, 00-80-C2, subtype 1,
/// lengthField 28), viewed in place: 32 checked bytes, each field read when asked. Given by
/// [`FollowUpView::follow_up_information`](crate::FollowUpView::follow_up_information);
/// [`FollowUpInformationView::to_follow_up_information`] decodes it whole.
///
/// ```
/// use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
///
/// let info = FollowUpInformation { cumulative_scaled_rate_offset: 1 << 21, ..Default::default() };
/// let mut bytes = [0u8; 96];
/// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
/// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
/// let view = follow_up.follow_up_information().unwrap();
/// assert_eq!(view.to_follow_up_information(), info);
/// assert!((view.rate_ratio() - (1.0 + 2f64.powi(-20))).abs() < 1e-15);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FollowUpInformationView<'a> {
    bytes: &'a [u8; field::LENGTH],
}

impl<'a> FollowUpInformationView<'a> {
    /// The TLV at the start of `tlv_area`, if it is an 802.1AS Follow_Up information TLV:
    /// one length check, one compare of its first 10 bytes.
    #[inline]
    pub(crate) fn first_in(tlv_area: &'a [u8]) -> Option<Self> {
        let bytes = tlv_area.first_chunk::<{ field::LENGTH }>()?;
        let head: [u8; field::CUMULATIVE_SCALED_RATE_OFFSET.start] =
            read_array(bytes, field::TLV_TYPE.start);
        (head == HEAD).then_some(FollowUpInformationView { bytes })
    }

    /// cumulativeScaledRateOffset: (rateRatio − 1) × 2^41.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let info = FollowUpInformation { cumulative_scaled_rate_offset: -256, ..Default::default() };
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().cumulative_scaled_rate_offset(), -256);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn cumulative_scaled_rate_offset(&self) -> i32 {
        read_u32(self.bytes, field::CUMULATIVE_SCALED_RATE_OFFSET.start) as i32
    }

    /// gmTimeBaseIndicator.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let info = FollowUpInformation { gm_time_base_indicator: 7, ..Default::default() };
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().gm_time_base_indicator(), 7);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn gm_time_base_indicator(&self) -> u16 {
        read_u16(self.bytes, field::GM_TIME_BASE_INDICATOR.start)
    }

    /// lastGmPhaseChange: a 96-bit signed ScaledNs (ns × 2^16), big-endian.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let mut info = FollowUpInformation::default();
    /// info.set_last_gm_phase_change_scaled(-2)?;
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().last_gm_phase_change(), info.last_gm_phase_change);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn last_gm_phase_change(&self) -> [u8; 12] {
        read_array(self.bytes, field::LAST_GM_PHASE_CHANGE.start)
    }

    /// lastGmPhaseChange as a signed integer in units of 2^-16 ns.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let mut info = FollowUpInformation::default();
    /// info.set_last_gm_phase_change_scaled(-2)?;
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().last_gm_phase_change_scaled(), -2);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn last_gm_phase_change_scaled(&self) -> i128 {
        self.to_follow_up_information()
            .last_gm_phase_change_scaled()
    }

    /// scaledLastGmFreqChange: the fractional frequency change × 2^41.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let info = FollowUpInformation { scaled_last_gm_freq_change: 9, ..Default::default() };
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().scaled_last_gm_freq_change(), 9);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn scaled_last_gm_freq_change(&self) -> i32 {
        read_u32(self.bytes, field::SCALED_LAST_GM_FREQ_CHANGE.start) as i32
    }

    /// rateRatio = 1 + cumulativeScaledRateOffset / 2^41.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, FollowUpInformation::default())?
    ///     .emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().rate_ratio(), 1.0);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn rate_ratio(&self) -> f64 {
        1.0 + f64::from(self.cumulative_scaled_rate_offset()) / (1u64 << 41) as f64
    }

    /// Every field, decoded: what [`FollowUpInformation::decode`] gives for this TLV.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let info = FollowUpInformation { gm_time_base_indicator: 3, scaled_last_gm_freq_change: -1, ..Default::default() };
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, info)?.emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().to_follow_up_information(), info);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn to_follow_up_information(&self) -> FollowUpInformation {
        FollowUpInformation {
            cumulative_scaled_rate_offset: self.cumulative_scaled_rate_offset(),
            gm_time_base_indicator: self.gm_time_base_indicator(),
            last_gm_phase_change: self.last_gm_phase_change(),
            scaled_last_gm_freq_change: self.scaled_last_gm_freq_change(),
        }
    }

    /// The TLV's 32 bytes: type, length and value.
    ///
    /// ```
    /// # use aptp_wire::{airplay, BodyView, FollowUpInformation, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 96];
    /// airplay::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO, FollowUpInformation::default())?
    ///     .emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.follow_up_information().unwrap().as_bytes()[..], bytes[44..76]);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn as_bytes(&self) -> &'a [u8; field::LENGTH] {
        self.bytes
    }
}
