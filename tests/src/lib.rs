//! aptp-tests: shared helpers for the end-to-end tests.
pub mod netns;
pub mod procs;
pub mod tshark;
