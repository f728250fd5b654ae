//! Summaries of the scenarios (targets from issue #7), the printed table and the JSON file;
//! plus the two readings of this machine the report needs (`/proc/loadavg`, a process's VmRSS).

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::analysis::{Dist, Rate};
use crate::error::BenchError;
use crate::scenario::{CallHealth, Over, Settings, Turn};

/// Voice-to-voice turns of one kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TurnStats {
    /// Replies, ms.
    pub v2v: Dist,
    /// Turns with no reply before the caller went on.
    pub no_reply: Rate,
    /// The agent spoke before the caller's last sound.
    pub premature: Rate,
    /// Turns left out: the agent was still answering the previous turn when the caller began.
    pub overlapped: usize,
}

impl TurnStats {
    /// Statistics of `turns` (cut turns left out).
    pub fn of<'a>(turns: impl IntoIterator<Item = &'a Turn>) -> TurnStats {
        let mut st = TurnStats::default();
        let mut v = Vec::new();
        for t in turns.into_iter().filter(|t| !t.cut) {
            if t.overlap {
                st.overlapped += 1;
                continue;
            }
            st.no_reply.add(t.v2v_ms.is_none());
            st.premature.add(t.premature);
            v.extend(t.v2v_ms);
        }
        st.v2v = Dist::of(&v);
        st
    }
}

/// Clips played over the agent's answer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OverStats {
    /// Interruptions the agent did not stop for.
    pub missed: Rate,
    /// Interruption onset -> last voiced agent frame.
    pub onset_to_last: Dist,
    /// Interruption onset -> `clear`.
    pub onset_to_clear: Dist,
    /// `clear` -> last voiced agent frame.
    pub clear_to_last: Dist,
    /// Backchannels and noises the agent stopped for.
    pub false_barge_in: Rate,
    /// Backchannels and noises followed by a `clear`.
    pub false_clear: Rate,
    /// Backchannels and noises over which the agent's audio was held and then played on.
    pub held: Rate,
    /// How long those holds were silent.
    pub hold: Dist,
    /// Silent control trials where the agent's voice stopped anyway.
    pub control_stops: Rate,
    /// Trials left out: the agent was not speaking at the clip's onset.
    pub not_speaking: usize,
}

impl OverStats {
    /// Statistics of `overs`: `interrupt` set clips must stop the agent, others must not.
    pub fn of(overs: &[Over]) -> OverStats {
        let mut st = OverStats::default();
        let (mut last, mut clear, mut c2l, mut hold) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for o in overs {
            if !o.speaking_at_onset {
                st.not_speaking += 1;
                continue;
            }
            match (o.tag.as_str(), o.set.as_str()) {
                ("control", _) => st.control_stops.add(o.silenced),
                (_, "interrupt") => {
                    st.missed.add(!o.stopped);
                    last.extend(o.onset_to_last_ms);
                    clear.extend(o.onset_to_clear_ms);
                    c2l.extend(o.clear_to_last_ms);
                }
                _ => {
                    st.false_barge_in.add(o.stopped);
                    st.false_clear.add(o.onset_to_clear_ms.is_some());
                    st.held.add(o.held);
                    hold.extend(o.hold_ms);
                }
            }
        }
        st.onset_to_last = Dist::of(&last);
        st.onset_to_clear = Dist::of(&clear);
        st.clear_to_last = Dist::of(&c2l);
        st.hold = Dist::of(&hold);
        st
    }
}

/// The concurrent-calls run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadStats {
    /// Calls kept up at once.
    pub calls: usize,
    /// Seconds.
    pub duration_s: f64,
    /// Calls placed (a call that ends before the run does is replaced).
    pub placed: usize,
    /// Calls the server closed without the agent hanging up, or that failed.
    pub dropped: usize,
    /// Calls the agent ended (close code 1000: the flow hung up or handed the call over).
    pub agent_ended: usize,
    /// Voice-to-voice of every turn.
    pub turns: TurnStats,
    /// The turns the caller began over the agent's reply (part of `turns`).
    pub over_turns: TurnStats,
    /// Share of turns after which the caller talked over the reply (the run's setting).
    pub interrupt: f64,
    /// Share of turns made of two clips (the run's setting).
    pub join: f64,
    /// Inter-arrival gaps over the threshold, all calls.
    pub gaps: usize,
    /// Calls with at least one gap.
    pub calls_with_gaps: usize,
    /// Longest inter-arrival time, ms.
    pub max_gap_ms: f64,
    /// Mean caller sound / call length.
    pub caller_share: f64,
    /// Worst per-call 99th percentile of caller send lateness, ms.
    pub send_late_p99_ms: f64,
    /// Server VmRSS before the run, MiB.
    pub rss_before_mib: f64,
    /// Median server VmRSS once every call was up, MiB.
    pub rss_median_mib: f64,
    /// Peak server VmRSS, MiB.
    pub rss_peak_mib: f64,
    /// (median - before) / calls, MiB.
    pub rss_per_call_mib: f64,
}

impl LoadStats {
    /// Adds the calls' health to the totals.
    pub fn add_health(&mut self, hs: &[CallHealth]) {
        self.placed = hs.len();
        self.dropped = hs.iter().filter(|h| h.dropped).count();
        self.agent_ended = hs.iter().filter(|h| h.agent_ended).count();
        self.gaps = hs.iter().map(|h| h.gaps).sum();
        self.calls_with_gaps = hs.iter().filter(|h| h.gaps > 0).count();
        self.max_gap_ms = hs.iter().map(|h| h.max_gap_ms).fold(0.0, f64::max);
        self.caller_share = hs.iter().map(|h| h.caller_share).sum::<f64>() / hs.len().max(1) as f64;
        self.send_late_p99_ms = hs.iter().map(|h| h.send_late_p99_ms).fold(0.0, f64::max);
    }
}

/// Everything one run measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Decision settings.
    pub settings: Option<Settings>,
    /// `/proc/loadavg` at the start and at the end.
    pub loadavg: Vec<String>,
    /// Server VmRSS with the models loaded before the first call, MiB.
    pub rss_idle_mib: Option<f64>,
    /// FAQ questions.
    pub faq: Option<TurnStats>,
    /// Complete utterances.
    pub complete: Option<TurnStats>,
    /// Booking dialogue, per step (`sched-book`, ...).
    pub sched: Vec<(String, TurnStats)>,
    /// Utterances with mid-sentence pauses.
    pub pause: Option<TurnStats>,
    /// Interruptions, backchannels and noises over an answer.
    pub barge: Option<OverStats>,
    /// Concurrent calls.
    pub load: Option<LoadStats>,
    /// Every turn and trial, for a closer look.
    pub detail: serde_json::Value,
}

/// Reads `/proc/loadavg` (first three fields).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// VmRSS of process `pid`, MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss_kib(&s).map(|k| k as f64 / 1024.0)
}

fn parse_vmrss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn ms(d: &Dist) -> String {
    if d.n == 0 {
        "-".into()
    } else {
        format!("p50 {:.0} / p95 {:.0} ms (n={}, max {:.0})", d.p50, d.p95, d.n, d.max)
    }
}

fn pct(r: &Rate) -> String {
    format!("{:.1} % ({}/{})", r.percent(), r.hits, r.n)
}

fn verdict(ok: bool, n: usize) -> &'static str {
    if n == 0 {
        "-"
    } else if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The table rows: what, measured, target, verdict.
pub fn rows(s: &Summary) -> Vec<[String; 4]> {
    let mut r = Vec::new();
    let mut row = |a: &str, b: String, c: &str, d: &str| r.push([a.into(), b, c.into(), d.into()]);
    let v2v = |d: &Dist, p50: f64, p95: f64| verdict(d.p50 <= p50 && d.p95 <= p95, d.n);
    for (name, t) in [("FAQ", &s.faq), ("complete utterance", &s.complete)] {
        if let Some(t) = t {
            row(
                &format!("voice-to-voice, {name}"),
                ms(&t.v2v),
                "p50 <= 700, p95 <= 1000",
                v2v(&t.v2v, 700.0, 1000.0),
            );
            row(
                &format!("  no reply, {name}"),
                pct(&t.no_reply),
                "0",
                verdict(t.no_reply.hits == 0, t.no_reply.n),
            );
            row(&format!("  left out (late previous reply), {name}"), t.overlapped.to_string(), "", "");
        }
    }
    for (step, t) in &s.sched {
        row(
            &format!("voice-to-voice, {step}"),
            ms(&t.v2v),
            "p50 <= 700, p95 <= 1000",
            v2v(&t.v2v, 700.0, 1000.0),
        );
        row(
            &format!("  no reply, {step}"),
            pct(&t.no_reply),
            "0",
            verdict(t.no_reply.hits == 0, t.no_reply.n),
        );
    }
    if let Some(b) = &s.barge {
        row(
            "barge-in: onset -> last agent frame",
            ms(&b.onset_to_last),
            "p95 <= 200",
            verdict(b.onset_to_last.p95 <= 200.0, b.onset_to_last.n),
        );
        row("barge-in: onset -> clear", ms(&b.onset_to_clear), "", "");
        row("barge-in: clear -> last agent frame", ms(&b.clear_to_last), "", "");
        row("missed interruptions", pct(&b.missed), "<= 5 %", verdict(b.missed.percent() <= 5.0, b.missed.n));
        row(
            "false barge-ins (backchannels, noises)",
            pct(&b.false_barge_in),
            "<= 10 %",
            verdict(b.false_barge_in.percent() <= 10.0, b.false_barge_in.n),
        );
        row("  clear sent on backchannels, noises", pct(&b.false_clear), "", "");
        row("  held and played on (backchannels, noises)", pct(&b.held), "", "");
        row("  hold length", ms(&b.hold), "", "");
        row(
            "  stops with no caller sound (control)",
            pct(&b.control_stops),
            "0",
            verdict(b.control_stops.hits == 0, b.control_stops.n),
        );
        row("  trials left out (agent not speaking)", b.not_speaking.to_string(), "", "");
    }
    if let Some(p) = &s.pause {
        row(
            "premature end of turn, pause set",
            pct(&p.premature),
            "<= 5 %",
            verdict(p.premature.percent() <= 5.0, p.premature.n),
        );
        row("  voice-to-voice after the pause set", ms(&p.v2v), "", "");
        row("  left out (late previous reply)", p.overlapped.to_string(), "", "");
    }
    if let Some(c) = &s.complete {
        row("  premature, complete set", pct(&c.premature), "", "");
    }
    if let Some(l) = &s.load {
        let n = l.turns.v2v.n;
        row(
            &format!("{} concurrent calls, {:.0} s: voice-to-voice", l.calls, l.duration_s),
            ms(&l.turns.v2v),
            "p95 <= 1200",
            verdict(l.turns.v2v.p95 <= 1200.0, n),
        );
        row(
            "  no reply",
            pct(&l.turns.no_reply),
            "0",
            verdict(l.turns.no_reply.hits == 0, l.turns.no_reply.n),
        );
        row("  turns left out (late previous reply)", l.turns.overlapped.to_string(), "", "");
        row(
            "  audio gaps > 100 ms (calls with gaps)",
            format!("{} ({}), longest {:.0} ms", l.gaps, l.calls_with_gaps, l.max_gap_ms),
            "0",
            verdict(l.gaps == 0, l.placed),
        );
        row(
            "  of which begun over the agent's reply",
            format!("{} (left out: {})", l.over_turns.v2v.n, l.over_turns.overlapped),
            "",
            "",
        );
        row(
            "  dropped calls",
            format!("{} of {}", l.dropped, l.placed),
            "0",
            verdict(l.dropped == 0, l.placed),
        );
        row("  calls the agent ended (hang-up, hand-over)", l.agent_ended.to_string(), "", "");
        row("  caller speaking share", format!("{:.0} %", 100.0 * l.caller_share), "~40 %", "");
        row("  caller send lateness p99 (worst call)", format!("{:.1} ms", l.send_late_p99_ms), "", "");
        row(
            "  server RSS before / median / peak",
            format!("{:.0} / {:.0} / {:.0} MiB", l.rss_before_mib, l.rss_median_mib, l.rss_peak_mib),
            "",
            "",
        );
        row(
            "memory per AI call",
            format!("{:.1} MiB", l.rss_per_call_mib),
            "<= 30 MB",
            verdict(l.rss_per_call_mib <= 30.0, l.placed),
        );
    }
    if let Some(r0) = s.rss_idle_mib {
        row("server RSS idle, models loaded", format!("{r0:.0} MiB"), "", "");
    }
    row("load average (start; end)", s.loadavg.join("; "), "", "");
    r
}

/// Writes the table to stdout and the summary to `json`.
pub fn write(s: &Summary, json: &Path) -> Result<(), BenchError> {
    let rs = rows(s);
    let w: [usize; 3] = std::array::from_fn(|i| rs.iter().map(|r| r[i].chars().count()).max().unwrap_or(0));
    let mut out = std::io::stdout().lock();
    let io = |e| BenchError::Io { path: "stdout".into(), source: e };
    for r in &rs {
        writeln!(
            out,
            "| {:<a$} | {:<b$} | {:<c$} | {} |",
            r[0],
            r[1],
            r[2],
            r[3],
            a = w[0],
            b = w[1],
            c = w[2]
        )
        .map_err(io)?;
    }
    let text = serde_json::to_string_pretty(s).map_err(|e| BenchError::Usage(e.to_string()))?;
    std::fs::write(json, text).map_err(|e| BenchError::Io { path: json.to_owned(), source: e })?;
    writeln!(out, "results: {}", json.display()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss() {
        assert_eq!(parse_vmrss_kib("Name:\tx\nVmRSS:\t  123456 kB\nVmHWM: 1 kB\n"), Some(123_456));
        assert_eq!(parse_vmrss_kib("Name: x\n"), None);
    }

    #[test]
    fn over_stats_split_sets() {
        let o = |tag: &str, set: &str, stopped: bool| Over {
            tag: tag.into(),
            clip: "c".into(),
            set: set.into(),
            speaking_at_onset: true,
            silenced: stopped,
            stopped,
            held: false,
            hold_ms: None,
            onset_to_last_ms: stopped.then_some(400.0),
            onset_to_clear_ms: stopped.then_some(390.0),
            clear_to_last_ms: stopped.then_some(10.0),
        };
        let st = OverStats::of(&[
            o("over", "interrupt", true),
            o("over", "interrupt", false),
            o("over", "backchannel", false),
            o("control", "control", false),
        ]);
        assert_eq!((st.missed.hits, st.missed.n), (1, 2));
        assert_eq!((st.false_barge_in.hits, st.false_barge_in.n), (0, 1));
        assert_eq!(st.control_stops.n, 1);
        assert_eq!(st.onset_to_last.p50, 400.0);
        assert!(rows(&Summary { barge: Some(st), ..Summary::default() }).len() > 5);
    }
}
