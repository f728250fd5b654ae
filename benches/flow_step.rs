//! One flow-machine step on `flows/clinic.yaml`, excluding model calls: an utterance (no
//! embedding, so intents fall back to keyword rules and FAQ retrieval to word overlap) in, every
//! command drained out. The flow issue's target is under 1 ms per step.
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

criterion_group!(benches, bench_step);
criterion_main!(benches);
