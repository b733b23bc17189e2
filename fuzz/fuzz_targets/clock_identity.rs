//! `ClockIdentity`'s `FromStr` on any string: an error, or an identity whose two printed
//! forms (16 hex digits, linuxptp's dotted form) parse back to it and, up to letter case,
//! are the input.
#![no_main]

use aptp_wire::ClockIdentity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<ClockIdentity>() {
        let plain = id.to_string();
        let dotted = id.dotted().to_string();
        assert!(
            plain.eq_ignore_ascii_case(text) || dotted.eq_ignore_ascii_case(text),
            "{text:?} parsed to {plain}"
        );
        assert_eq!(plain.parse::<ClockIdentity>(), Ok(id));
        assert_eq!(dotted.parse::<ClockIdentity>(), Ok(id));
    }
});
