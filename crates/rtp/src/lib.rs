//! RTP media core for `frontdesk`, sans-IO: packets, an adaptive jitter buffer and RFC 4733
//! telephone-events.
//!
//! - [`RtpPacket`] (RFC 3550): zero-copy parse of a datagram (CSRC list, header extension,
//!   padding, version check) and allocation-free serialize; [`HeaderExtension`] walks RFC 8285
//!   one-byte and two-byte elements.
//! - [`SeqUnwrapper`], [`TimestampUnwrapper`]: 16-bit sequence numbers and 32-bit timestamps
//!   unwrapped to `i64`, so wrap-around is invisible above them.
//! - [`JitterBuffer`]: one stream, one payload type; `push(now, packet)` in, one 20 ms
//!   `pop(now)` out per playout tick; reorders, drops duplicates and late packets, signals loss
//!   for concealment, adapts its depth (20-200 ms) to the RFC 3550 jitter estimate, survives
//!   sequence/timestamp wrap, timestamp jumps, SSRC changes and long gaps.
//! - [`DtmfReceiver`] / [`DtmfSender`] (RFC 4733): one digit per key press from redundant,
//!   lossy, separately-sourced event packets; the packets for sending one.
//!
//! Nothing here reads a clock, opens a socket or spawns a task: every time-dependent call takes
//! `now: frontdesk_types::Instant`, and outputs are polled. Bad input from the network is an
//! [`RtpError`] or a counted drop, never a panic (fuzzed: see the `fuzz/` crate).

mod error;
pub mod event;
pub mod extension;
pub mod jitter;
mod packet;
pub mod rtcp;
mod seq;

pub use error::RtpError;
pub use event::{DtmfEvent, DtmfReceiver, DtmfSender, DtmfSenderConfig, TelephoneEvent};
pub use extension::{ExtensionElement, ExtensionForm, HeaderExtension};
pub use jitter::{Frame, JitterBuffer, JitterConfig, JitterStats, Pop, Push};
pub use packet::{FIXED_HEADER_LEN, MAX_CSRCS, RTP_VERSION, RtpPacket, peek_ssrc};
pub use seq::{SeqUnwrapper, TimestampUnwrapper};
