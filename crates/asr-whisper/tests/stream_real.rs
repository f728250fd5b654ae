//! The streaming session driving the real tiny.en model: partials arrive before the final.

mod common;

use common::{assert_has_words, load, prompt_16k};
use frontdesk_asr_whisper::WhisperModel;
use frontdesk_asr_whisper::stream::{StreamConfig, StreamEvent, StreamSession};
use frontdesk_engines::DecodeOptions;

#[test]
fn partials_then_a_final_on_a_real_prompt() {
    let m = load(WhisperModel::TinyEn);
    let speech = prompt_16k("agent-pass");
    let lead = 8000; // 0.5 s of silence before the speech
    let mut audio = vec![0.0f32; lead];
    audio.extend_from_slice(&speech);
    audio.extend(std::iter::repeat_n(0.0, 8000));
    let speech_end = (lead + speech.len()) as u64;

    let mut s = StreamSession::new(StreamConfig::default());
    let mut log = Vec::new();
    let mut partial_runs = 0;
    let mut final_draft = 0;
    for (i, frame) in audio.chunks(320).enumerate() {
        let at = (i * 320) as u64;
        s.push_audio(frame);
        // The VAD's decisions, at the frame where they fall.
        if at <= lead as u64 && lead as u64 <= at + 320 {
            s.speech_start(lead as u64);
        }
        if at <= speech_end && speech_end < at + 320 {
            s.speech_end(speech_end);
        }
        // A pool that answers at once.
        while let Some(req) = s.poll_request() {
            partial_runs += usize::from(req.partial);
            if !req.partial {
                final_draft = req.draft.len();
            }
            match m.run(&req) {
                Ok(d) => s.handle_result_with_draft(req.id, Ok(d.transcript), d.token_ids),
                Err(e) => s.handle_result(req.id, Err(e)),
            }
        }
        log.extend(std::iter::from_fn(|| s.poll_event()));
    }
    let kinds: Vec<&str> = log
        .iter()
        .map(|e| match e {
            StreamEvent::Partial { .. } => "partial",
            StreamEvent::Final { .. } => "final",
            _ => "other",
        })
        .collect();
    assert!(partial_runs >= 3, "partials at 0.5, 1.1 and 2.2 s of the segment, got {partial_runs}");
    let first_final = kinds.iter().position(|k| *k == "final").expect("a final");
    assert!(first_final >= 2 && kinds[..first_final].iter().all(|k| *k == "partial"), "{kinds:?}");
    assert_eq!(kinds.len(), first_final + 1, "{kinds:?}");
    let Some(StreamEvent::Final { transcript, start, end, .. }) = log.last() else { panic!("{log:?}") };
    assert_has_words(&transcript.text, "Please enter your password followed by the pound key.");
    assert_eq!((*start, *end), (lead as u64 - 4800, speech_end));
    // The final was decoded with the last partial's tokens as its draft, and the draft changed
    // nothing.
    assert!(final_draft > 0);
    let plain = m.decode(&audio[*start as usize..*end as usize], &DecodeOptions::default()).expect("decode");
    assert_eq!(transcript.text, plain.transcript.text);
    // The first partial holds the start of the sentence.
    let Some(StreamEvent::Partial { text, .. }) = log.first() else { panic!("{log:?}") };
    assert_has_words(text, "please");
}
