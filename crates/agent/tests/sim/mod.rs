//! A deterministic call simulation for the agent: the real engines (Silero VAD, Whisper tiny.en,
//! Piper joe) run inline, their results are delivered after fixed simulated latencies, and the
//! clock advances 20 ms per playout tick. Scripted caller audio is mixed in at given times.
//! Nothing sleeps; a call of a minute runs in a few seconds of CPU.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use frontdesk_agent::{Action, Agent, AgentConfig, Job, Timing, TtsChunk};
use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber};
use frontdesk_engines::{EngineError, Transcriber, Transcript, Vad, split_clauses};
use frontdesk_flow::{Bundle, FlowMachine};
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::{PiperVoice, StreamOptions, synthesize_text};
use frontdesk_types::{Instant, SampleRate};
use frontdesk_vad_silero::SileroFactory;
use frontdesk_voice::UtteranceId;

/// The workspace's models directory (or `FRONTDESK_MODELS`).
pub fn models_dir() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"), PathBuf::from)
}

/// The engines, loaded once per test binary.
pub struct Engines {
    pub vad: SileroFactory,
    pub asr: WhisperTranscriber,
    pub tts: PiperVoice,
}

pub fn engines() -> &'static Engines {
    static E: OnceLock<Engines> = OnceLock::new();
    E.get_or_init(|| {
        let hint = "(these tests need the models: run `frontdesk models fetch`)";
        let paths = ModelPaths::new(models_dir()).unwrap_or_else(|e| panic!("{e} {hint}"));
        Engines {
            vad: SileroFactory::load(&paths).unwrap_or_else(|e| panic!("{e} {hint}")),
            asr: WhisperTranscriber::load(WhisperModel::TinyEn, &models_dir())
                .unwrap_or_else(|e| panic!("{e} {hint}")),
            tts: PiperVoice::load(&paths).unwrap_or_else(|e| panic!("{e} {hint}")),
        }
    })
}

/// `text` spoken by Piper at 8 kHz: the scripted caller.
pub fn caller_says(text: &str) -> Vec<i16> {
    let pcm = synthesize_text(&engines().tts, text, &StreamOptions::new(SampleRate::Hz8000)).unwrap();
    to_i16(&pcm)
}

pub fn to_i16(pcm: &[f32]) -> Vec<i16> {
    pcm.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect()
}

/// A cough-like noise: 150 ms of decaying broadband noise (deterministic).
pub fn cough() -> Vec<i16> {
    let mut x: u32 = 0x1234_5678;
    (0..1200)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let env = (-(i as f32) / 300.0).exp();
            ((x as i32 >> 16) as f32 * env * 0.6) as i16
        })
        .collect()
}

/// Simulated model latencies (what a loaded 2-core machine shows, roughly).
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub asr_ms: u64,
    pub tts_first_ms: u64,
    pub tts_clause_ms: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency { asr_ms: 150, tts_first_ms: 120, tts_clause_ms: 150 }
    }
}

enum Done {
    Asr(u64, Result<Transcript, EngineError>),
    Tts(UtteranceId, TtsChunk),
}

/// One simulated call.
pub struct Sim {
    pub agent: Agent,
    pub now: Instant,
    vad: Box<dyn Vad>,
    latency: Latency,
    due: BTreeMap<(Instant, u64), Done>,
    seq: u64,
    /// Caller clips: start time and samples.
    script: Vec<(Instant, Vec<i16>)>,
    /// Every frame the agent sent, with its time, and whether it held agent audio.
    pub sent: Vec<(Instant, bool)>,
    /// What the agent was asked to say, with when.
    pub said: Vec<(Instant, String)>,
    pub actions: Vec<(Instant, Action)>,
    pub timings: Vec<Timing>,
    /// Audio of the agent as heard by the caller (8 kHz), for transcription.
    pub heard: Vec<i16>,
    /// Final transcripts of the caller's speech.
    pub finals: Vec<String>,
}

pub fn clinic() -> Arc<Bundle> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/clinic.yaml");
    Arc::new(Bundle::load(&path).unwrap())
}

impl Sim {
    pub fn new(cfg: AgentConfig) -> Sim {
        let bundle = clinic();
        let wall = frontdesk_flow::convo::parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        let flow = FlowMachine::new(bundle, wall);
        let mut agent = Agent::new(cfg, flow).unwrap();
        agent.start(Instant::ZERO).unwrap();
        let mut sim = Sim {
            agent,
            now: Instant::ZERO,
            vad: engines().vad.vad(SampleRate::Hz8000).map(|v| Box::new(v) as Box<dyn Vad>).unwrap(),
            latency: Latency::default(),
            due: BTreeMap::new(),
            seq: 0,
            script: Vec::new(),
            sent: Vec::new(),
            said: Vec::new(),
            actions: Vec::new(),
            timings: Vec::new(),
            heard: Vec::new(),
            finals: Vec::new(),
        };
        sim.drain();
        sim
    }

    /// The caller says `pcm` starting at `at`.
    pub fn play(&mut self, at: Instant, pcm: Vec<i16>) {
        self.script.push((at, pcm));
    }

    fn caller_frame(&self, start: Instant) -> Vec<i16> {
        let mut f = vec![0i16; 160];
        for (at, pcm) in &self.script {
            if start < *at {
                continue;
            }
            let off = ((start - *at).as_micros() / 125) as usize;
            for (i, s) in f.iter_mut().enumerate() {
                if let Some(v) = pcm.get(off + i) {
                    *s = s.saturating_add(*v);
                }
            }
        }
        f
    }

    fn schedule(&mut self, after_ms: u64, d: Done) {
        self.seq += 1;
        self.due.insert((self.now + Duration::from_millis(after_ms), self.seq), d);
    }

    fn drain(&mut self) {
        loop {
            let mut any = false;
            while let Some(job) = self.agent.poll_job() {
                any = true;
                self.run(job);
            }
            while let Some(a) = self.agent.poll_action() {
                self.actions.push((self.now, a));
            }
            while let Some(t) = self.agent.poll_timing() {
                self.timings.push(t);
            }
            if !any {
                break;
            }
        }
    }

    fn run(&mut self, job: Job) {
        let e = engines();
        match job {
            Job::Vad { id, pcm } => {
                let p = self.vad.process(&pcm);
                self.agent.handle_vad(self.now, id, p);
            }
            Job::Transcribe(req) => {
                let r = e.asr.transcribe(&req.pcm, &req.options);
                if let (false, Ok(t)) = (req.partial, &r) {
                    self.finals.push(t.text.clone());
                }
                self.schedule(self.latency.asr_ms, Done::Asr(req.id, r));
            }
            // A reply synthesised ahead is said only once the agent takes it up.
            Job::TakeAhead { text, .. } => self.said.push((self.now, text)),
            Job::SpeakAhead { utterance, text } => self.synthesise(utterance, &text),
            Job::Speak { utterance, text } => {
                self.synthesise(utterance, &text);
                self.said.push((self.now, text));
            }
            Job::CancelSpeak { utterance } => {
                self.due.retain(|_, d| !matches!(d, Done::Tts(u, _) if *u == utterance));
            }
            Job::EndOfTurn { id, .. } => self.agent.handle_end_of_turn(self.now, id, Ok(0.9)),
            Job::Embed { id, .. } => {
                self.agent.handle_embedding(self.now, id, Err(EngineError::Input("no model".into())))
            }
        }
    }

    /// Piper synthesis of `text`, clause by clause, delivered after the simulated latencies.
    fn synthesise(&mut self, utterance: UtteranceId, text: &str) {
        let clauses = split_clauses(text);
        let n = clauses.len();
        let opts = StreamOptions::new(SampleRate::Hz8000);
        for (i, c) in clauses.into_iter().enumerate() {
            let pcm = to_i16(&synthesize_text(&engines().tts, &c, &opts).unwrap());
            let after = self.latency.tts_first_ms + self.latency.tts_clause_ms * i as u64;
            let chunk = TtsChunk { pcm, clause: Some(c), last: i + 1 == n };
            self.schedule(after, Done::Tts(utterance, chunk));
        }
        if n == 0 {
            self.schedule(0, Done::Tts(utterance, TtsChunk { pcm: vec![], clause: None, last: true }));
        }
    }

    /// Advances one 20 ms tick.
    pub fn tick(&mut self) {
        let frame = self.caller_frame(self.now);
        self.now += Duration::from_millis(20);
        self.agent.handle_audio(self.now, &frame);
        self.drain();
        let ready: Vec<(Instant, u64)> = self.due.range(..=(self.now, u64::MAX)).map(|(k, _)| *k).collect();
        for k in ready {
            if let Some(d) = self.due.remove(&k) {
                match d {
                    Done::Asr(id, r) => self.agent.handle_transcript(self.now, id, r),
                    Done::Tts(u, c) => self.agent.handle_tts(self.now, u, Ok(c)),
                }
                self.drain();
            }
        }
        if self.agent.poll_timeout().is_some_and(|t| t <= self.now) {
            self.agent.handle_timeout(self.now);
            self.drain();
        }
        let out = self.agent.poll_frame(self.now);
        let audio = out.iter().any(|&s| s != 0);
        self.sent.push((self.now, audio));
        self.heard.extend_from_slice(&out);
        self.drain();
    }

    /// Ticks until `cond` holds or `limit` of simulated time passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if cond(self) {
                return true;
            }
            self.tick();
        }
        cond(self)
    }

    /// Whether the agent has sent no audio for `ms`.
    pub fn quiet_for(&self, ms: u64) -> bool {
        let n = (ms / 20) as usize;
        self.sent.len() >= n && self.sent.iter().rev().take(n).all(|(_, a)| !a)
    }

    /// Everything the agent was asked to say, joined.
    pub fn all_said(&self) -> String {
        self.said.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(" | ")
    }

    pub fn turns(&self) -> Vec<frontdesk_agent::TurnTiming> {
        self.timings
            .iter()
            .filter_map(|t| if let Timing::Turn(t) = t { Some(t.clone()) } else { None })
            .collect()
    }

    pub fn barge_ins(&self) -> Vec<frontdesk_agent::BargeInTiming> {
        self.timings
            .iter()
            .filter_map(|t| if let Timing::BargeIn(b) = t { Some(b.clone()) } else { None })
            .collect()
    }
}
