//! Where messages come from: hex lines, or PTP payloads found in pcap/pcapng captures.

pub mod capture;
pub mod frame;
pub mod hex;
