//! One flow-machine step on `flows/clinic.yaml`, excluding model calls: an utterance (no
//! embedding, so intents fall back to keyword rules and FAQ retrieval to word overlap) in, every
//! command drained out. The flow issue's target is under 1 ms per step.
//!
//! Also the intent ranker's training (once per flow load) at the clinic flow's size: as many
//! 384-dimension vectors as the flow has intent examples and knowledge-base questions, examples
//! and out-of-scope questions (synthetic vectors: the cost depends on the counts only).
//!
//! Run: `cargo bench --bench flow_step`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk_flow::convo::{load, parse_now};
use frontdesk_flow::machine::{Event, FlowMachine};
use frontdesk_types::Instant;

fn bench_step(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/clinic.yaml");
    let (bundle, _) = load(&path).expect("flows/clinic.yaml loads");
    let bundle = Arc::new(bundle);
    let wall = parse_now("2026-11-18T10:15", "America/New_York").expect("fixed time");
    let fresh = || {
        let mut m = FlowMachine::new(bundle.clone(), wall.clone());
        m.handle_event(Instant::ZERO, Event::Start).expect("start");
        while m.poll_command().is_some() {}
        m
    };
    let lines =
        ["what are your hours", "is there parking", "do you take blue cross", "something else entirely"];
    let mut m = fresh();
    let mut t = 0u64;
    let mut i = 0usize;
    c.bench_function("flow_step_clinic_utterance", |b| {
        b.iter(|| {
            if m.is_ended() {
                m = fresh();
            }
            t += 10;
            i += 1;
            let text = lines[i % lines.len()];
            let ev = Event::Utterance { text: text.into(), confidence: 0.9, embedding: None };
            let _ = m.handle_event(Instant::from_millis(t), black_box(ev));
            while let Some(cmd) = m.poll_command() {
                black_box(cmd);
            }
        });
    });
}

/// Deterministic pseudo-random unit vectors (xorshift).
fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..384)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 2001) as f32 / 1000.0 - 1.0
                })
                .collect();
            let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter().map(|a| a / norm).collect()
        })
        .collect()
}

fn bench_ranker(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/clinic.yaml");
    let (bundle, _) = load(&path).expect("flows/clinic.yaml loads");
    let intents: Vec<(String, Vec<Vec<f32>>)> = bundle
        .flow
        .intents
        .iter()
        .filter(|(_, i)| !i.examples.is_empty())
        .enumerate()
        .map(|(k, (name, i))| (name.clone(), vectors(i.examples.len(), 7 + k as u64)))
        .collect();
    let others =
        bundle.kb.entries.iter().map(|e| 1 + e.examples.len()).sum::<usize>() + bundle.kb.out_of_scope.len();
    let other = vectors(others, 99);
    let n: usize = intents.iter().map(|(_, v)| v.len()).sum();
    eprintln!("ranker: {n} intent example vectors, {others} other vectors");
    c.bench_function("intent_ranker_train_clinic_size", |b| {
        b.iter(|| black_box(frontdesk_flow::intents::Ranker::train(black_box(&intents), black_box(&other))));
    });
}

criterion_group!(step, bench_step);
criterion_group! {
    name = ranker;
    config = Criterion::default().sample_size(10);
    targets = bench_ranker
}
criterion_main!(step, ranker);
