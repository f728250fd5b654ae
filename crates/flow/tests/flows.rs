//! Every flow in the repository's `flows/` passes the checker (resources included), and every conversation test
//! there passes (without the embedding model: keyword rules only).

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

use std::path::PathBuf;

fn flows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

fn files(suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(flows_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

#[test]
fn example_flows_check_clean() {
    let flows: Vec<PathBuf> = files(".yaml")
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            !s.ends_with(".test.yaml") && !s.ends_with("-kb.yaml") && !s.ends_with("-resources.yaml")
        })
        .collect();
    assert!(flows.len() >= 2, "{flows:?}");
    for f in flows {
        // Parses and checks the flow, its knowledge base, and its resources file against it.
        if let Err(e) = frontdesk_flow::convo::load(&f) {
            panic!("{}: {e:?}", f.display());
        }
    }
}

#[test]
fn conversation_tests_pass() {
    let tests = files(".test.yaml");
    assert!(!tests.is_empty());
    let mut failed = Vec::new();
    let mut n = 0;
    for f in tests {
        let results =
            frontdesk_flow::convo::run_file(&f, None).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        for r in results {
            n += 1;
            if !r.passed() {
                failed.push(format!(
                    "{} / {}:\n  {}\n  transcript:\n    {}",
                    f.display(),
                    r.name,
                    r.failures.join("\n  "),
                    r.transcript.join("\n    ")
                ));
            }
        }
    }
    assert!(n >= 10, "only {n} conversation tests found");
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
