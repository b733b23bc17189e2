//! The engine's only contact with the wire format: strict decoding of what arrives, encoding
//! of what leaves, and conversions between aptp-wire's timestamps and aptp-clock's time.

use aptp_clock::{Time, TimeDelta};
use aptp_wire::{Message, TimeInterval, Timestamp, WireError};

/// Parses and strictly validates one datagram. Validation warnings (a controlField that
/// disagrees with the type, which Apple devices send) are not errors.
pub(crate) fn decode(bytes: &[u8]) -> Result<Message<'_>, WireError> {
    let message = Message::parse(bytes)?;
    message.validate()?;
    Ok(message)
}

/// Encodes a message into a new buffer of exactly its length.
pub(crate) fn encode(message: &Message<'_>) -> Result<Vec<u8>, WireError> {
    let mut bytes = vec![0; message.buffer_len()];
    let written = message.emit(&mut bytes)?;
    bytes.truncate(written);
    Ok(bytes)
}

/// A wire timestamp as a time (validated timestamps always convert).
pub(crate) fn time_of(timestamp: Timestamp) -> Option<Time> {
    Time::from_secs_nanos(timestamp.seconds, timestamp.nanoseconds).ok()
}

/// A correctionField as a duration.
pub(crate) fn correction_of(correction: TimeInterval) -> TimeDelta {
    TimeDelta::from_correction_field(correction.0)
}

/// A time as a wire timestamp (whole nanoseconds) and the sub-nanosecond rest, which belongs
/// in the correctionField. `None` before the epoch or beyond 48-bit seconds.
pub(crate) fn timestamp_of(time: Time) -> Option<(Timestamp, TimeDelta)> {
    let (seconds, nanoseconds) = time.to_secs_nanos()?;
    let timestamp = Timestamp::new(seconds, nanoseconds)?;
    let whole = Time::from_secs_nanos(seconds, nanoseconds).ok()?;
    Some((timestamp, time.since(whole)))
}

/// A duration as a correctionField (saturating at the field's range).
pub(crate) fn correction_field_of(delta: TimeDelta) -> TimeInterval {
    TimeInterval(
        delta
            .to_correction_field()
            .unwrap_or(if delta.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aptp_wire::{ClockIdentity, PortIdentity};

    #[test]
    fn timestamps_round_trip_with_the_fraction_in_the_correction() {
        let time = Time::from_scaled_nanos((1_700_000_000_123_456_789i128 << 16) + 0x8000);
        let (timestamp, rest) = timestamp_of(time).unwrap();
        assert_eq!(
            timestamp,
            Timestamp {
                seconds: 1_700_000_000,
                nanoseconds: 123_456_789
            }
        );
        assert_eq!(rest, TimeDelta::from_correction_field(0x8000));
        assert_eq!(
            time_of(timestamp).unwrap() + correction_of(correction_field_of(rest)),
            time
        );
        assert!(timestamp_of(Time::from_scaled_nanos(-1)).is_none());
    }

    #[test]
    fn encode_then_decode() {
        let me = PortIdentity::new(ClockIdentity([3; 8]), 1);
        let message = Message::delay_req(me, 9, Timestamp::ZERO);
        let bytes = encode(&message).unwrap();
        assert_eq!(bytes.len(), 44);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.header.sequence_id, 9);
        assert!(decode(&bytes[..40]).is_err());
        assert!(decode(&[]).is_err());
    }
}
