//! ONNX engines: Silero VAD per frame (8 and 16 kHz) and Piper TTS (time to first audio for a
//! 10-word sentence through the clause stream, and whole-sentence synthesis for the RTF).
//!
//! Needs the models (`frontdesk models fetch onnxruntime silero-vad piper-joe`) and espeak-ng.
//! `cargo bench --bench engines_onnx`. The RTF is the `tts_sentence` median divided by the audio
//! duration printed at start.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench without its models cannot run

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_engines::pool::InferencePool;
use frontdesk_engines::{Synthesizer, Vad};
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::{PiperVoice, StreamOptions, TtsStream, synthesize_text};
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::SileroFactory;

const SENTENCE: &str = "Thanks for calling the clinic, how can we help today?";

fn models() -> ModelPaths {
    let dir = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    ModelPaths::new(dir).unwrap()
}

/// Some speech-like signal: a real prompt when available, else a harmonic sweep.
fn speech_8k() -> Vec<f32> {
    let path = "/usr/share/asterisk/sounds/en/demo-congrats.wav";
    match hound::WavReader::open(path) {
        Ok(r) => r.into_samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect(),
        Err(_) => (0..80_000).map(|i| ((i as f32) * 0.05).sin() * 0.3).collect(),
    }
}

fn vad(c: &mut Criterion) {
    let factory = SileroFactory::load(&models()).expect("frontdesk models fetch onnxruntime silero-vad");
    let pcm8 = speech_8k();
    let mut up = frontdesk_codec::Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).unwrap();
    let mut pcm16 = Vec::new();
    up.push_f32(&pcm8, &mut pcm16).unwrap();
    for (name, rate, pcm) in
        [("vad_frame_8k", SampleRate::Hz8000, &pcm8), ("vad_frame_16k", SampleRate::Hz16000, &pcm16)]
    {
        let mut v = factory.vad(rate).unwrap();
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

fn tts(c: &mut Criterion) {
    let voice: Arc<PiperVoice> =
        Arc::new(PiperVoice::load(&models()).expect("frontdesk models fetch piper-joe"));
    let audio = synthesize_text(voice.as_ref(), SENTENCE, &StreamOptions::new(SampleRate::Hz22050)).unwrap();
    eprintln!("tts_sentence: {:.3} s of audio for {:?}", audio.len() as f64 / 22050.0, SENTENCE);
    let pool = Arc::new(InferencePool::new(1, 16));
    let mut g = c.benchmark_group("tts");
    g.sample_size(20);
    g.bench_function("tts_first_audio_8k", |b| {
        b.iter(|| {
            let synth: Arc<dyn Synthesizer> = voice.clone();
            let mut s = TtsStream::new(synth, pool.clone(), SENTENCE, StreamOptions::new(SampleRate::Hz8000))
                .unwrap();
            black_box(s.next_blocking().unwrap().unwrap())
        })
    });
    g.bench_function("tts_sentence", |b| b.iter(|| black_box(voice.synthesize_clause(SENTENCE).unwrap())));
    g.bench_function("tts_phonemize", |b| {
        b.iter(|| black_box(voice.phonemizer().phonemize(SENTENCE).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, vad, tts);
criterion_main!(benches);
