//! The engine as a master (priority1 1) serving unicast peers: arbitrary sequences of
//! datagrams (Delay_Req, Pdelay_Req, Announces of better and worse masters, junk), time
//! advancing, timer expiries, transmit timestamps, peer-list changes, restarts and faults.
//! Checked after every operation: no panic, every table within its capacity, mapped time
//! monotonic whenever a better master makes it follow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aptp_fuzz::roles::run_engine(data, true);
});
