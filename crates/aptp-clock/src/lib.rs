//! aptp-clock
#![no_std]
