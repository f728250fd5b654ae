//! The per-call voice loop, sans-IO: caller audio in, agent audio out, and every decision in
//! between (barge-in, end of turn, what the flow hears and says), told the time.
//!
//! ```text
//!  caller 20 ms frames ─► Agent ─poll_job──► Vad / Transcribe / EndOfTurn / Speak / SpeakAhead / TakeAhead / CancelSpeak / Embed
//!  job results ────────►       ─poll_frame─► the next 20 ms of agent audio (or silence)
//!  DTMF, timeouts ─────►       ─poll_action► Clear (barge-in), Hangup, Transfer, OptOut, Effect
//!  effect results ─────►       ─poll_timing► per-turn and barge-in latency records
//!  say/hang up now ────►       ─poll_record► the call log (caller turns, keys, agent utterances)
//! ```
//!
//! [`Agent`] owns the sans-IO pieces of a call: the [`frontdesk_flow::FlowMachine`], the
//! [`frontdesk_voice::PlayoutQueue`], the VAD hysteresis and the streaming-ASR session. It never
//! runs a model: it asks for model work as [`Job`]s (VAD of one 32 ms frame, a Whisper decode, a
//! turn-model prediction, synthesis of a `say`, or of the reply the flow would give, during the
//! caller's pause) and is told the results. The shell runs them on
//! the inference pool; a simulation runs them inline on a simulated clock.
//!
//! Decisions are in [`policy`]: [`BargeInPolicy`] (onset held long enough, enough words,
//! backchannels ignored, per-node mode: speech, DTMF only, never) and [`EndOfTurnPolicy`] (VAD
//! pause, the turn model's probability, unfinished partials, the flow's expectation and whether it
//! understands the words, a ceiling).
//!
//! # Drain contract
//!
//! Inputs: [`Agent::start`], [`Agent::handle_audio`] (each 20 ms caller frame),
//! [`Agent::handle_vad`], [`Agent::handle_transcript`], [`Agent::handle_end_of_turn`],
//! [`Agent::handle_tts`], [`Agent::handle_embedding`], [`Agent::handle_dtmf`],
//! [`Agent::handle_timeout`], [`Agent::handle_flow_event`] (the result of an [`Action::Effect`]),
//! [`Agent::say_now`], [`Agent::hangup_now`], [`Agent::transfer_now`], [`Agent::close`]. After
//! each, drain [`Agent::poll_job`], [`Agent::poll_action`], [`Agent::poll_timing`] and
//! [`Agent::poll_record`] until `None`, then wake at [`Agent::poll_timeout`]. Call
//! [`Agent::poll_frame`] once per 20 ms playout tick (it returns silence when idle, so RTP keeps
//! flowing) and drain again after it. VAD results must come back in the order their jobs were
//! asked (the VAD is stateful); other results in any order.

pub mod conductor;
pub mod io;
pub mod policy;
pub mod record;
pub mod timing;

pub use conductor::Agent;
pub use io::{Action, AgentConfig, Effect, Job, Partials, TtsChunk, VAD_FRAME};
pub use policy::{BargeInDecision, BargeInMode, BargeInPolicy, EndOfTurnPolicy, TurnDecision};
pub use record::Record;
pub use timing::{BargeInTiming, Timing, TurnTiming};

/// Errors of the agent crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The flow refused an event (a bug in the flow machine or a webhook result out of place).
    #[error("the flow refused an event: {0}")]
    Flow(#[from] frontdesk_flow::FlowError),
    /// The audio path could not be set up (resampler).
    #[error("audio set-up failed: {0}")]
    Audio(String),
}
