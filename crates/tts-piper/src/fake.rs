//! A voice for unit tests: a 440 Hz tone per clause, after an optional lead-in of silence (as
//! Piper starts every clause), counting its calls, optionally held at a gate, failing on a clause
//! that says "fail".

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;

use frontdesk_engines::{EngineError, Synthesizer};

/// 100 ms of tone per clause at 16 kHz, after `lead` samples of silence.
pub(crate) struct Fake {
    calls: AtomicUsize,
    gate: Option<Mutex<Receiver<()>>>,
    lead: usize,
}

impl Fake {
    /// No lead-in, no gate.
    pub(crate) fn new() -> Self {
        Fake { calls: AtomicUsize::new(0), gate: None, lead: 0 }
    }

    /// Each clause waits for a message on `gate` first.
    pub(crate) fn gated(gate: Receiver<()>) -> Self {
        Fake { gate: Some(Mutex::new(gate)), ..Self::new() }
    }

    /// Each clause starts with `samples` of silence.
    pub(crate) fn with_lead(samples: usize) -> Self {
        Fake { lead: samples, ..Self::new() }
    }

    /// Clauses synthesised (or started) so far.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Synthesizer for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn rate(&self) -> u32 {
        16000
    }
    fn synthesize_clause(&self, clause: &str) -> Result<Vec<f32>, EngineError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(g) = &self.gate {
            let _ = g.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        }
        if clause.contains("fail") {
            return Err(EngineError::Inference("failed on purpose".into()));
        }
        let tone = (0..1600).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 16000.0).sin() * 0.5);
        Ok(std::iter::repeat_n(0.0, self.lead).chain(tone).collect())
    }
}
