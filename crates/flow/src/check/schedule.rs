//! Checks of the scheduling nodes: within the flow ([`check_nodes`]) and against the resources
//! file ([`check_resources`]).

use std::collections::BTreeMap;

use crate::ast::{Flow, NodeKind, Pos, SlotType, Spanned};
use crate::diag::{Diagnostic, suggest};
use crate::parse::resources::Resources;

/// What sets each slot: `collect` type, `find_slots`, `lookup`, or other (`set`, webhook, input).
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Collect(SlotType),
    FindSlots,
    Lookup,
    Other,
}

fn sources(flow: &Flow) -> BTreeMap<&str, Source> {
    let mut m = BTreeMap::new();
    for i in &flow.inputs {
        m.insert(i.value.as_str(), Source::Other);
    }
    for n in &flow.nodes {
        match &n.kind {
            NodeKind::Collect(c) => {
                m.insert(c.slot.as_str(), Source::Collect(c.ty.clone()));
            }
            NodeKind::FindSlots(f) => {
                m.insert(f.slot.value.as_str(), Source::FindSlots);
            }
            NodeKind::Lookup(l) => {
                m.insert(l.slot.value.as_str(), Source::Lookup);
            }
            NodeKind::Set(items) => {
                for (k, _, _) in items {
                    m.entry(k.as_str()).or_insert(Source::Other);
                }
            }
            NodeKind::Webhook(w) => {
                for r in w.result.vars() {
                    m.entry(r).or_insert(Source::Other);
                }
            }
            _ => {}
        }
    }
    m
}

fn need(
    srcs: &BTreeMap<&str, Source>,
    s: &Spanned<String>,
    ok: impl Fn(&Source) -> bool,
    what: &str,
    hint: &str,
    out: &mut Vec<Diagnostic>,
) {
    match srcs.get(s.value.as_str()) {
        Some(src) if ok(src) => {}
        Some(_) => out.push(Diagnostic::new(
            s.pos,
            "type-mismatch",
            format!("slot `{}` is not {what}", s.value),
            hint,
        )),
        None => out.push(Diagnostic::new(
            s.pos,
            "unset-slot",
            format!("slot `{}` is not set by any node", s.value),
            format!("{hint}{}", with_suggestion(&s.value, srcs)),
        )),
    }
}

fn with_suggestion(name: &str, srcs: &BTreeMap<&str, Source>) -> String {
    let s = suggest(name, srcs.keys().copied());
    if s.is_empty() { String::new() } else { format!("; {s}") }
}

/// Checks that need no resources file.
pub(super) fn check_nodes(flow: &Flow, out: &mut Vec<Diagnostic>) {
    let srcs = sources(flow);
    let mut scheduling: Option<Pos> = None;
    for n in &flow.nodes {
        match &n.kind {
            NodeKind::FindSlots(f) => {
                scheduling.get_or_insert(n.pos);
                if let Some(w) = &f.when {
                    need(
                        &srcs,
                        w,
                        |s| {
                            matches!(s, Source::Collect(SlotType::Date | SlotType::Time | SlotType::DateTime))
                        },
                        "a date or time slot",
                        "`when` names a slot collected with `type: datetime` (or date, time)",
                        out,
                    );
                }
                if let Some(p) = &f.provider {
                    need(
                        &srcs,
                        p,
                        |s| matches!(s, Source::Collect(SlotType::Enum(_)) | Source::Other),
                        "a provider slot",
                        "`provider` names an enum slot whose options are provider ids (and `any`)",
                        out,
                    );
                }
                if let Some(t) = &f.type_slot {
                    need(
                        &srcs,
                        t,
                        |s| matches!(s, Source::Collect(SlotType::Enum(_)) | Source::Other),
                        "an appointment-type slot",
                        "`type_slot` names an enum slot whose options are appointment type ids",
                        out,
                    );
                }
                if let Some(r) = &f.replaces {
                    need(
                        &srcs,
                        r,
                        |s| *s == Source::Lookup,
                        "an appointment found by `lookup`",
                        "`replaces` names the slot of a `lookup` node",
                        out,
                    );
                }
                if f.none.is_none() {
                    out.push(Diagnostic::new(
                        n.pos,
                        "missing-route",
                        format!("find_slots `{}` has no `none:` for when nothing is open", n.id),
                        "add `none: NODE` (e.g. ask for another day, or the front desk)",
                    ));
                }
            }
            NodeKind::Book(b) => {
                scheduling.get_or_insert(n.pos);
                need(
                    &srcs,
                    &b.slot,
                    |s| *s == Source::FindSlots,
                    "a slot held by `find_slots`",
                    "`book.slot` names the `slot` of a `find_slots` node",
                    out,
                );
                if let Some(name) = &b.name {
                    need(&srcs, name, |_| true, "", "collect the name first", out);
                }
            }
            NodeKind::Cancel(c) => {
                scheduling.get_or_insert(n.pos);
                need(
                    &srcs,
                    &c.slot,
                    |s| *s == Source::Lookup,
                    "an appointment found by `lookup`",
                    "`cancel.slot` names the `slot` of a `lookup` node",
                    out,
                );
            }
            NodeKind::Lookup(l) => {
                scheduling.get_or_insert(n.pos);
                if let Some(id) = &l.id {
                    need(&srcs, id, |_| true, "", "list it under `inputs:` or set it before the lookup", out);
                }
            }
            _ => {}
        }
    }
    if let Some(at) = scheduling
        && flow.resources.is_none()
    {
        out.push(Diagnostic::new(
            at,
            "missing",
            "the flow schedules appointments but names no `resources:` file",
            "add `resources: clinic-resources.yaml` (providers, hours, appointment types) at the top",
        ));
    }
}

/// Checks the flow's appointment types and providers against a resources file.
pub fn check_resources(flow: &Flow, res: &Resources) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let enum_options = |slot: &str| -> Vec<(String, Pos)> {
        flow.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Collect(c) if c.slot == slot => match &c.ty {
                    SlotType::Enum(o) => Some(o.iter().map(|(v, _)| (v.clone(), n.pos)).collect::<Vec<_>>()),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
            .collect()
    };
    for n in &flow.nodes {
        let NodeKind::FindSlots(f) = &n.kind else { continue };
        if let Some(t) = &f.appointment_type
            && !res.type_ids().any(|i| i == t.value)
        {
            out.push(Diagnostic::new(
                t.pos,
                "unknown-type",
                format!("appointment type `{}` is not in the resources file", t.value),
                or_list(suggest(&t.value, res.type_ids()), res.type_ids()),
            ));
        }
        if let Some(ts) = &f.type_slot {
            for (v, p) in enum_options(&ts.value) {
                if !res.type_ids().any(|i| i == v) {
                    out.push(Diagnostic::new(
                        p,
                        "unknown-type",
                        format!("option `{v}` of slot `{}` is not an appointment type", ts.value),
                        or_list(suggest(&v, res.type_ids()), res.type_ids()),
                    ));
                }
            }
        }
        if let Some(ps) = &f.provider {
            for (v, p) in enum_options(&ps.value) {
                if v != "any" && !res.provider_ids().any(|i| i == v) {
                    out.push(Diagnostic::new(
                        p,
                        "unknown-provider",
                        format!("option `{v}` of slot `{}` is not a provider", ps.value),
                        or_list(suggest(&v, res.provider_ids()), res.provider_ids()),
                    ));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn or_list<'a>(s: String, all: impl Iterator<Item = &'a str>) -> String {
    if s.is_empty() { format!("known: {}", all.collect::<Vec<_>>().join(", ")) } else { s }
}
