//! Codec costs per 20 ms mono frame: G.711 encode/decode (mu-law and A-law), Opus encode/decode
//! at 8 and 48 kHz, streaming resampling 8 -> 16 kHz and 22.05 -> 8 kHz.
//!
//! `cargo bench --bench codec` (criterion; medians are in target/criterion/*/new/estimates.json).
//! Quick run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.

use std::f64::consts::PI;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_codec::{Law, OpusDecoder, OpusEncoder, Resampler};
use frontdesk_types::SampleRate;

/// One second of a voiced-speech-like signal (gliding 160 Hz fundamental with harmonics to
/// 3.4 kHz, syllable envelope), so Opus and the resampler see realistic content.
fn speechlike(rate: SampleRate) -> Vec<i16> {
    let fs = f64::from(rate.hz());
    let mut phase = 0.0;
    (0..rate.hz() as usize)
        .map(|i| {
            let t = i as f64 / fs;
            let f0 = 160.0 + 30.0 * (2.0 * PI * 2.0 * t).sin();
            phase += 2.0 * PI * f0 / fs;
            let mut v = 0.0;
            let mut h = 1.0;
            while h * f0 < 3400.0 {
                v += (h * phase).sin() / h;
                h += 1.0;
            }
            (6000.0 * (0.55 + 0.45 * (2.0 * PI * 3.0 * t).sin()) * v) as i16
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    let pcm = speechlike(SampleRate::Hz8000);
    let frame = &pcm[4000..4160];
    for (law, name) in [(Law::Ulaw, "ulaw"), (Law::Alaw, "alaw")] {
        let mut bytes = Vec::with_capacity(160);
        c.bench_function(&format!("codec/g711_{name}_encode_20ms"), |b| {
            b.iter(|| {
                law.encode_into(black_box(frame), &mut bytes);
                black_box(bytes.len())
            })
        });
        let mut out = Vec::with_capacity(160);
        c.bench_function(&format!("codec/g711_{name}_decode_20ms"), |b| {
            b.iter(|| {
                law.decode_into(black_box(&bytes), &mut out);
                black_box(out.len())
            })
        });
    }
}

fn opus(c: &mut Criterion) {
    for rate in [SampleRate::Hz8000, SampleRate::Hz48000] {
        let khz = rate.hz() / 1000;
        let pcm = speechlike(rate);
        let frames: Vec<&[i16]> = pcm.chunks_exact(rate.frame_len()).collect();

        let mut enc = OpusEncoder::new(rate).expect("supported rate");
        let mut i = 0;
        c.bench_function(&format!("codec/opus_encode_{khz}k_20ms"), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                black_box(enc.encode(black_box(frames[i])).expect("valid frame").len())
            })
        });

        let mut enc = OpusEncoder::new(rate).expect("supported rate");
        let packets: Vec<Vec<u8>> =
            frames.iter().map(|f| enc.encode(f).expect("valid frame").to_vec()).collect();
        let mut dec = OpusDecoder::new(rate).expect("supported rate");
        let mut j = 0;
        c.bench_function(&format!("codec/opus_decode_{khz}k_20ms"), |b| {
            b.iter(|| {
                j = (j + 1) % packets.len();
                black_box(dec.decode(Some(black_box(&packets[j]))).expect("valid packet").len())
            })
        });
        c.bench_function(&format!("codec/opus_conceal_{khz}k_20ms"), |b| {
            b.iter(|| black_box(dec.decode(None).expect("concealment").len()))
        });
    }
}

fn resample(c: &mut Criterion) {
    for (from, to, name) in [
        (SampleRate::Hz8000, SampleRate::Hz16000, "8k_to_16k"),
        (SampleRate::Hz22050, SampleRate::Hz8000, "22k05_to_8k"),
    ] {
        let pcm = speechlike(from);
        let frames: Vec<&[i16]> = pcm.chunks_exact(from.frame_len()).collect();
        let mut r = Resampler::new(from, to).expect("supported pair");
        let mut out = Vec::with_capacity(2 * to.frame_len());
        let mut i = 0;
        c.bench_function(&format!("codec/resample_{name}_20ms_i16"), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                out.clear();
                black_box(r.push_i16(black_box(frames[i]), &mut out).expect("resample"))
            })
        });
    }
}

criterion_group!(benches, g711, opus, resample);
criterion_main!(benches);
