//! What happened on a call, as the agent saw it, for the call log: each caller turn the flow
//! got (text, confidence, end-of-speech latencies), each key sequence, and each agent utterance
//! once it finished or was cut (how much of it the caller heard). The shell writes these as the
//! call's timeline ([`crate::Agent::poll_record`]).

use std::time::Duration;

use frontdesk_types::{Instant, Pii};

/// One entry of the call log.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A caller turn, as handed to the flow.
    Caller {
        /// Turn number in the call, from 1 (matches [`crate::TurnTiming::turn`]).
        turn: u32,
        /// The final transcript of the turn.
        text: Pii<String>,
        /// Mean ASR confidence of its segments (0 with no segment).
        confidence: f32,
        /// When the caller stopped speaking.
        speech_end: Instant,
        /// End of speech -> last final transcript.
        final_transcript: Option<Duration>,
        /// End of speech -> the end-of-turn decision.
        end_of_turn: Option<Duration>,
    },
    /// Keys sent to the flow.
    Keys {
        /// The keys (`#` ends a sequence and is not included).
        keys: Pii<String>,
        /// When they were sent to the flow.
        at: Instant,
    },
    /// An agent utterance that finished playing, was cut, or was dropped at the end of the call.
    Agent {
        /// The playout utterance id.
        utterance: u64,
        /// What was to be said.
        text: String,
        /// When it was asked for.
        at: Instant,
        /// The caller turn it answers, if it is the first utterance after one.
        answers: Option<u32>,
        /// `Some((heard_ms, total_ms))` when it was cut before its end.
        cut: Option<(u64, u64)>,
    },
}
