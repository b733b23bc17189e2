//! parse → emit reproduces the input exactly whenever `Message::parse` succeeds (through
//! `emit` into a slice and `emit_buf` into a `BufMut`), and parse → emit → parse is the
//! identity; for every decoded TLV, repr → emit → decode is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aptp_fuzz::check_message_round_trip(data);
    if let Ok(message) = aptp_wire::Message::parse(data) {
        for tlv in message.tlvs.map_while(Result::ok) {
            aptp_fuzz::check_tlv_round_trip(tlv);
        }
    }
});
