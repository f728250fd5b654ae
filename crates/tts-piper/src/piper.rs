//! A Piper voice: VITS ONNX model plus its `.onnx.json` config.
//!
//! Clause to audio: IPA from [`Phonemizer`], characters (Unicode scalar values, after decomposing
//! `ç` as NFD would, like piper-phonemize) mapped to ids with the config's `phoneme_id_map`,
//! framed as Piper does: `^` (BOS), `_` (pad), then each phoneme's ids followed by `_`, then `$`
//! (EOS); unknown characters are skipped. The model takes `input` [1, N] int64, `input_lengths` [1]
//! and `scales` [3] = (`noise_scale`, `length_scale`, `noise_w`) from the config (plus `sid` for
//! multi-speaker voices, speaker 0) and returns float audio at the config's rate (22.05 kHz for
//! the medium voices), clipped here to -1..1. Sessions are pooled like Silero's: one per concurrent
//! caller, one intra-op thread each (measured faster than two for this model).

use std::collections::HashMap;
use std::path::Path;

use frontdesk_engines::{EngineError, Synthesizer};
use frontdesk_models::ModelPaths;
use frontdesk_models::onnx::{self, SessionPool};
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use crate::phonemize::Phonemizer;

/// The model set of the default voice.
pub const SET: &str = "piper-joe";
/// Its model file.
pub const MODEL_FILE: &str = "en_US-joe-medium.onnx";
/// Its config file.
pub const CONFIG_FILE: &str = "en_US-joe-medium.onnx.json";

#[derive(Debug, Deserialize)]
struct Config {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: InferenceConfig,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: u32,
}

#[derive(Debug, Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(Debug, Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Debug, Deserialize)]
struct InferenceConfig {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

/// A loaded Piper voice.
pub struct PiperVoice {
    name: String,
    rate: u32,
    scales: [f32; 3],
    multi_speaker: bool,
    ids: HashMap<char, Vec<i64>>,
    pad: i64,
    bos: i64,
    eos: i64,
    phonemizer: Phonemizer,
    sessions: SessionPool,
}

impl std::fmt::Debug for PiperVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperVoice")
            .field("name", &self.name)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

fn single_id(map: &HashMap<char, Vec<i64>>, c: char, config: &Path) -> Result<i64, EngineError> {
    map.get(&c).and_then(|v| v.first().copied()).ok_or_else(|| EngineError::ModelCorrupt {
        path: config.to_path_buf(),
        why: format!("phoneme_id_map has no {c:?}"),
    })
}

impl PiperVoice {
    /// The joe (medium) voice from the models dir, verified against its pins.
    pub fn load(paths: &ModelPaths) -> Result<Self, EngineError> {
        Self::load_with_threads(paths, 1)
    }

    /// The joe voice with `threads` intra-op threads per session (1 is the default and measured
    /// fastest per core; 2 is only for comparisons).
    pub fn load_with_threads(paths: &ModelPaths, threads: usize) -> Result<Self, EngineError> {
        let model = paths.resolve(SET, MODEL_FILE)?;
        let config = paths.resolve(SET, CONFIG_FILE)?;
        Self::from_files_with_threads(paths, &model, &config, "piper-joe-medium", threads)
    }

    /// A voice from a model and its config (not checked against pins); the runtime library
    /// comes from `paths`.
    pub fn from_files(
        paths: &ModelPaths,
        model: &Path,
        config: &Path,
        name: &str,
    ) -> Result<Self, EngineError> {
        Self::from_files_with_threads(paths, model, config, name, 1)
    }

    fn from_files_with_threads(
        paths: &ModelPaths,
        model: &Path,
        config: &Path,
        name: &str,
        threads: usize,
    ) -> Result<Self, EngineError> {
        let threads = threads.max(1);
        let text = std::fs::read_to_string(config).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EngineError::ModelMissing { path: config.to_path_buf() },
            _ => EngineError::ModelCorrupt { path: config.to_path_buf(), why: e.to_string() },
        })?;
        let cfg: Config = serde_json::from_str(&text).map_err(|e| EngineError::ModelCorrupt {
            path: config.to_path_buf(),
            why: format!("not a Piper voice config: {e}"),
        })?;
        let mut ids = HashMap::new();
        for (k, v) in cfg.phoneme_id_map {
            let mut chars = k.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                ids.insert(c, v);
            }
        }
        let (pad, bos, eos) =
            (single_id(&ids, '_', config)?, single_id(&ids, '^', config)?, single_id(&ids, '$', config)?);
        let phonemizer = Phonemizer::new(&cfg.espeak.voice)?;
        let session = onnx::session(paths, model, threads)?;
        Ok(PiperVoice {
            name: name.to_owned(),
            rate: cfg.audio.sample_rate,
            scales: [cfg.inference.noise_scale, cfg.inference.length_scale, cfg.inference.noise_w],
            multi_speaker: cfg.num_speakers > 1,
            ids,
            pad,
            bos,
            eos,
            phonemizer,
            sessions: SessionPool::new(paths, model, threads, session),
        })
    }

    /// Makes sure `n` sessions are loaded, so that `n` clauses can run at once (one per inference
    /// pool thread) without the first concurrent call paying a session load (seconds) mid-call.
    pub fn prepare_sessions(&self, n: usize) -> Result<(), EngineError> {
        self.sessions.prepare(n)
    }

    /// The phonemiser (for tests and tools).
    pub fn phonemizer(&self) -> &Phonemizer {
        &self.phonemizer
    }

    /// Piper's id sequence for an IPA string.
    pub fn phoneme_ids(&self, phonemes: &str) -> Vec<i64> {
        let mut out = vec![self.bos, self.pad];
        let decomposed = phonemes.chars().flat_map(|c| match c {
            'ç' => ['c', '\u{327}'].into_iter().take(2),
            c => [c, c].into_iter().take(1),
        });
        for c in decomposed {
            if let Some(ids) = self.ids.get(&c) {
                out.extend_from_slice(ids);
                out.push(self.pad);
            }
        }
        out.push(self.eos);
        out
    }

    /// Runs the model on an id sequence.
    pub fn synthesize_ids(&self, ids: Vec<i64>) -> Result<Vec<f32>, EngineError> {
        let mut session = self.sessions.take()?;
        let result = self.run(&mut session, ids);
        self.sessions.give_back(session);
        result
    }

    fn run(&self, session: &mut Session, ids: Vec<i64>) -> Result<Vec<f32>, EngineError> {
        let inf = |e: ort::Error| EngineError::Inference(format!("Piper: {e}"));
        let n = ids.len();
        let input = Tensor::from_array(([1usize, n], ids)).map_err(inf)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(inf)?;
        let scales = Tensor::from_array(([3usize], self.scales.to_vec())).map_err(inf)?;
        let outputs = if self.multi_speaker {
            let sid = Tensor::from_array(([1usize], vec![0i64])).map_err(inf)?;
            session.run(
                ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales, "sid" => sid],
            )
        } else {
            session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales])
        }
        .map_err(inf)?;
        let out = outputs.get("output").ok_or_else(|| EngineError::Inference("Piper: no `output`".into()))?;
        let (_, audio) = out.try_extract_tensor::<f32>().map_err(inf)?;
        Ok(audio.iter().map(|s| s.clamp(-1.0, 1.0)).collect())
    }
}

impl Synthesizer for PiperVoice {
    fn name(&self) -> &str {
        &self.name
    }

    fn rate(&self) -> u32 {
        self.rate
    }

    fn synthesize_clause(&self, clause: &str) -> Result<Vec<f32>, EngineError> {
        let phonemes = self.phonemizer.phonemize(clause)?;
        if phonemes.trim().is_empty() {
            return Ok(Vec::new());
        }
        self.synthesize_ids(self.phoneme_ids(&phonemes))
    }
}
