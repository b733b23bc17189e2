//! The tokio glue: a [`Node`] drives the sans-IO [`Engine`](crate::engine::Engine) over an
//! [`aptp_transport::PtpSocket`].
//!
//! The driver task only moves things: each received datagram with its kernel receive
//! timestamp into [`Engine::handle_datagram`](crate::engine::Engine::handle_datagram); each
//! datagram the engine wants sent out of the right socket, and the kernel transmit timestamp
//! of every event message back into the engine; timer expiries into
//! [`Engine::handle_timeout`](crate::engine::Engine::handle_timeout). What the engine reports
//! is published: a [`Status`] snapshot on a tokio `watch` channel after every step, and every
//! [`Event`](crate::engine::Event) on a `broadcast` channel. Everything is timed on one
//! [`LocalClock`] (realtime by default, as ptp4l), which the node reads and never steers.
//!
//! Tracing: the task runs in a `ptp_node` span (clock identity, role, event address) and logs
//! `node started`, `port state changed`, `selected master`, `clock step detected`,
//! `port faulty` and `send failed` at info/warn/error; measurements, mapping updates and drop
//! summaries at debug/trace.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aptp::runtime::NodeError> {
//! use aptp::runtime::{Network, Node, NodeOptions, Role};
//! // A slave on eth0 with ptp4l's defaults (needs root for ports 319/320).
//! let slave = Node::start(NodeOptions::new(
//!     Role::Slave,
//!     Network::Interface { name: "eth0".into(), ipv6: false },
//! ))?;
//! let mut status = slave.watch_status();
//! status.wait_for(|s| s.state == aptp::engine::PortState::Slave).await.ok();
//! println!("master time now: {:?}", slave.now());
//! slave.shutdown().await
//! # }
//! ```

mod driver;
mod identity;
mod local_clock;
mod node;
mod options;
mod status;

pub use local_clock::{LocalClock, ParseLocalClockError};
pub use node::{Node, NodeError, NodeEvent};
pub use options::{Network, NodeOptions, Role};
pub use status::Status;

#[cfg(test)]
mod tests;
