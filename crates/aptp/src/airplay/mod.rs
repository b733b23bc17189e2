//! AirPlay 2 timing: the receiver (follower) and sender (grandmaster) roles, the audio
//! scheduling API, AirPlay 1's NTP-style timing, and a group simulator.
//!
//! Every role is sans-IO in the shape of the [`engine`](crate::engine): each call takes `now`
//! (an instant of the caller's local clock), datagrams come in with their receive timestamps,
//! and the role answers with datagrams to send ([`Transmit`](crate::engine::Transmit)), the
//! instant it wants to wake, and events. [`runtime`] drives them on tokio over
//! `aptp-transport`.
//!
//! - [`AirplayReceiver`]: follows the grandmaster its timing peers elect (BMCA over their
//!   Announces), one way from Sync/Follow_Up (the Sync's receive timestamp) or two way when the
//!   grandmaster answers Delay_Req, and exposes the grandmaster identity, the mapping with its
//!   rate, the mastership start and an error bound.
//! - [`PlaybackSchedule`]: SETRATEANCHORTIME's anchor to "when does RTP frame n play here".
//! - [`AirplaySender`]: serves the AirPlay profile to a list of peers (unicast Sync, then that
//!   peer's Follow_Up at once, 8 Hz, Announce first, Delay_Resp to anyone).
//! - [`NtpTimingClient`] and [`NtpTimingResponder`]: AirPlay 1's 0xD2/0xD3 exchange, giving
//!   the same [`ClockMapping`](aptp_clock::ClockMapping); on tokio,
//!   [`runtime::NtpTimingDriver`].
//! - [`group_sim`]: one sender and N receivers in virtual time, measuring the inter-receiver
//!   skew against aptp-clock's Wi-Fi path models.
//!
//! ```
//! use aptp::airplay::{AirplayReceiver, AirplaySender, ReceiverConfig, SenderConfig};
//! use aptp::engine::{Destination, PortKind};
//! use aptp_clock::Time;
//! use aptp_wire::ClockIdentity;
//!
//! let start = Time::from_secs_nanos(1_000, 0).unwrap();
//! let mut sender: AirplaySender<u8> = AirplaySender::new(SenderConfig::new(ClockIdentity([1; 8])), start).unwrap();
//! let mut receiver: AirplayReceiver<u8> = AirplayReceiver::new(ReceiverConfig::new(ClockIdentity([2; 8])), start).unwrap();
//! sender.set_peers([2]);
//! receiver.set_timing_peers(start, [1]);
//! // Same clock on both sides, zero delay: deliver everything at once for two seconds.
//! let mut now = start;
//! while now < start + aptp_clock::TimeDelta::from_secs(2) {
//!     sender.handle_timeout(now);
//!     while let Some(transmit) = sender.poll_transmit(now) {
//!         if let Some(token) = transmit.timestamp_token {
//!             sender.handle_transmit_timestamp(now, token, now);
//!         }
//!         receiver.handle_datagram(now, &transmit.bytes, 1, transmit.port, now);
//!     }
//!     receiver.handle_timeout(now);
//!     while receiver.poll_transmit(now).is_some() {}
//!     now = now + aptp_clock::TimeDelta::from_millis(5);
//! }
//! let status = receiver.status(now);
//! assert_eq!(status.grandmaster.unwrap().identity, ClockIdentity([1; 8]));
//! assert!(status.offset_ns.unwrap().abs() < 1_000);
//! ```

mod election;
mod events;
pub mod group_sim;
mod ntp;
mod ntp_runtime;
mod receiver;
pub mod runtime;
mod schedule;
mod sender;
mod wire_time;

pub use election::GrandmasterInfo;
pub use events::{ReceiverCounters, ReceiverEvent, ReceiverStatus};
pub use ntp::{NtpTimingClient, NtpTimingError, NtpTimingResponder};
pub use receiver::{AirplayReceiver, ReceiverConfig, ReceiverConfigError};
pub use schedule::{PlaybackRate, PlaybackSchedule, RateAnchor, ScheduleError};
pub use sender::{AirplaySender, SenderConfig, SenderConfigError, SenderCounters};
pub use wire_time::{network_time_of, time_of_network_time};
