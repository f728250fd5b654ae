//! One call's voice loop: a tokio task that moves audio, time and model results between the
//! [`Call`] and the sans-IO [`Agent`].
//!
//! - A 20 ms playout tick on a schedule that never drifts (missed ticks are caught up) sends the
//!   agent's next frame, or silence, so RTP keeps flowing.
//! - Model jobs run on the inference pool, never on the runtime's threads; their results come
//!   back on a channel. VAD frames run on a pool of their own (one thread for every call's
//!   frames: about 0.1 ms each), so a caller's speech onset is never queued behind a decode or
//!   a synthesis that takes hundreds of milliseconds; one call's frames run one batch at a time,
//!   in order (the VAD is stateful). Synthesis streams clause by clause ([`TtsStream`]) in a task
//!   per utterance, aborted (which cancels the clauses not started) when a barge-in drops the
//!   utterance; fixed prompts come from the prompt cache.
//! - A barge-in's `Clear` goes to the transport at once (Twilio drops what it buffered).
//! - Flow effects (scheduling ops, opt-outs, webhooks) run off the runtime threads
//!   (`effects.rs`); while the flow waits for one, silence keeps flowing. Results arriving after
//!   the call ended are dropped.
//! - Live-call control ([`ControlCmd`]: say, transfer, hang up) arrives on an optional channel.
//! - The call record, its timeline and the metrics are fed through `log.rs`; per-turn timings
//!   are also logged at `info` (`turn timing`, `barge-in timing`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use frontdesk_agent::{Action, Agent, Job, Timing, TtsChunk};
use frontdesk_engines::pool::{InferencePool, Priority, Ticket};
use frontdesk_engines::{EndOfTurn, EngineError, Transcript, Vad};
use frontdesk_flow::FlowMachine;
use frontdesk_flow::ast::TransferTarget;
use frontdesk_tts_piper::{StreamOptions, TtsStream};
use frontdesk_types::{Instant, SampleRate};
use frontdesk_voice::UtteranceId;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use super::effects::{self, EffectDone};
use super::log::{CallLog, Disposition, wall_now};
use super::{ControlCmd, LoadedFlow, VoiceApp, VoiceError};
use crate::call::{Call, CallInput, CallOutput};
use crate::clock::Clock;

pub(super) enum Done {
    Vad(Vec<(u64, Result<f32, EngineError>)>),
    Asr(u64, Result<Transcript, EngineError>, Duration),
    Turn(u64, Result<f32, EngineError>),
    Embed(u64, Result<Vec<f32>, EngineError>),
    Tts(UtteranceId, Result<TtsChunk, EngineError>),
    Effect(EffectDone),
}

type Shared<T> = Arc<Mutex<T>>;

struct Shell {
    app: VoiceApp,
    tx: mpsc::UnboundedSender<Done>,
    vad: Shared<Box<dyn Vad>>,
    turn: Option<Shared<Box<dyn EndOfTurn>>>,
    vad_waiting: Vec<(u64, Vec<f32>)>,
    vad_busy: bool,
    tickets: Vec<Ticket<()>>,
    tts: HashMap<UtteranceId, AbortHandle>,
    /// When each utterance's synthesis was asked (for the time to its first audio).
    tts_asked: HashMap<UtteranceId, Instant>,
    clock: Clock,
    log: CallLog,
    disposition: Option<Disposition>,
}

/// Seconds since the Unix epoch: the caller's wall clock for the flow ("tomorrow").
#[allow(clippy::disallowed_methods, reason = "the shell tells the flow the wall time once, at call start")]
fn unix_now() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_secs()).unwrap_or(0)
}

impl Shell {
    fn submit<T: Send + 'static>(
        &mut self,
        job: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
        done: impl FnOnce(Result<T, EngineError>) -> Done + Send + 'static,
    ) {
        self.submit_in(Priority::Urgent, job, done);
    }

    /// As [`Shell::submit`] in the given pool lane: partial transcripts wait behind the work a
    /// caller is waiting for (VAD, finals, synthesis) of every call.
    fn submit_in<T: Send + 'static>(
        &mut self,
        lane: Priority,
        job: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
        done: impl FnOnce(Result<T, EngineError>) -> Done + Send + 'static,
    ) {
        let pool = self.app.engines.pool.clone();
        self.submit_on(&pool, lane, job, done);
    }

    /// As [`Shell::submit_in`] on `pool`.
    fn submit_on<T: Send + 'static>(
        &mut self,
        pool: &InferencePool,
        lane: Priority,
        job: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
        done: impl FnOnce(Result<T, EngineError>) -> Done + Send + 'static,
    ) {
        let tx = self.tx.clone();
        let ticket = pool.submit_in(lane, None, move || {
            let _ = tx.send(done(job()));
            Ok(())
        });
        match ticket.try_take() {
            // Refused (queue full): the job never runs.
            Some(Err(e)) => warn!(error = %e, "inference pool refused a job"),
            _ => self.tickets.push(ticket),
        }
    }

    fn run_vad(&mut self) {
        if self.vad_busy || self.vad_waiting.is_empty() {
            return;
        }
        self.vad_busy = true;
        let batch = std::mem::take(&mut self.vad_waiting);
        let vad = self.vad.clone();
        let pool = self.app.engines.vad_pool.clone();
        self.submit_on(
            &pool,
            Priority::Urgent,
            move || {
                let mut v = vad.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(batch.into_iter().map(|(id, pcm)| (id, v.process(&pcm))).collect::<Vec<_>>())
            },
            |r| Done::Vad(r.unwrap_or_default()),
        );
    }

    fn job(&mut self, job: Job) {
        let e = self.app.engines.clone();
        match job {
            Job::Vad { id, pcm } => {
                self.vad_waiting.push((id, pcm));
                self.run_vad();
            }
            Job::Transcribe(req) => {
                let asr = e.asr.clone();
                let id = req.id;
                let clock = self.clock;
                let lane = if req.partial { Priority::Background } else { Priority::Urgent };
                self.submit_in(
                    lane,
                    move || {
                        let t = clock.now();
                        asr.transcribe(&req.pcm, &req.options)
                            .map(|r| (r, clock.now().saturating_duration_since(t)))
                    },
                    move |r| match r {
                        Ok((t, took)) => Done::Asr(id, Ok(t), took),
                        Err(e) => Done::Asr(id, Err(e), Duration::ZERO),
                    },
                );
            }
            Job::EndOfTurn { id, pcm_16k } => match &self.turn {
                Some(m) => {
                    let m = m.clone();
                    self.submit(
                        move || m.lock().unwrap_or_else(PoisonError::into_inner).predict(&pcm_16k),
                        move |r| Done::Turn(id, r),
                    );
                }
                None => {
                    let _ = self.tx.send(Done::Turn(id, Err(EngineError::Input("no turn model".into()))));
                }
            },
            Job::Embed { id, text } => match &e.embedder {
                Some(m) => {
                    let m = m.clone();
                    // About 10 ms, and the flow's answer waits on it: on the light pool with the
                    // VAD frames, never behind a decode or a synthesis.
                    let pool = self.app.engines.vad_pool.clone();
                    self.submit_on(
                        &pool,
                        Priority::Quick,
                        move || {
                            m.embed(&[text.expose().as_str()])?
                                .pop()
                                .ok_or_else(|| EngineError::Inference("no vector".into()))
                        },
                        move |r| Done::Embed(id, r),
                    );
                }
                None => {
                    let _ = self.tx.send(Done::Embed(id, Err(EngineError::Input("no embedder".into()))));
                }
            },
            Job::Speak { utterance, text } | Job::SpeakAhead { utterance, text } => {
                self.speak(utterance, text)
            }
            // The audio keeps coming under the synthesis's own id; the agent maps it.
            Job::TakeAhead { .. } => {}
            Job::CancelSpeak { utterance } => {
                if let Some(h) = self.tts.remove(&utterance) {
                    h.abort();
                }
            }
        }
    }

    fn speak(&mut self, utterance: UtteranceId, text: String) {
        let e = self.app.engines.clone();
        self.tts_asked.insert(utterance, self.clock.now());
        if let Some(audio) = e.prompts.get(e.tts.name(), &text, SampleRate::Hz8000) {
            let pcm = audio.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect();
            let _ = self.tx.send(Done::Tts(utterance, Ok(TtsChunk { pcm, clause: None, last: true })));
            return;
        }
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            let mut stream = match TtsStream::new(
                e.tts.clone(),
                e.pool.clone(),
                &text,
                StreamOptions::new(SampleRate::Hz8000),
            ) {
                Ok(s) => s,
                Err(err) => {
                    let _ = tx.send(Done::Tts(utterance, Err(err)));
                    return;
                }
            };
            let mut ended = false;
            while let Some(chunk) = stream.next().await {
                let msg = chunk.map(|c| {
                    ended |= c.last;
                    let pcm = c.pcm.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect();
                    TtsChunk { pcm, clause: Some(c.clause), last: c.last }
                });
                ended |= msg.is_err();
                let _ = tx.send(Done::Tts(utterance, msg));
            }
            if !ended {
                let _ =
                    tx.send(Done::Tts(utterance, Ok(TtsChunk { pcm: Vec::new(), clause: None, last: true })));
            }
        });
        self.tts.insert(utterance, task.abort_handle());
    }
}

fn log_timing(call: &str, t: &Timing) {
    let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
    match t {
        Timing::Turn(t) => info!(
            call,
            turn = t.turn,
            final_ms = ms(t.final_transcript),
            end_of_turn_ms = ms(t.end_of_turn),
            flow_ms = ms(t.flow_command),
            first_tts_ms = ms(t.first_tts_audio),
            first_audio_ms = ms(t.first_audio_sent),
            "turn timing (from the caller's end of speech)"
        ),
        Timing::BargeIn(b) => info!(
            call,
            decided_ms = b.decided.as_millis() as u64,
            stopped_ms = b.stopped.as_millis() as u64,
            heard_ms = b.heard_ms,
            total_ms = b.total_ms,
            dtmf = b.dtmf,
            "barge-in timing (from the onset)"
        ),
    }
}

/// Sends what the agent wants sent; false once the call should end.
async fn pump(agent: &mut Agent, shell: &mut Shell, call: &Call) -> bool {
    while let Some(j) = agent.poll_job() {
        shell.job(j);
    }
    let id = call.info.id.to_string();
    while let Some(t) = agent.poll_timing() {
        log_timing(&id, &t);
        shell.log.timing(&t);
    }
    while let Some(r) = agent.poll_record() {
        shell.log.record(r);
    }
    let mut go_on = true;
    while let Some(a) = agent.poll_action() {
        let now = shell.clock.now();
        let out = match a {
            Action::Clear => CallOutput::Clear,
            Action::Hangup => {
                go_on = false;
                shell.disposition.get_or_insert(Disposition::AgentHangup);
                CallOutput::Hangup
            }
            Action::Transfer { target, context } => {
                info!(call = %id, context = context.len(), "transfer");
                match target {
                    TransferTarget::Sip(uri) => {
                        shell.log.note(now, "transfer", uri.clone(), None);
                        shell.disposition.get_or_insert(Disposition::Transferred(uri.clone()));
                        CallOutput::Transfer(uri)
                    }
                    TransferTarget::Queue(q) => {
                        warn!(call = %id, queue = %q, "no queue routing configured: hanging up instead of transferring");
                        shell.log.note(
                            now,
                            "event",
                            format!("transfer to queue {q}: no queue routing, hung up"),
                            None,
                        );
                        shell.disposition.get_or_insert(Disposition::AgentHangup);
                        go_on = false;
                        CallOutput::Hangup
                    }
                }
            }
            Action::OptOut => {
                shell.disposition = Some(Disposition::OptedOut);
                shell.log.note(now, "event", "opt-out".into(), None);
                effects::opt_out(shell.app.store.clone(), call.info.id.clone(), call.info.from.clone());
                continue;
            }
            Action::Effect(e) => {
                effects::run(
                    shell.app.store.clone(),
                    shell.app.effects.clone(),
                    shell.clock,
                    e,
                    shell.tx.clone(),
                );
                continue;
            }
        };
        if call.output.send(out).await.is_err() {
            return false;
        }
    }
    go_on
}

/// What a live-call command does to the agent.
fn control(agent: &mut Agent, shell: &mut Shell, now: Instant, cmd: ControlCmd) {
    match cmd {
        ControlCmd::Say { text, interrupt } => {
            shell.log.note(now, "event", format!("live say (interrupt: {interrupt})"), None);
            agent.say_now(now, &text, interrupt);
        }
        ControlCmd::Transfer(target) => agent.transfer_now(now, TransferTarget::Sip(target)),
        ControlCmd::Hangup => {
            shell.log.note(now, "event", "hang-up by live control".into(), None);
            agent.hangup_now(now);
        }
    }
}

/// An engine result or an effect's outcome, fed to the agent.
fn done(agent: &mut Agent, shell: &mut Shell, now: Instant, done: Done) {
    match done {
        Done::Vad(results) => {
            for (i, r) in results {
                if r.is_err() {
                    shell.log.error("vad");
                }
                agent.handle_vad(now, i, r);
            }
            shell.vad_busy = false;
            shell.run_vad();
        }
        Done::Asr(i, r, took) => {
            if let Some(m) = &shell.app.metrics {
                match &r {
                    Ok(_) => m.asr(took),
                    Err(_) => m.error("asr"),
                }
            }
            agent.handle_transcript(now, i, r);
        }
        Done::Turn(i, r) => agent.handle_end_of_turn(now, i, r),
        Done::Embed(i, r) => agent.handle_embedding(now, i, r),
        Done::Tts(u, r) => {
            match &r {
                Ok(c) if !c.pcm.is_empty() => {
                    if let (Some(asked), Some(m)) = (shell.tts_asked.remove(&u), &shell.app.metrics) {
                        m.tts_first_audio(now.saturating_duration_since(asked));
                    }
                }
                Ok(_) => {}
                Err(_) => shell.log.error("tts"),
            }
            if r.as_ref().map_or(true, |c| c.last) {
                shell.tts.remove(&u);
                shell.tts_asked.remove(&u);
            }
            agent.handle_tts(now, u, r);
        }
        Done::Effect(e) => {
            if e.failed {
                shell.log.error("effect");
            }
            shell.log.note(now, "event", e.note, Some(e.took));
            if let Some(ev) = e.event {
                agent.handle_flow_event(now, e.id, ev);
            }
        }
    }
}

/// The flow a call runs: the published version its parameters name (`flow`, `flow_version`:
/// an originated call), else the flow file's current version.
async fn flow_for(app: &VoiceApp, info: &crate::call::CallInfo) -> Result<Arc<LoadedFlow>, VoiceError> {
    let asked = info.params.get("flow").zip(info.params.get("flow_version"));
    let Some((name, version)) = asked else { return Ok(app.flow.loaded()) };
    let name = name.expose().clone();
    let Ok(version) = version.expose().parse::<i64>() else {
        return Err(VoiceError::Version { name, version: 0, why: "flow_version is not a number".into() });
    };
    let Some(store) = app.store.clone() else {
        return Err(VoiceError::Version { name, version, why: "the gateway runs without a store".into() });
    };
    let (flows, asked) = (app.flow.clone(), name.clone());
    tokio::task::spawn_blocking(move || flows.version(store.as_ref(), &asked, version)).await.unwrap_or_else(
        |e| Err(VoiceError::Version { name, version, why: format!("loading it failed: {e}") }),
    )
}

pub(super) async fn run(app: VoiceApp, mut call: Call, mut control_rx: Option<mpsc::Receiver<ControlCmd>>) {
    let clock = Clock::new();
    let id = call.info.id.to_string();
    let (loaded, refused) = match flow_for(&app, &call.info).await {
        Ok(f) => (f, None),
        Err(e) => (app.flow.loaded(), Some(e)),
    };
    let bundle = loaded.bundle.clone();
    let mut log =
        CallLog::start(app.store.clone(), app.metrics.clone(), &call.info, loaded, clock.now(), wall_now());
    if let Some(e) = refused {
        warn!(call = %id, error = %e, "the call's flow version cannot run: hanging up");
        log.error("flow_version");
        log.end(clock.now(), &Disposition::Error);
        return;
    }
    let tz = bundle.flow.timezone.clone().unwrap_or_else(|| "UTC".into());
    let wall = match frontdesk_flow::convo::wall_from_unix(unix_now(), &tz) {
        Ok(w) => w,
        Err(e) => {
            warn!(call = %id, error = %e, "cannot read the wall clock in the flow's time zone");
            log.end(clock.now(), &Disposition::Error);
            return;
        }
    };
    let mut flow = FlowMachine::new(bundle, wall).with_llm(app.effects.llm_configured());
    if let Some(from) = &call.info.from {
        flow = flow.with_caller(from.clone());
    }
    let vad = match app.engines.vad.create(SampleRate::Hz8000) {
        Ok(v) => v,
        Err(e) => {
            warn!(call = %id, error = %e, "no VAD for the call");
            log.error("vad");
            log.end(clock.now(), &Disposition::Error);
            return;
        }
    };
    let turn = app
        .engines
        .turn
        .as_ref()
        .and_then(|f| f.create().map_err(|e| warn!(error = %e, "no turn model")).ok());
    let mut cfg = app.config.clone();
    cfg.turn_model = turn.is_some();
    cfg.embed = app.engines.embedder.is_some();
    let mut agent = match Agent::new(cfg, flow) {
        Ok(a) => a,
        Err(e) => {
            warn!(call = %id, error = %e, "cannot start the voice loop");
            log.end(clock.now(), &Disposition::Error);
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut shell = Shell {
        app,
        tx,
        vad: Arc::new(Mutex::new(vad)),
        turn: turn.map(|t| Arc::new(Mutex::new(t))),
        vad_waiting: Vec::new(),
        vad_busy: false,
        tickets: Vec::new(),
        tts: HashMap::new(),
        tts_asked: HashMap::new(),
        clock,
        log,
        disposition: None,
    };
    info!(call = %id, "voice agent answering");
    if let Err(e) = agent.start(clock.now()) {
        warn!(call = %id, error = %e, "flow failed to start");
        shell.log.end(clock.now(), &Disposition::Error);
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        if !pump(&mut agent, &mut shell, &call).await {
            break;
        }
        let wake = agent.poll_timeout().map(|t| clock.deadline(t));
        tokio::select! {
            _ = tick.tick() => {
                let frame = agent.poll_frame(clock.now());
                if call.output.send(CallOutput::Audio(frame)).await.is_err() {
                    break;
                }
                shell.tickets.retain(|t| t.try_take().is_none());
            }
            input = call.input.recv() => match input {
                Some(CallInput::Audio(f)) => agent.handle_audio(clock.now(), &f),
                Some(CallInput::Dtmf(d)) => agent.handle_dtmf(clock.now(), d),
                Some(CallInput::Played(_)) => {}
                None | Some(CallInput::Hangup) => break,
            },
            Some(d) = rx.recv() => done(&mut agent, &mut shell, clock.now(), d),
            cmd = async { match &mut control_rx { Some(c) => c.recv().await, None => std::future::pending().await } } => match cmd {
                Some(cmd) => control(&mut agent, &mut shell, clock.now(), cmd),
                None => control_rx = None,
            },
            _ = async { if let Some(w) = wake { tokio::time::sleep_until(w).await } else { std::future::pending().await } } => {
                agent.handle_timeout(clock.now());
            }
        }
    }
    // What was still playing goes into the record with what was heard of it.
    let now = clock.now();
    agent.close(now);
    while let Some(r) = agent.poll_record() {
        shell.log.record(r);
    }
    while let Some(t) = agent.poll_timing() {
        log_timing(&id, &t);
        shell.log.timing(&t);
    }
    let disposition = shell.disposition.take().unwrap_or(Disposition::CallerHangup);
    shell.log.end(now, &disposition);
    for (_, h) in shell.tts.drain() {
        h.abort();
    }
    info!(call = %id, "voice agent done");
}
