//! Small facts about a session's role for the PTP task: its drop counters by name, a fresh
//! clock identity.

use std::collections::BTreeMap;

use aptp::airplay::ReceiverCounters;
use aptp_wire::ClockIdentity;

/// A receiver's drop counters, by reason, as `status` shows them.
pub(super) fn receiver_drops(counters: &ReceiverCounters) -> BTreeMap<String, u64> {
    BTreeMap::from([
        ("not_a_peer".to_owned(), counters.not_a_peer),
        ("malformed".to_owned(), counters.malformed),
        ("wrong_domain".to_owned(), counters.wrong_domain),
        ("from_self".to_owned(), counters.from_self),
        (
            "not_from_grandmaster".to_owned(),
            counters.not_from_grandmaster,
        ),
        ("unmatched".to_owned(), counters.unmatched),
        ("duplicate".to_owned(), counters.duplicate),
        ("not_used".to_owned(), counters.not_used),
        ("events_lost".to_owned(), counters.events_lost),
    ])
}

/// A random locally administered clock identity for a new session's role.
pub(super) fn random_identity() -> ClockIdentity {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut bytes));
    if read.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(0);
        bytes = (nanos ^ (u64::from(std::process::id()) << 32)).to_be_bytes();
    }
    bytes[0] = (bytes[0] | 0x02) & !0x01;
    ClockIdentity(bytes)
}
