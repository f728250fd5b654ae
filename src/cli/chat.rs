//! `frontdesk chat FLOW.yaml [--now RFC3339] [--tz ZONE] [--caller +15551234567] [--json]
//! [--data DIR] [--var NAME=VALUE]...`: talk to a flow in text, exactly as on a call without audio.
//!
//! Scheduling nodes run against a SQLite store in `--data DIR` (default: a temporary directory
//! removed at exit), seeded from the flow's `resources:` file at start (an idempotent upsert),
//! so bookings persist across turns, and across sessions with the same `--data`. A booking's
//! iCalendar confirmation is written to `DIR/appointment-ID.ics`. "Stop calling me" writes the
//! caller's number to the store's do-not-call list. `--var` sets the flow's `inputs:` (e.g.
//! `--var answered_by=machine` for an outbound flow's voicemail path). Webhook nodes make their
//! HTTP calls (`frontdesk_effects`); `--secret NAME=VALUE` sets `{{secret.NAME}}`, else the
//! environment variable `FRONTDESK_SECRET_NAME` is read. `llm` nodes ask the LLM given by
//! `--llm-url` (or `FRONTDESK_LLM_URL`, with `FRONTDESK_LLM_MODEL` and `FRONTDESK_LLM_API_KEY`)
//! with the templates in `--prompts` (default `prompts/`); without one they take their fallback.
//!
//! Each stdin line is one caller utterance. An empty line (or `/silence`) is a silence
//! timeout; `/dtmf 123#` presses keys. Closing stdin ends the call. The flow machine runs on
//! a simulated clock (3 s per turn), so a session replays identically. With `--json`, every
//! agent turn is one JSON object on stdout: `{"say", "node", "intent", "faq_id", "slots",
//! "actions"}`; otherwise the agent's words are printed as `agent: ...`.
//!
//! No embedding model is loaded here yet: intents and FAQ use the keyword rules.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use frontdesk_effects::Effects;
use frontdesk_flow::convo::{Desk, Reply, load, parse_now, step_with, turn_json, wall_from_unix};
use frontdesk_flow::{Event, FlowError, FlowMachine};
use frontdesk_llm::{LlmClient, LlmConfig, Prompts};
use frontdesk_types::{Instant, Pii};

/// Arguments of `frontdesk chat`.
#[derive(clap::Args, Debug)]
pub(crate) struct ChatArgs {
    /// The flow file.
    #[arg(value_name = "FLOW")]
    pub(crate) flow: PathBuf,
    /// The caller's current time: RFC 3339 (`2026-11-18T10:15:00-05:00`) or local
    /// (`2026-11-18T10:15`, read in --tz). Default: now.
    #[arg(long)]
    pub(crate) now: Option<String>,
    /// The caller's IANA time zone (default: the flow's `timezone`, else UTC).
    #[arg(long)]
    pub(crate) tz: Option<String>,
    /// The caller's number (available to templates as `{{caller_number}}`).
    #[arg(long)]
    pub(crate) caller: Option<String>,
    /// One JSON object per agent turn.
    #[arg(long)]
    pub(crate) json: bool,
    /// Data directory of the store (default: a temporary directory, removed at exit).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// A flow input set before the call starts, `NAME=VALUE` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(crate) vars: Vec<String>,
    /// Webhook secrets and the optional LLM.
    #[command(flatten)]
    pub(crate) fx: EffectArgs,
}

/// What flow effects need from the command line (`chat` and `serve`).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct EffectArgs {
    /// A webhook secret `NAME=VALUE` for `{{secret.NAME}}` (repeatable; default: the
    /// environment variable FRONTDESK_SECRET_NAME).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub(crate) secrets: Vec<String>,
    /// An OpenAI-compatible chat-completions service for `llm` nodes and `llm_fallback`
    /// (http://host:port; without it every `llm` node takes its fallback).
    #[arg(long, env = "FRONTDESK_LLM_URL", value_name = "URL")]
    pub(crate) llm_url: Option<String>,
    /// The model name sent to the LLM service.
    #[arg(long, env = "FRONTDESK_LLM_MODEL", default_value = "default")]
    pub(crate) llm_model: String,
    /// A bearer key for the LLM service.
    #[arg(long, env = "FRONTDESK_LLM_API_KEY", hide_env_values = true)]
    pub(crate) llm_api_key: Option<String>,
    /// The directory of prompt templates (`*.md`) for `llm` nodes.
    #[arg(long, value_name = "DIR", default_value = "prompts")]
    pub(crate) prompts: PathBuf,
}

impl EffectArgs {
    /// The executor: secrets, and the LLM when `--llm-url` is given.
    pub(crate) fn build(&self) -> anyhow::Result<Effects> {
        let mut fx = effects(&self.secrets)?;
        if let Some(url) = &self.llm_url {
            let config = LlmConfig {
                url: url.clone(),
                model: self.llm_model.clone(),
                api_key: self.llm_api_key.clone(),
            };
            let prompts = Prompts::load(&self.prompts).context("--prompts")?;
            fx = fx.with_llm(LlmClient::new(config).context("--llm-url")?, prompts);
        }
        Ok(fx)
    }
}

/// The effects executor with `--secret NAME=VALUE` secrets.
pub(crate) fn effects(secrets: &[String]) -> anyhow::Result<Effects> {
    let mut fx = Effects::new()?;
    for s in secrets {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--secret {:?}: use NAME=VALUE", s.split('=').next().unwrap_or("")))?;
        fx = fx.with_secret(k.trim(), v.trim());
    }
    Ok(fx)
}

fn show(out: &mut impl std::io::Write, json: bool, m: &FlowMachine, r: &Reply) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", turn_json(m, r))?;
    } else if !r.say.is_empty() {
        writeln!(out, "agent: {}", r.say)?;
    }
    out.flush()?;
    Ok(())
}

/// Runs `frontdesk chat`.
pub(crate) fn run(args: ChatArgs) -> anyhow::Result<()> {
    let (bundle, resources) = match load(&args.flow) {
        Ok(b) => b,
        Err(FlowError::Invalid { file, diags }) => {
            let all: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
            anyhow::bail!("the flow has errors (run `frontdesk flow check`):\n{}", all.join("\n"));
        }
        Err(e) => return Err(e.into()),
    };
    let tz = args.tz.clone().or_else(|| bundle.flow.timezone.clone()).unwrap_or_else(|| "UTC".into());
    // The CLI is the shell: the only place the wall clock is read, and only without --now.
    let wall = match &args.now {
        Some(n) => parse_now(n, &tz),
        None => wall_from_unix(unix_now()?, &tz),
    }
    .context("--now/--tz")?;
    let desk = Desk::open(args.data.as_deref()).context("--data")?;
    if let Some(r) = &resources {
        desk.seed(r).context("loading the resources file into the store")?;
    }
    let mut vars = Vec::new();
    for v in &args.vars {
        let (k, val) = v.split_once('=').with_context(|| format!("--var {v:?}: use NAME=VALUE"))?;
        vars.push((k.trim().to_owned(), val.trim().to_owned()));
    }
    let fx = args.fx.build()?.with_store(desk.shared());
    let mut run = |c: &frontdesk_flow::Command, ctx: &frontdesk_flow::convo::EffectCtx<'_>| fx.run(c, ctx);
    let mut m = FlowMachine::new(Arc::new(bundle), wall).with_vars(vars).with_llm(fx.llm_configured());
    if let Some(c) = args.caller {
        m = m.with_caller(Pii::new(c));
    }
    let mut out = std::io::stdout().lock();
    let mut t = Instant::from_millis(0);
    let r = step_with(&mut m, t, Some(Event::Start), &mut run)?;
    show(&mut out, args.json, &m, &r)?;
    for line in std::io::stdin().lock().lines() {
        if m.is_ended() {
            break;
        }
        let line = line?;
        let line = line.trim();
        t += Duration::from_secs(3);
        let r = if line.is_empty() || line == "/silence" {
            t = m.poll_timeout().unwrap_or(t).max(t);
            step_with(&mut m, t, None, &mut run)?
        } else if let Some(keys) = line.strip_prefix("/dtmf") {
            step_with(&mut m, t, Some(Event::Dtmf(keys.trim().to_owned())), &mut run)?
        } else {
            let ev = Event::Utterance { text: line.to_owned(), confidence: 1.0, embedding: None };
            step_with(&mut m, t, Some(ev), &mut run)?
        };
        show(&mut out, args.json, &m, &r)?;
        write_ics(&desk, &m, args.json)?;
    }
    Ok(())
}

/// Writes a new booking's confirmation to `DIR/appointment-ID.ics` (once per booking).
fn write_ics(desk: &Desk, m: &FlowMachine, json: bool) -> anyhow::Result<()> {
    let Some(id) = m.turn().actions.iter().find_map(|a| a.strip_prefix("booked:")) else { return Ok(()) };
    let Some(ics) = m.last_ics() else { return Ok(()) };
    let path = desk.dir().join(format!("appointment-{id}.ics"));
    std::fs::write(&path, ics).with_context(|| format!("writing {}", path.display()))?;
    if !json {
        eprintln!("(confirmation written to {})", path.display());
    }
    Ok(())
}

/// Seconds since the Unix epoch (only without `--now`).
#[allow(clippy::disallowed_methods, reason = "the CLI is the shell; the flow machine is told this time")]
fn unix_now() -> anyhow::Result<i64> {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    Ok(i64::try_from(d.as_secs())?)
}
