//! Whisper's audio encoder, written on candle-nn operations over the weights the loader
//! produced.
//!
//! The arithmetic is candle-transformers' `AudioEncoder` (two convolutions with GELU, sinusoidal
//! positions sliced to the input length, pre-norm attention blocks with queries and keys each
//! scaled by `head_dim^-0.25`, a final layer norm); what differs is that GELU runs through
//! [`crate::simd::gelu`] instead of candle's element-wise `tanhf`, which took about a quarter of
//! the encoder's time. A test checks the two encoders agree on real audio.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, LayerNorm, Linear, Module, VarBuilder};
use candle_transformers::models::whisper::Config;

/// GELU (tanh form) as a candle operation over contiguous f32 tensors.
struct FastGelu;

impl CustomOp1 for FastGelu {
    fn name(&self) -> &'static str {
        "fast-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(v) = storage else {
            candle_core::bail!("fast-gelu takes f32, not {:?}", storage.dtype())
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("fast-gelu takes a contiguous tensor")
        };
        let mut out = v[start..end].to_vec();
        crate::simd::gelu(&mut out);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// GELU of `x` (tanh form, as candle's `Tensor::gelu`), vectorised.
pub(crate) fn gelu(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&FastGelu)
}

pub(crate) fn linear(vb: &VarBuilder<'_>, i: usize, o: usize, bias: bool) -> Result<Linear> {
    let w = vb.get((o, i), "weight")?;
    let b = if bias { Some(vb.get(o, "bias")?) } else { None };
    Ok(Linear::new(w, b))
}

pub(crate) fn layer_norm(vb: &VarBuilder<'_>, n: usize) -> Result<LayerNorm> {
    Ok(LayerNorm::new(vb.get(n, "weight")?, vb.get(n, "bias")?, 1e-5))
}

fn conv1d(vb: &VarBuilder<'_>, i: usize, o: usize, stride: usize) -> Result<Conv1d> {
    let cfg = Conv1dConfig { padding: 1, stride, dilation: 1, groups: 1, cudnn_fwd_algo: None };
    Ok(Conv1d::new(vb.get((o, i, 3), "weight")?, Some(vb.get(o, "bias")?), cfg))
}

/// Whisper's sinusoidal position table `[length, channels]`.
fn sinusoids(length: usize, channels: usize, dev: &Device) -> Result<Tensor> {
    let increment = 10_000f32.ln() / (channels / 2 - 1) as f32;
    let inv: Vec<f32> = (0..channels / 2).map(|i| (i as f32 * -increment).exp()).collect();
    let inv = Tensor::new(inv.as_slice(), dev)?.unsqueeze(0)?;
    let t = Tensor::arange(0, length as u32, dev)?.to_dtype(DType::F32)?.unsqueeze(1)?;
    let shape = (length, channels / 2);
    let scaled = (t.broadcast_as(shape)? * inv.broadcast_as(shape)?)?;
    Tensor::cat(&[scaled.sin()?, scaled.cos()?], 1)
}

#[derive(Clone, Debug)]
struct Block {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    attn_ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    mlp_ln: LayerNorm,
}

/// The encoder weights (shared tensors; cloning is cheap).
#[derive(Clone, Debug)]
pub(crate) struct Encoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    blocks: Vec<Block>,
    ln_post: LayerNorm,
    n_head: usize,
}

impl Encoder {
    /// Loads the encoder from the `model.encoder` prefix of the loader's variables.
    pub(crate) fn load(vb: &VarBuilder<'_>, cfg: &Config) -> Result<Self> {
        let vb = vb.pp("model.encoder");
        let n = cfg.d_model;
        let blocks = (0..cfg.encoder_layers)
            .map(|i| {
                let b = vb.pp(format!("layers.{i}"));
                let a = b.pp("self_attn");
                Ok(Block {
                    q: linear(&a.pp("q_proj"), n, n, true)?,
                    k: linear(&a.pp("k_proj"), n, n, false)?,
                    v: linear(&a.pp("v_proj"), n, n, true)?,
                    out: linear(&a.pp("out_proj"), n, n, true)?,
                    attn_ln: layer_norm(&b.pp("self_attn_layer_norm"), n)?,
                    fc1: linear(&b.pp("fc1"), n, 4 * n, true)?,
                    fc2: linear(&b.pp("fc2"), 4 * n, n, true)?,
                    mlp_ln: layer_norm(&b.pp("final_layer_norm"), n)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            conv1: conv1d(&vb.pp("conv1"), cfg.num_mel_bins, n, 1)?,
            conv2: conv1d(&vb.pp("conv2"), n, n, 2)?,
            positions: sinusoids(cfg.max_source_positions, n, vb.device())?,
            blocks,
            ln_post: layer_norm(&vb.pp("layer_norm"), n)?,
            n_head: cfg.encoder_attention_heads,
        })
    }

    /// `[1, t, n_state]` -> `[1, n_head, t, head_dim]`.
    fn heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, n) = x.dims3()?;
        x.reshape((b, t, self.n_head, n / self.n_head))?.transpose(1, 2)
    }

    fn attention(&self, b: &Block, x: &Tensor) -> Result<Tensor> {
        let (_, _, n) = x.dims3()?;
        let scale = ((n / self.n_head) as f64).powf(-0.25);
        let q = (self.heads(&b.q.forward(x)?)? * scale)?;
        let k = (self.heads(&b.k.forward(x)?)?.transpose(2, 3)? * scale)?;
        let v = self.heads(&b.v.forward(x)?)?.contiguous()?;
        let w = candle_nn::ops::softmax_last_dim(&q.matmul(&k)?)?;
        let a = w.matmul(&v)?.transpose(1, 2)?.flatten_from(2)?;
        b.out.forward(&a)
    }

    /// Encodes log-mel features `[1, n_mels, frames]` into `[1, frames / 2, n_state]`.
    pub(crate) fn forward(&self, features: &Tensor) -> Result<Tensor> {
        let x = gelu(&self.conv1.forward(features)?)?;
        let x = gelu(&self.conv2.forward(&x)?)?.transpose(1, 2)?;
        let (_, len, _) = x.dims3()?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        for b in &self.blocks {
            x = (&x + self.attention(b, &b.attn_ln.forward(&x)?)?)?;
            let m = b.fc2.forward(&gelu(&b.fc1.forward(&b.mlp_ln.forward(&x)?)?)?)?;
            x = (x + m)?;
        }
        self.ln_post.forward(&x)
    }
}
