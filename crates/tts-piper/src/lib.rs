//! Text to speech: Piper voices (VITS ONNX through ONNX Runtime) with espeak-ng phonemes, an
//! espeak-ng-only fallback voice, clause streaming on the inference pool, and a prompt cache.
//!
//! - [`piper::PiperVoice`] implements [`frontdesk_engines::Synthesizer`]: one clause in, f32 audio
//!   at the voice's rate (22.05 kHz) out. Phonemes come from the `espeak-ng` program
//!   ([`phonemize`]), run as a long-lived subprocess.
//! - [`espeak::EspeakVoice`] implements the same trait with `espeak-ng --stdout`.
//! - [`stream::TtsStream`] streams a text clause by clause on the
//!   [`frontdesk_engines::pool::InferencePool`], resampled to the call's rate; dropping it cancels.
//!   A long first clause is cut once at a phrase boundary ([`first`]) so the first audio costs a
//!   few words of synthesis; the halves are joined without a pause.
//! - [`cache::PromptCache`] holds fixed prompts' audio in memory, and optionally on disk.
//! - [`speakable`] rewrites clock times ("10:00 AM") into the words people say before espeak-ng
//!   reads them, for both voices.
//!
//! Model files come from the `piper-joe` set (`frontdesk models fetch piper-joe onnxruntime`); a
//! missing, truncated or corrupt file is an `EngineError` naming it and the fix.

pub mod cache;
pub mod espeak;
#[cfg(test)]
mod fake;
pub mod first;
pub mod phonemize;
pub mod piper;
pub mod speakable;
pub mod stream;

pub use cache::PromptCache;
pub use espeak::EspeakVoice;
pub use piper::PiperVoice;
pub use stream::{Chunk, StreamOptions, TtsStream, synthesize_text};
