//! The checker: everything about a flow that can be known before a call.
//!
//! - `unknown-node`: a `start`, `next`, `goto`, `escalate` or `global` target that is not a node.
//! - `unreachable`: a node no path from `start` (or a global handler) leads to.
//! - `unset-slot`: a template reads a slot that is not set on every path to it (a must-analysis
//!   over the node graph: a slot is set after a `collect`, `set` or `webhook` result; the
//!   escalation edge of a `collect` leaves before its slot is set); a condition names a slot
//!   nothing sets.
//! - `missing-reprompt`: a listening node (`collect`, `menu`, `find_slots`, `book`, `cancel`) without `no_input` or `no_match`,
//!   or with no escalation target (`escalate` or `global.human`).
//! - `type-mismatch`: a condition compares a slot with a value of another type or an unknown
//!   enum option; a date filter on a non-date slot; one slot collected with two types.
//! - `undefined-intent`: a route names an intent not in `intents:`.
//! - `dead-end`: a node that neither ends the call nor leads anywhere.
//! - `untruthful`: an `are_you_human` answer that does not say the agent is automated.
//! - Scheduling nodes ([`schedule`]): `book` of a slot no `find_slots` holds, `cancel` of a
//!   slot no `lookup` sets, a `when` that is not a date/time slot, a missing `none` route, no
//!   `resources:` file; against the resources file ([`check_resources`]): an unknown
//!   appointment type (`unknown-type`) or provider (`unknown-provider`), with "did you mean".

mod schedule;
mod slots;

pub use schedule::check_resources;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::ast::{Flow, Node, NodeKind, Pos};
use crate::diag::{Diagnostic, suggest};

/// All problems in `flow`, sorted by position.
pub fn check(flow: &Flow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ids: Vec<&str> = flow.nodes.iter().map(|n| n.id.as_str()).collect();
    let target = |name: &str, pos: Pos, what: &str, out: &mut Vec<Diagnostic>| {
        if !ids.contains(&name) {
            out.push(Diagnostic::new(
                pos,
                "unknown-node",
                format!("{what} `{name}` is not a node"),
                suggest(name, ids.iter().copied()),
            ));
        }
    };
    target(&flow.start.value, flow.start.pos, "start", &mut out);
    for g in [&flow.global.human, &flow.global.goodbye].into_iter().flatten() {
        target(&g.value, g.pos, "global target", &mut out);
    }
    if let Some(t) = &flow.global.are_you_human {
        let w = crate::intents::words(&t.source);
        let truthful = ["automated", "virtual", "ai", "bot", "robot", "computer", "machine"]
            .iter()
            .any(|k| w.iter().any(|x| x == k));
        if !truthful {
            out.push(Diagnostic::new(
                t.pos,
                "untruthful",
                "`are_you_human` must say the caller is talking to an automated assistant",
                "e.g. \"No, I'm an automated assistant for {{business}}.\"",
            ));
        }
    }
    for n in &flow.nodes {
        for (name, pos) in edges(flow, n, true) {
            target(name, pos, "target", &mut out);
        }
        node_rules(flow, n, &mut out);
    }
    unreachable(flow, &mut out);
    slots::check_slots(flow, &mut out);
    schedule::check_nodes(flow, &mut out);
    out.sort();
    out.dedup();
    out
}

/// Outgoing edges of `n` with positions; `with_escalation` adds the failure edge.
pub(crate) fn edges<'a>(flow: &'a Flow, n: &'a Node, with_escalation: bool) -> Vec<(&'a str, Pos)> {
    let mut e: Vec<(&str, Pos)> = n.routes.iter().map(|r| (r.goto.value.as_str(), r.goto.pos)).collect();
    if let Some(next) = &n.next {
        e.push((next.value.as_str(), next.pos));
    }
    e.extend(n.kind.outcome_targets().into_iter().map(|t| (t.value.as_str(), t.pos)));
    if with_escalation && let Some(t) = escalation(flow, n) {
        e.push(t);
    }
    e
}

/// Where repeated failure on a listening node goes.
pub(crate) fn escalation<'a>(flow: &'a Flow, n: &'a Node) -> Option<(&'a str, Pos)> {
    let r = n.kind.reprompts()?;
    r.escalate.as_ref().or(flow.global.human.as_ref()).map(|s| (s.value.as_str(), s.pos))
}

fn node_rules(flow: &Flow, n: &Node, out: &mut Vec<Diagnostic>) {
    if let Some(r) = n.kind.reprompts() {
        if r.no_input.is_none() {
            out.push(Diagnostic::new(
                n.pos,
                "missing-reprompt",
                format!("node `{}` has no `no_input` reprompt", n.id),
                "add `no_input:` with what to say after silence, e.g. \"Sorry, I didn't hear you. ...\"",
            ));
        }
        if r.no_match.is_none() {
            out.push(Diagnostic::new(
                n.pos,
                "missing-reprompt",
                format!("node `{}` has no `no_match` reprompt", n.id),
                "add `no_match:` with a rephrased question that says what answers work",
            ));
        }
        if escalation(flow, n).is_none() {
            out.push(Diagnostic::new(
                n.pos,
                "missing-reprompt",
                format!("node `{}` has nowhere to escalate after repeated failure", n.id),
                "add `escalate: NODE` or `global: {human: NODE}`",
            ));
        }
    }
    for r in &n.routes {
        if let Some(i) = &r.intent {
            if !flow.intents.contains_key(&i.value) {
                out.push(Diagnostic::new(
                    i.pos,
                    "undefined-intent",
                    format!("intent `{}` is not defined", i.value),
                    {
                        let s = suggest(&i.value, flow.intents.keys().map(String::as_str));
                        if s.is_empty() {
                            "define it under `intents:` with example phrases".to_owned()
                        } else {
                            s
                        }
                    },
                ));
            }
            if !matches!(n.kind, NodeKind::Menu(_)) {
                out.push(Diagnostic::new(
                    i.pos,
                    "invalid",
                    format!("node `{}` routes on an intent but does not listen for one", n.id),
                    "intent routes belong to a `menu:` node",
                ));
            }
        }
    }
    let faq = matches!(n.kind, NodeKind::Faq(_)) || matches!(&n.kind, NodeKind::Menu(m) if m.faq);
    if faq && flow.knowledge.is_none() {
        out.push(Diagnostic::new(
            n.pos,
            "missing",
            format!("node `{}` answers from the knowledge base but the flow has no `knowledge:` file", n.id),
            "add `knowledge: kb.yaml` at the top",
        ));
    }
    match &n.kind {
        NodeKind::Menu(m) => {
            if !n.routes.iter().any(|r| r.intent.is_some()) && !m.faq {
                out.push(Diagnostic::new(
                    n.pos,
                    "invalid",
                    format!("menu `{}` has no intent routes", n.id),
                    "add `routes: [{intent: NAME, goto: NODE}]` or `faq: true`",
                ));
            }
            if n.next.is_none() && m.faq {
                out.push(Diagnostic::new(
                    n.pos,
                    "dead-end",
                    format!(
                        "menu `{}` answers questions but has no `next:` to continue after an answer",
                        n.id
                    ),
                    "add `next:` (often the menu itself)",
                ));
            }
        }
        NodeKind::Transfer(_) | NodeKind::Hangup => {}
        // A routing `llm` node always goes somewhere: a route's node or its fallback.
        NodeKind::Llm(l) if matches!(l.task, crate::ast::LlmTask::Route(_)) => {}
        _ => {
            if n.next.is_none() && !n.routes.iter().any(|r| r.cond.is_none() && r.intent.is_none()) {
                out.push(Diagnostic::new(
                    n.pos,
                    "dead-end",
                    format!("node `{}` does not say where to go next", n.id),
                    "add `next: NODE`, or end the call with `hangup: true`",
                ));
            }
        }
    }
}

fn unreachable(flow: &Flow, out: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([flow.start.value.as_str()]);
    for g in [&flow.global.human, &flow.global.goodbye].into_iter().flatten() {
        queue.push_back(&g.value);
    }
    let by_id: BTreeMap<&str, &Node> = flow.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(n) = by_id.get(id) {
            queue.extend(edges(flow, n, true).into_iter().map(|(t, _)| t));
        }
    }
    for n in &flow.nodes {
        if !seen.contains(n.id.as_str()) {
            out.push(Diagnostic::new(
                n.pos,
                "unreachable",
                format!("node `{}` is unreachable from `{}`", n.id, flow.start.value),
                "route to it from another node, or delete it",
            ));
        }
    }
}

#[cfg(test)]
mod tests;
