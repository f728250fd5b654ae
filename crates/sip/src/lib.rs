//! frontdesk-sip: a sans-IO SIP user agent core.
//!
//! See [`endpoint`] for the driving contract. Layers, bottom up:
//! - [`message`]: SIP message parsing and serialisation (own parser; why is in its doc),
//!   TCP stream framing.
//! - [`sdp`]: SDP parse/serialise and RFC 3264 offer/answer for PCMU, PCMA, Opus and
//!   telephone-event.
//! - [`auth`]: digest authentication (RFC 7616 / 2617; MD5 and SHA-256, qop=auth).
//! - [`transaction`]: RFC 3261 section 17 client and server transactions on a passed-in clock.
//! - [`endpoint`]: the user agent: dialogs (UAS and UAC), registration, REFER, and the
//!   `handle_*` / `poll_*` API a thin tokio shell drives.

mod error;
pub mod message;
pub mod sdp;
pub mod auth;
pub mod transaction;

pub use error::Error;
