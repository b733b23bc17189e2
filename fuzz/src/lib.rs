//! Checks shared by the fuzz targets in `fuzz_targets/`: each one panics (which libFuzzer
//! reports as a crash) when aptp-wire breaks one of its promises on the given bytes.
//!
//! The promises checked:
//! - parsing any bytes returns a value or a typed error whose offset lies within the input;
//! - parse → emit reproduces the input exactly (`emit` and `emit_buf` alike), and a buffer one
//!   byte short is refused with an error;
//! - a decoded TLV emits back to its original bytes, and decoding that again gives the same
//!   typed value (repr → emit → decode is the identity).

use aptp_wire::{Message, Tlv, TlvRepr, Tlvs, WireError};

/// Panics unless `error` points inside (or just past) an input of `len` bytes.
pub fn check_offset(error: &WireError, len: usize, what: &str) {
    assert!(
        error.offset <= len,
        "{what}: error offset {} beyond the {len}-byte input: {error:?}",
        error.offset
    );
}

/// Parses `data` as a message and exercises everything a receiver would call on it:
/// strict validation, the header parser, the body accessors, every TLV and its typed view.
/// Returns the parsed message (if any) for further checks.
pub fn check_message(data: &[u8]) -> Option<Message<'_>> {
    let message = match Message::parse(data) {
        Ok(message) => message,
        Err(error) => {
            check_offset(&error, data.len(), "Message::parse");
            return None;
        }
    };
    // The header parser alone agrees with the message's header.
    let header = aptp_wire::Header::parse(data).expect("Message::parse succeeded on these bytes");
    assert_eq!(
        header, message.header,
        "Header::parse disagrees with Message::parse"
    );
    assert_eq!(
        message.message_length(),
        usize::from(message.header.message_length),
        "a parsed message's parts must add up to messageLength"
    );
    assert_eq!(
        message.buffer_len(),
        data.len(),
        "parse must account for every input byte"
    );

    match message.validate() {
        Ok(validation) => {
            // A valid message has a well-formed TLV area and a known type.
            assert_eq!(Some(validation.tlv_count), message.tlvs.validate().ok());
            assert!(message.header.message_type.is_known());
            assert_eq!(validation.trailing_bytes, message.suffix.len());
        }
        Err(error) => check_offset(&error, data.len(), "Message::validate"),
    }
    let _ = message.body.timestamp();
    let _ = message.body.requesting_port_identity();
    let _ = message.body.message_type();
    let _ = message.header.flags.two_step();
    let _ = format!("{message:?} {}", message.header.source_port_identity);

    check_tlvs(message.tlvs, usize::from(message.header.message_length));
    Some(message)
}

/// Walks a TLV area: every TLV the iterator yields lies within it and decodes or fails
/// with a typed error; each decoded TLV passes [`check_tlv_round_trip`]. `end` is the offset
/// the area ends at (messageLength for a message's TLVs).
pub fn check_tlvs(tlvs: Tlvs<'_>, end: usize) {
    let mut consumed = 0;
    let area_len = tlvs.len();
    let counted = tlvs.validate();
    let mut yielded = 0;
    let mut failed = false;
    for item in tlvs {
        match item {
            Ok(tlv) => {
                assert!(!failed, "the TLV iterator must stop after its first error");
                assert_eq!(
                    tlv.length_field() % 2,
                    0,
                    "the iterator let an odd length through"
                );
                consumed += tlv.buffer_len();
                assert!(consumed <= area_len, "a TLV reaches beyond the TLV area");
                yielded += 1;
                check_tlv_round_trip(tlv);
            }
            Err(error) => {
                assert!(!failed, "the TLV iterator yielded two errors");
                failed = true;
                check_offset(&error, end, "Tlvs::next");
            }
        }
    }
    match counted {
        Ok(count) => {
            assert!(
                !failed,
                "Tlvs::validate accepted an area the iterator rejects"
            );
            assert_eq!(count, yielded);
            assert_eq!(
                consumed, area_len,
                "well-formed TLVs must add up to the area"
            );
        }
        Err(_) => assert!(
            failed,
            "Tlvs::validate rejected an area the iterator accepts"
        ),
    }
}

/// For one raw TLV: its decode succeeds or fails with a typed error; a decoded TLV emits back
/// to exactly the raw TLV's bytes, and decoding those gives the same typed value.
pub fn check_tlv_round_trip(tlv: Tlv<'_>) {
    let mut raw = vec![0u8; tlv.buffer_len()];
    let raw_len = match tlv.emit(&mut raw) {
        Ok(len) => len,
        Err(_) => {
            // Only a value longer than 65535 bytes cannot be written.
            assert!(
                tlv.value.len() > usize::from(u16::MAX),
                "Tlv::emit refused {tlv:?}"
            );
            return;
        }
    };
    assert_eq!(raw_len, raw.len());

    let repr = match tlv.decode() {
        Ok(repr) => repr,
        Err(error) => {
            check_offset(&error, tlv.buffer_len(), "Tlv::decode");
            return;
        }
    };
    assert_eq!(repr.tlv_type(), tlv.tlv_type, "decode changed the tlvType");
    assert_eq!(
        repr.length_field(),
        tlv.length_field(),
        "decode changed the length"
    );
    assert_eq!(repr.buffer_len(), tlv.buffer_len());

    let mut out = vec![0u8; repr.buffer_len()];
    match repr.emit(&mut out) {
        Ok(len) => {
            assert_eq!(len, raw_len);
            assert_eq!(
                out, raw,
                "TlvRepr::emit did not reproduce the TLV's bytes: {repr:?}"
            );
        }
        // An odd value length is kept by decode but refused by the typed encoder.
        Err(error) => {
            assert!(
                tlv.length_field() % 2 == 1,
                "TlvRepr::emit refused a decoded even-length TLV {repr:?}: {error:?}"
            );
            return;
        }
    }
    if let Some(short) = out.len().checked_sub(1) {
        assert!(
            repr.emit(&mut vec![0u8; short]).is_err(),
            "emit into a short buffer"
        );
    }

    let again = Tlv {
        tlv_type: repr.tlv_type(),
        value: &out[4..],
    };
    let decoded = TlvRepr::decode(again).expect("the emitted TLV decodes");
    assert_eq!(decoded, repr, "repr → emit → decode is not the identity");
}

/// parse → emit reproduces `data` exactly, through both encoders, and parsing the output
/// gives the same message.
pub fn check_message_round_trip(data: &[u8]) {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let len = message.buffer_len();
    assert_eq!(len, data.len());

    let mut out = vec![0u8; len];
    let written = message.emit(&mut out).expect("emit of a parsed message");
    assert_eq!(written, len);
    assert_eq!(out, data, "parse → emit did not reproduce the input");

    // A larger buffer: the same bytes, nothing written past them.
    let mut roomy = vec![0xA5u8; len + 16];
    assert_eq!(message.emit(&mut roomy), Ok(len));
    assert_eq!(&roomy[..len], data);
    assert!(
        roomy[len..].iter().all(|&b| b == 0xA5),
        "emit wrote past its length"
    );

    // One byte short: an error, never a panic or a partial success.
    if len > 0 {
        assert!(message.emit(&mut out[..len - 1]).is_err());
    }

    let mut buf = Vec::with_capacity(len);
    assert_eq!(message.emit_buf(&mut buf), Ok(len));
    assert_eq!(buf, data, "parse → emit_buf did not reproduce the input");

    let reparsed = Message::parse(&out).expect("emitted bytes parse");
    assert_eq!(
        reparsed, message,
        "parse → emit → parse is not the identity"
    );
}

pub mod roles;
