//! One call's record in the store and its figures in the metrics registry.
//!
//! [`CallLog`] turns what the agent reports (its [`Record`]s and [`Timing`]s) and what the shell
//! does (effects, transfers, the end) into the store's call record: `start_call` when the call is
//! answered (caller number, transport, flow name, the published version whose text is the
//! running file's, which the first call publishes when no version has it, and an `event` row
//! with the file's SHA-256), one `append_turn` per
//! timeline row (`caller` with its ASR confidence and `asr_final_ms`/`end_of_turn_ms`, `agent`
//! with `flow_command_ms`/`tts_first_audio_ms`/`first_audio_sent_ms` for the answer to a turn and
//! `heard_ms`/`total_ms` when it was cut, `dtmf`, `transfer`, `event`), and `end_call` with the
//! disposition. Writes go, in order, through one task per call that runs each on a blocking
//! thread, so a slow disk never stalls the audio; a failed write is logged and counted and the
//! call goes on. The first call of a loaded flow version also writes the flow's resources file
//! (providers, appointment types) to the store, as `frontdesk chat` does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use frontdesk_agent::{Record, Timing, TurnTiming};
use frontdesk_api::Metrics;
use frontdesk_store::{Direction, NewCall, Store, StoreError, Turn};
use frontdesk_types::{CallId, Instant, Pii};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::LoadedFlow;
use crate::call::CallInfo;

/// How a call ended (the stored disposition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Disposition {
    CallerHangup,
    AgentHangup,
    Transferred(String),
    OptedOut,
    Error,
}

impl Disposition {
    fn as_string(&self) -> String {
        match self {
            Disposition::CallerHangup => "caller_hangup".into(),
            Disposition::AgentHangup => "agent_hangup".into(),
            Disposition::Transferred(t) => format!("transferred:{t}"),
            Disposition::OptedOut => "opted_out".into(),
            Disposition::Error => "error".into(),
        }
    }
}

enum Write {
    Start(Box<NewCall>, Arc<LoadedFlow>),
    Turn(Turn),
    End(Timestamp, String),
}

/// The call's record and metrics, fed from the per-call task.
pub(super) struct CallLog {
    id: CallId,
    writes: Option<mpsc::UnboundedSender<Write>>,
    metrics: Option<Arc<Metrics>>,
    /// The agent's clock at the start, and the wall clock then.
    t0: Instant,
    wall0: Timestamp,
    next: u32,
    /// Turn timings not yet matched with the agent utterance that answered them.
    timings: BTreeMap<u32, TurnTiming>,
    ended: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The wall clock, once per call.
#[allow(clippy::disallowed_methods, reason = "the shell reads the wall clock once per call for its record")]
pub(super) fn wall_now() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_millisecond(i64::try_from(d.as_millis()).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl CallLog {
    /// Starts the record (if there is a store) and counts the call as started.
    pub(super) fn start(
        store: Option<Arc<dyn Store>>,
        metrics: Option<Arc<Metrics>>,
        info: &CallInfo,
        flow: Arc<LoadedFlow>,
        t0: Instant,
        wall0: Timestamp,
    ) -> CallLog {
        if let Some(m) = &metrics {
            m.call_started(Direction::Inbound.as_str());
        }
        let writes = store.map(|s| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(writer(s, info.id.clone(), rx, metrics.clone()));
            tx
        });
        let mut log = CallLog {
            id: info.id.clone(),
            writes,
            metrics,
            t0,
            wall0,
            next: 0,
            timings: BTreeMap::new(),
            ended: false,
        };
        let call = NewCall {
            id: info.id.clone(),
            direction: Direction::Inbound,
            transport: info.transport.to_string(),
            from: info.from.clone().unwrap_or_else(|| Pii::new(String::new())),
            to: Pii::new(String::new()),
            flow_name: Some(flow.bundle.flow.name.clone()),
            flow_version: None,
            started_at: wall0,
        };
        let text = format!("flow {} sha256 {}", flow.bundle.flow.name, flow.sha256);
        log.send(Write::Start(Box::new(call), flow));
        log.row(t0, "event", text, None, BTreeMap::new());
        log
    }

    fn send(&self, w: Write) {
        if let Some(tx) = &self.writes {
            let _ = tx.send(w);
        }
    }

    /// The wall time of an agent instant.
    fn wall(&self, at: Instant) -> Timestamp {
        let d = at.saturating_duration_since(self.t0);
        self.wall0
            .checked_add(SignedDuration::from_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
            .unwrap_or(self.wall0)
    }

    fn row(
        &mut self,
        at: Instant,
        kind: &str,
        text: String,
        confidence: Option<f32>,
        latencies_ms: BTreeMap<String, u64>,
    ) {
        if self.writes.is_none() || self.ended {
            return;
        }
        let t = Turn {
            index: self.next,
            kind: kind.into(),
            text: Pii::new(text),
            confidence,
            latencies_ms,
            at: self.wall(at),
        };
        self.next += 1;
        self.send(Write::Turn(t));
    }

    /// A record from the agent.
    pub(super) fn record(&mut self, r: Record) {
        match r {
            Record::Caller { text, confidence, speech_end, final_transcript, end_of_turn, .. } => {
                let mut l = BTreeMap::new();
                if let Some(d) = final_transcript {
                    l.insert("asr_final_ms".into(), ms(d));
                }
                if let Some(d) = end_of_turn {
                    l.insert("end_of_turn_ms".into(), ms(d));
                }
                self.row(speech_end, "caller", text.expose().clone(), Some(confidence), l);
            }
            Record::Keys { keys, at } => self.row(at, "dtmf", keys.expose().clone(), None, BTreeMap::new()),
            Record::Agent { text, at, answers, cut, .. } => {
                let mut l = BTreeMap::new();
                if let Some(t) = answers.and_then(|n| self.timings.remove(&n)) {
                    let stages = [
                        ("flow_command_ms", t.flow_command),
                        ("tts_first_audio_ms", t.first_tts_audio),
                        ("first_audio_sent_ms", t.first_audio_sent),
                    ];
                    for (k, v) in stages {
                        if let Some(v) = v {
                            l.insert(k.into(), ms(v));
                        }
                    }
                }
                if let Some((heard, total)) = cut {
                    l.insert("heard_ms".into(), heard);
                    l.insert("total_ms".into(), total);
                }
                self.row(at, "agent", text, None, l);
            }
        }
    }

    /// A timing record from the agent: metrics, and kept for the answer's row.
    pub(super) fn timing(&mut self, t: &Timing) {
        match t {
            Timing::Turn(t) => {
                if let Some(m) = &self.metrics {
                    m.turn(t.first_audio_sent);
                    let stages = [
                        ("final_transcript", t.final_transcript),
                        ("end_of_turn", t.end_of_turn),
                        ("flow_command", t.flow_command),
                        ("first_tts_audio", t.first_tts_audio),
                        ("first_audio_sent", t.first_audio_sent),
                    ];
                    for (stage, d) in stages {
                        if let Some(d) = d {
                            m.turn_stage(stage, d);
                        }
                    }
                }
                // Keep the last few: the answer's row is written when it has been played.
                self.timings.insert(t.turn, t.clone());
                while self.timings.len() > 4 {
                    self.timings.pop_first();
                }
            }
            Timing::BargeIn(b) => {
                if let Some(m) = &self.metrics {
                    m.barge_in();
                    m.barge_in_stopped(b.stopped);
                }
            }
        }
    }

    /// A timeline row the shell adds (`transfer`, `event`).
    pub(super) fn note(&mut self, at: Instant, kind: &str, text: String, took: Option<Duration>) {
        let mut l = BTreeMap::new();
        if let Some(d) = took {
            l.insert("took_ms".into(), ms(d));
        }
        self.row(at, kind, text, None, l);
    }

    /// Counts an error (`asr`, `tts`, `vad`, `store`, `effect`...).
    pub(super) fn error(&self, kind: &str) {
        if let Some(m) = &self.metrics {
            m.error(kind);
        }
    }

    /// Ends the record with `disposition` at `at` and counts the call as ended.
    pub(super) fn end(&mut self, at: Instant, disposition: &Disposition) {
        if self.ended {
            return;
        }
        let d = disposition.as_string();
        info!(call = %self.id, disposition = %d, "call ended");
        self.send(Write::End(self.wall(at), d));
        self.ended = true;
        if let Some(m) = &self.metrics {
            m.call_ended();
        }
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        // A task that stops without `end` (a panic in the loop): the call is still counted out.
        if !self.ended
            && let Some(m) = &self.metrics
        {
            m.call_ended();
        }
    }
}

/// Writes the flow's resources to the store once per loaded version.
fn seed(store: &dyn Store, flow: &LoadedFlow) -> Result<(), StoreError> {
    let Some(res) = &flow.resources else { return Ok(()) };
    if flow.seeded.load(Ordering::Acquire) {
        return Ok(());
    }
    for t in &res.types {
        store.put_appointment_type(t)?;
    }
    for p in &res.providers {
        store.put_resource(p)?;
    }
    flow.seeded.store(true, Ordering::Release);
    info!(providers = res.providers.len(), types = res.types.len(), "flow resources written to the store");
    Ok(())
}

/// The published version the call runs: the one whose text is the flow file's; when none is,
/// the file is saved and published as the flow's next version first (so every call runs, and
/// records, a published version, and `GET /v1/flows/{name}/versions` shows what `serve` runs).
/// Published versions are immutable: the answer is kept for the loaded flow.
fn running_version(store: &dyn Store, flow: &LoadedFlow) -> Option<i64> {
    if let Some(v) = flow.published.get() {
        return Some(*v);
    }
    let v = find_or_publish(store, flow)?;
    Some(*flow.published.get_or_init(|| v))
}

fn find_or_publish(store: &dyn Store, flow: &LoadedFlow) -> Option<i64> {
    let name = &flow.bundle.flow.name;
    let find = || {
        store
            .flow_versions(name)
            .ok()?
            .into_iter()
            .find(|v| v.sha256 == flow.sha256 && v.is_published())
            .map(|v| v.version)
    };
    if let Some(v) = find() {
        return Some(v);
    }
    let now = wall_now();
    match store.save_flow(name, &flow.yaml, now).and_then(|v| store.publish_flow(name, v.version, now)) {
        Ok(v) => {
            info!(flow = %name, version = v.version, "the running flow file was not published: published it");
            Some(v.version)
        }
        // Another call may have published it a moment ago.
        Err(e) => find().or_else(|| {
            warn!(flow = %name, error = %e, "cannot publish the running flow file; the call records no version");
            None
        }),
    }
}

fn apply(store: &dyn Store, id: &CallId, w: Write) -> Result<(), StoreError> {
    match w {
        Write::Start(mut call, flow) => {
            if let Err(e) = seed(store, &flow) {
                warn!(error = %e, "cannot write the flow's resources to the store; scheduling may find nothing");
            }
            call.flow_version = running_version(store, &flow);
            store.start_call(&call)
        }
        Write::Turn(t) => store.append_turn(id, &t),
        Write::End(at, d) => store.end_call(id, at, &d),
    }
}

/// Applies one call's writes in order, each on a blocking thread.
async fn writer(
    store: Arc<dyn Store>,
    id: CallId,
    mut rx: mpsc::UnboundedReceiver<Write>,
    metrics: Option<Arc<Metrics>>,
) {
    let mut started = true;
    while let Some(w) = rx.recv().await {
        let is_start = matches!(w, Write::Start(..));
        if !started && !is_start {
            continue; // the record could not be started: later writes would fail the same way
        }
        let (s, i) = (store.clone(), id.clone());
        let r = tokio::task::spawn_blocking(move || apply(s.as_ref(), &i, w)).await;
        let err = match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = err {
            warn!(call = %id, error = %e, "call record write failed; the call goes on");
            if let Some(m) = &metrics {
                m.error("store");
            }
            if is_start {
                started = false;
            }
        }
    }
}
