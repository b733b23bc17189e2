//! aptp-tests: shared helpers for the end-to-end tests.
pub mod netns;
pub mod tshark;
