//! The tokio shell of `frontdesk`: sockets, timers, per-call tasks and the HTTP server.
//!
//! Everything that decides anything lives in the sans-IO crates; this crate moves bytes between
//! sockets and those cores, on a thin layer of tasks:
//!
//! - [`serve`]: binds listeners, runs, drains calls on shutdown;
//! - [`call`]: the one call abstraction every transport feeds;
//! - transports: [`twilio`] (Media Streams WebSocket on the HTTP server), [`audiosocket`],
//!   [`sip`] (SIP over UDP and TCP, with RTP media per call in [`media`]);
//! - `clock`: the one place the shell reads the time (mapped onto the cores' `Instant`);
//! - [`agent`]: the voice agent app (a flow on every call, on the sans-IO `frontdesk-agent` loop);
//! - [`apps`]: diagnostic applications (`echo`, `playback:FILE`) and the voice app's slot;
//! - [`control`]: live-call control for the HTTP API (the registry of calls in progress,
//!   originate / say / transfer / hang up);
//! - [`wav`]: WAV files in.

pub mod agent;
pub mod apps;
pub mod audiosocket;
pub mod call;
mod clock;
pub mod control;
mod http;
pub mod media;
pub mod serve;
mod shutdown;
pub mod sip;
pub mod twilio;
pub mod wav;

pub use control::{ControlCmd, GatewayControl, LiveCalls};
pub use serve::{ServeConfig, ServeError, Server};
pub use sip::{Dial, SipConfig, Trunk};
