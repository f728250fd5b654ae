//! Nodes: `say` + one action key (`menu`, `collect`, `faq`, `transfer`, `hangup`, `set`,
//! `webhook`, and the scheduling actions of [`super::schedule`]) + `routes`/`next`.

use super::template;
use super::yaml::{
    Ctx, Entries, Y, boolean, get, integer, literal, map, pos, scalar_text, seq, string, strings,
};
use crate::ast::{
    Collect, Cond, CondOp, FaqNode, Literal, Menu, Node, NodeKind, Pos, Reprompts, Route, SlotType, Transfer,
    TransferTarget, Validate,
};

const NODE_KEYS: &[&str] = &[
    "say",
    "menu",
    "collect",
    "faq",
    "transfer",
    "hangup",
    "set",
    "webhook",
    "llm",
    "find_slots",
    "book",
    "lookup",
    "cancel",
    "routes",
    "next",
];
const ACTIONS: &[&str] = &[
    "menu",
    "collect",
    "faq",
    "transfer",
    "hangup",
    "set",
    "webhook",
    "llm",
    "find_slots",
    "book",
    "lookup",
    "cancel",
];
const REPROMPT_KEYS: &[&str] = &["no_input", "no_match", "max_tries", "escalate"];
/// Slot type names accepted in YAML.
pub(crate) const SLOT_TYPES: &[&str] =
    &["yes_no", "number", "digits", "phone", "date", "time", "datetime", "person_name", "enum", "text"];

pub(super) fn nodes(cx: &mut Ctx, y: &Y<'_>) -> Vec<Node> {
    let mut out = Vec::new();
    for (id, npos, v) in super::yaml::open_map(cx, y, "nodes") {
        if let Some(n) = node(cx, id, npos, v) {
            out.push(n);
        }
    }
    out
}

fn node(cx: &mut Ctx, id: String, npos: Pos, y: &Y<'_>) -> Option<Node> {
    let e = map(cx, y, &format!("node `{id}`"), NODE_KEYS)?;
    let say = get(&e, "say").and_then(|y| template(cx, y, "say"));
    let actions: Vec<&(String, Pos, &Y<'_>)> =
        e.iter().filter(|(k, _, _)| ACTIONS.contains(&k.as_str())).collect();
    if actions.len() > 1 {
        let names: Vec<&str> = actions.iter().map(|(k, _, _)| k.as_str()).collect();
        cx.err(
            actions.get(1).map_or(npos, |a| a.1),
            "invalid",
            format!("node `{id}` has more than one action: {}", names.join(", ")),
            "split it into nodes joined by `next:`",
        );
    }
    let kind = match actions.first() {
        None => NodeKind::Say,
        Some((k, kpos, v)) => action(cx, k, *kpos, v)?,
    };
    let routes = get(&e, "routes").map(|y| routes(cx, y)).unwrap_or_default();
    let next = get(&e, "next").and_then(|y| string(cx, y, "next"));
    if matches!(kind, NodeKind::Say) && say.is_none() && routes.is_empty() && next.is_none() {
        cx.err(
            npos,
            "invalid",
            format!("node `{id}` does nothing"),
            "give it `say:` and `next:`, or an action",
        );
    }
    Some(Node { id, pos: npos, say, kind, routes, next })
}

fn action(cx: &mut Ctx, k: &str, kpos: Pos, v: &Y<'_>) -> Option<NodeKind> {
    Some(match k {
        "menu" => {
            let e = if super::yaml::is_null(v) { Vec::new() } else { map(cx, v, "menu", &menu_keys())? };
            NodeKind::Menu(Menu {
                prompt: get(&e, "prompt").and_then(|y| template(cx, y, "prompt")),
                faq: get(&e, "faq").and_then(|y| boolean(cx, y, "faq")).unwrap_or(false),
                reprompt: reprompts(cx, &e),
            })
        }
        "collect" => NodeKind::Collect(collect(cx, kpos, v)?),
        "faq" => {
            let e = if super::yaml::is_null(v) { Vec::new() } else { map(cx, v, "faq", &["prompt"])? };
            NodeKind::Faq(FaqNode { prompt: get(&e, "prompt").and_then(|y| template(cx, y, "prompt")) })
        }
        "transfer" => {
            let e = map(cx, v, "transfer", &["queue", "sip", "context"])?;
            let target = match (get(&e, "queue"), get(&e, "sip")) {
                (Some(q), None) => TransferTarget::Queue(string(cx, q, "queue")?.value),
                (None, Some(s)) => {
                    let uri = string(cx, s, "sip")?;
                    if !uri.value.starts_with("sip:") && !uri.value.starts_with("sips:") {
                        cx.err(
                            uri.pos,
                            "invalid",
                            "`sip` must be a SIP URI",
                            "e.g. sip:frontdesk@pbx.example.com",
                        );
                    }
                    TransferTarget::Sip(uri.value)
                }
                _ => {
                    cx.err(kpos, "invalid", "transfer needs exactly one of `queue` or `sip`", "");
                    return None;
                }
            };
            let mut context = Vec::new();
            if let Some(c) = get(&e, "context") {
                for (ck, _, cv) in super::yaml::open_map(cx, c, "context") {
                    if let Some(t) = template(cx, cv, "context value") {
                        context.push((ck, t));
                    }
                }
            }
            NodeKind::Transfer(Transfer { target, context })
        }
        "hangup" => NodeKind::Hangup,
        "find_slots" | "book" | "lookup" | "cancel" => super::schedule::action(cx, k, kpos, v)?,
        "set" => {
            let mut out = Vec::new();
            for (sk, spos, sv) in super::yaml::open_map(cx, v, "set") {
                match literal(sv) {
                    Some(l) => out.push((sk, l, spos)),
                    None => cx.err(spos, "invalid", format!("`set.{sk}` must be a plain value"), ""),
                }
            }
            NodeKind::Set(out)
        }
        "webhook" => super::webhook::action(cx, kpos, v)?,
        _ => super::llm::action(cx, kpos, v)?,
    })
}

fn menu_keys() -> Vec<&'static str> {
    let mut k = vec!["prompt", "faq"];
    k.extend_from_slice(REPROMPT_KEYS);
    k
}

pub(super) fn reprompts(cx: &mut Ctx, e: &Entries<'_, '_>) -> Reprompts {
    Reprompts {
        no_input: get(e, "no_input").and_then(|y| template(cx, y, "no_input")),
        no_match: get(e, "no_match").and_then(|y| template(cx, y, "no_match")),
        max_tries: get(e, "max_tries").and_then(|y| integer(cx, y, "max_tries")).and_then(|n| {
            let n = u32::try_from(n).ok().filter(|n| *n >= 1);
            if n.is_none() {
                cx.err(pos_of(e, "max_tries"), "invalid", "max_tries must be at least 1", "");
            }
            n
        }),
        escalate: get(e, "escalate").and_then(|y| string(cx, y, "escalate")),
    }
}

fn pos_of(e: &Entries<'_, '_>, key: &str) -> Pos {
    e.iter().find(|(k, _, _)| k == key).map(|(_, p, _)| *p).unwrap_or_default()
}

fn collect(cx: &mut Ctx, kpos: Pos, v: &Y<'_>) -> Option<Collect> {
    let mut keys = vec!["slot", "type", "prompt", "confirm", "options", "min", "max", "length"];
    keys.extend_from_slice(REPROMPT_KEYS);
    let e = map(cx, v, "collect", &keys)?;
    let slot = super::required(cx, &e, kpos, "slot", "collect").and_then(|y| string(cx, y, "slot"));
    let ty_name = super::required(cx, &e, kpos, "type", "collect").and_then(|y| string(cx, y, "type"));
    let prompt = super::required(cx, &e, kpos, "prompt", "collect").and_then(|y| template(cx, y, "prompt"));
    let ty = ty_name.and_then(|t| slot_type(cx, &t.value, t.pos, get(&e, "options")));
    let validate = Validate {
        min: get(&e, "min").and_then(|y| integer(cx, y, "min")),
        max: get(&e, "max").and_then(|y| integer(cx, y, "max")),
        length: get(&e, "length")
            .and_then(|y| integer(cx, y, "length"))
            .and_then(|n| usize::try_from(n).ok()),
    };
    Some(Collect {
        slot: slot?.value,
        ty: ty?,
        prompt: prompt?,
        reprompt: reprompts(cx, &e),
        confirm: get(&e, "confirm").and_then(|y| template(cx, y, "confirm")),
        validate,
    })
}

/// A slot type without options (not `enum`), or a diagnostic.
pub(super) fn slot_type_of(cx: &mut Ctx, name: &str, at: Pos) -> Option<SlotType> {
    slot_type(cx, name, at, None)
}

fn slot_type(cx: &mut Ctx, name: &str, at: Pos, options: Option<&Y<'_>>) -> Option<SlotType> {
    Some(match name {
        "yes_no" => SlotType::YesNo,
        "number" => SlotType::Number,
        "digits" => SlotType::Digits,
        "phone" => SlotType::Phone,
        "date" => SlotType::Date,
        "time" => SlotType::Time,
        "datetime" => SlotType::DateTime,
        "person_name" => SlotType::PersonName,
        "text" => SlotType::Text,
        "enum" => {
            let Some(o) = options else {
                cx.err(
                    at,
                    "missing",
                    "an `enum` slot needs `options:`",
                    "options: {new: [new patient, first visit], existing: [returning]}",
                );
                return None;
            };
            let mut vals = Vec::new();
            for (canon, _, syn) in super::yaml::open_map(cx, o, "options") {
                let syns = if super::yaml::is_null(syn) {
                    Vec::new()
                } else {
                    strings(cx, syn, "synonyms").into_iter().map(|s| s.value).collect()
                };
                vals.push((canon, syns));
            }
            if vals.is_empty() {
                cx.err(pos(o), "missing", "`options` is empty", "");
            }
            SlotType::Enum(vals)
        }
        other => {
            cx.err(
                at,
                "unknown-type",
                format!("unknown slot type `{other}`"),
                crate::diag::suggest(other, SLOT_TYPES.iter().copied()),
            );
            return None;
        }
    })
}

fn routes(cx: &mut Ctx, y: &Y<'_>) -> Vec<Route> {
    let mut out = Vec::new();
    for item in seq(cx, y, "routes") {
        let Some(e) = map(cx, item, "a route", &["intent", "if", "goto"]) else { continue };
        let rpos = pos(item);
        let intent = get(&e, "intent").and_then(|y| string(cx, y, "intent"));
        let cond = get(&e, "if").and_then(|y| cond(cx, y));
        let Some(goto) = super::required(cx, &e, rpos, "goto", "a route").and_then(|y| string(cx, y, "goto"))
        else {
            continue;
        };
        out.push(Route { pos: rpos, intent, cond, goto });
    }
    out
}

/// `slot`, `not slot`, `slot == value`, `slot != value`.
fn cond(cx: &mut Ctx, y: &Y<'_>) -> Option<Cond> {
    let text = scalar_text(y)?;
    let at = pos(y);
    let t = text.trim();
    let bad = |cx: &mut Ctx| {
        cx.err(
            at,
            "invalid",
            format!("cannot read condition `{t}`"),
            "write `slot`, `not slot`, `slot == value` or `slot != value`",
        );
    };
    let (slot, op) = if let Some((a, b)) = t.split_once("==") {
        (a.trim(), CondOp::Eq(lit(b.trim())))
    } else if let Some((a, b)) = t.split_once("!=") {
        (a.trim(), CondOp::Ne(lit(b.trim())))
    } else if let Some(rest) = t.strip_prefix("not ") {
        (rest.trim(), CondOp::NotSet)
    } else {
        (t, CondOp::IsSet)
    };
    if slot.is_empty() || !slot.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bad(cx);
        return None;
    }
    Some(Cond { slot: slot.to_owned(), op, pos: at })
}

fn lit(s: &str) -> Literal {
    let s = s.trim_matches(|c| c == '"' || c == '\'');
    match s {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        _ => s.parse::<i64>().map_or_else(|_| Literal::Str(s.to_owned()), Literal::Int),
    }
}
