//! Live-call control for the HTTP API: the server's implementation of
//! [`frontdesk_api::CallControl`] (originate, say, transfer, hang up).
//!
//! - [`LiveCalls`]: the registry of calls in progress on this gateway, `CallId` -> how to reach
//!   the call. Every call is registered when its application starts and removed when it ends,
//!   whatever the transport or app: `Server::run` hands the transports
//!   [`crate::apps::App::Controlled`], which registers around the real app. An outgoing call
//!   placed by `originate` is registered as *dialling* at once (so it can be hung up while it
//!   rings: CANCEL) and becomes a live call when answered; the SIP task removes it if the far end
//!   refuses or does not answer.
//! - [`GatewayControl`]: the `CallControl` the API holds. Commands are only handed over (a channel
//!   send) and it returns at once:
//!   - `hangup`: any call (SIP: BYE, or CANCEL while dialling; Twilio and AudioSocket: the
//!     transport closes). On a voice-agent call it goes through the voice loop's control channel.
//!   - `transfer`: SIP calls only (blind transfer by REFER; the gateway leaves the call when the
//!     far end reports success). Twilio and AudioSocket calls answer
//!     [`ControlError::Unavailable`], which the API turns into 409.
//!   - `say`: voice-agent calls only (the diagnostic apps have no speech synthesis), through the
//!     voice loop's control channel.
//!   - `originate`: an outbound SIP INVITE to a `sip:` URI with an IP-literal host (the shell
//!     resolves no names), running the server's app (the voice agent under `serve`) once
//!     answered. The request's variables, and `to`, `direction=outbound`, `flow`, `flow_version`,
//!     reach the app as the call's parameters ([`crate::call::CallInfo::params`]); the voice
//!     agent runs that published flow version. The returned id
//!     is the call's [`CallId`] on this gateway (`out-` and 32 hex digits), the id its call record
//!     and logs use. Numbers (E.164) are dialled through the SIP trunk (`serve --trunk`);
//!     without one they are refused as unavailable, naming the missing option.
//!
//! A call that is not in the registry is [`ControlError::NotLive`] (404 from the API).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use frontdesk_api::{CallControl, ControlError, Originate};
use frontdesk_sip::message::SipUri;
use frontdesk_types::{CallId, Pii};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use crate::agent::ControlCmd;
use crate::call::{CallInfo, CallOutput, TransportKind};
use crate::sip::SipCmd;

/// Commands buffered towards one voice-agent call.
pub(crate) const CONTROL_DEPTH: usize = 8;

/// How the registry reaches a call.
#[derive(Debug)]
enum Reach {
    /// An outgoing call ringing: only the SIP task can end it (CANCEL).
    Dialling,
    /// A call whose application runs.
    Up {
        transport: TransportKind,
        /// The application's output to the transport (hang-up, transfer for any app).
        output: mpsc::Sender<CallOutput>,
        /// The voice loop's control channel, on voice-agent calls.
        agent: Option<mpsc::Sender<ControlCmd>>,
        /// Which app (for messages).
        app: &'static str,
    },
}

#[derive(Debug)]
struct Entry {
    serial: u64,
    reach: Reach,
}

/// The calls in progress on this gateway. Cheap to clone (one `Arc`).
#[derive(Clone, Debug, Default)]
pub struct LiveCalls {
    inner: Arc<Mutex<HashMap<CallId, Entry>>>,
    serial: Arc<AtomicU64>,
}

/// Removes its call from the registry when dropped (when the application returns).
#[derive(Debug)]
pub(crate) struct Registration {
    calls: LiveCalls,
    id: CallId,
    serial: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.calls.remove(&self.id, self.serial);
    }
}

impl LiveCalls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, Entry>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, id: CallId, reach: Reach) -> u64 {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, Entry { serial, reach });
        serial
    }

    /// Removes `id` if it is still the registration `serial` (a later call with the same id
    /// stays).
    fn remove(&self, id: &CallId, serial: u64) {
        let mut m = self.lock();
        if m.get(id).is_some_and(|e| e.serial == serial) {
            m.remove(id);
        }
    }

    /// Registers a call whose application is starting; removed when the guard drops.
    pub(crate) fn register(
        &self,
        info: &CallInfo,
        output: mpsc::Sender<CallOutput>,
        agent: Option<mpsc::Sender<ControlCmd>>,
        app: &'static str,
    ) -> Registration {
        let reach = Reach::Up { transport: info.transport, output, agent, app };
        let serial = self.insert(info.id.clone(), reach);
        Registration { calls: self.clone(), id: info.id.clone(), serial }
    }

    /// An outgoing call failed or was cancelled before it was answered.
    pub(crate) fn dial_failed(&self, id: &CallId) {
        let mut m = self.lock();
        if m.get(id).is_some_and(|e| matches!(e.reach, Reach::Dialling)) {
            m.remove(id);
        }
    }

    /// Ids of the calls in progress (dialling included).
    pub fn ids(&self) -> Vec<CallId> {
        let mut v: Vec<CallId> = self.lock().keys().cloned().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Number of calls in progress (dialling included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no call is in progress.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// The server's [`CallControl`]: see the module doc. Cheap to clone; all clones act on the same
/// server. One made with [`GatewayControl::new`] answers every command "unavailable" until a
/// server takes it ([`crate::Server::with_control`]), so the API can be built before the server.
#[derive(Debug, Clone, Default)]
pub struct GatewayControl {
    bound: Arc<OnceLock<Bound>>,
}

/// What a control acts on, once a server has taken it.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) calls: LiveCalls,
    /// The SIP task's command channel, when SIP runs.
    pub(crate) sip: Option<mpsc::UnboundedSender<SipCmd>>,
    /// Cancelled when the server stops accepting calls.
    pub(crate) stopping: CancellationToken,
    /// The trunk numbers are dialled through (`--trunk`).
    pub(crate) trunk: Option<std::net::SocketAddr>,
}

impl GatewayControl {
    /// A control not yet attached to a server.
    pub fn new() -> GatewayControl {
        GatewayControl::default()
    }

    /// A control acting on `bound`.
    pub(crate) fn bound(bound: Bound) -> GatewayControl {
        let c = GatewayControl::default();
        c.attach(bound);
        c
    }

    /// Attaches this control to a server's calls; a control already attached keeps its server.
    pub(crate) fn attach(&self, bound: Bound) -> bool {
        self.bound.set(bound).is_ok()
    }

    fn get(&self) -> Result<&Bound, ControlError> {
        self.bound.get().ok_or_else(|| {
            ControlError::Unavailable("live-call control is not attached to a running server yet".into())
        })
    }

    /// The registry this control acts on (empty before a server takes it).
    pub fn calls(&self) -> LiveCalls {
        self.bound.get().map(|b| b.calls.clone()).unwrap_or_default()
    }

    fn not_live(call: &CallId) -> ControlError {
        ControlError::NotLive(call.0.clone())
    }

    /// Hands `cmd` to the call: the voice loop's channel when there is one, else `fallback` on
    /// the app's output to the transport (when given).
    fn send(&self, call: &CallId, cmd: ControlCmd, fallback: Option<CallOutput>) -> Result<(), ControlError> {
        let (agent, output) = {
            let m = self.get()?.calls.lock();
            let entry = m.get(call).ok_or_else(|| Self::not_live(call))?;
            match &entry.reach {
                Reach::Dialling => {
                    return Err(ControlError::Unavailable(format!(
                        "call {} is still dialling: only hangup works before it is answered",
                        call.0
                    )));
                }
                Reach::Up { agent, output, .. } => (agent.clone(), output.clone()),
            }
        };
        if let Some(agent) = agent {
            return agent.try_send(cmd).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ControlError::Unavailable(format!(
                    "call {} has {CONTROL_DEPTH} commands waiting: retry in a moment",
                    call.0
                )),
                mpsc::error::TrySendError::Closed(_) => Self::not_live(call),
            });
        }
        let Some(out) = fallback else {
            return Err(ControlError::Unavailable("this call's application takes no such command".into()));
        };
        // The output also carries audio: wait for room off the caller's thread.
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| ControlError::Unavailable("live-call control needs the server's runtime".into()))?;
        if output.is_closed() {
            return Err(Self::not_live(call));
        }
        handle.spawn(async move {
            let _ = output.send(out).await;
        });
        Ok(())
    }

    fn transport_app(
        &self,
        call: &CallId,
    ) -> Result<(Option<TransportKind>, &'static str, bool), ControlError> {
        let m = self.get()?.calls.lock();
        let entry = m.get(call).ok_or_else(|| Self::not_live(call))?;
        Ok(match &entry.reach {
            Reach::Dialling => (None, "dialling", false),
            Reach::Up { transport, app, agent, .. } => (Some(*transport), *app, agent.is_some()),
        })
    }
}

/// `to` as a number: the store's normal form (`+` and digits; spaces, dashes, dots and brackets
/// dropped), 3 to 15 digits.
pub(crate) fn phone_number(to: &str) -> Option<String> {
    frontdesk_store::normalize_phone(to).ok().filter(|n| n.trim_start_matches('+').len() <= 15)
}

/// Where to send an INVITE for `to`: a `sip:`/`sips:` URI with an IP-literal host, or a number
/// through the trunk (`sip:NUMBER@TRUNK;user=phone`). The bool: through the trunk.
fn sip_target(to: &str, trunk: Option<std::net::SocketAddr>) -> Result<(SipUri, bool), ControlError> {
    if !to.starts_with("sip:") && !to.starts_with("sips:") {
        let Some(number) = phone_number(to) else {
            return Err(ControlError::Invalid(format!(
                "{to:?} is neither a SIP URI nor a phone number: use sip:user@192.0.2.7:5060 or +15551234567"
            )));
        };
        let Some(trunk) = trunk else {
            return Err(ControlError::Unavailable(format!(
                "{to:?} is a number: dialling numbers needs a SIP trunk; start serve with --trunk sip:HOST:PORT, or use a sip: URI (sip:user@192.0.2.7:5060)"
            )));
        };
        // SocketAddr prints an IPv6 host in brackets, as a SIP URI wants it.
        let uri = SipUri::parse(&format!("sip:{number}@{trunk};user=phone"))
            .map_err(|e| ControlError::Invalid(format!("{to:?}: cannot make a trunk URI: {e}")))?;
        return Ok((uri, true));
    }
    let uri =
        SipUri::parse(to).map_err(|e| ControlError::Invalid(format!("{to:?} is not a SIP URI: {e}")))?;
    if uri.socket_addr().is_none() {
        return Err(ControlError::Invalid(format!(
            "{to:?}: the host must be an IP address (this gateway resolves no names), e.g. sip:user@192.0.2.7:5060"
        )));
    }
    Ok((uri, false))
}

/// A fresh id for an outgoing call.
fn outbound_id() -> CallId {
    CallId(format!("out-{:016x}{:016x}", crate::clock::seed(), crate::clock::seed()))
}

/// What the SIP task needs to place an originated call.
#[derive(Debug)]
pub(crate) struct OutboundCall {
    /// The id the call gets on this gateway.
    pub(crate) id: CallId,
    /// Request-URI.
    pub(crate) target: SipUri,
    /// From user (caller id), if given.
    pub(crate) from_user: Option<String>,
    /// Parameters for the app.
    pub(crate) params: BTreeMap<String, Pii<String>>,
    /// Dialled through the trunk (its credentials answer challenges).
    pub(crate) via_trunk: bool,
}

impl CallControl for GatewayControl {
    fn originate(&self, req: Originate) -> Result<CallId, ControlError> {
        let Bound { calls, sip, stopping, trunk } = self.get()?;
        let Some(sip) = sip else {
            return Err(ControlError::Unavailable(
                "placing calls needs SIP, and this gateway runs without it (serve --sip off): start serve with --sip ADDR:PORT".into(),
            ));
        };
        if stopping.is_cancelled() {
            return Err(ControlError::Unavailable("the gateway is shutting down: no new calls".into()));
        }
        let (target, via_trunk) = sip_target(&req.to, *trunk)?;
        let from_user = match req.from {
            Some(f) => {
                let user = f.strip_prefix("sip:").map_or(f.as_str(), |r| r.split('@').next().unwrap_or(r));
                if user.is_empty() || !user.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-_.".contains(&b))
                {
                    return Err(ControlError::Invalid(format!(
                        "from={f:?}: use a number (+15551234567) or a plain SIP user name"
                    )));
                }
                Some(user.to_owned())
            }
            None => None,
        };
        let mut params: BTreeMap<String, Pii<String>> =
            req.variables.into_iter().map(|(k, v)| (k, Pii::new(v))).collect();
        params.insert("to".into(), Pii::new(req.to.clone()));
        params.insert("direction".into(), Pii::new("outbound".into()));
        params.insert("flow".into(), Pii::new(req.flow.clone()));
        params.insert("flow_version".into(), Pii::new(req.flow_version.to_string()));
        let id = outbound_id();
        let serial = calls.insert(id.clone(), Reach::Dialling);
        let call = OutboundCall { id: id.clone(), target, from_user, params, via_trunk };
        if sip.send(SipCmd::Originate(call)).is_err() {
            calls.remove(&id, serial);
            return Err(ControlError::Unavailable("the SIP transport has stopped".into()));
        }
        info!(call = %id, flow = %req.flow, version = req.flow_version, "originating");
        Ok(id)
    }

    fn say(&self, call: &CallId, text: &str, interrupt: bool) -> Result<(), ControlError> {
        let (_, app, voice) = self.transport_app(call)?;
        if !voice && app != "dialling" {
            return Err(ControlError::Unavailable(format!(
                "say needs the voice agent, and call {} runs the {app} app (start serve with --flow, not --app)",
                call.0
            )));
        }
        self.send(call, ControlCmd::Say { text: text.to_owned(), interrupt }, None)
    }

    fn transfer(&self, call: &CallId, target: &str) -> Result<(), ControlError> {
        let (transport, _, _) = self.transport_app(call)?;
        match transport {
            Some(TransportKind::Sip) | None => {}
            Some(t) => {
                return Err(ControlError::Unavailable(format!(
                    "call {} is a {t} call: only SIP calls can be transferred (REFER); hang up instead, or redirect it from the {t} side",
                    call.0
                )));
            }
        }
        let (uri, _) = sip_target(target, self.get()?.trunk)?;
        let target = uri.to_string();
        self.send(call, ControlCmd::Transfer(target.clone()), Some(CallOutput::Transfer(target)))
    }

    fn hangup(&self, call: &CallId) -> Result<(), ControlError> {
        let (transport, _, _) = self.transport_app(call)?;
        if transport.is_none() {
            // Still dialling: the SIP task cancels it.
            let sip = self.get()?.sip.as_ref().ok_or_else(|| Self::not_live(call))?;
            return sip
                .send(SipCmd::CancelOriginate(call.clone()))
                .map_err(|_| ControlError::Unavailable("the SIP transport has stopped".into()));
        }
        self.send(call, ControlCmd::Hangup, Some(CallOutput::Hangup))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn info(id: &str, transport: TransportKind) -> CallInfo {
        CallInfo { id: CallId(id.into()), transport, from: None, params: BTreeMap::new() }
    }

    fn control(calls: &LiveCalls) -> GatewayControl {
        GatewayControl::bound(Bound {
            calls: calls.clone(),
            sip: None,
            stopping: CancellationToken::new(),
            trunk: None,
        })
    }

    #[tokio::test]
    async fn registered_while_the_guard_lives() {
        let calls = LiveCalls::default();
        let (tx, mut rx) = mpsc::channel(4);
        let reg = calls.register(&info("a", TransportKind::Twilio), tx, None, "echo");
        assert_eq!(calls.ids(), vec![CallId("a".into())]);
        let c = control(&calls);
        c.hangup(&CallId("a".into())).unwrap();
        assert_eq!(rx.recv().await, Some(CallOutput::Hangup));
        drop(reg);
        assert!(calls.is_empty());
        assert!(matches!(c.hangup(&CallId("a".into())), Err(ControlError::NotLive(id)) if id == "a"));
    }

    #[tokio::test]
    async fn a_new_call_with_the_same_id_survives_the_old_guard() {
        let calls = LiveCalls::default();
        let (tx, _rx) = mpsc::channel(4);
        let old = calls.register(&info("a", TransportKind::Sip), tx.clone(), None, "echo");
        let _new = calls.register(&info("a", TransportKind::Sip), tx, None, "echo");
        drop(old);
        assert_eq!(calls.len(), 1);
    }

    #[tokio::test]
    async fn transfer_and_say_refused_where_they_cannot_work() {
        let calls = LiveCalls::default();
        let (tx, mut rx) = mpsc::channel(4);
        let _t = calls.register(&info("tw", TransportKind::Twilio), tx.clone(), None, "echo");
        let _s = calls.register(&info("sip", TransportKind::Sip), tx, None, "echo");
        let c = control(&calls);
        let e = c.transfer(&CallId("tw".into()), "sip:x@192.0.2.1").unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("only SIP calls")), "{e}");
        let e = c.say(&CallId("sip".into()), "hi", false).unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("voice agent")), "{e}");
        let e = c.transfer(&CallId("sip".into()), "+15551234567").unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("trunk")), "{e}");
        let e = c.transfer(&CallId("sip".into()), "sip:x@example.com").unwrap_err();
        assert!(matches!(&e, ControlError::Invalid(m) if m.contains("IP address")), "{e}");
        c.transfer(&CallId("sip".into()), "sip:x@192.0.2.1:5070").unwrap();
        assert_eq!(rx.recv().await, Some(CallOutput::Transfer("sip:x@192.0.2.1:5070".into())));
    }

    #[tokio::test]
    async fn voice_calls_get_commands_on_their_own_channel() {
        let calls = LiveCalls::default();
        let (tx, _out) = mpsc::channel(4);
        let (atx, mut arx) = mpsc::channel(CONTROL_DEPTH);
        let _r = calls.register(&info("v", TransportKind::Twilio), tx, Some(atx), "voice");
        let c = control(&calls);
        c.say(&CallId("v".into()), "hello", true).unwrap();
        assert_eq!(arx.recv().await, Some(ControlCmd::Say { text: "hello".into(), interrupt: true }));
        c.hangup(&CallId("v".into())).unwrap();
        assert_eq!(arx.recv().await, Some(ControlCmd::Hangup));
        for _ in 0..CONTROL_DEPTH {
            c.say(&CallId("v".into()), "x", false).unwrap();
        }
        let e = c.say(&CallId("v".into()), "x", false).unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("retry")), "{e}");
    }

    #[test]
    fn an_unattached_control_says_so() {
        let e = GatewayControl::new().hangup(&CallId("x".into())).unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("not attached")), "{e}");
    }

    #[test]
    fn originate_without_sip_names_the_flag() {
        let c = control(&LiveCalls::default());
        let req = Originate {
            to: "sip:a@192.0.2.1".into(),
            from: None,
            flow: "f".into(),
            flow_version: 1,
            variables: BTreeMap::new(),
        };
        let e = c.originate(req).unwrap_err();
        assert!(matches!(&e, ControlError::Unavailable(m) if m.contains("--sip")), "{e}");
    }

    #[test]
    fn originate_hands_the_call_to_sip_and_registers_it_dialling() {
        let calls = LiveCalls::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let c = GatewayControl::bound(Bound {
            calls: calls.clone(),
            sip: Some(tx),
            stopping: CancellationToken::new(),
            trunk: None,
        });
        let req = Originate {
            to: "sip:bob@127.0.0.1:5099".into(),
            from: Some("+15550001111".into()),
            flow: "reminder".into(),
            flow_version: 3,
            variables: BTreeMap::from([("patient".into(), "Ann".into())]),
        };
        let id = c.originate(req).unwrap();
        assert!(id.0.starts_with("out-") && id.0.len() == 36, "{id}");
        assert_eq!(calls.ids(), vec![id.clone()]);
        let Some(SipCmd::Originate(call)) = rx.try_recv().ok() else { panic!("no originate command") };
        assert_eq!(call.id, id);
        assert_eq!(call.from_user.as_deref(), Some("+15550001111"));
        assert_eq!(call.params["patient"].expose(), "Ann");
        assert_eq!(call.params["flow_version"].expose(), "3");
        // Say before the answer is refused; hangup cancels.
        assert!(matches!(c.say(&id, "hi", false), Err(ControlError::Unavailable(_))));
        c.hangup(&id).unwrap();
        assert!(matches!(rx.try_recv(), Ok(SipCmd::CancelOriginate(x)) if x == id));
        calls.dial_failed(&id);
        assert!(calls.is_empty());
    }

    #[test]
    fn numbers_go_through_the_trunk_and_are_refused_without_one() {
        assert_eq!(phone_number("+1 (555) 123-4567").as_deref(), Some("+15551234567"));
        assert_eq!(phone_number("911").as_deref(), Some("911"));
        for bad in ["", "+", "12", "+1234567890123456", "555-CALL-NOW", "sip:x@1.2.3.4"] {
            assert_eq!(phone_number(bad), None, "{bad}");
        }
        let trunk: std::net::SocketAddr = "192.0.2.7:5080".parse().unwrap();
        let (uri, via) = sip_target("+1 555 123 4567", Some(trunk)).unwrap();
        assert!(via);
        assert_eq!(uri.to_string(), "sip:+15551234567@192.0.2.7:5080;user=phone");
        let (uri, via) = sip_target("sip:bob@192.0.2.9", Some(trunk)).unwrap();
        assert!(!via && uri.to_string().starts_with("sip:bob@192.0.2.9"), "{uri}");
        let e = sip_target("+15551234567", None).unwrap_err().to_string();
        assert!(e.contains("--trunk"), "{e}");
        let e = sip_target("call me maybe", Some(trunk)).unwrap_err().to_string();
        assert!(e.contains("neither a SIP URI nor a phone number"), "{e}");
    }
}
