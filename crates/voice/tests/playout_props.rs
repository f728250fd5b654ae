//! Property tests of the playout queue: random enqueue / finish / pop / flush sequences.

use std::collections::{HashMap, HashSet};

use frontdesk_types::{Instant, SampleRate};
use frontdesk_voice::{
    Playout, PlayoutEvent, PlayoutQueue, SilenceReason, UtteranceId, UtteranceOptions, VoiceError,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// `ms` milliseconds (8 samples each) for utterance `id`.
    Enqueue {
        id: u64,
        ms: usize,
    },
    Finish {
        id: u64,
    },
    Pop,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..6, 0usize..90).prop_map(|(id, ms)| Op::Enqueue { id, ms }),
        1 => (0u64..6).prop_map(|id| Op::Finish { id }),
        6 => Just(Op::Pop),
        1 => Just(Op::Flush),
    ]
}

/// Utterance 5 is a legal disclosure.
fn options(id: u64) -> UtteranceOptions {
    if id == 5 { UtteranceOptions::non_interruptible() } else { UtteranceOptions::default() }
}

#[derive(Default)]
struct Model {
    queued: HashMap<u64, u64>,
    popped: HashMap<u64, u64>,
    /// Played ms reported by Finished / Interrupted events.
    reported: HashMap<u64, u64>,
    frames: u64,
    /// Ids the test finished successfully.
    finished: HashSet<u64>,
}

impl Model {
    fn check_events(&mut self, q: &mut PlayoutQueue) -> Result<(), TestCaseError> {
        while let Some(e) = q.poll_event() {
            match e {
                PlayoutEvent::Started { .. } => {}
                PlayoutEvent::Finished { utterance, played_ms, .. } => {
                    let id = utterance.0;
                    prop_assert_eq!(
                        played_ms * 8,
                        self.queued.get(&id).copied().unwrap_or(0),
                        "finished plays all"
                    );
                    prop_assert_eq!(played_ms * 8, self.popped.get(&id).copied().unwrap_or(0));
                    prop_assert!(
                        self.reported.insert(id, played_ms).is_none(),
                        "one end event per utterance"
                    );
                }
                PlayoutEvent::Interrupted { utterance, played_ms, queued_ms, .. } => {
                    let id = utterance.0;
                    prop_assert!(played_ms <= queued_ms, "played {} > queued {}", played_ms, queued_ms);
                    prop_assert_eq!(queued_ms * 8, self.queued.get(&id).copied().unwrap_or(0));
                    prop_assert_eq!(played_ms * 8, self.popped.get(&id).copied().unwrap_or(0));
                    prop_assert!(id != 5, "non-interruptible utterance interrupted");
                    prop_assert!(
                        self.reported.insert(id, played_ms).is_none(),
                        "one end event per utterance"
                    );
                }
            }
        }
        Ok(())
    }

    fn pop(&mut self, q: &mut PlayoutQueue, now: Instant) -> Playout {
        let p = q.pop_frame(now);
        if let Playout::Audio(f) = &p {
            self.frames += 1;
            *self.popped.entry(f.utterance.0).or_default() += f.audio_samples as u64;
        }
        p
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn playout_accounting_holds(ops in proptest::collection::vec(op(), 1..200)) {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        let mut m = Model::default();
        let mut now = Instant::ZERO;
        for op in ops {
            now += std::time::Duration::from_millis(20);
            match op {
                Op::Enqueue { id, ms } => {
                    let samples = vec![1i16; ms * 8];
                    match q.enqueue_with(UtteranceId(id), options(id), &samples) {
                        Ok(()) => *m.queued.entry(id).or_default() += samples.len() as u64,
                        Err(VoiceError::UtteranceClosed { .. }) => {
                            prop_assert!(m.reported.contains_key(&id) || m.finished.contains(&id), "closed without cause");
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
                Op::Finish { id } => {
                    if q.finish_utterance(now, UtteranceId(id)).is_ok() {
                        m.finished.insert(id);
                    }
                }
                Op::Pop => { m.pop(&mut q, now); }
                Op::Flush => {
                    let reports = q.flush(now);
                    for r in &reports {
                        prop_assert!(r.played_ms <= r.queued_ms);
                        prop_assert!(r.utterance.0 != 5);
                    }
                    // Right after a flush only non-interruptible audio may play.
                    let p = m.pop(&mut q, now);
                    if let Playout::Audio(f) = &p {
                        prop_assert_eq!(f.utterance, UtteranceId(5), "interruptible audio after flush");
                    } else if !q.is_empty() {
                        prop_assert_eq!(q.head(), Some(UtteranceId(5)));
                    }
                }
            }
            m.check_events(&mut q)?;
        }
        // Drain: flush what is interruptible, finish and play out the rest.
        q.flush(now);
        let _ = q.finish_utterance(now, UtteranceId(5));
        while !q.is_empty() {
            now += std::time::Duration::from_millis(20);
            // Finished audio never underruns (an empty utterance just ends, leaving the queue idle).
            let p = m.pop(&mut q, now);
            prop_assert!(!matches!(p, Playout::Silence(SilenceReason::Underrun(_))), "underrun of finished audio");
            prop_assert!(!p.is_silence() || q.is_empty());
        }
        m.check_events(&mut q)?;
        // Played ms over all utterances equal the audio in the frames popped.
        let popped: u64 = m.popped.values().sum();
        let reported: u64 = m.reported.values().sum();
        prop_assert_eq!(reported * 8, popped);
        prop_assert!(popped <= m.frames * 160);
        prop_assert_eq!(q.pending_ms(), 0);
    }

    #[test]
    fn whole_frame_chunks_play_exactly_frames_times_20ms(chunks in proptest::collection::vec(1usize..8, 1..20), flush_after in 0u64..60) {
        let mut q = PlayoutQueue::new(SampleRate::Hz8000);
        for (i, n) in chunks.iter().enumerate() {
            q.enqueue(UtteranceId(i as u64 / 3), &vec![3i16; n * 160]).unwrap();
        }
        let mut frames = 0u64;
        for i in 0..flush_after {
            if q.pop_frame(Instant::from_millis(i * 20)).is_silence() { break; }
            frames += 1;
        }
        let reports = q.flush(Instant::from_millis(flush_after * 20));
        let played: u64 = reports.iter().map(|r| r.played_ms).sum();
        let queued: u64 = reports.iter().map(|r| r.queued_ms).sum();
        prop_assert_eq!(played, frames * 20);
        prop_assert_eq!(queued, chunks.iter().sum::<usize>() as u64 * 20);
        prop_assert!(q.pop_frame(Instant::from_millis(flush_after * 20)).is_silence());
    }
}
