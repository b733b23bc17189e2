//! The readable decode: the same fields as the JSON lines, indented, with names and units
//! beside the numbers, and the strict validation's verdict.

use std::io::{self, Write};

use aptp_wire::{
    ClockAccuracy, ClockIdentity, Flags, ManagementAction, ManagementId, Message, TimeInterval,
    TimeSource,
};
use serde_json::Value;

use crate::json::message::message_json;
use crate::json::object::{Json, Object};

const INDENT: &str = "  ";

/// Writes one message: a title line, its fields, and what strict validation says.
pub fn write_message(out: &mut impl Write, title: &str, message: &Message<'_>) -> io::Result<()> {
    writeln!(
        out,
        "{title}: {}, {} bytes",
        message.message_type(),
        message.buffer_len()
    )?;
    write_object(out, &message_json(message), 1)?;
    match message.validate() {
        Ok(validation) if validation.is_clean() => writeln!(out, "{INDENT}validation: ok")?,
        Ok(validation) => {
            for warning in validation.warnings() {
                writeln!(out, "{INDENT}validation: warning: {warning}")?;
            }
        }
        Err(error) => writeln!(out, "{INDENT}validation: error: {error}")?,
    }
    writeln!(out)
}

fn write_object(out: &mut impl Write, object: &Object, depth: usize) -> io::Result<()> {
    let indent = INDENT.repeat(depth);
    for key in object.keys() {
        let Some(value) = object.get(key) else {
            continue;
        };
        if let Some(text) = readable(key, value) {
            writeln!(out, "{indent}{key}: {text}")?;
            continue;
        }
        match value {
            Json::Scalar(scalar) => writeln!(out, "{indent}{key}: {}", scalar_text(scalar))?,
            Json::Object(nested) => {
                writeln!(out, "{indent}{key}:")?;
                write_object(out, nested, depth + 1)?;
            }
            Json::List(items) if items.is_empty() => writeln!(out, "{indent}{key}: none")?,
            Json::List(items) => {
                writeln!(out, "{indent}{key}:")?;
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Json::Object(nested) => {
                            writeln!(out, "{indent}{INDENT}[{index}]")?;
                            write_object(out, nested, depth + 2)?;
                        }
                        Json::Scalar(scalar) => {
                            let text = readable("clock_identity", item)
                                .filter(|_| key == "path_sequence")
                                .unwrap_or_else(|| scalar_text(scalar));
                            writeln!(out, "{indent}{INDENT}- {text}")?;
                        }
                        Json::List(_) => writeln!(out, "{indent}{INDENT}- (list)")?,
                    }
                }
            }
        }
    }
    Ok(())
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A field written the way a person reads it, where that differs from the JSON.
fn readable(key: &str, value: &Json) -> Option<String> {
    let number = |value: &Json| match value {
        Json::Scalar(scalar) => scalar.as_i64(),
        _ => None,
    };
    let field = |object: &Object, name: &str| object.get(name).and_then(number);
    match value {
        Json::Object(object) if key.ends_with("timestamp") => {
            let seconds = field(object, "seconds")?;
            let nanoseconds = field(object, "nanoseconds")?;
            Some(format!("{seconds}.{nanoseconds:09} s"))
        }
        Json::Object(object) if key.ends_with("port_identity") => {
            let clock: ClockIdentity = match object.get("clock_identity")? {
                Json::Scalar(Value::String(text)) => text.parse().ok()?,
                _ => return None,
            };
            let port = field(object, "port_number")?;
            Some(format!("{}-{port}", clock.dotted()))
        }
        Json::Scalar(Value::String(text))
            if key == "clock_identity" || key.ends_with("identity") =>
        {
            let clock: ClockIdentity = text.parse().ok()?;
            Some(clock.dotted().to_string())
        }
        Json::Scalar(_) => {
            let number = number(value)?;
            let byte = u8::try_from(number).ok();
            let word = u16::try_from(number).ok();
            match key {
                "flags" if word == Some(0) => Some("0x0000 (none)".to_owned()),
                "flags" if word.is_some() => {
                    let flags = Flags(word?);
                    Some(format!("{:#06x} ({flags})", flags.0))
                }
                "correction_field" => {
                    let interval = TimeInterval(number);
                    Some(format!("{number} ({} ns)", interval.nanoseconds_f64()))
                }
                "clock_accuracy" => Some(format!("{number:#04x} ({})", ClockAccuracy(byte?))),
                "time_source" => Some(format!("{number:#04x} ({})", TimeSource(byte?))),
                "action_field" => Some(format!("{number} ({})", ManagementAction(byte?))),
                "management_id" => Some(format!("{number:#06x} ({})", ManagementId(word?))),
                "message_type_specific" => Some(format!("{number:#010x}")),
                _ => None,
            }
        }
        _ => None,
    }
}
