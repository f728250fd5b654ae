//! One call abstraction for every transport.
//!
//! A transport (Twilio Media Streams, AudioSocket, SIP/RTP) owns the socket; the application
//! (a diagnostic app, later the voice pipeline) owns a [`Call`]. They talk over two channels:
//! [`CallInput`] (caller audio as 20 ms frames of 8 kHz PCM, DTMF, marks played, hang-up) and
//! [`CallOutput`] (audio to play, marks, clear, hang-up).
//!
//! Pacing belongs to the application: it sends one 20 ms frame per tick of its playout schedule,
//! and transports write what they get at once. So a barge-in only has to stop the application's
//! own queue (plus a `clear` on transports that buffer, like Twilio).
//!
//! Caller audio is sent with `try_send`: a stalled application loses frames (counted) rather than
//! stalling the socket reader.

use std::collections::BTreeMap;
use std::fmt;

use frontdesk_types::{CallId, Digit, Pii};
use tokio::sync::mpsc;

/// Frames of caller audio buffered towards the application (1 s).
const INPUT_DEPTH: usize = 50;
/// Commands buffered towards the transport.
const OUTPUT_DEPTH: usize = 50;

/// Which transport carries a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// A Twilio Media Streams WebSocket.
    Twilio,
    /// An Asterisk AudioSocket TCP connection.
    AudioSocket,
    /// A SIP dialog with RTP media.
    Sip,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Twilio => "twilio",
            TransportKind::AudioSocket => "audiosocket",
            TransportKind::Sip => "sip",
        })
    }
}

/// What is known about a call when it starts.
#[derive(Clone, Debug)]
pub struct CallInfo {
    /// Transport-given id (Twilio callSid, AudioSocket UUID).
    pub id: CallId,
    /// The transport.
    pub transport: TransportKind,
    /// Caller number or URI, when the transport says.
    pub from: Option<Pii<String>>,
    /// Parameters the transport passed (Twilio `customParameters`), for the flow.
    pub params: BTreeMap<String, Pii<String>>,
}

/// From the transport to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallInput {
    /// 20 ms of caller audio, 8 kHz mono.
    Audio(Vec<i16>),
    /// A key the caller pressed (out-of-band: RFC 4733, Twilio `dtmf`, AudioSocket DTMF frame).
    Dtmf(Digit),
    /// Everything sent before this mark has been played to the caller.
    Played(String),
    /// The caller hung up or the transport failed; no more input follows.
    Hangup,
}

/// From the application to the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutput {
    /// 20 ms of audio for the caller, 8 kHz mono.
    Audio(Vec<i16>),
    /// Report [`CallInput::Played`] with this name once the audio before it has been played.
    Mark(String),
    /// Drop audio the transport or far end still has queued (barge-in).
    Clear,
    /// End the call.
    Hangup,
    /// Blind-transfer the caller to this URI (SIP REFER); the transport hangs up once the
    /// transfer succeeded. Transports that cannot transfer log it and carry on.
    Transfer(String),
}

/// The application's end of a call.
#[derive(Debug)]
pub struct Call {
    /// What the transport knows about the call.
    pub info: CallInfo,
    /// Caller audio and events.
    pub input: mpsc::Receiver<CallInput>,
    /// Audio and commands for the caller.
    pub output: mpsc::Sender<CallOutput>,
}

/// The transport's end of a call.
#[derive(Debug)]
pub(crate) struct CallPort {
    pub(crate) input: mpsc::Sender<CallInput>,
    pub(crate) output: mpsc::Receiver<CallOutput>,
    /// Caller frames dropped because the application fell behind.
    pub(crate) dropped_frames: u64,
    /// The far end has hung up (a `Hangup` input was queued).
    pub(crate) hung_up: bool,
}

/// Makes the two ends of a new call.
pub(crate) fn call_pair(info: CallInfo) -> (Call, CallPort) {
    let (in_tx, in_rx) = mpsc::channel(INPUT_DEPTH);
    let (out_tx, out_rx) = mpsc::channel(OUTPUT_DEPTH);
    (
        Call { info, input: in_rx, output: out_tx },
        CallPort { input: in_tx, output: out_rx, dropped_frames: 0, hung_up: false },
    )
}

impl CallPort {
    /// Forwards caller audio without waiting; counts a drop when the application is behind.
    pub(crate) fn audio(&mut self, frame: Vec<i16>) {
        // A full queue is the application falling behind; a closed one, an application that has
        // finished with the call (its hang-up is on the way out).
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(_)) =
            self.input.try_send(CallInput::Audio(frame))
        {
            self.dropped_frames += 1;
        }
    }

    /// Forwards an event; events are rare and must not be lost, so this waits for room.
    pub(crate) async fn event(&mut self, ev: CallInput) {
        // An error means the application has finished with the call: nothing to deliver to.
        let _ = self.input.send(ev).await;
    }
}
