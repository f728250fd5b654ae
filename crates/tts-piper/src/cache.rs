//! Pre-synthesised audio for fixed prompts ("Thanks for calling...", menu options).
//!
//! In memory, keyed by (text with whitespace collapsed, voice name, output rate). Filled ahead of
//! time by [`PromptCache::presynthesize`] (at flow load) or on first use by
//! [`PromptCache::get_or_synthesize`]; audio is shared as `Arc<[f32]>`. A budget in samples bounds
//! it: audio that would exceed it is returned but not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use frontdesk_engines::{EngineError, Synthesizer};
use frontdesk_types::SampleRate;

use crate::stream::{StreamOptions, synthesize_text};

type Key = (String, String, u32);
/// The entries and the samples they hold.
type Entries = (HashMap<Key, Arc<[f32]>>, usize);

/// The cache.
#[derive(Debug)]
pub struct PromptCache {
    map: Mutex<Entries>,
    budget: usize,
}

fn key(text: &str, voice: &str, rate: SampleRate) -> Key {
    (text.split_whitespace().collect::<Vec<_>>().join(" "), voice.to_owned(), rate.hz())
}

impl PromptCache {
    /// A cache holding at most `budget_samples` samples in all (4 bytes each).
    pub fn new(budget_samples: usize) -> Self {
        PromptCache { map: Mutex::new((HashMap::new(), 0)), budget: budget_samples }
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
        let audio: Arc<[f32]> = synthesize_text(synth, text, &StreamOptions::new(rate))?.into();
        let mut guard = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, used) = &mut *guard;
        if *used + audio.len() <= self.budget {
            if let Some(old) = map.insert(key(text, synth.name(), rate), audio.clone()) {
                *used -= old.len();
            }
            *used += audio.len();
        }
        Ok(audio)
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
