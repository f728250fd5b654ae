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

pub mod auth;
pub mod endpoint;
mod error;
pub mod message;
mod rng;
pub mod sdp;
pub mod transaction;

pub use endpoint::{
    CallHandle, Config, DigestCredentials, EndReason, Endpoint, Event, InviteParams, RegisterParams,
    RegistrationHandle, RegistrationState,
};
pub use error::Error;
pub use sdp::{Codec, Direction, LocalMedia, Negotiated, SessionDescription};
pub use transaction::{Timers, Transmit, Transport};
