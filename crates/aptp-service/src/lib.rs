//! aptp-service
