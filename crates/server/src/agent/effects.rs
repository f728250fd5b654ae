//! The flow's side effects on a live call, run off the runtime threads, their results sent back
//! to the call's task as [`Done::Effect`].
//!
//! - Scheduling ops run against the store with `frontdesk_store::exec::execute` on a blocking
//!   thread (what `frontdesk chat` does); without a store the flow hears `Failed` and says the
//!   schedule cannot be reached.
//! - The caller's opt-out is written to the store's do-not-call list (source `voice`).
//! - Webhook nodes and LLM calls run as tasks on the runtime through the shared
//!   [`frontdesk_effects::Effects`] (secrets from `FRONTDESK_SECRET_*`, the LLM from `serve
//!   --llm-url`); their outcomes go back to the flow as in `frontdesk chat`.

use std::sync::Arc;
use std::time::Duration;

use frontdesk_agent::Effect;
use frontdesk_effects::Effects;
use frontdesk_flow::{Command, Event, LlmOutcome, WebhookOutcome};
use frontdesk_schedule::ScheduleOutcome;
use frontdesk_store::Store;
use frontdesk_types::{CallId, Pii};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::call::Done;
use crate::clock::Clock;

/// What became of an effect, for the call's timeline.
#[derive(Debug)]
pub(super) struct EffectDone {
    pub(super) id: u64,
    /// The event for the flow (`None`: nothing to report, e.g. a release).
    pub(super) event: Option<Event>,
    /// A short description (`schedule lookup: 0 appointments`).
    pub(super) note: String,
    pub(super) took: Duration,
    pub(super) failed: bool,
}

/// A short description of an outcome, with no caller data.
fn describe(o: &ScheduleOutcome) -> String {
    match o {
        ScheduleOutcome::Offers { offers, widened } => {
            format!("{} offer(s){}", offers.len(), if *widened { ", widened" } else { "" })
        }
        ScheduleOutcome::Held { hold, .. } => format!("held H{hold}"),
        ScheduleOutcome::Booked { appointment, .. } => format!("booked A{}", appointment.id),
        ScheduleOutcome::Appointments(a) => format!("{} appointment(s)", a.len()),
        ScheduleOutcome::Cancelled(a) => format!("cancelled A{}", a.id),
        ScheduleOutcome::Conflict => "conflict".into(),
        ScheduleOutcome::Expired => "hold expired".into(),
        ScheduleOutcome::NotFound => "not found".into(),
        ScheduleOutcome::Failed(why) => format!("failed: {why}"),
    }
}

/// Starts `effect`; its result comes back on `tx`.
pub(super) fn run(
    store: Option<Arc<dyn Store>>,
    fx: Arc<Effects>,
    clock: Clock,
    effect: Effect,
    tx: mpsc::UnboundedSender<Done>,
) {
    let Effect { id, command, awaits_result } = effect;
    match command {
        Command::Schedule(op) => {
            let name = op.name();
            let Some(store) = store else {
                warn!(op = name, "no store configured: the flow hears that scheduling failed");
                let event = awaits_result
                    .then(|| Event::ScheduleResult(ScheduleOutcome::Failed("no store is configured".into())));
                let note = format!("schedule {name}: no store");
                let _ =
                    tx.send(Done::Effect(EffectDone { id, event, note, took: Duration::ZERO, failed: true }));
                return;
            };
            let started = clock.now();
            tokio::task::spawn_blocking(move || {
                let outcome = frontdesk_store::exec::execute(store.as_ref(), &op);
                let took = clock.now().saturating_duration_since(started);
                let failed = matches!(outcome, ScheduleOutcome::Failed(_));
                let note = format!("schedule {name}: {}", describe(&outcome));
                let event = awaits_result.then_some(Event::ScheduleResult(outcome));
                let _ = tx.send(Done::Effect(EffectDone { id, event, note, took, failed }));
            });
        }
        Command::Webhook(req) => spawn_timed(clock, id, tx, async move {
            let outcome = fx.webhook(&req).await;
            let (failed, note) = match &outcome {
                WebhookOutcome::Ok { status, .. } => (false, format!("webhook {}: {status}", req.node)),
                WebhookOutcome::Failed { kind, attempts } => {
                    (true, format!("webhook {}: failed ({}, {attempts} attempt(s))", req.node, kind.code()))
                }
            };
            (awaits_result.then_some(Event::WebhookOutcome(outcome)), note, failed)
        }),
        Command::Llm(req) => spawn_timed(clock, id, tx, async move {
            let outcome = fx.llm(&req).await;
            let (failed, note) = match &outcome {
                LlmOutcome::Failed(f) => (true, format!("llm {}: failed ({})", req.node, f.code())),
                LlmOutcome::Route(r) => (false, format!("llm {}: route {r}", req.node)),
                LlmOutcome::Slots(v) => (false, format!("llm {}: {} slot(s)", req.node, v.len())),
                LlmOutcome::Tool { name, .. } => (false, format!("llm {}: tool {name}", req.node)),
            };
            (awaits_result.then_some(Event::LlmOutcome(outcome)), note, failed)
        }),
        _ => {
            warn!("a flow command the voice loop cannot run: ignored");
            let note = "effect: not run by the voice loop".to_string();
            let event = None;
            let _ = tx.send(Done::Effect(EffectDone { id, event, note, took: Duration::ZERO, failed: true }));
        }
    }
}

/// Runs an HTTP effect (its event, note and failure) as a task; its result, timed, goes to `tx`.
fn spawn_timed(
    clock: Clock,
    id: u64,
    tx: mpsc::UnboundedSender<Done>,
    effect: impl Future<Output = (Option<Event>, String, bool)> + Send + 'static,
) {
    let started = clock.now();
    tokio::spawn(async move {
        let (event, note, failed) = effect.await;
        let took = clock.now().saturating_duration_since(started);
        let _ = tx.send(Done::Effect(EffectDone { id, event, note, took, failed }));
    });
}

/// Records the caller's do-not-call request on a blocking thread.
pub(super) fn opt_out(store: Option<Arc<dyn Store>>, call: CallId, caller: Option<Pii<String>>) {
    let (Some(store), Some(phone)) = (store, caller) else {
        warn!(call = %call, "caller opted out, but there is no store or no caller number: not recorded");
        return;
    };
    tokio::task::spawn_blocking(move || {
        match store.add_opt_out(phone.expose(), "voice", Some(&call), super::log::wall_now()) {
            Ok(_) => info!(call = %call, "caller opted out: recorded"),
            Err(e) => warn!(call = %call, error = %e, "cannot record the opt-out"),
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use frontdesk_agent::Effect;
    use frontdesk_effects::Effects;
    use frontdesk_flow::{Bundle, Command, Event, FlowMachine, WebhookOutcome};
    use frontdesk_types::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    use super::super::call::Done;
    use crate::clock::Clock;

    const FLOW: &str = r#"flow: balance
business: Acme Dental
start: lookup
nodes:
  lookup:
    say: One moment.
    webhook:
      method: GET
      url: "{{secret.BILLING}}/patient"
      timeout_ms: 2000
      result: {name: patient.name}
      on_failure: sorry
    next: tell
  tell:
    say: "Thanks, {{name}}."
    hangup: true
  sorry:
    say: The billing system is not answering.
    hangup: true
"#;

    /// One HTTP/1.1 answer on a real socket.
    async fn billing_server(body: &'static str) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await.unwrap();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
        });
        addr
    }

    /// The flow's webhook node runs through the voice loop's effect path against a real HTTP
    /// server, and its mapped result reaches the flow.
    #[tokio::test]
    async fn a_webhook_node_runs_on_a_live_call_and_its_result_reaches_the_flow() {
        let dir = std::env::temp_dir().join(format!("fd-fx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("balance.yaml");
        std::fs::write(&path, FLOW).unwrap();
        let bundle = Arc::new(Bundle::load(&path).unwrap());
        let wall = frontdesk_flow::convo::parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        let mut m = FlowMachine::new(bundle, wall);
        m.handle_event(Instant::ZERO, Event::Start).unwrap();
        let cmd = std::iter::from_fn(|| m.poll_command()).find(|c| matches!(c, Command::Webhook(_))).unwrap();

        let addr = billing_server(r#"{"patient": {"name": "Ann"}}"#).await;
        let fx = Arc::new(Effects::default().with_secret("BILLING", format!("http://{addr}")));
        let (tx, mut rx) = mpsc::unbounded_channel();
        super::run(None, fx, Clock::new(), Effect { id: 7, command: cmd, awaits_result: true }, tx);
        let Some(Done::Effect(done)) = rx.recv().await else { panic!("no effect result") };
        assert_eq!(done.id, 7);
        assert!(!done.failed, "{}", done.note);
        let Some(ev @ Event::WebhookOutcome(WebhookOutcome::Ok { .. })) = done.event else {
            panic!("not a webhook outcome: {:?}", done.event)
        };
        m.handle_event(Instant::from_millis(50), ev).unwrap();
        let said: Vec<String> = std::iter::from_fn(|| m.poll_command())
            .filter_map(|c| if let Command::Say { text } = c { Some(text) } else { None })
            .collect();
        assert!(said.iter().any(|s| s.contains("Thanks, Ann.")), "{said:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
