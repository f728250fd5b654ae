//! Streaming resampler: continuity across frame joints, equality with one-shot processing,
//! delay, level and frequency preservation, and aliasing, for every pair of supported rates.

// Helpers outside #[test] fns count as non-test code to clippy; unwrap is fine in a test crate.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;

use frontdesk_codec::Resampler;
use frontdesk_types::SampleRate;

const AMP: f64 = 0.5;

fn pairs() -> impl Iterator<Item = (SampleRate, SampleRate)> {
    SampleRate::ALL
        .into_iter()
        .flat_map(|a| SampleRate::ALL.into_iter().filter(move |&b| b != a).map(move |b| (a, b)))
}

fn lower_nyquist(a: SampleRate, b: SampleRate) -> f64 {
    f64::from(a.hz().min(b.hz())) / 2.0
}

/// A linear sine sweep from `f0` to `f1` Hz over `secs`, as a function of time (so the ideal
/// output can be computed at any instant).
#[derive(Clone, Copy)]
struct Sweep {
    f0: f64,
    f1: f64,
    secs: f64,
}

impl Sweep {
    fn at(self, t: f64) -> f64 {
        if !(0.0..self.secs).contains(&t) {
            return 0.0;
        }
        let k = (self.f1 - self.f0) / self.secs;
        AMP * (2.0 * PI * (self.f0 * t + 0.5 * k * t * t)).sin()
    }

    fn render(self, rate: SampleRate) -> Vec<f32> {
        let fs = f64::from(rate.hz());
        (0..(self.secs * fs) as usize).map(|i| self.at(i as f64 / fs) as f32).collect()
    }
}

fn sweep_for(from: SampleRate, to: SampleRate) -> Sweep {
    Sweep { f0: 100.0, f1: 0.75 * lower_nyquist(from, to), secs: 1.0 }
}

/// Pushes `input` in 20 ms frames of the input rate (441 samples at 22.05 kHz).
fn by_frames(r: &mut Resampler, input: &[f32]) -> Vec<f32> {
    let mut out = Vec::new();
    for frame in input.chunks(r.from_rate().frame_len()) {
        r.push_f32(frame, &mut out).unwrap();
    }
    out
}

#[test]
fn sweep_fed_frame_by_frame_has_no_step_steeper_than_the_signal() {
    for (from, to) in pairs() {
        let sweep = sweep_for(from, to);
        let mut r = Resampler::new(from, to).unwrap();
        let y = by_frames(&mut r, &sweep.render(from));
        // The steepest a sinusoid of amplitude A and frequency f can move between two output
        // samples is 2*pi*f/fs_out*A; a dropped, repeated or misaligned sample at a frame joint
        // at the top of the sweep would step about twice that.
        let bound = 2.0 * PI * sweep.f1 / f64::from(to.hz()) * AMP;
        let (worst_at, worst) = y
            .windows(2)
            .map(|w| f64::from((w[1] - w[0]).abs()))
            .enumerate()
            .fold((0, 0.0), |acc, (i, d)| if d > acc.1 { (i, d) } else { acc });
        assert!(
            worst <= bound * 1.03 + 1e-4,
            "{from} -> {to}: step {worst:.5} at output {worst_at} > bound {bound:.5}"
        );
    }
}

#[test]
fn frame_by_frame_output_equals_one_shot_output() {
    for (from, to) in pairs() {
        let input = sweep_for(from, to).render(from);
        let framed = by_frames(&mut Resampler::new(from, to).unwrap(), &input);
        let mut whole = Vec::new();
        Resampler::new(from, to).unwrap().push_f32(&input, &mut whole).unwrap();
        // Output positions are integer phase arithmetic, so chunking cannot change anything: the
        // same samples, bit for bit.
        assert_eq!(framed.len(), whole.len(), "{from} -> {to}");
        assert!(framed == whole, "{from} -> {to}: frame-by-frame differs from one-shot");
    }
}

#[test]
fn output_is_the_input_signal_delayed_by_the_reported_delay() {
    for (from, to) in pairs() {
        let sweep = sweep_for(from, to);
        let mut r = Resampler::new(from, to).unwrap();
        let y = by_frames(&mut r, &sweep.render(from));
        let fs_out = f64::from(to.hz());
        let d = r.delay_out_exact();
        // Compare away from the abrupt start and the end of the input.
        let start = (2.0 * d) as usize + 50;
        let end = y.len() - 10;
        let mut worst = 0.0f64;
        for (k, &v) in y.iter().enumerate().take(end).skip(start) {
            let ideal = sweep.at((k as f64 - d) / fs_out);
            worst = worst.max((f64::from(v) - ideal).abs());
        }
        // -40 dB relative to the amplitude across the whole sweep (what remains is a timing
        // filter's passband ripple); a delay off by
        // one output sample would be off by up to 2*pi*f/fs*A, about a hundred times more.
        assert!(worst < 0.01 * AMP, "{from} -> {to}: max error {worst:.5} (delay {d:.2})");
    }
}

/// Frequency and amplitude of a tone near `f0` in `y`: the frequency from the phase drift of
/// the signal demodulated at `f0` between the first and second half of `y` (precise to a few
/// mHz), cross-checked against a rising-zero-crossing count (a gross error, say a wrong ratio,
/// would also show up as a tiny demodulated amplitude); the amplitude from the demodulation.
fn tone_stats(y: &[f32], fs: f64, f0: f64) -> (f64, f64) {
    let half = y.len() / 2;
    let demod = |range: std::ops::Range<usize>| {
        let (mut re, mut im) = (0.0, 0.0);
        for n in range {
            let ph = 2.0 * PI * f0 * n as f64 / fs;
            re += f64::from(y[n]) * ph.cos();
            im -= f64::from(y[n]) * ph.sin();
        }
        (re, im)
    };
    let (r1, i1) = demod(0..half);
    let (r2, i2) = demod(half..2 * half);
    let dphi = (i2 * r1 - r2 * i1).atan2(r2 * r1 + i2 * i1);
    let freq = f0 + dphi / (2.0 * PI * half as f64 / fs);
    let amp = 2.0 * ((r1 * r1 + i1 * i1).sqrt() + (r2 * r2 + i2 * i2).sqrt()) / (2 * half) as f64;
    let rising = y.windows(2).filter(|w| w[0] <= 0.0 && w[1] > 0.0).count() as f64;
    let coarse = rising * fs / y.len() as f64;
    assert!(
        (coarse - f0).abs() < 2.0 * fs / y.len() as f64 + 1.0,
        "zero crossings say {coarse} Hz, not {f0}"
    );
    (freq, amp)
}

fn tone(rate: SampleRate, freq: f64, secs: f64) -> Vec<f32> {
    let fs = f64::from(rate.hz());
    (0..(secs * fs) as usize).map(|i| (AMP * (2.0 * PI * freq * i as f64 / fs).sin()) as f32).collect()
}

#[test]
fn a_1khz_tone_stays_1khz_at_the_same_level_for_every_pair() {
    for (from, to) in pairs() {
        let mut r = Resampler::new(from, to).unwrap();
        let y = by_frames(&mut r, &tone(from, 1000.0, 1.0));
        let fs_out = f64::from(to.hz());
        // Steady state: skip the filter's start-up and the end.
        let steady = &y[r.delay_out_samples() * 2 + 100..y.len() - 100];
        let (freq, amp) = tone_stats(steady, fs_out, 1000.0);
        assert!((freq - 1000.0).abs() < 0.01, "{from} -> {to}: {freq:.4} Hz");
        let db = 20.0 * (amp / AMP).log10();
        assert!(db.abs() < 0.1, "{from} -> {to}: level {db:+.3} dB");
    }
}

#[test]
fn downsampling_does_not_alias() {
    for (from, to) in pairs().filter(|(a, b)| b.hz() < a.hz()) {
        // 10 % above the output Nyquist, or as close to the input Nyquist as the rates allow.
        let out_nyq = f64::from(to.hz()) / 2.0;
        let freq = (1.1 * out_nyq).min(0.97 * f64::from(from.hz()) / 2.0);
        let mut r = Resampler::new(from, to).unwrap();
        let y = by_frames(&mut r, &tone(from, freq, 0.5));
        let steady = &y[r.delay_out_samples() * 2 + 100..y.len() - 100];
        let rms = (steady.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / steady.len() as f64).sqrt();
        let db = 20.0 * (rms * 2f64.sqrt() / AMP).log10();
        assert!(db < -60.0, "{from} -> {to}: {freq:.0} Hz leaks through at {db:.1} dB");
    }
}

#[test]
fn telephone_band_passes_at_8khz() {
    // 3.4 kHz, the top of the telephone band, passes to and from 8 kHz within 0.3 dB.
    for (from, to) in pairs().filter(|(a, b)| a.hz() == 8000 || b.hz() == 8000) {
        let mut r = Resampler::new(from, to).unwrap();
        let y = by_frames(&mut r, &tone(from, 3400.0, 0.5));
        let steady = &y[r.delay_out_samples() * 2 + 100..y.len() - 100];
        let (freq, amp) = tone_stats(steady, f64::from(to.hz()), 3400.0);
        let db = 20.0 * (amp / AMP).log10();
        assert!(db.abs() < 0.3, "{from} -> {to}: 3.4 kHz at {db:+.2} dB");
        assert!((freq - 3400.0).abs() < 0.01, "{from} -> {to}: {freq:.4} Hz");
    }
}

#[test]
fn latency_is_about_4ms_at_8khz_and_exposed() {
    let r = Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).unwrap();
    assert_eq!((r.delay_out_samples(), r.delay_us()), (64, 4000));
    let r = Resampler::new(SampleRate::Hz22050, SampleRate::Hz8000).unwrap();
    assert_eq!((r.delay_out_samples(), r.delay_us()), (32, 4014));
    for (from, to) in pairs() {
        let r = Resampler::new(from, to).unwrap();
        // Half the filter (the comparison with the ideal signal in
        // `output_is_the_input_signal_delayed_by_the_reported_delay` checks this is the real delay).
        let half_filter_s = r.taps() as f64 / 2.0 / f64::from(from.hz());
        let expected_us = half_filter_s * 1e6;
        assert!((r.delay_us() as f64 - expected_us).abs() <= 1.0, "{from} -> {to}: {} us", r.delay_us());
        // Half the filter is 32 samples at the lower rate (a fraction more where the length in
        // input samples is rounded up for 22.05 kHz pairs).
        let at_lower = half_filter_s * f64::from(from.hz().min(to.hz()));
        assert!((32.0..35.0).contains(&at_lower), "{from} -> {to}: {at_lower} samples at the lower rate");
    }
}

#[test]
fn same_rate_is_a_copy_with_no_delay() {
    let mut r = Resampler::new(SampleRate::Hz16000, SampleRate::Hz16000).unwrap();
    let x = tone(SampleRate::Hz16000, 440.0, 0.1);
    let y = by_frames(&mut r, &x);
    assert_eq!(x, y);
    assert_eq!(r.delay_out_samples(), 0);
}

#[test]
fn flush_delivers_the_tail_and_exact_length() {
    for (from, to) in pairs() {
        let sweep = sweep_for(from, to);
        let input = sweep.render(from);
        let mut r = Resampler::new(from, to).unwrap();
        let mut y = by_frames(&mut r, &input);
        r.flush_f32(&mut y).unwrap();
        let expected = r.delay_out_samples() + (input.len() as f64 * r.ratio()).ceil() as usize;
        // `flush` resets, so ask a fresh resampler for the delay.
        let d = Resampler::new(from, to).unwrap().delay_out_exact();
        assert_eq!(y.len(), (d.round() as usize) + (input.len() as f64 * r.ratio()).ceil() as usize);
        assert_eq!(y.len(), expected);
        // The very end of the input is now in the output and matches the signal.
        let fs_out = f64::from(to.hz());
        let end_k = y.len() - (0.002 * fs_out) as usize; // 2 ms before the end of the signal
        let ideal = sweep.at((end_k as f64 - d) / fs_out);
        assert!((f64::from(y[end_k]) - ideal).abs() < 0.01, "{from} -> {to}: tail {} vs {ideal}", y[end_k]);
        // And the resampler starts a new stream afterwards.
        assert_eq!(r.input_len(), 0);
    }
}

#[test]
fn i16_path_rounds_the_f32_path_and_counts_clipping() {
    let from = SampleRate::Hz8000;
    let to = SampleRate::Hz16000;
    let x: Vec<i16> = tone(from, 700.0, 0.2).iter().map(|&v| (v * 32767.0) as i16).collect();
    let xf: Vec<f32> = x.iter().map(|&v| f32::from(v) / 32768.0).collect();
    let mut a = Resampler::new(from, to).unwrap();
    let mut b = Resampler::new(from, to).unwrap();
    let mut yi = Vec::new();
    let mut yf = Vec::new();
    for (ci, cf) in x.chunks(160).zip(xf.chunks(160)) {
        a.push_i16(ci, &mut yi).unwrap();
        b.push_f32(cf, &mut yf).unwrap();
    }
    assert_eq!(yi.len(), yf.len());
    for (i, f) in yi.iter().zip(&yf) {
        assert_eq!(*i, (f * 32768.0).round() as i16);
    }
    assert_eq!(a.clipped_samples(), 0);

    // A full-scale square wave overshoots (Gibbs): the output saturates instead of wrapping.
    let square: Vec<i16> = (0..1600).map(|i| if (i / 20) % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
    let mut r = Resampler::new(from, to).unwrap();
    let mut y = Vec::new();
    for c in square.chunks(160) {
        r.push_i16(c, &mut y).unwrap();
    }
    assert!(r.clipped_samples() > 0, "a full-scale square must clip somewhere");
    // No wrap-around: around each positive plateau the samples stay positive.
    let d = r.delay_out_samples();
    for (k, &v) in y.iter().enumerate().skip(d + 10) {
        let phase = (k - d) % 80; // 40 input samples per period = 80 output samples
        if (5..35).contains(&phase) {
            assert!(v > 20000, "sample {k} = {v} wrapped");
        }
    }
}

#[test]
fn flush_of_an_empty_stream_emits_nothing() {
    let mut r = Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).unwrap();
    let mut y = Vec::new();
    assert_eq!(r.flush_f32(&mut y).unwrap(), 0);
    assert!(y.is_empty());
}
