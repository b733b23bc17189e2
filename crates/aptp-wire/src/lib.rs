//! # aptp-wire
//!
//! Every PTPv2 (IEEE 1588-2019) message, TLV and timestamp form, AirPlay 2's included:
//! zero-copy [nom] parsers and exact encoders, `#![no_std]`, no allocation.
//!
//! - [`MessageView::new_checked`] checks a message once and reads its fields in place
//!   (smoltcp's view discipline): the receive hot path, with typed views of Sync, Delay_Req,
//!   Follow_Up (and its 802.1AS TLV) and Delay_Resp. [`MessageView::to_message`] gives what
//!   [`Message::parse`] gives.
//! - [`Message::parse`] borrows its input and checks only what it must to find the parts
//!   (header, body, TLV area); [`Message::validate`] is the separate strict step. Unknown
//!   message types, TLV types and code points are kept, so that [`Message::emit`] of a parsed
//!   message reproduces the input byte for byte.
//! - [`Message`]'s constructors ([`Message::sync`], [`Message::delay_req`], ...) make
//!   consistent messages: messageLength, controlField and flags follow from the type.
//! - TLVs are iterated lazily from [`Message::tlvs`]; [`Tlv::decode`] gives typed views
//!   ([`TlvRepr`]) that also encode, and [`TlvBuf`] builds a TLV area without allocating.
//! - [`airplay`] has Apple's forms: its organization-extension TLVs, the 48.16 compact
//!   timestamp, the compact timing packet, AirPlay 1's NTP-style timing packets, and builders
//!   for a Follow_Up and an Announce like a real Apple device sends.
//!
//! ```
//! use aptp_wire::{Body, ClockIdentity, Message, PortIdentity, Timestamp};
//!
//! // A two-step Sync as a grandmaster sends it (majorSdoId 1, domain 0, sequenceId 0x1234).
//! let bytes = [
//!     0x10, 0x02, 0x00, 0x2c, 0x00, 0x00, 0x02, 0x08, // header: Sync, v2, 44 bytes, twoStep|ptpTimescale
//!     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // correctionField
//!     0x00, 0x00, 0x00, 0x00, // messageTypeSpecific
//!     0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01, // sourcePortIdentity
//!     0x12, 0x34, 0x00, 0x00, // sequenceId, controlField 0, logMessageInterval 0
//!     0x00, 0x00, 0x65, 0x5f, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x07, // originTimestamp
//! ];
//! let sync = Message::parse(&bytes)?;
//! assert_eq!(sync.header.sequence_id, 0x1234);
//! assert!(sync.header.flags.two_step());
//! let Body::Sync { origin_timestamp } = sync.body else { panic!("not a Sync") };
//! assert_eq!(origin_timestamp, Timestamp { seconds: 0x655f_0a00, nanoseconds: 7 });
//! sync.validate()?;
//!
//! // The slave answers with a Delay_Req.
//! let me = PortIdentity::new("aabbcc.fffe.ddeeff".parse::<ClockIdentity>()?, 1);
//! let delay_req = Message::delay_req(me, 1, Timestamp::ZERO).with_major_sdo_id(1);
//! let mut out = [0u8; 64];
//! let len = delay_req.emit(&mut out)?;
//! assert_eq!(len, 44);
//! assert_eq!(out[0], 0x11); // majorSdoId 1, messageType Delay_Req
//! assert_eq!(out[32], 1); // controlField for Delay_Req
//! assert_eq!(out[33], 0x7f); // logMessageInterval: not applicable
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `std` (default) enables the `std` features of nom, thiserror and bytes; without
//! it the crate builds as `no_std` (`cargo build -p aptp-wire --no-default-features`).
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod airplay;
mod body;
mod build;
mod codes;
mod error;
pub mod field;
mod flags;
mod header;
mod identity;
mod message;
mod parse;
mod time;
mod tlv;
mod validate;
mod view;

pub use body::{AnnounceBody, Body, ClockQuality, ManagementBody};
pub use codes::{
    ClockAccuracy, ManagementAction, ManagementErrorId, ManagementId, MessageType, TimeSource,
    TlvType,
};
pub use error::{ErrorKind, WireError};
pub use flags::Flags;
pub use header::Header;
pub use identity::{ClockIdentity, DottedClockIdentity, ParseClockIdentityError, PortIdentity};
pub use message::Message;
pub use time::{NtpTimestamp, TimeInterval, TimeRangeError, Timestamp, NANOSECONDS_PER_SECOND};
pub use tlv::{
    AlternateTimeOffsetIndicator, CancelUnicastTransmission, FollowUpInformation,
    GrantUnicastTransmission, ManagementErrorStatus, ManagementTlv, MessageIntervalRequest,
    OrganizationExtension, PathTrace, RequestUnicastTransmission, Tlv, TlvBuf, TlvRepr, Tlvs,
    OUI_IEEE_802_1,
};
pub use validate::{Validation, Warning};
pub use view::{
    BodyView, DelayReqView, DelayRespView, FollowUpInformationView, FollowUpView, MessageView,
    SyncView,
};

/// The README's examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
