//! Deterministic call simulations with the real engines on a simulated clock (see `sim/`): the
//! clinic flow greets, answers a question, is barged in on (its audio held at the onset), and
//! plays on after a cough and an "okay".

#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use frontdesk_agent::{Action, AgentConfig};
use sim::{Sim, caller_says, cough};

const S: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;

#[allow(clippy::disallowed_methods)] // the test measures its own wall time against the simulated clock
fn wall() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs the greeting out, then asks about insurance; returns when the (long) answer is playing.
fn greet_and_ask(sim: &mut Sim) -> frontdesk_types::Instant {
    assert!(sim.run_until(S(30), |s| s.sent.iter().any(|(_, a)| *a) && s.quiet_for(600)), "no greeting");
    assert!(sim.all_said().contains("Maple Grove Family Clinic"), "{}", sim.all_said());
    let asked = sim.now + MS(200);
    sim.play(asked, caller_says("Which insurance plans do you accept?"));
    let said_before = sim.said.len();
    assert!(
        sim.run_until(S(15), |s| s.said.len() > said_before
            && s.all_said().contains("Blue Cross Blue Shield")
            && s.sent.last().is_some_and(|(_, a)| *a)),
        "no answer to the insurance question: {} (heard {:?})",
        sim.all_said(),
        sim.finals
    );
    asked
}

#[test]
fn greets_answers_a_question_and_records_the_turn_timings() {
    sim::engines(); // loading the models is not part of the call
    let t0 = wall();
    let mut sim = Sim::new(AgentConfig::default());
    let asked = greet_and_ask(&mut sim);
    let turns = sim.turns();
    assert_eq!(turns.len(), 1, "{turns:?}");
    let t = &turns[0];
    // The caller's clip is about 2 s: the turn ends after it (the VAD's end, not the clip's).
    let spoke = t.speech_end.saturating_duration_since(asked);
    assert!((MS(800)..S(3)).contains(&spoke), "speech end {spoke:?} after the question began");
    let (f, e, c, a, s) = (
        t.final_transcript.unwrap(),
        t.end_of_turn.unwrap(),
        t.flow_command.unwrap(),
        t.first_tts_audio.unwrap(),
        t.first_audio_sent.unwrap(),
    );
    assert!(f <= e && e <= c && c <= a && a <= s, "{t:?}");
    // No turn model, open question: the flow understands the question (its knowledge base
    // answers it), so a 500 ms pause ends the turn rather than 700 ms; the flow answers at once;
    // the first clause is ready 120 ms later (simulated) and goes out on the next tick.
    assert!(e >= MS(500) && e <= MS(600), "{t:?}");
    assert_eq!(c, e, "{t:?}");
    assert!(s <= a + MS(40), "{t:?}");
    // How fast the simulation ran. Not asserted: the figure depends on what else the machine runs
    // (the model decodes dominate it); the timings above are on the simulated clock and exact.
    let simulated = Duration::from_micros(sim.now.as_micros());
    eprintln!("simulated {simulated:?} of call in {:?} of wall time; {t:?}", t0.elapsed());
}

#[test]
fn caller_speech_over_a_long_answer_stops_it_within_a_frame_and_the_flow_hears_how_much() {
    let mut sim = Sim::new(AgentConfig::default());
    greet_and_ask(&mut sim);
    let interrupt_at = sim.now + MS(1500);
    sim.play(interrupt_at, caller_says("Is there parking?"));
    let said_before = sim.said.len();
    assert!(
        sim.run_until(S(15), |s| s.said.len() > said_before
            && s.all_said().contains("garage behind the building")),
        "the barge-in question was not answered: {} (heard {:?})",
        sim.all_said(),
        sim.finals
    );
    assert!(sim.actions.iter().any(|(_, a)| *a == Action::Clear), "no clear sent: {:?}", sim.actions);
    let b = sim.barge_ins();
    assert_eq!(b.len(), 1, "{b:?}");
    let b = &b[0];
    assert!(!b.dtmf);
    assert!(b.heard_ms >= 1000 && b.heard_ms < b.total_ms, "{b:?}");
    // Held at the onset (the VAD's 64 ms hold, its 32 ms frame and the next 20 ms tick), decided
    // while the caller is still speaking, and silent from the hold on.
    assert!(b.stopped <= MS(150), "{b:?}");
    assert!(b.decided >= MS(300) && b.decided <= MS(1200), "{b:?}");
    let (stopped_at, decided_at) = (b.onset + b.stopped, b.onset + b.decided);
    let after: Vec<bool> = sim
        .sent
        .iter()
        .filter(|(t, _)| *t >= stopped_at && *t <= decided_at + MS(300))
        .map(|(_, a)| *a)
        .collect();
    assert!(!after.is_empty() && after.iter().all(|a| !a), "agent audio after the barge-in: {after:?}");
    // The turn that barged in is timed like any other (the record is complete once its answer's
    // first frame is sent).
    sim.run_until(S(3), |s| s.turns().len() >= 2);
    assert_eq!(sim.turns().len(), 2, "{:?}", sim.turns());
}

#[test]
fn a_cough_and_an_okay_do_not_cut_the_agent_off() {
    let mut sim = Sim::new(AgentConfig::default());
    greet_and_ask(&mut sim);
    let said_before = sim.said.len();
    sim.play(sim.now + MS(800), cough());
    sim.play(sim.now + MS(2500), caller_says("Okay."));
    let start = sim.now;
    sim.run_until(S(4), |_| false);
    assert!(!sim.actions.iter().any(|(_, a)| *a == Action::Clear), "{:?}", sim.actions);
    assert!(sim.barge_ins().is_empty(), "{:?}", sim.barge_ins());
    assert_eq!(sim.said.len(), said_before, "the agent answered a backchannel: {}", sim.all_said());
    // The answer was held while each sound lasted and played on after it, nothing dropped.
    // (The VAD may not take the cough for speech at all: one or two holds.)
    assert!((1..=2).contains(&sim.agent.pauses_resumed()), "held audio did not play on");
    let playing = sim.sent.iter().filter(|(t, a)| *t > start && *a).count();
    assert!(playing >= 100, "only {playing} frames of the answer in 4 s");
    assert!(sim.sent.iter().rev().take(10).all(|(_, a)| *a), "the answer did not play on");
}
