//! The JSON lines of `aptp decode --json` and their way back in `aptp encode`.

pub mod from_json;
pub mod message;
pub mod object;
pub mod tlv;

#[cfg(test)]
mod round_trip_tests;
