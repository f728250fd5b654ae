//! Streaming sample-rate conversion between any two of 8, 16, 22.05, 24 and 48 kHz, through
//! `rubato`'s asynchronous sinc resampler.
//!
//! # Shape
//!
//! A [`Resampler`] converts one mono stream. [`Resampler::push_f32`] / [`Resampler::push_i16`]
//! take a chunk of *any* length (a 20 ms frame, 441 samples of 22.05 kHz TTS, one sample, ten
//! seconds) and append every output sample that chunk makes computable to the caller's `Vec`.
//! The filter state carries across calls, so a stream fed frame by frame is the same signal as the
//! stream fed in one piece (up to float rounding): no clicks or steps at frame joints, and an
//! output length that tracks input length times the ratio whatever the chunking (a sample may
//! arrive one call later, never twice or not at all). `tests/resample.rs` and the property tests
//! check both.
//!
//! How: rubato's `Async` sinc resampler with a fixed *input* size, whose chunk size is set to the
//! length of each piece just before processing it (`Resizable::set_chunk_size`; pieces longer
//! than [`MAX_CHUNK`] are split). rubato keeps the filter history itself, so there is no input
//! buffering of our own, and no latency beyond the filter's.
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
//! A windowed-sinc filter of 64 taps *at the lower of the two rates* (Blackman window, 256x
//! oversampled table, linear interpolation between table points). Measured (tests/resample.rs
//! checks each claim for every pair):
//!
//! - passband flat (within 0.2 dB) to 0.85 of the lower Nyquist: 3.4 kHz at 8 kHz (the whole
//!   telephone band), 6.8 kHz at 16 kHz, 9.4 kHz at 22.05 kHz; -1.3 dB at 0.875, -6 dB at 0.9;
//!   a 1 kHz tone keeps its frequency (within 0.01 Hz) and level (within 0.1 dB);
//! - stopband at the lower Nyquist: about -70 dB there, more beyond; downsampling does not alias
//!   (a tone 10 % above the output Nyquist comes out below -60 dB, in practice -85 dB);
//! - latency: half the filter, 32 samples at the lower rate, less one output sample: **about
//!   4 ms whenever one side is 8 kHz** (63 output samples for 8 to 16 kHz, 31 for 48 to 8 kHz,
//!   32.4 for 22.05 to 8 kHz), about 2 ms when the lower rate is 16 kHz, 1.3 to 1.5 ms at 22.05
//!   and 24 kHz. Exposed as [`Resampler::delay_out_samples`], [`Resampler::delay_out_exact`] and
//!   [`Resampler::delay_us`]. (rubato rounds filter lengths up to a multiple of 8, which makes
//!   the 22.05 kHz pairs up to 8 % longer.)
//!
//! Why this trade-off: 64 Blackman taps pass the full telephone band with 70 dB of image and
//! alias rejection at 4 ms, small next to a 20 ms frame and far below ASR/TTS latencies; 128 taps
//! would buy a sharper band edge for twice the delay and CPU.
//!
//! For downsampling, the filter is stretched to 64 taps of the *output* rate (e.g. 384 input
//! taps for 48 to 8 kHz) and its cutoff placed so that the transition band ends at the output
//! Nyquist; rubato's automatic cutoff alone would leave the band between the output Nyquist and
//! about 1.2 times it aliasing back into the top of the band.
//!
//! Cost: 18..31 us per 20 ms frame for 8 to 16 kHz and 22.05 to 8 kHz, `i16` in and out
//! (criterion medians, `benches/codec.rs`, quiet vs loaded shared 2-core machine): about 0.1 %
//! of one core per stream.
//!
//! Same-rate "conversion" is a plain copy with zero delay.
//!
//! `i16` convenience: samples are scaled by 1/32768 in, and rounded and clamped out; clamped
//! samples (a full-scale input whose filter overshoot passes full scale) are counted in
//! [`Resampler::clipped_samples`].

use frontdesk_types::SampleRate;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler as _, Resizable as _, SincInterpolationParameters, SincInterpolationType,
    WindowFunction, calculate_cutoff,
};

use crate::CodecError;

/// Filter taps at the lower of the two rates.
pub const TAPS_AT_LOWER_RATE: usize = 64;
/// Longest piece handed to rubato in one call; longer input is split (state carries over).
pub const MAX_CHUNK: usize = 1024;
const OVERSAMPLING: usize = 256;
const WINDOW: WindowFunction = WindowFunction::Blackman;

fn rs_err(e: impl std::fmt::Display) -> CodecError {
    CodecError::Resample(e.to_string())
}

/// A streaming mono resampler from one [`SampleRate`] to another.
pub struct Resampler {
    from: SampleRate,
    to: SampleRate,
    /// `None` when `from == to` (copy).
    inner: Option<Async<f32>>,
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
        let (taps_in, f_cutoff) = if ratio >= 1.0 {
            // Upsampling: the filter runs at the input (lower) rate; rubato's automatic cutoff
            // puts the stopband at the input Nyquist.
            (TAPS_AT_LOWER_RATE, None)
        } else {
            // Downsampling: 64 taps of the output rate, in input samples (rubato rounds sinc
            // lengths up to a multiple of 8; do it here so the delay we report is exact).
            let taps = ((TAPS_AT_LOWER_RATE as f64 / ratio).ceil() as usize).div_ceil(8) * 8;
            // rubato scales a given cutoff by `ratio`, but not the transition band, which for
            // `taps` input taps is `1 - calculate_cutoff(taps)` of the input Nyquist. Place the
            // cutoff (relative to the output Nyquist) so the transition ends at the output Nyquist.
            let transition_in: f32 = 1.0 - calculate_cutoff::<f32>(taps, WINDOW);
            let cutoff = 1.0 - transition_in / ratio as f32;
            (taps, Some(cutoff))
        };
        let params = SincInterpolationParameters {
            sinc_len: taps_in,
            f_cutoff,
            oversampling_factor: OVERSAMPLING,
            interpolation: SincInterpolationType::Linear,
            window: WINDOW,
        };
        let inner =
            Async::<f32>::new_sinc(ratio, 1.0, &params, MAX_CHUNK, 1, FixedAsync::Input).map_err(rs_err)?;
        // The filter is centred `taps_in / 2` input samples back; rubato computes each output one
        // step after advancing its position, which puts the output one output sample earlier than
        // that (measured, and checked by the delay-compensated comparisons in tests/resample.rs).
        r.delay_out = taps_in as f64 / 2.0 * ratio - 1.0;
        r.taps_in = taps_in;
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
        let start = out.len();
        for piece in input.chunks(MAX_CHUNK) {
            inner.set_chunk_size(piece.len()).map_err(rs_err)?;
            let want = inner.output_frames_next();
            let at = out.len();
            out.resize(at + want, 0.0);
            let result = {
                let buf_in = InterleavedSlice::new(piece, 1, piece.len()).map_err(rs_err)?;
                // `out` was just resized to hold `want` more samples, so this range exists.
                let tail = &mut out[at..];
                let mut buf_out = InterleavedSlice::new_mut(tail, 1, want).map_err(rs_err)?;
                inner.process_into_buffer(&buf_in, &mut buf_out, None)
            };
            match result {
                Ok((_, produced)) => out.truncate(at + produced),
                Err(e) => {
                    out.truncate(start);
                    return Err(rs_err(e));
                }
            }
        }
        Ok(out.len() - start)
    }
}
