//! The AirPlay sender (grandmaster) with two peers: arbitrary sequences of datagrams
//! (Delay_Req floods, junk), time advancing, timer expiries, Sync transmit timestamps (some
//! never), peer-list changes, a caller polling only a few datagrams at a time. Checked after
//! every operation: no panic, its peer list and response queue within their capacities,
//! every datagram it sends a valid message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aptp_fuzz::roles::run_sender(data);
});
