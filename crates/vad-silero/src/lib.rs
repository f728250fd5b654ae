//! Silero VAD v6 through ONNX Runtime, and a sans-IO speech/silence state machine.
//!
//! # Model
//!
//! `silero-vad/silero_vad.onnx` from the pinned `silero-vad` wheel (see `frontdesk-models`). It runs
//! natively at 8 and 16 kHz on 32 ms chunks: 256 samples at 8 kHz, 512 at 16 kHz. Each call gets
//! `input` = [1, context + chunk] where the context is the last 32 (8 kHz) or 64 (16 kHz) samples of
//! the previous chunk (zeros after a reset), `state` [2, 1, 128] carried from the previous call's
//! `stateN`, and `sr` (int64 scalar); it answers `output` [1, 1], the speech probability.
//!
//! # Sharing
//!
//! [`SileroFactory`] holds the model bytes and a pool of idle ONNX Runtime sessions (ort's `run`
//! needs exclusive access to a session). A [`SileroVad`] — one per audio stream — owns only its
//! state and context; each [`Vad::process`] call borrows an idle session (creating one when all are
//! busy, so the pool grows to the number of concurrent callers, typically the inference pool's
//! thread count) and returns it. Sessions run on one intra-op thread: a 32 ms frame takes about
//! 0.1 ms, and parallelism comes from running many streams at once.
//!
//! # Errors
//!
//! Loading through [`SileroFactory::load`] checks the file against the pinned size and hash
//! (`ModelPaths::resolve`); a missing, truncated or corrupt file, or one ONNX Runtime cannot load,
//! is an [`EngineError`] naming the file and the fix (`frontdesk models fetch`), never a panic.
//!
//! [`hysteresis`] turns the per-frame probabilities into SpeechStart/SpeechEnd events; it has no
//! ONNX dependency.

pub mod hysteresis;

use std::path::Path;
use std::sync::Arc;

use frontdesk_engines::{EngineError, Vad, VadFactory};
use frontdesk_models::ModelPaths;
use frontdesk_models::onnx::{self, SessionPool};
use frontdesk_types::SampleRate;
use ort::session::Session;
use ort::value::Tensor;

/// The model set.
pub const SET: &str = "silero-vad";
/// The model file in its set.
pub const MODEL_FILE: &str = "silero_vad.onnx";
/// Carried state size (2 x 1 x 128).
const STATE_LEN: usize = 2 * 128;

/// Samples per frame and context samples at a rate, or `None` when the model does not run at it.
pub fn frame_and_context(rate: SampleRate) -> Option<(usize, usize)> {
    match rate {
        SampleRate::Hz8000 => Some((256, 32)),
        SampleRate::Hz16000 => Some((512, 64)),
        _ => None,
    }
}

/// The loaded Silero model, shared by every stream's [`SileroVad`].
#[derive(Clone)]
pub struct SileroFactory {
    sessions: Arc<SessionPool>,
}

impl std::fmt::Debug for SileroFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroFactory").field("model", &self.sessions.model()).finish_non_exhaustive()
    }
}

impl SileroFactory {
    /// Loads `silero-vad/silero_vad.onnx` from the models dir, verified against its pin.
    pub fn load(paths: &ModelPaths) -> Result<Self, EngineError> {
        let model = paths.resolve(SET, MODEL_FILE)?;
        Self::from_file(paths, &model)
    }

    /// Loads a Silero v5/v6 ONNX file from `model` (not checked against the pin; ONNX Runtime
    /// still refuses a corrupt file). The runtime library comes from `paths`.
    pub fn from_file(paths: &ModelPaths, model: &Path) -> Result<Self, EngineError> {
        let first = onnx::session(paths, model, 1)?;
        let names: Vec<&str> = first.inputs().iter().map(|i| i.name()).collect();
        if !["input", "state", "sr"].iter().all(|n| names.contains(n)) {
            return Err(EngineError::ModelCorrupt {
                path: model.to_path_buf(),
                why: format!("not a Silero v5/v6 model (inputs {names:?})"),
            });
        }
        Ok(SileroFactory { sessions: Arc::new(SessionPool::new(paths, model, 1, first)) })
    }

    /// A fresh VAD at `rate` (8 or 16 kHz).
    pub fn vad(&self, rate: SampleRate) -> Result<SileroVad, EngineError> {
        let (frame, context) = frame_and_context(rate).ok_or_else(|| {
            EngineError::Input(format!("Silero VAD runs at 8 or 16 kHz, not {} Hz", rate.hz()))
        })?;
        Ok(SileroVad {
            sessions: self.sessions.clone(),
            rate,
            frame,
            state: vec![0.0; STATE_LEN],
            input: vec![0.0; context + frame],
            context,
        })
    }
}

impl VadFactory for SileroFactory {
    fn create(&self, rate: SampleRate) -> Result<Box<dyn Vad>, EngineError> {
        Ok(Box::new(self.vad(rate)?))
    }
}

/// One stream's Silero VAD: carried state and context over a shared model.
pub struct SileroVad {
    sessions: Arc<SessionPool>,
    rate: SampleRate,
    frame: usize,
    context: usize,
    state: Vec<f32>,
    /// `context` samples of the previous frame, then room for the current frame.
    input: Vec<f32>,
}

impl std::fmt::Debug for SileroVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroVad").field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl SileroVad {
    fn run(&mut self, session: &mut Session) -> Result<f32, EngineError> {
        let inf = |e: ort::Error| EngineError::Inference(format!("Silero VAD: {e}"));
        let input = Tensor::from_array(([1usize, self.input.len()], self.input.clone())).map_err(inf)?;
        let state = Tensor::from_array(([2usize, 1, 128], self.state.clone())).map_err(inf)?;
        let sr = Tensor::from_array(((), vec![i64::from(self.rate.hz())])).map_err(inf)?;
        let outputs =
            session.run(ort::inputs!["input" => input, "state" => state, "sr" => sr]).map_err(inf)?;
        let prob = {
            let out = outputs
                .get("output")
                .ok_or_else(|| EngineError::Inference("Silero VAD: no `output`".into()))?;
            let (_, p) = out.try_extract_tensor::<f32>().map_err(inf)?;
            p.first().copied().ok_or_else(|| EngineError::Inference("Silero VAD: empty output".into()))?
        };
        let st =
            outputs.get("stateN").ok_or_else(|| EngineError::Inference("Silero VAD: no `stateN`".into()))?;
        let (_, st) = st.try_extract_tensor::<f32>().map_err(inf)?;
        if st.len() != STATE_LEN {
            return Err(EngineError::Inference(format!("Silero VAD: state of {} values", st.len())));
        }
        self.state.copy_from_slice(st);
        Ok(prob)
    }
}

impl Vad for SileroVad {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn frame_len(&self) -> usize {
        self.frame
    }

    fn process(&mut self, frame: &[f32]) -> Result<f32, EngineError> {
        if frame.len() != self.frame {
            return Err(EngineError::Input(format!(
                "Silero VAD at {} Hz takes {} samples per frame, got {}",
                self.rate.hz(),
                self.frame,
                frame.len()
            )));
        }
        if let Some(dst) = self.input.get_mut(self.context..) {
            dst.copy_from_slice(frame);
        }
        let mut session = self.sessions.take()?;
        let result = self.run(&mut session);
        self.sessions.give_back(session);
        // Next call's context: the last `context` samples of this frame.
        let n = self.input.len();
        self.input.copy_within(n - self.context.., 0);
        result
    }

    fn reset(&mut self) {
        self.state.fill(0.0);
        self.input.fill(0.0);
    }
}
