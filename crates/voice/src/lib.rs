//! Voice-side state machines of a call, sans-IO. For now: the [`PlayoutQueue`], the agent's
//! outgoing audio.
//!
//! # Playout queue
//! The agent speaks in *utterances* (one `say`, one LLM answer), each identified by the caller's
//! [`UtteranceId`]. TTS streams audio in chunks of any length; the queue appends them to their
//! utterance and re-frames them into 20 ms [`AudioFrame`](frontdesk_types::AudioFrame)s. The
//! media loop pops one frame per 20 ms tick. When the caller barges in, [`PlayoutQueue::flush`]
//! drops everything at once and says, per utterance, how much the caller actually heard (as
//! LiveKit's `PlaybackFinishedEvent { playback_position, interrupted }` does): the flow needs it
//! to know whether a question was heard before the caller answered it. An utterance can be
//! marked non-interruptible (legal disclosures, consent prompts): flush keeps it.
//!
//! Frames count as played once popped: the shell pops at send time, so the error is at most the
//! frame in flight (20 ms). The last frame of an utterance is zero-padded to 20 ms; only its real
//! samples count as played. Utterances never share a frame, so every frame belongs to one
//! utterance.
//!
//! # Drain contract
//! Inputs: [`PlayoutQueue::enqueue`] / [`PlayoutQueue::enqueue_with`] (audio for an utterance,
//! in order), [`PlayoutQueue::finish_utterance`] (no more audio will come for it),
//! [`PlayoutQueue::flush`] (barge-in). Output: [`PlayoutQueue::pop_frame`] once per 20 ms tick,
//! which returns audio or a [`Playout::Silence`] marker (idle, or an underrun while TTS is
//! behind), never blocks and never skips ahead to a later utterance. After every call that takes
//! `now`, drain [`PlayoutQueue::poll_event`] until `None`. Each utterance ends with exactly one
//! [`PlayoutEvent::Finished`] or [`PlayoutEvent::Interrupted`]; before it comes one
//! [`PlayoutEvent::Started`] when its first frame is popped (or when it finishes empty), except
//! for an utterance flushed before it began, which gets only `Interrupted` with `played_ms: 0`.
//! Late TTS chunks for a flushed utterance are refused with
//! [`VoiceError::UtteranceClosed`] (reason `Interrupted`): the shell's cue to cancel synthesis.

mod playout;

pub use playout::{
    FlushReport, Playout, PlayoutEvent, PlayoutFrame, PlayoutQueue, SilenceReason, UtteranceId,
    UtteranceOptions,
};

use frontdesk_types::SampleRate;

/// Why an utterance no longer accepts audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClosedReason {
    /// [`PlayoutQueue::finish_utterance`] was called for it.
    Finished,
    /// A flush dropped it (barge-in): stop synthesising it.
    Interrupted,
}

/// Errors of the voice crate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VoiceError {
    /// Audio for an utterance that was finished or interrupted.
    #[error("utterance {id} is closed ({reason:?}): no more audio accepted")]
    UtteranceClosed {
        /// The utterance.
        id: UtteranceId,
        /// Why it is closed.
        reason: ClosedReason,
    },
    /// `finish_utterance` for an id the queue has never seen.
    #[error("unknown utterance {0}")]
    UnknownUtterance(UtteranceId),
    /// Options that differ from the ones the utterance was opened with.
    #[error("utterance {0} was opened with other options")]
    OptionsMismatch(UtteranceId),
    /// A chunk whose sample rate is not the queue's.
    #[error("chunk at {got} for a playout queue at {expected}")]
    RateMismatch {
        /// The queue's rate.
        expected: SampleRate,
        /// The chunk's rate.
        got: SampleRate,
    },
    /// The queue holds its maximum of unplayed audio.
    #[error("playout queue full: at most {capacity_ms} ms of unplayed audio")]
    QueueFull {
        /// The capacity.
        capacity_ms: u64,
    },
}
