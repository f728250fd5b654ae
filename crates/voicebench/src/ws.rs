//! The network driver: one Twilio Media Streams WebSocket per call. It sends `connected`,
//! `start`, then one `media` message per 20 ms on a schedule that never drifts (late ticks are
//! caught up, and each frame's lateness is recorded), and `stop` at the end; it records the
//! arrival time and level of every agent `media` frame and every `clear`. What the caller says
//! is decided by the sans-IO [`Caller`]; what it all means by [`crate::analysis`].

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::analysis::{AgentFrame, VOICED_DB, level_db};
use crate::caller::{Caller, Played, TimedOut};
use crate::error::BenchError;

/// The one place the benchmark reads the clock.
#[allow(clippy::disallowed_methods, reason = "the network driver timestamps frames on the wall clock")]
pub fn now() -> Instant {
    Instant::now()
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// The caller's script ran out or the time was up; the caller sent `stop`.
    Caller,
    /// The agent ended the call: the server closed the WebSocket with code 1000 (a hang-up the
    /// flow decided, or a transfer the gateway cannot make on this transport).
    AgentHungUp,
    /// The server closed the WebSocket otherwise (another code, none, or the connection went).
    ServerClosed,
    /// The WebSocket failed.
    Error(String),
}

/// Everything observed on one call; times in ms from the moment `start` was sent.
#[derive(Clone, Debug, Serialize)]
pub struct CallRecord {
    /// The call's `callSid`.
    pub id: String,
    /// Every agent media frame.
    #[serde(skip)]
    pub frames: Vec<AgentFrame>,
    /// Arrivals of `clear`.
    pub clears: Vec<f64>,
    /// Clips the caller played (times corrected for late sends).
    pub played: Vec<Played>,
    /// Waits that gave up.
    pub timeouts: Vec<TimedOut>,
    /// How late each caller frame was sent, ms.
    #[serde(skip)]
    pub lateness: Vec<f64>,
    /// When the record ends.
    pub end_ms: f64,
    /// How the call ended.
    pub ended: Ended,
    /// WebSocket handshake time, ms.
    pub connect_ms: f64,
}

impl CallRecord {
    /// Runs of voiced agent frames as `[first arrival, last arrival]`, runs split at gaps over
    /// `join_ms` (a compact picture of when the agent talked).
    pub fn voiced_spans(&self, join_ms: f64) -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = Vec::new();
        for f in self.frames.iter().filter(|f| f.voiced) {
            match out.last_mut() {
                Some(last) if f.at_ms - last[1] <= join_ms => last[1] = f.at_ms,
                _ => out.push([f.at_ms, f.at_ms]),
            }
        }
        out
    }

    /// A stream time of the caller's audio on the call's time line: the frame carrying it was
    /// sent late by its lateness.
    pub fn real(&self, stream_ms: f64) -> f64 {
        let k = (stream_ms / 20.0).floor().max(0.0) as usize;
        stream_ms + self.lateness.get(k).or(self.lateness.last()).copied().unwrap_or(0.0)
    }
}

/// Where and how to call.
#[derive(Clone, Debug)]
pub struct Target {
    /// `ws://HOST:PORT/media/twilio`.
    pub url: String,
    /// API key sent as `?token=`.
    pub token: Option<String>,
}

fn media(sid: &str, k: u64, payload: &[u8]) -> String {
    json!({
        "event": "media",
        "sequenceNumber": (k + 3).to_string(),
        "streamSid": sid,
        "media": {
            "track": "inbound",
            "chunk": (k + 1).to_string(),
            "timestamp": (k * 20).to_string(),
            "payload": BASE64.encode(payload),
        }
    })
    .to_string()
}

/// How the server ended a call, by its close frame: code 1000 is the agent hanging up.
fn closed_with(frame: Option<&CloseFrame>) -> Ended {
    if frame.is_some_and(|f| f.code == CloseCode::Normal) { Ended::AgentHungUp } else { Ended::ServerClosed }
}

/// After a failed send: whether the server had closed the call, and how (its close frame may
/// still be waiting to be read). `None` when nothing explains the failure.
async fn closed_by<S>(ws: &mut S) -> Option<Ended>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => return Some(closed_with(f.as_ref())),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

/// Runs one call: `caller` speaks until its script ends or `max` has passed.
pub async fn run_call(
    target: &Target,
    call_id: &str,
    mut caller: Caller,
    max: Duration,
) -> Result<CallRecord, BenchError> {
    let url = match &target.token {
        Some(t) => format!("{}?token={t}", target.url),
        None => target.url.clone(),
    };
    let cerr = |why: String| BenchError::Connect { url: target.url.clone(), why };
    let c0 = now();
    let (mut ws, _) =
        tokio_tungstenite::connect_async(url.as_str()).await.map_err(|e| cerr(e.to_string()))?;
    let connect_ms = c0.elapsed().as_secs_f64() * 1000.0;
    let sid = format!("MZ{call_id}");
    let start = json!({
        "event": "start",
        "sequenceNumber": "2",
        "streamSid": sid,
        "start": {
            "streamSid": sid,
            "accountSid": "ACvoicebench",
            "callSid": format!("CA{call_id}"),
            "tracks": ["inbound"],
            "customParameters": {"bench": "voicebench"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        }
    });
    let hello = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    for m in [hello, start] {
        ws.send(Message::text(m.to_string())).await.map_err(|e| cerr(e.to_string()))?;
    }
    let t0 = now();
    let ms = |t: Instant| t.saturating_duration_since(t0).as_secs_f64() * 1000.0;
    let mut rec = CallRecord {
        id: format!("CA{call_id}"),
        frames: Vec::with_capacity(max.as_millis() as usize / 20 + 16),
        clears: Vec::new(),
        played: Vec::new(),
        timeouts: Vec::new(),
        lateness: Vec::with_capacity(max.as_millis() as usize / 20 + 16),
        end_ms: 0.0,
        ended: Ended::Caller,
        connect_ms,
    };
    let period = Duration::from_millis(20);
    let mut tick = tokio::time::interval_at((t0 + period).into(), period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let (mut k, mut pcm) = (0u64, Vec::new());
    loop {
        tokio::select! {
            biased;
            msg = ws.next() => {
                let at = ms(now());
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(f))) => { rec.ended = closed_with(f.as_ref()); break; }
                    None => { rec.ended = Ended::ServerClosed; break; }
                    Some(Err(e)) => { rec.ended = Ended::Error(e.to_string()); break; }
                    Some(Ok(_)) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                match v.get("event").and_then(Value::as_str) {
                    Some("media") => {
                        let payload = v.pointer("/media/payload").and_then(Value::as_str).unwrap_or("");
                        let bytes = BASE64.decode(payload).unwrap_or_default();
                        crate::ulaw::decode_into(&bytes, &mut pcm);
                        let voiced = level_db(&pcm) > VOICED_DB;
                        rec.frames.push(AgentFrame { at_ms: at, voiced });
                        caller.on_agent_frame(at, voiced);
                    }
                    Some("clear") => rec.clears.push(at),
                    _ => {}
                }
            }
            due = tick.tick() => {
                let t = now();
                let late = t.saturating_duration_since(due.into_std()).as_secs_f64() * 1000.0;
                if caller.is_done() || t.saturating_duration_since(t0) >= max {
                    break;
                }
                let frame = caller.frame(k, ms(t));
                if let Err(e) = ws.send(Message::text(media(&sid, k, frame))).await {
                    // The server's close may have crossed this frame: read what it sent last.
                    rec.ended = closed_by(&mut ws).await.unwrap_or(Ended::Error(e.to_string()));
                    break;
                }
                rec.lateness.push(late);
                k += 1;
            }
        }
    }
    rec.end_ms = ms(now());
    if rec.ended == Ended::Caller {
        let stop = json!({"event": "stop", "streamSid": sid, "stop": {"callSid": rec.id}});
        let _ = ws.send(Message::text(stop.to_string())).await;
        let _ = ws.close(None).await;
    }
    let mut played = std::mem::take(&mut caller.played);
    for p in &mut played {
        let shift = rec.real(p.start_ms) - p.start_ms;
        let end_shift = rec.real(p.sound_end_ms) - p.sound_end_ms;
        p.start_ms += shift;
        p.sound_start_ms = rec.real(p.sound_start_ms);
        p.sound_end_ms += end_shift;
        p.end_ms = rec.real(p.end_ms);
    }
    rec.played = played;
    rec.timeouts = std::mem::take(&mut caller.timeouts);
    Ok(rec)
}
