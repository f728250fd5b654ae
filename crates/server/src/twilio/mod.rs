//! Twilio Media Streams transport: a WebSocket at `/media/twilio` on the HTTP server.
//!
//! - [`message`]: the sans-IO Media Streams message codec;
//! - [`auth`]: who may connect (an API key as `?token=<key>` or a bearer header, or Twilio's
//!   `X-Twilio-Signature`), checked at the upgrade;
//! - `ws`: one WebSocket as one call.

pub mod auth;
pub mod message;
mod ws;

pub(crate) use ws::run;
