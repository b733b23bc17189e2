//! JSON lines of `aptp decode --json` back to the message's bytes, exactly.
//!
//! Every field is read back (nothing is guessed), so that editing a field and encoding gives
//! the message with that field changed. `message_length` and a TLV's `length_field` may be
//! left out (they are then computed). TLVs are written from their raw `value`; their typed
//! fields, when present, must agree with it (an edit to a typed field alone would otherwise be
//! lost silently). Unknown keys are refused, so that a misspelt key is not ignored.

use aptp_wire::{
    AnnounceBody, Body, ClockAccuracy, ClockIdentity, ClockQuality, Flags, Header,
    ManagementAction, ManagementBody, Message, MessageType, PortIdentity, TimeInterval, TimeSource,
    Timestamp, Tlv, TlvType, Tlvs, WireError,
};
use serde_json::{Map, Value};

use super::tlv::tlv_json;
use crate::input::hex::parse_hex;

/// Why a JSON line could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The line is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// The line is an `{"error", "offset"}` object from `aptp decode`: there is no message.
    #[error("the line is a decode error ({0}), not a message")]
    ErrorLine(String),
    /// A key the message needs is absent.
    #[error("missing key `{0}`")]
    Missing(String),
    /// A key holds a value of the wrong kind or range.
    #[error("`{key}`: expected {expected}")]
    BadValue {
        /// The key (with its path, e.g. `source_port_identity.port_number`).
        key: String,
        /// What it should hold.
        expected: String,
    },
    /// A key that no message of this type has.
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    /// A TLV's typed field disagrees with its raw value.
    #[error("`{key}` is {found} but the TLV's value says {expected}")]
    TypedMismatch {
        /// The key (with its path).
        key: String,
        /// The value in the line.
        found: Value,
        /// The value the raw bytes decode to.
        expected: Value,
    },
    /// aptp-wire refused to encode the message (e.g. message_length disagrees with the parts).
    #[error("cannot encode: {0}")]
    Wire(#[from] WireError),
}

/// The bytes of the message described by one JSON line.
pub fn encode_line(line: &str) -> Result<Vec<u8>, EncodeError> {
    let value: Value = serde_json::from_str(line)?;
    encode_value(&value)
}

/// The bytes of the message described by a JSON value.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let fields = Fields::new(value, "")?;
    if fields.object.contains_key("error") && !fields.object.contains_key("message_type") {
        let reason = fields.object["error"]
            .as_str()
            .map_or_else(|| fields.object["error"].to_string(), str::to_owned);
        return Err(EncodeError::ErrorLine(reason));
    }
    let message_type = message_type(&fields, "message_type")?;
    let (body, body_keys, unknown_body) = body(&fields, message_type)?;
    let mut allowed = HEADER_KEYS.to_vec();
    allowed.extend_from_slice(body_keys);
    allowed.extend_from_slice(&["tlvs", "tlv_error", "suffix"]);
    fields.only(&allowed)?;

    let mut tlv_area = tlv_area(&fields)?;
    if let Some(error) = fields.optional("tlv_error") {
        let error = Fields::new(error, "tlv_error")?;
        error.only(&["error", "offset", "bytes"])?;
        tlv_area.extend(error.hex("bytes")?);
    }
    let suffix = match fields.optional("suffix") {
        Some(_) => fields.hex("suffix")?,
        None => Vec::new(),
    };
    let body = match &body {
        BodyFields::Known(body) => *body,
        BodyFields::Unknown => Body::Unknown {
            bytes: &unknown_body,
        },
    };
    let computed_length = Header::LENGTH + body.len() + tlv_area.len();
    let message_length = match fields.optional("message_length") {
        Some(_) => fields.uint("message_length")?,
        None => u16::try_from(computed_length).map_err(|_| {
            aptp_wire::ErrorKind::MessageTooLong {
                length: computed_length,
            }
            .at(aptp_wire::field::header::MESSAGE_LENGTH.start)
        })?,
    };
    let header = Header {
        major_sdo_id: fields.uint("major_sdo_id")?,
        message_type,
        minor_version_ptp: fields.uint("minor_version_ptp")?,
        version_ptp: fields.uint("version_ptp")?,
        message_length,
        domain_number: fields.uint("domain_number")?,
        minor_sdo_id: fields.uint("minor_sdo_id")?,
        flags: Flags(fields.uint("flags")?),
        correction_field: TimeInterval(fields.int("correction_field")?),
        message_type_specific: fields.uint("message_type_specific")?,
        source_port_identity: port_identity(&fields, "source_port_identity")?,
        sequence_id: fields.uint("sequence_id")?,
        control_field: fields.uint("control_field")?,
        log_message_interval: fields.int("log_message_interval")?,
    };
    let message = Message {
        header,
        body,
        tlvs: Tlvs::new(&tlv_area),
        suffix: &suffix,
    };
    let mut bytes = vec![0; message.buffer_len()];
    let written = message.emit(&mut bytes)?;
    bytes.truncate(written);
    Ok(bytes)
}

/// The header's keys, always present in a message line.
const HEADER_KEYS: [&str; 14] = [
    "message_type",
    "major_sdo_id",
    "minor_version_ptp",
    "version_ptp",
    "message_length",
    "domain_number",
    "minor_sdo_id",
    "flags",
    "correction_field",
    "message_type_specific",
    "source_port_identity",
    "sequence_id",
    "control_field",
    "log_message_interval",
];

/// A body read from the line; an unknown type's bytes are returned beside it.
enum BodyFields<'a> {
    Known(Body<'a>),
    Unknown,
}

type BodyRead = (BodyFields<'static>, &'static [&'static str], Vec<u8>);

fn body(fields: &Fields<'_>, message_type: MessageType) -> Result<BodyRead, EncodeError> {
    let known = |body: Body<'static>, keys: &'static [&'static str]| {
        Ok((BodyFields::Known(body), keys, Vec::new()))
    };
    match message_type {
        MessageType::SYNC => known(
            Body::Sync {
                origin_timestamp: timestamp(fields, "origin_timestamp")?,
            },
            &["origin_timestamp"],
        ),
        MessageType::DELAY_REQ => known(
            Body::DelayReq {
                origin_timestamp: timestamp(fields, "origin_timestamp")?,
            },
            &["origin_timestamp"],
        ),
        MessageType::FOLLOW_UP => known(
            Body::FollowUp {
                precise_origin_timestamp: timestamp(fields, "precise_origin_timestamp")?,
            },
            &["precise_origin_timestamp"],
        ),
        MessageType::PDELAY_REQ => {
            let mut reserved = [0u8; 10];
            if fields.optional("reserved").is_some() {
                let bytes = fields.hex("reserved")?;
                reserved = bytes
                    .try_into()
                    .map_err(|_| fields.bad("reserved", "10 bytes in hex"))?;
            }
            known(
                Body::PdelayReq {
                    origin_timestamp: timestamp(fields, "origin_timestamp")?,
                    reserved,
                },
                &["origin_timestamp", "reserved"],
            )
        }
        MessageType::PDELAY_RESP => known(
            Body::PdelayResp {
                request_receipt_timestamp: timestamp(fields, "request_receipt_timestamp")?,
                requesting_port_identity: port_identity(fields, "requesting_port_identity")?,
            },
            &["request_receipt_timestamp", "requesting_port_identity"],
        ),
        MessageType::DELAY_RESP => known(
            Body::DelayResp {
                receive_timestamp: timestamp(fields, "receive_timestamp")?,
                requesting_port_identity: port_identity(fields, "requesting_port_identity")?,
            },
            &["receive_timestamp", "requesting_port_identity"],
        ),
        MessageType::PDELAY_RESP_FOLLOW_UP => known(
            Body::PdelayRespFollowUp {
                response_origin_timestamp: timestamp(fields, "response_origin_timestamp")?,
                requesting_port_identity: port_identity(fields, "requesting_port_identity")?,
            },
            &["response_origin_timestamp", "requesting_port_identity"],
        ),
        MessageType::ANNOUNCE => known(Body::Announce(announce(fields)?), &ANNOUNCE_KEYS),
        MessageType::SIGNALING => known(
            Body::Signaling {
                target_port_identity: port_identity(fields, "target_port_identity")?,
            },
            &["target_port_identity"],
        ),
        MessageType::MANAGEMENT => known(
            Body::Management(ManagementBody {
                target_port_identity: port_identity(fields, "target_port_identity")?,
                starting_boundary_hops: fields.uint("starting_boundary_hops")?,
                boundary_hops: fields.uint("boundary_hops")?,
                action_field: ManagementAction(fields.uint("action_field")?),
                action_reserved: fields.uint_or_zero("action_reserved")?,
                reserved: fields.uint_or_zero("reserved")?,
            }),
            &[
                "target_port_identity",
                "starting_boundary_hops",
                "boundary_hops",
                "action_reserved",
                "action_field",
                "reserved",
            ],
        ),
        _ => Ok((BodyFields::Unknown, &["body"], fields.hex("body")?)),
    }
}

const ANNOUNCE_KEYS: [&str; 9] = [
    "origin_timestamp",
    "current_utc_offset",
    "reserved",
    "grandmaster_priority1",
    "grandmaster_clock_quality",
    "grandmaster_priority2",
    "grandmaster_identity",
    "steps_removed",
    "time_source",
];

fn announce(fields: &Fields<'_>) -> Result<AnnounceBody, EncodeError> {
    let quality = fields.nested("grandmaster_clock_quality")?;
    quality.only(&[
        "clock_class",
        "clock_accuracy",
        "offset_scaled_log_variance",
    ])?;
    Ok(AnnounceBody {
        origin_timestamp: timestamp(fields, "origin_timestamp")?,
        current_utc_offset: fields.int("current_utc_offset")?,
        reserved: fields.uint_or_zero("reserved")?,
        grandmaster_priority1: fields.uint("grandmaster_priority1")?,
        grandmaster_clock_quality: ClockQuality {
            clock_class: quality.uint("clock_class")?,
            clock_accuracy: ClockAccuracy(quality.uint("clock_accuracy")?),
            offset_scaled_log_variance: quality.uint("offset_scaled_log_variance")?,
        },
        grandmaster_priority2: fields.uint("grandmaster_priority2")?,
        grandmaster_identity: clock_identity(fields, "grandmaster_identity")?,
        steps_removed: fields.uint("steps_removed")?,
        time_source: TimeSource(fields.uint("time_source")?),
    })
}

/// The TLV area: each TLV of `tlvs` written from its type and raw value.
fn tlv_area(fields: &Fields<'_>) -> Result<Vec<u8>, EncodeError> {
    let list = match fields.value("tlvs")? {
        Value::Array(list) => list,
        _ => return Err(fields.bad("tlvs", "a list of TLV objects")),
    };
    let mut area = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let path = format!("tlvs[{index}]");
        let tlv = Fields::new(item, &path)?;
        let tlv_type = tlv_type(&tlv, "tlv_type")?;
        let value = tlv.hex("value")?;
        let length_field =
            u16::try_from(value.len()).map_err(|_| tlv.bad("value", "at most 65535 bytes"))?;
        if tlv.optional("length_field").is_some()
            && tlv.uint::<u16>("length_field")? != length_field
        {
            return Err(tlv.bad(
                "length_field",
                &format!("{length_field}, the value's length"),
            ));
        }
        let regenerated = tlv_json(Tlv {
            tlv_type,
            value: &value,
        })
        .to_value();
        for (key, found) in tlv.object {
            match regenerated.get(key) {
                None => return Err(EncodeError::UnknownKey(tlv.path(key))),
                Some(expected) if key != "tlv_type" && expected != found => {
                    return Err(EncodeError::TypedMismatch {
                        key: tlv.path(key),
                        found: found.clone(),
                        expected: expected.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        area.extend_from_slice(&tlv_type.0.to_be_bytes());
        area.extend_from_slice(&length_field.to_be_bytes());
        area.extend_from_slice(&value);
    }
    Ok(area)
}

fn message_type(fields: &Fields<'_>, key: &str) -> Result<MessageType, EncodeError> {
    let expected = "a message type name (\"sync\", ...) or a number 0..=15";
    match fields.value(key)? {
        Value::String(name) => MessageType::KNOWN
            .iter()
            .copied()
            .find(|known| known.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .ok_or_else(|| fields.bad(key, expected)),
        Value::Number(_) => {
            let number: u8 = fields.uint(key)?;
            if number > 0x0f {
                return Err(fields.bad(key, expected));
            }
            Ok(MessageType(number))
        }
        _ => Err(fields.bad(key, expected)),
    }
}

fn tlv_type(fields: &Fields<'_>, key: &str) -> Result<TlvType, EncodeError> {
    let expected = "a TLV type name (\"organization_extension\", ...) or a number";
    match fields.value(key)? {
        Value::String(name) => TlvType::KNOWN
            .iter()
            .copied()
            .find(|known| known.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .ok_or_else(|| fields.bad(key, expected)),
        Value::Number(_) => Ok(TlvType(fields.uint(key)?)),
        _ => Err(fields.bad(key, expected)),
    }
}

fn timestamp(fields: &Fields<'_>, key: &str) -> Result<Timestamp, EncodeError> {
    let timestamp = fields.nested(key)?;
    timestamp.only(&["seconds", "nanoseconds"])?;
    // Taken as written: out-of-range nanoseconds round-trip (validation is decode's job).
    Ok(Timestamp {
        seconds: timestamp.uint("seconds")?,
        nanoseconds: timestamp.uint("nanoseconds")?,
    })
}

fn clock_identity(fields: &Fields<'_>, key: &str) -> Result<ClockIdentity, EncodeError> {
    fields
        .value(key)?
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| fields.bad(key, "16 hex digits or 001122.fffe.334455"))
}

fn port_identity(fields: &Fields<'_>, key: &str) -> Result<PortIdentity, EncodeError> {
    let port = fields.nested(key)?;
    port.only(&["clock_identity", "port_number"])?;
    Ok(PortIdentity::new(
        clock_identity(&port, "clock_identity")?,
        port.uint("port_number")?,
    ))
}

/// One JSON object being read, with its path for error messages.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn new(value: &'a Value, path: &str) -> Result<Self, EncodeError> {
        match value {
            Value::Object(object) => Ok(Fields {
                object,
                prefix: if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}.")
                },
            }),
            _ if path.is_empty() => Err(EncodeError::BadValue {
                key: "(line)".to_owned(),
                expected: "a JSON object".to_owned(),
            }),
            _ => Err(EncodeError::BadValue {
                key: path.to_owned(),
                expected: "an object".to_owned(),
            }),
        }
    }

    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn bad(&self, key: &str, expected: &str) -> EncodeError {
        EncodeError::BadValue {
            key: self.path(key),
            expected: expected.to_owned(),
        }
    }

    fn optional(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key)
    }

    fn value(&self, key: &str) -> Result<&'a Value, EncodeError> {
        self.object
            .get(key)
            .ok_or_else(|| EncodeError::Missing(self.path(key)))
    }

    fn nested(&self, key: &str) -> Result<Fields<'a>, EncodeError> {
        Fields::new(self.value(key)?, &self.path(key))
    }

    fn uint<T: TryFrom<u64>>(&self, key: &str) -> Result<T, EncodeError> {
        self.value(key)?
            .as_u64()
            .and_then(|number| T::try_from(number).ok())
            .ok_or_else(|| {
                self.bad(
                    key,
                    &format!("an unsigned integer of {}", type_range::<T>()),
                )
            })
    }

    fn uint_or_zero<T: TryFrom<u64> + Default>(&self, key: &str) -> Result<T, EncodeError> {
        match self.optional(key) {
            Some(_) => self.uint(key),
            None => Ok(T::default()),
        }
    }

    fn int<T: TryFrom<i64>>(&self, key: &str) -> Result<T, EncodeError> {
        self.value(key)?
            .as_i64()
            .and_then(|number| T::try_from(number).ok())
            .ok_or_else(|| self.bad(key, &format!("an integer of {}", type_range::<T>())))
    }

    fn hex(&self, key: &str) -> Result<Vec<u8>, EncodeError> {
        let text = self
            .value(key)?
            .as_str()
            .ok_or_else(|| self.bad(key, "a string of hex digits"))?;
        parse_hex(text).map_err(|error| self.bad(key, &format!("hex digits ({error})")))
    }

    /// Refuses any key not in `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), EncodeError> {
        match self
            .object
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
        {
            Some(key) => Err(EncodeError::UnknownKey(self.path(key))),
            None => Ok(()),
        }
    }
}

/// The name of an integer type's size, for error messages ("u16").
fn type_range<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}
