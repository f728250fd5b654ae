//! Where model files live: `<models dir>/<id>/<file>`, the layout `frontdesk models fetch` writes.
//!
//! The models directory is `FRONTDESK_MODELS` when set, else `./models`. This small resolver
//! stands in until the `models` crate offers one; it only builds paths and checks existence.

use std::path::{Path, PathBuf};

use frontdesk_engines::EngineError;

/// The models directory: `FRONTDESK_MODELS`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// `<dir>/<id>/<file>`, or `ModelMissing` naming that path when it is not a file.
pub fn model_file(dir: &Path, id: &str, file: &str) -> Result<PathBuf, EngineError> {
    let path = dir.join(id).join(file);
    if path.is_file() { Ok(path) } else { Err(EngineError::ModelMissing { path }) }
}
