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
