//! frontdesk-flow: the YAML flow language, its checker, and the sans-IO flow machine.
//!
//! Pipeline: [`parse::parse_flow`] turns YAML (saphyr, with spans) into a typed [`ast::Flow`];
//! [`check::check`] finds graph and type errors (unknown/unreachable nodes, slots read before
//! they are set, missing reprompts, type mismatches, undefined intents) with `line:column` and
//! a hint; [`machine::FlowMachine`] runs a checked flow: events in, commands out, time passed
//! in, no I/O, no clock, no model calls.
//!
//! Embeddings: the machine never calls a model. A [`Bundle`] is embedded once at load
//! ([`Bundle::embed`]: intent examples and KB questions), and each caller utterance is handed
//! to the machine with its embedding already computed by the shell (or `None` without a
//! model). We chose "embedding as input" over "machine holds an `&dyn Embedder`" and over
//! "machine emits an Embed request" because it keeps `handle_event` a pure, replayable
//! function with no round trip state, lets the shell run inference on its pool, and makes
//! tests deterministic with a fake embedder. Keyword rules cover the common intents and all
//! repair patterns without a model.
//!
//! Side effects are commands too: `webhook` nodes emit `Command::Webhook` and `llm` nodes
//! `Command::Llm`; `frontdesk-effects` runs them (HTTP, the LLM, the store) for every shell.
//!
//! [`convo`] runs conversation tests (YAML files of caller turns and expectations) with the
//! side effects behind a callback ([`convo::step_with`]).

pub mod ast;
pub mod check;
pub mod convo;
pub mod diag;
pub mod intents;
pub mod kb;
pub mod machine;
pub mod parse;
pub mod slots;
pub mod spoken;
pub mod template;

use std::path::{Path, PathBuf};

use frontdesk_engines::{Embedder, EngineError};

pub use ast::Flow;
pub use diag::Diagnostic;
pub use intents::IntentIndex;
pub use kb::{Kb, KbIndex};
pub use machine::{
    Command, DryRun, Event, FlowMachine, LlmAsk, LlmFailure, LlmOutcome, LlmRequest, Turn, WebhookFailure,
    WebhookOutcome, WebhookRequest,
};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A flow, KB or test file has problems (each with its position).
    #[error("{file}: {} problem(s)", diags.len())]
    Invalid { file: String, diags: Vec<Diagnostic> },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("embedding failed: {0}")]
    Embed(#[from] EngineError),
    /// An event that does not fit the machine's state (e.g. a webhook result nobody waits for).
    #[error("unexpected event: {0}")]
    Unexpected(String),
    #[error("bad time: {0}")]
    Time(String),
}

/// A checked flow with its knowledge base and (optional) embedding indexes.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub flow: Flow,
    pub kb: Kb,
    pub intents: IntentIndex,
    pub kb_index: KbIndex,
}

impl Bundle {
    /// Reads, parses and checks a flow file and its `knowledge:` file (relative to it).
    pub fn load(path: &Path) -> Result<Bundle, FlowError> {
        let src = std::fs::read_to_string(path)
            .map_err(|source| FlowError::Io { path: path.to_owned(), source })?;
        Bundle::from_source(&src, &path.display().to_string(), path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses and checks flow text (a stored version's YAML), named `file` in diagnostics, with
    /// its `knowledge:` file read relative to `base`.
    pub fn from_source(src: &str, file: &str, base: &Path) -> Result<Bundle, FlowError> {
        let file = file.to_owned();
        let flow =
            parse::parse_flow(src).map_err(|diags| FlowError::Invalid { file: file.clone(), diags })?;
        let diags = check::check(&flow);
        if !diags.is_empty() {
            return Err(FlowError::Invalid { file, diags });
        }
        let kb = match &flow.knowledge {
            None => Kb::default(),
            Some(k) => {
                let kpath = base.join(&k.value);
                let ksrc = std::fs::read_to_string(&kpath)
                    .map_err(|source| FlowError::Io { path: kpath.clone(), source })?;
                Kb::parse(&ksrc)
                    .map_err(|diags| FlowError::Invalid { file: kpath.display().to_string(), diags })?
            }
        };
        Ok(Bundle { flow, kb, intents: IntentIndex::default(), kb_index: KbIndex::default() })
    }

    /// Embeds intent examples and KB entries (question, examples, answer; once, outside the machine).
    pub fn embed(&mut self, model: &dyn Embedder) -> Result<(), FlowError> {
        let mut vectors = Vec::new();
        for (name, intent) in &self.flow.intents {
            if intent.examples.is_empty() {
                continue;
            }
            let texts: Vec<&str> = intent.examples.iter().map(String::as_str).collect();
            vectors.push((name.clone(), model.embed(&texts)?));
        }
        self.kb_index = KbIndex::build(&self.kb, model)?;
        let other = self.kb_index.raw_asks_and_negatives();
        self.intents = IntentIndex::with_other(vectors, &other);
        Ok(())
    }
}
