//! CTranslate2 `model.bin` reader and the name mapping to candle's Whisper.
//!
//! The Whisper weights that PyPI packages carry are faster-whisper (CTranslate2) checkpoints.
//! The file is little-endian:
//!
//! ```text
//! u32 binary version (>= 5)
//! string spec name ("WhisperSpec")      string = u16 length including a NUL, then the bytes
//! u32 spec revision
//! u32 variable count
//! per variable: string name, u8 rank, rank x u32 dims, u8 dtype, u32 byte count, bytes
//! u32 alias count, per alias: string alias, string target          (version >= 5)
//! ```
//!
//! dtypes: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16. Float variables of rank >= 1 become f32
//! tensors; integer scalars are model attributes (`encoder/num_heads`); int8-quantised weights
//! (with `*_scale` companions) are not supported and make the checkpoint "corrupt" for us.
//!
//! Names map onto the Hugging Face layout that `candle_transformers::models::whisper::model`
//! reads: `encoder/layer_{i}/self_attention/linear_0` holds q, k and v fused along dim 0 (split
//! in three; k has no bias in Whisper and its stored bias is dropped), `linear_1` is `out_proj`;
//! decoder cross-attention `attention/linear_0` is q and `linear_1` fuses k and v;
//! `*/layer_norm/{gamma,beta}` become `*_layer_norm.{weight,bias}`; `ffn/linear_0|1` are
//! `fc1|fc2` and `ffn/layer_norm` is `final_layer_norm`. The encoder's sinusoidal position table
//! is not loaded: candle computes the same table and slices it to the input length, which is
//! what lets the encoder run on a cut input.
//!
//! Every read is bounds-checked: a truncated or damaged file is an error naming the file, never a
//! panic.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::whisper::Config;
use frontdesk_engines::EngineError;

/// One variable as stored.
#[derive(Debug)]
pub(crate) struct RawVar {
    pub(crate) dims: Vec<usize>,
    pub(crate) dtype: u8,
    pub(crate) bytes: Vec<u8>,
}

/// A parsed checkpoint: variables by CTranslate2 name.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    pub(crate) vars: HashMap<String, RawVar>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or_else(|| format!("length overflow reading {what}"))?;
        let s = self.b.get(self.at..end).ok_or_else(|| {
            format!("truncated: {what} needs bytes {}..{end} of a {}-byte file", self.at, self.b.len())
        })?;
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = usize::from(self.u16(what)?);
        let s = self.take(n, what)?;
        let s = s.strip_suffix(&[0]).unwrap_or(s);
        String::from_utf8(s.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

fn dtype_size(dtype: u8) -> Option<usize> {
    match dtype {
        0 | 3 => Some(4),
        1 => Some(1),
        2 | 4 | 5 => Some(2),
        _ => None,
    }
}

/// Parses a `model.bin` image. Errors are reasons (the caller adds the path).
pub(crate) fn parse(b: &[u8]) -> Result<Checkpoint, String> {
    let mut r = Reader { b, at: 0 };
    let version = r.u32("binary version")?;
    if !(5..=6).contains(&version) {
        return Err(format!("not a CTranslate2 checkpoint of a known version (header says {version})"));
    }
    let spec = r.string("spec name")?;
    if spec != "WhisperSpec" {
        return Err(format!("spec is {spec:?}, not WhisperSpec"));
    }
    let _revision = r.u32("spec revision")?;
    let count = r.u32("variable count")?;
    if count > 100_000 {
        return Err(format!("implausible variable count {count}"));
    }
    let mut vars = HashMap::new();
    for i in 0..count {
        let name = r.string(&format!("name of variable {i}"))?;
        let rank = usize::from(r.u8(&name)?);
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(r.u32(&name)? as usize);
        }
        let dtype = r.u8(&name)?;
        let nbytes = r.u32(&name)? as usize;
        let elems = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let expected = dtype_size(dtype).and_then(|s| elems.and_then(|e| e.checked_mul(s)));
        if expected != Some(nbytes) {
            return Err(format!("variable {name}: {nbytes} bytes for dims {dims:?} of dtype {dtype}"));
        }
        let bytes = r.take(nbytes, &name)?.to_vec();
        vars.insert(name, RawVar { dims, dtype, bytes });
    }
    // Aliases (the output projection tied to the embeddings); not needed by candle, but a file
    // cut exactly after the variables is still truncated.
    let aliases = r.u32("alias count")?;
    for _ in 0..aliases {
        r.string("alias")?;
        r.string("alias target")?;
    }
    if r.at != b.len() {
        return Err(format!("{} unexpected bytes after the aliases", b.len() - r.at));
    }
    Ok(Checkpoint { vars })
}

impl Checkpoint {
    fn get(&self, name: &str) -> Result<&RawVar, String> {
        self.vars.get(name).ok_or_else(|| format!("variable {name} is missing"))
    }

    fn tensor(&self, name: &str) -> Result<Tensor, String> {
        let v = self.get(name)?;
        let dtype = match v.dtype {
            0 => DType::F32,
            4 => DType::F16,
            5 => DType::BF16,
            d => {
                return Err(format!(
                    "variable {name} has dtype {d} (quantised checkpoints are not supported)"
                ));
            }
        };
        // Converted by candle, which is built optimised even in test builds.
        Tensor::from_raw_buffer(&v.bytes, dtype, &v.dims, &Device::Cpu)
            .and_then(|t| t.to_dtype(DTYPE))
            .map_err(|e| format!("{name}: {e}"))
    }

    /// An integer scalar attribute such as `encoder/num_heads`.
    fn int_attr(&self, name: &str) -> Option<i64> {
        let v = self.vars.get(name)?;
        let b = &v.bytes;
        match v.dtype {
            1 => b.first().map(|&x| i64::from(x as i8)),
            2 => Some(i64::from(i16::from_le_bytes([*b.first()?, *b.get(1)?]))),
            3 => Some(i64::from(i32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))),
            _ => None,
        }
    }

    fn dims(&self, name: &str) -> Result<&[usize], String> {
        Ok(&self.get(name)?.dims)
    }

    fn count_layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| self.vars.contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight")))
            .count()
    }

    /// The model shape, read from the variables (the wheel's config.json is CTranslate2's, not
    /// the Hugging Face one).
    pub(crate) fn config(&self) -> Result<Config, String> {
        let conv1 = self.dims("encoder/conv1/weight")?;
        let (d_model, n_mels) = match conv1 {
            [d, m, 3] => (*d, *m),
            other => return Err(format!("encoder/conv1/weight has dims {other:?}")),
        };
        let vocab = match self.dims("decoder/embeddings/weight")? {
            [v, d] if *d == d_model => *v,
            other => return Err(format!("decoder/embeddings/weight has dims {other:?}")),
        };
        let source = self.dims("encoder/position_encodings/encodings")?.first().copied().unwrap_or(0);
        let target = self.dims("decoder/position_encodings/encodings")?.first().copied().unwrap_or(0);
        let heads = |side: &str| {
            self.int_attr(&format!("{side}/num_heads"))
                .and_then(|h| usize::try_from(h).ok())
                .filter(|&h| h > 0 && d_model % h == 0)
                .unwrap_or(d_model / 64)
        };
        let cfg = Config {
            num_mel_bins: n_mels,
            max_source_positions: source,
            d_model,
            encoder_attention_heads: heads("encoder"),
            encoder_layers: self.count_layers("encoder"),
            vocab_size: vocab,
            max_target_positions: target,
            decoder_attention_heads: heads("decoder"),
            decoder_layers: self.count_layers("decoder"),
            suppress_tokens: Vec::new(),
        };
        if cfg.encoder_layers == 0 || cfg.decoder_layers == 0 || source < 2 || target < 8 || n_mels != 80 {
            return Err(format!("implausible model shape {cfg:?}"));
        }
        Ok(cfg)
    }

    /// Converts to candle's names (f32 tensors on the CPU).
    pub(crate) fn to_candle(&self, cfg: &Config) -> Result<HashMap<String, Tensor>, String> {
        let mut out = HashMap::new();
        let d = cfg.d_model;
        let mut put = |name: String, t: Tensor| {
            out.insert(name, t);
        };
        let split = |t: &Tensor, parts: usize, name: &str| -> Result<Vec<Tensor>, String> {
            (0..parts)
                .map(|p| {
                    t.narrow(0, p * d, d).and_then(|x| x.contiguous()).map_err(|e| format!("{name}: {e}"))
                })
                .collect()
        };
        let ln = |src: &str| -> Result<(Tensor, Tensor), String> {
            Ok((self.tensor(&format!("{src}/gamma"))?, self.tensor(&format!("{src}/beta"))?))
        };
        for side in ["encoder", "decoder"] {
            let dst = format!("model.{side}");
            let layers = if side == "encoder" { cfg.encoder_layers } else { cfg.decoder_layers };
            for i in 0..layers {
                let s = format!("{side}/layer_{i}");
                let t = format!("{dst}.layers.{i}");
                // Self-attention: fused q, k, v.
                let w = self.tensor(&format!("{s}/self_attention/linear_0/weight"))?;
                let b = self.tensor(&format!("{s}/self_attention/linear_0/bias"))?;
                let ws = split(&w, 3, "self_attention weight")?;
                let bs = split(&b, 3, "self_attention bias")?;
                for (k, proj) in ["q_proj", "k_proj", "v_proj"].iter().enumerate() {
                    if let Some(w) = ws.get(k) {
                        put(format!("{t}.self_attn.{proj}.weight"), w.clone());
                    }
                    if *proj != "k_proj"
                        && let Some(b) = bs.get(k)
                    {
                        put(format!("{t}.self_attn.{proj}.bias"), b.clone());
                    }
                }
                put(
                    format!("{t}.self_attn.out_proj.weight"),
                    self.tensor(&format!("{s}/self_attention/linear_1/weight"))?,
                );
                put(
                    format!("{t}.self_attn.out_proj.bias"),
                    self.tensor(&format!("{s}/self_attention/linear_1/bias"))?,
                );
                let (g, be) = ln(&format!("{s}/self_attention/layer_norm"))?;
                put(format!("{t}.self_attn_layer_norm.weight"), g);
                put(format!("{t}.self_attn_layer_norm.bias"), be);
                if side == "decoder" {
                    let a = format!("{s}/attention");
                    put(
                        format!("{t}.encoder_attn.q_proj.weight"),
                        self.tensor(&format!("{a}/linear_0/weight"))?,
                    );
                    put(format!("{t}.encoder_attn.q_proj.bias"), self.tensor(&format!("{a}/linear_0/bias"))?);
                    let w = self.tensor(&format!("{a}/linear_1/weight"))?;
                    let b = self.tensor(&format!("{a}/linear_1/bias"))?;
                    let ws = split(&w, 2, "attention weight")?;
                    let bs = split(&b, 2, "attention bias")?;
                    if let (Some(wk), Some(wv), Some(bv)) = (ws.first(), ws.get(1), bs.get(1)) {
                        put(format!("{t}.encoder_attn.k_proj.weight"), wk.clone());
                        put(format!("{t}.encoder_attn.v_proj.weight"), wv.clone());
                        put(format!("{t}.encoder_attn.v_proj.bias"), bv.clone());
                    }
                    put(
                        format!("{t}.encoder_attn.out_proj.weight"),
                        self.tensor(&format!("{a}/linear_2/weight"))?,
                    );
                    put(
                        format!("{t}.encoder_attn.out_proj.bias"),
                        self.tensor(&format!("{a}/linear_2/bias"))?,
                    );
                    let (g, be) = ln(&format!("{a}/layer_norm"))?;
                    put(format!("{t}.encoder_attn_layer_norm.weight"), g);
                    put(format!("{t}.encoder_attn_layer_norm.bias"), be);
                }
                for (src, dstn) in [("linear_0", "fc1"), ("linear_1", "fc2")] {
                    put(format!("{t}.{dstn}.weight"), self.tensor(&format!("{s}/ffn/{src}/weight"))?);
                    put(format!("{t}.{dstn}.bias"), self.tensor(&format!("{s}/ffn/{src}/bias"))?);
                }
                let (g, be) = ln(&format!("{s}/ffn/layer_norm"))?;
                put(format!("{t}.final_layer_norm.weight"), g);
                put(format!("{t}.final_layer_norm.bias"), be);
            }
            let (g, be) = ln(&format!("{side}/layer_norm"))?;
            put(format!("{dst}.layer_norm.weight"), g);
            put(format!("{dst}.layer_norm.bias"), be);
        }
        for conv in ["conv1", "conv2"] {
            put(format!("model.encoder.{conv}.weight"), self.tensor(&format!("encoder/{conv}/weight"))?);
            put(format!("model.encoder.{conv}.bias"), self.tensor(&format!("encoder/{conv}/bias"))?);
        }
        put("model.decoder.embed_tokens.weight".into(), self.tensor("decoder/embeddings/weight")?);
        put(
            "model.decoder.embed_positions.weight".into(),
            self.tensor("decoder/position_encodings/encodings")?,
        );
        Ok(out)
    }
}

/// Reads and parses `path`: missing file -> `ModelMissing`, anything else wrong -> `ModelCorrupt`.
pub(crate) fn load(path: &Path) -> Result<(Config, HashMap<String, Tensor>), EngineError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::ModelMissing { path: path.to_owned() },
        _ => EngineError::ModelCorrupt { path: path.to_owned(), why: e.to_string() },
    })?;
    let corrupt = |why: String| EngineError::ModelCorrupt { path: path.to_owned(), why };
    let ckpt = parse(&bytes).map_err(corrupt)?;
    let cfg = ckpt.config().map_err(corrupt)?;
    let tensors = ckpt.to_candle(&cfg).map_err(corrupt)?;
    Ok((cfg, tensors))
}

/// The dtype the model runs in.
pub(crate) const DTYPE: DType = DType::F32;
