//! Smart Turn's input features: Whisper log-mel features of the last 8 s of 16 kHz audio.
//!
//! The steps are those of the reference inference code shipped with the model (pipecat's
//! `local_smart_turn_v3.py` and its vendored copy of the Hugging Face `WhisperFeatureExtractor`):
//!
//! 1. Keep the last 8 s (128,000 samples); zero-pad shorter audio **at the start**.
//! 2. Normalise that whole 8 s window (padding included) to zero mean and unit variance:
//!    `(x - mean) / sqrt(var + 1e-7)`.
//! 3. Power spectrum of centred frames: periodic Hann window of 400 samples (n_fft 400), hop 160,
//!    reflect padding of 200 samples at both ends; 801 frames, of which the last is dropped.
//! 4. 80 triangular mel filters on the Slaney scale with Slaney area normalisation (0-8 kHz),
//!    `log10(max(mel, 1e-10))`, values below `max - 8` raised to it, then `(x + 4) / 4`.
//!
//! The output is mel-major, `[80][800]`, the layout of the model's `input_features` [1, 80, 800].
//! The spectrum and filterbank run in `f64` as the reference does; each mel filter only visits
//! its non-zero FFT bins. `benches/smartturn.rs` measures the cost (`eot_features_8s`).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate the features assume.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples in the window the model sees (8 s).
pub const WINDOW: usize = 8 * SAMPLE_RATE as usize;
/// FFT size (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP: usize = 160;
/// Mel bins.
pub const N_MELS: usize = 80;
/// Frames given to the model.
pub const FRAMES: usize = WINDOW / HOP;
const N_BINS: usize = N_FFT / 2 + 1;

/// One mel filter: its first non-zero FFT bin and weights from there.
#[derive(Clone, Debug)]
struct Filter {
    first: usize,
    weights: Vec<f64>,
}

/// A reusable extractor: FFT plan, window, filterbank and scratch buffers.
#[derive(Clone)]
pub struct Features {
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    filters: Vec<Filter>,
    signal: Vec<f64>,
    frame_in: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    power: Vec<f64>,
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Features").field("n_fft", &N_FFT).field("n_mels", &N_MELS).finish_non_exhaustive()
    }
}

impl Default for Features {
    fn default() -> Self {
        Self::new()
    }
}

fn hz_to_mel(f: f64) -> f64 {
    // Slaney: linear below 1 kHz (3 mel per 200 Hz), logarithmic above.
    let logstep = 27.0 / 6.4f64.ln();
    if f >= 1000.0 { 15.0 + (f / 1000.0).ln() * logstep } else { 3.0 * f / 200.0 }
}

fn mel_to_hz(m: f64) -> f64 {
    let logstep = 6.4f64.ln() / 27.0;
    if m >= 15.0 { 1000.0 * (logstep * (m - 15.0)).exp() } else { 200.0 * m / 3.0 }
}

/// The Slaney mel filterbank for 16 kHz, n_fft 400, 80 bins, 0-8 kHz: row-major
/// `[N_MELS][N_FFT / 2 + 1]`.
pub fn mel_filterbank() -> Vec<f64> {
    let nyquist = f64::from(SAMPLE_RATE) / 2.0;
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|i| i as f64 * nyquist / (N_BINS - 1) as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_f: Vec<f64> =
        (0..N_MELS + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64)).collect();
    let mut out = vec![0f64; N_MELS * N_BINS];
    for (m, row) in out.chunks_exact_mut(N_BINS).enumerate() {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (w, &f) in row.iter_mut().zip(&fft_freqs) {
            let down = (f - f0) / (f1 - f0);
            let up = (f2 - f) / (f2 - f1);
            *w = down.min(up).max(0.0) * enorm;
        }
    }
    out
}

impl Features {
    /// Plans the FFT and builds the window and filterbank.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let window = (0..N_FFT)
            .map(|i| 0.5 * (1.0 - (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()))
            .collect();
        let filters = mel_filterbank()
            .chunks_exact(N_BINS)
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).map_or(first, |l| l + 1);
                Filter { first, weights: row[first..last].to_vec() }
            })
            .collect();
        Features {
            frame_in: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            filters,
            signal: Vec::with_capacity(WINDOW + N_FFT),
            power: vec![0.0; N_BINS],
        }
    }

    /// Features of the last 8 s of `audio_16k` (16 kHz, -1..1), written to `out` as
    /// `N_MELS * FRAMES` values, mel-major. Empty input gives the features of silence.
    pub fn compute(&mut self, audio_16k: &[f32], out: &mut Vec<f32>) {
        let tail = &audio_16k[audio_16k.len().saturating_sub(WINDOW)..];
        let pad = WINDOW - tail.len();

        // Zero-mean unit-variance over the whole padded window (the zeros count).
        let sum: f64 = tail.iter().map(|&x| f64::from(x)).sum();
        let mean = sum / WINDOW as f64;
        let sq: f64 =
            tail.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() + pad as f64 * mean * mean;
        let var = sq / WINDOW as f64;
        // The reference normalises in f32; round the scale factors the same way.
        let (mean32, scale32) = (mean as f32, (var + 1e-7).sqrt() as f32);
        let norm = |x: f32| f64::from((x - mean32) / scale32);

        // The normalised window with `N_FFT / 2` reflected samples at each end.
        let half = N_FFT / 2;
        let at = |i: usize| if i < pad { norm(0.0) } else { norm(tail[i - pad]) };
        self.signal.clear();
        self.signal.extend((1..=half).rev().map(at));
        self.signal.extend((0..WINDOW).map(at));
        self.signal.extend((WINDOW - 1 - half..WINDOW - 1).rev().map(at));

        out.clear();
        out.resize(N_MELS * FRAMES, 0.0);
        let mut max = f64::NEG_INFINITY;
        let mut logs = vec![0f64; N_MELS * FRAMES];
        for t in 0..FRAMES {
            let Some(frame) = self.signal.get(t * HOP..t * HOP + N_FFT) else { break };
            for ((x, &s), &w) in self.frame_in.iter_mut().zip(frame).zip(&self.window) {
                *x = s * w;
            }
            // Lengths come from the plan itself, so processing cannot fail.
            if self
                .fft
                .process_with_scratch(&mut self.frame_in, &mut self.spectrum, &mut self.scratch)
                .is_err()
            {
                continue;
            }
            for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
            for (m, f) in self.filters.iter().enumerate() {
                let bins = self.power.get(f.first..f.first + f.weights.len()).unwrap_or(&[]);
                let e: f64 = f.weights.iter().zip(bins).map(|(w, p)| w * p).sum();
                let l = e.max(1e-10).log10();
                max = max.max(l);
                logs[m * FRAMES + t] = l;
            }
        }
        for (o, &l) in out.iter_mut().zip(&logs) {
            *o = ((l.max(max - 8.0) + 4.0) / 4.0) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_matches_whispers_reference_values() {
        let f = mel_filterbank();
        // openai-whisper's `assets/mel_filters.npz` (`mel_80`, float32).
        for (m, bin, want) in [
            (0, 1, 0.024_862_595),
            (1, 2, 0.022_871_772),
            (25, 24, 0.020_874_01),
            (26, 25, 0.022_114_217),
            (79, 192, 0.003_164_712),
            (79, 199, 0.000_448_759),
            (79, 200, 0.0),
        ] {
            let got = f[m * N_BINS + bin];
            assert!((got - want).abs() < 1e-6, "filter {m} bin {bin}: {got} != {want}");
        }
    }

    fn tone(hz: f32, secs: f32, amp: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / 16_000.0).sin())
            .collect()
    }

    fn argmax(col: &[f32]) -> usize {
        col.iter().enumerate().fold(0, |b, (i, &v)| if v > col[b] { i } else { b })
    }

    #[test]
    fn short_audio_sits_at_the_end_of_the_window_and_lights_its_band() {
        let mut fx = Features::new();
        let mut out = Vec::new();
        fx.compute(&tone(1000.0, 2.0, 0.3), &mut out);
        assert_eq!(out.len(), N_MELS * FRAMES);
        let col = |t: usize| -> Vec<f32> { (0..N_MELS).map(|m| out[m * FRAMES + t]).collect() };
        // The tone fills the last 2 s (frames 600..800): 1 kHz lies between mel bins 25 and 26.
        let peak = argmax(&col(700));
        assert!((25..=27).contains(&peak), "peak at {peak}");
        // The padded start is the floor (max - 8, scaled): all equal, below the tone frames.
        let start = col(100);
        let floor = start[0];
        assert!(start.iter().all(|&v| (v - floor).abs() < 1e-6));
        assert!(col(700)[peak] > floor + 1.0);
        // Dynamic range is clamped to 8 decades = 2 after scaling.
        let max = out.iter().copied().fold(f32::MIN, f32::max);
        let min = out.iter().copied().fold(f32::MAX, f32::min);
        assert!((max - min - 2.0).abs() < 1e-4, "range {}", max - min);
    }

    #[test]
    fn only_the_last_8_seconds_count_and_gain_does_not_matter() {
        let mut fx = Features::new();
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        let tail = tone(500.0, 8.0, 0.2);
        let mut long = tone(3000.0, 3.0, 0.5);
        long.extend_from_slice(&tail);
        fx.compute(&tail, &mut a);
        fx.compute(&long, &mut b);
        assert_eq!(a, b);
        // Normalisation makes the features independent of the level.
        let loud: Vec<f32> = tail.iter().map(|x| x * 3.0).collect();
        fx.compute(&loud, &mut c);
        assert!(a.iter().zip(&c).all(|(x, y)| (x - y).abs() < 1e-3));
    }

    #[test]
    fn silence_and_empty_input_are_finite() {
        let mut fx = Features::new();
        let mut out = Vec::new();
        fx.compute(&[], &mut out);
        assert_eq!(out.len(), N_MELS * FRAMES);
        assert!(out.iter().all(|v| v.is_finite()));
        fx.compute(&[0.0; 100], &mut out);
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
