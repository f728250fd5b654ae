//! Smart Turn v3.2 end-of-turn model through ONNX Runtime.
//!
//! # Model
//!
//! `smart-turn/smart-turn-v3.2-cpu.onnx` from the pinned `pipecat-ai` wheel (see
//! `frontdesk-models`; BSD-2-Clause), a Whisper-tiny encoder with a classification head. Input
//! `input_features` [1, 80, 800]: Whisper log-mel features of the last 8 s of 16 kHz audio
//! ([`features`] documents the exact steps). Output `logits` [1, 1], despite its name already a
//! probability that the turn is complete (the model's own boundary is 0.5).
//!
//! # Use
//!
//! [`SmartTurnFactory`] implements [`EndOfTurnFactory`]; each [`SmartTurn`] implements
//! [`EndOfTurn`] (see `frontdesk_engines::turn` for when to call it: when the VAD reports a
//! pause, on the inference pool). The audio must be 16 kHz; [`to_16k`] converts 8 kHz call audio
//! with the codec crate's resampler (the same filter as the rest of the media path).
//!
//! # Sharing
//!
//! As for Silero VAD: the factory holds a pool of idle sessions (ort's `run` needs exclusive
//! access); a prediction borrows one (creating one when all are busy, so the pool grows to the
//! number of concurrent callers) and returns it. Sessions run on one intra-op thread; a
//! [`SmartTurn`] owns only its feature extractor and buffers.
//!
//! # Errors
//!
//! [`SmartTurnFactory::load`] checks the file against its pin (`ModelPaths::resolve`) and its
//! inputs and outputs against the expected shape; a missing, truncated or corrupt file, or one
//! that is not Smart Turn, is an [`EngineError`] naming the file and the fix (`frontdesk models
//! fetch`), never a panic.

pub mod features;

use std::path::Path;
use std::sync::Arc;

use frontdesk_codec::Resampler;
use frontdesk_engines::{EndOfTurn, EndOfTurnFactory, EngineError};
use frontdesk_models::ModelPaths;
use frontdesk_models::onnx::{self, SessionPool};
use frontdesk_types::SampleRate;
use ort::session::Session;
use ort::value::Tensor;

use crate::features::{FRAMES, Features, N_MELS, WINDOW};

/// The model set.
pub const SET: &str = "smart-turn";
/// The model file in its set.
pub const MODEL_FILE: &str = "smart-turn-v3.2-cpu.onnx";
/// Name reported by [`EndOfTurn::name`].
pub const NAME: &str = "smart-turn-v3.2";
const INPUT: &str = "input_features";
const OUTPUT: &str = "logits";

/// The loaded Smart Turn model, shared by every [`SmartTurn`].
#[derive(Clone)]
pub struct SmartTurnFactory {
    sessions: Arc<SessionPool>,
}

impl std::fmt::Debug for SmartTurnFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartTurnFactory").field("model", &self.sessions.model()).finish_non_exhaustive()
    }
}

impl SmartTurnFactory {
    /// Loads `smart-turn/smart-turn-v3.2-cpu.onnx` from the models dir, verified against its pin.
    pub fn load(paths: &ModelPaths) -> Result<Self, EngineError> {
        let model = paths.resolve(SET, MODEL_FILE)?;
        Self::from_file(paths, &model)
    }

    /// Loads a Smart Turn v3 ONNX file from `model` (not checked against the pin; ONNX Runtime
    /// still refuses a corrupt file, and the inputs and outputs are checked). The runtime library
    /// comes from `paths`.
    pub fn from_file(paths: &ModelPaths, model: &Path) -> Result<Self, EngineError> {
        let first = onnx::session(paths, model, 1)?;
        let inputs: Vec<&str> = first.inputs().iter().map(|i| i.name()).collect();
        let outputs: Vec<&str> = first.outputs().iter().map(|o| o.name()).collect();
        if inputs != [INPUT] || !outputs.contains(&OUTPUT) {
            return Err(EngineError::ModelCorrupt {
                path: model.to_path_buf(),
                why: format!("not a Smart Turn v3 model (inputs {inputs:?}, outputs {outputs:?})"),
            });
        }
        Ok(SmartTurnFactory { sessions: Arc::new(SessionPool::new(paths, model, 1, first)) })
    }

    /// A fresh predictor.
    pub fn turn(&self) -> SmartTurn {
        SmartTurn { sessions: self.sessions.clone(), features: Features::new(), input: Vec::new() }
    }
}

impl EndOfTurnFactory for SmartTurnFactory {
    fn create(&self) -> Result<Box<dyn EndOfTurn>, EngineError> {
        Ok(Box::new(self.turn()))
    }
}

/// One predictor: a feature extractor and its buffers over the shared model.
pub struct SmartTurn {
    sessions: Arc<SessionPool>,
    features: Features,
    input: Vec<f32>,
}

impl std::fmt::Debug for SmartTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartTurn").field("model", &self.sessions.model()).finish_non_exhaustive()
    }
}

impl SmartTurn {
    fn run(&self, session: &mut Session) -> Result<f32, EngineError> {
        let inf = |e: ort::Error| EngineError::Inference(format!("Smart Turn: {e}"));
        let input = Tensor::from_array(([1usize, N_MELS, FRAMES], self.input.clone())).map_err(inf)?;
        let outputs = session.run(ort::inputs![INPUT => input]).map_err(inf)?;
        let out = outputs
            .get(OUTPUT)
            .ok_or_else(|| EngineError::Inference(format!("Smart Turn: no `{OUTPUT}` output")))?;
        let (_, p) = out.try_extract_tensor::<f32>().map_err(inf)?;
        let p =
            p.first().copied().ok_or_else(|| EngineError::Inference("Smart Turn: empty output".into()))?;
        if !(0.0..=1.0).contains(&p) {
            return Err(EngineError::Inference(format!("Smart Turn: output {p} is not a probability")));
        }
        Ok(p)
    }
}

impl EndOfTurn for SmartTurn {
    fn name(&self) -> &str {
        NAME
    }

    fn window_samples(&self) -> usize {
        WINDOW
    }

    fn predict(&mut self, audio_16k: &[f32]) -> Result<f32, EngineError> {
        if audio_16k.is_empty() {
            return Err(EngineError::Input("Smart Turn needs some audio, got none".into()));
        }
        self.features.compute(audio_16k, &mut self.input);
        let mut session = self.sessions.take()?;
        let result = self.run(&mut session);
        self.sessions.give_back(session);
        result
    }
}

/// `pcm` (-1..1) at `rate` as 16 kHz audio for [`EndOfTurn::predict`], through the codec crate's
/// resampler (flushed, so the end of the speech is not left in the filter). 16 kHz is copied.
pub fn to_16k(pcm: &[f32], rate: SampleRate) -> Result<Vec<f32>, EngineError> {
    if rate == SampleRate::Hz16000 {
        return Ok(pcm.to_vec());
    }
    let err = |e: frontdesk_codec::CodecError| EngineError::Input(format!("resampling to 16 kHz: {e}"));
    let mut r = Resampler::new(rate, SampleRate::Hz16000).map_err(err)?;
    let mut out = Vec::with_capacity(pcm.len() * 16_000 / rate.hz() as usize + 64);
    r.push_f32(pcm, &mut out).map_err(err)?;
    r.flush_f32(&mut out).map_err(err)?;
    // The filter delays the output: drop the delay so sample positions line up with the input.
    let delay = r.delay_out_samples().min(out.len());
    out.drain(..delay);
    Ok(out)
}
