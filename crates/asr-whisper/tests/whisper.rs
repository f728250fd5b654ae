//! Whisper with the real models on real human prompts (Debian `asterisk-core-sounds-en-wav`).

mod common;

use common::{assert_has_words, load, models, prompt_16k, words};
use frontdesk_asr_whisper::{StopReason, WhisperModel, WhisperOptions, WhisperTranscriber};
use frontdesk_engines::{DecodeOptions, EngineError, Transcriber};

/// Prompts and their published transcripts (`core-sounds-en.txt`).
const PROMPTS: [(&str, &str); 4] = [
    ("agent-pass", "Please enter your password followed by the pound key."),
    ("cannot-complete-as-dialed", "Your call cannot be completed as dialed."),
    ("agent-newlocation", "Please enter a new extension, followed by pound."),
    ("all-circuits-busy-now", "All circuits are busy now."),
];

#[test]
fn tiny_en_transcribes_human_prompts() {
    let m = load(WhisperModel::TinyEn);
    assert_eq!(m.name(), "whisper-tiny.en");
    assert!(!m.is_multilingual());
    for (name, text) in PROMPTS {
        let pcm = prompt_16k(name);
        let d = m.decode(&pcm, &DecodeOptions::default()).expect("decode");
        assert_has_words(&d.transcript.text, text);
        assert_eq!(d.stop, StopReason::EndOfText, "{name}: {d:?}");
        assert!(d.transcript.confidence > 0.5, "{name}: confidence {}", d.transcript.confidence);
        // The encoder saw the speech plus the 3 s margin (at least 6 s; 8 s under 2 s of
        // audio), not a 30 s window.
        let min = if pcm.len() < 32_000 { 128_000 } else { 96_000 };
        let expected_frames = (pcm.len() + 48_000).max(min).div_ceil(160);
        assert!(d.encoder_frames.abs_diff(expected_frames) <= 2, "{} frames", d.encoder_frames);
        // Word timings: one per word, ordered, inside the audio.
        let audio_ms = (pcm.len() / 16) as u32;
        let w = &d.transcript.words;
        assert_eq!(w.len(), d.transcript.text.split_whitespace().count(), "{w:?}");
        assert!(
            w.windows(2).all(|p| p[0].end_ms <= p[1].start_ms + 1 && p[0].start_ms <= p[1].start_ms),
            "{w:?}"
        );
        assert!(w.iter().all(|x| x.start_ms <= x.end_ms && x.end_ms <= audio_ms), "{w:?}");
        assert!(w.iter().all(|x| (0.0..=1.0).contains(&x.confidence)));
    }
}

/// Prompts of 1-10 s for the equivalence checks.
const SUBSET: [&str; 8] = [
    "agent-pass",
    "cannot-complete-as-dialed",
    "vm-review",
    "dir-instr",
    "invalid",
    "queue-periodic-announce",
    "vm-savefolder",
    "conf-errormenu",
];

#[test]
fn the_vectorised_encoder_computes_what_candles_encoder_computes() {
    let m = load(WhisperModel::TinyEn);
    for name in &SUBSET[..3] {
        let dev = m.encoder_deviation(&prompt_16k(name)).expect("encode");
        // f32 rounding of a different summation order and GELU evaluation, not a different
        // function (a wrong weight or scale gives deviations of order 1).
        assert!(dev < 1e-4, "{name}: relative deviation {dev}");
    }
}

#[test]
fn the_kv_cache_and_drafts_do_not_change_transcripts() {
    let cached = load(WhisperModel::TinyEn);
    let mut full = load(WhisperModel::TinyEn);
    full.set_options(WhisperOptions { kv_cache: false, ..cached.options().clone() });
    let opts = DecodeOptions::default();
    for name in SUBSET {
        let pcm = prompt_16k(name);
        let a = cached.decode(&pcm, &opts).expect("cached");
        let b = full.decode(&pcm, &opts).expect("uncached");
        assert_eq!(a.token_ids, b.token_ids, "{name}: {:?} vs {:?}", a.transcript.text, b.transcript.text);
        assert_eq!(a.transcript.text, b.transcript.text);
        assert!((a.no_speech_prob - b.no_speech_prob).abs() < 1e-3, "{name}");
        // The result of a partial decode (the first 60 %) as the draft of the final one: same
        // tokens; so is a draft that is wrong from the start.
        let partial = cached.decode(&pcm[..pcm.len() * 3 / 5], &opts).expect("partial");
        let c = cached.decode_with_draft(&pcm, &opts, &partial.token_ids).expect("draft");
        assert_eq!(c.token_ids, a.token_ids, "{name}");
        let wrong: Vec<u32> = a.token_ids.iter().map(|t| if *t < 50256 { t + 1 } else { *t }).collect();
        let d = cached.decode_with_draft(&pcm, &opts, &wrong).expect("wrong draft");
        assert_eq!(d.token_ids, a.token_ids, "{name}");
        // The full result as its own draft.
        let e = cached.decode_with_draft(&pcm, &opts, &a.token_ids).expect("exact draft");
        assert_eq!(e.token_ids, a.token_ids, "{name}");
    }
}

#[test]
fn base_forced_to_english_transcribes_a_prompt() {
    let m = load(WhisperModel::Base);
    assert!(m.is_multilingual());
    let (name, text) = PROMPTS[0];
    let t = m.transcribe(&prompt_16k(name), &DecodeOptions::default()).expect("transcribe");
    assert_has_words(&t.text, text);
}

#[test]
fn silence_and_faint_noise_give_no_text() {
    let m = load(WhisperModel::TinyEn);
    let d = m.decode(&vec![0.0; 32_000], &DecodeOptions::default()).expect("decode");
    assert_eq!((d.transcript.text.as_str(), d.stop), ("", StopReason::Silence));
    // -60 dBFS white noise (a seeded LCG): decoded, and dropped as no speech.
    let mut x = 12345u32;
    let noise: Vec<f32> = (0..32_000)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 8) as f32 / (1 << 24) as f32 * 0.002 - 0.001
        })
        .collect();
    let d = m.decode(&noise, &DecodeOptions::default()).expect("decode");
    assert_eq!(d.transcript.text, "", "{d:?}");
    assert!(d.no_speech_prob > 0.5, "{d:?}");
}

#[test]
fn the_token_cap_bounds_a_decode() {
    let m = load(WhisperModel::TinyEn);
    let mut tight = WhisperTranscriber::load(WhisperModel::TinyEn, &models()).expect("load");
    tight.set_options(WhisperOptions {
        max_tokens_base: 3,
        max_tokens_per_second: 0.0,
        ..m.options().clone()
    });
    let d = tight.decode(&prompt_16k("agent-pass"), &DecodeOptions::default()).expect("decode");
    assert_eq!((d.tokens, d.stop), (3, StopReason::TokenCap));
    assert!(d.transcript.text.split_whitespace().count() <= 2, "{:?}", d.transcript.text);
}

#[test]
fn missing_truncated_and_corrupt_model_files_are_errors_not_panics() {
    let src = models().join("whisper-tiny.en");
    let dir = std::env::temp_dir().join(format!("frontdesk-whisper-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let opts = WhisperOptions::default();
    let check = |want: &str| {
        let e = WhisperTranscriber::load_dir(&dir, "t", opts.clone()).expect_err("must fail");
        let msg = e.to_string();
        assert!(msg.contains("frontdesk models fetch"), "{msg}");
        match (&e, want) {
            (EngineError::ModelMissing { path }, "missing") => assert!(path.ends_with("model.bin"), "{msg}"),
            (EngineError::ModelCorrupt { path, why }, w) if w != "missing" => {
                assert!(path.ends_with("model.bin"), "{msg}");
                assert!(why.contains(w), "{msg}");
            }
            _ => panic!("expected {want}: {msg}"),
        }
    };
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy (run `frontdesk models fetch`)");
    }
    check("missing");
    let real = std::fs::read(src.join("model.bin")).expect("model.bin (run `frontdesk models fetch`)");
    std::fs::write(dir.join("model.bin"), &real[..1 << 20]).expect("write");
    check("truncated");
    let mut bad = real[..4096].to_vec();
    bad[4..20].copy_from_slice(b"\x0c\x00NotWhisper\x00\x00\x00\x00");
    std::fs::write(dir.join("model.bin"), &bad).expect("write");
    check("WhisperSpec");
    std::fs::write(dir.join("model.bin"), b"").expect("write");
    check("truncated");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_short_word_is_not_read_twice() {
    // tiny.en with only the 3 s margin read these as "extension. Extension" and "today. Today"
    // (the re-read's timestamp fell inside the audio, so decode::segment_in_margin kept it);
    // with the 6 s minimum input (WhisperOptions::min_window_ms) they read once.
    let m = load(WhisperModel::TinyEn);
    for (name, word) in [("vm-extension", "extension"), ("digits/today", "today")] {
        let d = m.decode(&prompt_16k(name), &DecodeOptions::default()).expect("decode");
        assert_eq!(words(&d.transcript.text), [word], "{name}: {:?}", d.transcript.text);
    }
}
