//! In-band DTMF detection per 20 ms frame at 8 kHz (speech-like and tone input), and the playout
//! queue's push + pop per 20 ms frame.
//!
//! Run: `cargo bench --bench dtmf`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use frontdesk_dtmf::{DtmfDetector, DtmfGenerator, ToneSpec};
use frontdesk_types::{Instant, SampleRate};
use frontdesk_voice::{PlayoutQueue, UtteranceId};

const FRAME: usize = 160;

/// Speech-like audio, seeded: a voiced source (F0 gliding 100-220 Hz, harmonics falling 6 dB per
/// octave) under a syllable-rate envelope, plus a little noise.
fn speech_like(seconds: usize) -> Vec<i16> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut phase = 0.0f64;
    (0..seconds * 8000)
        .map(|n| {
            let t = n as f64 / 8000.0;
            let f0 = 160.0 + 60.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
            phase += f0 / 8000.0;
            let voiced: f64 = (1..=20)
                .map(|h| (2.0 * std::f64::consts::PI * phase * f64::from(h)).sin() / f64::from(h))
                .sum();
            let envelope = (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            ((voiced * envelope * 0.25 + noise * 0.02) * 32767.0) as i16
        })
        .collect()
}

fn bench_detector(c: &mut Criterion, name: &str, pcm: &[i16]) {
    let frames: Vec<&[i16]> = pcm.chunks_exact(FRAME).collect();
    let mut g = c.benchmark_group("dtmf_detect_20ms_frame");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        let mut det = DtmfDetector::new();
        let mut i = 0usize;
        b.iter(|| {
            // `i % len` is in range: `frames` is non-empty (built from seconds of audio).
            let frame = frames[i % frames.len()];
            det.push(Instant::from_micros(i as u64 * 20_000), black_box(frame));
            while let Some(e) = det.poll_event() {
                black_box(e);
            }
            i += 1;
        });
    });
    g.finish();
}

fn detection(c: &mut Criterion) {
    bench_detector(c, "speech_like", &speech_like(4));
    let tones = DtmfGenerator::render(ToneSpec::default(), "0123456789*#ABCD").expect("valid spec and keys");
    bench_detector(c, "dtmf_tones", &tones);
}

fn playout(c: &mut Criterion) {
    let mut g = c.benchmark_group("playout_queue");
    g.throughput(Throughput::Elements(1));
    // One 20 ms chunk in, one frame out, per iteration (steady TTS streaming).
    let chunk = vec![1000i16; FRAME];
    g.bench_function("push_pop_20ms_frame", |b| {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        let mut n = 0u64;
        b.iter(|| {
            let id = UtteranceId(n / 250);
            let now = Instant::from_micros(n * 20_000);
            q.enqueue(id, black_box(&chunk)).expect("queue stays within capacity");
            black_box(q.pop_frame(now));
            // 5 s utterances: close each so the next one can play.
            if n % 250 == 249 {
                q.finish_utterance(now, id).expect("the utterance is open");
            }
            while let Some(e) = q.poll_event() {
                black_box(e);
            }
            n += 1;
        });
    });
    // TTS-sized chunks (odd length, 22.05 kHz-like 441 samples at 8 kHz) re-framed: per frame popped.
    let odd = vec![7i16; 441];
    g.bench_function("push_odd_chunks_pop_20ms_frame", |b| {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        let mut n = 0u64;
        b.iter(|| {
            if q.pending_ms() < 40 {
                q.enqueue(UtteranceId(0), black_box(&odd)).expect("queue stays within capacity");
            }
            black_box(q.pop_frame(Instant::from_micros(n * 20_000)));
            n += 1;
        });
    });
    g.finish();
}

criterion_group!(benches, detection, playout);
criterion_main!(benches);
