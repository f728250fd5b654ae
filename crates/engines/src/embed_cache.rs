//! [`EmbeddingCache`]: an [`Embedder`] that remembers the vectors of texts it has embedded.
//!
//! A flow's intent examples and knowledge base are embedded each time the flow loads: at start,
//! on every reload, and for each published version a call asks for. Most texts are the same from
//! one version to the next, so loading a version embeds only what changed. Callers' words are not
//! worth caching (each turn is new): embed those with the model itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Embedder, EngineError};

/// Remembers up to `capacity` texts' vectors; when full it starts over (flows are loaded rarely,
/// and a flow's texts are all embedded again in one batch).
pub struct EmbeddingCache {
    inner: Arc<dyn Embedder>,
    capacity: usize,
    vectors: Mutex<HashMap<String, Vec<f32>>>,
}

impl EmbeddingCache {
    /// Caches `inner`'s vectors, at most `capacity` texts (MiniLM: 1.5 KiB each).
    pub fn new(inner: Arc<dyn Embedder>, capacity: usize) -> EmbeddingCache {
        EmbeddingCache { inner, capacity, vectors: Mutex::default() }
    }

    /// Texts remembered.
    pub fn len(&self) -> usize {
        self.vectors.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for EmbeddingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingCache").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

impl Embedder for EmbeddingCache {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// The remembered vectors, and one batch through the model for the texts not seen before.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        let mut out: Vec<Option<Vec<f32>>> = {
            let v = self.vectors.lock().unwrap_or_else(PoisonError::into_inner);
            texts.iter().map(|t| v.get(*t).cloned()).collect()
        };
        let mut missing: Vec<&str> =
            texts.iter().zip(&out).filter(|(_, v)| v.is_none()).map(|(t, _)| *t).collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            // The model runs without the lock held: a concurrent load waits for nothing.
            let fresh = self.inner.embed(&missing)?;
            if fresh.len() != missing.len() {
                return Err(EngineError::Inference(format!(
                    "the embedder returned {} vectors for {} texts",
                    fresh.len(),
                    missing.len()
                )));
            }
            let fresh: HashMap<&str, Vec<f32>> = missing.into_iter().zip(fresh).collect();
            for (slot, t) in out.iter_mut().zip(texts) {
                if slot.is_none() {
                    *slot = fresh.get(t).cloned();
                }
            }
            let mut v = self.vectors.lock().unwrap_or_else(PoisonError::into_inner);
            if v.len() + fresh.len() > self.capacity {
                v.clear();
            }
            if fresh.len() <= self.capacity {
                v.extend(fresh.into_iter().map(|(t, e)| (t.to_owned(), e)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Vectors from the text's bytes; counts the texts it was asked to embed.
    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn dim(&self) -> usize {
            2
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, f32::from(t.as_bytes()[0])]).collect())
        }
    }

    #[test]
    fn only_new_texts_reach_the_model_and_the_order_is_kept() {
        let model = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = EmbeddingCache::new(model.clone(), 100);
        let a = cache.embed(&["hours", "parking", "hours"]).unwrap();
        assert_eq!(model.0.load(Ordering::SeqCst), 2, "a repeated text is embedded once");
        assert_eq!(a, vec![vec![5.0, 104.0], vec![7.0, 112.0], vec![5.0, 104.0]]);
        let b = cache.embed(&["parking", "insurance", "hours"]).unwrap();
        assert_eq!(model.0.load(Ordering::SeqCst), 3, "only 'insurance' was new");
        assert_eq!(b, vec![vec![7.0, 112.0], vec![9.0, 105.0], vec![5.0, 104.0]]);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_full_cache_starts_over_and_still_answers() {
        let model = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = EmbeddingCache::new(model.clone(), 2);
        cache.embed(&["a", "b"]).unwrap();
        let v = cache.embed(&["c"]).unwrap();
        assert_eq!(v, vec![vec![1.0, 99.0]]);
        assert_eq!(cache.len(), 1, "cleared, then 'c'");
        let big = cache.embed(&["x", "y", "z"]).unwrap();
        assert_eq!(big.len(), 3, "a batch larger than the cache is answered, not kept");
        assert!(cache.len() <= 2);
    }
}
