//! YAML -> typed [`Flow`] ("parse, don't validate"): saphyr keeps a span on every node, so
//! every error carries the `line:column` of the key or value at fault. Unknown keys are errors
//! (with a "did you mean"), so a typo never silently disables a handler. Cross-node checks
//! (targets, reachability, slot use, types) live in [`crate::check`].

mod llm;
mod nodes;
pub mod resources;
mod schedule;
pub mod webhook;
pub(crate) mod yaml;

use std::collections::BTreeMap;

use saphyr::{LoadableYamlNode as _, MarkedYaml};

use crate::ast::{Flow, Globals, Intent, Pos, Settings};
use crate::diag::Diagnostic;
use crate::template::Template;
use yaml::{Ctx, Y, get, map, number_f32, pos, string, strings};

const TOP: &[&str] = &[
    "flow",
    "business",
    "business_phone",
    "timezone",
    "start",
    "knowledge",
    "resources",
    "inputs",
    "settings",
    "intents",
    "llm_fallback",
    "global",
    "nodes",
];

/// Parses a flow file. All problems are returned at once (sorted by position).
pub fn parse_flow(src: &str) -> Result<Flow, Vec<Diagnostic>> {
    let docs = match MarkedYaml::load_from_str(src) {
        Ok(d) => d,
        Err(e) => {
            let m = e.marker();
            return Err(vec![Diagnostic::new(
                Pos { line: m.line(), col: m.col() + 1 },
                "yaml",
                format!("bad YAML: {}", e.info()),
                "check indentation and quoting (a text with `: ` or starting with `{` needs quotes)",
            )]);
        }
    };
    let Some(root) = docs.first() else {
        return Err(vec![Diagnostic::new(
            Pos { line: 1, col: 1 },
            "missing",
            "the file is empty",
            "start with `flow: NAME`",
        )]);
    };
    let mut cx = Ctx::default();
    let flow = flow(&mut cx, root);
    match flow {
        Some(f) if cx.diags.is_empty() => Ok(f),
        _ => {
            cx.diags.sort();
            Err(cx.diags)
        }
    }
}

pub(crate) fn template(cx: &mut Ctx, y: &Y<'_>, what: &str) -> Option<Template> {
    let s = string(cx, y, what)?;
    match Template::parse(&s.value, s.pos) {
        Ok(t) => Some(t),
        Err(e) => {
            cx.err(s.pos, "template", format!("{what}: {}", e.message), e.hint);
            None
        }
    }
}

fn required<'a, 'i>(
    cx: &mut Ctx,
    e: &yaml::Entries<'a, 'i>,
    at: Pos,
    key: &str,
    what: &str,
) -> Option<&'a Y<'i>> {
    let v = get(e, key);
    if v.is_none() {
        cx.err(at, "missing", format!("{what} needs `{key}:`"), "");
    }
    v
}

fn flow(cx: &mut Ctx, root: &Y<'_>) -> Option<Flow> {
    let top = map(cx, root, "the flow file", TOP)?;
    let at = pos(root);
    let name = required(cx, &top, at, "flow", "the flow file").and_then(|y| string(cx, y, "flow"));
    let business =
        required(cx, &top, at, "business", "the flow file").and_then(|y| string(cx, y, "business"));
    let start = required(cx, &top, at, "start", "the flow file").and_then(|y| string(cx, y, "start"));
    let business_phone =
        get(&top, "business_phone").and_then(|y| string(cx, y, "business_phone")).map(|s| s.value);
    let timezone = get(&top, "timezone").and_then(|y| string(cx, y, "timezone")).map(|s| s.value);
    let knowledge = get(&top, "knowledge").and_then(|y| string(cx, y, "knowledge"));
    let resources = get(&top, "resources").and_then(|y| string(cx, y, "resources"));
    let inputs = get(&top, "inputs").map(|y| strings(cx, y, "inputs")).unwrap_or_default();
    let settings = get(&top, "settings").map(|y| settings(cx, y)).unwrap_or_default();
    // The floor's "other" class is the knowledge base: without one it would let nothing in.
    if settings.intent_floor.is_some()
        && knowledge.is_none()
        && let Some(y) = get(&top, "settings")
    {
        cx.err(
            pos(y),
            "missing",
            "intent_floor needs a knowledge base: the intent ranker learns \"not an intent\" from its questions",
            "add `knowledge: kb.yaml` at the top, or remove intent_floor",
        );
    }
    let intents = get(&top, "intents").map(|y| intents(cx, y)).unwrap_or_default();
    let global = get(&top, "global").map(|y| globals(cx, y)).unwrap_or_default();
    let llm_fallback = get(&top, "llm_fallback").and_then(|y| llm::fallback(cx, y));
    let nodes = match required(cx, &top, at, "nodes", "the flow file") {
        Some(y) => nodes::nodes(cx, y),
        None => Vec::new(),
    };
    Some(Flow {
        name: name?.value,
        business: business?.value,
        business_phone,
        timezone,
        start: start?,
        settings,
        knowledge,
        resources,
        inputs,
        intents,
        llm_fallback,
        global,
        nodes,
    })
}

fn settings(cx: &mut Ctx, y: &Y<'_>) -> Settings {
    let mut s = Settings::default();
    let (mut confirm, mut intent_confirm, mut floor) = (None, None, None);
    let keys = [
        "intent_threshold",
        "clarify_margin",
        "intent_floor",
        "intent_confirm_threshold",
        "faq_threshold",
        "faq_confirm_threshold",
        "max_tries",
        "no_input_ms",
        "min_asr_confidence",
    ];
    for (k, kpos, v) in map(cx, y, "settings", &keys).unwrap_or_default() {
        match k.as_str() {
            "max_tries" => {
                if let Some(n) = yaml::integer(cx, v, "max_tries") {
                    match u32::try_from(n) {
                        Ok(n) if n >= 1 => s.max_tries = n,
                        _ => cx.err(kpos, "invalid", "max_tries must be at least 1", ""),
                    }
                }
            }
            "no_input_ms" => {
                if let Some(n) = yaml::integer(cx, v, "no_input_ms") {
                    match u64::try_from(n) {
                        Ok(n) if n >= 500 => s.no_input_ms = n,
                        _ => cx.err(kpos, "invalid", "no_input_ms must be at least 500", "e.g. 6000"),
                    }
                }
            }
            _ => {
                let Some(f) = number_f32(cx, v, &k) else { continue };
                if !(0.0..=1.0).contains(&f) {
                    cx.err(pos(v), "invalid", format!("{k} must be between 0 and 1"), "");
                    continue;
                }
                match k.as_str() {
                    "intent_threshold" => s.intent_threshold = f,
                    "clarify_margin" => s.clarify_margin = f,
                    "intent_floor" => {
                        floor = Some((f, pos(v)));
                        s.intent_floor = Some(f);
                    }
                    "intent_confirm_threshold" => {
                        intent_confirm = Some((f, pos(v)));
                        s.intent_confirm_threshold = Some(f);
                    }
                    "faq_threshold" => s.faq_threshold = f,
                    "faq_confirm_threshold" => {
                        confirm = Some((f, pos(v)));
                        s.faq_confirm_threshold = Some(f);
                    }
                    _ => s.min_asr_confidence = f,
                }
            }
        }
    }
    // A confirmation band's lower edge must be below the threshold it extends.
    let bands = [
        (
            confirm,
            "faq_confirm_threshold",
            s.faq_threshold,
            "faq_threshold",
            "the band between them is where the agent asks \"are you asking: ...?\"",
        ),
        (
            intent_confirm,
            "intent_confirm_threshold",
            s.intent_threshold,
            "intent_threshold",
            "the band between them is where the agent asks \"did you want to ...?\"",
        ),
        (
            floor,
            "intent_floor",
            s.intent_threshold,
            "intent_threshold",
            "in the band between them the intent ranker decides whether it is an intent at all",
        ),
    ];
    for (set, name, upper, upper_name, hint) in bands {
        if let Some((f, p)) = set
            && f >= upper
        {
            cx.err(p, "invalid", format!("{name} ({f}) must be below {upper_name} ({upper})"), hint);
        }
    }
    s
}

fn intents(cx: &mut Ctx, y: &Y<'_>) -> BTreeMap<String, Intent> {
    let mut out = BTreeMap::new();
    for (name, npos, v) in yaml::open_map(cx, y, "intents") {
        let Some(e) = map(cx, v, &format!("intent `{name}`"), &["examples", "keywords", "description"])
        else {
            continue;
        };
        let examples: Vec<String> = get(&e, "examples")
            .map(|y| strings(cx, y, "examples"))
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect();
        let keywords: Vec<Vec<String>> = get(&e, "keywords")
            .map(|y| strings(cx, y, "keywords"))
            .unwrap_or_default()
            .into_iter()
            .map(|s| crate::intents::words(&s.value))
            .filter(|w| !w.is_empty())
            .collect();
        if examples.is_empty() && keywords.is_empty() {
            cx.err(
                npos,
                "missing",
                format!("intent `{name}` has no `examples` and no `keywords`"),
                "add example phrases a caller would say",
            );
        }
        let description = get(&e, "description").and_then(|y| string(cx, y, "description")).map(|s| s.value);
        out.insert(name.clone(), Intent { name, pos: npos, examples, keywords, description });
    }
    out
}

fn globals(cx: &mut Ctx, y: &Y<'_>) -> Globals {
    let mut g = Globals::default();
    let keys = ["human", "goodbye", "help", "are_you_human", "opt_out"];
    for (k, _, v) in map(cx, y, "global", &keys).unwrap_or_default() {
        match k.as_str() {
            "human" => g.human = string(cx, v, "global.human"),
            "goodbye" => g.goodbye = string(cx, v, "global.goodbye"),
            "help" => g.help = template(cx, v, "global.help"),
            "are_you_human" => g.are_you_human = template(cx, v, "global.are_you_human"),
            _ => g.opt_out = template(cx, v, "global.opt_out"),
        }
    }
    g
}
