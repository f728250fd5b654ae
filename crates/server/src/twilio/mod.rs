//! Twilio Media Streams transport: a WebSocket at `/media/twilio` on the HTTP server.

pub mod message;
mod ws;

pub(crate) use ws::run;
