//! all-MiniLM-L6-v2 with the real model (`frontdesk models fetch` puts it in place).

use std::path::{Path, PathBuf};

use frontdesk_embed_minilm::{MiniLm, cosine};
use frontdesk_engines::{Embedder, EngineError};

fn models() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"), PathBuf::from)
}

fn model() -> MiniLm {
    match MiniLm::load(&models()) {
        Ok(m) => m,
        Err(e) => panic!("{e} (models dir {}; run `frontdesk models fetch`)", models().display()),
    }
}

#[test]
fn paraphrases_score_higher_than_unrelated_questions() {
    let m = model();
    assert_eq!(m.dim(), 384);
    let v = m
        .embed(&[
            "what time do you open",
            "opening hours",
            "is there parking",
            "when are you open on saturday",
        ])
        .expect("embed");
    assert_eq!(v.len(), 4);
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalised: {norm}");
    }
    let (open_hours, open_parking) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    let (saturday_open, saturday_parking) = (cosine(&v[3], &v[1]), cosine(&v[3], &v[2]));
    assert!(open_hours > open_parking + 0.15, "{open_hours} vs {open_parking}");
    assert!(saturday_open > saturday_parking + 0.15, "{saturday_open} vs {saturday_parking}");
}

#[test]
fn faq_lookup_picks_the_right_entry() {
    let m = model();
    let faq = [
        "What are your opening hours?",
        "Where can I park my car?",
        "How do I cancel my appointment?",
        "Do you accept credit cards?",
    ];
    let queries =
        [("can I pay by card", 3), ("I need to call off my booking", 2), ("is there a car park nearby", 1)];
    let faq_v = m.embed(&faq).expect("embed faq");
    for (q, want) in queries {
        let qv = m.embed(&[q]).expect("embed query");
        let best = (0..faq.len())
            .max_by(|&a, &b| cosine(&qv[0], &faq_v[a]).total_cmp(&cosine(&qv[0], &faq_v[b])))
            .unwrap_or(usize::MAX);
        assert_eq!(best, want, "{q:?} matched {:?}", faq.get(best));
    }
}

#[test]
fn padding_in_a_batch_does_not_change_a_vector() {
    let m = model();
    let alone = m.embed(&["hi"]).expect("embed");
    let batch =
        m.embed(&["hi", "a much longer sentence that forces padding of the short one"]).expect("embed");
    let sim = cosine(&alone[0], &batch[0]);
    assert!(sim > 0.9999, "padding changed the vector: cosine {sim}");
    assert!(m.embed(&[]).expect("empty").is_empty());
}

#[test]
fn missing_and_corrupt_models_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("frontdesk-minilm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    match MiniLm::load_dir(&dir) {
        Err(e @ EngineError::ModelMissing { .. }) => {
            assert!(e.to_string().contains("config.json") && e.to_string().contains("frontdesk models fetch"))
        }
        other => panic!("expected ModelMissing, got {other:?}"),
    }
    let src = models().join("minilm");
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy (run `frontdesk models fetch`)");
    }
    std::fs::write(dir.join("model.safetensors"), b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}")
        .expect("write");
    match MiniLm::load_dir(&dir) {
        Err(e @ EngineError::ModelCorrupt { .. }) => assert!(e.to_string().contains("model.safetensors")),
        other => panic!("expected ModelCorrupt, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
