//! The agent with scripted engine answers (no models): the VAD says what the script says, the
//! recogniser returns scripted text, synthesis returns a tone per clause. Checks the loop's own
//! logic on a simulated clock: speech over the agent holds its audio at once, a cough lets it
//! play on, a short "wait, stop" barges in on its final transcript, false barge-in resumes the
//! prompt, keys interrupt, an unfinished sentence waits for the ceiling, no-input comes from the
//! flow.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_agent::{Action, Agent, AgentConfig, Job, Partials, Timing, TtsChunk};
use frontdesk_engines::{Transcript, split_clauses};
use frontdesk_flow::{Bundle, FlowMachine};
use frontdesk_types::{Digit, Instant};

struct Loop {
    agent: Agent,
    now: Instant,
    /// VAD probability for the next frames.
    speech: bool,
    /// Amplitude of the caller's speech frames.
    level: i16,
    /// What the recogniser answers, and how sure it is.
    text: String,
    confidence: f32,
    /// Partial transcripts come back empty (only finals carry `text`).
    late_partials: bool,
    /// Embedding jobs wait in `held_embeds` until the test answers them.
    slow_embeds: bool,
    held_embeds: Vec<u64>,
    /// The text of every embedding job, in order.
    embed_texts: Vec<String>,
    /// The VAD answers this late (a pool busy with other work), in order.
    vad_lag: Duration,
    vad_due: std::collections::VecDeque<(Instant, u64, f32)>,
    /// Final transcripts come back this late (a slow decode), in order.
    final_lag: Duration,
    finals_due: std::collections::VecDeque<(Instant, u64, String)>,
    /// Times the loop found a timeout already due right after handling one (a busy loop).
    spins: usize,
    said: Vec<String>,
    actions: Vec<Action>,
    timings: Vec<Timing>,
    cancelled: Vec<u64>,
    /// Every frame sent: when, and whether it held agent audio.
    sent: Vec<(Instant, bool)>,
    /// Partial decodes asked for.
    partials: usize,
    /// Synthesis jobs wait in `held_speaks` (id, text, ahead) until the test answers them.
    slow_tts: bool,
    held_speaks: Vec<(frontdesk_voice::UtteranceId, String, bool)>,
}

impl Loop {
    fn new() -> Loop {
        Loop::with(AgentConfig::default())
    }

    fn with(cfg: AgentConfig) -> Loop {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/clinic.yaml");
        let b = Arc::new(Bundle::load(&path).unwrap());
        let wall = frontdesk_flow::convo::parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        let mut agent = Agent::new(cfg, FlowMachine::new(b, wall)).unwrap();
        agent.start(Instant::ZERO).unwrap();
        let mut l = Loop {
            agent,
            now: Instant::ZERO,
            speech: false,
            level: 3000,
            text: String::new(),
            confidence: 0.9,
            late_partials: false,
            slow_embeds: false,
            held_embeds: vec![],
            embed_texts: vec![],
            vad_lag: Duration::ZERO,
            vad_due: std::collections::VecDeque::new(),
            final_lag: Duration::ZERO,
            finals_due: std::collections::VecDeque::new(),
            spins: 0,
            said: vec![],
            actions: vec![],
            timings: vec![],
            cancelled: vec![],
            sent: vec![],
            partials: 0,
            slow_tts: false,
            held_speaks: vec![],
        };
        l.drain();
        l
    }

    fn drain(&mut self) {
        while self.vad_due.front().is_some_and(|(due, ..)| *due <= self.now) {
            let Some((_, id, p)) = self.vad_due.pop_front() else { break };
            self.agent.handle_vad(self.now, id, Ok(p));
        }
        while self.finals_due.front().is_some_and(|(due, ..)| *due <= self.now) {
            let Some((_, id, text)) = self.finals_due.pop_front() else { break };
            let t = Transcript { text, words: vec![], confidence: self.confidence };
            self.agent.handle_transcript(self.now, id, Ok(t));
        }
        while let Some(j) = self.agent.poll_job() {
            match j {
                Job::Vad { id, .. } => {
                    let p = if self.speech { 0.95 } else { 0.02 };
                    if self.vad_lag.is_zero() && self.vad_due.is_empty() {
                        self.agent.handle_vad(self.now, id, Ok(p));
                    } else {
                        self.vad_due.push_back((self.now + self.vad_lag, id, p));
                    }
                }
                Job::Transcribe(req) => {
                    self.partials += usize::from(req.partial);
                    // A recogniser behind the caller: partials come back empty.
                    let text =
                        if req.partial && self.late_partials { String::new() } else { self.text.clone() };
                    if !req.partial && !self.final_lag.is_zero() {
                        self.finals_due.push_back((self.now + self.final_lag, req.id, text));
                        continue;
                    }
                    let t = Transcript { text, words: vec![], confidence: self.confidence };
                    self.agent.handle_transcript(self.now, req.id, Ok(t));
                }
                // A reply synthesised ahead is said only once the agent takes it up.
                Job::TakeAhead { text, .. } => self.said.push(text),
                Job::SpeakAhead { utterance, text } => self.synthesise(utterance, text, true),
                Job::Speak { utterance, text } => {
                    self.said.push(text.clone());
                    self.synthesise(utterance, text, false);
                }
                Job::CancelSpeak { utterance } => self.cancelled.push(utterance.0),
                Job::EndOfTurn { id, .. } => self.agent.handle_end_of_turn(self.now, id, Ok(0.9)),
                Job::Embed { id, text } => {
                    self.embed_texts.push(text.into_inner());
                    if self.slow_embeds {
                        self.held_embeds.push(id);
                    } else {
                        self.agent.handle_embedding(self.now, id, Ok(vec![]));
                    }
                }
            }
        }
        while let Some(a) = self.agent.poll_action() {
            self.actions.push(a);
        }
        while let Some(t) = self.agent.poll_timing() {
            self.timings.push(t);
        }
    }

    /// Synthesis: 1 s of a tone per clause at once, or the job held for the test (`slow_tts`).
    fn synthesise(&mut self, utterance: frontdesk_voice::UtteranceId, text: String, ahead: bool) {
        if self.slow_tts {
            self.held_speaks.push((utterance, text, ahead));
            return;
        }
        let clauses = split_clauses(&text);
        let n = clauses.len();
        for (i, c) in clauses.into_iter().enumerate() {
            let pcm = (0..8000).map(|k| ((k as f32 * 0.3).sin() * 8000.0) as i16).collect();
            let chunk = TtsChunk { pcm, clause: Some(c), last: i + 1 == n };
            self.agent.handle_tts(self.now, utterance, Ok(chunk));
        }
    }

    fn ms(&mut self, ms: u64) {
        for _ in 0..ms / 20 {
            self.now += Duration::from_millis(20);
            let v = if self.speech { self.level } else { 0 };
            self.agent.handle_audio(self.now, &[v; 160]);
            self.drain();
            if self.agent.poll_timeout().is_some_and(|t| t <= self.now) {
                self.agent.handle_timeout(self.now);
                self.drain();
                // A shell would wake again at once: the agent asked for a busy loop.
                if self.agent.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.spins += 1;
                }
            }
            let f = self.agent.poll_frame(self.now);
            self.sent.push((self.now, f.iter().any(|&x| x != 0)));
            self.drain();
        }
    }
}

#[test]
fn a_barge_in_that_brings_no_words_resumes_the_prompt_at_the_cut_clause() {
    let mut l = Loop::new();
    assert_eq!(l.said.len(), 2, "greeting and menu prompt: {:?}", l.said);
    l.ms(1200); // the onset, and with it the held audio, falls in the greeting's second clause
    l.speech = true; // noise the VAD takes for speech, with no words in it
    l.ms(1400);
    assert!(l.actions.contains(&Action::Clear), "long speech with no partial did not barge in");
    l.speech = false;
    l.ms(600);
    // Nothing was said: the greeting resumes from the clause that was cut, not from the top.
    let resumed = l.said.last().unwrap().clone();
    assert_eq!(l.said.len(), 3, "{:?}", l.said);
    assert!(resumed.starts_with("I'm an automated assistant."), "{resumed}");
    assert!(!resumed.contains("Thank you for calling"), "{resumed}");
    assert!(!l.timings.iter().any(|t| matches!(t, Timing::Turn(_))), "a false barge-in is not a turn");
}

#[test]
fn a_key_interrupts_the_prompt_at_once() {
    let mut l = Loop::new();
    l.ms(500);
    l.agent.handle_dtmf(l.now, Digit::from_char('0').unwrap());
    l.drain();
    assert!(l.actions.contains(&Action::Clear));
    let b = l.timings.iter().find_map(|t| if let Timing::BargeIn(b) = t { Some(b.clone()) } else { None });
    // The timing record is completed by the next frame.
    l.ms(20);
    let b = b.or_else(|| {
        l.timings.iter().find_map(|t| if let Timing::BargeIn(b) = t { Some(b.clone()) } else { None })
    });
    let b = b.unwrap();
    assert!(b.dtmf && b.stopped <= Duration::from_millis(20), "{b:?}");
    assert!(b.heard_ms < b.total_ms, "{b:?}");
}

#[test]
fn an_unfinished_sentence_waits_for_the_ceiling_and_silence_gets_the_flows_no_input() {
    let mut l = Loop::new();
    l.ms(8000); // greeting and prompt played out
    let said = l.said.len();
    l.text = "I'd like to book and".into();
    l.speech = true;
    l.ms(1000);
    l.speech = false;
    l.ms(1000); // 1 s of silence: a plain pause would have ended the turn, "and" holds it
    assert_eq!(l.said.len(), said, "answered an unfinished sentence: {:?}", l.said);
    l.ms(700); // past the 1.5 s ceiling
    assert!(l.said.len() > said, "the ceiling did not end the turn");
    let e = l.first_turn().end_of_turn.unwrap();
    assert!(e >= Duration::from_millis(1500) && e < Duration::from_millis(1600), "{e:?}");
    // Then silence: the flow's no-input reprompt after its 6 s, counted from the end of playback.
    let said = l.said.len();
    l.text.clear();
    l.ms(20_000);
    assert!(l.said.len() > said, "no reprompt on silence");
}

#[test]
fn a_pause_is_measured_on_audio_the_vad_has_judged_not_on_the_wall_clock() {
    // The VAD answers 1.2 s late (a pool busy with decodes): by the time it reports the end of
    // "tomorrow", more than the 700 ms pause has passed on the wall clock, but the caller went on
    // ("at 10 AM") after 300 ms. One turn, not two.
    let mut l = Loop::new();
    l.ms(8000); // greeting and prompt played out
    let said = l.said.len();
    l.vad_lag = Duration::from_millis(1200);
    l.text = "Tomorrow at 10 AM.".into();
    l.speech = true;
    l.ms(600);
    l.speech = false;
    l.ms(300);
    l.speech = true;
    l.ms(700);
    l.speech = false;
    l.ms(1400); // the VAD's answer for the end of "tomorrow" arrives in here
    let turns = |l: &Loop| l.timings.iter().filter(|t| matches!(t, Timing::Turn(_))).count();
    assert_eq!(turns(&l), 0, "a turn ended inside the sentence: {:?}", l.said);
    assert_eq!(l.said.len(), said, "answered half a sentence: {:?}", l.said);
    l.ms(1500); // the real pause, judged late
    assert_eq!(turns(&l), 1, "{:?}", l.said);
    let e = l.first_turn().end_of_turn.unwrap();
    // From the end of speech: the lag plus the pause policy's wait, not less than the pause.
    assert!(e >= Duration::from_millis(700) && e < Duration::from_millis(2200), "{e:?}");
}

#[test]
fn a_slow_final_transcript_is_waited_for_without_a_busy_timer() {
    // The final decode takes 1.5 s (a loaded pool): the turn waits for its words, and the agent's
    // next timeout is never already due while it waits (a shell would spin on it).
    let mut l = Loop::new();
    l.ms(8000);
    let said = l.said.len();
    l.final_lag = Duration::from_millis(1500);
    l.text = "What are your hours?".into();
    l.speech = true;
    l.ms(800);
    l.speech = false;
    l.ms(1400);
    assert_eq!(l.said.len(), said, "answered before the final transcript: {:?}", l.said);
    l.ms(800);
    assert!(l.said.len() > said, "no answer after the final transcript came: {:?}", l.said);
    assert_eq!(l.spins, 0, "the agent's timeout was due again right after it was handled");
}

impl Loop {
    /// Embeddings on and held until the test answers them; the greeting and menu played out.
    fn slow_embeds_after_the_greeting() -> Loop {
        let mut l = Loop::with(AgentConfig { embed: true, ..AgentConfig::default() });
        l.slow_embeds = true;
        l.ms(8000);
        l
    }

    /// The first caller turn's timing record.
    fn first_turn(&self) -> frontdesk_agent::TurnTiming {
        let turn =
            self.timings.iter().find_map(|t| if let Timing::Turn(t) = t { Some(t.clone()) } else { None });
        turn.expect("no caller turn was timed")
    }

    /// Frames of agent audio sent so far.
    fn audio_frames(&self) -> usize {
        self.sent.iter().filter(|(_, a)| *a).count()
    }

    /// The first silent frame at or after `from`.
    fn first_silence_after(&self, from: Instant) -> Option<Instant> {
        self.sent.iter().find(|(t, a)| *t >= from && !a).map(|(t, _)| *t)
    }
}

#[test]
fn speech_over_the_agent_holds_its_audio_at_once_and_a_cough_lets_it_play_on() {
    // Control: the greeting and menu prompt played out undisturbed.
    let mut quiet = Loop::new();
    quiet.ms(8000); // before the flow's no-input reprompt
    let whole = quiet.audio_frames();
    assert!(whole > 200, "{whole} frames of agent audio");

    let mut l = Loop::new();
    l.ms(1200);
    let onset = l.now;
    l.speech = true; // a cough: 200 ms the VAD takes for speech, no words in it
    l.ms(200);
    l.speech = false;
    let stopped = l.first_silence_after(onset).unwrap();
    assert!(
        stopped.saturating_duration_since(onset) <= Duration::from_millis(120),
        "agent audio went on {:?} after the onset",
        stopped.saturating_duration_since(onset)
    );
    l.ms(6600);
    assert!(!l.actions.contains(&Action::Clear), "a cough flushed the agent");
    assert_eq!(l.agent.pauses_resumed(), 1);
    assert_eq!(l.said.len(), 2, "nothing said again: {:?}", l.said);
    // Nothing lost: every frame of the prompts was sent, only later.
    assert_eq!(l.audio_frames(), whole, "held audio was dropped or repeated");
    assert!(!l.timings.iter().any(|t| matches!(t, Timing::BargeIn(_) | Timing::Turn(_))));
}

#[test]
fn a_short_stop_that_ends_before_any_partial_barges_in_on_its_final_transcript() {
    let mut l = Loop::new();
    l.ms(1200);
    let onset = l.now;
    // 400 ms of speech, its partials behind (empty), too short for the 1.2 s no-transcript
    // rule: only its final says what it was.
    l.text = "wait stop".into();
    l.late_partials = true;
    l.speech = true;
    l.ms(400);
    l.speech = false;
    assert!(!l.actions.contains(&Action::Clear), "decided before the final");
    l.ms(1000);
    assert!(l.actions.contains(&Action::Clear), "a spoken \"wait stop\" did not stop the agent");
    let b = l
        .timings
        .iter()
        .find_map(|t| if let Timing::BargeIn(b) = t { Some(b.clone()) } else { None })
        .unwrap();
    // The agent went quiet at the onset, long before the decision.
    assert!(b.stopped <= Duration::from_millis(120), "{b:?}");
    assert!(b.decided > Duration::from_millis(400), "{b:?}");
    // The onset is placed on the VAD's 32 ms frame grid.
    assert!(
        b.onset + Duration::from_millis(40) >= onset && b.onset <= onset + Duration::from_millis(40),
        "{b:?}"
    );
    assert!(b.heard_ms >= 1100 && b.heard_ms <= 1400, "{b:?}");
    // And the caller's words are the next turn.
    l.ms(3000);
    assert!(l.timings.iter().any(|t| matches!(t, Timing::Turn(_))), "no turn after the barge-in");
}

#[test]
fn backchannels_over_the_agent_do_not_stop_it() {
    let mut l = Loop::new();
    l.ms(1200);
    l.text = "uh-huh".into();
    l.speech = true;
    l.ms(700);
    l.speech = false;
    l.ms(5000);
    assert!(!l.actions.contains(&Action::Clear), "a backchannel flushed the agent");
    assert_eq!(l.agent.pauses_resumed(), 1);
    assert_eq!(l.said.len(), 2, "{:?}", l.said);
}

#[test]
fn a_question_whose_embedding_comes_after_the_no_input_deadline_is_answered_without_a_reprompt() {
    let mut l = Loop::with(AgentConfig { embed: true, ..AgentConfig::default() });
    l.slow_embeds = true;
    l.ms(8000); // greeting and menu played; the flow's 6 s no-input timer runs
    let said = l.said.len();
    l.text = "what are your opening hours".into();
    l.speech = true;
    l.ms(1500);
    l.speech = false;
    l.ms(5000); // the turn ends; its embedding is slow (a loaded machine) past the deadline
    assert_eq!(l.held_embeds.len(), 1, "no embedding asked");
    assert_eq!(l.said.len(), said, "a reprompt while the caller's words were on their way: {:?}", l.said);
    let id = l.held_embeds.remove(0);
    l.agent.handle_embedding(l.now, id, Ok(vec![]));
    l.drain();
    assert!(l.said.len() > said && l.said[said].contains("open Monday to Friday"), "{:?}", l.said);
    assert!(!l.said.iter().any(|s| s.contains("didn't hear")), "{:?}", l.said);
}

#[test]
fn a_paused_turn_is_embedded_during_the_pause_so_the_reply_does_not_wait_for_it() {
    let mut l = Loop::slow_embeds_after_the_greeting();
    let said = l.said.len();
    l.text = "What are your opening hours?".into();
    l.speech = true;
    l.ms(1500);
    l.speech = false;
    l.ms(400); // the final transcript is in; the 700 ms pause is not over
    assert_eq!(l.embed_texts, ["what are your opening hours"], "not embedded during the pause");
    let id = l.held_embeds.remove(0);
    l.agent.handle_embedding(l.now, id, Ok(vec![]));
    l.drain();
    assert_eq!(l.said.len(), said, "answered before the end of the turn: {:?}", l.said);
    l.ms(600);
    assert!(l.said.len() > said && l.said[said].contains("open Monday to Friday"), "{:?}", l.said);
    assert_eq!(l.embed_texts.len(), 1, "embedded again at the end of the turn: {:?}", l.embed_texts);
    l.text = "Thanks.".into();
    l.speech = true;
    l.ms(600);
    l.speech = false;
    l.ms(2000);
    let t = l.first_turn();
    assert_eq!(t.flow_command, t.end_of_turn, "the flow got the turn later than its end: {t:?}");
}

#[test]
fn words_after_the_pause_are_embedded_afresh_and_an_embedding_still_on_its_way_is_waited_for() {
    let mut l = Loop::slow_embeds_after_the_greeting();
    let said = l.said.len();
    l.text = "do you take".into();
    l.speech = true;
    l.ms(800);
    l.speech = false;
    l.ms(400); // "do you take" is embedded during the pause ("take" can end a sentence)
    l.text = "walk-ins".into(); // the second segment's final
    l.speech = true;
    l.ms(700);
    l.speech = false;
    l.ms(1600); // the turn is over; neither embedding has come back
    assert_eq!(l.embed_texts, ["do you take", "do you take walk-ins"]);
    assert_eq!(l.said.len(), said, "answered without its embedding: {:?}", l.said);
    // The stale one comes back: it is not the turn's, so nothing is said.
    let (stale, fresh) = (l.held_embeds[0], l.held_embeds[1]);
    l.agent.handle_embedding(l.now, stale, Ok(vec![]));
    l.drain();
    assert_eq!(l.said.len(), said, "answered with the embedding of other words: {:?}", l.said);
    l.agent.handle_embedding(l.now, fresh, Ok(vec![]));
    l.drain();
    assert!(l.said.len() > said, "not answered once its embedding came: {:?}", l.said);
}

#[test]
fn the_turn_does_not_end_while_the_caller_is_audibly_going_on() {
    // "June." then "the sixteenth" after a pause just short of the 700 ms end of turn: speech
    // that has begun again when the pause reaches 700 ms, but is not yet confirmed by the VAD's
    // 64 ms (at a 660 ms gap), holds the decision, and the two are one turn. After a pause past
    // the end of turn, they are two. (Without the longer wait for words the flow cannot place,
    // which would hold "June." at the menu for 1 s: this is about the 700 ms edge.)
    let mut cfg = AgentConfig::default();
    cfg.end_of_turn.unplaced_pause_ms = None;
    for (gap, want) in [(600, 1), (620, 1), (640, 1), (660, 1), (720, 2), (800, 2)] {
        let mut l = Loop::with(cfg.clone());
        l.ms(8000);
        while l.agent.poll_record().is_some() {}
        l.text = "June.".into();
        l.speech = true;
        l.ms(600);
        l.speech = false;
        l.ms(gap);
        l.text = "the sixteenth".into();
        l.speech = true;
        l.ms(800);
        l.speech = false;
        l.ms(1500);
        let turns: Vec<String> = std::iter::from_fn(|| l.agent.poll_record())
            .filter_map(|r| match r {
                frontdesk_agent::Record::Caller { text, .. } => Some(text.into_inner()),
                _ => None,
            })
            .collect();
        assert_eq!(turns.len(), want, "gap {gap} ms: {turns:?}");
    }
}

/// Caller speech of `text` for `ms` milliseconds over whatever the agent is saying, then `after`
/// ms of silence.
fn speak_over(l: &mut Loop, text: &str, confidence: f32, ms: u64, after: u64) {
    l.text = text.into();
    l.confidence = confidence;
    l.speech = true;
    l.ms(ms);
    l.speech = false;
    l.ms(after);
}

#[test]
fn a_yes_or_a_doubtful_word_over_an_answer_lets_it_play_on_but_a_yes_over_a_yes_no_question_answers_it() {
    // Over the greeting (an open question follows): "yes" is a backchannel, and one word the
    // recogniser doubts ("mm-hmm" heard as "David.") is not enough to stop the agent.
    for (text, confidence) in [("Yes.", 0.9), ("David.", 0.2), ("M-H-M", 0.6)] {
        let mut l = Loop::new();
        l.ms(1200);
        speak_over(&mut l, text, confidence, 600, 5000);
        assert!(!l.actions.contains(&Action::Clear), "{text:?} flushed the agent");
        assert_eq!(l.agent.pauses_resumed(), 1, "{text:?}");
    }
    // The same word with confidence stops it.
    let mut l = Loop::new();
    l.ms(1200);
    speak_over(&mut l, "Stop.", 0.6, 600, 1000);
    assert!(l.actions.contains(&Action::Clear), "a clear \"Stop.\" did not stop the agent");

    // A read-back asks yes or no: a "yes" over it is the answer.
    let mut l = Loop::new();
    l.ms(7000);
    speak_over(&mut l, "I'd like to book an appointment.", 0.9, 1500, 1500);
    assert!(l.said.iter().any(|s| s.contains("What day and time")), "{:?}", l.said);
    l.ms(3000);
    speak_over(&mut l, "Tomorrow at 10 AM.", 0.9, 1500, 1200);
    let readback = l.said.last().unwrap().clone();
    assert!(readback.contains("Is that right?"), "{:?}", l.said);
    let asked = l.said.len();
    speak_over(&mut l, "Yes.", 0.9, 600, 2000);
    assert!(l.actions.contains(&Action::Clear), "a yes over the read-back was ignored: {:?}", l.said);
    assert!(
        l.said.len() > asked && !l.said[asked..].iter().any(|s| s.contains("Is that right?")),
        "{:?}",
        l.said
    );
}

#[test]
fn speech_far_quieter_than_the_callers_own_turns_does_not_stop_the_agent() {
    let mut l = Loop::new();
    l.ms(7000);
    speak_over(&mut l, "What are your opening hours?", 0.9, 1500, 1000);
    assert!(l.said.iter().any(|s| s.contains("Monday to Friday")), "{:?}", l.said);
    // A television 24 dB below the caller, talking over the answer.
    l.level = 190;
    speak_over(&mut l, "Our top story tonight, the council met.", 0.8, 1500, 300);
    assert!(!l.actions.contains(&Action::Clear), "far-field speech stopped the agent: {:?}", l.said);
    // The caller, at their own level: stops it.
    l.level = 2500;
    speak_over(&mut l, "Wait, what about Sundays?", 0.9, 900, 300);
    assert!(l.actions.contains(&Action::Clear), "the caller did not stop the agent");
}

#[test]
fn partials_are_decoded_for_speech_over_the_agent_only_unless_asked_for_always() {
    for (partials, want_in_silence) in [(Partials::OverAgent, false), (Partials::Always, true)] {
        let mut l = Loop::with(AgentConfig { partials, ..AgentConfig::default() });
        l.ms(1000);
        // Over the greeting: the barge-in policy needs the words.
        l.text = "wait a moment".into();
        l.speech = true;
        l.ms(1600);
        assert!(l.partials > 0, "{partials:?}: no partial over the agent");
        l.speech = false;
        l.ms(8000);
        assert!(!l.agent.is_speaking(), "the agent should have answered and finished");
        // Into silence: only the final, unless partials are wanted always.
        let before = l.partials;
        l.text = "what are your hours".into();
        l.speech = true;
        l.ms(2400);
        l.speech = false;
        l.ms(1500);
        assert_eq!(l.partials > before, want_in_silence, "{partials:?}: {} partials", l.partials - before);
        assert!(l.said.len() > 2, "the turn still got an answer: {:?}", l.said);
    }
}

#[test]
fn the_flows_understanding_answers_a_clear_question_sooner_and_waits_longer_for_a_fragment() {
    // At the main menu, each turn after 600 ms of speech: when does the turn end, counted from
    // the end of speech? The recogniser's final and the embedding come back at once.
    let end_of_turn = |text: &str, cfg: AgentConfig| {
        let mut l = Loop::with(cfg);
        l.ms(8000); // greeting and prompt played out
        l.text = text.into();
        l.speech = true;
        l.ms(600);
        l.speech = false;
        l.ms(1600);
        l.first_turn().end_of_turn.unwrap()
    };
    let within =
        |d: Duration, from: u64| d >= Duration::from_millis(from) && d < Duration::from_millis(from + 60);
    let on = AgentConfig::default();
    let mut off = AgentConfig::default();
    off.end_of_turn.understood_pause_ms = None;
    off.end_of_turn.unplaced_pause_ms = None;
    // A question the knowledge base answers, five words or more, closed by the recogniser.
    let q = "What are your opening hours?";
    let (fast, plain) = (end_of_turn(q, on.clone()), end_of_turn(q, off.clone()));
    assert!(within(fast, 500), "an understood question: {fast:?}");
    assert!(within(plain, 700), "the plain pause: {plain:?}");
    // A short fragment the flow cannot place: the caller is more likely to go on.
    let slow = end_of_turn("I was wondering.", on.clone());
    assert!(within(slow, 1000), "an unplaced fragment: {slow:?}");
    assert!(within(end_of_turn("I was wondering.", off), 700));
    // A short text the flow understands is no sign of a finished turn: the plain pause.
    let short = end_of_turn("Opening hours?", on.clone());
    assert!(within(short, 700), "a short understood text: {short:?}");
    // A long sentence the flow cannot place is most often finished: the plain pause.
    let long = end_of_turn("The weasels have eaten our phone system.", on);
    assert!(within(long, 700), "a long unplaced sentence: {long:?}");
}

#[test]
fn the_reply_is_synthesised_during_the_pause_and_plays_at_the_end_of_the_turn() {
    let mut l = Loop::with(AgentConfig { embed: true, ..AgentConfig::default() });
    l.ms(8000); // greeting and prompt played out
    l.slow_tts = true;
    let said = l.said.len();
    l.text = "What are your opening hours?".into();
    l.speech = true;
    l.ms(600);
    l.speech = false;
    l.ms(400); // the final is in, the flow understood it: its answer is being synthesised
    let [(ahead, text, true)] = l.held_speaks.as_slice() else { panic!("{:?}", l.held_speaks) };
    let (ahead, text) = (*ahead, text.clone());
    assert!(text.contains("open Monday to Friday"), "{text}");
    assert_eq!(l.said.len(), said, "said before the end of the turn: {:?}", l.said);
    // Its audio comes back before the end of the turn: kept, not played.
    let tone: Vec<i16> = (0..8000).map(|k| ((k as f32 * 0.3).sin() * 8000.0) as i16).collect();
    let chunk = TtsChunk { pcm: tone.clone(), clause: Some(text.clone()), last: true };
    l.agent.handle_tts(l.now, ahead, Ok(chunk));
    l.drain();
    let before = l.sent.len();
    l.ms(60);
    assert!(l.sent[before..].iter().all(|(_, a)| !a), "played before the end of the turn");
    l.ms(200); // past the 500 ms pause
    assert_eq!(l.said.get(said), Some(&text), "the flow said something else: {:?}", l.said);
    let times = l.held_speaks.iter().filter(|(_, t, _)| *t == text).count();
    assert_eq!(times, 1, "synthesised twice: {:?}", l.held_speaks);
    let t = l.first_turn();
    let (e, a) = (t.end_of_turn.unwrap(), t.first_audio_sent.unwrap());
    assert!(a <= e + Duration::from_millis(20), "audio {a:?} after the end of the turn {e:?}");
    assert!(l.sent.iter().rev().take(5).all(|(_, a)| *a), "the answer is not playing");
    assert!(!l.cancelled.contains(&ahead.0));

    // The caller goes on after the pause: the reply synthesised for the first words is
    // cancelled, and the answer to the whole turn is synthesised afresh.
    let mut l = Loop::with(AgentConfig { embed: true, ..AgentConfig::default() });
    l.ms(8000);
    l.slow_tts = true;
    l.text = "What are your opening hours?".into();
    l.speech = true;
    l.ms(600);
    l.speech = false;
    l.ms(400);
    let ahead = l.held_speaks[0].0;
    l.text = "And do you take walk-ins?".into();
    l.speech = true;
    l.ms(300);
    assert!(l.cancelled.contains(&ahead.0), "not cancelled when the caller went on");
    l.speech = false;
    l.ms(1500);
    let last = l.held_speaks.last().unwrap().0;
    assert_ne!(last, ahead, "the whole turn's answer was not synthesised: {:?}", l.held_speaks);
}
