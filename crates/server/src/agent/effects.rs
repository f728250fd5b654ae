//! The flow's side effects on a live call, run off the runtime threads, their results sent back
//! to the call's task as [`Done::Effect`].
//!
//! - Scheduling ops run against the store with `frontdesk_store::exec::execute` on a blocking
//!   thread (what `frontdesk chat` does); without a store the flow hears `Failed` and says the
//!   schedule cannot be reached.
//! - The caller's opt-out is written to the store's do-not-call list (source `voice`).
//! - Webhooks are not run by the voice loop yet: the flow gets a failed result at once (its
//!   failure route), with a warning.

use std::sync::Arc;
use std::time::Duration;

use frontdesk_agent::Effect;
use frontdesk_flow::{Command, Event};
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
        Command::Webhook { .. } => {
            warn!("webhooks are not run by the voice loop yet: the flow gets a failed result");
            let event = Some(Event::WebhookResult { ok: false, value: None });
            let note = "webhook: not run by the voice loop".to_string();
            let _ = tx.send(Done::Effect(EffectDone { id, event, note, took: Duration::ZERO, failed: true }));
        }
        #[allow(unreachable_patterns, reason = "flow commands added later (an LLM call) land here")]
        _ => {
            warn!("a flow command the voice loop cannot run yet: ignored (the flow may wait for it)");
            let note = "effect: not run by the voice loop".to_string();
            let _ = tx.send(Done::Effect(EffectDone {
                id,
                event: None,
                note,
                took: Duration::ZERO,
                failed: true,
            }));
        }
    }
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
