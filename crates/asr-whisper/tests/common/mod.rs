//! Shared helpers: the models directory, loading, and the Debian Asterisk prompts.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber, to_16k};
use frontdesk_types::SampleRate;

/// `FRONTDESK_MODELS`, else the workspace's `models/`.
pub fn models() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"), PathBuf::from)
}

/// Loads a model or fails the test saying how to get it.
pub fn load(model: WhisperModel) -> WhisperTranscriber {
    match WhisperTranscriber::load(model, &models()) {
        Ok(m) => m,
        Err(e) => panic!("{e} (models dir {}; run `frontdesk models fetch`)", models().display()),
    }
}

/// Directory of the Debian package `asterisk-core-sounds-en-wav`.
pub const PROMPTS: &str = "/usr/share/asterisk/sounds/en";

/// A prompt (8 kHz 16-bit WAV) converted to 16 kHz.
pub fn prompt_16k(name: &str) -> Vec<f32> {
    let path = Path::new(PROMPTS).join(format!("{name}.wav"));
    let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (install the Debian package asterisk-core-sounds-en-wav)", path.display())
    });
    let spec = r.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (8000, 1, 16), "{}", path.display());
    let pcm: Vec<f32> = r.samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect();
    to_16k(&pcm, SampleRate::Hz8000).unwrap_or_else(|e| panic!("resample: {e}"))
}

/// Lower-case words without punctuation.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == '\'').collect::<String>().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Asserts that `text` contains every word of `expected`.
pub fn assert_has_words(text: &str, expected: &str) {
    let got = words(text);
    let missing: Vec<String> = words(expected).into_iter().filter(|w| !got.contains(w)).collect();
    assert!(missing.is_empty(), "transcript {text:?} lacks {missing:?}");
}
