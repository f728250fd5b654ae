//! Real fetches (pip and the package index are needed) into temporary models dirs, using the
//! smallest set, `silero-vad` (11 MB wheel).

#![allow(clippy::unwrap_used)] // test helpers: a failed set-up step should stop the test

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use frontdesk_models::fetch::{FetchOptions, Outcome, fetch};
use frontdesk_models::{EngineError, FileState, ModelPaths, ModelsError};

const SET: &str = "silero-vad";
const FILE: &str = "silero_vad.onnx";

fn fetch_quiet(paths: &ModelPaths, opts: &FetchOptions) -> Result<Vec<(String, Outcome)>, ModelsError> {
    let mut lines = Vec::new();
    let r = fetch(paths, &[SET.to_owned()], opts, &mut |l| lines.push(l.to_owned()));
    eprintln!("{}", lines.join("\n"));
    r
}

fn fetched() -> (tempfile::TempDir, ModelPaths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::new(dir.path()).unwrap();
    let out = fetch_quiet(&paths, &FetchOptions::default()).unwrap_or_else(|e| {
        panic!("fetching {SET} failed ({e}); these tests need pip and the package index (scripts/install-test-deps.sh)")
    });
    assert_eq!(out, vec![(SET.to_owned(), Outcome::Installed(vec![FILE.to_owned(), "LICENSE".to_owned()]))]);
    (dir, paths)
}

/// Moves a file's mtime so the verification cache cannot vouch for it.
fn touch_back(path: &std::path::Path) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000_000)).unwrap();
}

#[test]
fn fetch_installs_verifies_and_a_second_run_is_cached() {
    let (dir, paths) = fetched();
    let model = paths.resolve(SET, FILE).unwrap();
    assert_eq!(model, dir.path().join(SET).join(FILE));
    assert_eq!(fs::metadata(&model).unwrap().len(), 2_327_524);
    assert!(paths.status(SET).unwrap().installed());
    // Nothing but the files and the marker is left behind (no temporaries, no download dir).
    let mut names: Vec<String> = fs::read_dir(dir.path().join(SET))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec![".installed", "LICENSE", FILE]);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    // Second run: metadata only. Pointing pip at a missing program proves no download is tried.
    let no_pip = FetchOptions { pip: Some(vec![OsString::from("/nonexistent/pip")]), index_url: None };
    #[allow(clippy::disallowed_methods)] // measuring the cached path is the point of this test
    let t0 = std::time::Instant::now();
    let out = fetch_quiet(&paths, &no_pip).unwrap();
    let took = t0.elapsed();
    assert_eq!(out, vec![(SET.to_owned(), Outcome::AlreadyInstalled)]);
    assert!(took < Duration::from_secs(1), "cached fetch took {took:?}");

    // A touched but intact file is re-hashed (not re-downloaded) and the marker refreshed.
    touch_back(&model);
    assert_eq!(fetch_quiet(&paths, &no_pip).unwrap(), vec![(SET.to_owned(), Outcome::Verified)]);
    assert!(paths.status(SET).unwrap().installed());
}

#[test]
fn truncated_and_corrupted_files_are_detected_and_fetched_again() {
    let (_dir, paths) = fetched();
    let model = paths.resolve(SET, FILE).unwrap();

    // Truncated: the size alone gives it away.
    File::options().write(true).open(&model).unwrap().set_len(1000).unwrap();
    let err = paths.resolve(SET, FILE).unwrap_err();
    assert!(matches!(err, EngineError::ModelCorrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(FILE) && msg.contains("frontdesk models fetch") && msg.contains("1000 bytes"),
        "{msg}"
    );
    let out = fetch_quiet(&paths, &FetchOptions::default()).unwrap();
    assert_eq!(out, vec![(SET.to_owned(), Outcome::Installed(vec![FILE.to_owned()]))]);
    assert!(paths.resolve(SET, FILE).is_ok());

    // Corrupted in place, same size: the changed mtime makes resolve hash it.
    let mut f = File::options().write(true).open(&model).unwrap();
    f.seek(SeekFrom::Start(100_000)).unwrap();
    f.write_all(&[0xAB; 64]).unwrap();
    drop(f);
    touch_back(&model);
    let err = paths.resolve(SET, FILE).unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert_eq!(
        fetch_quiet(&paths, &FetchOptions::default()).unwrap(),
        vec![(SET.to_owned(), Outcome::Installed(vec![FILE.to_owned()]))]
    );
    assert!(paths.resolve(SET, FILE).is_ok());
}

#[test]
fn an_interrupted_fetch_leaves_nothing_that_looks_valid() {
    let (dir, paths) = fetched();
    let set_dir = dir.path().join(SET);
    // A fetch killed after removing the marker and while writing a replacement: the temporary
    // is there, the final file may or may not be.
    fs::remove_file(set_dir.join(".installed")).unwrap();
    fs::write(set_dir.join(format!(".{FILE}.part-4242")), b"half a model").unwrap();
    let err = paths.resolve(SET, FILE).unwrap_err();
    assert!(err.to_string().contains("not verified"), "{err}");
    assert!(!paths.status(SET).unwrap().installed());
    // Killed before the first rename: only the temporary exists.
    fs::remove_file(set_dir.join(FILE)).unwrap();
    assert!(matches!(paths.resolve(SET, FILE), Err(EngineError::ModelMissing { .. })));
    let status = paths.status(SET).unwrap();
    assert_eq!(status.files[0], (FILE.to_owned(), FileState::Missing));

    // The next fetch sweeps the temporary, re-fetches the missing file, keeps the good one.
    let out = fetch_quiet(&paths, &FetchOptions::default()).unwrap();
    assert_eq!(out, vec![(SET.to_owned(), Outcome::Installed(vec![FILE.to_owned()]))]);
    assert!(!set_dir.join(format!(".{FILE}.part-4242")).exists());
    assert!(paths.resolve(SET, FILE).is_ok());
}

#[test]
fn missing_pip_says_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::new(dir.path()).unwrap();
    let opts = FetchOptions { pip: Some(vec![OsString::from("/nonexistent/pip")]), index_url: None };
    let err = fetch_quiet(&paths, &opts).unwrap_err();
    assert!(matches!(err, ModelsError::PipMissing { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("pip was not found") && msg.contains("/nonexistent/pip"), "{msg}");
    assert!(msg.contains("apt-get install python3-pip") && msg.contains("frontdesk models fetch"), "{msg}");
    // Nothing that looks installed is left.
    assert!(matches!(paths.resolve(SET, FILE), Err(EngineError::ModelMissing { .. })));
}

#[test]
fn an_unreachable_index_says_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::new(dir.path()).unwrap();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let opts = FetchOptions {
        pip: Some(vec![
            "pip".into(),
            "--retries".into(),
            "0".into(),
            "--no-cache-dir".into(),
            "--isolated".into(),
        ]),
        index_url: Some("http://127.0.0.1:9/simple".to_owned()),
    };
    let err = fetch_quiet(&paths, &opts).unwrap_err();
    assert!(matches!(err, ModelsError::PipFailed { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("silero-vad==6.2.3") && msg.contains("reachable") && msg.contains("--index-url"),
        "{msg}"
    );
    assert!(matches!(paths.resolve(SET, FILE), Err(EngineError::ModelMissing { .. })));
    assert!(!paths.status(SET).unwrap().installed());
}

#[test]
fn list_status_of_an_empty_dir() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::new(dir.path()).unwrap();
    for set in &paths.manifest().sets {
        let s = paths.status(&set.id).unwrap();
        assert!(s.absent() && !s.installed());
    }
    let _ = SystemTime::UNIX_EPOCH;
}
