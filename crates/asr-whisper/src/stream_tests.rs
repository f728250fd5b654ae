//! Deterministic tests of the streaming session with a fake transcriber.

use frontdesk_engines::{DecodeOptions, EngineError, Transcriber, Transcript};

use super::*;

/// "Transcribes" audio by naming each 100 ms block's level: a block of value `v` > 0 is word
/// `w{v}`. Lets the tests check which audio a decode saw.
struct Fake;

impl Transcriber for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn transcribe(&self, pcm: &[f32], _opts: &DecodeOptions) -> Result<Transcript, EngineError> {
        let words: Vec<String> = pcm
            .chunks(1600)
            .filter_map(|c| c.first())
            .filter(|v| **v > 0.0)
            .map(|v| format!("w{}", (v * 100.0).round()))
            .collect();
        Ok(Transcript { text: words.join(" "), words: Vec::new(), confidence: 1.0 })
    }
}

/// 100 ms of level `v` (0.01 * n for word n).
fn block(n: u32) -> Vec<f32> {
    vec![n as f32 / 100.0; 1600]
}

fn run(s: &mut StreamSession, req: &DecodeRequest) {
    let r = Fake.transcribe(&req.pcm, &req.options);
    s.handle_result(req.id, r);
}

fn events(s: &mut StreamSession) -> Vec<StreamEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn small() -> StreamConfig {
    StreamConfig {
        partial_interval: 3200,
        partial_growth_pct: 0,
        min_partial: 3200,
        pre_roll: 1600,
        max_segment: 160_000,
    }
}

#[test]
fn partials_while_speaking_then_a_final_covering_pre_roll_and_speech() {
    let mut s = StreamSession::new(small());
    s.push_audio(&block(0));
    s.push_audio(&block(9)); // noise before the VAD fires: kept as pre-roll
    s.speech_start(3200);
    assert!(s.poll_request().is_none(), "nothing to decode yet");
    let mut partials = Vec::new();
    for n in 1..=6 {
        s.push_audio(&block(n));
        while let Some(req) = s.poll_request() {
            assert!(req.partial && req.options.partial);
            assert_eq!(req.start, 1600, "segment starts one pre-roll before the VAD start");
            partials.push(req.end);
            run(&mut s, &req);
        }
    }
    // First partial once 200 ms are in the segment, then every 200 ms of new audio.
    assert_eq!(partials, vec![4800, 8000, 11200]);
    s.speech_end(11200);
    let fin = s.poll_request().expect("final requested at speech end");
    assert!(!fin.partial);
    assert_eq!((fin.start, fin.end, fin.pcm.len()), (1600, 11200, 9600));
    run(&mut s, &fin);
    let ev = events(&mut s);
    let texts: Vec<String> = ev
        .iter()
        .map(|e| match e {
            StreamEvent::Partial { text, .. } => format!("P:{text}"),
            StreamEvent::Final { transcript, .. } => format!("F:{}", transcript.text),
            StreamEvent::Failed { .. } => "failed".into(),
        })
        .collect();
    assert_eq!(texts, ["P:w9 w1", "P:w9 w1 w2 w3", "P:w9 w1 w2 w3 w4 w5", "F:w9 w1 w2 w3 w4 w5"]);
}

#[test]
fn no_second_partial_while_one_is_in_flight() {
    let mut s = StreamSession::new(small());
    s.speech_start(0);
    let mut reqs = Vec::new();
    for n in 1..=10 {
        s.push_audio(&block(n));
        reqs.extend(std::iter::from_fn(|| s.poll_request()));
    }
    assert_eq!(reqs.len(), 1, "the pool is slow: one partial at a time");
    run(&mut s, &reqs[0]);
    // The result frees the slot; plenty of new audio has come, so the next one goes at once
    // and covers everything so far.
    let next = s.poll_request().expect("next partial");
    assert_eq!((next.start, next.end), (0, 16_000));
}

#[test]
fn stale_partial_after_the_final_is_dropped() {
    let mut s = StreamSession::new(small());
    s.speech_start(0);
    s.push_audio(&block(1));
    s.push_audio(&block(2));
    let partial = s.poll_request().expect("partial");
    s.push_audio(&block(3));
    s.speech_end(4800);
    let fin = s.poll_request().expect("final");
    run(&mut s, &partial); // arrives after the final was requested
    run(&mut s, &fin);
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(matches!(&ev[0], StreamEvent::Final { transcript, .. } if transcript.text == "w1 w2 w3"));
}

#[test]
fn finals_come_out_in_segment_order() {
    let mut s = StreamSession::new(StreamConfig { min_partial: 1 << 30, ..small() });
    s.speech_start(0);
    s.push_audio(&block(1));
    s.speech_end(1600);
    s.push_audio(&block(0));
    s.speech_start(3200);
    s.push_audio(&block(2));
    s.speech_end(4800);
    let a = s.poll_request().expect("first final");
    let b = s.poll_request().expect("second final");
    assert_eq!((a.segment, b.segment), (0, 1));
    assert_eq!((b.start, b.end), (1600, 4800), "pre-roll reaches into the gap");
    run(&mut s, &b);
    assert!(s.poll_event().is_none(), "segment 1 waits for segment 0");
    s.handle_result(a.id, Err(EngineError::Late { late_ms: 40 }));
    let ev = events(&mut s);
    assert!(matches!(
        ev.as_slice(),
        [StreamEvent::Failed { segment: 0, .. }, StreamEvent::Final { segment: 1, .. }]
    ));
}

#[test]
fn long_speech_is_cut_into_segments_and_idle_audio_is_not_kept() {
    let mut s = StreamSession::new(StreamConfig { max_segment: 8000, min_partial: 1 << 30, ..small() });
    for _ in 0..100 {
        s.push_audio(&block(0)); // 10 s of silence
    }
    assert!(s.poll_request().is_none());
    assert!(s.buf.len() <= 1600, "idle keeps only the pre-roll, not {}", s.buf.len());
    s.speech_start(s.position());
    for n in 1..=12 {
        s.push_audio(&block(n));
    }
    let forced = s.poll_request().expect("forced final");
    assert!(!forced.partial);
    assert_eq!(forced.end - forced.start, 8000);
    assert!(s.in_speech(), "speech goes on in a new segment");
    s.speech_end(s.position());
    let rest = s.poll_request().expect("final of the rest");
    assert_eq!(rest.start, forced.end);
    assert_eq!(rest.segment, forced.segment + 1);
}

#[test]
fn failed_partial_is_silent_and_the_next_one_follows() {
    let mut s = StreamSession::new(small());
    s.speech_start(0);
    s.push_audio(&block(1));
    s.push_audio(&block(2));
    let p = s.poll_request().expect("partial");
    s.handle_result(p.id, Err(EngineError::Inference("boom".into())));
    assert!(s.poll_event().is_none());
    s.push_audio(&block(3));
    s.push_audio(&block(4));
    assert!(s.poll_request().is_some_and(|r| r.partial));
    // Unknown ids are ignored.
    s.handle_result(999, Ok(Transcript::default()));
    assert!(s.poll_event().is_none());
}

#[test]
fn a_partial_results_tokens_come_back_as_the_draft_of_the_final() {
    let mut s = StreamSession::new(small());
    s.speech_start(0);
    s.push_audio(&block(1));
    s.push_audio(&block(2));
    let p = s.poll_request().expect("partial");
    assert!(p.draft.is_empty(), "no partial result yet");
    s.handle_result_with_draft(p.id, Fake.transcribe(&p.pcm, &p.options), vec![7, 8]);
    s.push_audio(&block(3));
    s.push_audio(&block(4));
    let p2 = s.poll_request().expect("second partial");
    assert_eq!(p2.draft, [7, 8], "partials reuse the latest draft too");
    s.handle_result_with_draft(p2.id, Fake.transcribe(&p2.pcm, &p2.options), vec![7, 8, 9]);
    s.speech_end(s.position());
    let fin = s.poll_request().expect("final");
    assert_eq!((fin.partial, fin.draft.as_slice()), (false, &[7u32, 8, 9][..]));
    // A new segment starts without a draft.
    s.push_audio(&block(0));
    s.speech_start(s.position());
    s.push_audio(&block(5));
    s.push_audio(&block(6));
    let p3 = s.poll_request().expect("partial of the next segment");
    assert!(p3.draft.is_empty());
}

#[test]
fn partials_get_rarer_as_the_segment_grows() {
    // 100 %: each partial waits for as much new audio as the last one covered (and 200 ms).
    let mut s = StreamSession::new(StreamConfig { partial_growth_pct: 100, ..small() });
    s.speech_start(0);
    let mut ends = Vec::new();
    for n in 1..=40 {
        s.push_audio(&block(n));
        while let Some(req) = s.poll_request() {
            ends.push(req.end);
            run(&mut s, &req);
        }
    }
    // Segment from 0: first at 200 ms, then 400, 800, 1600, 3200 ms (4 s pushed).
    assert_eq!(ends, vec![3200, 6400, 12_800, 25_600, 51_200]);
}

#[test]
fn partials_switched_off_leave_only_the_final_and_resume_on_schedule() {
    let mut s = StreamSession::new(small());
    s.set_partials(false);
    s.speech_start(0);
    for n in 1..=6 {
        s.push_audio(&block(n));
        assert!(s.poll_request().is_none(), "no partial while switched off (block {n})");
    }
    // Switched on mid-segment: a partial of everything so far at once (it is overdue).
    s.set_partials(true);
    let req = s.poll_request().expect("a partial once switched on");
    assert!(req.partial);
    assert_eq!((req.start, req.end), (0, 9600));
    run(&mut s, &req);
    s.set_partials(false);
    s.push_audio(&block(7));
    s.push_audio(&block(8));
    assert!(s.poll_request().is_none());
    s.speech_end(12_800);
    let fin = s.poll_request().expect("the final, partials or not");
    assert!(!fin.partial);
    assert_eq!((fin.start, fin.end), (0, 12_800));
    run(&mut s, &fin);
    let evs = events(&mut s);
    assert!(matches!(evs.last(), Some(StreamEvent::Final { .. })), "{evs:?}");
}
