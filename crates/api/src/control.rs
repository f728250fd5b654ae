//! Live-call control, implemented by the shell that owns the calls (so this crate does not
//! depend on the SIP stack): originate, say, transfer, hang up.
//!
//! The methods only hand a command to the call (a channel send) and return at once; what
//! happens next is recorded in the call's timeline and sent as events.

use std::collections::BTreeMap;

use frontdesk_types::CallId;

/// An outbound call to place.
#[derive(Debug, Clone)]
pub struct Originate {
    /// `sip:user@host[:port]` or a number in E.164 (`+15551234567`), dialled through the trunk.
    pub to: String,
    /// Caller id to present, if any.
    pub from: Option<String>,
    /// The flow to run, and the published version it will run.
    pub flow: String,
    pub flow_version: i64,
    /// Flow variables set before the first node.
    pub variables: BTreeMap<String, String>,
}

/// Why a control command was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The call is not in progress on this gateway.
    #[error("call {0} is not in progress on this gateway")]
    NotLive(String),
    /// The command does not fit the call or the target is malformed.
    #[error("{0}")]
    Invalid(String),
    /// This gateway cannot do it (no SIP trunk for outbound calls, shutting down...).
    #[error("{0}")]
    Unavailable(String),
}

/// Commands on live calls. The shell implements it; the API holds an `Arc<dyn CallControl>`.
pub trait CallControl: Send + Sync + std::fmt::Debug {
    /// Places an outbound call; returns its id at once (the call record appears when it starts).
    fn originate(&self, req: Originate) -> Result<CallId, ControlError>;
    /// Speaks `text` on the call; `interrupt` first flushes what the agent is saying.
    fn say(&self, call: &CallId, text: &str, interrupt: bool) -> Result<(), ControlError>;
    /// Blind-transfers the call to a SIP URI or number.
    fn transfer(&self, call: &CallId, target: &str) -> Result<(), ControlError>;
    /// Hangs the call up.
    fn hangup(&self, call: &CallId) -> Result<(), ControlError>;
}
