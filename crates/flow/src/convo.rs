//! Conversation tests: YAML files of caller turns and expectations, run against a flow with
//! the machine on a simulated clock (`silence` jumps to the no-input deadline; nothing sleeps).
//!
//! ```yaml
//! flow: clinic.yaml            # relative to this file
//! now: "2026-11-18T10:15"      # caller's local time at the start (default: this one)
//! tz: America/New_York         # default: the flow's timezone
//! tests:
//!   - name: opening hours
//!     turns:
//!       - expect: {say: "automated assistant", node: main}     # the greeting
//!       - caller: what are your opening hours
//!         expect: {faq: hours, say: "Monday to Friday"}
//!       - silence: true
//!         expect: {actions: [no_input]}
//! ```
//! A turn is one of `caller: TEXT` (optional `confidence`, `heard` = share of the prompt heard
//! before barging in), `dtmf: KEYS`, `silence: true`, or only `expect` (checks the previous
//! output; the first turn checks the greeting). `expect` keys: `say` (text or list of texts the
//! reply must contain, case-insensitive), `not_say`, `node`, `intent` (name or null), `faq`
//! (id or null), `slots` (map of slot to expected JSON value as text), `actions` (each must
//! occur), `ended`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_engines::Embedder;
use frontdesk_schedule::local_now;
use frontdesk_types::Instant;
use saphyr::{LoadableYamlNode as _, MarkedYaml};

use crate::ast::Pos;
use crate::diag::Diagnostic;
use crate::machine::{Command, Event, FlowMachine};
use crate::parse::yaml::{Ctx, Y, boolean, get, map, number_f32, pos, scalar_text, seq, string, strings};
use crate::{Bundle, FlowError};

/// One test's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub name: String,
    /// `line:col: what differed`; empty when the test passed.
    pub failures: Vec<String>,
    /// The transcript, `caller: ...` / `agent: ...` lines, for failure reports.
    pub transcript: Vec<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The agent's reply to one input.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub say: String,
    pub commands: Vec<Command>,
}

/// Runs one input through the machine and gathers the reply (the drain contract in one place).
pub fn step(m: &mut FlowMachine, now: Instant, ev: Option<Event>) -> Result<Reply, FlowError> {
    match ev {
        Some(ev) => m.handle_event(now, ev)?,
        None => m.handle_timeout(now),
    }
    let mut r = Reply::default();
    while let Some(c) = m.poll_command() {
        if let Command::Say { text } = &c {
            if !r.say.is_empty() {
                r.say.push(' ');
            }
            r.say.push_str(text);
        }
        r.commands.push(c);
    }
    Ok(r)
}

struct Turn<'a, 'i> {
    pos: Pos,
    input: Input,
    expect: Option<&'a Y<'i>>,
}

enum Input {
    Caller { text: String, confidence: f32, heard: Option<f32> },
    Dtmf(String),
    Silence,
    None,
}

/// Runs every test in a conversation-test file. `model` embeds utterances when given.
pub fn run_file(path: &Path, model: Option<&dyn Embedder>) -> Result<Vec<TestResult>, FlowError> {
    let file = path.display().to_string();
    let src =
        std::fs::read_to_string(path).map_err(|source| FlowError::Io { path: path.to_owned(), source })?;
    let invalid = |diags: Vec<Diagnostic>| FlowError::Invalid { file: file.clone(), diags };
    let docs = MarkedYaml::load_from_str(&src).map_err(|e| {
        let m = e.marker();
        invalid(vec![Diagnostic::new(
            Pos { line: m.line(), col: m.col() + 1 },
            "yaml",
            format!("bad YAML: {}", e.info()),
            "",
        )])
    })?;
    let mut cx = Ctx::default();
    let root = docs.first().ok_or_else(|| {
        invalid(vec![Diagnostic::new(Pos { line: 1, col: 1 }, "missing", "empty test file", "")])
    })?;
    let top = map(&mut cx, root, "the test file", &["flow", "now", "tz", "tests"]).unwrap_or_default();
    let flow_rel = get(&top, "flow").and_then(|y| string(&mut cx, y, "flow"));
    let now_s = get(&top, "now")
        .and_then(|y| string(&mut cx, y, "now"))
        .map_or_else(|| "2026-11-18T10:15".to_owned(), |s| s.value);
    let tz = get(&top, "tz").and_then(|y| string(&mut cx, y, "tz")).map(|s| s.value);
    let tests = get(&top, "tests").map(|y| seq(&mut cx, y, "tests")).unwrap_or_default();
    let Some(flow_rel) = flow_rel else {
        cx.err(pos(root), "missing", "the test file needs `flow: FILE`", "");
        return Err(invalid(cx.diags));
    };
    let mut bundle = Bundle::load(&path.parent().unwrap_or(Path::new(".")).join(&flow_rel.value))?;
    if let Some(m) = model {
        bundle.embed(m)?;
    }
    let tz = tz.or_else(|| bundle.flow.timezone.clone()).unwrap_or_else(|| "UTC".into());
    let wall = local_now(&now_s, &tz).map_err(|e| FlowError::Time(e.to_string()))?;
    let bundle = Arc::new(bundle);
    let mut results = Vec::new();
    for t in tests {
        let Some(e) = map(&mut cx, t, "a test", &["name", "turns"]) else { continue };
        let name = get(&e, "name")
            .and_then(|y| string(&mut cx, y, "name"))
            .map_or_else(|| format!("test at line {}", pos(t).line), |s| s.value);
        let turns: Vec<Turn<'_, '_>> = get(&e, "turns")
            .map(|y| seq(&mut cx, y, "turns"))
            .unwrap_or_default()
            .iter()
            .filter_map(|y| turn(&mut cx, y))
            .collect();
        if !cx.diags.is_empty() {
            return Err(invalid(cx.diags));
        }
        results.push(run_test(&bundle, &wall, name, &turns, model, &mut cx)?);
    }
    if !cx.diags.is_empty() {
        return Err(invalid(cx.diags));
    }
    Ok(results)
}

fn turn<'a, 'i>(cx: &mut Ctx, y: &'a Y<'i>) -> Option<Turn<'a, 'i>> {
    let e = map(cx, y, "a turn", &["caller", "confidence", "heard", "dtmf", "silence", "expect"])?;
    let input = if let Some(c) = get(&e, "caller") {
        Input::Caller {
            text: scalar_text(c).unwrap_or_default(),
            confidence: get(&e, "confidence").and_then(|y| number_f32(cx, y, "confidence")).unwrap_or(0.9),
            heard: get(&e, "heard").and_then(|y| number_f32(cx, y, "heard")),
        }
    } else if let Some(d) = get(&e, "dtmf") {
        Input::Dtmf(string(cx, d, "dtmf")?.value)
    } else if let Some(s) = get(&e, "silence") {
        if boolean(cx, s, "silence") == Some(true) { Input::Silence } else { Input::None }
    } else {
        Input::None
    };
    Some(Turn { pos: pos(y), input, expect: get(&e, "expect") })
}

fn run_test(
    bundle: &Arc<Bundle>,
    wall: &frontdesk_schedule::jiff::Zoned,
    name: String,
    turns: &[Turn<'_, '_>],
    model: Option<&dyn Embedder>,
    cx: &mut Ctx,
) -> Result<TestResult, FlowError> {
    let mut m = FlowMachine::new(bundle.clone(), wall.clone());
    let mut now = Instant::from_millis(0);
    let mut res = TestResult { name, failures: Vec::new(), transcript: Vec::new() };
    let mut reply = step(&mut m, now, Some(Event::Start))?;
    res.transcript.push(format!("agent: {}", reply.say));
    for t in turns {
        now += Duration::from_secs(2);
        match &t.input {
            Input::None => {}
            Input::Caller { text, confidence, heard } => {
                if let Some(h) = heard {
                    m.handle_event(now, Event::BargeIn { heard_ms: (h * 1000.0) as u32, total_ms: 1000 })?;
                }
                let embedding = match model {
                    Some(md) => md.embed(&[text.as_str()])?.into_iter().next(),
                    None => None,
                };
                res.transcript.push(format!("caller: {text}"));
                reply = step(
                    &mut m,
                    now,
                    Some(Event::Utterance { text: text.clone(), confidence: *confidence, embedding }),
                )?;
            }
            Input::Dtmf(k) => {
                res.transcript.push(format!("caller: [dtmf {k}]"));
                reply = step(&mut m, now, Some(Event::Dtmf(k.clone())))?;
            }
            Input::Silence => {
                res.transcript.push("caller: [silence]".into());
                now = m.poll_timeout().unwrap_or(now).max(now);
                reply = step(&mut m, now, None)?;
            }
        }
        if !matches!(t.input, Input::None) {
            res.transcript.push(format!("agent: {}", reply.say));
        }
        if let Some(e) = t.expect {
            expect(cx, e, t.pos, &m, &reply, &mut res.failures);
        }
    }
    Ok(res)
}

fn expect(cx: &mut Ctx, y: &Y<'_>, at: Pos, m: &FlowMachine, reply: &Reply, fails: &mut Vec<String>) {
    let keys = ["say", "not_say", "node", "intent", "faq", "slots", "actions", "ended"];
    let Some(e) = map(cx, y, "expect", &keys) else { return };
    let turn = m.turn();
    let mut fail = |msg: String| fails.push(format!("{at}: {msg}"));
    let said = reply.say.to_lowercase();
    for s in get(&e, "say").map(|y| strings(cx, y, "say")).unwrap_or_default() {
        if !said.contains(&s.value.to_lowercase()) {
            fail(format!("expected the agent to say {:?}, it said {:?}", s.value, reply.say));
        }
    }
    for s in get(&e, "not_say").map(|y| strings(cx, y, "not_say")).unwrap_or_default() {
        if said.contains(&s.value.to_lowercase()) {
            fail(format!("expected the agent not to say {:?}, it said {:?}", s.value, reply.say));
        }
    }
    if let Some(n) = get(&e, "node").and_then(|y| string(cx, y, "node"))
        && n.value != turn.node
    {
        fail(format!("expected node `{}`, at `{}`", n.value, turn.node));
    }
    let opt = |y: &Y<'_>| {
        scalar_text(y).filter(|s| s != "null" && !s.is_empty()).filter(|_| !crate::parse::yaml::is_null(y))
    };
    if let Some(y) = get(&e, "intent") {
        let got = turn.intent.as_ref().map(|i| i.name.clone());
        if opt(y) != got {
            fail(format!("expected intent {:?}, got {:?}", opt(y), got));
        }
    }
    if let Some(y) = get(&e, "faq")
        && opt(y) != turn.faq_id
    {
        fail(format!("expected FAQ entry {:?}, got {:?}", opt(y), turn.faq_id));
    }
    if let Some(y) = get(&e, "slots") {
        let slots = m.slots_json();
        for (k, _, v) in crate::parse::yaml::open_map(cx, y, "slots") {
            let want = scalar_text(v).unwrap_or_default();
            let got = slots.get(&k).map(|g| match g {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            if got.as_deref() != Some(want.as_str()) {
                fail(format!("expected slot `{k}` = {want:?}, got {got:?}"));
            }
        }
    }
    for a in get(&e, "actions").map(|y| strings(cx, y, "actions")).unwrap_or_default() {
        if !turn.actions.contains(&a.value) {
            fail(format!("expected action `{}`, actions were {:?}", a.value, turn.actions));
        }
    }
    if let Some(b) = get(&e, "ended").and_then(|y| boolean(cx, y, "ended"))
        && b != m.is_ended()
    {
        fail(format!("expected ended = {b}, it is {}", m.is_ended()));
    }
}

/// One agent turn as `chat --json` prints it: `{"say", "node", "intent": {"name",
/// "confidence"} or null, "faq_id", "slots", "actions"}`.
pub fn turn_json(m: &FlowMachine, reply: &Reply) -> String {
    let t = m.turn();
    let intent = t.intent.as_ref().map_or(serde_json::Value::Null, |i| {
        serde_json::json!({"name": i.name, "confidence": (f64::from(i.confidence) * 1000.0).round() / 1000.0})
    });
    let mut actions: Vec<serde_json::Value> =
        t.actions.iter().map(|a| serde_json::Value::String(a.clone())).collect();
    for c in &reply.commands {
        if let Command::Transfer { context, .. } = c
            && !context.is_empty()
        {
            let ctx: serde_json::Map<String, serde_json::Value> =
                context.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
            actions.push(serde_json::json!({"transfer_context": ctx}));
        }
    }
    serde_json::json!({
        "say": reply.say,
        "node": t.node,
        "intent": intent,
        "faq_id": t.faq_id,
        "slots": m.slots_json(),
        "actions": actions,
    })
    .to_string()
}

/// The caller's wall clock from `--now` (RFC 3339 with offset, or a local
/// `2026-11-18T10:15`) in zone `tz`.
pub fn parse_now(now: &str, tz: &str) -> Result<frontdesk_schedule::jiff::Zoned, FlowError> {
    use frontdesk_schedule::jiff::{Timestamp, tz::TimeZone};
    if let Ok(ts) = now.parse::<Timestamp>() {
        let zone =
            TimeZone::get(tz).map_err(|e| FlowError::Time(format!("unknown time zone {tz:?}: {e}")))?;
        return Ok(ts.to_zoned(zone));
    }
    local_now(now, tz).map_err(|e| FlowError::Time(e.to_string()))
}

/// The wall clock in zone `tz` at `secs` since the Unix epoch (for a shell that read its clock).
pub fn wall_from_unix(secs: i64, tz: &str) -> Result<frontdesk_schedule::jiff::Zoned, FlowError> {
    use frontdesk_schedule::jiff::{Timestamp, tz::TimeZone};
    let zone = TimeZone::get(tz).map_err(|e| FlowError::Time(format!("unknown time zone {tz:?}: {e}")))?;
    let ts = Timestamp::from_second(secs).map_err(|e| FlowError::Time(e.to_string()))?;
    Ok(ts.to_zoned(zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_accepts_rfc3339_and_local() {
        let z = parse_now("2026-11-18T15:15:00Z", "America/New_York").unwrap();
        assert_eq!(z.strftime("%H:%M").to_string(), "10:15");
        let z = parse_now("2026-11-18T10:15", "America/New_York").unwrap();
        assert_eq!(z.strftime("%H:%M %z").to_string(), "10:15 -0500");
        assert!(parse_now("yesterday", "America/New_York").is_err());
        assert!(parse_now("2026-11-18T10:15", "Mars/Base").is_err());
    }
}
