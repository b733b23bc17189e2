//! aptp
