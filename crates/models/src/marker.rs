//! The install marker and file verification.
//!
//! Marker format (`<set dir>/.installed`, text): a header line `frontdesk-models-marker 1`, then one
//! line per file, `name<TAB>size<TAB>mtime-ns<TAB>sha256`. It is written last by a fetch, so its
//! presence means every file it lists was hashed and found equal to the manifest's pin at that
//! size and mtime.

use std::fmt;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::{FileSpec, MARKER, ModelSet, ModelsError};

const HEADER: &str = "frontdesk-models-marker 1";

/// One file as recorded in a marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) mtime_ns: u128,
    pub(crate) sha256: String,
}

/// A parsed marker.
#[derive(Clone, Debug, Default)]
pub(crate) struct Marker {
    pub(crate) entries: Vec<Entry>,
}

impl Marker {
    /// The marker in `set_dir`, if there is a well-formed one.
    pub(crate) fn read(set_dir: &Path) -> Option<Marker> {
        let text = fs::read_to_string(set_dir.join(MARKER)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let mut entries = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let mut parts = line.split('\t');
            let (Some(name), Some(size), Some(mtime), Some(sha), None) =
                (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            entries.push(Entry {
                name: name.to_owned(),
                size: size.parse().ok()?,
                mtime_ns: mtime.parse().ok()?,
                sha256: sha.to_owned(),
            });
        }
        Some(Marker { entries })
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Writes the marker durably: temp file, fsync, rename, fsync of the directory.
    pub(crate) fn write(&self, set_dir: &Path) -> Result<(), ModelsError> {
        let mut text = String::from(HEADER);
        text.push('\n');
        for e in &self.entries {
            text.push_str(&format!("{}\t{}\t{}\t{}\n", e.name, e.size, e.mtime_ns, e.sha256));
        }
        let tmp = set_dir.join(format!(".installed.part-{}", std::process::id()));
        let mut f = File::create(&tmp).map_err(ModelsError::io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(ModelsError::io(&tmp))?;
        f.sync_all().map_err(ModelsError::io(&tmp))?;
        drop(f);
        let dest = set_dir.join(MARKER);
        fs::rename(&tmp, &dest).map_err(ModelsError::io(&dest))?;
        sync_dir(set_dir)
    }

    /// Removes the marker (before any file of the set is replaced).
    pub(crate) fn remove(set_dir: &Path) -> Result<(), ModelsError> {
        let path = set_dir.join(MARKER);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(set_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ModelsError::Io { path, source: e }),
        }
    }
}

/// fsync of a directory, so renames in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ModelsError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(ModelsError::io(dir))
}

/// Size and mtime (ns since the epoch) of a file.
pub(crate) fn stat(path: &Path) -> std::io::Result<(u64, u128)> {
    let md = fs::metadata(path)?;
    let mtime = md.modified()?.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    Ok((md.len(), mtime))
}

/// SHA-256 of a file, lowercase hex.
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex(&h.finalize()))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one file of a set looks like on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileState {
    /// Present and equal to the pin (by the marker's size+mtime record, or by a fresh hash).
    Verified,
    /// Not there.
    Missing,
    /// Size differs from the pin.
    WrongSize {
        /// On disk.
        actual: u64,
        /// Pinned.
        expected: u64,
    },
    /// Hash differs from the pin.
    WrongHash,
    /// Present with the right size but not recorded as verified (no marker: an interrupted fetch,
    /// or the mtime changed and the caller did not want a hash).
    Unverified,
    /// Could not be read.
    Unreadable(String),
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileState::Verified => write!(f, "verified"),
            FileState::Missing => write!(f, "missing"),
            FileState::WrongSize { actual, expected } => {
                write!(f, "truncated or wrong file: {actual} bytes, expected {expected}")
            }
            FileState::WrongHash => write!(f, "corrupt: SHA-256 differs from the pinned hash"),
            FileState::Unverified => write!(f, "not verified (an interrupted fetch?)"),
            FileState::Unreadable(e) => write!(f, "unreadable: {e}"),
        }
    }
}

/// Checks one file against the marker and the pin. With `hash_if_needed`, a file whose mtime
/// differs from the marker's record (or that has no record) is hashed; otherwise it is
/// [`FileState::Unverified`].
pub(crate) fn check_file(
    set_dir: &Path,
    spec: &FileSpec,
    marker: Option<&Marker>,
    hash_if_needed: bool,
) -> FileState {
    let path = set_dir.join(&spec.name);
    let (size, mtime) = match stat(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileState::Missing,
        Err(e) => return FileState::Unreadable(e.to_string()),
    };
    if size != spec.size {
        return FileState::WrongSize { actual: size, expected: spec.size };
    }
    let recorded = marker.and_then(|m| m.entry(&spec.name));
    if let Some(e) = recorded
        && e.size == size
        && e.mtime_ns == mtime
        && e.sha256 == spec.sha256
    {
        return FileState::Verified;
    }
    // Without a marker the set is not installed, whatever the file holds: `fetch` re-hashes and
    // writes the marker; `resolve` refuses (the fetch that wrote it may have been interrupted).
    if marker.is_none() || !hash_if_needed {
        return FileState::Unverified;
    }
    match sha256_file(&path) {
        Ok(h) if h == spec.sha256 => FileState::Verified,
        Ok(_) => FileState::WrongHash,
        Err(e) => FileState::Unreadable(e.to_string()),
    }
}

/// The state of a whole set, from metadata alone.
#[derive(Clone, Debug)]
pub struct SetStatus {
    /// The set's id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Each manifest file with its state.
    pub files: Vec<(String, FileState)>,
    /// Whether a marker is there.
    pub marker: bool,
}

impl SetStatus {
    /// Every file verified.
    pub fn installed(&self) -> bool {
        self.marker && self.files.iter().all(|(_, s)| *s == FileState::Verified)
    }

    /// No file there at all.
    pub fn absent(&self) -> bool {
        self.files.iter().all(|(_, s)| *s == FileState::Missing)
    }

    /// Bytes on disk of the set's files.
    pub fn bytes_on_disk(&self) -> u64 {
        self.files.iter().filter_map(|(n, _)| fs::metadata(self.dir.join(n)).ok()).map(|m| m.len()).sum()
    }
}

/// Metadata-only status of `set` in `set_dir`.
pub(crate) fn quick_status(set_dir: &Path, set: &ModelSet) -> SetStatus {
    let marker = Marker::read(set_dir);
    let files =
        set.files.iter().map(|f| (f.name.clone(), check_file(set_dir, f, marker.as_ref(), false))).collect();
    SetStatus { id: set.id.clone(), dir: set_dir.to_path_buf(), files, marker: marker.is_some() }
}
