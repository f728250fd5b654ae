//! `voicebench`: the live voice loop measured on the wire (see the library's docs and
//! `eval/voice/README.md`). This file is the command line and the order of the scenarios.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use frontdesk_voicebench::caller::{Caller, Step};
use frontdesk_voicebench::clip::Clip;
use frontdesk_voicebench::error::BenchError;
use frontdesk_voicebench::report::{LoadStats, OverStats, Summary, TurnStats};
use frontdesk_voicebench::scenario::{Rng, Settings, Turn};
use frontdesk_voicebench::ws::{CallRecord, Target};
use frontdesk_voicebench::{clip, report, scenario, ws};

#[derive(Parser, Debug)]
#[command(about = "Voice-loop benchmark over the Twilio Media Streams WebSocket of `frontdesk serve`")]
struct Args {
    /// The server's media WebSocket.
    #[arg(long, default_value = "ws://127.0.0.1:8080/media/twilio")]
    url: String,
    /// API key, sent as `?token=`.
    #[arg(long, env = "VOICEBENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The clips: `<dir>/<set>/labels.jsonl` (eval/voice/audio).
    #[arg(long, default_value = "eval/voice/audio")]
    audio: PathBuf,
    /// Scenarios, comma-separated: turns (FAQ + complete), sched, barge, pause, load.
    #[arg(long, default_value = "turns,sched,barge,pause,load")]
    scenarios: String,
    /// Calls at once in the turn-taking scenarios (turns, barge, pause, sched).
    #[arg(long, default_value_t = 2)]
    parallel: usize,
    /// Caller turns per call in `turns` (the clinic flow hands over to a person, which hangs up
    /// here, after three turns it does not understand in a row).
    #[arg(long, default_value_t = 2)]
    turns_per_call: usize,
    /// At most this many clips per set (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Clips of this split only: all, dev or test.
    #[arg(long, default_value = "all")]
    split: String,
    /// The question whose answer clips are played over (a `kbq` clip id).
    #[arg(long, default_value = "kbq-new_patient_forms")]
    ask: String,
    /// Silent control trials in `barge`.
    #[arg(long, default_value_t = 6)]
    controls: usize,
    /// Concurrent calls in `load`.
    #[arg(long, default_value_t = 16)]
    calls: usize,
    /// Seconds of `load`.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// The server's process id, for its VmRSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Where the JSON summary goes.
    #[arg(long, default_value = "voicebench.json")]
    out: PathBuf,
    /// Also write every call's record (clips played, voiced agent spans, clears) here, as JSON.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Share of load turns after which the caller talks over the agent's reply (see
    /// `scenario::LoadMix`; 0: every caller waits for every whole reply).
    #[arg(long, default_value_t = scenario::LoadMix::default().interrupt)]
    interrupt: f64,
    /// Share of load turns made of two clips said in one breath (`scenario::LoadMix::join`).
    #[arg(long, default_value_t = scenario::LoadMix::default().join)]
    join: f64,
    /// Seed of the load callers' choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn load_sets(args: &Args, names: &[&str]) -> Result<scenario::Sets, BenchError> {
    let mut sets = scenario::Sets::new();
    for n in names {
        let mut v: Vec<Arc<Clip>> = clip::load_set(&args.audio, n)?;
        if args.split != "all" {
            v.retain(|c| c.split == args.split);
        }
        if args.limit > 0 {
            v.truncate(args.limit);
        }
        sets.insert((*n).to_owned(), v);
    }
    Ok(sets)
}

fn err_line(e: &dyn std::fmt::Display) {
    let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("voicebench: {e}\n"));
}

/// Runs one call per script, `parallel` at a time; failed calls are reported and left out.
async fn run_calls(
    target: &Target,
    scripts: Vec<Vec<Step>>,
    parallel: usize,
    prefix: &str,
) -> Vec<CallRecord> {
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let mut set = JoinSet::new();
    for (i, steps) in scripts.into_iter().enumerate() {
        let (sem, target, id) = (sem.clone(), target.clone(), format!("{prefix}{i:04}"));
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, ws::run_call(&target, &id, Caller::new(steps), Duration::from_secs(180)).await)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((i, Ok(rec))) => out.push((i, rec)),
            Ok((_, Err(e))) => err_line(&e),
            Err(e) => err_line(&e),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// `calls` callers for `secs`, each replaced when the server ends it; the server's RSS sampled
/// every second.
async fn run_load(
    target: &Target,
    pool: &[Arc<Clip>],
    args: &Args,
    s: &Settings,
) -> (Vec<CallRecord>, Vec<(f64, f64)>) {
    let dur = Duration::from_secs(args.duration);
    let t0 = ws::now();
    let stagger = Duration::from_millis(250);
    let mut set = JoinSet::new();
    for i in 0..args.calls {
        let (target, pool, s) = (target.clone(), pool.to_vec(), s.clone());
        let mut rng = Rng::new(args.seed.wrapping_mul(1000).wrapping_add(i as u64));
        let mix =
            scenario::LoadMix { interrupt: args.interrupt, join: args.join, ..scenario::LoadMix::default() };
        set.spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            let mut recs = Vec::new();
            for n in 0.. {
                let left = dur.saturating_sub(t0.elapsed());
                if left < Duration::from_secs(5) {
                    break;
                }
                let steps = scenario::load_call(&pool, left.as_secs_f64() * 1000.0, &mut rng, &s, &mix);
                match ws::run_call(&target, &format!("load{i:03}-{n}"), Caller::new(steps), left).await {
                    Ok(r) => {
                        let again = r.ended != ws::Ended::Caller;
                        recs.push(r);
                        if !again {
                            break;
                        }
                    }
                    Err(e) => {
                        err_line(&e);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            recs
        });
    }
    let mut rss = Vec::new();
    let mut recs = Vec::new();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = set.join_next() => match r {
                Some(Ok(v)) => recs.extend(v),
                Some(Err(e)) => err_line(&e),
                None => break,
            },
            _ = every.tick() => {
                if let Some(m) = args.server_pid.and_then(report::rss_mib) {
                    rss.push((t0.elapsed().as_secs_f64(), m));
                }
            }
        }
    }
    (recs, rss)
}

fn all_turns(recs: &[CallRecord], tags: &[&str], s: &Settings) -> Vec<Turn> {
    recs.iter().flat_map(|r| scenario::turns(r, tags, s)).collect()
}

async fn run(args: Args) -> Result<Summary, BenchError> {
    let s = Settings::default();
    let target = Target { url: args.url.clone(), token: args.token.clone() };
    let want: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    if let Some(bad) = want.iter().find(|w| !["turns", "sched", "barge", "pause", "load"].contains(w)) {
        return Err(BenchError::Usage(format!("unknown scenario {bad:?}: turns, sched, barge, pause, load")));
    }
    let mut sum =
        Summary { settings: Some(s.clone()), loadavg: vec![report::loadavg()], ..Summary::default() };
    sum.rss_idle_mib = args.server_pid.and_then(report::rss_mib);
    let mut detail = serde_json::Map::new();
    let mut dumped: Vec<serde_json::Value> = Vec::new();
    let mut dump = |recs: &[CallRecord]| {
        for r in recs {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["voiced"] = serde_json::json!(r.voiced_spans(scenario::JOIN_GAP_MS));
            dumped.push(v);
        }
    };
    let json = |v: &dyn erased::Ser| v.value();

    if want.contains(&"turns") {
        let sets = load_sets(&args, &["faq", "complete"])?;
        let mut scripts = scenario::turn_calls(&sets["faq"], args.turns_per_call, "faq", &s);
        scripts.extend(scenario::turn_calls(&sets["complete"], args.turns_per_call, "complete", &s));
        let recs = run_calls(&target, scripts, args.parallel, "turns").await;
        dump(&recs);
        let faq = all_turns(&recs, &["faq"], &s);
        let complete = all_turns(&recs, &["complete"], &s);
        sum.faq = Some(TurnStats::of(&faq));
        sum.complete = Some(TurnStats::of(&complete));
        detail.insert("turns".into(), json(&(faq, complete)));
    }
    if want.contains(&"sched") {
        let sets = load_sets(&args, &["sched"])?;
        let mut dialogues: std::collections::BTreeMap<String, Vec<Arc<Clip>>> = Default::default();
        for c in &sets["sched"] {
            let who = c.id.split('-').next().unwrap_or("").to_owned();
            dialogues.entry(who).or_default().push(c.clone());
        }
        let scripts: Vec<Vec<Step>> =
            dialogues.values().map(|d| scenario::dialogue_call(d, "sched", &s)).collect();
        let recs = run_calls(&target, scripts, args.parallel, "sched").await;
        dump(&recs);
        let turns = all_turns(&recs, &["sched"], &s);
        for step in ["book", "when", "yes", "name", "provider"] {
            let ts: Vec<&Turn> = turns.iter().filter(|t| t.clip.ends_with(&format!("-{step}"))).collect();
            sum.sched.push((format!("sched-{step}"), TurnStats::of(ts)));
        }
        detail.insert("sched".into(), json(&turns));
    }
    if want.contains(&"barge") {
        let sets = load_sets(&args, &["interrupt", "backchannel", "kbq"])?;
        let ask = clip::load_set(&args.audio, "kbq")?
            .into_iter()
            .find(|c| c.id == args.ask)
            .ok_or_else(|| BenchError::Usage(format!("--ask {}: no such clip in kbq", args.ask)))?;
        let over: Vec<Arc<Clip>> = sets["interrupt"].iter().chain(&sets["backchannel"]).cloned().collect();
        let recs =
            run_calls(&target, scenario::over_calls(&ask, &over, args.controls, &s), args.parallel, "barge")
                .await;
        dump(&recs);
        let overs: Vec<_> = recs.iter().flat_map(|r| scenario::overs(r, &s)).collect();
        sum.barge = Some(OverStats::of(&overs));
        detail.insert("barge".into(), json(&overs));
    }
    if want.contains(&"pause") {
        let sets = load_sets(&args, &["pause"])?;
        let recs =
            run_calls(&target, scenario::turn_calls(&sets["pause"], 1, "pause", &s), args.parallel, "pause")
                .await;
        dump(&recs);
        let turns = all_turns(&recs, &["pause"], &s);
        sum.pause = Some(TurnStats::of(&turns));
        detail.insert("pause".into(), json(&turns));
    }
    if want.contains(&"load") {
        let sets = load_sets(&args, &["kbq", "faq"])?;
        // Each recording carries 0.6 s of line noise before the caller and 2.5 s after: a caller
        // who talks 40 % of the time does not wait that out every turn.
        let pool: Vec<Arc<Clip>> =
            sets["kbq"].iter().chain(&sets["faq"]).map(|c| Arc::new(c.trimmed(200, 300))).collect();
        let before = args.server_pid.and_then(report::rss_mib).unwrap_or(0.0);
        let (recs, rss) = run_load(&target, &pool, &args, &s).await;
        dump(&recs);
        let turns = all_turns(&recs, &["load", scenario::LOAD_OVER], &s);
        let over: Vec<_> = turns.iter().filter(|t| t.tag == scenario::LOAD_OVER).cloned().collect();
        let health: Vec<_> = recs.iter().map(|r| scenario::health(r, &s)).collect();
        let mut l = LoadStats {
            calls: args.calls,
            duration_s: args.duration as f64,
            turns: TurnStats::of(&turns),
            over_turns: TurnStats::of(&over),
            interrupt: args.interrupt,
            join: args.join,
            rss_before_mib: before,
            ..LoadStats::default()
        };
        l.add_health(&health);
        let up = args.calls as f64 * 0.25 + 10.0;
        let mut steady: Vec<f64> = rss.iter().filter(|(t, _)| *t >= up).map(|(_, m)| *m).collect();
        steady.sort_by(f64::total_cmp);
        l.rss_median_mib = steady.get(steady.len() / 2).copied().unwrap_or(0.0);
        l.rss_peak_mib = rss.iter().map(|(_, m)| *m).fold(0.0, f64::max);
        if before > 0.0 && l.rss_median_mib > 0.0 {
            l.rss_per_call_mib = (l.rss_median_mib - before) / args.calls.max(1) as f64;
        }
        sum.load = Some(l);
        detail.insert(
            "load".into(),
            serde_json::json!({ "turns": json(&turns), "calls": json(&health), "rss": json(&rss) }),
        );
    }
    sum.loadavg.push(report::loadavg());
    if let Some(p) = &args.dump {
        let text = serde_json::to_string(&dumped).map_err(|e| BenchError::Usage(e.to_string()))?;
        std::fs::write(p, text).map_err(|e| BenchError::Io { path: p.clone(), source: e })?;
    }
    sum.detail = serde_json::Value::Object(detail);
    Ok(sum)
}

/// Serialising any `Serialize` behind a `dyn` (the closure above takes several types).
mod erased {
    pub(crate) trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            err_line(&e);
            return ExitCode::FAILURE;
        }
    };
    let out = args.out.clone();
    match rt.block_on(run(args)).and_then(|s| report::write(&s, &out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            err_line(&e);
            ExitCode::FAILURE
        }
    }
}
