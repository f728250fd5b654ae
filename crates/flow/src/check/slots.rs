//! Slot checks: set-before-use (must-analysis over the node graph) and types.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{CondOp, Flow, Literal, LlmNode, LlmTask, Node, NodeKind, Pos, SlotType};
use crate::diag::Diagnostic;
use crate::template::Template;

/// Set by every webhook node: whether the call succeeded.
const WEBHOOK_OK: &str = "webhook_ok";
/// Set by a failed webhook: why (`timeout`, `http_500`, ...).
const WEBHOOK_ERROR: &str = "webhook_error";
/// Set by every `llm` node once its answer is in: whether it was usable.
const LLM_OK: &str = "llm_ok";
/// Set by an `llm` node that took a route: the route's name.
const LLM_ROUTE: &str = "llm_route";
/// Set by an `llm` node that took its `fallback`: why (`timeout`, `invalid_answer`, ...).
const LLM_ERROR: &str = "llm_error";

/// What we know of a slot's type: collected type, or the literal kind `set` gives it.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    Ty(SlotType),
    Any,
}

fn slot_types(flow: &Flow, out: &mut Vec<Diagnostic>) -> BTreeMap<String, (Known, Pos)> {
    let mut m: BTreeMap<String, (Known, Pos)> = BTreeMap::new();
    for n in &flow.nodes {
        match &n.kind {
            NodeKind::Collect(c) => {
                if let Some((Known::Ty(t), p)) = m.get(&c.slot)
                    && t.name() != c.ty.name()
                {
                    out.push(Diagnostic::new(
                        n.pos,
                        "type-mismatch",
                        format!(
                            "slot `{}` is collected as `{}` here and as `{}` at {p}",
                            c.slot,
                            c.ty.name(),
                            t.name()
                        ),
                        "use one type per slot, or another slot name",
                    ));
                }
                m.insert(c.slot.clone(), (Known::Ty(c.ty.clone()), n.pos));
            }
            NodeKind::Set(items) => {
                for (k, _, p) in items {
                    m.entry(k.clone()).or_insert((Known::Any, *p));
                }
            }
            NodeKind::Webhook(w) => {
                for r in w.result.vars() {
                    m.entry(r.to_owned()).or_insert((Known::Any, n.pos));
                }
                m.insert(WEBHOOK_OK.into(), (Known::Ty(SlotType::YesNo), n.pos));
                m.entry(WEBHOOK_ERROR.into()).or_insert((Known::Any, n.pos));
            }
            NodeKind::Llm(l) => {
                if let LlmTask::Slots(slots) = &l.task {
                    for (k, ty, p) in slots {
                        m.entry(k.clone()).or_insert((Known::Ty(ty.clone()), *p));
                    }
                }
                for k in [LLM_OK, LLM_ROUTE, LLM_ERROR] {
                    m.entry(k.into()).or_insert((Known::Any, n.pos));
                }
            }
            NodeKind::FindSlots(_) | NodeKind::Lookup(_) => {
                for (i, d) in defs(n).into_iter().enumerate() {
                    let ty = if i == 0 { SlotType::DateTime } else { SlotType::Text };
                    m.insert(d.to_owned(), (Known::Ty(ty), n.pos));
                }
            }
            _ => {}
        }
    }
    for i in &flow.inputs {
        m.entry(i.value.clone()).or_insert((Known::Any, i.pos));
    }
    // `set` literals against collected types.
    for n in &flow.nodes {
        if let NodeKind::Set(items) = &n.kind {
            for (k, lit, p) in items {
                if let Some((Known::Ty(t), _)) = m.get(k)
                    && !literal_fits(t, lit)
                {
                    out.push(Diagnostic::new(
                        *p,
                        "type-mismatch",
                        format!("`{lit}` is not a valid `{}` value for slot `{k}`", t.name()),
                        hint_for(t),
                    ));
                }
            }
        }
    }
    m
}

fn literal_fits(t: &SlotType, lit: &Literal) -> bool {
    match (t, lit) {
        (SlotType::YesNo, Literal::Bool(_)) => true,
        (SlotType::YesNo, Literal::Str(s)) => s == "yes" || s == "no",
        (SlotType::Number, Literal::Int(_)) => true,
        (SlotType::Digits | SlotType::Phone, Literal::Int(_)) => true,
        (SlotType::Digits | SlotType::Phone, Literal::Str(s)) => {
            s.chars().all(|c| c.is_ascii_digit() || c == '+')
        }
        (SlotType::Enum(opts), Literal::Str(s)) => opts.iter().any(|(c, _)| c == s),
        (SlotType::PersonName | SlotType::Text, Literal::Str(_)) => true,
        _ => false,
    }
}

fn hint_for(t: &SlotType) -> String {
    match t {
        SlotType::YesNo => "compare with true or false".into(),
        SlotType::Number => "compare with a whole number".into(),
        SlotType::Enum(o) => {
            format!("options are: {}", o.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "))
        }
        SlotType::Date | SlotType::Time | SlotType::DateTime => {
            "date/time slots can only be tested for being set".into()
        }
        _ => "compare with text".into(),
    }
}

/// What `find_slots` and `lookup` set besides the slot itself (`slot_with`, ...).
pub(crate) const SCHEDULE_SUFFIXES: &[&str] = &["_with", "_provider", "_type"];

/// Slots a node sets when it completes normally.
fn defs(n: &Node) -> Vec<String> {
    let sched = |slot: &str, extra: &[&str]| -> Vec<String> {
        std::iter::once(slot.to_owned())
            .chain(SCHEDULE_SUFFIXES.iter().chain(extra).map(|s| format!("{slot}{s}")))
            .collect()
    };
    let borrowed: Vec<&str> = match &n.kind {
        NodeKind::FindSlots(f) => return sched(&f.slot.value, &[]),
        NodeKind::Lookup(l) => return sched(&l.slot.value, &["_id"]),
        NodeKind::Collect(c) => vec![c.slot.as_str()],
        NodeKind::Set(items) => items.iter().map(|(k, _, _)| k.as_str()).collect(),
        // Result variables are set only on success: they count as set after the node only when
        // failures leave by `on_failure`.
        NodeKind::Webhook(w) if w.on_failure.is_some() => {
            w.result.vars().into_iter().chain([WEBHOOK_OK]).collect()
        }
        NodeKind::Webhook(_) => vec![WEBHOOK_OK],
        NodeKind::Llm(l) => match &l.task {
            LlmTask::Slots(s) => s.iter().map(|(k, _, _)| k.as_str()).chain([LLM_OK]).collect(),
            LlmTask::Route(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    borrowed.into_iter().map(str::to_owned).collect()
}

/// An `llm` node's outcome edges and what each carries besides `inn`: `fallback` carries
/// `llm_ok` and `llm_error` (as a webhook's `on_failure` carries `webhook_error`), a route
/// `llm_ok` and `llm_route`, a tool `llm_ok`. Its slots (a `slots:` task) are set only on the
/// way to `next`/`routes`.
fn llm_edges<'a>(l: &'a LlmNode, inn: &BTreeSet<String>) -> Vec<(&'a str, BTreeSet<String>)> {
    let with = |extra: &[&str]| -> BTreeSet<String> {
        inn.iter().cloned().chain(extra.iter().map(|s| (*s).to_owned())).collect()
    };
    let mut out = vec![(l.fallback.value.as_str(), with(&[LLM_OK, LLM_ERROR]))];
    if let LlmTask::Route(routes) = &l.task {
        out.extend(routes.iter().map(|(_, t)| (t.value.as_str(), with(&[LLM_OK, LLM_ROUTE]))));
    }
    out.extend(l.tools.iter().map(|(_, t)| (t.value.as_str(), with(&[LLM_OK]))));
    out
}

/// Templates a node speaks before its own slot is set, and after (confirm).
fn templates(n: &Node) -> (Vec<&Template>, Vec<&Template>) {
    let mut before: Vec<&Template> = n.say.iter().collect();
    let mut after = Vec::new();
    match &n.kind {
        NodeKind::Collect(c) => {
            before.push(&c.prompt);
            before.extend(c.reprompt.no_input.iter().chain(c.reprompt.no_match.iter()));
            after.extend(c.confirm.iter());
        }
        NodeKind::Menu(m) => {
            before
                .extend(m.prompt.iter().chain(m.reprompt.no_input.iter()).chain(m.reprompt.no_match.iter()));
        }
        NodeKind::Faq(f) => before.extend(f.prompt.iter()),
        NodeKind::Webhook(w) => {
            before.push(&w.url);
            before.extend(w.headers.iter().map(|(_, t)| t));
            before.extend(w.body.iter().flat_map(crate::ast::JsonTemplate::templates));
        }
        NodeKind::FindSlots(f) => {
            before
                .extend(f.prompt.iter().chain(f.reprompt.no_input.iter()).chain(f.reprompt.no_match.iter()));
        }
        NodeKind::Book(b) => {
            before.extend(
                [&b.confirm].into_iter().chain(b.reprompt.no_input.iter()).chain(b.reprompt.no_match.iter()),
            );
        }
        NodeKind::Cancel(c) => {
            before.extend(
                [&c.confirm].into_iter().chain(c.reprompt.no_input.iter()).chain(c.reprompt.no_match.iter()),
            );
        }
        _ => {}
    }
    (before, after)
}

pub(super) fn check_slots(flow: &Flow, out: &mut Vec<Diagnostic>) {
    let types = slot_types(flow, out);
    let idx: BTreeMap<&str, usize> = flow.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    // IN sets; None = not yet reached (the top of the lattice).
    let mut ins: Vec<Option<BTreeSet<String>>> = vec![None; flow.nodes.len()];
    let inputs: BTreeSet<String> = flow.inputs.iter().map(|i| i.value.clone()).collect();
    let mut work: Vec<usize> = Vec::new();
    let roots =
        std::iter::once(&flow.start).chain(flow.global.human.iter()).chain(flow.global.goodbye.iter());
    for r in roots {
        if let Some(&i) = idx.get(r.value.as_str())
            && let Some(slot) = ins.get_mut(i)
        {
            *slot = Some(inputs.clone());
            work.push(i);
        }
    }
    let mut budget = flow.nodes.len().saturating_mul(flow.nodes.len()).saturating_add(64) * 4;
    while let Some(i) = work.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let (Some(n), Some(Some(inn))) = (flow.nodes.get(i), ins.get(i).cloned()) else { continue };
        let mut outs = inn.clone();
        outs.extend(defs(n));
        // A webhook that succeeds clears `webhook_error` (an earlier failure's), as the
        // machine does.
        if matches!(n.kind, NodeKind::Webhook(_)) {
            outs.remove(WEBHOOK_ERROR);
        }
        // Outcome edges (`none`, `declined`) leave before the node's slots are set.
        let mut succ: Vec<(&str, BTreeSet<String>)> = n
            .routes
            .iter()
            .map(|r| r.goto.value.as_str())
            .chain(n.next.iter().map(|x| x.value.as_str()))
            .map(|t| (t, outs.clone()))
            .collect();
        match &n.kind {
            NodeKind::Llm(l) => succ.extend(llm_edges(l, &inn)),
            kind => {
                // A webhook's `on_failure` edge carries `webhook_ok` and `webhook_error`, not its
                // result.
                let mut failed = inn.clone();
                if matches!(kind, NodeKind::Webhook(_)) {
                    failed.extend([WEBHOOK_OK.to_owned(), WEBHOOK_ERROR.to_owned()]);
                }
                succ.extend(kind.outcome_targets().into_iter().map(|t| (t.value.as_str(), failed.clone())));
            }
        }
        if let Some((t, _)) = super::escalation(flow, n) {
            succ.push((t, inn.clone()));
        }
        for (t, set) in succ {
            let Some(&j) = idx.get(t) else { continue };
            let Some(slot) = ins.get_mut(j) else { continue };
            let new = match slot {
                None => set,
                Some(old) => old.intersection(&set).cloned().collect(),
            };
            if slot.as_ref() != Some(&new) {
                *slot = Some(new);
                work.push(j);
            }
        }
    }
    for (i, n) in flow.nodes.iter().enumerate() {
        let inn = ins.get(i).cloned().flatten().unwrap_or_default();
        let (before, after) = templates(n);
        let mut with_own = inn.clone();
        with_own.extend(defs(n));
        for (ts, set) in [(before, &inn), (after, &with_own)] {
            for t in ts {
                for (name, filter) in t.vars() {
                    if name.starts_with(crate::parse::webhook::SECRET_PREFIX) {
                        continue;
                    }
                    if !set.contains(name) {
                        let from_webhook = flow.nodes.iter().any(
                            |w| matches!(&w.kind, NodeKind::Webhook(wh) if wh.result.vars().contains(&name)),
                        );
                        let hint = if from_webhook {
                            "a failed webhook leaves its result unset: give the webhook `on_failure: NODE`"
                        } else if name == WEBHOOK_ERROR {
                            "`webhook_error` is set only on a failed webhook's path: read it in its `on_failure` node"
                        } else if name == LLM_ERROR {
                            "`llm_error` is set only on an llm node's `fallback` path: read it in the fallback node"
                        } else if types.contains_key(name) {
                            "some path reaches this node before the slot is collected; collect it earlier or route around"
                        } else {
                            "no node sets this slot; add a `collect` or `set` for it"
                        };
                        out.push(Diagnostic::new(
                            t.pos,
                            "unset-slot",
                            format!("`{{{{{name}}}}}` may be used before it is set (node `{}`)", n.id),
                            hint,
                        ));
                    }
                    filter_type(name, filter, t.pos, &types, out);
                }
            }
        }
        if let NodeKind::Transfer(tr) = &n.kind {
            for (_, t) in &tr.context {
                for (name, filter) in t.vars() {
                    if !types.contains_key(name) {
                        out.push(Diagnostic::new(
                            t.pos,
                            "unset-slot",
                            format!("transfer context reads `{name}`, which no node sets"),
                            "add a `collect` or `set` for it",
                        ));
                    }
                    filter_type(name, filter, t.pos, &types, out);
                }
            }
        }
        for r in &n.routes {
            let Some(c) = &r.cond else { continue };
            match (types.get(&c.slot), &c.op) {
                (None, _) => out.push(Diagnostic::new(
                    c.pos,
                    "unset-slot",
                    format!("condition reads slot `{}`, which no node sets", c.slot),
                    "add a `collect` or `set` for it",
                )),
                (Some((Known::Ty(t), _)), CondOp::Eq(l) | CondOp::Ne(l)) if !literal_fits(t, l) => {
                    out.push(Diagnostic::new(
                        c.pos,
                        "type-mismatch",
                        format!("slot `{}` is `{}`; `{l}` can never match", c.slot, t.name()),
                        hint_for(t),
                    ));
                }
                _ => {}
            }
        }
    }
}

fn filter_type(
    name: &str,
    filter: Option<&str>,
    pos: Pos,
    types: &BTreeMap<String, (Known, Pos)>,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(f), Some((Known::Ty(t), _))) = (filter, types.get(name)) else { return };
    let date = matches!(t, SlotType::Date | SlotType::Time | SlotType::DateTime);
    let bad = (f.starts_with("spoken_") && !date) || (f == "digits" && date);
    if bad {
        out.push(Diagnostic::new(
            pos,
            "type-mismatch",
            format!("filter `{f}` does not apply to slot `{name}` of type `{}`", t.name()),
            if date {
                "use spoken_datetime, spoken_date or spoken_time"
            } else {
                "spoken_* filters are for date/time slots"
            },
        ));
    }
}
