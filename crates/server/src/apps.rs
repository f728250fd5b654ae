//! Diagnostic applications that run on a [`Call`] without the voice pipeline.
//!
//! - `echo`: plays the caller's audio straight back and logs DTMF (a loop-back test for a trunk).
//! - `playback:FILE.wav`: plays a file on a 20 ms schedule, then hangs up.
//! - `transfer:URI`: asks the transport to transfer the call to URI (SIP REFER), echoing
//!   meanwhile (checks a trunk's transfer support).
//!
//! They stay next to the voice agent: they are how an operator checks a trunk or a transport.
//!
//! [`App::Controlled`] wraps any of them: each call is in the live-call registry
//! ([`crate::control::LiveCalls`]) while its app runs, so the HTTP API can hang it up, transfer
//! it, or (voice agent) make it say something. `Server::run` wraps the configured app this way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_types::SampleRate;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use crate::call::{Call, CallInput, CallOutput};
use crate::control::{CONTROL_DEPTH, ControlCmd, LiveCalls};
use crate::wav;

/// Which application answers calls.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one App per server; the voice variant's size (its tuning config) costs nothing per frame"
)]
pub enum App {
    /// Echo the caller's audio back; log DTMF.
    Echo,
    /// Play 8 kHz samples, then hang up.
    Playback {
        /// Where the audio came from (for logs).
        file: PathBuf,
        /// The audio, 8 kHz mono.
        audio: Arc<Vec<i16>>,
    },
    /// Blind-transfer every call to a URI; echo until the transport hangs up.
    Transfer {
        /// Where to.
        target: String,
    },
    /// The voice agent: runs a flow on the call (see [`crate::agent`]).
    Voice(crate::agent::VoiceApp),
    /// `app`, with every call registered in `calls` while it runs (live-call control).
    Controlled {
        /// The app that answers.
        app: Box<App>,
        /// The registry.
        calls: LiveCalls,
    },
}

impl App {
    /// Parses `echo` or `playback:FILE.wav` (loading and checking the file now, so a bad file
    /// stops start-up rather than the first call).
    pub fn parse(spec: &str) -> Result<App, String> {
        if spec == "echo" {
            return Ok(App::Echo);
        }
        if let Some(file) = spec.strip_prefix("playback:") {
            let file = PathBuf::from(file);
            let audio = wav::read_8k(&file).map_err(|e| e.to_string())?;
            return Ok(App::Playback { file, audio: Arc::new(audio) });
        }
        if let Some(target) = spec.strip_prefix("transfer:") {
            return Ok(App::Transfer { target: target.to_owned() });
        }
        Err(format!("unknown app {spec:?}: use `echo`, `playback:FILE.wav` or `transfer:URI`"))
    }

    /// A short name for logs and messages.
    pub fn name(&self) -> &'static str {
        match self {
            App::Echo => "echo",
            App::Playback { .. } => "playback",
            App::Transfer { .. } => "transfer",
            App::Voice(_) => "voice",
            App::Controlled { app, .. } => app.name(),
        }
    }

    /// Runs the application until the call ends.
    pub async fn run(self, call: Call) {
        // Unwrap the registry layer(s): a call is registered once, in the outermost registry.
        let (mut app, mut registry) = (self, None);
        while let App::Controlled { app: inner, calls } = app {
            registry.get_or_insert(calls);
            app = *inner;
        }
        let Some(calls) = registry else { return app.run_inner(call, None).await };
        // The voice loop's control channel (say, transfer, hang up through the agent).
        let (agent_tx, agent_rx) = match &app {
            App::Voice(_) => {
                let (tx, rx) = mpsc::channel(CONTROL_DEPTH);
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        let _registered = calls.register(&call.info, call.output.clone(), agent_tx, app.name());
        info!(call = %call.info.id, app = app.name(), "call under live control");
        app.run_inner(call, agent_rx).await;
    }

    /// Runs an app that is not [`App::Controlled`] (those are unwrapped by [`App::run`]).
    async fn run_inner(self, call: Call, control: Option<mpsc::Receiver<ControlCmd>>) {
        match self {
            App::Echo => echo(call).await,
            App::Playback { file, audio } => playback(call, &file, &audio).await,
            App::Voice(voice) => voice.run(call, control).await,
            App::Transfer { target } => {
                info!(call = %call.info.id, "transferring");
                if call.output.send(CallOutput::Transfer(target)).await.is_ok() {
                    echo(call).await;
                }
            }
            App::Controlled { .. } => warn!(call = %call.info.id, "nested registry layer not unwrapped"),
        }
    }
}

async fn echo(mut call: Call) {
    while let Some(input) = call.input.recv().await {
        match input {
            CallInput::Audio(frame) => {
                if call.output.send(CallOutput::Audio(frame)).await.is_err() {
                    break;
                }
            }
            // The echo app is a diagnostic: it logs digits on purpose (the voice pipeline never does).
            CallInput::Dtmf(d) => info!(call = %call.info.id, digit = %d, "dtmf"),
            CallInput::Played(_) => {}
            CallInput::Hangup => break,
        }
    }
}

async fn playback(mut call: Call, file: &std::path::Path, audio: &[i16]) {
    info!(call = %call.info.id, file = %file.display(), "playing");
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // Burst: a late tick is caught up, so the schedule never drifts from real time.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut frames = audio.chunks(SampleRate::Hz8000.frame_len());
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let Some(chunk) = frames.next() else { break };
                let mut frame = chunk.to_vec();
                frame.resize(SampleRate::Hz8000.frame_len(), 0);
                if call.output.send(CallOutput::Audio(frame)).await.is_err() {
                    return;
                }
            }
            input = call.input.recv() => match input {
                None | Some(CallInput::Hangup) => return,
                Some(_) => {}
            },
        }
    }
    // Wait until the far end has played everything (the transport reports the mark), then hang up.
    let _ = call.output.send(CallOutput::Mark("playback-end".into())).await;
    while let Some(input) = call.input.recv().await {
        match input {
            CallInput::Played(name) if name == "playback-end" => break,
            CallInput::Hangup => return,
            _ => {}
        }
    }
    let _ = call.output.send(CallOutput::Hangup).await;
}
