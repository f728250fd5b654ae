//! The embedding of a caller's words, asked for during the pause rather than after it.
//!
//! The flow matches intents and FAQ entries by the embedding of what the caller said, so a turn
//! reaches the flow only with its embedding. Asked at the end of the turn, the embedding (one
//! MiniLM call on the inference pool: about 10 ms quiet, more when other calls' jobs queue ahead
//! of it) sat between the end of the turn and the reply. Instead, as soon as every segment of a
//! paused turn has its final transcript, its text is embedded while the end-of-turn policy is
//! still waiting; at the end of the turn the vector is usually there. The speculation is keyed by
//! the turn's exact text: if the caller goes on after the pause, the text changes and the old
//! vector is never used (the end of the turn asks for the new text's, as before). It costs
//! one extra embedding per pause the caller speaks on after.
//!
//! With the vector (or at once, without an embedder: keyword rules only), the flow is asked
//! whether it understands the paused text (`FlowMachine::understands`, a dry run of the step on
//! a copy); the end-of-turn policy answers an understood caller sooner and waits longer for one
//! the flow cannot place ([`crate::EndOfTurnPolicy::understood_pause_ms`]), and what the flow
//! would say is synthesised while the policy waits (`speculate.rs`).

use frontdesk_engines::EngineError;
use frontdesk_types::{Instant, Pii};
use tracing::warn;

use super::Agent;
use crate::io::Job;

/// An embedding asked for before the end of a turn.
#[derive(Debug)]
pub(super) struct Early {
    id: u64,
    /// The turn's text it was asked for (the job embeds the flow's embedding text of it).
    text: String,
    /// The recogniser's confidence in that text.
    confidence: f32,
    /// The answer, once back (`None` inside: the embedder failed).
    result: Option<Option<Vec<f32>>>,
}

impl Agent {
    /// A paused turn whose finals are in: embed its text now unless that is already asked.
    pub(super) fn embed_early(&mut self, now: Instant, text: &str, confidence: f32) {
        // Asked at each judged frame of a pause: the text comparison comes first.
        if !self.cfg.embed {
            if self.understood.as_ref().is_none_or(|(t, _)| t != text) {
                self.dry_run(now, text, confidence, None);
            }
            return;
        }
        if self.early_embed.as_ref().is_some_and(|e| e.text == text) {
            return;
        }
        let spoken = frontdesk_flow::spoken::embedding_text(text);
        if spoken.trim().is_empty() {
            return;
        }
        let id = self.id();
        self.jobs.push_back(Job::Embed { id, text: Pii::new(spoken) });
        self.early_embed = Some(Early { id, text: text.to_owned(), confidence, result: None });
    }

    /// Asks the flow what `text` would do: whether it understands it (for the end-of-turn
    /// policy) and what it would say (synthesised at once, `speculate.rs`).
    fn dry_run(&mut self, now: Instant, text: &str, confidence: f32, embedding: Option<&[f32]>) {
        let d = self.flow.dry_run(now, text, confidence, embedding);
        self.understood = Some((text.to_owned(), d.as_ref().map(|d| d.understood)));
        self.speculate(text, d.and_then(|d| d.say));
    }

    /// The turn is over: hand `text` to the flow with its embedding, at once when the early one
    /// is of the same text and back, else when it comes.
    pub(super) fn embed_and_deliver(&mut self, now: Instant, text: String, confidence: f32) {
        match self.early_embed.take().filter(|e| e.text == text) {
            Some(Early { result: Some(embedding), .. }) => self.deliver(now, text, confidence, embedding),
            Some(Early { id, result: None, .. }) => self.awaiting_embed = Some((id, text, confidence)),
            None => {
                let id = self.id();
                let spoken = frontdesk_flow::spoken::embedding_text(&text);
                self.awaiting_embed = Some((id, text, confidence));
                self.jobs.push_back(Job::Embed { id, text: Pii::new(spoken) });
            }
        }
    }

    /// The embedding for job `id`: the utterance waiting for it goes to the flow with it (or
    /// without, on error); an early one is kept for the end of its turn.
    pub fn handle_embedding(&mut self, now: Instant, id: u64, result: Result<Vec<f32>, EngineError>) {
        let embedding = result.map_err(|e| warn!(error = %e, "embedding failed; keyword rules only")).ok();
        if let Some(early) = self.early_embed.as_ref().filter(|e| e.id == id) {
            let (text, confidence) = (early.text.clone(), early.confidence);
            self.dry_run(now, &text, confidence, embedding.as_deref());
            if let Some(early) = &mut self.early_embed {
                early.result = Some(embedding);
            }
            // The policy may answer sooner now.
            if self.turn.as_ref().is_some_and(|t| t.pause_since.is_some()) {
                self.evaluate_turn(now);
            }
            return;
        }
        if let Some((_, text, confidence)) = self.awaiting_embed.take_if(|(want, ..)| *want == id) {
            self.deliver(now, text, confidence, embedding);
        }
    }
}
