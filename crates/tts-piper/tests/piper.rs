//! Piper and espeak-ng voices with the real model and program: phonemes as Piper expects them,
//! non-silent speech of plausible length (checked by the Silero VAD), clause streaming with
//! cancellation, the prompt cache, and model-file errors.

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step should stop the test

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use frontdesk_engines::pool::InferencePool;
use frontdesk_engines::{EngineError, Synthesizer, Vad, split_clauses};
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::piper::{CONFIG_FILE, MODEL_FILE, SET};
use frontdesk_tts_piper::{EspeakVoice, PiperVoice, PromptCache, StreamOptions, TtsStream, synthesize_text};
use frontdesk_types::SampleRate;

fn models() -> ModelPaths {
    let dir = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    ModelPaths::new(dir).unwrap()
}

/// One voice for the whole test binary (loading takes a second or two).
fn voice() -> Arc<PiperVoice> {
    static VOICE: OnceLock<Arc<PiperVoice>> = OnceLock::new();
    VOICE
        .get_or_init(|| {
            Arc::new(PiperVoice::load(&models()).unwrap_or_else(|e| {
                panic!(
                    "{e}\n(these tests need the models, `frontdesk models fetch onnxruntime piper-joe silero-vad`, \
                     and the Debian package espeak-ng: scripts/install-test-deps.sh)"
                )
            }))
        })
        .clone()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Share of 32 ms frames Silero calls speech, at 16 kHz.
fn speech_share(pcm: &[f32], rate: SampleRate) -> f32 {
    let vad_factory = frontdesk_vad_silero::SileroFactory::load(&models()).unwrap();
    let mut up = frontdesk_codec::Resampler::new(rate, SampleRate::Hz16000).unwrap();
    let mut pcm16 = Vec::new();
    up.push_f32(pcm, &mut pcm16).unwrap();
    up.flush_f32(&mut pcm16).unwrap();
    let mut vad = vad_factory.vad(SampleRate::Hz16000).unwrap();
    let p: Vec<f32> = pcm16.chunks_exact(512).map(|f| vad.process(f).unwrap()).collect();
    p.iter().filter(|&&x| x >= 0.5).count() as f32 / p.len().max(1) as f32
}

const SENTENCE: &str = "We are open Monday to Friday, from eight in the morning to six in the evening.";

#[test]
fn phonemes_match_what_piper_expects() {
    let v = voice();
    // Reference: piper-tts 1.8.0's own phonemiser (its bundled espeak-ng also writes a palatal
    // glide "ʲ" after "iː", which Debian's espeak-ng 1.51 does not: removed here).
    let cases = [
        ("Hello there, how are you today?", "həlˈoʊ ðˈɛɹ, hˌaʊ ɑːɹ juː tədˈeɪ?"),
        (
            "We are open Monday to Friday, from 8 AM to 6 PM.",
            "wiː ɑːɹ ˈoʊpən mˈʌndeɪ tə fɹˈaɪdeɪ, fɹʌm ˈeɪt ˌeɪˈɛm tə sˈɪks pˌiːˈɛm.",
        ),
        ("Thanks; bye: now", "θˈæŋks; bˈaɪ: nˈaʊ"),
    ];
    for (text, want) in cases {
        assert_eq!(v.phonemizer().phonemize(text).unwrap(), want, "{text}");
    }
    // Clock times are read as people say them, not digit group by digit group ("ten zero zero").
    assert_eq!(
        v.phonemizer().phonemize("At 10:00 AM.").unwrap(),
        v.phonemizer().phonemize("At 10 AM.").unwrap()
    );
    assert!(!v.phonemizer().phonemize("At 9:05 AM.").unwrap().contains("zˈiəɹoʊ"), "9:05 read as zero five");
    // Piper's framing: BOS, pad, each phoneme followed by pad, EOS.
    assert_eq!(v.phoneme_ids("hə"), vec![1, 0, 20, 0, 59, 0, 2]);
    // Characters outside the map are skipped, not errors.
    assert_eq!(v.phoneme_ids("h☃"), vec![1, 0, 20, 0, 2]);
}

#[test]
fn piper_speaks_non_silent_speech_of_plausible_length() {
    let v = voice();
    assert_eq!(v.rate(), 22050);
    let pcm = v.synthesize_clause(SENTENCE).unwrap();
    let words = SENTENCE.split_whitespace().count() as f32;
    let secs = pcm.len() as f32 / 22050.0;
    eprintln!("{words} words: {secs:.2} s, rms {:.3}", rms(&pcm));
    // piper-tts 1.8.0 (Python, same model) makes 3.94 s of this sentence; VITS durations are
    // sampled (noise_w), so allow 15 %. The voice is brisk: about 0.25 s per word here.
    assert!((secs - 3.94).abs() < 0.15 * 3.94, "{secs} s, piper-tts makes 3.94 s");
    assert!((0.2 * words..=0.6 * words).contains(&secs), "{secs} s for {words} words");
    assert!(rms(&pcm) > 0.02, "too quiet: rms {}", rms(&pcm));
    let share = speech_share(&pcm, SampleRate::Hz22050);
    assert!(share > 0.6, "Silero hears speech in only {:.0} % of it", share * 100.0);
    // Empty or punctuation-only clauses give no audio, not an error.
    assert!(v.synthesize_clause("  ").unwrap().is_empty());
}

#[test]
fn espeak_fallback_speaks_too() {
    let v = EspeakVoice::new("en-us").unwrap_or_else(|e| panic!("{e}"));
    let pcm = v.synthesize_clause(SENTENCE).unwrap();
    let words = SENTENCE.split_whitespace().count() as f32;
    let secs = pcm.len() as f32 / v.rate() as f32;
    eprintln!("espeak: {secs:.2} s, rms {:.3}", rms(&pcm));
    assert!((0.25 * words..=0.6 * words).contains(&secs), "{secs} s for {words} words");
    assert!(rms(&pcm) > 0.02);
    assert!(speech_share(&pcm, SampleRate::from_hz(v.rate()).unwrap()) > 0.5);
}

/// Counts clause calls of the real voice.
struct Counting(Arc<PiperVoice>, AtomicUsize);
impl Synthesizer for Counting {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn rate(&self) -> u32 {
        self.0.rate()
    }
    fn synthesize_clause(&self, clause: &str) -> Result<Vec<f32>, EngineError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.synthesize_clause(clause)
    }
}

const ANSWER: &str = "Thanks for calling the clinic. We are open Monday to Friday, from eight to six. \
                      Saturday mornings are for urgent visits only. Would you like to book an appointment?";

#[test]
fn the_stream_delivers_clause_by_clause_at_the_call_rate() {
    let synth = Arc::new(Counting(voice(), AtomicUsize::new(0)));
    let pool = Arc::new(InferencePool::new(1, 8));
    let stream =
        TtsStream::new(synth.clone(), pool.clone(), ANSWER, StreamOptions::new(SampleRate::Hz8000)).unwrap();
    let clauses = split_clauses(ANSWER);
    assert_eq!(clauses.len(), 5);
    let mut got = Vec::new();
    for chunk in stream {
        let chunk = chunk.unwrap();
        if chunk.index == 0 {
            // The first clause is out while most of the answer has not even been synthesised.
            let done = synth.1.load(Ordering::SeqCst);
            assert!(done <= 2, "{done} clauses synthesised before the first was delivered");
        }
        let secs = chunk.pcm.len() as f32 / 8000.0;
        let words = chunk.clause.split_whitespace().count() as f32;
        assert!(secs > 0.18 * words && rms(&chunk.pcm) > 0.02, "{:?}: {secs} s", chunk.clause);
        got.push((chunk.index, chunk.clause, chunk.last));
    }
    let want: Vec<_> = clauses.iter().enumerate().map(|(i, c)| (i, c.clone(), i == 4)).collect();
    assert_eq!(got, want);
}

#[test]
fn dropping_the_stream_cancels_the_rest() {
    let synth = Arc::new(Counting(voice(), AtomicUsize::new(0)));
    let pool = Arc::new(InferencePool::new(1, 8));
    let mut stream =
        TtsStream::new(synth.clone(), pool.clone(), ANSWER, StreamOptions::new(SampleRate::Hz8000)).unwrap();
    assert_eq!(stream.next_blocking().unwrap().unwrap().index, 0);
    drop(stream);
    drop(Arc::try_unwrap(pool).unwrap()); // waits for the job that was running, if any
    let calls = synth.1.load(Ordering::SeqCst);
    assert!((1..=3).contains(&calls), "{calls} of 5 clauses synthesised after cancelling");
}

#[test]
fn the_prompt_cache_synthesises_once_per_text_voice_and_rate() {
    let synth = Counting(voice(), AtomicUsize::new(0));
    let cache = PromptCache::new(10 * 16000 * 60);
    let a = cache.get_or_synthesize(&synth, "Thanks for calling.", SampleRate::Hz8000).unwrap();
    let b = cache.get_or_synthesize(&synth, "  Thanks   for calling. ", SampleRate::Hz8000).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(synth.1.load(Ordering::SeqCst), 1);
    let c = cache.get_or_synthesize(&synth, "Thanks for calling.", SampleRate::Hz16000).unwrap();
    // A separate synthesis: VITS samples durations, so lengths agree only roughly.
    let ratio = c.len() as f32 / (2 * a.len()) as f32;
    assert!((0.85..1.15).contains(&ratio), "{ratio}");
    assert_eq!((cache.len(), synth.1.load(Ordering::SeqCst)), (2, 2));
    assert!(cache.get(synth.name(), "Thanks for calling.", SampleRate::Hz8000).is_some());
    let whole =
        synthesize_text(&synth, "Thanks for calling.", &StreamOptions::new(SampleRate::Hz8000)).unwrap();
    let ratio = whole.len() as f32 / a.len() as f32;
    assert!((0.85..1.15).contains(&ratio), "{ratio}");
}

/// A copy of the installed piper-joe set in a temporary models dir.
fn copied_set() -> (tempfile::TempDir, ModelPaths) {
    let real = models();
    let _ = voice(); // loads ONNX Runtime from the real models dir (one per process)
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join(SET);
    std::fs::create_dir_all(&dst).unwrap();
    for name in [MODEL_FILE, CONFIG_FILE, "MODEL_CARD", ".installed"] {
        std::fs::copy(real.set_dir(SET).join(name), dst.join(name)).unwrap();
    }
    let paths = ModelPaths::new(dir.path()).unwrap();
    (dir, paths)
}

fn assert_names_file_and_fix(e: &EngineError, path: &Path) {
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains("frontdesk models fetch"), "{msg}");
}

#[test]
fn missing_truncated_and_corrupt_model_files_are_errors_naming_them() {
    let _ = voice();
    let empty = tempfile::tempdir().unwrap();
    let e = PiperVoice::load(&ModelPaths::new(empty.path()).unwrap()).unwrap_err();
    assert!(matches!(e, EngineError::ModelMissing { .. }), "{e}");
    assert_names_file_and_fix(&e, &empty.path().join(SET).join(MODEL_FILE));

    let (_dir, paths) = copied_set();
    let model = paths.set_dir(SET).join(MODEL_FILE);
    let config = paths.set_dir(SET).join(CONFIG_FILE);
    std::fs::File::options().write(true).open(&model).unwrap().set_len(10_000_000).unwrap();
    let e = PiperVoice::load(&paths).unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &model);
    let e = PiperVoice::from_files(&paths, &model, &config, "x").unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &model);

    std::fs::write(&config, "{\"not\": \"a piper config\"}").unwrap();
    let e = PiperVoice::from_files(&paths, &model, &config, "x").unwrap_err();
    assert!(matches!(e, EngineError::ModelCorrupt { .. }), "{e}");
    assert_names_file_and_fix(&e, &config);
}

#[test]
fn a_long_first_clause_is_cut_and_its_halves_join_without_a_pause() {
    const TEXT: &str = "Your appointment is confirmed for Tuesday at three this afternoon.";
    let rate = SampleRate::Hz16000;
    let pool = Arc::new(InferencePool::new(1, 8));
    let chunks: Vec<_> =
        TtsStream::new(voice(), pool, TEXT, StreamOptions::new(rate)).unwrap().map(|c| c.unwrap()).collect();
    let clauses: Vec<&str> = chunks.iter().map(|c| c.clause.as_str()).collect();
    assert_eq!(clauses, ["Your appointment is confirmed", "for Tuesday at three this afternoon."]);
    let (head, tail) = (&chunks[0].pcm, &chunks[1].pcm);
    // The first audio is the short half: under half of the sentence.
    assert!(head.len() * 2 < head.len() + tail.len(), "{} vs {}", head.len(), tail.len());
    // At the seam: at most a word gap of near-silence (VITS leaves 170-250 ms there untrimmed).
    let quiet = |s: &&f32| s.abs() <= 0.01;
    let gap = head.iter().rev().take_while(quiet).count() + tail.iter().take_while(quiet).count();
    let gap_ms = gap as f32 * 1000.0 / 16000.0;
    assert!(gap_ms <= 80.0, "{gap_ms} ms of silence at the seam");
    // Joined, it is still the whole sentence: speech throughout, about as long as one synthesis.
    let joined: Vec<f32> = head.iter().chain(tail).copied().collect();
    let whole = voice().synthesize_clause(TEXT).unwrap();
    let ratio = joined.len() as f32 / (whole.len() as f32 * 16000.0 / 22050.0);
    assert!((0.75..1.15).contains(&ratio), "joined/whole length {ratio}");
    let share = speech_share(&joined, rate);
    assert!(share > 0.6, "Silero hears speech in only {:.0} % of it", share * 100.0);
    // Synthesising the text at once gives the same cut and the same joins.
    let once = synthesize_text(voice().as_ref(), TEXT, &StreamOptions::new(rate)).unwrap();
    let ratio = once.len() as f32 / joined.len() as f32;
    assert!((0.85..1.15).contains(&ratio), "{ratio}");
}
