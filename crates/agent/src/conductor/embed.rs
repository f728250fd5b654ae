//! The embedding of a caller's words, asked for during the pause rather than after it.
//!
//! The flow matches intents and FAQ entries by the embedding of what the caller said, so a turn
//! reaches the flow only with its embedding. Asked at the end of the turn, the embedding (one
//! MiniLM call on the inference pool: about 10 ms quiet, more when other calls' jobs queue ahead
//! of it) sat between the end of the turn and the reply. Instead, as soon as every segment of a
//! paused turn has its final transcript, its text is embedded while the end-of-turn policy is
//! still waiting; at the end of the turn the vector is usually there. The speculation is keyed by
//! the exact text embedded: if the caller goes on after the pause, the turn's text changes and the
//! old vector is never used (the end of the turn asks for the new text's, as before). It costs
//! one extra embedding per pause the caller speaks on after.

use frontdesk_engines::EngineError;
use frontdesk_types::{Instant, Pii};
use tracing::warn;

use super::Agent;
use crate::io::Job;

/// An embedding asked for before the end of a turn.
#[derive(Debug)]
pub(super) struct Early {
    id: u64,
    /// What was embedded (the flow's embedding text of the turn).
    text: String,
    /// The answer, once back (`None` inside: the embedder failed).
    result: Option<Option<Vec<f32>>>,
}

impl Agent {
    /// A paused turn whose finals are in: embed its text now unless that is already asked.
    pub(super) fn embed_early(&mut self, text: &str) {
        if !self.cfg.embed {
            return;
        }
        let spoken = frontdesk_flow::spoken::embedding_text(text);
        if spoken.trim().is_empty() || self.early_embed.as_ref().is_some_and(|e| e.text == spoken) {
            return;
        }
        let id = self.id();
        self.jobs.push_back(Job::Embed { id, text: Pii::new(spoken.clone()) });
        self.early_embed = Some(Early { id, text: spoken, result: None });
    }

    /// The turn is over: hand `text` to the flow with its embedding, at once when the early one
    /// is of the same text and back, else when it comes.
    pub(super) fn embed_and_deliver(&mut self, now: Instant, text: String, confidence: f32) {
        let spoken = frontdesk_flow::spoken::embedding_text(&text);
        match self.early_embed.take() {
            Some(Early { text: t, result: Some(embedding), .. }) if t == spoken => {
                self.deliver(now, text, confidence, embedding);
            }
            Some(Early { id, text: t, result: None }) if t == spoken => {
                self.awaiting_embed = Some((id, text, confidence));
            }
            _ => {
                let id = self.id();
                self.awaiting_embed = Some((id, text, confidence));
                self.jobs.push_back(Job::Embed { id, text: Pii::new(spoken) });
            }
        }
    }

    /// The embedding for job `id`: the utterance waiting for it goes to the flow with it (or
    /// without, on error); an early one is kept for the end of its turn.
    pub fn handle_embedding(&mut self, now: Instant, id: u64, result: Result<Vec<f32>, EngineError>) {
        let embedding = result.map_err(|e| warn!(error = %e, "embedding failed; keyword rules only")).ok();
        if let Some(early) = self.early_embed.as_mut().filter(|e| e.id == id) {
            early.result = Some(embedding);
            return;
        }
        if self.awaiting_embed.as_ref().is_none_or(|(want, ..)| *want != id) {
            return;
        }
        let Some((_, text, confidence)) = self.awaiting_embed.take() else { return };
        self.deliver(now, text, confidence, embedding);
    }
}
