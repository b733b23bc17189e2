//! TLVs as JSON: `tlv_type`, `length_field`, the typed fields where aptp-wire knows the type,
//! and always the raw `value` in hex (what `aptp encode` writes back).

use aptp_wire::{
    CancelUnicastTransmission, ManagementErrorStatus, MessageType, Tlv, TlvRepr, TlvType, Tlvs,
};

use super::message::{clock_identity_json, message_type_json};
use super::object::{Json, Object};
use crate::input::hex::to_hex;

/// The TLV list of a message, and, when the TLV area stops making sense part way, an object
/// describing the error with the bytes left (`{error, offset, bytes}`).
pub fn tlvs_json(tlvs: Tlvs<'_>) -> (Vec<Json>, Option<Object>) {
    let mut list = Vec::new();
    let mut rest = tlvs;
    loop {
        let remaining = rest.as_bytes();
        match rest.next() {
            None => return (list, None),
            Some(Ok(tlv)) => list.push(tlv_json(tlv).into()),
            Some(Err(error)) => {
                let area_error = Object::new()
                    .with("error", error.kind.to_string())
                    .with("offset", error.offset as u64)
                    .with("bytes", to_hex(remaining));
                return (list, Some(area_error));
            }
        }
    }
}

/// A TLV type's snake_case name (`"organization_extension"`), or its number when unknown.
pub fn tlv_type_json(tlv_type: TlvType) -> Json {
    match tlv_type.name() {
        Some(name) => name.to_ascii_lowercase().into(),
        None => tlv_type.0.into(),
    }
}

/// One TLV: type, length, typed fields (or the typed decode's `error`), raw value.
pub fn tlv_json(tlv: Tlv<'_>) -> Object {
    let object = Object::new()
        .with("tlv_type", tlv_type_json(tlv.tlv_type))
        .with("length_field", tlv.length_field() as u64);
    let typed = match tlv.decode() {
        Ok(repr) => typed_fields(&repr),
        Err(error) => Object::new().with("error", error.kind.to_string()),
    };
    object.extend(typed).with("value", to_hex(tlv.value))
}

/// The fields of a typed TLV, by the standard's names.
pub fn typed_fields(repr: &TlvRepr<'_>) -> Object {
    let object = Object::new();
    match repr {
        TlvRepr::Management(management) => object
            .with("management_id", management.management_id.0)
            .with("data", to_hex(management.data)),
        TlvRepr::ManagementErrorStatus(status) => management_error_status(status),
        TlvRepr::FollowUpInformation(info) => organization(&aptp_wire::OUI_IEEE_802_1, &[0, 0, 1])
            .with(
                "cumulative_scaled_rate_offset",
                info.cumulative_scaled_rate_offset,
            )
            .with("gm_time_base_indicator", info.gm_time_base_indicator)
            .with("last_gm_phase_change", to_hex(&info.last_gm_phase_change))
            .with(
                "scaled_last_gm_freq_change",
                info.scaled_last_gm_freq_change,
            ),
        TlvRepr::MessageIntervalRequest(request) => {
            organization(&aptp_wire::OUI_IEEE_802_1, &[0, 0, 2])
                .with("link_delay_interval", request.link_delay_interval)
                .with("time_sync_interval", request.time_sync_interval)
                .with("announce_interval", request.announce_interval)
                .with("flags", request.flags)
        }
        TlvRepr::AppleClockIdentity(apple) => {
            organization(&aptp_wire::airplay::OUI_APPLE, &[0, 0, 4])
                .with("clock_identity", clock_identity_json(&apple.clock_identity))
        }
        TlvRepr::OrganizationExtension(extension) => {
            organization(&extension.organization_id, &extension.organization_sub_type)
                .with("data", to_hex(extension.data))
        }
        TlvRepr::RequestUnicastTransmission(request) => object
            .with("message_type", unicast_type(request.message_type))
            .with("log_inter_message_period", request.log_inter_message_period)
            .with("duration_field", request.duration_field),
        TlvRepr::GrantUnicastTransmission(grant) => object
            .with("message_type", unicast_type(grant.message_type))
            .with("log_inter_message_period", grant.log_inter_message_period)
            .with("duration_field", grant.duration_field)
            .with("renewal_invited", grant.renewal_invited()),
        TlvRepr::CancelUnicastTransmission(cancel)
        | TlvRepr::AcknowledgeCancelUnicastTransmission(cancel) => cancel_fields(cancel),
        TlvRepr::PathTrace(path) => object.with(
            "path_sequence",
            path.iter()
                .map(|identity| clock_identity_json(&identity))
                .collect::<Vec<_>>(),
        ),
        TlvRepr::AlternateTimeOffsetIndicator(indicator) => object
            .with("key_field", indicator.key_field)
            .with("current_offset", indicator.current_offset)
            .with("jump_seconds", indicator.jump_seconds)
            .with("time_of_next_jump", indicator.time_of_next_jump)
            .with(
                "display_name",
                String::from_utf8_lossy(indicator.display_name).into_owned(),
            ),
        // PAD and types without a typed view: the raw value says it all.
        _ => object,
    }
}

fn organization(organization_id: &[u8; 3], organization_sub_type: &[u8; 3]) -> Object {
    Object::new()
        .with("organization_id", to_hex(organization_id))
        .with("organization_sub_type", to_hex(organization_sub_type))
}

fn management_error_status(status: &ManagementErrorStatus<'_>) -> Object {
    let display = status
        .display_text()
        .map(|text| String::from_utf8_lossy(text).into_owned())
        .unwrap_or_default();
    Object::new()
        .with("management_error_id", status.management_error_id.0)
        .with("management_id", status.management_id.0)
        .with("display_data", display)
}

fn cancel_fields(cancel: &CancelUnicastTransmission) -> Object {
    Object::new().with("message_type", unicast_type(cancel.message_type))
}

/// The message type a unicast negotiation TLV is about.
fn unicast_type(message_type: MessageType) -> Json {
    message_type_json(message_type)
}
