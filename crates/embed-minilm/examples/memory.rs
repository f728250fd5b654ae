//! Resident memory of the speech engines: with every model loaded (Silero VAD, Whisper tiny.en,
//! Piper joe, MiniLM), then what each extra concurrent ASR or TTS session adds.
//!
//! Reads `VmRSS` and `VmHWM` (peak) from `/proc/self/status`; the peak is reset before each step
//! by writing `5` to `/proc/self/clear_refs`. An ASR session here is what a call's recogniser
//! holds and does: a Silero VAD stream and a Whisper `StreamSession` fed 3 s of speech (the
//! buffered segment), and one Whisper decode of it running at the same time as the others'. A TTS
//! session is one Piper synthesis running concurrently (each concurrent synthesis holds an ONNX
//! Runtime session of its own, kept for reuse afterwards). `n` sessions run on `n` threads
//! released together. Models come from `FRONTDESK_MODELS` (else `./models`).
//!
//! `cargo run --release -p frontdesk-embed-minilm --example memory`

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measuring tool: fail loudly, print results

use std::path::PathBuf;
use std::sync::Barrier;

use frontdesk_asr_whisper::stream::{StreamConfig, StreamSession};
use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber};
use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::{DecodeOptions, Embedder, Synthesizer, Transcriber, Vad};
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::{PiperVoice, StreamOptions, synthesize_text};
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::SileroFactory;

const SENTENCE: &str = "Your appointment is confirmed for Tuesday at three this afternoon.";

/// (current, peak) resident set in MiB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

fn report(what: &str, before: f64) -> f64 {
    let (now, peak) = rss();
    println!("{what:<44} RSS {now:7.1} MiB (+{:6.1}), peak {peak:7.1} MiB", now - before);
    now
}

fn main() {
    let dir = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from);
    let paths = ModelPaths::new(dir.clone()).unwrap();
    let mut last = report("start", 0.0);
    let silero = SileroFactory::load(&paths).unwrap();
    last = report("+ Silero VAD", last);
    let whisper = WhisperTranscriber::load(WhisperModel::TinyEn, &dir).unwrap();
    last = report("+ Whisper tiny.en", last);
    let piper = PiperVoice::load(&paths).unwrap();
    last = report("+ Piper joe-medium (one session)", last);
    let minilm = MiniLm::load(&dir).unwrap();
    report("+ MiniLM", last);

    // Speech to recognise: Piper's, 3 s at 16 kHz.
    let mut speech = synthesize_text(&piper, SENTENCE, &StreamOptions::new(SampleRate::Hz16000)).unwrap();
    speech.resize(48_000, 0.0);
    // Run each once (first-run allocations, ONNX Runtime arenas).
    let mut vad = silero.vad(SampleRate::Hz16000).unwrap();
    for f in speech.chunks_exact(512) {
        vad.process(f).unwrap();
    }
    let t = whisper.transcribe(&speech, &DecodeOptions::default()).unwrap();
    piper.synthesize_clause(SENTENCE).unwrap();
    minilm.embed(&["what time do you open on saturday"]).unwrap();
    let loaded = report("all four loaded, each run once", 0.0);
    println!("(the transcript of the test speech: {:?})", t.text);

    println!("\nconcurrent ASR sessions (VAD stream + StreamSession with 3 s + one decode each)");
    let mut asr_rows = Vec::new();
    for n in [1usize, 4, 8] {
        reset_peak();
        let barrier = Barrier::new(n);
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    let mut vad = silero.vad(SampleRate::Hz16000).unwrap();
                    let mut session = StreamSession::new(StreamConfig::default());
                    session.speech_start(0);
                    for f in speech.chunks_exact(512) {
                        vad.process(f).unwrap();
                        session.push_audio(f);
                    }
                    barrier.wait();
                    whisper.transcribe(&speech, &DecodeOptions::default()).unwrap();
                    drop(session);
                });
            }
        });
        let (now, peak) = rss();
        println!(
            "{n} at once: peak {peak:7.1} MiB (+{:6.1} over all loaded), after {now:7.1} MiB",
            peak - loaded
        );
        asr_rows.push((n, peak));
    }
    let per_asr = (asr_rows[2].1 - asr_rows[0].1) / 7.0;

    println!("\nconcurrent TTS sessions (one Piper synthesis each)");
    let mut tts_rows = Vec::new();
    for n in [1usize, 4, 8] {
        reset_peak();
        piper.prepare_sessions(n).unwrap();
        let barrier = Barrier::new(n);
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    barrier.wait();
                    piper.synthesize_clause(SENTENCE).unwrap();
                });
            }
        });
        let (now, peak) = rss();
        println!(
            "{n} at once: peak {peak:7.1} MiB (+{:6.1} over all loaded), after {now:7.1} MiB (sessions kept)",
            peak - loaded
        );
        tts_rows.push((n, peak, now));
    }
    let per_tts = (tts_rows[2].1 - tts_rows[0].1) / 7.0;
    println!(
        "\nall models loaded: {loaded:.1} MiB; each extra concurrent ASR session: {per_asr:.1} MiB at peak; \
         each extra concurrent TTS session: {per_tts:.1} MiB at peak ({:.1} MiB kept)",
        (tts_rows[2].2 - tts_rows[0].2) / 7.0
    );
}
