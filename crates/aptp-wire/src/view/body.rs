//! Typed views of the bodies a slave's hot path reads: Sync, Delay_Req, Follow_Up and
//! Delay_Resp. Each holds its body as a fixed-size array, so its getters read constant
//! offsets and cannot fail; each dereferences to its [`MessageView`] for the header.

use core::ops::Deref;

use super::{FollowUpInformationView, MessageView};
use crate::field;
use crate::parse::{read_array, read_u16, read_u32, read_u48};
use crate::{ClockIdentity, MessageType, PortIdentity, Timestamp};

/// The length of a timestamp body (Sync, Delay_Req, Follow_Up).
const TIMESTAMP_BODY: usize = field::sync::LENGTH - field::header::LENGTH;
/// The length of a Delay_Resp body.
const DELAY_RESP_BODY: usize = field::delay_resp::LENGTH - field::header::LENGTH;

/// Offsets in a body: the message offsets of `crate::field` less the header.
const fn at(message_offset: usize) -> usize {
    message_offset - field::header::LENGTH
}

/// The timestamp at `offset` in the fixed-size `bytes` (permissive, as [`Timestamp::from_bytes`]).
#[inline(always)]
const fn timestamp_at<const N: usize>(bytes: &[u8; N], offset: usize) -> Timestamp {
    Timestamp {
        seconds: read_u48(bytes, offset + field::timestamp::SECONDS.start),
        nanoseconds: read_u32(bytes, offset + field::timestamp::NANOSECONDS.start),
    }
}

/// The body of a checked message, typed for Sync, Delay_Req, Follow_Up and Delay_Resp.
///
/// ```
/// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
///
/// let mut bytes = [0u8; 44];
/// Message::delay_req(PortIdentity::ZERO, 5, Timestamp::new(1, 2).unwrap()).emit(&mut bytes)?;
/// match MessageView::new_checked(&bytes)?.body() {
///     BodyView::DelayReq(delay_req) => {
///         assert_eq!(delay_req.origin_timestamp(), Timestamp::new(1, 2).unwrap())
///     }
///     other => panic!("not a Delay_Req: {other:?}"),
/// }
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum BodyView<'a> {
    /// A Sync.
    Sync(SyncView<'a>),
    /// A Delay_Req.
    DelayReq(DelayReqView<'a>),
    /// A Follow_Up.
    FollowUp(FollowUpView<'a>),
    /// A Delay_Resp.
    DelayResp(DelayRespView<'a>),
    /// Any other type (Announce, Signaling, the peer delay messages, Management, reserved
    /// types): its header is read from the view, its body decoded by
    /// [`MessageView::to_message`].
    Other(MessageView<'a>),
}

impl<'a> BodyView<'a> {
    /// The typed view of `message`'s body.
    #[inline]
    pub(super) fn of(message: MessageView<'a>) -> Self {
        // The check sized the body for its type, so each `first_chunk` succeeds for its type.
        match message.message_type() {
            MessageType::SYNC => {
                if let Some(origin_timestamp) = message.body.first_chunk() {
                    return BodyView::Sync(SyncView {
                        message,
                        origin_timestamp,
                    });
                }
            }
            MessageType::DELAY_REQ => {
                if let Some(origin_timestamp) = message.body.first_chunk() {
                    return BodyView::DelayReq(DelayReqView {
                        message,
                        origin_timestamp,
                    });
                }
            }
            MessageType::FOLLOW_UP => {
                if let Some(precise_origin_timestamp) = message.body.first_chunk() {
                    return BodyView::FollowUp(FollowUpView {
                        message,
                        precise_origin_timestamp,
                    });
                }
            }
            MessageType::DELAY_RESP => {
                if let Some(body) = message.body.first_chunk() {
                    return BodyView::DelayResp(DelayRespView { message, body });
                }
            }
            _ => {}
        }
        BodyView::Other(message)
    }

    /// The whole message's view, whatever the type.
    ///
    /// ```
    /// # use aptp_wire::{Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 3, Timestamp::ZERO).emit(&mut bytes)?;
    /// let view = MessageView::new_checked(&bytes)?;
    /// assert_eq!(view.body().message(), view);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    pub const fn message(&self) -> MessageView<'a> {
        match self {
            BodyView::Sync(v) => v.message,
            BodyView::DelayReq(v) => v.message,
            BodyView::FollowUp(v) => v.message,
            BodyView::DelayResp(v) => v.message,
            BodyView::Other(v) => *v,
        }
    }
}

/// A checked Sync: originTimestamp, and the header through [`MessageView`].
///
/// ```
/// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
///
/// let mut bytes = [0u8; 44];
/// Message::sync(PortIdentity::ZERO, 7, Timestamp::new(3, 4).unwrap()).emit(&mut bytes)?;
/// let BodyView::Sync(sync) = MessageView::new_checked(&bytes)?.body() else { panic!() };
/// assert_eq!((sync.sequence_id(), sync.origin_timestamp()), (7, Timestamp::new(3, 4).unwrap()));
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SyncView<'a> {
    message: MessageView<'a>,
    origin_timestamp: &'a [u8; TIMESTAMP_BODY],
}

impl<'a> SyncView<'a> {
    /// originTimestamp (zero or approximate in a two-step Sync; any nanoseconds value is
    /// kept, as by [`Message::parse`](crate::Message::parse)).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync_one_step(PortIdentity::ZERO, 1, Timestamp::new(5, 6).unwrap()).emit(&mut bytes)?;
    /// let BodyView::Sync(sync) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(sync.origin_timestamp(), Timestamp::new(5, 6).unwrap());
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn origin_timestamp(&self) -> Timestamp {
        timestamp_at(self.origin_timestamp, 0)
    }
}

impl<'a> Deref for SyncView<'a> {
    type Target = MessageView<'a>;

    /// The message's view (its header getters).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::sync(PortIdentity::ZERO, 1, Timestamp::ZERO).with_domain_number(3).emit(&mut bytes)?;
    /// let BodyView::Sync(sync) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(sync.domain_number(), 3);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    fn deref(&self) -> &MessageView<'a> {
        &self.message
    }
}

/// A checked Delay_Req: originTimestamp, and the header through [`MessageView`].
///
/// ```
/// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
///
/// let mut bytes = [0u8; 44];
/// Message::delay_req(PortIdentity::ZERO, 7, Timestamp::ZERO).emit(&mut bytes)?;
/// let BodyView::DelayReq(delay_req) = MessageView::new_checked(&bytes)?.body() else { panic!() };
/// assert_eq!(delay_req.sequence_id(), 7);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DelayReqView<'a> {
    message: MessageView<'a>,
    origin_timestamp: &'a [u8; TIMESTAMP_BODY],
}

impl<'a> DelayReqView<'a> {
    /// originTimestamp (often zero: the slave's t3 is its transmit timestamp).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::delay_req(PortIdentity::ZERO, 1, Timestamp::new(8, 9).unwrap()).emit(&mut bytes)?;
    /// let BodyView::DelayReq(delay_req) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(delay_req.origin_timestamp(), Timestamp::new(8, 9).unwrap());
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn origin_timestamp(&self) -> Timestamp {
        timestamp_at(self.origin_timestamp, 0)
    }
}

impl<'a> Deref for DelayReqView<'a> {
    type Target = MessageView<'a>;

    /// The message's view (its header getters).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::delay_req(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// let BodyView::DelayReq(delay_req) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(delay_req.control_field(), 1);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    fn deref(&self) -> &MessageView<'a> {
        &self.message
    }
}

/// A checked Follow_Up: preciseOriginTimestamp, the 802.1AS Follow_Up information TLV, and
/// the header through [`MessageView`].
///
/// ```
/// use aptp_wire::{airplay, BodyView, ClockIdentity, FollowUpInformation, MessageView, PortIdentity, Timestamp};
///
/// let me = PortIdentity::new(ClockIdentity([1; 8]), 1);
/// let info = FollowUpInformation { cumulative_scaled_rate_offset: -7, ..Default::default() };
/// let mut bytes = [0u8; 96];
/// airplay::follow_up(me, 42, Timestamp::new(1000, 5).unwrap(), info)?.emit(&mut bytes)?;
/// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
/// assert_eq!(follow_up.precise_origin_timestamp(), Timestamp::new(1000, 5).unwrap());
/// assert_eq!(follow_up.follow_up_information().unwrap().cumulative_scaled_rate_offset(), -7);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FollowUpView<'a> {
    message: MessageView<'a>,
    precise_origin_timestamp: &'a [u8; TIMESTAMP_BODY],
}

impl<'a> FollowUpView<'a> {
    /// preciseOriginTimestamp (t1 of the preceding Sync).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::follow_up(PortIdentity::ZERO, 1, Timestamp::new(8, 9).unwrap()).emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.precise_origin_timestamp(), Timestamp::new(8, 9).unwrap());
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn precise_origin_timestamp(&self) -> Timestamp {
        timestamp_at(self.precise_origin_timestamp, 0)
    }

    /// The IEEE 802.1AS Follow_Up information TLV, when it is the first TLV (right after the
    /// body, where 802.1AS 11.4.4.3 and every AirPlay sender put it): tlvType
    /// ORGANIZATION_EXTENSION, lengthField 28, organizationId 00-80-C2, organizationSubType
    /// 00-00-01, the 32 bytes within messageLength. `None` otherwise; TLVs after it are not
    /// looked at (iterate [`MessageView::tlvs`] for them, or to find the TLV elsewhere).
    ///
    /// It is `Some` exactly when the first TLV of [`MessageView::tlvs`] is well-formed and
    /// [`FollowUpInformation::decode`](crate::FollowUpInformation::decode) accepts it, with
    /// the same values.
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::follow_up(PortIdentity::ZERO, 1, Timestamp::ZERO).emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert!(follow_up.follow_up_information().is_none()); // no TLV at all
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn follow_up_information(&self) -> Option<FollowUpInformationView<'a>> {
        FollowUpInformationView::first_in(self.message.tlvs)
    }
}

impl<'a> Deref for FollowUpView<'a> {
    type Target = MessageView<'a>;

    /// The message's view (its header getters).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 44];
    /// Message::follow_up(PortIdentity::ZERO, 9, Timestamp::ZERO).emit(&mut bytes)?;
    /// let BodyView::FollowUp(follow_up) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(follow_up.sequence_id(), 9);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    fn deref(&self) -> &MessageView<'a> {
        &self.message
    }
}

/// A checked Delay_Resp: receiveTimestamp, requestingPortIdentity, and the header through
/// [`MessageView`].
///
/// ```
/// use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
///
/// let mut bytes = [0u8; 54];
/// Message::delay_resp(PortIdentity::ZERO, 7, Timestamp::ZERO, PortIdentity::ALL).emit(&mut bytes)?;
/// let BodyView::DelayResp(delay_resp) = MessageView::new_checked(&bytes)?.body() else { panic!() };
/// assert_eq!(delay_resp.requesting_port_identity(), PortIdentity::ALL);
/// # Ok::<(), aptp_wire::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DelayRespView<'a> {
    message: MessageView<'a>,
    body: &'a [u8; DELAY_RESP_BODY],
}

impl<'a> DelayRespView<'a> {
    /// receiveTimestamp (t4: when the master received the Delay_Req).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let t4 = Timestamp::new(11, 12).unwrap();
    /// let mut bytes = [0u8; 54];
    /// Message::delay_resp(PortIdentity::ZERO, 1, t4, PortIdentity::ZERO).emit(&mut bytes)?;
    /// let BodyView::DelayResp(delay_resp) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(delay_resp.receive_timestamp(), t4);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub const fn receive_timestamp(&self) -> Timestamp {
        timestamp_at(self.body, at(field::delay_resp::TIMESTAMP.start))
    }

    /// requestingPortIdentity (the slave port whose Delay_Req this answers).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, ClockIdentity, Message, MessageView, PortIdentity, Timestamp};
    /// let slave = PortIdentity::new(ClockIdentity([7; 8]), 2);
    /// let mut bytes = [0u8; 54];
    /// Message::delay_resp(PortIdentity::ZERO, 1, Timestamp::ZERO, slave).emit(&mut bytes)?;
    /// let BodyView::DelayResp(delay_resp) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(delay_resp.requesting_port_identity(), slave);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    #[inline]
    pub fn requesting_port_identity(&self) -> PortIdentity {
        use field::port_identity as port;
        let offset = at(field::delay_resp::REQUESTING_PORT_IDENTITY.start);
        PortIdentity {
            clock_identity: ClockIdentity(read_array(
                self.body,
                offset + port::CLOCK_IDENTITY.start,
            )),
            port_number: read_u16(self.body, offset + port::PORT_NUMBER.start),
        }
    }
}

impl<'a> Deref for DelayRespView<'a> {
    type Target = MessageView<'a>;

    /// The message's view (its header getters).
    ///
    /// ```
    /// # use aptp_wire::{BodyView, Message, MessageView, PortIdentity, Timestamp};
    /// let mut bytes = [0u8; 54];
    /// Message::delay_resp(PortIdentity::ZERO, 4, Timestamp::ZERO, PortIdentity::ZERO).emit(&mut bytes)?;
    /// let BodyView::DelayResp(delay_resp) = MessageView::new_checked(&bytes)?.body() else { panic!() };
    /// assert_eq!(delay_resp.sequence_id(), 4);
    /// # Ok::<(), aptp_wire::WireError>(())
    /// ```
    fn deref(&self) -> &MessageView<'a> {
        &self.message
    }
}
