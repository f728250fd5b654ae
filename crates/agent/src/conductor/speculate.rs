//! The reply synthesised during the pause, before the turn is over.
//!
//! Once a paused turn's words are in, the flow's dry run (`FlowMachine::dry_run`, asked for the
//! end-of-turn policy in `embed.rs`) also tells what the flow would say first. Synthesis of it
//! starts at once, under its own utterance id, and its audio is kept aside. When the turn ends
//! and the flow says exactly that text, the kept audio goes out at once and the rest follows as
//! it comes; anything else (the caller goes on, the flow says something different) cancels it.
//! A reply the flow builds per call (a read-back of a date, a confirmation with a name) then
//! costs no synthesis time after the end of the turn; a cached prompt costs nothing either way.

use frontdesk_engines::EngineError;
use frontdesk_types::Instant;
use frontdesk_voice::UtteranceId;

use super::Agent;
use crate::io::{Job, TtsChunk};

/// Speculative utterances are numbered from here, apart from the utterances the flow said.
const FIRST_ID: u64 = 1 << 48;

/// A reply synthesised before the end of its turn.
#[derive(Debug)]
pub(super) struct Speculation {
    /// The turn's text it answers.
    turn_text: String,
    /// What the flow would say.
    say: String,
    /// The synthesis job's utterance id.
    id: UtteranceId,
    /// Audio come back before the flow said it.
    chunks: Vec<Result<TtsChunk, EngineError>>,
    /// The utterance the flow said it as, once it did.
    taken: Option<UtteranceId>,
}

impl Agent {
    /// The flow would answer `turn_text` with `say`: synthesise it now, unless that is under
    /// way already, or a speculation taken up earlier is still being synthesised (one at a
    /// time: its later audio is found by its id).
    pub(super) fn speculate(&mut self, turn_text: &str, say: Option<String>) {
        if !self.cfg.speculate
            || self.spec.as_ref().is_some_and(|s| s.taken.is_some() || s.turn_text == turn_text)
        {
            return;
        }
        self.drop_speculation();
        let Some(say) = say.filter(|s| !s.trim().is_empty()) else { return };
        let id = UtteranceId(FIRST_ID + self.id());
        self.jobs.push_back(Job::SpeakAhead { utterance: id, text: say.clone() });
        self.spec =
            Some(Speculation { turn_text: turn_text.to_owned(), say, id, chunks: Vec::new(), taken: None });
    }

    /// Cancels a speculation nobody took up.
    pub(super) fn drop_speculation(&mut self) {
        if let Some(s) = self.spec.take_if(|s| s.taken.is_none()) {
            self.jobs.push_back(Job::CancelSpeak { utterance: s.id });
        }
    }

    /// The flow says `text` as utterance `real`: when the speculation synthesised that text,
    /// its audio becomes `real`'s and `true` says no synthesis is to be asked.
    pub(super) fn take_speculation(&mut self, now: Instant, real: UtteranceId, text: &str) -> bool {
        match &mut self.spec {
            Some(s) if s.taken.is_none() && s.say == text => {
                s.taken = Some(real);
                self.jobs.push_back(Job::TakeAhead { ahead: s.id, utterance: real, text: text.to_owned() });
                let chunks = std::mem::take(&mut s.chunks);
                for c in chunks {
                    self.handle_tts(now, real, c);
                }
                true
            }
            _ => {
                self.drop_speculation();
                false
            }
        }
    }

    /// Audio for `utterance`: a speculative one's is kept, or passed on to the utterance that
    /// took it up. `None` when the chunk was dealt with here.
    pub(super) fn speculative_chunk(
        &mut self,
        utterance: UtteranceId,
        chunk: Result<TtsChunk, EngineError>,
    ) -> Option<(UtteranceId, Result<TtsChunk, EngineError>)> {
        if utterance.0 < FIRST_ID {
            return Some((utterance, chunk));
        }
        let s = self.spec.as_mut().filter(|s| s.id == utterance)?;
        match s.taken {
            Some(real) => {
                if chunk.as_ref().map_or(true, |c| c.last) {
                    self.spec = None;
                }
                Some((real, chunk))
            }
            None => {
                s.chunks.push(chunk);
                None
            }
        }
    }

    /// The synthesis job behind utterance `u` (its speculation's, if it took one up).
    pub(super) fn synthesis_of(&mut self, u: UtteranceId) -> UtteranceId {
        match self.spec.take_if(|s| s.taken == Some(u)) {
            Some(s) => s.id,
            None => u,
        }
    }
}
