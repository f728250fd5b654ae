//! Per-call costs of the small engines: Silero VAD per 32 ms frame at 8 and 16 kHz, and a
//! MiniLM embedding of one short caller utterance.
//!
//! `FRONTDESK_MODELS=models cargo bench -p frontdesk-embed-minilm --bench engines`
//! (criterion medians; the models from `frontdesk models fetch onnxruntime silero-vad minilm`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench without its models cannot run

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::{Embedder, Vad};
use frontdesk_models::ModelPaths;
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::SileroFactory;

fn models() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models")), PathBuf::from)
}

/// A speech-like signal: harmonics of a gliding pitch with a syllable-rate envelope.
fn signal(rate: u32, secs: f32) -> Vec<f32> {
    let n = (rate as f32 * secs) as usize;
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = 120.0 + 30.0 * (t * 1.3).sin();
            phase += std::f32::consts::TAU * f0 / rate as f32;
            let env = (t * 4.0 * std::f32::consts::PI).sin().abs();
            env * (1..6).map(|h| (phase * h as f32).sin() / h as f32).sum::<f32>() * 0.3
        })
        .collect()
}

fn vad(c: &mut Criterion) {
    let paths = ModelPaths::new(models()).unwrap();
    let factory = SileroFactory::load(&paths).expect("frontdesk models fetch onnxruntime silero-vad");
    for (name, rate) in [("vad_frame_8k", SampleRate::Hz8000), ("vad_frame_16k", SampleRate::Hz16000)] {
        let mut v = factory.vad(rate).unwrap();
        let pcm = signal(rate.hz(), 5.0);
        let frames: Vec<&[f32]> = pcm.chunks_exact(v.frame_len()).collect();
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                black_box(v.process(frames[i]).unwrap())
            })
        });
    }
}

fn embed(c: &mut Criterion) {
    let m = MiniLm::load(&models()).expect("frontdesk models fetch minilm");
    let queries = [
        "what time do you open on saturday",
        "I'd like to move my appointment to next week",
        "is there parking near the clinic",
        "can I speak to a real person please",
    ];
    let mut i = 0;
    c.bench_function("embed_query", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(m.embed(&[queries[i]]).unwrap())
        })
    });
}

criterion_group!(benches, vad, embed);
criterion_main!(benches);
