//! The AudioSocket TCP listener and per-connection task.

use std::time::Duration;

use frontdesk_types::{CallId, SampleRate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

use super::frame::{self, Frame, FrameDecoder};
use crate::apps::App;
use crate::call::{CallInfo, CallInput, CallOutput, TransportKind, call_pair};
use crate::shutdown::Shutdown;

/// How long a new connection may take to send its UUID frame.
const UUID_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn serve(listener: TcpListener, app: App, shutdown: Shutdown) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (app, sd) = (app.clone(), shutdown.clone());
                    shutdown.calls.spawn(async move {
                        if let Err(e) = connection(stream, app, sd).await {
                            warn!(%peer, "audiosocket connection closed: {e}");
                        }
                    });
                }
                Err(e) => warn!("audiosocket accept failed: {e}"),
            },
            _ = shutdown.stop_accepting.cancelled() => break,
        }
    }
}

async fn read_uuid(rd: &mut (impl AsyncReadExt + Unpin), dec: &mut FrameDecoder) -> Result<String, String> {
    let mut buf = [0u8; 1024];
    loop {
        match dec.next_frame().map_err(|e| e.to_string())? {
            Some(Frame::Uuid(u)) => return Ok(u.iter().map(|b| format!("{b:02x}")).collect()),
            Some(other) => return Err(format!("expected the UUID frame first, got {other:?}")),
            None => {}
        }
        let n = rd.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before sending its UUID".into());
        }
        dec.push(&buf[..n]);
    }
}

async fn connection(stream: TcpStream, app: App, shutdown: Shutdown) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut rd, mut wr) = stream.into_split();
    let mut dec = FrameDecoder::new();
    let id = tokio::time::timeout(UUID_TIMEOUT, read_uuid(&mut rd, &mut dec))
        .await
        .map_err(|_| format!("no UUID frame within {UUID_TIMEOUT:?}"))??;
    info!(call = %id, "audiosocket call");
    let info = CallInfo {
        id: CallId(id),
        transport: TransportKind::AudioSocket,
        from: None,
        params: Default::default(),
    };
    let (call, mut port) = call_pair(info);
    let app_task = tokio::spawn(app.run(call));

    let frame_len = SampleRate::Hz8000.frame_len();
    let (mut buf, mut out, mut pending) = ([0u8; 4096], Vec::with_capacity(400), Vec::<i16>::new());
    let mut result = Ok(());
    // Any frame already buffered behind the UUID is handled before the first read.
    let mut fresh: usize = 0;
    'call: loop {
        dec.push(&buf[..fresh]);
        loop {
            match dec.next_frame() {
                Ok(Some(Frame::Audio(pcm))) => {
                    // Asterisk normally sends 20 ms (160 samples); re-frame anything else.
                    pending.extend_from_slice(&pcm);
                    while pending.len() >= frame_len {
                        port.audio(pending.drain(..frame_len).collect());
                    }
                }
                Ok(Some(Frame::Dtmf(d))) => port.event(CallInput::Dtmf(d)).await,
                Ok(Some(Frame::Hangup)) => {
                    port.event(CallInput::Hangup).await;
                    break 'call;
                }
                Ok(Some(Frame::Error(code))) => warn!("audiosocket peer reported error {code:#04x}"),
                Ok(Some(Frame::Uuid(_))) => debug!("second UUID frame ignored"),
                Ok(None) => break,
                Err(e) => {
                    port.event(CallInput::Hangup).await;
                    result = Err(e.to_string());
                    break 'call;
                }
            }
        }
        tokio::select! {
            n = rd.read(&mut buf) => match n {
                Ok(0) | Err(_) => {
                    port.event(CallInput::Hangup).await;
                    break;
                }
                Ok(n) => fresh = n,
            },
            cmd = port.output.recv() => {
                fresh = 0;
                out.clear();
                match cmd {
                    Some(CallOutput::Audio(pcm)) => frame::encode(&Frame::Audio(pcm), &mut out),
                    // Audio is written as it is paced by the application, so it has been handed to
                    // the far end by the time the mark comes: report it played.
                    Some(CallOutput::Mark(name)) => port.event(CallInput::Played(name)).await,
                    Some(CallOutput::Clear) => {}
                    Some(CallOutput::Transfer(_)) => warn!("audiosocket cannot transfer calls: ignored"),
                    Some(CallOutput::Hangup) | None => {
                        frame::encode(&Frame::Hangup, &mut out);
                        let _ = wr.write_all(&out).await;
                        break;
                    }
                }
                if !out.is_empty() && wr.write_all(&out).await.is_err() {
                    port.event(CallInput::Hangup).await;
                    break;
                }
            }
            _ = shutdown.hang_up.cancelled() => {
                out.clear();
                frame::encode(&Frame::Hangup, &mut out);
                let _ = wr.write_all(&out).await;
                port.event(CallInput::Hangup).await;
                break;
            }
        }
    }
    if port.dropped_frames > 0 {
        warn!(dropped = port.dropped_frames, "caller audio frames dropped: the application fell behind");
    }
    drop(port);
    let _ = app_task.await;
    let _ = wr.shutdown().await;
    result
}
