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
//!
//! Scheduling: every test runs against its own SQLite store in a fresh temporary directory,
//! seeded from the flow's `resources:` file, so bookings persist across turns and across the
//! calls of one test. A test may set `caller` (the caller's number, default the file's
//! `caller`, else +16175550100), `vars` (the flow's `inputs:`, e.g. `{answered_by: machine}`)
//! and `appointments` to seed (`[{provider, type, start: "2026-11-24T15:00", phone?, name?}]`,
//! booked in order with ids 1, 2, ...). A turn with `call: b` talks to a second call on the
//! same store (it starts, with its greeting, on first use; `caller_b` sets its number), and
//! `wait: SECONDS` lets time pass before the input (holds expire). Extra expectations:
//! `appointments` (how many booked appointments the caller has), `dnc` (the caller is on the
//! do-not-call list), `ics` (text the last booking's iCalendar confirmation contains).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use frontdesk_engines::Embedder;
use frontdesk_schedule::jiff::{SignedDuration, Timestamp, Zoned};
use frontdesk_schedule::{ScheduleOutcome, local_now};
use frontdesk_store::exec::execute;
use frontdesk_store::{Caller, NewHold, OptOutStore, SchedulingStore, SqliteStore};
use frontdesk_types::{Instant, Pii};
use saphyr::{LoadableYamlNode as _, MarkedYaml};

use crate::ast::Pos;
use crate::diag::Diagnostic;
use crate::machine::{Command, Event, FlowMachine, WebhookFailure, WebhookOutcome};
use crate::parse::resources::{Resources, parse_resources};
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

/// What a side effect may need to know about the call besides its command.
#[derive(Debug, Clone)]
pub struct EffectCtx<'a> {
    /// The caller's number (for `OptOut`).
    pub caller: Option<&'a Pii<String>>,
    /// The caller's wall clock now.
    pub at: Timestamp,
}

/// Runs one command's side effect (a store op, an HTTP call, ...) and returns the event to feed
/// back, if the machine waits for one. `Say`, `Listen`, `Transfer` and `Hangup` are the shell's
/// own business and get `None`. `frontdesk-effects` has the full implementation.
pub type Effects<'a> = dyn FnMut(&Command, &EffectCtx<'_>) -> Option<Event> + 'a;

/// Effects for a machine with nothing behind it: scheduling ops fail ("no store"), webhooks
/// are `not_configured`.
pub fn no_effects(c: &Command, _: &EffectCtx<'_>) -> Option<Event> {
    match c {
        Command::Schedule(op) if op.expects_outcome() => {
            Some(Event::ScheduleResult(ScheduleOutcome::Failed("no store".into())))
        }
        Command::Webhook(_) => Some(Event::WebhookOutcome(WebhookOutcome::Failed {
            kind: WebhookFailure::NotConfigured,
            attempts: 0,
        })),
        _ => None,
    }
}

/// Effects against a store only: scheduling ops run against `store`, `OptOut` writes the
/// caller's number to its do-not-call list, webhooks are `not_configured`.
pub fn store_effects<'s>(
    store: &'s (impl SchedulingStore + OptOutStore),
) -> impl FnMut(&Command, &EffectCtx<'_>) -> Option<Event> + 's {
    move |c, ctx| match c {
        Command::Schedule(op) => {
            let o = execute(store, op);
            op.expects_outcome().then_some(Event::ScheduleResult(o))
        }
        Command::OptOut => {
            if let Some(phone) = ctx.caller {
                // A failed write is seen by the `dnc` expectation; a shell would log it.
                let _ = store.add_opt_out(phone.expose(), "flow", None, ctx.at);
            }
            None
        }
        other => no_effects(other, ctx),
    }
}

/// Runs one input through the machine and gathers the reply (the drain contract in one place).
/// Nothing is behind the commands: see [`no_effects`] and [`step_with`].
pub fn step(m: &mut FlowMachine, now: Instant, ev: Option<Event>) -> Result<Reply, FlowError> {
    step_with(m, now, ev, &mut no_effects)
}

/// As [`step`], running each command through `effects` at once and feeding back the event it
/// returns (a schedule outcome, a webhook outcome), until the machine waits for the caller.
pub fn step_with(
    m: &mut FlowMachine,
    now: Instant,
    ev: Option<Event>,
    effects: &mut Effects<'_>,
) -> Result<Reply, FlowError> {
    match ev {
        Some(ev) => m.handle_event(now, ev)?,
        None => m.handle_timeout(now),
    }
    let mut r = Reply::default();
    // The machine has at most one op out at a time; the bound guards against a loop.
    for _ in 0..64 {
        let mut back = Vec::new();
        while let Some(c) = m.poll_command() {
            if let Command::Say { text } = &c {
                if !r.say.is_empty() {
                    r.say.push(' ');
                }
                r.say.push_str(text);
            } else {
                let ctx = EffectCtx { caller: m.caller(), at: m.clock(now) };
                back.extend(effects(&c, &ctx));
            }
            r.commands.push(c);
        }
        if back.is_empty() {
            break;
        }
        for e in back {
            m.handle_event(now, e)?;
        }
    }
    Ok(r)
}

/// Makes the effects of each conversation test from its store (see [`run_file_with`]).
pub trait EffectsFactory {
    /// The effects of one test, against that test's store.
    fn effects<'d>(&'d self, desk: &'d Desk) -> Box<Effects<'d>>;
}

/// Store-only effects ([`store_effects`]) for every test: webhooks are `not_configured`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOnly;

impl EffectsFactory for StoreOnly {
    fn effects<'d>(&'d self, desk: &'d Desk) -> Box<Effects<'d>> {
        Box::new(store_effects(desk.store()))
    }
}

/// The store behind a flow's scheduling nodes: SQLite in a data directory (a fresh temporary
/// one, removed on drop, unless a directory is given).
#[derive(Debug)]
pub struct Desk {
    store: Arc<SqliteStore>,
    dir: PathBuf,
    temp: bool,
}

static TEMP_SEQ: AtomicU32 = AtomicU32::new(0);

impl Desk {
    /// Opens (creating, migrating) the store in `dir`, or in a new temporary directory.
    pub fn open(dir: Option<&Path>) -> Result<Desk, FlowError> {
        let (dir, temp) = match dir {
            Some(d) => (d.to_owned(), false),
            None => {
                let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
                let d = std::env::temp_dir().join(format!("frontdesk-flow-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&d);
                (d, true)
            }
        };
        let store = SqliteStore::open_dir(&dir)
            .map_err(|e| FlowError::Io { path: dir.clone(), source: std::io::Error::other(e.to_string()) })?;
        Ok(Desk { store: Arc::new(store), dir, temp })
    }

    /// The store.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// The store, shared (for an executor that owns its store).
    pub fn shared(&self) -> Arc<SqliteStore> {
        self.store.clone()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, e: frontdesk_store::StoreError) -> FlowError {
        FlowError::Io { path: self.dir.clone(), source: std::io::Error::other(e.to_string()) }
    }

    /// Upserts providers and appointment types (idempotent: replaced by id).
    pub fn seed(&self, res: &Resources) -> Result<(), FlowError> {
        for t in &res.types {
            self.store.put_appointment_type(t).map_err(|e| self.err(e))?;
        }
        for p in &res.providers {
            self.store.put_resource(p).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Books an appointment directly (test set-up): hold, then book. Returns its id.
    pub fn book(
        &self,
        provider: &str,
        kind: &str,
        start: &Zoned,
        phone: &str,
        name: Option<&str>,
        now: Timestamp,
    ) -> Result<i64, FlowError> {
        let tz = start.time_zone().iana_name().unwrap_or("UTC");
        let h = self
            .store
            .hold(&NewHold::new(provider, kind, start.timestamp(), tz), now)
            .map_err(|e| self.err(e))?;
        let caller = Caller { phone: Pii::new(phone.to_owned()), name: name.map(|n| Pii::new(n.to_owned())) };
        let a = self.store.book_from_hold(h.id, &caller, now).map_err(|e| self.err(e))?;
        Ok(a.id.0)
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        if self.temp {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Loads a flow (see [`Bundle::load`]) and its `resources:` file, checked against each other.
pub fn load(path: &Path) -> Result<(Bundle, Option<Resources>), FlowError> {
    let src =
        std::fs::read_to_string(path).map_err(|source| FlowError::Io { path: path.to_owned(), source })?;
    load_source(&src, &path.display().to_string(), path.parent().unwrap_or(Path::new(".")))
}

/// [`load`] for flow text (a stored version's YAML) named `file` in diagnostics, its
/// `knowledge:` and `resources:` files read relative to `base`.
pub fn load_source(src: &str, file: &str, base: &Path) -> Result<(Bundle, Option<Resources>), FlowError> {
    let bundle = Bundle::from_source(src, file, base)?;
    let Some(rel) = bundle.flow.resources.clone() else { return Ok((bundle, None)) };
    let rpath = base.join(&rel.value);
    let src =
        std::fs::read_to_string(&rpath).map_err(|source| FlowError::Io { path: rpath.clone(), source })?;
    let res = parse_resources(&src)
        .map_err(|diags| FlowError::Invalid { file: rpath.display().to_string(), diags })?;
    let diags = crate::check::check_resources(&bundle.flow, &res);
    if !diags.is_empty() {
        return Err(FlowError::Invalid { file: file.to_owned(), diags });
    }
    Ok((bundle, Some(res)))
}

struct Turn<'a, 'i> {
    pos: Pos,
    input: Input,
    call: String,
    wait: Option<f32>,
    expect: Option<&'a Y<'i>>,
}

enum Input {
    Caller { text: String, confidence: f32, heard: Option<f32> },
    Dtmf(String),
    Silence,
    None,
}

/// A seeded appointment.
struct Seed {
    provider: String,
    kind: String,
    start: String,
    phone: Option<String>,
    name: Option<String>,
}

/// One test's set-up.
struct Setup {
    caller: String,
    caller_b: Option<String>,
    vars: Vec<(String, String)>,
    seeds: Vec<Seed>,
}

const DEFAULT_CALLER: &str = "+16175550100";

/// Runs every test in a conversation-test file with store-only effects ([`StoreOnly`]).
/// `model` embeds utterances when given.
pub fn run_file(path: &Path, model: Option<&dyn Embedder>) -> Result<Vec<TestResult>, FlowError> {
    run_file_with(path, model, &StoreOnly)
}

/// As [`run_file`], with each test's effects made by `fx` (e.g. `frontdesk-effects`, which
/// also runs webhooks).
pub fn run_file_with(
    path: &Path,
    model: Option<&dyn Embedder>,
    fx: &dyn EffectsFactory,
) -> Result<Vec<TestResult>, FlowError> {
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
    let top =
        map(&mut cx, root, "the test file", &["flow", "now", "tz", "caller", "tests"]).unwrap_or_default();
    let flow_rel = get(&top, "flow").and_then(|y| string(&mut cx, y, "flow"));
    let now_s = get(&top, "now")
        .and_then(|y| string(&mut cx, y, "now"))
        .map_or_else(|| "2026-11-18T10:15".to_owned(), |s| s.value);
    let tz = get(&top, "tz").and_then(|y| string(&mut cx, y, "tz")).map(|s| s.value);
    let file_caller = get(&top, "caller").and_then(|y| string(&mut cx, y, "caller")).map(|s| s.value);
    let tests = get(&top, "tests").map(|y| seq(&mut cx, y, "tests")).unwrap_or_default();
    let Some(flow_rel) = flow_rel else {
        cx.err(pos(root), "missing", "the test file needs `flow: FILE`", "");
        return Err(invalid(cx.diags));
    };
    let (mut bundle, resources) = load(&path.parent().unwrap_or(Path::new(".")).join(&flow_rel.value))?;
    if let Some(m) = model {
        bundle.embed(m)?;
    }
    let tz = tz.or_else(|| bundle.flow.timezone.clone()).unwrap_or_else(|| "UTC".into());
    let wall = local_now(&now_s, &tz).map_err(|e| FlowError::Time(e.to_string()))?;
    let bundle = Arc::new(bundle);
    let mut results = Vec::new();
    for t in tests {
        let keys = ["name", "turns", "caller", "caller_b", "vars", "appointments"];
        let Some(e) = map(&mut cx, t, "a test", &keys) else { continue };
        let name = get(&e, "name")
            .and_then(|y| string(&mut cx, y, "name"))
            .map_or_else(|| format!("test at line {}", pos(t).line), |s| s.value);
        let setup = setup(&mut cx, &e, file_caller.as_deref().unwrap_or(DEFAULT_CALLER));
        let turns: Vec<Turn<'_, '_>> = get(&e, "turns")
            .map(|y| seq(&mut cx, y, "turns"))
            .unwrap_or_default()
            .iter()
            .filter_map(|y| turn(&mut cx, y))
            .collect();
        if !cx.diags.is_empty() {
            return Err(invalid(cx.diags));
        }
        let desk = Desk::open(None)?;
        if let Some(r) = &resources {
            desk.seed(r)?;
        }
        for sd in &setup.seeds {
            let start = local_now(&sd.start, &tz).map_err(|e| FlowError::Time(e.to_string()))?;
            let phone = sd.phone.as_deref().unwrap_or(&setup.caller);
            desk.book(&sd.provider, &sd.kind, &start, phone, sd.name.as_deref(), wall.timestamp())?;
        }
        let mut effects = fx.effects(&desk);
        let ctx = RunCtx { bundle: &bundle, wall: &wall, model, desk: &desk, setup: &setup };
        results.push(run_test(&ctx, &mut *effects, name, &turns, &mut cx)?);
    }
    if !cx.diags.is_empty() {
        return Err(invalid(cx.diags));
    }
    Ok(results)
}

fn setup(cx: &mut Ctx, e: &crate::parse::yaml::Entries<'_, '_>, default_caller: &str) -> Setup {
    let caller = get(e, "caller")
        .and_then(|y| string(cx, y, "caller"))
        .map_or_else(|| default_caller.to_owned(), |s| s.value);
    let caller_b = get(e, "caller_b").and_then(|y| string(cx, y, "caller_b")).map(|s| s.value);
    let mut vars = Vec::new();
    if let Some(v) = get(e, "vars") {
        for (k, _, y) in crate::parse::yaml::open_map(cx, v, "vars") {
            vars.push((k, scalar_text(y).unwrap_or_default()));
        }
    }
    let mut seeds = Vec::new();
    for a in get(e, "appointments").map(|y| seq(cx, y, "appointments")).unwrap_or_default() {
        let Some(m) = map(cx, a, "an appointment", &["provider", "type", "start", "phone", "name"]) else {
            continue;
        };
        let mut field = |k: &str| get(&m, k).and_then(|y| string(cx, y, k)).map(|s| s.value);
        let (provider, kind, start) = (field("provider"), field("type"), field("start"));
        let (phone, name) = (field("phone"), field("name"));
        match (provider, kind, start) {
            (Some(provider), Some(kind), Some(start)) => {
                seeds.push(Seed { provider, kind, start, phone, name })
            }
            _ => cx.err(pos(a), "missing", "an appointment needs `provider`, `type` and `start`", ""),
        }
    }
    Setup { caller, caller_b, vars, seeds }
}

fn turn<'a, 'i>(cx: &mut Ctx, y: &'a Y<'i>) -> Option<Turn<'a, 'i>> {
    let e = map(
        cx,
        y,
        "a turn",
        &["caller", "confidence", "heard", "dtmf", "silence", "call", "wait", "expect"],
    )?;
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
    let call =
        get(&e, "call").and_then(|y| string(cx, y, "call")).map_or_else(|| "a".to_owned(), |s| s.value);
    let wait = get(&e, "wait").and_then(|y| number_f32(cx, y, "wait"));
    Some(Turn { pos: pos(y), input, call, wait, expect: get(&e, "expect") })
}

struct RunCtx<'r> {
    bundle: &'r Arc<Bundle>,
    wall: &'r Zoned,
    model: Option<&'r dyn Embedder>,
    desk: &'r Desk,
    setup: &'r Setup,
}

/// One call of a test: its machine and last reply.
struct Call {
    name: String,
    m: FlowMachine,
    reply: Reply,
}

fn start_call(
    c: &RunCtx<'_>,
    fx: &mut Effects<'_>,
    name: &str,
    now: Instant,
    res: &mut TestResult,
) -> Result<Call, FlowError> {
    let phone = if name == "a" {
        c.setup.caller.clone()
    } else {
        c.setup.caller_b.clone().unwrap_or_else(|| format!("{}9", c.setup.caller))
    };
    // Every call starts at the test's wall clock plus the simulated time elapsed so far.
    let d = SignedDuration::try_from(now.saturating_duration_since(Instant::ZERO))
        .unwrap_or(SignedDuration::ZERO);
    let wall = c.wall.checked_add(d).unwrap_or_else(|_| c.wall.clone());
    let mut m =
        FlowMachine::new(c.bundle.clone(), wall).with_caller(Pii::new(phone)).with_vars(c.setup.vars.clone());
    let reply = step_with(&mut m, now, Some(Event::Start), fx)?;
    res.transcript.push(format!("{}agent: {}", prefix(name), reply.say));
    Ok(Call { name: name.to_owned(), m, reply })
}

fn prefix(call: &str) -> String {
    if call == "a" { String::new() } else { format!("[{call}] ") }
}

fn run_test(
    c: &RunCtx<'_>,
    fx: &mut Effects<'_>,
    name: String,
    turns: &[Turn<'_, '_>],
    cx: &mut Ctx,
) -> Result<TestResult, FlowError> {
    let mut now = Instant::from_millis(0);
    let mut res = TestResult { name, failures: Vec::new(), transcript: Vec::new() };
    let mut calls: Vec<Call> = vec![start_call(c, fx, "a", now, &mut res)?];
    for t in turns {
        now += Duration::from_secs(2);
        if let Some(w) = t.wait {
            now += Duration::from_secs_f32(w.max(0.0));
        }
        let idx = match calls.iter().position(|k| k.name == t.call) {
            Some(i) => i,
            None => {
                calls.push(start_call(c, fx, &t.call, now, &mut res)?);
                calls.len() - 1
            }
        };
        let Some(call) = calls.get_mut(idx) else { continue };
        let p = prefix(&call.name);
        match &t.input {
            Input::None => {}
            Input::Caller { text, confidence, heard } => {
                if let Some(h) = heard {
                    call.m.handle_event(
                        now,
                        Event::BargeIn { heard_ms: (h * 1000.0) as u32, total_ms: 1000 },
                    )?;
                }
                let embedding = match c.model {
                    Some(md) => md.embed(&[crate::spoken::embedding_text(text).as_str()])?.into_iter().next(),
                    None => None,
                };
                res.transcript.push(format!("{p}caller: {text}"));
                let ev = Event::Utterance { text: text.clone(), confidence: *confidence, embedding };
                call.reply = step_with(&mut call.m, now, Some(ev), fx)?;
            }
            Input::Dtmf(k) => {
                res.transcript.push(format!("{p}caller: [dtmf {k}]"));
                call.reply = step_with(&mut call.m, now, Some(Event::Dtmf(k.clone())), fx)?;
            }
            Input::Silence => {
                res.transcript.push(format!("{p}caller: [silence]"));
                now = call.m.poll_timeout().unwrap_or(now).max(now);
                call.reply = step_with(&mut call.m, now, None, fx)?;
            }
        }
        if !matches!(t.input, Input::None) {
            res.transcript.push(format!("{p}agent: {}", call.reply.say));
        }
        if let Some(e) = t.expect {
            expect(cx, e, t.pos, call, c.desk, now, &mut res.failures);
        }
    }
    Ok(res)
}

fn expect(cx: &mut Ctx, y: &Y<'_>, at: Pos, call: &Call, desk: &Desk, now: Instant, fails: &mut Vec<String>) {
    let keys = [
        "say",
        "not_say",
        "node",
        "intent",
        "faq",
        "slots",
        "actions",
        "ended",
        "appointments",
        "dnc",
        "ics",
    ];
    let Some(e) = map(cx, y, "expect", &keys) else { return };
    let (m, reply) = (&call.m, &call.reply);
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
    let phone = m.caller().map(|c| c.expose().clone()).unwrap_or_default();
    if let Some(n) = get(&e, "appointments").and_then(|y| crate::parse::yaml::integer(cx, y, "appointments"))
    {
        match desk.store().appointments_for_phone(&phone, m.clock(now)) {
            Ok(list) if i64::try_from(list.len()).ok() == Some(n) => {}
            Ok(list) => {
                fail(format!("expected {n} booked appointment(s) for the caller, found {}", list.len()))
            }
            Err(e) => fail(format!("store: {e}")),
        }
    }
    if let Some(b) = get(&e, "dnc").and_then(|y| boolean(cx, y, "dnc")) {
        match desk.store().opt_out(&phone) {
            Ok(o) if o.is_some() == b => {}
            Ok(o) => fail(format!("expected dnc = {b}, the list says {}", o.is_some())),
            Err(e) => fail(format!("store: {e}")),
        }
    }
    for s in get(&e, "ics").map(|y| strings(cx, y, "ics")).unwrap_or_default() {
        if !m.last_ics().is_some_and(|i| i.contains(&s.value)) {
            fail(format!(
                "expected the confirmation .ics to contain {:?}, it is {:?}",
                s.value,
                m.last_ics()
            ));
        }
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
