//! The engine as a slaveOnly clock following its configured master: arbitrary sequences of
//! datagrams (arbitrary bytes and mutated valid messages), time advancing, timer expiries,
//! transmit timestamps, restarts and faults. Checked after every operation: no panic, every
//! table within its (small, input-chosen) capacity, mapped time monotonic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aptp_fuzz::roles::run_engine(data, false);
});
