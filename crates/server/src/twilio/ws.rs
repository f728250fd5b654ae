//! One Twilio Media Streams WebSocket = one call.

use std::time::Duration;

use frontdesk_codec::g711::Law;
use frontdesk_types::{CallId, Pii, SampleRate};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{info, warn};

use super::message::{Inbound, MarkName, Outbound, Start};
use crate::apps::App;
use crate::call::{CallInfo, CallInput, CallOutput, TransportKind, call_pair};
use crate::shutdown::Shutdown;

/// How long a new stream may take to send `start`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closed stream waits for the peer's close reply.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Malformed messages tolerated on one stream before it is closed.
const MAX_BAD_MESSAGES: u32 = 20;

/// Why the gateway closes a stream, sent as the WebSocket close code so the far end can tell a
/// call the agent ended (1000) from a failure (1008, 1011).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The caller's side stopped or closed; the close is only acknowledged.
    Caller,
    /// The agent hung up (the flow ended the call, or transferred it where it cannot): 1000.
    Agent,
    /// Too many malformed messages: 1008 (policy).
    Malformed,
    /// The application ended without hanging up, or sending failed: 1011 (internal error).
    Failed,
    /// The gateway is shutting down: 1001 (going away).
    Shutdown,
}

impl Ending {
    fn frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Ending::Caller => return None,
            Ending::Agent => (CloseCode::Normal, "call ended by the agent"),
            Ending::Malformed => (CloseCode::Policy, "too many malformed messages"),
            Ending::Failed => (CloseCode::Error, "the call's application ended unexpectedly"),
            Ending::Shutdown => (CloseCode::Away, "the gateway is shutting down"),
        };
        Some(CloseFrame { code, reason: reason.into() })
    }
}

async fn wait_for_start<S>(ws: &mut WebSocketStream<S>) -> Result<Start, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(msg) = ws.next().await {
        match msg.map_err(|e| e.to_string())? {
            Message::Text(text) => match Inbound::parse(&text).map_err(|e| e.to_string())? {
                Inbound::Start { start } => return Ok(start),
                Inbound::Connected { .. } => {}
                other => return Err(format!("expected `start`, got {other:?}")),
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    Err("closed before `start`".into())
}

pub(crate) async fn run<S>(mut ws: WebSocketStream<S>, app: App, shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let start = match tokio::time::timeout(START_TIMEOUT, wait_for_start(&mut ws)).await {
        Ok(Ok(start)) => start,
        Ok(Err(e)) => return close(ws, &format!("twilio stream rejected: {e}")).await,
        Err(_) => return close(ws, "twilio stream sent no `start` in time").await,
    };
    let id = if start.call_sid.is_empty() { start.stream_sid.clone() } else { start.call_sid.clone() };
    info!(call = %id, "twilio media stream");
    let params = start.custom_parameters.into_iter().map(|(k, v)| (k, Pii::new(v))).collect();
    let info = CallInfo { id: CallId(id), transport: TransportKind::Twilio, from: None, params };
    let (call, mut port) = call_pair(info);
    let app_task = tokio::spawn(app.run(call));
    let sid = start.stream_sid;

    let frame_len = SampleRate::Hz8000.frame_len();
    let (mut pending, mut pcm, mut ulaw, mut bad) = (Vec::<i16>::new(), Vec::new(), Vec::new(), 0u32);
    let ending = loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        port.event(CallInput::Hangup).await;
                        break Ending::Caller;
                    }
                    Some(Ok(_)) => continue, // binary, ping, pong: tungstenite answers pings itself
                };
                let parsed = Inbound::parse(&text).and_then(|m| match m {
                    Inbound::Media { media } => media.decode().map(Some),
                    Inbound::Dtmf { dtmf } => dtmf.digit().map(|d| {
                        pending_event(&mut port, CallInput::Dtmf(d));
                        None
                    }),
                    Inbound::Mark { mark } => {
                        pending_event(&mut port, CallInput::Played(mark.name));
                        Ok(None)
                    }
                    Inbound::Stop => {
                        pending_event(&mut port, CallInput::Hangup);
                        Ok(None)
                    }
                    Inbound::Connected { .. } | Inbound::Start { .. } => Ok(None),
                });
                match parsed {
                    Ok(Some(bytes)) => {
                        Law::Ulaw.decode_into(&bytes, &mut pcm);
                        pending.extend_from_slice(&pcm);
                        while pending.len() >= frame_len {
                            port.audio(pending.drain(..frame_len).collect());
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        bad += 1;
                        warn!(stream = %sid, "bad twilio message ({bad}): {e}");
                        if bad > MAX_BAD_MESSAGES {
                            port.event(CallInput::Hangup).await;
                            break Ending::Malformed;
                        }
                    }
                }
                // An application that has ended is seen on the output side: its last command
                // (a hang-up, or nothing) decides how the stream is closed.
                if port.hung_up {
                    break Ending::Caller;
                }
            }
            cmd = port.output.recv() => {
                let out = match cmd {
                    Some(CallOutput::Audio(frame)) => {
                        Law::Ulaw.encode_into(&frame, &mut ulaw);
                        Outbound::media(&sid, &ulaw)
                    }
                    Some(CallOutput::Mark(name)) => Outbound::Mark { stream_sid: sid.clone(), mark: MarkName { name } },
                    Some(CallOutput::Clear) => Outbound::Clear { stream_sid: sid.clone() },
                    Some(CallOutput::Transfer(_)) => {
                        warn!(stream = %sid, "twilio media streams cannot transfer calls: ignored");
                        continue;
                    }
                    Some(CallOutput::Hangup) => break Ending::Agent,
                    None => break Ending::Failed,
                };
                if ws.send(Message::text(out.to_json())).await.is_err() {
                    port.event(CallInput::Hangup).await;
                    break Ending::Failed;
                }
            }
            _ = shutdown.hang_up.cancelled() => {
                port.event(CallInput::Hangup).await;
                break Ending::Shutdown;
            }
        }
    };
    if port.dropped_frames > 0 {
        warn!(dropped = port.dropped_frames, "caller audio frames dropped: the application fell behind");
    }
    drop(port);
    let _ = app_task.await;
    let _ = ws.close(ending.frame()).await;
    finish_close(&mut ws).await;
}

/// The rest of the closing handshake: read (and drop) what the peer still sends until its own
/// close, for at most [`CLOSE_WAIT`]. Dropping the socket at once would reset a connection the
/// peer is still writing media to, and a reset can destroy the close frame (and its code) before
/// the peer reads it.
async fn finish_close<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
}

/// Queues a control event without awaiting inside the parse closure; events are rare, so a full
/// channel here means the application is gone or wedged, and the event is dropped with a warning.
fn pending_event(port: &mut crate::call::CallPort, ev: CallInput) {
    if ev == CallInput::Hangup {
        port.hung_up = true;
    }
    if port.input.try_send(ev).is_err() {
        warn!("call event dropped: the application is not reading its input");
    }
}

async fn close<S>(mut ws: WebSocketStream<S>, why: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    warn!("{why}");
    // A close frame's reason fits in 123 bytes; the log line above has all of it.
    let mut end = why.len().min(120);
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    let _ =
        ws.close(Some(CloseFrame { code: CloseCode::Policy, reason: why[..end].to_owned().into() })).await;
    finish_close(&mut ws).await;
}
