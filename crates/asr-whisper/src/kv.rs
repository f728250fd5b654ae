//! Whisper's text decoder with a key/value cache, written on candle-nn operations over the
//! weights the loader produced.
//!
//! candle-transformers' `TextDecoder` caches only the cross-attention keys and values: each step
//! re-runs self-attention over the whole token sequence, so a run of n tokens costs O(n^2)
//! decoder passes. [`KvDecoder`] computes the cross-attention keys and values once per encoder
//! output ([`KvDecoder::start`]) and keeps each layer's self-attention keys and values across
//! steps ([`DecoderState`]); a step feeds only the new tokens (the whole prompt at first, one
//! token after). Several tokens can be fed in one call (a causal mask covers them), which the
//! draft check in module `decode` uses to verify a guessed continuation in one pass.
//!
//! The arithmetic is the same as candle-transformers' (queries and keys each scaled by
//! `head_dim^-0.25`, pre-norm blocks, GELU MLP, logits from the tied token embedding); only the
//! shapes of the matrix products differ, so results agree to float rounding (the crate's tests
//! check that transcripts are identical).

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{LayerNorm, Linear, Module, VarBuilder};
use candle_transformers::models::whisper::Config;

use crate::encoder::{gelu, layer_norm, linear};

#[derive(Clone, Debug)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
}

impl Attention {
    fn load(vb: &VarBuilder<'_>, n: usize) -> Result<Self> {
        Ok(Self {
            q: linear(&vb.pp("q_proj"), n, n, true)?,
            k: linear(&vb.pp("k_proj"), n, n, false)?,
            v: linear(&vb.pp("v_proj"), n, n, true)?,
            out: linear(&vb.pp("out_proj"), n, n, true)?,
        })
    }
}

#[derive(Clone, Debug)]
struct Block {
    attn: Attention,
    attn_ln: LayerNorm,
    cross: Attention,
    cross_ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    mlp_ln: LayerNorm,
}

/// The decoder weights (shared tensors; cloning is cheap).
#[derive(Clone, Debug)]
pub(crate) struct KvDecoder {
    embedding: Tensor,
    positions: Tensor,
    blocks: Vec<Block>,
    ln: LayerNorm,
    n_head: usize,
    n_state: usize,
}

/// Per-run caches: cross-attention keys/values of one encoder output, and the self-attention
/// keys/values of the tokens fed so far.
#[derive(Debug)]
pub(crate) struct DecoderState {
    cross: Vec<(Tensor, Tensor)>,
    cache: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl DecoderState {
    /// Tokens fed so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Forgets the tokens from position `len` on (a rejected guess).
    pub(crate) fn truncate(&mut self, len: usize) -> Result<()> {
        if len >= self.len {
            return Ok(());
        }
        for c in &mut self.cache {
            if let Some((k, v)) = c.as_ref() {
                *c = if len == 0 { None } else { Some((k.narrow(2, 0, len)?, v.narrow(2, 0, len)?)) };
            }
        }
        self.len = len;
        Ok(())
    }
}

impl KvDecoder {
    /// Loads the decoder from the `model.decoder` prefix of the loader's variables.
    pub(crate) fn load(vb: &VarBuilder<'_>, cfg: &Config) -> Result<Self> {
        let vb = vb.pp("model.decoder");
        let n = cfg.d_model;
        let blocks = (0..cfg.decoder_layers)
            .map(|i| {
                let b = vb.pp(format!("layers.{i}"));
                Ok(Block {
                    attn: Attention::load(&b.pp("self_attn"), n)?,
                    attn_ln: layer_norm(&b.pp("self_attn_layer_norm"), n)?,
                    cross: Attention::load(&b.pp("encoder_attn"), n)?,
                    cross_ln: layer_norm(&b.pp("encoder_attn_layer_norm"), n)?,
                    fc1: linear(&b.pp("fc1"), n, 4 * n, true)?,
                    fc2: linear(&b.pp("fc2"), 4 * n, n, true)?,
                    mlp_ln: layer_norm(&b.pp("final_layer_norm"), n)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embedding: vb.get((cfg.vocab_size, n), "embed_tokens.weight")?,
            positions: vb.get((cfg.max_target_positions, n), "embed_positions.weight")?,
            blocks,
            ln: layer_norm(&vb.pp("layer_norm"), n)?,
            n_head: cfg.decoder_attention_heads,
            n_state: n,
        })
    }

    fn scale(&self) -> f64 {
        ((self.n_state / self.n_head) as f64).powf(-0.25)
    }

    /// `[1, t, n_state]` -> `[1, n_head, t, head_dim]`.
    fn heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, n) = x.dims3()?;
        x.reshape((b, t, self.n_head, n / self.n_head))?.transpose(1, 2)?.contiguous()
    }

    /// Computes the cross-attention keys and values of `features` (the encoder output).
    pub(crate) fn start(&self, features: &Tensor) -> Result<DecoderState> {
        let scale = self.scale();
        let cross = self
            .blocks
            .iter()
            .map(|b| {
                let k = (self.heads(&b.cross.k.forward(features)?)? * scale)?;
                let v = self.heads(&b.cross.v.forward(features)?)?;
                Ok((k.transpose(2, 3)?.contiguous()?, v))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DecoderState { cross, cache: vec![None; self.blocks.len()], len: 0 })
    }

    fn attend(q: &Tensor, kt: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let mut qk = q.matmul(kt)?;
        if let Some(m) = mask {
            qk = qk.broadcast_add(m)?;
        }
        let w = candle_nn::ops::softmax_last_dim(&qk)?;
        w.matmul(v)?.transpose(1, 2)?.flatten_from(2)
    }

    /// Feeds `tokens` after those already in `state`; returns the final hidden states
    /// `[1, tokens.len(), n_state]` (after the last layer norm).
    pub(crate) fn forward(&self, tokens: &[u32], state: &mut DecoderState) -> Result<Tensor> {
        let dev = self.embedding.device();
        let (t, past) = (tokens.len(), state.len);
        let ids = Tensor::new(tokens, dev)?;
        let emb = self.embedding.index_select(&ids, 0)?;
        let pos = self.positions.narrow(0, past, t)?;
        let mut x = (emb + pos)?.unsqueeze(0)?;
        let mask = if t > 1 {
            let m: Vec<f32> = (0..t)
                .flat_map(|i| (0..past + t).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 }))
                .collect();
            Some(Tensor::from_vec(m, (t, past + t), dev)?)
        } else {
            None
        };
        let scale = self.scale();
        for (i, b) in self.blocks.iter().enumerate() {
            let h = b.attn_ln.forward(&x)?;
            let q = (self.heads(&b.attn.q.forward(&h)?)? * scale)?;
            let k = (self.heads(&b.attn.k.forward(&h)?)? * scale)?;
            let v = self.heads(&b.attn.v.forward(&h)?)?;
            let (k, v) = match state.cache.get(i).and_then(Option::as_ref) {
                Some((pk, pv)) => (Tensor::cat(&[pk, &k], 2)?, Tensor::cat(&[pv, &v], 2)?),
                None => (k, v),
            };
            let a = Self::attend(&q, &k.transpose(2, 3)?, &v, mask.as_ref())?;
            if let Some(c) = state.cache.get_mut(i) {
                *c = Some((k, v));
            }
            x = (x + b.attn.out.forward(&a)?)?;
            if let Some((ck, cv)) = state.cross.get(i) {
                let h = b.cross_ln.forward(&x)?;
                let q = (self.heads(&b.cross.q.forward(&h)?)? * scale)?;
                let a = Self::attend(&q, ck, cv, None)?;
                x = (x + b.cross.out.forward(&a)?)?;
            }
            let m = b.fc2.forward(&gelu(&b.fc1.forward(&b.mlp_ln.forward(&x)?)?)?)?;
            x = (x + m)?;
        }
        state.len += t;
        self.ln.forward(&x)
    }

    /// Logits `[vocab]` of the hidden state at index `at` of a [`KvDecoder::forward`] output.
    pub(crate) fn logits(&self, hidden: &Tensor, at: usize) -> Result<Vec<f32>> {
        let h = hidden.i((0, at..at + 1))?;
        h.matmul(&self.embedding.t()?)?.flatten_all()?.to_vec1::<f32>()
    }

    /// Logits `[rows, vocab]` of all positions of a [`KvDecoder::forward`] output.
    pub(crate) fn all_logits(&self, hidden: &Tensor) -> Result<Vec<Vec<f32>>> {
        let h = hidden.i(0)?;
        h.matmul(&self.embedding.t()?)?.to_vec2::<f32>()
    }
}
