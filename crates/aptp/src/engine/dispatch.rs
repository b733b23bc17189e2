//! Where each received message and each returned transmit timestamp goes: the common checks
//! every datagram passes (lengths and version, domain, majorSdoId, own messages on a view of
//! the bytes; then strict parsing and validation, port), then the role that handles its type.

use super::codec;
use super::io::{DropReason, PortKind};
use super::transmit_timestamps::TransmitPurpose;
use super::Engine;
use aptp_clock::Time;
use aptp_wire::{Body, MessageView};
use core::fmt::Debug;

impl<A: Copy + Eq + Debug> Engine<A> {
    /// Checks a datagram and hands it to its handler; the error says why it was dropped.
    pub(super) fn dispatch(
        &mut self,
        now: Time,
        bytes: &[u8],
        source: A,
        port: PortKind,
        rx_timestamp: Time,
    ) -> Result<(), DropReason> {
        if !self.state.runs_bmca() {
            return Err(DropReason::PortInactive);
        }
        // The cheap checks first, on a view of the bytes (lengths and versionPTP checked,
        // nothing decoded): another domain's, another SDO's and our own looped-back
        // messages are dropped before the full parse and validation.
        let view = MessageView::new_checked(bytes).map_err(|_| DropReason::Malformed)?;
        if view.domain_number() != self.config.domain_number {
            return Err(DropReason::WrongDomain);
        }
        if view.major_sdo_id() != self.config.transport_specific {
            return Err(DropReason::WrongSdoId);
        }
        if view.source_port_identity().clock_identity == self.port_identity.clock_identity {
            return Err(DropReason::FromSelf);
        }
        let message = codec::decode(bytes).map_err(|_| DropReason::Malformed)?;
        let header = &message.header;
        let is_event = header.message_type.is_event();
        if is_event != (port == PortKind::Event) {
            return Err(DropReason::WrongPort);
        }
        match message.body {
            Body::Announce(announce) => self.on_announce(now, source, header, &announce),
            Body::Sync { origin_timestamp } => {
                self.on_sync(now, source, header, origin_timestamp, rx_timestamp)
            }
            Body::FollowUp {
                precise_origin_timestamp,
            } => self.on_follow_up(now, header, precise_origin_timestamp),
            Body::DelayReq { .. } => {
                self.on_delay_request(now, source, header, rx_timestamp, bytes.len())
            }
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => self.on_delay_response(now, header, receive_timestamp, requesting_port_identity),
            Body::PdelayReq { .. } => {
                self.on_peer_delay_request(now, source, header, rx_timestamp, bytes.len())
            }
            Body::PdelayResp {
                request_receipt_timestamp,
                requesting_port_identity,
            } => self.on_peer_delay_response(
                now,
                header,
                request_receipt_timestamp,
                requesting_port_identity,
                rx_timestamp,
            ),
            Body::PdelayRespFollowUp {
                response_origin_timestamp,
                requesting_port_identity,
            } => self.on_peer_delay_response_follow_up(
                now,
                header,
                response_origin_timestamp,
                requesting_port_identity,
            ),
            _ => Err(DropReason::NotExpected),
        }
    }

    /// Completes what a transmit timestamp was awaited for.
    pub(super) fn on_transmitted(
        &mut self,
        now: Time,
        purpose: TransmitPurpose<A>,
        tx_timestamp: Time,
    ) {
        match purpose {
            TransmitPurpose::Sync {
                sequence_id,
                destination,
            } => {
                self.send_follow_up(now, sequence_id, destination, tx_timestamp);
            }
            TransmitPurpose::DelayRequest { sequence_id } => {
                self.on_delay_request_sent(now, sequence_id, tx_timestamp);
            }
            TransmitPurpose::PeerDelayRequest { sequence_id } => {
                self.on_peer_delay_request_sent(sequence_id, tx_timestamp);
            }
            TransmitPurpose::PeerDelayResponse {
                sequence_id,
                requesting_port_identity,
                destination,
                correction,
            } => {
                self.send_peer_delay_follow_up(
                    now,
                    sequence_id,
                    requesting_port_identity,
                    destination,
                    correction,
                    tx_timestamp,
                );
            }
        }
    }
}
