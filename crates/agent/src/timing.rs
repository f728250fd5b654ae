//! Per-turn latency records, measured on the instants the agent is told.

use std::time::Duration;

use frontdesk_types::Instant;

/// One caller turn and the agent's answer to it.
///
/// Every duration counts from `speech_end`, the moment the caller stopped speaking (the start of
/// the silence that ended the turn, from the VAD's sample position). `None` when that step did not
/// happen (the flow said nothing, the call ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnTiming {
    /// Turn number in the call, from 1.
    pub turn: u32,
    /// When the caller stopped speaking.
    pub speech_end: Instant,
    /// -> the last final transcript of the turn arrived.
    pub final_transcript: Option<Duration>,
    /// -> the end-of-turn decision handed the text to the flow.
    pub end_of_turn: Option<Duration>,
    /// -> the flow's first command after it.
    pub flow_command: Option<Duration>,
    /// -> the first synthesised audio of the answer.
    pub first_tts_audio: Option<Duration>,
    /// -> the first frame of the answer was sent to the caller.
    pub first_audio_sent: Option<Duration>,
}

/// One barge-in: caller speech (or a key) stopped the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BargeInTiming {
    /// When the caller's speech began (or the key was pressed).
    pub onset: Instant,
    /// -> the policy decided to stop the agent (the queue was flushed then).
    pub decided: Duration,
    /// -> the first frame sent that was not agent audio.
    pub stopped: Duration,
    /// Agent audio the caller heard, and the total of the interrupted prompt.
    pub heard_ms: u32,
    /// Total length of the interrupted prompt (audio queued or estimated from its text).
    pub total_ms: u32,
    /// Whether a key (not speech) did it.
    pub dtmf: bool,
}

/// A finished timing record, from [`crate::Agent::poll_timing`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timing {
    /// A turn.
    Turn(TurnTiming),
    /// A barge-in.
    BargeIn(BargeInTiming),
}

/// A turn record being filled in.
#[derive(Debug)]
pub(crate) struct OpenTurn {
    pub(crate) rec: TurnTiming,
    /// Utterances with ids from this one on answer the turn.
    pub(crate) first_utterance: u64,
}

impl OpenTurn {
    pub(crate) fn since(&self, at: Instant) -> Option<Duration> {
        Some(at.saturating_duration_since(self.rec.speech_end))
    }
}
