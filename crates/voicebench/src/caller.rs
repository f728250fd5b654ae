//! The simulated caller, sans-IO: a script of steps (play a clip, stay silent, wait for the
//! agent to answer, wait until the agent has been talking for a while) turned into one 20 ms
//! frame per tick. It is told what the agent sent ([`Caller::on_agent_frame`]) and the time, and
//! reports when each clip started ([`Played`]) and which waits gave up.
//!
//! Time: the caller's frame `k` carries stream milliseconds `[20k, 20k + 20)` and is sent at
//! `20(k + 1)` (when its last sample would have been recorded), so a stream millisecond is a
//! millisecond of the call's time line; the driver corrects for late sends.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use crate::clip::{Clip, silence_frame};

/// Voiced agent frames closer than this belong to one stretch of agent speech.
pub const JOIN_MS: f64 = 300.0;

/// One thing the caller does.
#[derive(Clone, Debug)]
pub enum Step {
    /// Wait until the agent starts speaking after this step began (or after the last sound of
    /// the clip just played) and is then silent for `quiet_ms`; give up after `timeout_ms`.
    WaitReply {
        /// Silence that ends the agent's reply.
        quiet_ms: f64,
        /// Give up after this long.
        timeout_ms: f64,
    },
    /// Wait until the agent, having started after this step began, has been speaking for
    /// `speaking_ms`; give up after `timeout_ms`.
    WaitSpeaking {
        /// Speech needed.
        speaking_ms: f64,
        /// Give up after this long.
        timeout_ms: f64,
    },
    /// Send silence.
    Silence {
        /// How long.
        ms: f64,
    },
    /// Play a clip.
    Play {
        /// The clip.
        clip: Arc<Clip>,
        /// What the clip is for (the scenario's label, e.g. `turn`, `over`).
        tag: String,
    },
}

/// A clip the caller played, in stream milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Played {
    /// The step's tag.
    pub tag: String,
    /// Clip id.
    pub clip: String,
    /// Clip set.
    pub set: String,
    /// Stream time of the clip's first sample.
    pub start_ms: f64,
    /// Stream time of the caller's first sound.
    pub sound_start_ms: f64,
    /// Stream time of the caller's last sound.
    pub sound_end_ms: f64,
    /// Stream time just after the clip's last sample.
    pub end_ms: f64,
    /// Caller sound in the clip (speech and noise).
    pub sound_ms: f64,
}

/// A wait that gave up.
#[derive(Clone, Debug, Serialize)]
pub struct TimedOut {
    /// Which wait (`reply` or `speaking`).
    pub wait: &'static str,
    /// When it began.
    pub from_ms: f64,
}

/// The agent's speech as the caller hears it.
#[derive(Clone, Copy, Debug, Default)]
struct Activity {
    last_voiced: Option<f64>,
    run_start: Option<f64>,
}

impl Activity {
    fn frame(&mut self, at: f64, voiced: bool) {
        if !voiced {
            return;
        }
        match self.last_voiced {
            Some(l) if at - l <= JOIN_MS => {}
            _ => self.run_start = Some(at),
        }
        self.last_voiced = Some(at);
    }
}

/// The scripted caller.
#[derive(Debug)]
pub struct Caller {
    steps: VecDeque<Step>,
    step_started: Option<f64>,
    frame_in_clip: usize,
    agent: Activity,
    silence: Vec<u8>,
    /// Clips started so far.
    pub played: Vec<Played>,
    /// Waits that gave up.
    pub timeouts: Vec<TimedOut>,
}

impl Caller {
    /// A caller that will run `steps` in order.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Caller {
        Caller {
            steps: steps.into_iter().collect(),
            step_started: None,
            frame_in_clip: 0,
            agent: Activity::default(),
            silence: silence_frame(),
            played: Vec::new(),
            timeouts: Vec::new(),
        }
    }

    /// An agent frame arrived at `at_ms`.
    pub fn on_agent_frame(&mut self, at_ms: f64, voiced: bool) {
        self.agent.frame(at_ms, voiced);
    }

    /// Every step has run.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty()
    }

    fn next_step(&mut self) {
        self.steps.pop_front();
        self.step_started = None;
        self.frame_in_clip = 0;
    }

    /// The frame `k` (stream `[20k, 20k + 20)`), decided at `now_ms` (the time line, about
    /// `20(k + 1)`): mu-law bytes to send.
    pub fn frame(&mut self, k: u64, now_ms: f64) -> &[u8] {
        let stream = k as f64 * 20.0;
        loop {
            let Some(step) = self.steps.front() else { return &self.silence };
            let began = *self.step_started.get_or_insert(now_ms);
            let a = self.agent;
            // The agent may start answering during the tail of the caller's clip (line noise
            // after the last sound), before this step began.
            let from = self.played.last().map_or(began, |p| p.sound_end_ms.min(began));
            let spoke_since = a.run_start.filter(|&s| s >= from - 20.0);
            match step {
                Step::WaitReply { quiet_ms, timeout_ms } => {
                    let replied =
                        spoke_since.is_some() && a.last_voiced.is_some_and(|l| now_ms - l >= *quiet_ms);
                    if replied {
                        self.next_step();
                    } else if now_ms - began >= *timeout_ms {
                        self.timeouts.push(TimedOut { wait: "reply", from_ms: began });
                        self.next_step();
                    } else {
                        return &self.silence;
                    }
                }
                Step::WaitSpeaking { speaking_ms, timeout_ms } => {
                    let talking = spoke_since.is_some_and(|s| {
                        a.last_voiced.is_some_and(|l| now_ms - l <= JOIN_MS) && now_ms - s >= *speaking_ms
                    });
                    if talking {
                        self.next_step();
                    } else if now_ms - began >= *timeout_ms {
                        self.timeouts.push(TimedOut { wait: "speaking", from_ms: began });
                        self.next_step();
                    } else {
                        return &self.silence;
                    }
                }
                Step::Silence { ms } => {
                    if now_ms - began >= *ms {
                        self.next_step();
                    } else {
                        return &self.silence;
                    }
                }
                Step::Play { clip, tag } => {
                    let i = self.frame_in_clip;
                    if i >= clip.frames.len() {
                        self.next_step();
                        continue;
                    }
                    if i == 0 {
                        self.played.push(Played {
                            tag: tag.clone(),
                            clip: clip.id.clone(),
                            set: clip.set.clone(),
                            start_ms: stream,
                            sound_start_ms: stream + f64::from(clip.sound_start_ms),
                            sound_end_ms: stream + f64::from(clip.sound_end_ms),
                            end_ms: stream + f64::from(clip.duration_ms()),
                            sound_ms: f64::from(clip.sound_ms),
                        });
                    }
                    self.frame_in_clip += 1;
                    // Re-borrow: the match above borrowed `self.steps`.
                    if let Some(Step::Play { clip, .. }) = self.steps.front() {
                        return &clip.frames[i];
                    }
                    return &self.silence;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::to_frames;

    fn clip(ms: usize) -> Arc<Clip> {
        Arc::new(Clip {
            id: "c".into(),
            set: "s".into(),
            split: "dev".into(),
            sound_start_ms: 100,
            sound_end_ms: 300,
            sound_ms: 200,
            frames: to_frames(&vec![1000; ms * 8]),
        })
    }

    /// Runs the caller against an agent voiced in `spans` (ms) until `to`; returns the stream
    /// times of the frames that carried clip audio.
    fn run(c: &mut Caller, spans: &[(f64, f64)], to: u64) -> Vec<f64> {
        let silence = silence_frame();
        let mut sent = Vec::new();
        for k in 0..to {
            let now = (k + 1) as f64 * 20.0;
            c.on_agent_frame(now, spans.iter().any(|&(a, b)| now >= a && now < b));
            if c.frame(k, now) != silence.as_slice() {
                sent.push(k as f64 * 20.0);
            }
        }
        sent
    }

    #[test]
    fn waits_for_the_reply_to_end_then_plays() {
        let mut c = Caller::new([
            Step::WaitReply { quiet_ms: 500.0, timeout_ms: 10_000.0 },
            Step::Play { clip: clip(400), tag: "turn".into() },
        ]);
        let sent = run(&mut c, &[(200.0, 1000.0)], 200);
        // The agent's last voiced frame arrives at 980; 500 ms later (at 1480, when frame 73
        // is decided) the clip starts in that frame, stream 1460.
        assert_eq!(sent.first().copied(), Some(1460.0));
        assert_eq!(sent.len(), 20);
        assert_eq!(c.played[0].sound_end_ms, 1760.0);
        assert!(c.is_done() && c.timeouts.is_empty());
    }

    #[test]
    fn plays_over_the_agent_once_it_has_talked_long_enough() {
        let mut c = Caller::new([
            Step::WaitSpeaking { speaking_ms: 1000.0, timeout_ms: 10_000.0 },
            Step::Play { clip: clip(200), tag: "over".into() },
        ]);
        let sent = run(&mut c, &[(500.0, 5000.0)], 300);
        assert_eq!(sent.first().copied(), Some(1480.0));
    }

    #[test]
    fn a_wait_gives_up() {
        let mut c = Caller::new([
            Step::WaitReply { quiet_ms: 500.0, timeout_ms: 1000.0 },
            Step::Silence { ms: 100.0 },
        ]);
        run(&mut c, &[], 100);
        assert_eq!(c.timeouts.len(), 1);
        assert!(c.is_done());
    }
}
