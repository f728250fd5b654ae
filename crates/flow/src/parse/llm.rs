//! The `llm` action and the flow-level `llm_fallback` (see [`crate::machine::llm`]).
//!
//! ```yaml
//! triage:
//!   llm:
//!     prompt: routing.md                       # in the prompts directory
//!     routes: {billing: billing, booking: offer}   # route name -> node
//!     tools: {check_balance: balance_lookup}   # optional: tool name -> node that runs it
//!     timeout_ms: 4000                         # default 4000, 500..=20000
//!     fallback: main                           # required: every flow works without an LLM
//! ```
//! or `slots: {preferred_time: datetime, party: number}` (slot -> type) instead of `routes`,
//! then `next:`.

use super::yaml::{Ctx, Y, get, integer, map, string};
use crate::ast::{LlmFallback, LlmNode, LlmTask, NodeKind, Pos, Spanned};

/// Default timeout of an LLM exchange.
pub(super) const DEFAULT_TIMEOUT_MS: u64 = 4000;
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 500..=20_000;

fn prompt(cx: &mut Ctx, y: &Y<'_>) -> Option<Spanned<String>> {
    let p = string(cx, y, "prompt")?;
    let ok = p.value.ends_with(".md")
        && !p.value.contains("..")
        && !p.value.starts_with('/')
        && p.value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if !ok {
        cx.err(
            p.pos,
            "invalid",
            format!("`{}` is not a prompt file name", p.value),
            "a `.md` file in the prompts directory, e.g. routing.md",
        );
        return None;
    }
    Some(p)
}

fn timeout(cx: &mut Ctx, e: &super::yaml::Entries<'_, '_>) -> u64 {
    let Some(y) = get(e, "timeout_ms") else { return DEFAULT_TIMEOUT_MS };
    match integer(cx, y, "timeout_ms").and_then(|n| u64::try_from(n).ok()) {
        Some(n) if TIMEOUT_RANGE.contains(&n) => n,
        Some(_) => {
            cx.err(
                super::yaml::pos(y),
                "invalid",
                "an LLM timeout_ms must be between 500 and 20000",
                "the caller is waiting: e.g. 4000",
            );
            DEFAULT_TIMEOUT_MS
        }
        None => DEFAULT_TIMEOUT_MS,
    }
}

fn targets(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Vec<(String, Spanned<String>)> {
    let mut out = Vec::new();
    for (name, npos, v) in super::yaml::open_map(cx, y, what) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            cx.err(
                npos,
                "invalid",
                format!("`{name}` is not a valid {what} name"),
                "letters, digits and `_`",
            );
            continue;
        }
        if let Some(t) = string(cx, v, "a target node") {
            out.push((name, t));
        }
    }
    out
}

pub(super) fn action(cx: &mut Ctx, kpos: Pos, v: &Y<'_>) -> Option<NodeKind> {
    let e = map(cx, v, "llm", &["prompt", "routes", "slots", "tools", "timeout_ms", "fallback"])?;
    let prompt = super::required(cx, &e, kpos, "prompt", "llm").and_then(|y| prompt(cx, y));
    let fallback = super::required(cx, &e, kpos, "fallback", "llm (every flow must work without an LLM)")
        .and_then(|y| string(cx, y, "fallback"));
    let task = match (get(&e, "routes"), get(&e, "slots")) {
        (Some(r), None) => {
            let r = targets(cx, r, "route");
            if r.is_empty() {
                cx.err(
                    kpos,
                    "missing",
                    "`routes` is empty",
                    "routes: {billing: billing_node, booking: offer}",
                );
            }
            LlmTask::Route(r)
        }
        (None, Some(s)) => {
            let mut out = Vec::new();
            for (slot, spos, ty) in super::yaml::open_map(cx, s, "slots") {
                let Some(t) = string(cx, ty, "a slot type") else { continue };
                if t.value == "enum" {
                    cx.err(
                        t.pos,
                        "invalid",
                        "an `llm` node cannot fill an enum slot",
                        "collect it with `collect`, or use text",
                    );
                    continue;
                }
                if let Some(ty) = super::nodes::slot_type_of(cx, &t.value, t.pos) {
                    out.push((slot, ty, spos));
                }
            }
            if out.is_empty() {
                cx.err(kpos, "missing", "`slots` is empty", "slots: {preferred_time: datetime}");
            }
            LlmTask::Slots(out)
        }
        _ => {
            cx.err(kpos, "invalid", "an `llm` node needs exactly one of `routes` or `slots`", "");
            return None;
        }
    };
    let tools = get(&e, "tools").map(|y| targets(cx, y, "tool")).unwrap_or_default();
    let timeout_ms = timeout(cx, &e);
    Some(NodeKind::Llm(LlmNode { prompt: prompt?, task, tools, timeout_ms, fallback: fallback? }))
}

pub(super) fn fallback(cx: &mut Ctx, y: &Y<'_>) -> Option<LlmFallback> {
    let e = map(cx, y, "llm_fallback", &["prompt", "timeout_ms"])?;
    let p =
        super::required(cx, &e, super::yaml::pos(y), "prompt", "llm_fallback").and_then(|y| prompt(cx, y));
    let timeout_ms = timeout(cx, &e);
    Some(LlmFallback { prompt: p?, timeout_ms })
}
