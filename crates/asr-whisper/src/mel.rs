//! Whisper's log-mel spectrogram, computed in Rust.
//!
//! Matches `whisper.audio.log_mel_spectrogram` (and the Hugging Face feature extractor):
//! 16 kHz input, periodic Hann window of 400 samples (25 ms), hop 160 (10 ms), centred frames
//! with reflect padding, power spectrum, 80 mel bins on the Slaney scale with Slaney area
//! normalisation (librosa's defaults), `log10(max(x, 1e-10))`, values below `max - 8` raised to
//! it, then `(x + 4) / 4`.
//!
//! Whisper pads every input to 30 s (3000 frames). [`MelSpectrogram::compute`] instead takes the
//! frame count to produce: the audio is zero-padded (or cut) to `frames * 160` samples first, so
//! the caller can feed the encoder only the speech plus a margin (see the crate docs). The output
//! is mel-major (`[80][frames]`), the layout of candle's `(1, 80, frames)` input tensor.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Samples per second the features assume.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size (25 ms).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP: usize = 160;
/// Mel bins.
pub const N_MELS: usize = 80;
const N_BINS: usize = N_FFT / 2 + 1;

/// A reusable log-mel feature extractor (the FFT plan, window and filterbank).
#[derive(Clone)]
pub struct MelSpectrogram {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// `[N_MELS][N_BINS]`, row-major.
    filters: Vec<f32>,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram").field("n_fft", &N_FFT).field("n_mels", &N_MELS).finish()
    }
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        Self::new()
    }
}

fn hz_to_mel(f: f64) -> f64 {
    // Slaney: linear below 1 kHz, logarithmic above.
    let f_sp = 200.0 / 3.0;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= 1000.0 { 15.0 + (f / 1000.0).ln() / logstep } else { f / f_sp }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= 15.0 { 1000.0 * (logstep * (m - 15.0)).exp() } else { f_sp * m }
}

/// librosa `filters.mel(sr=16000, n_fft=400, n_mels=80)`: triangles on the Slaney mel scale,
/// each scaled to unit area (`2 / (f[i+2] - f[i])`). Row-major `[n_mels][n_fft/2+1]`.
pub fn mel_filters(rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let nyquist = f64::from(rate) / 2.0;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * nyquist / (n_bins - 1) as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_f: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for (m, row) in out.chunks_exact_mut(n_bins).enumerate() {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (w, &f) in row.iter_mut().zip(&fft_freqs) {
            let lower = (f - f0) / (f1 - f0);
            let upper = (f2 - f) / (f2 - f1);
            *w = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

impl MelSpectrogram {
    /// Plans the FFT and builds the window and filterbank.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let window = (0..N_FFT)
            .map(|i| (0.5 * (1.0 - (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos())) as f32)
            .collect();
        Self { fft, window, filters: mel_filters(SAMPLE_RATE, N_FFT, N_MELS) }
    }

    /// Log-mel features of `pcm` (16 kHz, -1..1) zero-padded or cut to `frames * HOP` samples:
    /// `N_MELS * frames` values, mel-major.
    pub fn compute(&self, pcm: &[f32], frames: usize) -> Vec<f32> {
        let power = self.power(pcm, frames);
        // The filterbank product and the log scaling run in candle (optimised even in test
        // builds); the plain loops are the fallback should a tensor operation ever fail.
        self.log_mel_candle(&power, frames).unwrap_or_else(|_| self.log_mel_plain(&power, frames))
    }

    /// Power spectra, `[frames][N_BINS]`.
    fn power(&self, pcm: &[f32], frames: usize) -> Vec<f32> {
        let len = frames * HOP;
        let half = N_FFT / 2;
        // The signal zero-padded to `len`, then centre-padded by reflection
        // (torch.stft(center=True, pad_mode="reflect")).
        let mut signal = vec![0f32; len];
        let n = pcm.len().min(len);
        signal[..n].copy_from_slice(&pcm[..n]);
        let mut padded = Vec::with_capacity(len + 2 * half);
        if len > half {
            padded.extend(signal[1..=half].iter().rev());
            padded.extend_from_slice(&signal);
            padded.extend(signal[len - 1 - half..len - 1].iter().rev());
        } else {
            padded.resize(len + 2 * half, 0.0);
        }
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; frames * N_BINS];
        for (t, out) in power.chunks_exact_mut(N_BINS).enumerate() {
            let Some(frame) = padded.get(t * HOP..t * HOP + N_FFT) else { break };
            input.copy_from_slice(frame);
            for (x, w) in input.iter_mut().zip(&self.window) {
                *x *= w;
            }
            // Lengths come from the plan itself, so processing cannot fail.
            if self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).is_ok() {
                for (p, c) in out.iter_mut().zip(&spectrum) {
                    *p = c.re * c.re + c.im * c.im;
                }
            }
        }
        power
    }

    fn log_mel_candle(&self, power: &[f32], frames: usize) -> candle_core::Result<Vec<f32>> {
        use candle_core::{Device, Tensor};
        let dev = Device::Cpu;
        let filters = Tensor::from_slice(&self.filters, (N_MELS, N_BINS), &dev)?;
        let power = Tensor::from_slice(power, (frames, N_BINS), &dev)?;
        let mel = filters.matmul(&power.t()?)?; // (N_MELS, frames)
        let log = (mel.maximum(1e-10)?.log()? * std::f64::consts::LOG10_E)?;
        let max = log.max_all()?.to_scalar::<f32>()?;
        ((log.maximum(max - 8.0)? + 4.0)? / 4.0)?.flatten_all()?.to_vec1::<f32>()
    }

    fn log_mel_plain(&self, power: &[f32], frames: usize) -> Vec<f32> {
        let mut mel = vec![0f32; N_MELS * frames];
        for (t, p) in power.chunks_exact(N_BINS).enumerate() {
            for (m, row) in self.filters.chunks_exact(N_BINS).enumerate() {
                let e: f32 = row.iter().zip(p).map(|(w, p)| w * p).sum();
                mel[m * frames + t] = e.max(1e-10).log10();
            }
        }
        let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut mel {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        mel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_matches_librosa_shape() {
        let f = mel_filters(16_000, 400, 80);
        assert_eq!(f.len(), 80 * 201);
        assert!(f.iter().all(|&w| w >= 0.0));
        // Every filter has some weight; peaks move up in frequency.
        let peaks: Vec<usize> = f
            .chunks_exact(201)
            .map(|r| r.iter().enumerate().fold(0, |best, (i, &w)| if w > r[best] { i } else { best }))
            .collect();
        assert!(f.chunks_exact(201).all(|r| r.iter().sum::<f32>() > 0.0));
        assert!(peaks.windows(2).all(|p| p[0] <= p[1]), "{peaks:?}");
        // Reference values from openai-whisper's `assets/mel_filters.npz` (`mel_80`, float32).
        for (m, bin, want) in [
            (0, 1, 0.024_862_595),
            (1, 2, 0.022_871_772),
            (25, 24, 0.020_874_01),
            (26, 25, 0.022_114_217),
            (79, 192, 0.003_164_712),
            (79, 199, 0.000_448_759),
            (79, 200, 0.0),
        ] {
            let got = f[m * 201 + bin];
            assert!((got - want).abs() < 1e-6, "filter {m} bin {bin}: {got} != {want}");
        }
        assert_eq!((peaks[0], peaks[25], peaks[79]), (1, 24, 192));
    }

    #[test]
    fn a_tone_lights_the_right_band_and_the_scale_is_whispers() {
        let mel = MelSpectrogram::new();
        let pcm: Vec<f32> = (0..16_000)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let frames = 100;
        let m = mel.compute(&pcm, frames);
        assert_eq!(m.len(), 80 * frames);
        let t = 50;
        let col: Vec<f32> = (0..80).map(|b| m[b * frames + t]).collect();
        let best = col.iter().enumerate().fold(0, |b, (i, &v)| if v > col[b] { i } else { b });
        // 1 kHz is mel 15 on the Slaney scale: bin centres are spaced 45.2/81 mel apart, so 1 kHz
        // sits between bins 25 and 26.
        assert!((25..=27).contains(&best), "peak at mel bin {best}");
        // Dynamic range is clamped to 8 (log10) = 2 after scaling; the maximum maps to (max+4)/4.
        let max = m.iter().copied().fold(f32::MIN, f32::max);
        let min = m.iter().copied().fold(f32::MAX, f32::min);
        assert!((max - min - 2.0).abs() < 1e-4, "range {}", max - min);
    }

    #[test]
    fn candle_and_plain_paths_agree() {
        let mel = MelSpectrogram::new();
        let pcm: Vec<f32> = (0..12_345).map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.3).collect();
        let power = mel.power(&pcm, 90);
        let a = mel.log_mel_candle(&power, 90).expect("candle");
        let b = mel.log_mel_plain(&power, 90);
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4));
    }

    #[test]
    fn silence_and_empty_input_are_finite() {
        let mel = MelSpectrogram::new();
        let m = mel.compute(&[], 10);
        assert!(m.iter().all(|v| v.is_finite()));
        assert!(mel.compute(&[0.1; 5], 0).is_empty());
    }
}
