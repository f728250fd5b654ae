//! End of turn from the caller's audio: has the caller finished, or only paused?
//!
//! A VAD pause alone cuts callers off when they pause mid-sentence ("my number is 555 ...
//! 0123", "I'd like to ... um ... move my appointment"). An [`EndOfTurn`] model listens to the
//! last few seconds of the caller's speech (intonation, a trailing "and", a word cut short) and
//! answers the probability that the turn is complete. Provider: `frontdesk-eot-smartturn`
//! (Smart Turn v3.2, ONNX).
//!
//! # How to call it
//!
//! - Not on every frame: one inference costs tens of milliseconds (Smart Turn v3.2: about 70 ms on
//!   one core). Call it when the VAD reports a pause (speech end after a short hangover, e.g.
//!   200-300 ms of silence), with the caller's audio of the current turn up to that point.
//! - On the inference pool (`crate::pool::InferencePool`), never on the async runtime: the call
//!   blocks. Create one [`EndOfTurn`] per call from the shared [`EndOfTurnFactory`] and move it
//!   into the job (it is `Send`), or keep one per pool thread.
//! - Give it 16 kHz mono samples (-1..1). 8 kHz call audio must be upsampled first (the codec
//!   crate's resampler); the provider uses at most the last [`EndOfTurn::window_samples`] samples
//!   and zero-pads shorter input at the start, so passing more is harmless but wasted copying.
//! - Decide with the answer: above a threshold (0.5 is the model's own boundary) the turn is
//!   complete; below it keep listening, and still end the turn when the silence reaches the
//!   configured ceiling (about 1.5 s) whatever the model said. Speech resuming cancels the wait.
//!   A late answer (the caller spoke again meanwhile) is stale and must be dropped.

use crate::EngineError;

/// Turn-completion prediction over the end of the caller's speech (blocking; run it on the pool).
pub trait EndOfTurn: Send {
    /// Short name for logs and metrics (e.g. "smart-turn-v3.2").
    fn name(&self) -> &str;
    /// How many trailing 16 kHz samples the model looks at (Smart Turn: 8 s = 128,000).
    fn window_samples(&self) -> usize;
    /// Probability (0..1) that the turn is complete, given the caller's audio up to the pause:
    /// mono 16 kHz samples (-1..1). Only the last [`EndOfTurn::window_samples`] are used. Empty
    /// input is [`EngineError::Input`].
    fn predict(&mut self, audio_16k: &[f32]) -> Result<f32, EngineError>;
}

/// Creates [`EndOfTurn`] instances sharing one loaded model.
pub trait EndOfTurnFactory: Send + Sync {
    /// A fresh predictor.
    fn create(&self) -> Result<Box<dyn EndOfTurn>, EngineError>;
}
