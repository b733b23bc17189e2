//! aptp-wire
#![no_std]
