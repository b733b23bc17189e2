//! Constructors that make consistent messages: the right messageLength, controlField, flags
//! and logMessageInterval for each type, then `with_*` adjustments.

use crate::error::{ErrorKind, WireError};
use crate::field;
use crate::{AnnounceBody, Body, Flags, Header, ManagementBody, Message, MessageType};
use crate::{PortIdentity, TimeInterval, Timestamp, Tlvs};

impl Message<'static> {
    /// A message of the body's type from `source_port_identity`, numbered `sequence_id`, with
    /// [`Header::new`]'s defaults and no TLV.
    pub const fn new(
        body: Body<'static>,
        source_port_identity: PortIdentity,
        sequence_id: u16,
    ) -> Self {
        let message_type = match body.message_type() {
            Some(t) => t,
            // An unknown body's type is not known here; set header.message_type afterwards.
            None => MessageType(0xf),
        };
        let mut header = Header::new(message_type);
        header.message_length = (field::header::LENGTH + body.len()) as u16;
        header.source_port_identity = source_port_identity;
        header.sequence_id = sequence_id;
        Message {
            header,
            body,
            tlvs: Tlvs::EMPTY,
            suffix: &[],
        }
    }

    /// A two-step Sync (twoStep flag set; a Follow_Up will carry the precise time).
    /// `origin_timestamp` may be zero or approximate.
    pub const fn sync(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        origin_timestamp: Timestamp,
    ) -> Self {
        Self::new(
            Body::Sync { origin_timestamp },
            source_port_identity,
            sequence_id,
        )
        .with_flags(Flags::TWO_STEP)
    }

    /// A one-step Sync (twoStep clear: `origin_timestamp` is the precise send time).
    pub const fn sync_one_step(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        origin_timestamp: Timestamp,
    ) -> Self {
        Self::new(
            Body::Sync { origin_timestamp },
            source_port_identity,
            sequence_id,
        )
    }

    /// A Delay_Req (logMessageInterval 0x7F).
    pub const fn delay_req(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        origin_timestamp: Timestamp,
    ) -> Self {
        Self::new(
            Body::DelayReq { origin_timestamp },
            source_port_identity,
            sequence_id,
        )
    }

    /// A Pdelay_Req (reserved bytes zero).
    pub const fn pdelay_req(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        origin_timestamp: Timestamp,
    ) -> Self {
        Self::new(
            Body::PdelayReq {
                origin_timestamp,
                reserved: [0; 10],
            },
            source_port_identity,
            sequence_id,
        )
    }

    /// A two-step Pdelay_Resp (twoStep set: a Pdelay_Resp_Follow_Up will follow). Clear the
    /// flag with [`Message::with_flags`] for a one-step responder.
    pub const fn pdelay_resp(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        request_receipt_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) -> Self {
        Self::new(
            Body::PdelayResp {
                request_receipt_timestamp,
                requesting_port_identity,
            },
            source_port_identity,
            sequence_id,
        )
        .with_flags(Flags::TWO_STEP)
    }

    /// A Follow_Up (use the Sync's sequenceId).
    pub const fn follow_up(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        precise_origin_timestamp: Timestamp,
    ) -> Self {
        Self::new(
            Body::FollowUp {
                precise_origin_timestamp,
            },
            source_port_identity,
            sequence_id,
        )
    }

    /// A Delay_Resp (use the Delay_Req's sequenceId and sourcePortIdentity).
    pub const fn delay_resp(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        receive_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) -> Self {
        Self::new(
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            },
            source_port_identity,
            sequence_id,
        )
    }

    /// A Pdelay_Resp_Follow_Up.
    pub const fn pdelay_resp_follow_up(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        response_origin_timestamp: Timestamp,
        requesting_port_identity: PortIdentity,
    ) -> Self {
        Self::new(
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                requesting_port_identity,
            },
            source_port_identity,
            sequence_id,
        )
    }

    /// An Announce (logMessageInterval 1; add a PATH_TRACE TLV with [`Message::with_tlvs`]).
    pub const fn announce(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        body: AnnounceBody,
    ) -> Self {
        Self::new(Body::Announce(body), source_port_identity, sequence_id)
    }

    /// A Signaling message to `target_port_identity` (add its TLVs with
    /// [`Message::with_tlvs`]).
    pub const fn signaling(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        target_port_identity: PortIdentity,
    ) -> Self {
        Self::new(
            Body::Signaling {
                target_port_identity,
            },
            source_port_identity,
            sequence_id,
        )
    }

    /// A Management message (add its MANAGEMENT TLV with [`Message::with_tlvs`]).
    pub const fn management(
        source_port_identity: PortIdentity,
        sequence_id: u16,
        body: ManagementBody,
    ) -> Self {
        Self::new(Body::Management(body), source_port_identity, sequence_id)
    }
}

impl<'a> Message<'a> {
    /// This message with `tlvs` as its TLV area (replacing any) and messageLength updated;
    /// fails when the message would be longer than 65535 bytes.
    pub fn with_tlvs<'b>(self, tlvs: Tlvs<'b>) -> Result<Message<'b>, WireError>
    where
        'a: 'b,
    {
        let length = field::header::LENGTH + self.body.len() + tlvs.len();
        let message_length = u16::try_from(length).map_err(|_| {
            ErrorKind::MessageTooLong { length }.at(field::header::MESSAGE_LENGTH.start)
        })?;
        let mut header = self.header;
        header.message_length = message_length;
        Ok(Message {
            header,
            body: self.body,
            tlvs: Tlvs::at_offset(tlvs.as_bytes(), length - tlvs.len()),
            suffix: self.suffix,
        })
    }

    /// This message with flagField replaced by `flags` (the constructors' twoStep included:
    /// combine with `message.header.flags | ...` to keep it).
    #[must_use]
    pub const fn with_flags(mut self, flags: Flags) -> Self {
        self.header.flags = flags;
        self
    }

    /// This message with domainNumber `domain_number`.
    #[must_use]
    pub const fn with_domain_number(mut self, domain_number: u8) -> Self {
        self.header.domain_number = domain_number;
        self
    }

    /// This message with majorSdoId `major_sdo_id` (1 for 802.1AS and AirPlay; 4 bits, checked
    /// when emitting).
    #[must_use]
    pub const fn with_major_sdo_id(mut self, major_sdo_id: u8) -> Self {
        self.header.major_sdo_id = major_sdo_id;
        self
    }

    /// This message with correctionField `correction_field`.
    #[must_use]
    pub const fn with_correction_field(mut self, correction_field: TimeInterval) -> Self {
        self.header.correction_field = correction_field;
        self
    }

    /// This message with logMessageInterval `log_message_interval`.
    #[must_use]
    pub const fn with_log_message_interval(mut self, log_message_interval: i8) -> Self {
        self.header.log_message_interval = log_message_interval;
        self
    }

    /// This message with minorVersionPTP `minor_version_ptp` (0 for a 2008 peer; 4 bits,
    /// checked when emitting).
    #[must_use]
    pub const fn with_minor_version_ptp(mut self, minor_version_ptp: u8) -> Self {
        self.header.minor_version_ptp = minor_version_ptp;
        self
    }
}
