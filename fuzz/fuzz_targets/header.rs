//! `Header::parse` on any bytes: an error for fewer than 34 bytes, otherwise a header whose
//! `to_bytes` gives back the first 34 input bytes exactly.
#![no_main]

use aptp_wire::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Header::parse(data) {
        Ok(header) => {
            assert!(data.len() >= Header::LENGTH);
            let bytes = header.to_bytes().expect("a parsed header encodes");
            assert_eq!(
                &bytes[..],
                &data[..Header::LENGTH],
                "Header parse → to_bytes"
            );
        }
        Err(error) => {
            assert!(
                data.len() < Header::LENGTH,
                "Header::parse rejected 34+ bytes: {error:?}"
            );
            aptp_fuzz::check_offset(&error, data.len(), "Header::parse");
        }
    }
});
