//! The AirPlay receiver with two timing peers: arbitrary sequences of datagrams (arbitrary
//! bytes and mutated Apple-style Announce, Sync, Follow_Up, Delay_Resp), time advancing,
//! timer expiries, Delay_Req transmit timestamps, timing-peer changes and measurement
//! restarts. Checked after every operation: no panic, every table within its capacity,
//! mapped time monotonic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aptp_fuzz::roles::run_receiver(data);
});
