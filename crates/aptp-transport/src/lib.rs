//! aptp-transport
