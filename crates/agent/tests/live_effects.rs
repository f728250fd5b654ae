//! Flow side effects, live control and the call log on the agent with scripted engines (no
//! models), on a simulated clock: a scheduling op goes out as an effect and the call waits for
//! it (silence flowing, no reprompt) until its result comes back; a webhook likewise; an
//! operator's say interrupts the prompt, a hang-up ends the call at once and a late result is
//! dropped; the call log records caller turns, keys and what the agent said (and how much of a
//! cut prompt was heard).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use frontdesk_agent::{Action, Agent, AgentConfig, Effect, Job, Record, TtsChunk};
use frontdesk_engines::{Transcript, split_clauses};
use frontdesk_flow::{Bundle, Command, Event, FlowMachine};
use frontdesk_schedule::ScheduleOutcome;
use frontdesk_types::{Digit, Instant};

struct Loop {
    agent: Agent,
    now: Instant,
    speech: bool,
    text: String,
    said: Vec<String>,
    actions: Vec<Action>,
    records: Vec<Record>,
    frames: usize,
}

fn clinic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/clinic.yaml")
}

impl Loop {
    fn new(flow: &Path) -> Loop {
        let b = Arc::new(Bundle::load(flow).unwrap());
        let wall = frontdesk_flow::convo::parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        let m = FlowMachine::new(b, wall).with_caller(frontdesk_types::Pii::new("+16175550100".into()));
        let mut agent = Agent::new(AgentConfig::default(), m).unwrap();
        agent.start(Instant::ZERO).unwrap();
        let mut l = Loop {
            agent,
            now: Instant::ZERO,
            speech: false,
            text: String::new(),
            said: vec![],
            actions: vec![],
            records: vec![],
            frames: 0,
        };
        l.drain();
        l
    }

    /// Synthesis: 1 s of tone per clause, at once.
    fn synthesise(&mut self, utterance: frontdesk_voice::UtteranceId, text: &str) {
        let clauses = split_clauses(text);
        let n = clauses.len();
        for (i, c) in clauses.into_iter().enumerate() {
            let pcm = (0..8000).map(|k| ((k as f32 * 0.3).sin() * 8000.0) as i16).collect();
            let chunk = TtsChunk { pcm, clause: Some(c), last: i + 1 == n };
            self.agent.handle_tts(self.now, utterance, Ok(chunk));
        }
    }

    fn drain(&mut self) {
        while let Some(j) = self.agent.poll_job() {
            match j {
                Job::Vad { id, .. } => {
                    self.agent.handle_vad(self.now, id, Ok(if self.speech { 0.95 } else { 0.02 }))
                }
                Job::Transcribe(req) => {
                    let t = Transcript { text: self.text.clone(), words: vec![], confidence: 0.9 };
                    self.agent.handle_transcript(self.now, req.id, Ok(t));
                }
                // A reply synthesised ahead is said only once the agent takes it up.
                Job::TakeAhead { text, .. } => self.said.push(text),
                Job::SpeakAhead { utterance, text } => self.synthesise(utterance, &text),
                Job::Speak { utterance, text } => {
                    self.synthesise(utterance, &text);
                    self.said.push(text);
                }
                Job::CancelSpeak { .. } => {}
                Job::EndOfTurn { id, .. } => self.agent.handle_end_of_turn(self.now, id, Ok(0.9)),
                Job::Embed { id, .. } => self.agent.handle_embedding(self.now, id, Ok(vec![])),
            }
        }
        while let Some(a) = self.agent.poll_action() {
            self.actions.push(a);
        }
        while let Some(r) = self.agent.poll_record() {
            self.records.push(r);
        }
        while self.agent.poll_timing().is_some() {}
    }

    fn ms(&mut self, ms: u64) {
        for _ in 0..ms / 20 {
            self.now += Duration::from_millis(20);
            let v = if self.speech { 3000 } else { 0 };
            self.agent.handle_audio(self.now, &[v; 160]);
            self.drain();
            if self.agent.poll_timeout().is_some_and(|t| t <= self.now) {
                self.agent.handle_timeout(self.now);
                self.drain();
            }
            let f = self.agent.poll_frame(self.now);
            assert_eq!(f.len(), 160, "a 20 ms frame every tick");
            self.frames += 1;
            self.drain();
        }
    }

    /// The caller says `text` (1 s of speech), then is silent for `after` ms.
    fn says(&mut self, text: &str, after: u64) {
        self.text = text.into();
        self.speech = true;
        self.ms(1000);
        self.speech = false;
        self.ms(after);
        self.text.clear();
    }

    fn effects(&self) -> Vec<Effect> {
        self.actions
            .iter()
            .filter_map(|a| if let Action::Effect(e) = a { Some(e.clone()) } else { None })
            .collect()
    }

    fn all_said(&self) -> String {
        self.said.join(" | ")
    }
}

#[test]
fn a_scheduling_op_goes_out_and_the_call_waits_for_its_result_then_goes_on() {
    let mut l = Loop::new(&clinic());
    l.ms(8000); // greeting and menu played out
    l.says("I need to cancel my appointment", 1200);
    let effects = l.effects();
    assert_eq!(effects.len(), 1, "{:?}", l.actions);
    let e = &effects[0];
    assert!(e.awaits_result);
    let Command::Schedule(op) = &e.command else { panic!("{e:?}") };
    assert_eq!(op.name(), "lookup");
    assert!(l.agent.awaits_effect());
    // The store is slow: 30 s with no result. No reprompt (the flow's 6 s no-input timer is
    // held), no hang-up, and a frame every tick.
    let said = l.said.len();
    let frames = l.frames;
    l.ms(30_000);
    assert_eq!(l.said.len(), said, "the flow spoke while waiting: {}", l.all_said());
    assert_eq!(l.frames - frames, 1500);
    assert!(!l.agent.is_ended());
    assert!(!l.actions.iter().any(|a| matches!(a, Action::Hangup | Action::Transfer { .. })));
    // The result arrives: no appointment on file -> the flow says so and transfers.
    l.agent.handle_flow_event(l.now, e.id, Event::ScheduleResult(ScheduleOutcome::Appointments(vec![])));
    l.drain();
    assert!(!l.agent.awaits_effect());
    assert!(l.all_said().contains("couldn't find an upcoming appointment"), "{}", l.all_said());
    l.ms(12_000);
    assert!(l.actions.iter().any(|a| matches!(a, Action::Transfer { .. })), "{:?}", l.actions);
    // A second copy of the result is dropped.
    l.agent.handle_flow_event(l.now, e.id, Event::ScheduleResult(ScheduleOutcome::NotFound));
    l.drain();
}

#[test]
fn a_hang_up_now_ends_the_call_at_once_and_a_late_result_is_dropped() {
    let mut l = Loop::new(&clinic());
    l.ms(8000);
    l.says("I need to cancel my appointment", 1200);
    let e = l.effects().pop().unwrap();
    l.agent.hangup_now(l.now);
    l.drain();
    assert_eq!(l.actions.last(), Some(&Action::Hangup));
    assert!(l.agent.is_ended() && !l.agent.awaits_effect());
    let said = l.said.len();
    l.agent.handle_flow_event(l.now, e.id, Event::ScheduleResult(ScheduleOutcome::Appointments(vec![])));
    l.drain();
    assert_eq!(l.said.len(), said, "a result after the end made the flow speak");
}

#[test]
fn a_webhook_goes_out_and_its_result_fills_the_slot() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agent-live-webhook");
    std::fs::create_dir_all(&dir).unwrap();
    let flow = dir.join("hook.yaml");
    std::fs::write(
        &flow,
        "flow: hook\nbusiness: Test Desk\nstart: greet\nnodes:\n  greet:\n    say: Hello.\n    next: check\n  check:\n    webhook:\n      url: http://127.0.0.1:9/balance\n      result: balance\n    next: tell\n  tell:\n    say: Thank you, goodbye.\n    hangup: true\n",
    )
    .unwrap();
    let mut l = Loop::new(&flow);
    l.ms(3000);
    let e = l.effects().pop().unwrap_or_else(|| panic!("no webhook effect: {:?}", l.actions));
    assert!(matches!(e.command, Command::Webhook { .. }) && e.awaits_result, "{e:?}");
    l.ms(10_000);
    assert!(!l.agent.is_ended(), "the call ended while the webhook was out");
    l.agent.handle_flow_event(
        l.now,
        e.id,
        Event::WebhookResult { ok: true, value: Some("12 dollars".into()) },
    );
    l.drain();
    assert!(l.all_said().contains("Thank you, goodbye."), "{}", l.all_said());
    assert!(l.agent.flow().slots().contains_key("balance"), "{:?}", l.agent.flow().slots());
    l.ms(5000);
    assert_eq!(l.actions.last(), Some(&Action::Hangup));
}

#[test]
fn say_now_with_interrupt_cuts_the_prompt_and_the_log_says_how_much_was_heard() {
    let mut l = Loop::new(&clinic());
    l.ms(1500); // into the greeting
    l.agent.say_now(l.now, "Hello, this is the front desk.", true);
    l.drain();
    assert!(l.actions.contains(&Action::Clear), "{:?}", l.actions);
    assert_eq!(l.said.last().map(String::as_str), Some("Hello, this is the front desk."));
    let cut: Vec<_> = l
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Agent { text, cut: Some((heard, total)), .. } => Some((text.clone(), *heard, *total)),
            _ => None,
        })
        .collect();
    assert!(!cut.is_empty(), "{:?}", l.records);
    let (text, heard, total) = &cut[0];
    assert!(text.contains("Maple Grove"), "{text}");
    assert!(*heard >= 1000 && heard < total, "heard {heard} of {total}");
    // Without interrupt, a say queues after what is playing.
    let clears = l.actions.iter().filter(|a| **a == Action::Clear).count();
    l.agent.say_now(l.now, "One more thing.", false);
    l.drain();
    assert_eq!(l.actions.iter().filter(|a| **a == Action::Clear).count(), clears);
    l.ms(6000);
    assert!(
        l.records
            .iter()
            .any(|r| matches!(r, Record::Agent { text, cut: None, .. } if text == "One more thing.")),
        "{:?}",
        l.records
    );
    // The flow's no-input timer restarts after the operator's words: a reprompt follows.
    let said = l.said.len();
    l.ms(8000);
    assert!(l.said.len() > said, "no reprompt after the operator spoke: {}", l.all_said());
}

#[test]
fn the_call_log_has_caller_turns_keys_and_what_the_agent_said() {
    let mut l = Loop::new(&clinic());
    l.ms(8000);
    l.says("what are your opening hours", 9000);
    l.agent.handle_dtmf(l.now, Digit::from_char('0').unwrap());
    l.drain();
    l.ms(200);
    l.agent.close(l.now);
    l.drain();
    let caller = l.records.iter().find_map(|r| match r {
        Record::Caller { turn, text, confidence, end_of_turn, .. } => {
            Some((*turn, text.expose().clone(), *confidence, *end_of_turn))
        }
        _ => None,
    });
    let (turn, text, confidence, eot) = caller.unwrap();
    assert_eq!((turn, text.as_str()), (1, "what are your opening hours"));
    assert!((confidence - 0.9).abs() < 1e-6);
    assert!(eot.is_some_and(|d| d >= Duration::from_millis(700)), "{eot:?}");
    // The answer is logged as answering turn 1, after the greeting and menu prompt.
    let agent: Vec<_> = l
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Agent { text, answers, .. } => Some((text.clone(), *answers)),
            _ => None,
        })
        .collect();
    assert!(agent[0].0.contains("Maple Grove") && agent[0].1.is_none(), "{agent:?}");
    let answer = agent.iter().find(|(t, _)| t.contains("Monday to Friday")).unwrap();
    assert_eq!(answer.1, Some(1), "{agent:?}");
    assert!(l.records.iter().any(|r| matches!(r, Record::Keys { keys, .. } if keys.expose() == "0")));
    // Ordering: the greeting comes before the caller's turn, the answer after it.
    let pos = |f: &dyn Fn(&Record) -> bool| l.records.iter().position(f).unwrap();
    let caller_at = pos(&|r| matches!(r, Record::Caller { .. }));
    let answer_at = pos(&|r| matches!(r, Record::Agent { text, .. } if text.contains("Monday to Friday")));
    assert!(pos(&|r| matches!(r, Record::Agent { .. })) < caller_at && caller_at < answer_at);
}
