//! What goes in and out of the [`crate::Agent`]: its configuration, the model jobs it asks for,
//! the transport actions and flow effects it issues, and synthesised audio coming back.

use std::collections::BTreeMap;

use frontdesk_asr_whisper::stream::{DecodeRequest, StreamConfig};
use frontdesk_flow::Command;
use frontdesk_flow::ast::TransferTarget;
use frontdesk_types::Pii;
use frontdesk_vad_silero::hysteresis::HysteresisConfig;
use frontdesk_voice::UtteranceId;

use crate::policy::{BargeInMode, BargeInPolicy, EndOfTurnPolicy};

/// Silero's frame at 8 kHz: the samples of one [`Job::Vad`].
pub const VAD_FRAME: usize = 256;

/// Tuning of one call's loop.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// When speech stops the agent.
    pub barge_in: BargeInPolicy,
    /// When the caller's turn is over.
    pub end_of_turn: EndOfTurnPolicy,
    /// Speech start/stop hysteresis on the VAD's probabilities. `stop_ms` is the pause after
    /// which a segment is finalised and the end-of-turn policy is first asked (not the turn's
    /// end).
    pub vad: HysteresisConfig,
    /// When partial and final decodes are asked.
    pub asr: StreamConfig,
    /// Which caller speech gets partial decodes.
    pub partials: Partials,
    /// Barge-in mode per flow node id (nodes not listed: [`BargeInMode::Speech`]).
    pub node_modes: BTreeMap<String, BargeInMode>,
    /// Ask a turn model ([`Job::EndOfTurn`]) at each pause.
    pub turn_model: bool,
    /// Ask an embedding ([`Job::Embed`]) of each utterance before the flow gets it.
    pub embed: bool,
    /// Synthesise the flow's reply during the pause, before the turn is over, and keep it for
    /// when the flow says it (`conductor/speculate.rs`).
    pub speculate: bool,
    /// Keys typed for a digits slot are sent to the flow after this pause (or at `#`, or once
    /// the expected count is reached).
    pub interdigit_ms: u64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            barge_in: BargeInPolicy::default(),
            end_of_turn: EndOfTurnPolicy::default(),
            vad: HysteresisConfig { stop_ms: 200, ..HysteresisConfig::default() },
            asr: StreamConfig::default(),
            partials: Partials::default(),
            node_modes: BTreeMap::new(),
            turn_model: false,
            embed: false,
            speculate: true,
            interdigit_ms: 3000,
        }
    }
}

/// Which caller speech the recogniser decodes partial transcripts of ([`AgentConfig::partials`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Partials {
    /// Only speech while the agent is speaking (or holding its audio): the barge-in policy reads
    /// those words. A turn spoken into silence waits for its final transcript anyway (the
    /// end-of-turn policy needs the final), so its partials would be CPU spent for nothing, taken
    /// from other calls' finals on a busy machine.
    #[default]
    OverAgent,
    /// All caller speech (for a consumer of live partial transcripts).
    Always,
}

/// Model work the agent asks for; report the result with the matching `handle_*`.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// Speech probability of one frame ([`VAD_FRAME`] samples at 8 kHz, -1..1). Results must
    /// come back in order ([`Agent::handle_vad`]).
    Vad {
        /// Identifies the result.
        id: u64,
        /// The frame.
        pcm: Vec<f32>,
    },
    /// A Whisper decode ([`Agent::handle_transcript`] with `req.id`).
    Transcribe(DecodeRequest),
    /// P(turn complete) over the caller's recent audio, 16 kHz ([`Agent::handle_end_of_turn`]).
    EndOfTurn {
        /// Identifies the result.
        id: u64,
        /// Up to the last 8 s of caller audio.
        pcm_16k: Vec<f32>,
    },
    /// Synthesise `text` for `utterance` and report chunks with [`Agent::handle_tts`].
    Speak {
        /// The utterance.
        utterance: UtteranceId,
        /// What to say.
        text: String,
    },
    /// As [`Job::Speak`], for a reply the flow has not said yet: synthesised during the
    /// caller's pause, it may be cancelled ([`Job::CancelSpeak`]) or taken up
    /// ([`Job::TakeAhead`]). Report its chunks under this id.
    SpeakAhead {
        /// The synthesis's own id (never one the flow says an utterance under).
        utterance: UtteranceId,
        /// What to say.
        text: String,
    },
    /// The flow now says `text` as `utterance`, with the audio of `ahead` ([`Job::SpeakAhead`]):
    /// keep reporting `ahead`'s chunks under its own id; nothing to synthesise. For logs and
    /// test harnesses that track what was said.
    TakeAhead {
        /// The synthesis under way.
        ahead: UtteranceId,
        /// The utterance the flow said.
        utterance: UtteranceId,
        /// What it says.
        text: String,
    },
    /// Stop synthesising an utterance (barge-in dropped it).
    CancelSpeak {
        /// The utterance.
        utterance: UtteranceId,
    },
    /// Embed the caller's words ([`Agent::handle_embedding`]).
    Embed {
        /// Identifies the result.
        id: u64,
        /// The text.
        text: Pii<String>,
    },
}

/// What the transport should do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Drop agent audio the transport or far end still holds (barge-in).
    Clear,
    /// End the call (after the agent's last words have been sent).
    Hangup,
    /// Hand the caller over (after the agent's last words have been sent).
    Transfer {
        /// Where.
        target: TransferTarget,
        /// What the flow collected for the person taking over.
        context: Vec<(String, String)>,
    },
    /// The caller asked not to be called again (record it; a hang-up follows).
    OptOut,
    /// A flow side effect for the shell to run ([`Effect`]).
    Effect(Effect),
}

/// A flow command with an effect outside the call: a scheduling op against the store
/// ([`Command::Schedule`]) or a webhook ([`Command::Webhook`]). When `awaits_result`, the flow
/// waits (its no-input timer held, silence playing) until the result is reported with
/// [`crate::Agent::handle_flow_event`] and this `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// Identifies the result.
    pub id: u64,
    /// The flow's command.
    pub command: Command,
    /// Whether the flow waits for `Event::ScheduleResult` / `Event::WebhookResult`.
    pub awaits_result: bool,
}

/// Synthesised audio for an utterance.
#[derive(Clone, Debug, PartialEq)]
pub struct TtsChunk {
    /// 8 kHz samples.
    pub pcm: Vec<i16>,
    /// The clause this audio speaks, when known (lets a false barge-in resume there).
    pub clause: Option<String>,
    /// Whether no more audio follows for the utterance.
    pub last: bool,
}
