//! A parsed message as a JSON object: the IEEE 1588 field names in snake_case, in wire order.
//!
//! The keys are a contract (cli.md, issue 10). A few keys appear only when the bytes need them
//! to be reproduced exactly by `aptp encode`: reserved fields that are not zero (`reserved`,
//! `action_reserved`), the body of an unknown message type (`body`), a TLV area that does not
//! parse (`tlv_error`) and bytes after messageLength (`suffix`).

use aptp_wire::{Body, ClockIdentity, Header, Message, MessageType, PortIdentity, Timestamp};

use super::object::{Json, Object};
use super::tlv::tlvs_json;
use crate::input::hex::to_hex;

/// The JSON object of one message.
pub fn message_json(message: &Message<'_>) -> Object {
    let (tlvs, tlv_error) = tlvs_json(message.tlvs);
    header_json(&message.header)
        .extend(body_json(&message.body))
        .with("tlvs", tlvs)
        .with_some("tlv_error", tlv_error)
        .with_some(
            "suffix",
            (!message.suffix.is_empty()).then(|| to_hex(message.suffix)),
        )
}

/// The message type's snake_case name (`"follow_up"`), or its number when unknown.
pub fn message_type_json(message_type: MessageType) -> Json {
    match message_type.name() {
        Some(name) => name.to_ascii_lowercase().into(),
        None => message_type.0.into(),
    }
}

/// The header fields, in wire order.
pub fn header_json(header: &Header) -> Object {
    Object::new()
        .with("message_type", message_type_json(header.message_type))
        .with("major_sdo_id", header.major_sdo_id)
        .with("minor_version_ptp", header.minor_version_ptp)
        .with("version_ptp", header.version_ptp)
        .with("message_length", header.message_length)
        .with("domain_number", header.domain_number)
        .with("minor_sdo_id", header.minor_sdo_id)
        .with("flags", header.flags.0)
        .with("correction_field", header.correction_field.0)
        .with("message_type_specific", header.message_type_specific)
        .with(
            "source_port_identity",
            port_identity_json(&header.source_port_identity),
        )
        .with("sequence_id", header.sequence_id)
        .with("control_field", header.control_field)
        .with("log_message_interval", header.log_message_interval)
}

/// `{seconds, nanoseconds}`.
pub fn timestamp_json(timestamp: &Timestamp) -> Object {
    Object::new()
        .with("seconds", timestamp.seconds)
        .with("nanoseconds", timestamp.nanoseconds)
}

/// A clock identity as 16 lowercase hex digits.
pub fn clock_identity_json(clock_identity: &ClockIdentity) -> Json {
    clock_identity.to_string().into()
}

/// `{clock_identity, port_number}`.
pub fn port_identity_json(port: &PortIdentity) -> Object {
    Object::new()
        .with("clock_identity", clock_identity_json(&port.clock_identity))
        .with("port_number", port.port_number)
}

/// The body fields by their standard names, in wire order.
pub fn body_json(body: &Body<'_>) -> Object {
    let object = Object::new();
    match body {
        Body::Sync { origin_timestamp } | Body::DelayReq { origin_timestamp } => {
            object.with("origin_timestamp", timestamp_json(origin_timestamp))
        }
        Body::PdelayReq {
            origin_timestamp,
            reserved,
        } => object
            .with("origin_timestamp", timestamp_json(origin_timestamp))
            .with_some("reserved", nonzero_bytes(reserved)),
        Body::PdelayResp {
            request_receipt_timestamp,
            requesting_port_identity,
        } => object
            .with(
                "request_receipt_timestamp",
                timestamp_json(request_receipt_timestamp),
            )
            .with(
                "requesting_port_identity",
                port_identity_json(requesting_port_identity),
            ),
        Body::FollowUp {
            precise_origin_timestamp,
        } => object.with(
            "precise_origin_timestamp",
            timestamp_json(precise_origin_timestamp),
        ),
        Body::DelayResp {
            receive_timestamp,
            requesting_port_identity,
        } => object
            .with("receive_timestamp", timestamp_json(receive_timestamp))
            .with(
                "requesting_port_identity",
                port_identity_json(requesting_port_identity),
            ),
        Body::PdelayRespFollowUp {
            response_origin_timestamp,
            requesting_port_identity,
        } => object
            .with(
                "response_origin_timestamp",
                timestamp_json(response_origin_timestamp),
            )
            .with(
                "requesting_port_identity",
                port_identity_json(requesting_port_identity),
            ),
        Body::Announce(announce) => {
            let quality = &announce.grandmaster_clock_quality;
            object
                .with(
                    "origin_timestamp",
                    timestamp_json(&announce.origin_timestamp),
                )
                .with("current_utc_offset", announce.current_utc_offset)
                .with_some("reserved", nonzero(announce.reserved))
                .with("grandmaster_priority1", announce.grandmaster_priority1)
                .with(
                    "grandmaster_clock_quality",
                    Object::new()
                        .with("clock_class", quality.clock_class)
                        .with("clock_accuracy", quality.clock_accuracy.0)
                        .with(
                            "offset_scaled_log_variance",
                            quality.offset_scaled_log_variance,
                        ),
                )
                .with("grandmaster_priority2", announce.grandmaster_priority2)
                .with(
                    "grandmaster_identity",
                    clock_identity_json(&announce.grandmaster_identity),
                )
                .with("steps_removed", announce.steps_removed)
                .with("time_source", announce.time_source.0)
        }
        Body::Signaling {
            target_port_identity,
        } => object.with(
            "target_port_identity",
            port_identity_json(target_port_identity),
        ),
        Body::Management(management) => object
            .with(
                "target_port_identity",
                port_identity_json(&management.target_port_identity),
            )
            .with("starting_boundary_hops", management.starting_boundary_hops)
            .with("boundary_hops", management.boundary_hops)
            .with_some("action_reserved", nonzero(management.action_reserved))
            .with("action_field", management.action_field.0)
            .with_some("reserved", nonzero(management.reserved)),
        Body::Unknown { bytes } => object.with("body", to_hex(bytes)),
    }
}

fn nonzero(value: u8) -> Option<u8> {
    (value != 0).then_some(value)
}

fn nonzero_bytes(bytes: &[u8]) -> Option<String> {
    bytes.iter().any(|byte| *byte != 0).then(|| to_hex(bytes))
}
