//! Pre-synthesised audio for fixed prompts ("Thanks for calling...", menu options).
//!
//! In memory, keyed by (text with whitespace collapsed, voice name, output rate). Filled ahead of
//! time by [`PromptCache::presynthesize`] (at flow load) or on first use by
//! [`PromptCache::get_or_synthesize`]; audio is shared as `Arc<[f32]>`. A budget in samples bounds
//! it: audio that would exceed it is returned but not kept.
//!
//! # On disk
//!
//! A cache made with [`PromptCache::with_dir`] also keeps each prompt's audio as a file in that
//! directory, so a restart loads a flow's prompts instead of synthesising them again (the clinic
//! flow's 65 prompts take about 40 s of synthesis on two cores). A file is named by the SHA-256
//! of its key and of [`FORMAT`], which changes whenever the synthesis or its post-processing
//! does; a voice model replaced by hand under the same name needs the directory emptied. Files
//! are written to a temporary name and renamed, so a crash leaves either a whole file or none
//! under the final name; a file that does not read back whole (truncated, another format) is
//! synthesised again and replaced. Files of prompts no flow uses any more are not removed.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use frontdesk_engines::{EngineError, Synthesizer};
use frontdesk_types::SampleRate;

use crate::stream::{StreamOptions, synthesize_text};

/// Version of the cached audio: part of every file's name and header. Bump it when the
/// synthesis or its post-processing changes what a prompt sounds like.
pub const FORMAT: u32 = 2;
/// First bytes of a cache file.
const MAGIC: &[u8; 8] = b"FDPROMPT";
/// Header: magic, format, rate, sample count (u32 LE each after the magic).
const HEADER: usize = MAGIC.len() + 12;

type Key = (String, String, u32);
/// The entries and the samples they hold.
type Entries = (HashMap<Key, Arc<[f32]>>, usize);

/// The cache.
#[derive(Debug)]
pub struct PromptCache {
    map: Mutex<Entries>,
    budget: usize,
    dir: Option<PathBuf>,
    /// Prompts read from `dir` rather than synthesised.
    from_disk: AtomicU64,
}

fn key(text: &str, voice: &str, rate: SampleRate) -> Key {
    (text.split_whitespace().collect::<Vec<_>>().join(" "), voice.to_owned(), rate.hz())
}

/// The file name of `key`: hex SHA-256 of the format and the key.
fn file_name(key: &Key) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(FORMAT.to_le_bytes());
    for part in [key.0.as_bytes(), key.1.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(key.2.to_le_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.pcm")
}

fn encode(rate: u32, audio: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + audio.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&u32::try_from(audio.len()).unwrap_or(u32::MAX).to_le_bytes());
    for s in audio {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// The audio of a whole file in this format at `rate`, else `None`.
fn decode(bytes: &[u8], rate: u32) -> Option<Vec<f32>> {
    let word = |at: usize| bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    if bytes.get(..MAGIC.len())? != MAGIC || word(8)? != FORMAT || word(12)? != rate {
        return None;
    }
    let n = usize::try_from(word(16)?).ok()?;
    let body = bytes.get(HEADER..)?;
    if body.len() != n.checked_mul(4)? {
        return None;
    }
    Some(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp =
        path.with_extension(format!("tmp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl PromptCache {
    /// A cache holding at most `budget_samples` samples in all (4 bytes each), in memory only.
    pub fn new(budget_samples: usize) -> Self {
        PromptCache {
            map: Mutex::new((HashMap::new(), 0)),
            budget: budget_samples,
            dir: None,
            from_disk: 0.into(),
        }
    }

    /// A cache that also keeps every prompt in `dir` (created if missing; see the module docs).
    pub fn with_dir(budget_samples: usize, dir: &Path) -> Result<Self, EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            EngineError::Input(format!(
                "prompt cache directory {}: {e} (it must be a writable directory; check the data directory's permissions)",
                dir.display()
            ))
        })?;
        Ok(PromptCache { dir: Some(dir.to_owned()), ..Self::new(budget_samples) })
    }

    /// Prompts read from the directory instead of synthesised, since this cache was made.
    pub fn loaded_from_disk(&self) -> u64 {
        self.from_disk.load(Ordering::Relaxed)
    }

    /// Cached audio, if any.
    pub fn get(&self, voice: &str, text: &str, rate: SampleRate) -> Option<Arc<[f32]>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).0.get(&key(text, voice, rate)).cloned()
    }

    /// Cached audio, synthesising (on this thread) and caching it first if needed.
    pub fn get_or_synthesize(
        &self,
        synth: &dyn Synthesizer,
        text: &str,
        rate: SampleRate,
    ) -> Result<Arc<[f32]>, EngineError> {
        if let Some(a) = self.get(synth.name(), text, rate) {
            return Ok(a);
        }
        let k = key(text, synth.name(), rate);
        let file = self.dir.as_ref().map(|d| d.join(file_name(&k)));
        let on_disk = file.as_ref().and_then(|f| std::fs::read(f).ok()).and_then(|b| decode(&b, rate.hz()));
        let audio: Arc<[f32]> = match on_disk {
            Some(a) => {
                self.from_disk.fetch_add(1, Ordering::Relaxed);
                a.into()
            }
            None => {
                let a: Arc<[f32]> = synthesize_text(synth, text, &StreamOptions::new(rate))?.into();
                if let Some(f) = &file
                    && let Err(e) = write_atomic(f, &encode(rate.hz(), &a))
                {
                    // Not fatal: the prompt is still cached in memory, and synthesised again
                    // at the next start.
                    tracing::warn!(
                        file = %f.display(),
                        error = %e,
                        "cannot keep a prompt on disk (check the data directory's free space and permissions)"
                    );
                }
                a
            }
        };
        self.keep(k, audio.clone());
        Ok(audio)
    }

    fn keep(&self, k: Key, audio: Arc<[f32]>) {
        let mut guard = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, used) = &mut *guard;
        if *used + audio.len() <= self.budget {
            if let Some(old) = map.insert(k, audio.clone()) {
                *used -= old.len();
            }
            *used += audio.len();
        }
    }

    /// Synthesises and caches every text.
    pub fn presynthesize(
        &self,
        synth: &dyn Synthesizer,
        texts: &[&str],
        rate: SampleRate,
    ) -> Result<(), EngineError> {
        for t in texts {
            self.get_or_synthesize(synth, t, rate)?;
        }
        Ok(())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).0.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples held.
    pub fn samples(&self) -> usize {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Fake;

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_second_cache_on_the_same_directory_reads_instead_of_synthesising() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("prompts");
        let voice = Fake::new();
        let texts = ["Thanks for calling.", "How can I  help you today?"];
        let first = PromptCache::with_dir(1 << 20, &dir).unwrap();
        first.presynthesize(&voice, &texts, SampleRate::Hz8000).unwrap();
        let synthesised = voice.calls();
        assert_eq!(synthesised, 2);
        assert_eq!(first.loaded_from_disk(), 0);
        // One whole file per prompt, nothing temporary left.
        let written = files(&dir);
        assert_eq!(written.len(), 2, "{written:?}");
        assert!(written.iter().all(|f| f.extension().is_some_and(|e| e == "pcm")));

        let second = PromptCache::with_dir(1 << 20, &dir).unwrap();
        second.presynthesize(&voice, &texts, SampleRate::Hz8000).unwrap();
        assert_eq!(voice.calls(), synthesised, "read back, not synthesised");
        assert_eq!(second.loaded_from_disk(), 2);
        for t in texts {
            assert_eq!(
                second.get(voice.name(), t, SampleRate::Hz8000).unwrap(),
                first.get(voice.name(), t, SampleRate::Hz8000).unwrap()
            );
        }
        // Another rate is another prompt.
        second.get_or_synthesize(&voice, texts[0], SampleRate::Hz16000).unwrap();
        assert_eq!(voice.calls(), synthesised + 1);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_synthesised_again_and_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let voice = Fake::new();
        let text = "We are open Monday to Friday.";
        let good = PromptCache::with_dir(1 << 20, tmp.path()).unwrap();
        let audio = good.get_or_synthesize(&voice, text, SampleRate::Hz8000).unwrap();
        let file = files(tmp.path()).pop().unwrap();
        let bytes = std::fs::read(&file).unwrap();
        for bad in [bytes[..bytes.len() - 3].to_vec(), b"RIFF....WAVEfmt ".to_vec(), Vec::new()] {
            std::fs::write(&file, &bad).unwrap();
            let before = voice.calls();
            let cache = PromptCache::with_dir(1 << 20, tmp.path()).unwrap();
            assert_eq!(cache.get_or_synthesize(&voice, text, SampleRate::Hz8000).unwrap(), audio);
            assert_eq!(cache.loaded_from_disk(), 0);
            assert_eq!(voice.calls(), before + 1, "synthesised again");
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "the file is whole again");
        }
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let err = PromptCache::with_dir(1 << 20, &blocker.join("prompts")).unwrap_err().to_string();
        assert!(err.contains("not-a-dir") && err.contains("permissions"), "{err}");
    }
}
