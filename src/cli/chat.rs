//! `frontdesk chat FLOW.yaml [--now RFC3339] [--tz ZONE] [--caller +15551234567] [--json]`:
//! talk to a flow in text, exactly as on a call without audio.
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
use frontdesk_flow::convo::{Reply, parse_now, step, turn_json, wall_from_unix};
use frontdesk_flow::{Bundle, Event, FlowError, FlowMachine};
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
    let bundle = match Bundle::load(&args.flow) {
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
    let mut m = FlowMachine::new(Arc::new(bundle), wall);
    if let Some(c) = args.caller {
        m = m.with_caller(Pii::new(c));
    }
    let mut out = std::io::stdout().lock();
    let mut t = Instant::from_millis(0);
    let r = step(&mut m, t, Some(Event::Start))?;
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
            step(&mut m, t, None)?
        } else if let Some(keys) = line.strip_prefix("/dtmf") {
            step(&mut m, t, Some(Event::Dtmf(keys.trim().to_owned())))?
        } else {
            step(
                &mut m,
                t,
                Some(Event::Utterance { text: line.to_owned(), confidence: 1.0, embedding: None }),
            )?
        };
        show(&mut out, args.json, &m, &r)?;
    }
    Ok(())
}

/// Seconds since the Unix epoch (only without `--now`).
#[allow(clippy::disallowed_methods, reason = "the CLI is the shell; the flow machine is told this time")]
fn unix_now() -> anyhow::Result<i64> {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    Ok(i64::try_from(d.as_secs())?)
}
