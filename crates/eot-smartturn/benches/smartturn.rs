//! Smart Turn v3.2: milliseconds per inference on one thread (features + model), and the
//! features alone.
//!
//! Needs the models (`frontdesk models fetch onnxruntime smart-turn`).
//! `cargo bench -p frontdesk-eot-smartturn --bench smartturn`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench without its models cannot run

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_engines::EndOfTurn;
use frontdesk_eot_smartturn::features::Features;
use frontdesk_eot_smartturn::{SmartTurnFactory, to_16k};
use frontdesk_models::ModelPaths;
use frontdesk_types::SampleRate;

fn models() -> ModelPaths {
    let dir = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    ModelPaths::new(dir).unwrap()
}

/// A real prompt when available (the window is 8 s whatever the length), else a harmonic sweep.
fn speech_16k() -> Vec<f32> {
    let path = "/usr/share/asterisk/sounds/en/demo-congrats.wav";
    let pcm8: Vec<f32> = match hound::WavReader::open(path) {
        Ok(r) => r.into_samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect(),
        Err(_) => (0..40_000).map(|i| ((i as f32) * 0.05).sin() * 0.3).collect(),
    };
    to_16k(&pcm8, SampleRate::Hz8000).unwrap()
}

fn smartturn(c: &mut Criterion) {
    let factory = SmartTurnFactory::load(&models()).expect("frontdesk models fetch onnxruntime smart-turn");
    let pcm = speech_16k();
    let mut turn = factory.turn();
    let mut g = c.benchmark_group("smartturn");
    g.sample_size(30);
    g.bench_function("eot_predict_8s", |b| b.iter(|| black_box(turn.predict(&pcm).unwrap())));
    let mut fx = Features::new();
    let mut out = Vec::new();
    g.bench_function("eot_features_8s", |b| b.iter(|| fx.compute(black_box(&pcm), &mut out)));
    g.finish();
}

criterion_group!(benches, smartturn);
criterion_main!(benches);
