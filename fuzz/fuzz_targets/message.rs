//! `Message::parse` on any bytes, then everything a receiver calls on the result:
//! `validate`, `Header::parse`, the body accessors, the TLV iterator and every TLV's typed
//! view (each decoded TLV re-encoded and decoded again).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aptp_fuzz::check_message(data);
});
