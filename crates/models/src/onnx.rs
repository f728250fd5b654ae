//! ONNX Runtime from the `onnxruntime` model set (feature `onnx`).
//!
//! The `ort` crate is built with `load-dynamic` and without `download-binaries`: nothing is fetched
//! at build time, and the runtime library is the one `frontdesk models fetch` extracted from the
//! pinned onnxruntime wheel. [`environment`] loads it once per process (ONNX Runtime allows one
//! environment per process; later calls reuse the first, whatever models dir they name) and
//! [`session`] creates a session on it, mapping a missing or unloadable model to
//! [`EngineError::ModelMissing`] / [`EngineError::ModelCorrupt`].

use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::{EngineError, ModelPaths};

/// The runtime library's set and file.
pub const ORT_SET: &str = "onnxruntime";
/// The runtime library's file name in its set.
pub const ORT_LIB: &str = "libonnxruntime.so.1.31.1";

static ENV: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The process's ONNX Runtime environment, loading the library from `paths` on first use.
pub fn environment(paths: &ModelPaths) -> Result<&'static Environment, EngineError> {
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    let lib = paths.resolve(ORT_SET, ORT_LIB)?;
    let corrupt = |why: String| EngineError::ModelCorrupt { path: lib.clone(), why };
    let env = ort::init_from(&lib)
        .map_err(|e| corrupt(e.to_string()))?
        .with_name("frontdesk")
        .build()
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(ENV.get_or_init(|| env))
}

/// A session for the model at `model` (already resolved, or a path given by the user), running
/// on `threads` intra-op threads. A file that is not there is [`EngineError::ModelMissing`]; one
/// ONNX Runtime cannot load is [`EngineError::ModelCorrupt`] naming the file.
pub fn session(paths: &ModelPaths, model: &Path, threads: usize) -> Result<Session, EngineError> {
    let env = environment(paths)?;
    if !model.is_file() {
        return Err(EngineError::ModelMissing { path: model.to_path_buf() });
    }
    let corrupt = |why: String| EngineError::ModelCorrupt { path: model.to_path_buf(), why };
    let bytes = std::fs::read(model).map_err(|e| corrupt(e.to_string()))?;
    Session::builder(env)
        .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
        .and_then(|b| Ok(b.with_intra_threads(threads.max(1))?))
        .and_then(|b| Ok(b.with_inter_threads(1)?))
        .and_then(|mut b| b.commit_from_memory(&bytes))
        .map_err(|e| corrupt(format!("ONNX Runtime cannot load it: {e}")))
}

/// Idle sessions of one model, shared by every stream that runs it. ort's `run` needs exclusive
/// access to a session, so each inference borrows one ([`SessionPool::take`], creating a new one
/// when all are busy: at most one per inference-pool thread) and returns it
/// ([`SessionPool::give_back`]).
pub struct SessionPool {
    model: std::path::PathBuf,
    paths: ModelPaths,
    threads: usize,
    idle: Mutex<Vec<Session>>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("model", &self.model)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl SessionPool {
    /// A pool for `model` whose sessions run on `threads` intra-op threads, starting with `first`
    /// (the session the caller loaded to check the model's inputs and outputs).
    pub fn new(paths: &ModelPaths, model: &Path, threads: usize, first: Session) -> SessionPool {
        SessionPool {
            model: model.to_path_buf(),
            paths: paths.clone(),
            threads,
            idle: Mutex::new(vec![first]),
        }
    }

    /// The model file the sessions run.
    pub fn model(&self) -> &Path {
        &self.model
    }

    /// An idle session, or a new one when all are busy.
    pub fn take(&self) -> Result<Session, EngineError> {
        if let Some(s) = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(s);
        }
        session(&self.paths, &self.model, self.threads)
    }

    /// Returns a session taken with [`SessionPool::take`].
    pub fn give_back(&self, s: Session) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(s);
    }

    /// Loads sessions until `n` are idle, so that `n` inferences can run at once without the
    /// first concurrent one paying a session load.
    pub fn prepare(&self, n: usize) -> Result<(), EngineError> {
        let have = self.idle.lock().unwrap_or_else(PoisonError::into_inner).len();
        for _ in have..n {
            let s = session(&self.paths, &self.model, self.threads)?;
            self.give_back(s);
        }
        Ok(())
    }
}
