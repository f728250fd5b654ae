//! Streaming sample-rate conversion between any two of 8, 16, 22.05, 24 and 48 kHz, by a
//! polyphase FIR filter for the exact rational ratio (module `polyphase`).
//!
//! # Shape
//!
//! A [`Resampler`] converts one mono stream. [`Resampler::push_f32`] / [`Resampler::push_i16`]
//! take a chunk of *any* length (a 20 ms frame, 441 samples of 22.05 kHz TTS, one sample, ten
//! seconds) and append every output sample that chunk makes computable to the caller's `Vec`.
//! The filter state carries across calls, and output positions are integer phase arithmetic, so a
//! stream fed frame by frame gives the same samples, bit for bit, as the stream fed in one piece:
//! no clicks or steps at frame joints, and an output length of exactly `ceil(input_len * ratio)`
//! whatever the chunking. `tests/resample.rs` and the property tests check both.
//!
//! # Drain contract
//!
//! Output is produced synchronously: after a push returns, everything computable from the input
//! so far has been appended; nothing waits in a queue. What is held back is the filter's delay
//! ([`Resampler::delay_out_samples`]), which the output lags the input by. To end a stream and
//! get the tail out, call [`Resampler::flush_f32`] / [`Resampler::flush_i16`]: it feeds silence
//! until the output holds exactly `ceil(input_len * ratio)` samples after the delay, then resets.
//!
//! # Quality and latency (speech)
//!
//! A Blackman-windowed sinc of 64 taps *at the lower of the two rates*, designed at the common
//! multiple rate and split into phases (for downsampling it spans 64 output-rate samples, e.g.
//! 384 input taps for 48 to 8 kHz), with its cutoff at [`CUTOFF`] of the lower Nyquist so that the
//! transition band ends at that Nyquist. Measured (tests/resample.rs checks each claim for every
//! pair):
//!
//! - passband flat (within 0.2 dB) to 0.85 of the lower Nyquist: 3.4 kHz at 8 kHz (the whole
//!   telephone band), 6.8 kHz at 16 kHz, 9.4 kHz at 22.05 kHz; a 1 kHz tone keeps its frequency
//!   (within 0.01 Hz) and level (within 0.1 dB);
//! - stopband from the lower Nyquist on; downsampling does not alias (a tone 10 % above the
//!   output Nyquist comes out below -60 dB);
//! - latency: half the filter, 32 samples at the lower rate: **4 ms whenever one side is 8 kHz**
//!   (64 output samples for 8 to 16 kHz, 32.1 for 22.05 to 8 kHz), 2 ms when the lower rate is
//!   16 kHz, about 1.4 ms at 22.05 and 24 kHz. Exposed as [`Resampler::delay_out_samples`],
//!   [`Resampler::delay_out_exact`] and [`Resampler::delay_us`].
//!
//! Why this trade-off: 64 Blackman taps pass the full telephone band with deep image and alias
//! rejection at 4 ms, small next to a 20 ms frame and far below ASR/TTS latencies; 128 taps would
//! buy a sharper band edge for twice the delay and CPU.
//!
//! # Why not rubato
//!
//! The first version used rubato's asynchronous sinc resampler (the same filter, from an
//! oversampled table with linear interpolation). It is built for arbitrary and varying ratios and
//! cost 18-31 us per 20 ms frame (8 to 16 kHz), more than the whole rest of a call direction's
//! receive path. Our ratios are fixed and rational, where a polyphase filter needs one dot product
//! of 64 taps per output sample and no interpolation: see `docs/performance.md` for the figures.
//! Coefficient tables depend only on the rate pair and are built once per process and shared.
//!
//! Same-rate "conversion" is a plain copy with zero delay.
//!
//! `i16` convenience: samples are scaled by 1/32768 in, and rounded and clamped out; clamped
//! samples (a full-scale input whose filter overshoot passes full scale) are counted in
//! [`Resampler::clipped_samples`].

use frontdesk_types::SampleRate;

use crate::CodecError;
use crate::polyphase::{Polyphase, Table};

/// Filter taps at the lower of the two rates.
pub const TAPS_AT_LOWER_RATE: usize = 64;
/// Cutoff of the anti-alias/anti-image filter, as a fraction of the lower rate's Nyquist: the
/// centre of the Blackman transition band, placed so that the band ends at that Nyquist.
pub const CUTOFF: f64 = 0.914;

/// A streaming mono resampler from one [`SampleRate`] to another.
pub struct Resampler {
    from: SampleRate,
    to: SampleRate,
    /// `None` when `from == to` (copy).
    inner: Option<Polyphase>,
    ratio: f64,
    /// Filter taps in input samples (0 for a copy).
    taps_in: usize,
    /// Group delay in output samples, fractional.
    delay_out: f64,
    in_count: u64,
    out_count: u64,
    clipped: u64,
    scratch_in: Vec<f32>,
    scratch_out: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("taps_in", &self.taps_in)
            .field("delay_out", &self.delay_out)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// A resampler from `from` to `to`.
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, CodecError> {
        let ratio = f64::from(to.hz()) / f64::from(from.hz());
        let mut r = Resampler {
            from,
            to,
            inner: None,
            ratio,
            taps_in: 0,
            delay_out: 0.0,
            in_count: 0,
            out_count: 0,
            clipped: 0,
            scratch_in: Vec::new(),
            scratch_out: Vec::new(),
        };
        if from == to {
            return Ok(r);
        }
        let inner =
            Polyphase::new(Table::get(from.hz() as usize, to.hz() as usize, TAPS_AT_LOWER_RATE, CUTOFF));
        r.delay_out = inner.table().delay_out();
        r.taps_in = inner.table().taps;
        r.inner = Some(inner);
        Ok(r)
    }

    /// Input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// Output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// Output rate divided by input rate.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// How many output samples the output lags the input by (the filter's group delay, rounded
    /// to the nearest sample; 0 for a same-rate copy).
    pub fn delay_out_samples(&self) -> usize {
        self.delay_out.round() as usize
    }

    /// The group delay in output samples, unrounded (it is fractional for 22.05 kHz pairs).
    pub fn delay_out_exact(&self) -> f64 {
        self.delay_out
    }

    /// The group delay in microseconds.
    pub fn delay_us(&self) -> u64 {
        (self.delay_out * 1e6 / f64::from(self.to.hz())).round() as u64
    }

    /// Filter length in input samples (0 for a same-rate copy).
    pub fn taps(&self) -> usize {
        self.taps_in
    }

    /// Samples clamped to the `i16` range by [`Resampler::push_i16`] so far.
    pub fn clipped_samples(&self) -> u64 {
        self.clipped
    }

    /// Input samples pushed since creation or the last reset (flush padding not included).
    pub fn input_len(&self) -> u64 {
        self.in_count
    }

    /// Output samples produced since creation or the last reset.
    pub fn output_len(&self) -> u64 {
        self.out_count
    }

    /// Forgets all state: the next push starts a new stream.
    pub fn reset(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.reset();
        }
        self.in_count = 0;
        self.out_count = 0;
    }

    /// Resamples `input` (full scale is +-1.0), appending the output to `out`; returns how many
    /// samples were appended.
    pub fn push_f32(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<usize, CodecError> {
        let n = self.run(input, out)?;
        self.in_count += input.len() as u64;
        self.out_count += n as u64;
        Ok(n)
    }

    /// Resamples `input`, appending the output to `out`; returns how many samples were appended.
    pub fn push_i16(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        let mut scratch_in = std::mem::take(&mut self.scratch_in);
        let mut scratch_out = std::mem::take(&mut self.scratch_out);
        scratch_in.clear();
        scratch_in.extend(input.iter().map(|&s| f32::from(s) / 32768.0));
        scratch_out.clear();
        let result = self.push_f32(&scratch_in, &mut scratch_out);
        if result.is_ok() {
            self.append_i16(&scratch_out, out);
        }
        self.scratch_in = scratch_in;
        self.scratch_out = scratch_out;
        result
    }

    /// Ends the stream: feeds silence until the output holds the whole input (exactly
    /// `delay_out_samples() + ceil(input_len * ratio)` samples since the last reset), appends the
    /// tail to `out`, then resets. Returns how many samples were appended.
    pub fn flush_f32(&mut self, out: &mut Vec<f32>) -> Result<usize, CodecError> {
        let start = out.len();
        if self.in_count == 0 {
            self.reset();
            return Ok(0);
        }
        let target = self.delay_out_samples() as u64 + (self.in_count as f64 * self.ratio).ceil() as u64;
        let zeros = [0.0f32; 64];
        // Each block of zeros yields about 64 * ratio samples; the bound only guards against a
        // resampler that stopped producing (a bug), which must not hang the media loop.
        let max_blocks =
            (target.saturating_sub(self.out_count) as f64 / (64.0 * self.ratio)).ceil() as u64 + 8;
        let mut blocks = 0;
        while self.out_count < target {
            if blocks == max_blocks {
                self.reset();
                return Err(CodecError::Resample(format!(
                    "flush stalled {} samples short",
                    target - self.out_count
                )));
            }
            let n = self.run(&zeros, out)?;
            self.out_count += n as u64;
            blocks += 1;
        }
        // Overshoot from the last block of zeros: drop it so the length is exact.
        let excess = (self.out_count - target) as usize;
        out.truncate(out.len().saturating_sub(excess).max(start));
        self.reset();
        Ok(out.len() - start)
    }

    /// [`Resampler::flush_f32`] for `i16` streams.
    pub fn flush_i16(&mut self, out: &mut Vec<i16>) -> Result<usize, CodecError> {
        let mut scratch_out = std::mem::take(&mut self.scratch_out);
        scratch_out.clear();
        let result = self.flush_f32(&mut scratch_out);
        if result.is_ok() {
            self.append_i16(&scratch_out, out);
        }
        self.scratch_out = scratch_out;
        result
    }

    fn append_i16(&mut self, samples: &[f32], out: &mut Vec<i16>) {
        out.reserve(samples.len());
        for &s in samples {
            let v = (s * 32768.0).round();
            if !(-32768.0..=32767.0).contains(&v) {
                self.clipped += 1;
            }
            // `as` saturates float-to-int conversions (and maps NaN to 0).
            out.push(v as i16);
        }
    }

    /// Runs `input` through the filter, appending to `out`; no counters touched.
    fn run(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<usize, CodecError> {
        let Some(inner) = &mut self.inner else {
            out.extend_from_slice(input);
            return Ok(input.len());
        };
        Ok(inner.process(input, out))
    }
}
