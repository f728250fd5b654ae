//! `frontdesk-voicebench`: the live voice loop measured on the wire. It places calls on a running
//! `frontdesk serve` over the Twilio Media Streams WebSocket (`/media/twilio`), plays labelled
//! caller clips in real time (20 ms frames on a drift-free schedule), records every agent frame
//! with its arrival time, and reports voice-to-voice latency (FAQ, complete utterances, a
//! booking dialogue), barge-in stop times, false barge-ins and missed interruptions, premature
//! ends of turn, and N concurrent calls (latency, audio gaps, dropped calls, server memory).
//!
//! Modules: [`clip`] (labelled clips), [`caller`] (the scripted caller, sans-IO),
//! [`analysis`] and [`scenario`] (scripts and decisions, sans-IO), [`ws`] (the driver),
//! [`report`] (table and JSON). `eval/voice/bench.sh` starts a server and runs everything.

pub mod analysis;
pub mod caller;
pub mod clip;
pub mod error;
pub mod report;
pub mod scenario;
pub mod ulaw;
pub mod ws;
