//! Whisper speech recognition with candle, from CTranslate2 checkpoints, and a sans-IO
//! streaming session that turns it into partial and final results.
//!
//! # Models
//!
//! The weights are the faster-whisper `model.bin` files that PyPI wheels carry (see
//! `frontdesk models fetch`): `whisper-tiny.en` (default, English-only) and `whisper-base`
//! (multilingual; we force English and the transcribe task). The `ct2` module parses the binary
//! format and maps the names onto `candle_transformers::models::whisper::model::Whisper`; the
//! shape is read from the variables themselves. A missing file is
//! [`EngineError::ModelMissing`], a truncated or damaged one [`EngineError::ModelCorrupt`], both
//! naming the file and `frontdesk models fetch`.
//!
//! # Decoding (what was measured to work on 2 cores)
//!
//! - **Encoder input cut to the speech plus a margin.** Whisper is trained on 30 s windows and
//!   the encoder is the expensive half. We compute mel frames only for the audio plus
//!   [`WhisperOptions::margin_ms`] of silence (3 s for tiny.en, 1 s for base: the measured
//!   settings with the full-window WER; partial decodes use the shorter
//!   [`WhisperOptions::partial_margin_ms`], 1 s), and for a final decode at least
//!   [`WhisperOptions::min_window_ms`] in all (6 s for tiny.en: a 1-2 s utterance with only 3 s
//!   of silence is where the cut window lost words against the full one; utterances of 3 s and
//!   more are not affected; audio under 2 s gets at least 8 s,
//!   [`WhisperOptions::short_min_window_ms`]), rounded up to an even frame count (the second convolution halves
//!   it). The encoder slices its sinusoidal position table to the input
//!   length, so nothing else changes. This halves the real-time factor and cuts the latency after
//!   end of speech from about 1.4 s to 0.5 s.
//! - **Repetition guard.** A cut input can make Whisper loop; decoding is capped at
//!   `10 + 6 tokens per second of audio` and stops on a repeated n-gram (module `decode`).
//!   A timestamped segment after the first that opens at or after the end of the audio (in the
//!   margin's silence) is dropped: there Whisper re-reads the last words ("extension. Extension").
//! - **Hallucination on silence.** Digitally silent input (RMS below
//!   [`WhisperOptions::silence_rms`]) is not decoded at all. Otherwise, as in openai-whisper, a
//!   result whose no-speech probability exceeds 0.6 while its mean token log-probability is
//!   below -1 is dropped (empty transcript). Callers should still gate with the VAD: Whisper
//!   happily turns noise into "you".
//! - Greedy decoding with timestamp tokens; word timings are interpolated inside the timestamped
//!   segments (see module `words`); confidences come from token log-probabilities.
//! - **Our own encoder** (module `encoder`): candle-transformers' arithmetic with a vectorised
//!   GELU (module `simd`): about a sixth less CPU per decode on one core (see
//!   docs/performance.md; logits from an f16 copy of the token embedding were tried and were
//!   slower without F16C conversions in safe code).
//! - **Key/value-cached decoder** (module `kv`): each step feeds only the new token; the
//!   uncached path of candle-transformers is kept behind [`WhisperOptions::kv_cache`] and the
//!   tests check both give the same tokens.
//! - **Drafts from partial results**: [`WhisperTranscriber::decode_with_draft`] takes the tokens
//!   of an earlier decode of the start of the same audio and verifies them in one decoder pass
//!   (greedy decoding accepts the agreeing prefix; the result is the same as without it). The
//!   streaming session passes each partial's tokens to the next decode of the segment.
//! - Long audio (over 30 s with the margin) is read in 30 s windows; each keeps the segments
//!   closed by a timestamp and the next window starts at the last one's end.
//!
//! # Threads
//!
//! [`WhisperTranscriber`] is `Send + Sync`; each call clones the model handle (tensors are
//! shared, only the per-call caches are new), so calls on several pool threads run in parallel.
//! For these model sizes one thread per decode is as fast as two: run one decode per core and set
//! `RAYON_NUM_THREADS=1` in the process so candle's matrix products do not compete.

mod ct2;
mod decode;
mod encoder;
mod kv;
pub mod mel;
pub mod paths;
mod simd;
pub mod stream;
mod words;

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::model::Whisper;
use frontdesk_engines::{DecodeOptions, EngineError, Transcriber, Transcript};
use tokenizers::Tokenizer;

pub use decode::StopReason;
use decode::{Greedy, Special, Stepper};
use encoder::Encoder;
use kv::KvDecoder;
use mel::{HOP, MelSpectrogram, N_MELS};

/// Samples per second the transcriber takes.
pub const SAMPLE_RATE: u32 = 16_000;
/// Longest encoder input: 30 s, 3000 mel frames.
const MAX_FRAMES: usize = 3000;

/// The packaged Whisper models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WhisperModel {
    /// English-only tiny model (39 M parameters), the default.
    #[default]
    TinyEn,
    /// Multilingual base model (74 M parameters), forced to English.
    Base,
}

impl WhisperModel {
    /// The model's directory name under the models directory.
    pub fn id(self) -> &'static str {
        match self {
            WhisperModel::TinyEn => "whisper-tiny.en",
            WhisperModel::Base => "whisper-base",
        }
    }

    /// Parses `tiny.en`, `base` (or the ids themselves).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim_start_matches("whisper-") {
            "tiny.en" | "tiny" => Some(WhisperModel::TinyEn),
            "base" => Some(WhisperModel::Base),
            _ => None,
        }
    }

    /// The measured decoding settings for this model.
    pub fn default_options(self) -> WhisperOptions {
        let (margin_ms, min_window_ms, short_audio_ms, short_min_window_ms) = match self {
            WhisperModel::TinyEn => (3000, 6000, 2000, 8000),
            WhisperModel::Base => (1000, 0, 0, 0),
        };
        WhisperOptions {
            margin_ms,
            partial_margin_ms: margin_ms.min(1000),
            min_window_ms,
            short_audio_ms,
            short_min_window_ms,
            ..WhisperOptions::default()
        }
    }
}

/// The least input (audio plus silence, ms) a decode of `samples` (16 kHz) gets: none for a
/// partial, [`WhisperOptions::short_min_window_ms`] for a final of audio under
/// [`WhisperOptions::short_audio_ms`], else [`WhisperOptions::min_window_ms`].
fn min_input_ms(o: &WhisperOptions, samples: usize, partial: bool) -> u32 {
    let short = samples * 1000 < o.short_audio_ms as usize * SAMPLE_RATE as usize;
    match (partial, short) {
        (true, _) => 0,
        (false, true) => o.short_min_window_ms.max(o.min_window_ms),
        (false, false) => o.min_window_ms,
    }
}

/// Decoding settings.
#[derive(Clone, Debug, PartialEq)]
pub struct WhisperOptions {
    /// Silence appended after the audio before the encoder (the rest of the 30 s window is not
    /// computed). `None`-like large values (>= 30 s) give the standard full window.
    pub margin_ms: u32,
    /// The margin for partial decodes ([`DecodeOptions::partial`]): a partial re-encodes the
    /// whole growing segment, and the encoder's cost is that of audio plus margin, so a shorter
    /// margin makes partials cheaper. Their tokens only serve as the final decode's draft (the
    /// final's result does not depend on them) and as early text.
    pub partial_margin_ms: u32,
    /// Final decodes see at least this much input (audio plus silence): short utterances get
    /// more than [`WhisperOptions::margin_ms`] of silence. Whisper reads a 1-2 s word better
    /// inside a longer window (0: off).
    pub min_window_ms: u32,
    /// Final decodes of audio shorter than this see at least
    /// [`WhisperOptions::short_min_window_ms`] instead of [`WhisperOptions::min_window_ms`]
    /// (0: off).
    pub short_audio_ms: u32,
    /// The minimum input for audio under [`WhisperOptions::short_audio_ms`]: single words ("yes",
    /// "transfer", a digit) are where a longer window still gains (measured: tiny.en's whole gain
    /// from 6 s to 8 s comes from prompts under 2 s), and they are cheap to decode anyway.
    pub short_min_window_ms: u32,
    /// Token cap: this many tokens plus [`WhisperOptions::max_tokens_per_second`] per second.
    pub max_tokens_base: usize,
    /// Token cap per second of audio.
    pub max_tokens_per_second: f32,
    /// A result is dropped when its no-speech probability is above this...
    pub no_speech_threshold: f32,
    /// ...and its mean text-token log-probability below this.
    pub logprob_threshold: f32,
    /// Input whose RMS is below this is silence and is not decoded.
    pub silence_rms: f32,
    /// Decode with the key/value-cached decoder (module `kv`); `false` runs candle-transformers'
    /// decoder over the whole sequence at each step (same transcripts, slower; kept for checks).
    pub kv_cache: bool,
}

impl Default for WhisperOptions {
    fn default() -> Self {
        Self {
            margin_ms: 3000,
            partial_margin_ms: 1000,
            min_window_ms: 0,
            short_audio_ms: 0,
            short_min_window_ms: 0,
            max_tokens_base: 10,
            max_tokens_per_second: 6.0,
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            silence_rms: 1e-4,
            kv_cache: true,
        }
    }
}

/// One decode with the details behind the transcript.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The result (empty when dropped as no speech).
    pub transcript: Transcript,
    /// Probability of `<|nocaptions|>` at the first step (highest over windows).
    pub no_speech_prob: f32,
    /// Mean log-probability of the text tokens.
    pub avg_logprob: f32,
    /// Tokens generated (text and timestamps).
    pub tokens: usize,
    /// The generated token ids of the first window (a draft for a later decode of the same
    /// audio grown longer: [`WhisperTranscriber::decode_with_draft`]).
    pub token_ids: Vec<u32>,
    /// Mel frames fed to the encoder (last window).
    pub encoder_frames: usize,
    /// Why decoding stopped (last window).
    pub stop: StopReason,
}

/// Whisper as a [`Transcriber`].
#[derive(Debug)]
pub struct WhisperTranscriber {
    name: String,
    /// candle-transformers' model: its uncached decoder backs `kv_cache: false`, and its
    /// encoder is the reference that [`Encoder`] is tested against.
    model: Whisper,
    encoder: Encoder,
    decoder: KvDecoder,
    tokenizer: Tokenizer,
    special: Special,
    suppress: Vec<u32>,
    suppress_begin: Vec<u32>,
    mel: MelSpectrogram,
    opts: WhisperOptions,
}

fn corrupt(path: &Path, why: impl std::fmt::Display) -> EngineError {
    EngineError::ModelCorrupt { path: path.to_owned(), why: why.to_string() }
}

fn read_ids(v: &serde_json::Value, key: &str) -> Vec<u32> {
    v.get(key)
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_u64()).filter_map(|x| u32::try_from(x).ok()).collect())
        .unwrap_or_default()
}

impl WhisperTranscriber {
    /// Loads `<models_dir>/<model id>/` with the model's measured settings.
    pub fn load(model: WhisperModel, models_dir: &Path) -> Result<Self, EngineError> {
        Self::load_dir(&models_dir.join(model.id()), model.id(), model.default_options())
    }

    /// Loads `model.bin`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load_dir(dir: &Path, name: &str, opts: WhisperOptions) -> Result<Self, EngineError> {
        let file = |f: &str| -> Result<std::path::PathBuf, EngineError> {
            let path = dir.join(f);
            if path.is_file() { Ok(path) } else { Err(EngineError::ModelMissing { path }) }
        };
        let (bin, cfg_path, tok_path) = (file("model.bin")?, file("config.json")?, file("tokenizer.json")?);
        let (cfg, tensors) = ct2::load(&bin)?;
        let vb = VarBuilder::from_tensors(tensors, ct2::DTYPE, &Device::Cpu);
        let model = Whisper::load(&vb, cfg.clone()).map_err(|e| corrupt(&bin, e))?;
        let decoder = KvDecoder::load(&vb, &cfg).map_err(|e| corrupt(&bin, e))?;
        let encoder = Encoder::load(&vb, &cfg).map_err(|e| corrupt(&bin, e))?;

        let json = std::fs::read(&cfg_path).map_err(|e| corrupt(&cfg_path, e))?;
        let json: serde_json::Value = serde_json::from_slice(&json).map_err(|e| corrupt(&cfg_path, e))?;
        let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| corrupt(&tok_path, e))?;
        let id = |t: &str| tokenizer.token_to_id(t);
        let need = |t: &str| id(t).ok_or_else(|| corrupt(&tok_path, format!("no {t} token")));
        let multilingual = cfg.vocab_size >= 51865;
        let no_timestamps = need("<|notimestamps|>")?;
        let special = Special {
            sot: need("<|startoftranscript|>")?,
            eot: need("<|endoftext|>")?,
            ts_begin: no_timestamps + 1,
            no_speech: id("<|nocaptions|>").or_else(|| id("<|nospeech|>")),
            start_of_prev: id("<|startofprev|>"),
            en: if multilingual { Some(need("<|en|>")?) } else { None },
            transcribe: if multilingual { Some(need("<|transcribe|>")?) } else { None },
        };
        if special.ts_begin as usize + 1501 > cfg.vocab_size {
            return Err(corrupt(
                &tok_path,
                format!("does not match the model (vocabulary {})", cfg.vocab_size),
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            model,
            encoder,
            decoder,
            tokenizer,
            special,
            suppress: read_ids(&json, "suppress_ids"),
            suppress_begin: read_ids(&json, "suppress_ids_begin"),
            mel: MelSpectrogram::new(),
            opts,
        })
    }

    /// The decoding settings.
    pub fn options(&self) -> &WhisperOptions {
        &self.opts
    }

    /// Changes the decoding settings.
    pub fn set_options(&mut self, opts: WhisperOptions) {
        self.opts = opts;
    }

    fn margin_ms(&self, opts: &DecodeOptions) -> u32 {
        if opts.partial { self.opts.partial_margin_ms } else { self.opts.margin_ms }
    }

    /// Encoder frames for `samples` of audio: audio plus margin, at least the minimum window
    /// for a final decode, an even count (the second convolution halves it), at most 30 s.
    fn frames(&self, samples: usize, margin_ms: u32, partial: bool) -> usize {
        let margin = margin_ms as usize * SAMPLE_RATE as usize / 1000;
        let min = min_input_ms(&self.opts, samples, partial) as usize * SAMPLE_RATE as usize / 1000;
        (samples + margin).max(min).div_ceil(HOP).div_ceil(2).saturating_mul(2).clamp(2, MAX_FRAMES)
    }

    /// True for the multilingual models (forced to English).
    pub fn is_multilingual(&self) -> bool {
        self.special.en.is_some()
    }

    fn prompt(&self, hints: &[String]) -> (Vec<u32>, usize) {
        let mut prompt = Vec::new();
        if let (Some(prev), false) = (self.special.start_of_prev, hints.is_empty()) {
            let text = format!(" {}", hints.join(", "));
            if let Ok(enc) = self.tokenizer.encode(text, false) {
                let ids = enc.get_ids();
                // openai-whisper keeps the last n_text_ctx / 2 - 1 prompt tokens.
                let keep = ids.len().min(self.model.config.max_target_positions / 2 - 1);
                prompt.push(prev);
                prompt.extend_from_slice(&ids[ids.len() - keep..]);
            }
        }
        let sot_index = prompt.len();
        prompt.push(self.special.sot);
        prompt.extend(self.special.en);
        prompt.extend(self.special.transcribe);
        (prompt, sot_index)
    }

    /// Decodes one window. With `more` (audio follows the window), only the timestamped
    /// segments closed inside it are kept; the second value is how many samples they cover.
    fn decode_window(
        &self,
        pcm: &[f32],
        opts: &DecodeOptions,
        draft: &[u32],
        more: bool,
    ) -> Result<(Decoded, usize), EngineError> {
        let audio_ms = (pcm.len() as u64 * 1000 / u64::from(SAMPLE_RATE)) as u32;
        let frames = self.frames(pcm.len(), self.margin_ms(opts), opts.partial);
        let inf = |e: candle_core::Error| EngineError::Inference(e.to_string());
        let features = self.mel.compute(pcm, frames);
        let features = Tensor::from_vec(features, (1, N_MELS, frames), &Device::Cpu).map_err(inf)?;
        let mut model = self.model.clone();
        let encoded = self.encoder.forward(&features).map_err(inf)?;
        let seconds = pcm.len() as f32 / SAMPLE_RATE as f32;
        let (prompt, sot_index) = self.prompt(&opts.hints);
        let g = Greedy {
            special: &self.special,
            suppress: &self.suppress,
            suppress_begin: &self.suppress_begin,
            max_tokens: self.opts.max_tokens_base
                + (self.opts.max_tokens_per_second * seconds).ceil() as usize,
            max_ts: (frames / 2) as u32,
            max_positions: model.config.max_target_positions,
        };
        let mut stepper = if self.opts.kv_cache {
            Stepper::Cached { decoder: &self.decoder, state: self.decoder.start(&encoded).map_err(inf)? }
        } else {
            Stepper::Full { model: &mut model, features: &encoded, seq: Vec::new() }
        };
        let mut run = decode::greedy(&mut stepper, &prompt, sot_index, draft, &g).map_err(inf)?;
        let mut consumed = pcm.len();
        if !more {
            let audio_end = (pcm.len() / (2 * HOP)) as u32;
            if let Some(cut) = decode::segment_in_margin(&run.tokens, self.special.ts_begin, audio_end) {
                run.tokens.truncate(cut);
                run.logprobs.truncate(cut);
            }
        }
        if more {
            // Keep the segments closed by a timestamp; the next window starts at that time.
            let ts = self.special.ts_begin;
            let last_close = run
                .tokens
                .iter()
                .enumerate()
                .filter(|(i, t)| **t >= ts && *i > 0 && run.tokens.get(i - 1).is_some_and(|p| *p < ts))
                .map(|(i, t)| (i, (*t - ts) as usize * 2 * HOP))
                .next_back();
            if let Some((i, at)) = last_close.filter(|(_, at)| *at >= SAMPLE_RATE as usize && *at < pcm.len())
            {
                run.tokens.truncate(i + 1);
                run.logprobs.truncate(i + 1);
                consumed = at;
            }
        }
        let avg_logprob = words::avg_logprob(&run, &self.special);
        let mut transcript = words::transcript(&run, &self.tokenizer, &self.special, audio_ms)?;
        if run.no_speech_prob > self.opts.no_speech_threshold && avg_logprob < self.opts.logprob_threshold {
            transcript = Transcript::default();
        }
        let d = Decoded {
            transcript,
            no_speech_prob: run.no_speech_prob,
            avg_logprob,
            tokens: run.tokens.len(),
            token_ids: run.tokens,
            encoder_frames: frames,
            stop: run.stop.unwrap_or(StopReason::EndOfText),
        };
        Ok((d, consumed))
    }

    /// The largest difference between this crate's encoder output and candle-transformers'
    /// encoder output for `pcm` (with the final decode's margin), relative to the largest
    /// magnitude: the check that the vectorised encoder computes the same function.
    #[doc(hidden)]
    pub fn encoder_deviation(&self, pcm: &[f32]) -> Result<f32, EngineError> {
        let inf = |e: candle_core::Error| EngineError::Inference(e.to_string());
        let frames = self.frames(pcm.len(), self.opts.margin_ms, false);
        let features = Tensor::from_vec(self.mel.compute(pcm, frames), (1, N_MELS, frames), &Device::Cpu)
            .map_err(inf)?;
        let ours = self.encoder.forward(&features).map_err(inf)?;
        let theirs = self.model.clone().encoder.forward(&features, true).map_err(inf)?;
        let diff = (&ours - &theirs).and_then(|d| d.abs()?.max_all()?.to_scalar::<f32>()).map_err(inf)?;
        let scale = theirs.abs().and_then(|t| t.max_all()?.to_scalar::<f32>()).map_err(inf)?;
        Ok(diff / scale.max(f32::MIN_POSITIVE))
    }

    /// Transcribes mono 16 kHz audio, with the details behind the transcript.
    pub fn decode(&self, pcm: &[f32], opts: &DecodeOptions) -> Result<Decoded, EngineError> {
        self.decode_with_draft(pcm, opts, &[])
    }

    /// [`WhisperTranscriber::decode`] with a guess of the output: the
    /// [`Decoded::token_ids`] of an earlier decode of the start of the same audio (a partial
    /// result). The transcript is the same as without it; the agreeing part of the guess is
    /// checked in one decoder pass instead of one pass per token.
    pub fn decode_with_draft(
        &self,
        pcm: &[f32],
        opts: &DecodeOptions,
        draft: &[u32],
    ) -> Result<Decoded, EngineError> {
        if pcm.iter().any(|s| !s.is_finite()) {
            return Err(EngineError::Input("audio contains NaN or infinite samples".into()));
        }
        let silent = Decoded {
            transcript: Transcript::default(),
            no_speech_prob: 1.0,
            avg_logprob: f32::NEG_INFINITY,
            tokens: 0,
            token_ids: Vec::new(),
            encoder_frames: 0,
            stop: StopReason::Silence,
        };
        let rms =
            (pcm.iter().map(|s| f64::from(*s) * f64::from(*s)).sum::<f64>() / pcm.len().max(1) as f64).sqrt();
        if pcm.is_empty() || rms < f64::from(self.opts.silence_rms) {
            return Ok(silent);
        }
        // Audio that fits in 30 s with the margin is one window. Longer audio is read as in
        // openai-whisper: 30 s windows of audio (no margin: the window edge is not the end of
        // speech), each keeping its segments closed by a timestamp, the next starting where the
        // last of them ends, so no word is cut at a window edge; the last window gets the margin.
        let margin =
            (self.margin_ms(opts) as usize * SAMPLE_RATE as usize / 1000).min(10 * SAMPLE_RATE as usize);
        let last_window = MAX_FRAMES * HOP - margin;
        let mut all: Option<Decoded> = None;
        let mut texts = Vec::new();
        let mut seek = 0usize;
        while seek < pcm.len() {
            let left = pcm.len() - seek;
            let end = if left <= last_window { pcm.len() } else { seek + MAX_FRAMES * HOP };
            let chunk = pcm.get(seek..end).unwrap_or(&[]);
            let draft = if seek == 0 { draft } else { &[] };
            let (mut d, consumed) = self.decode_window(chunk, opts, draft, end < pcm.len())?;
            let offset = (seek * 1000 / SAMPLE_RATE as usize) as u32;
            seek += consumed.max(1);
            for w in &mut d.transcript.words {
                w.start_ms += offset;
                w.end_ms += offset;
            }
            if !d.transcript.text.is_empty() {
                texts.push(d.transcript.text.clone());
            }
            all = Some(match all {
                None => d,
                Some(mut acc) => {
                    let (n0, n1) = (acc.transcript.words.len() as f32, d.transcript.words.len() as f32);
                    if n0 + n1 > 0.0 {
                        acc.transcript.confidence =
                            (acc.transcript.confidence * n0 + d.transcript.confidence * n1) / (n0 + n1);
                    }
                    acc.transcript.words.extend(d.transcript.words);
                    acc.no_speech_prob = acc.no_speech_prob.max(d.no_speech_prob);
                    acc.avg_logprob = acc.avg_logprob.max(d.avg_logprob);
                    acc.tokens += d.tokens;
                    acc.encoder_frames = d.encoder_frames;
                    acc.stop = d.stop;
                    acc
                }
            });
        }
        let mut out = all.unwrap_or(silent);
        out.transcript.text = texts.join(" ");
        Ok(out)
    }

    /// Runs a [`stream::DecodeRequest`] (with its draft). Report the result with
    /// [`stream::StreamSession::handle_result_with_draft`], passing [`Decoded::token_ids`].
    pub fn run(&self, req: &stream::DecodeRequest) -> Result<Decoded, EngineError> {
        self.decode_with_draft(&req.pcm, &req.options, &req.draft)
    }
}

impl Transcriber for WhisperTranscriber {
    fn name(&self) -> &str {
        &self.name
    }

    fn transcribe(&self, pcm_16k: &[f32], opts: &DecodeOptions) -> Result<Transcript, EngineError> {
        self.decode(pcm_16k, opts).map(|d| d.transcript)
    }
}

/// Converts mono audio at `rate` to the 16 kHz the transcriber takes (the codec crate's
/// resampler, with its filter delay removed so times line up with the input).
pub fn to_16k(pcm: &[f32], rate: frontdesk_types::SampleRate) -> Result<Vec<f32>, EngineError> {
    use frontdesk_types::SampleRate;
    if rate == SampleRate::Hz16000 {
        return Ok(pcm.to_vec());
    }
    let err = |e: frontdesk_codec::CodecError| EngineError::Input(format!("resampling: {e}"));
    let mut rs = frontdesk_codec::Resampler::new(rate, SampleRate::Hz16000).map_err(err)?;
    let delay = rs.delay_out_samples();
    let mut out = Vec::with_capacity(pcm.len() * 16_000 / rate.hz() as usize + delay + 64);
    rs.push_f32(pcm, &mut out).map_err(err)?;
    rs.flush_f32(&mut out).map_err(err)?;
    out.drain(..delay.min(out.len()));
    Ok(out)
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn short_audio_gets_the_longer_minimum_input() {
        let o = WhisperModel::TinyEn.default_options();
        let at = |ms: usize| ms * SAMPLE_RATE as usize / 1000;
        assert_eq!(min_input_ms(&o, at(900), false), 8000, "a single word");
        assert_eq!(min_input_ms(&o, at(1999), false), 8000);
        assert_eq!(min_input_ms(&o, at(2000), false), 6000, "2-3 s utterances keep 6 s");
        assert_eq!(min_input_ms(&o, at(900), true), 0, "partials have no minimum");
        let base = WhisperModel::Base.default_options();
        assert_eq!(min_input_ms(&base, at(900), false), 0);
        let off = WhisperOptions { short_min_window_ms: 4000, ..o };
        assert_eq!(min_input_ms(&off, at(900), false), 6000, "never below min_window_ms");
    }
}
