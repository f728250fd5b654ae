//! Scenarios, sans-IO: which caller scripts to run (one `Vec<Step>` per call), and what each
//! finished call's record means (per-turn voice-to-voice, premature starts, stops over agent
//! speech, gaps). The driver only runs the scripts and returns [`CallRecord`]s.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::{self, AgentFrame};
use crate::caller::Step;
use crate::clip::{Clip, silence_frame};
use crate::ws::{CallRecord, Ended};

/// Gap that splits the voiced spans written by `--dump`.
pub const JOIN_GAP_MS: f64 = 300.0;

/// Tuning of the scripts and of the decisions on the records.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Agent silence that ends its reply before the caller goes on.
    pub quiet_ms: f64,
    /// How long the caller waits for a reply before going on.
    pub reply_timeout_ms: f64,
    /// How long the agent must have been answering before a clip is played over it.
    pub over_after_ms: f64,
    /// Silence that counts as the agent having stopped.
    pub stop_silence_ms: f64,
    /// A stop counts when the agent's last voiced frame came before the caller's last sound
    /// plus this.
    pub stop_window_ms: f64,
    /// Inter-arrival gap of agent frames that counts as an audio gap.
    pub gap_ms: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            quiet_ms: 1200.0,
            reply_timeout_ms: 30_000.0,
            over_after_ms: 1500.0,
            stop_silence_ms: 600.0,
            stop_window_ms: 1500.0,
            gap_ms: 100.0,
        }
    }
}

/// Deterministic pseudo-random numbers (SplitMix64), so runs are repeatable.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[a, b)`.
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// A clip of digital silence standing in for a caller sound at 500-800 ms (control trials).
pub fn control_clip(ms: u32) -> Arc<Clip> {
    Arc::new(Clip {
        id: "control".into(),
        set: "control".into(),
        split: String::new(),
        sound_start_ms: 500,
        sound_end_ms: 800,
        sound_ms: 0,
        frames: vec![silence_frame(); (ms / 20) as usize],
    })
}

fn wait_reply(s: &Settings) -> Step {
    Step::WaitReply { quiet_ms: s.quiet_ms, timeout_ms: s.reply_timeout_ms }
}

fn play(clip: &Arc<Clip>, tag: &str) -> Step {
    Step::Play { clip: clip.clone(), tag: tag.into() }
}

/// Turn-taking calls: after the greeting, `per_call` turns each (a clip, then the reply).
pub fn turn_calls(clips: &[Arc<Clip>], per_call: usize, tag: &str, s: &Settings) -> Vec<Vec<Step>> {
    clips
        .chunks(per_call.max(1))
        .map(|chunk| {
            let mut steps = vec![wait_reply(s)];
            for c in chunk {
                steps.push(play(c, tag));
                steps.push(wait_reply(s));
            }
            steps
        })
        .collect()
}

/// One booking dialogue per call: the clips in order, each after the agent's reply.
pub fn dialogue_call(clips: &[Arc<Clip>], tag: &str, s: &Settings) -> Vec<Step> {
    turn_calls(clips, clips.len(), tag, s).pop().unwrap_or_default()
}

/// Calls that play `over` clips (one per call) while the agent answers `ask`; `controls` more
/// calls play silence instead (the same decision on them measures stops that no caller caused,
/// e.g. synthesis running late).
pub fn over_calls(ask: &Arc<Clip>, over: &[Arc<Clip>], controls: usize, s: &Settings) -> Vec<Vec<Step>> {
    let control = control_clip(3000);
    let one = |c: &Arc<Clip>, tag: &str| {
        vec![
            wait_reply(s),
            play(ask, "ask"),
            Step::WaitSpeaking { speaking_ms: s.over_after_ms, timeout_ms: s.reply_timeout_ms },
            play(c, tag),
            Step::Silence { ms: 5000.0 },
        ]
    };
    over.iter().map(|c| one(c, "over")).chain((0..controls).map(|_| one(&control, "control"))).collect()
}

/// How load callers behave.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LoadMix {
    /// Share of turns after which the caller talks over the agent's reply (callers cut long
    /// answers short once they have heard enough) instead of waiting for it to end.
    pub interrupt: f64,
    /// The agent's reply plays this long (ms, uniform in the range) before the caller talks over it.
    pub interrupt_after_ms: (f64, f64),
    /// Share of turns in which the caller asks two things in one breath: two clips with a
    /// 250-400 ms gap (shorter than any end-of-turn pause), one turn.
    pub join: f64,
}

impl Default for LoadMix {
    /// Chosen so the callers speak about 40 % of the time with the clinic's FAQ answers (the
    /// issue's load profile); the run reports the share it got.
    fn default() -> LoadMix {
        LoadMix { interrupt: 0.9, interrupt_after_ms: (500.0, 1500.0), join: 0.5 }
    }
}

/// Tag of a load turn the caller began while the agent was answering the last one.
pub const LOAD_OVER: &str = "load-over";
/// Tag of the first clip of a load turn made of two (not a turn of its own).
pub const LOAD_LEAD: &str = "load-lead";

/// One load call's script: after the greeting, turns from `pool` with a random pause before
/// each, enough for `duration_ms`. After a turn the caller either waits for the whole reply or
/// (`mix.interrupt` of the time) lets it play a while and talks over it with the next turn.
pub fn load_call(
    pool: &[Arc<Clip>],
    duration_ms: f64,
    rng: &mut Rng,
    s: &Settings,
    mix: &LoadMix,
) -> Vec<Step> {
    let mut steps = vec![wait_reply(s)];
    let mut t = 0.0;
    let mut over = false;
    while t < duration_ms && !pool.is_empty() {
        let c = &pool[rng.below(pool.len())];
        let pause = rng.range(200.0, 800.0);
        steps.push(Step::Silence { ms: pause });
        let tag = if over { LOAD_OVER } else { "load" };
        if rng.range(0.0, 1.0) < mix.join {
            let gap = rng.range(250.0, 400.0);
            steps.push(play(c, LOAD_LEAD));
            steps.push(Step::Silence { ms: gap });
            t += f64::from(c.duration_ms()) + gap;
            let c = &pool[rng.below(pool.len())];
            steps.push(play(c, tag));
            t += f64::from(c.duration_ms());
        } else {
            steps.push(play(c, tag));
            t += f64::from(c.duration_ms());
        }
        t += pause;
        over = rng.range(0.0, 1.0) < mix.interrupt;
        if over {
            let after = rng.range(mix.interrupt_after_ms.0, mix.interrupt_after_ms.1);
            steps.push(Step::WaitSpeaking { speaking_ms: after, timeout_ms: s.reply_timeout_ms });
            t += after + 1000.0;
        } else {
            steps.push(wait_reply(s));
            t += 3000.0;
        }
    }
    steps
}

/// One caller turn's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Turn {
    /// The step's tag.
    pub tag: String,
    /// Clip id.
    pub clip: String,
    /// Last caller sound -> first voiced agent frame (before the next clip), if the agent spoke.
    pub v2v_ms: Option<f64>,
    /// The agent spoke between the caller's first and last sound.
    pub premature: bool,
    /// The agent was still talking (a late reply to the previous turn) within 1 s before the
    /// caller's first sound, or, for a turn the caller began over the agent's reply
    /// ([`LOAD_OVER`]), in the last 500 ms of the caller's sound: the turn says nothing about
    /// latency or premature starts and is left out of both.
    pub overlap: bool,
    /// No reply, but the record ended less than a reply timeout after the caller's last sound
    /// (the run's time was up): not counted as a missing reply.
    pub cut: bool,
}

/// The turns of `rec` whose tag is in `tags`.
pub fn turns(rec: &CallRecord, tags: &[&str], s: &Settings) -> Vec<Turn> {
    let f: &[AgentFrame] = &rec.frames;
    rec.played
        .iter()
        .enumerate()
        .filter(|(_, p)| tags.contains(&p.tag.as_str()))
        .map(|(i, p)| {
            let next = rec.played.get(i + 1).map_or(rec.end_ms, |n| n.start_ms);
            let v2v_ms = analysis::first_voiced_between(f, p.sound_end_ms, next).map(|t| t - p.sound_end_ms);
            // A turn the caller began over the agent's reply says something only once the agent
            // has stopped: left out when it was still talking in the caller's last 500 ms.
            let overlap = if p.tag == LOAD_OVER {
                analysis::first_voiced_between(f, p.sound_end_ms - 500.0, p.sound_end_ms).is_some()
            } else {
                analysis::first_voiced_between(f, p.sound_start_ms - 1000.0, p.sound_start_ms).is_some()
            };
            let premature_from = if p.tag == LOAD_OVER { p.sound_end_ms - 500.0 } else { p.sound_start_ms };
            Turn {
                tag: p.tag.clone(),
                clip: p.clip.clone(),
                v2v_ms,
                overlap,
                cut: v2v_ms.is_none()
                    && i + 1 == rec.played.len()
                    && rec.end_ms - p.sound_end_ms < s.reply_timeout_ms,
                premature: analysis::first_voiced_between(f, premature_from, p.sound_end_ms).is_some(),
            }
        })
        .collect()
}

/// One clip played over the agent.
#[derive(Clone, Debug, Serialize)]
pub struct Over {
    /// `over` or `control`.
    pub tag: String,
    /// Clip id and set.
    pub clip: String,
    /// Clip set.
    pub set: String,
    /// The agent was speaking at the clip's onset (otherwise the trial says nothing).
    pub speaking_at_onset: bool,
    /// The agent's voice stopped (see [`analysis::stopped`]): it went silent after the onset.
    pub silenced: bool,
    /// The agent dropped its answer: it went silent and the server sent `clear` (a barge-in).
    pub stopped: bool,
    /// It went silent without a `clear`: the server held its audio and played it on.
    pub held: bool,
    /// How long a held answer stayed silent, ms.
    pub hold_ms: Option<f64>,
    /// Caller's first sound -> arrival of the agent's last voiced frame, when it stopped.
    pub onset_to_last_ms: Option<f64>,
    /// Caller's first sound -> `clear`, if one came before the decision window ended.
    pub onset_to_clear_ms: Option<f64>,
    /// `clear` -> arrival of the agent's last voiced frame (negative: it was already silent).
    pub clear_to_last_ms: Option<f64>,
}

/// The clips of `rec` played over the agent.
pub fn overs(rec: &CallRecord, s: &Settings) -> Vec<Over> {
    let f = &rec.frames;
    rec.played
        .iter()
        .filter(|p| p.tag == "over" || p.tag == "control")
        .map(|p| {
            let (on, end) = (p.sound_start_ms, p.sound_end_ms);
            let speaking = analysis::first_voiced_between(f, on - 200.0, on + 20.0).is_some();
            let stop = analysis::stopped(f, on, end, s.stop_window_ms, s.stop_silence_ms, rec.end_ms);
            let clear = rec.clears.iter().copied().find(|&c| c >= on - 20.0 && c < end + s.stop_window_ms);
            Over {
                tag: p.tag.clone(),
                clip: p.clip.clone(),
                set: p.set.clone(),
                speaking_at_onset: speaking,
                silenced: stop.is_some(),
                stopped: stop.is_some() && clear.is_some(),
                held: stop.is_some() && clear.is_none(),
                hold_ms: stop.filter(|_| clear.is_none()).map(|x| x.silence_ms),
                onset_to_last_ms: stop.map(|x| x.last_voiced_ms - on),
                onset_to_clear_ms: clear.map(|c| c - on),
                clear_to_last_ms: clear.zip(stop).map(|(c, x)| x.last_voiced_ms - c),
            }
        })
        .collect()
}

/// Audio continuity and outcome of one call.
#[derive(Clone, Debug, Serialize)]
pub struct CallHealth {
    /// Agent frames received.
    pub frames: usize,
    /// Inter-arrival gaps longer than the threshold.
    pub gaps: usize,
    /// The longest inter-arrival time, ms.
    pub max_gap_ms: f64,
    /// The server ended the call before the caller did, other than by the agent hanging up
    /// (close code 1000), or the socket failed.
    pub dropped: bool,
    /// The agent hung up (the flow ended the call, or handed it over where it cannot).
    pub agent_ended: bool,
    /// Caller sound / call length.
    pub caller_share: f64,
    /// 99th percentile of how late the caller's frames were sent, ms.
    pub send_late_p99_ms: f64,
}

/// Continuity and outcome of `rec`.
pub fn health(rec: &CallRecord, s: &Settings) -> CallHealth {
    let g = analysis::gaps(&rec.frames, s.gap_ms);
    let max_gap = rec.frames.windows(2).map(|w| w[1].at_ms - w[0].at_ms).fold(0.0, f64::max);
    let sound: f64 = rec.played.iter().map(|p| p.sound_ms).sum();
    let mut late = rec.lateness.clone();
    late.sort_by(f64::total_cmp);
    let p99 = late
        .get(((late.len() as f64 * 0.99) as usize).min(late.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    CallHealth {
        frames: rec.frames.len(),
        gaps: g.len(),
        max_gap_ms: max_gap,
        dropped: !matches!(rec.ended, Ended::Caller | Ended::AgentHungUp),
        agent_ended: rec.ended == Ended::AgentHungUp,
        caller_share: if rec.end_ms > 0.0 { sound / rec.end_ms } else { 0.0 },
        send_late_p99_ms: p99,
    }
}

/// Clips by set.
pub type Sets = HashMap<String, Vec<Arc<Clip>>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Played;

    fn rec(voiced: &[(f64, f64)], end: f64, played: Vec<Played>, clears: Vec<f64>) -> CallRecord {
        let frames = (0..(end / 20.0) as usize)
            .map(|i| {
                let t = i as f64 * 20.0;
                AgentFrame { at_ms: t, voiced: voiced.iter().any(|&(a, b)| t >= a && t < b) }
            })
            .collect();
        CallRecord {
            id: "CA1".into(),
            frames,
            clears,
            played,
            timeouts: Vec::new(),
            lateness: vec![0.0; (end / 20.0) as usize],
            end_ms: end,
            ended: Ended::Caller,
            connect_ms: 1.0,
        }
    }

    fn played(tag: &str, start: f64, s: f64, e: f64) -> Played {
        Played {
            tag: tag.into(),
            clip: "c".into(),
            set: "s".into(),
            start_ms: start,
            sound_start_ms: s,
            sound_end_ms: e,
            end_ms: e + 2500.0,
            sound_ms: e - s,
        }
    }

    #[test]
    fn turn_latency_and_premature_starts() {
        // Greeting 0-3 s; the caller speaks 4.6-6 s; the agent answers at 6.7 s.
        let r = rec(
            &[(0.0, 3000.0), (6700.0, 9000.0)],
            12_000.0,
            vec![played("turn", 4000.0, 4600.0, 6000.0)],
            vec![],
        );
        let s = Settings::default();
        let t = turns(&r, &["turn"], &s);
        assert_eq!(t[0].v2v_ms, Some(700.0));
        assert!(!t[0].premature);
        // An answer that starts during a mid-sentence pause is premature.
        let r = rec(
            &[(0.0, 3000.0), (5000.0, 6000.0)],
            12_000.0,
            vec![played("pause", 4000.0, 4600.0, 7000.0)],
            vec![],
        );
        assert!(turns(&r, &["pause"], &s)[0].premature);
        assert_eq!(turns(&r, &["turn"], &s).len(), 0);
        // A late reply to the previous turn still playing when the caller starts: left out.
        let r = rec(&[(0.0, 4700.0)], 12_000.0, vec![played("pause", 4000.0, 4600.0, 7000.0)], vec![]);
        let t = &turns(&r, &["pause"], &s)[0];
        assert!(t.overlap && t.premature);
    }

    #[test]
    fn a_turn_begun_over_the_reply_counts_once_the_agent_has_stopped() {
        let s = Settings::default();
        // The agent answers 2-3.9 s; the caller talks over it 3.4-6 s; the agent answers at 6.8 s.
        let r = rec(
            &[(2000.0, 3900.0), (6800.0, 8000.0)],
            12_000.0,
            vec![played(LOAD_OVER, 3000.0, 3400.0, 6000.0)],
            vec![],
        );
        let t = &turns(&r, &["load", LOAD_OVER], &s)[0];
        assert!(!t.overlap && !t.premature);
        assert_eq!(t.v2v_ms, Some(800.0));
        // The agent never stopped: left out, whatever came after.
        let r = rec(&[(2000.0, 9000.0)], 12_000.0, vec![played(LOAD_OVER, 3000.0, 3400.0, 6000.0)], vec![]);
        assert!(turns(&r, &[LOAD_OVER], &s)[0].overlap);
        // The same start counted as an ordinary turn would be left out from the beginning.
        let r = rec(
            &[(2000.0, 3900.0), (6800.0, 8000.0)],
            12_000.0,
            vec![played("load", 3000.0, 3400.0, 6000.0)],
            vec![],
        );
        assert!(turns(&r, &["load"], &s)[0].overlap);
    }

    #[test]
    fn load_callers_talk_over_replies_as_often_as_asked() {
        let s = Settings::default();
        let c = control_clip(3000);
        let count = |mix: LoadMix| {
            let steps = load_call(std::slice::from_ref(&c), 600_000.0, &mut Rng::new(1), &s, &mix);
            let overs =
                steps.iter().filter(|st| matches!(st, Step::Play { tag, .. } if tag == LOAD_OVER)).count();
            let plays = steps.iter().filter(|st| matches!(st, Step::Play { .. })).count();
            (overs, plays)
        };
        let (overs, plays) = count(LoadMix { interrupt: 0.0, join: 0.0, ..LoadMix::default() });
        assert_eq!(overs, 0);
        assert!(plays > 50);
        let (overs, plays) = count(LoadMix { join: 0.0, ..LoadMix::default() });
        let share = overs as f64 / plays as f64;
        assert!((0.8..0.97).contains(&share), "{overs} of {plays}");
        // Joined turns: a lead clip, a short gap, then the turn's clip.
        let steps = load_call(std::slice::from_ref(&c), 600_000.0, &mut Rng::new(2), &s, &LoadMix::default());
        let leads: Vec<usize> = (0..steps.len())
            .filter(|&i| matches!(&steps[i], Step::Play { tag, .. } if tag == LOAD_LEAD))
            .collect();
        assert!(leads.len() > 20, "{} joined turns", leads.len());
        for i in leads {
            assert!(matches!(steps[i + 1], Step::Silence { ms } if (250.0..400.0).contains(&ms)));
            assert!(matches!(&steps[i + 2], Step::Play { tag, .. } if tag != LOAD_LEAD));
        }
    }

    #[test]
    fn a_barge_in_stops_the_agent_and_a_backchannel_does_not() {
        let s = Settings::default();
        // The agent answers 2-12 s; the caller interrupts at 4 s (sound to 4.4 s); the agent's
        // last frame is at 4.5 s, clear at 4.49 s, and it answers the interruption at 6 s.
        let r = rec(
            &[(2000.0, 4520.0), (6000.0, 8000.0)],
            10_000.0,
            vec![played("over", 3400.0, 4000.0, 4400.0)],
            vec![4490.0],
        );
        let o = &overs(&r, &s)[0];
        assert!(o.speaking_at_onset && o.stopped);
        assert_eq!(o.onset_to_last_ms, Some(500.0));
        assert_eq!(o.onset_to_clear_ms, Some(490.0));
        assert_eq!(o.clear_to_last_ms, Some(10.0));
        // The agent keeps talking over a backchannel.
        let r = rec(&[(2000.0, 12_000.0)], 14_000.0, vec![played("over", 3400.0, 4000.0, 4400.0)], vec![]);
        let o = &overs(&r, &s)[0];
        assert!(o.speaking_at_onset && !o.stopped && !o.held && o.onset_to_clear_ms.is_none());
        // Held over a cough: silent from 4.1 s, played on at 5.3 s, no clear.
        let r = rec(
            &[(2000.0, 4100.0), (5300.0, 12_000.0)],
            14_000.0,
            vec![played("over", 3400.0, 4000.0, 4300.0)],
            vec![],
        );
        let o = &overs(&r, &s)[0];
        assert!(o.silenced && o.held && !o.stopped, "{o:?}");
        assert_eq!(o.hold_ms, Some(1200.0));
    }

    #[test]
    fn health_counts_gaps_and_caller_share() {
        let s = Settings::default();
        let mut r = rec(&[], 10_000.0, vec![played("load", 0.0, 1000.0, 5000.0)], vec![]);
        r.frames.retain(|f| !(f.at_ms > 2000.0 && f.at_ms < 2200.0));
        let h = health(&r, &s);
        assert_eq!((h.gaps, h.max_gap_ms), (1, 200.0));
        assert!((h.caller_share - 0.4).abs() < 1e-9);
        assert!(!h.dropped);
    }

    #[test]
    fn scripts() {
        let s = Settings::default();
        let c = control_clip(1000);
        let calls = turn_calls(&[c.clone(), c.clone(), c.clone()], 2, "turn", &s);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].len(), 5);
        assert_eq!(over_calls(&c, std::slice::from_ref(&c), 2, &s).len(), 3);
        let mut rng = Rng::new(1);
        assert!(load_call(&[c], 60_000.0, &mut rng, &s, &LoadMix::default()).len() > 10);
        assert!((0..100).all(|_| (2.0..3.0).contains(&rng.range(2.0, 3.0))));
    }
}
