//! Engine traits for speech and language models, and the pool they run on.
//!
//! Providers live in their own crates so the media core never compiles a model runtime:
//! ONNX Runtime ones (Silero VAD, Piper TTS) and candle ones (Whisper ASR, MiniLM embeddings).
//! The traits here are *blocking compute* interfaces: a provider does its work on the calling
//! thread. The shell never calls them on an async runtime thread; it hands them to the
//! [`pool::InferencePool`], a bounded set of blocking threads sized to the cores, whose jobs carry
//! a deadline so an overloaded machine makes one engine call late (and says so) instead of
//! stalling the audio of every call.
//!
//! Streaming is built on top of these batch interfaces where the models are batch models:
//! Whisper re-decodes the growing speech segment for partial results; Piper synthesises clause by
//! clause. Each provider crate documents its streaming strategy.

pub mod embed_cache;
pub mod pool;
pub mod turn;

pub use turn::{EndOfTurn, EndOfTurnFactory};

use std::path::PathBuf;

use frontdesk_types::SampleRate;

/// Why an engine could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A model file is not where it should be.
    #[error("model file {path} is missing: run `frontdesk models fetch`")]
    ModelMissing {
        /// The file.
        path: PathBuf,
    },
    /// A model file exists but cannot be used (truncated, corrupt, wrong format).
    #[error("model file {path} is unusable ({why}): run `frontdesk models fetch` to restore it")]
    ModelCorrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The input cannot be processed (wrong rate, empty text...).
    #[error("bad input: {0}")]
    Input(String),
    /// The runtime failed while running the model.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The pool was saturated and the job's deadline passed before it could start.
    #[error("inference pool overloaded: the job missed its deadline by {late_ms} ms")]
    Late {
        /// How far past its deadline the job was when dropped.
        late_ms: u64,
    },
    /// A remote engine (HTTP provider) failed or timed out.
    #[error("remote engine {url}: {why}")]
    Remote {
        /// The endpoint.
        url: String,
        /// What happened.
        why: String,
    },
}

/// Voice activity detection: a speech probability per fixed-size frame, with state carried
/// across frames. One instance per audio stream (it is stateful); create them from a
/// [`VadFactory`] that shares the loaded model.
pub trait Vad: Send {
    /// Sample rate the frames must have.
    fn rate(&self) -> SampleRate;
    /// Samples per frame (Silero: 256 at 8 kHz, 512 at 16 kHz).
    fn frame_len(&self) -> usize;
    /// Probability (0..1) that `frame` (exactly `frame_len` samples, -1..1) contains speech.
    fn process(&mut self, frame: &[f32]) -> Result<f32, EngineError>;
    /// Forgets the carried state (new utterance, new call).
    fn reset(&mut self);
}

/// Creates per-stream VAD instances sharing one loaded model.
pub trait VadFactory: Send + Sync {
    /// A fresh VAD at `rate`.
    fn create(&self, rate: SampleRate) -> Result<Box<dyn Vad>, EngineError>;
}

/// One recognised word.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    /// The word as written.
    pub text: String,
    /// Start, milliseconds from the start of the audio given.
    pub start_ms: u32,
    /// End, milliseconds from the start of the audio given.
    pub end_ms: u32,
    /// 0..1.
    pub confidence: f32,
}

/// A transcription of one stretch of audio.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transcript {
    /// The text.
    pub text: String,
    /// Word timings, when the engine gives them.
    pub words: Vec<Word>,
    /// 0..1: the engine's confidence in the whole text.
    pub confidence: f32,
}

/// Options for one transcription.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecodeOptions {
    /// Words or phrases the flow expects (names, menu options), used as a prompt where the engine
    /// supports it.
    pub hints: Vec<String>,
    /// A partial decode of a segment still growing: an engine may trade accuracy for speed.
    pub partial: bool,
}

/// Speech to text over a whole segment (blocking; run it on the pool).
pub trait Transcriber: Send + Sync {
    /// Short name for logs and metrics (e.g. "whisper-tiny.en").
    fn name(&self) -> &str;
    /// Transcribes mono 16 kHz samples (-1..1).
    fn transcribe(&self, pcm_16k: &[f32], opts: &DecodeOptions) -> Result<Transcript, EngineError>;
}

/// Text to speech, one clause at a time (blocking; run it on the pool).
pub trait Synthesizer: Send + Sync {
    /// Short name for logs and metrics (e.g. "piper-joe-medium").
    fn name(&self) -> &str;
    /// The rate of the audio it produces.
    fn rate(&self) -> u32;
    /// Audio (-1..1) for one clause of text.
    fn synthesize_clause(&self, clause: &str) -> Result<Vec<f32>, EngineError>;
}

/// Sentence embeddings (blocking; run it on the pool).
pub trait Embedder: Send + Sync {
    /// Vector length.
    fn dim(&self) -> usize;
    /// One L2-normalised vector per text.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError>;
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: [&str; 10] = ["dr.", "mr.", "mrs.", "ms.", "st.", "ave.", "no.", "vs.", "etc.", "jr."];

/// Splits text into clauses for streaming synthesis: at sentence ends and at commas, semicolons
/// and colons once a clause has a few words, keeping the punctuation with its clause, so the first
/// audio comes after one short clause rather than a whole answer. A full stop after an
/// abbreviation ("Dr.", "A.M.", an initial) does not end a sentence.
pub fn split_clauses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let next_is_space = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        let words = cur.split_whitespace().count();
        let last_word = cur.rsplit(char::is_whitespace).next().unwrap_or("").to_lowercase();
        let abbreviation = c == '.'
            && (last_word[..last_word.len() - 1].contains('.')
                || last_word.chars().filter(|c| c.is_alphabetic()).count() == 1
                || ABBREVIATIONS.contains(&last_word.as_str()));
        let cut = match c {
            '.' => next_is_space && !abbreviation,
            '!' | '?' => next_is_space,
            ',' | ';' | ':' => next_is_space && words >= 3,
            _ => false,
        };
        if cut {
            let clause = cur.trim();
            if !clause.is_empty() {
                out.push(clause.to_owned());
            }
            cur.clear();
        }
    }
    let rest = cur.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_split_at_punctuation_and_keep_it() {
        assert_eq!(
            split_clauses(
                "We are open Monday to Friday, from 8 AM to 6 PM. Call Dr. Lee at 8 A.M. sharp!  Thanks"
            ),
            vec![
                "We are open Monday to Friday,",
                "from 8 AM to 6 PM.",
                "Call Dr. Lee at 8 A.M. sharp!",
                "Thanks"
            ]
        );
        // Short lead-ins stay whole; an initial is not a sentence end.
        assert_eq!(
            split_clauses("Yes, of course. Ask for John F. Kennedy."),
            vec!["Yes, of course.", "Ask for John F. Kennedy."]
        );
        assert!(split_clauses("   ").is_empty());
    }
}
