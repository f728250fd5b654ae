//! The metrics registry and its Prometheus text exposition (format 0.0.4), written by hand: a
//! few counters, one gauge and some histograms do not need a metrics framework.
//!
//! The API records its own requests (count by method, route template and status; duration by
//! route). The voice loop records call-side figures through the public methods ([`Metrics::call_started`],
//! [`Metrics::turn`], [`Metrics::barge_in`], [`Metrics::asr`], [`Metrics::tts_first_audio`],
//! [`Metrics::error`]); until a shell calls them they are exposed as zero. Per-stage turn latencies
//! ([`Metrics::turn_stage`], one histogram series per stage) and the barge-in
//! stop time ([`Metrics::barge_in_stopped`]) come from the voice loop's timing records.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Histogram bucket upper bounds in seconds.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The stages of a turn's latency, each measured from the end of the caller's speech: the final
/// transcript, the end-of-turn decision, the flow's first command, the first synthesised audio,
/// the first audio frame sent. Label values of `frontdesk_turn_stage_seconds`.
const TURN_STAGES: [&str; 5] =
    ["final_transcript", "end_of_turn", "flow_command", "first_tts_audio", "first_audio_sent"];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0;
        for (b, c) in BUCKETS.iter().zip(self.counts.iter()) {
            cum += c;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Tables {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    request_seconds: BTreeMap<&'static str, Histogram>,
    calls: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    turn_latency: Histogram,
    asr: Histogram,
    tts_first_audio: Histogram,
    turn_stages: BTreeMap<&'static str, Histogram>,
    barge_in_stop: Histogram,
}

/// The process's metrics. Cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    in_progress: AtomicI64,
    turns: AtomicU64,
    barge_ins: AtomicU64,
    tables: Mutex<Tables>,
}

/// Escapes a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One API request served (`route` is the OpenAPI template, or `unmatched`).
    pub(crate) fn request(&self, method: &str, route: &'static str, status: u16, took: Duration) {
        let mut t = self.tables();
        *t.requests.entry((method.to_string(), route, status)).or_default() += 1;
        t.request_seconds.entry(route).or_default().observe(took.as_secs_f64());
    }

    /// A call started (`direction`: `inbound` or `outbound`).
    pub fn call_started(&self, direction: &str) {
        self.in_progress.fetch_add(1, Ordering::Relaxed);
        *self.tables().calls.entry(direction.to_string()).or_default() += 1;
    }

    /// A call ended.
    pub fn call_ended(&self) {
        self.in_progress.fetch_sub(1, Ordering::Relaxed);
    }

    /// A turn completed; `latency` from the end of the caller's speech to the agent's first audio.
    pub fn turn(&self, latency: Option<Duration>) {
        self.turns.fetch_add(1, Ordering::Relaxed);
        if let Some(l) = latency {
            self.tables().turn_latency.observe(l.as_secs_f64());
        }
    }

    /// The caller spoke over the agent and the agent stopped.
    pub fn barge_in(&self) {
        self.barge_ins.fetch_add(1, Ordering::Relaxed);
    }

    /// One speech-recognition decode took this long.
    pub fn asr(&self, took: Duration) {
        self.tables().asr.observe(took.as_secs_f64());
    }

    /// Synthesis of a prompt took this long to its first audio.
    pub fn tts_first_audio(&self, took: Duration) {
        self.tables().tts_first_audio.observe(took.as_secs_f64());
    }

    /// One stage of a turn took `took` from the caller's end of speech (`stage`: one of
    /// `TURN_STAGES`; other names are ignored, so the label set stays bounded).
    pub fn turn_stage(&self, stage: &str, took: Duration) {
        if let Some(s) = TURN_STAGES.iter().find(|s| **s == stage) {
            self.tables().turn_stages.entry(s).or_default().observe(took.as_secs_f64());
        }
    }

    /// After a barge-in, the agent's audio stopped `took` after the onset of the caller's speech.
    pub fn barge_in_stopped(&self, took: Duration) {
        self.tables().barge_in_stop.observe(took.as_secs_f64());
    }

    /// An error of some kind (`asr`, `tts`, `store`, `transport`...).
    pub fn error(&self, kind: &str) {
        *self.tables().errors.entry(kind.to_string()).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let t = self.tables();
        let mut o = String::with_capacity(4096);
        o.push_str("# HELP frontdesk_calls_in_progress Calls in progress.\n# TYPE frontdesk_calls_in_progress gauge\n");
        let _ = writeln!(o, "frontdesk_calls_in_progress {}", self.in_progress.load(Ordering::Relaxed));
        o.push_str("# HELP frontdesk_calls_total Calls started, by direction.\n# TYPE frontdesk_calls_total counter\n");
        for dir in ["inbound", "outbound"] {
            let n = t.calls.get(dir).copied().unwrap_or(0);
            let _ = writeln!(o, "frontdesk_calls_total{{direction=\"{dir}\"}} {n}");
        }
        o.push_str("# HELP frontdesk_turns_total Conversation turns completed.\n# TYPE frontdesk_turns_total counter\n");
        let _ = writeln!(o, "frontdesk_turns_total {}", self.turns.load(Ordering::Relaxed));
        o.push_str("# HELP frontdesk_barge_ins_total Times the caller interrupted the agent.\n# TYPE frontdesk_barge_ins_total counter\n");
        let _ = writeln!(o, "frontdesk_barge_ins_total {}", self.barge_ins.load(Ordering::Relaxed));
        o.push_str("# HELP frontdesk_errors_total Errors, by kind.\n# TYPE frontdesk_errors_total counter\n");
        for (kind, n) in &t.errors {
            let _ = writeln!(o, "frontdesk_errors_total{{kind=\"{}\"}} {n}", label(kind));
        }
        for (name, help, h) in [
            ("frontdesk_turn_latency_seconds", "End of caller speech to first agent audio.", &t.turn_latency),
            ("frontdesk_asr_seconds", "Speech-recognition decode time.", &t.asr),
            ("frontdesk_tts_first_audio_seconds", "Synthesis time to first audio.", &t.tts_first_audio),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} histogram");
            h.write(&mut o, name, "");
        }
        o.push_str("# HELP frontdesk_barge_in_stop_seconds Onset of the caller's speech to the agent's audio stopped, on a barge-in.\n# TYPE frontdesk_barge_in_stop_seconds histogram\n");
        t.barge_in_stop.write(&mut o, "frontdesk_barge_in_stop_seconds", "");
        o.push_str("# HELP frontdesk_turn_stage_seconds End of caller speech to each stage of the agent's answer.\n# TYPE frontdesk_turn_stage_seconds histogram\n");
        let empty = Histogram::default();
        for stage in TURN_STAGES {
            let h = t.turn_stages.get(stage).unwrap_or(&empty);
            h.write(&mut o, "frontdesk_turn_stage_seconds", &format!("stage=\"{stage}\""));
        }
        o.push_str("# HELP frontdesk_http_requests_total API requests, by method, route and status.\n# TYPE frontdesk_http_requests_total counter\n");
        for ((method, route, status), n) in &t.requests {
            let _ = writeln!(
                o,
                "frontdesk_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
        o.push_str("# HELP frontdesk_http_request_duration_seconds API request handling time, by route.\n# TYPE frontdesk_http_request_duration_seconds histogram\n");
        for (route, h) in &t.request_seconds {
            h.write(
                &mut o,
                "frontdesk_http_request_duration_seconds",
                &format!("route=\"{}\"", label(route)),
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_count() {
        let m = Metrics::default();
        m.request("GET", "/v1/calls", 200, Duration::from_millis(3));
        m.request("GET", "/v1/calls", 200, Duration::from_millis(30));
        m.call_started("inbound");
        m.turn(Some(Duration::from_millis(700)));
        m.error("a\"b");
        let text = m.render();
        assert!(text.contains(
            "frontdesk_http_requests_total{method=\"GET\",route=\"/v1/calls\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "frontdesk_http_request_duration_seconds_bucket{route=\"/v1/calls\",le=\"0.005\"} 1\n"
        ));
        assert!(
            text.contains(
                "frontdesk_http_request_duration_seconds_bucket{route=\"/v1/calls\",le=\"0.05\"} 2\n"
            )
        );
        assert!(text.contains("frontdesk_calls_in_progress 1\n"));
        assert!(text.contains("frontdesk_turn_latency_seconds_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("frontdesk_turn_latency_seconds_bucket{le=\"0.5\"} 0\n"));
        assert!(text.contains("frontdesk_errors_total{kind=\"a\\\"b\"} 1\n"));
    }

    #[test]
    fn turn_stages_and_barge_in_stop_are_histograms_with_bounded_labels() {
        let m = Metrics::default();
        m.turn_stage("first_audio_sent", Duration::from_millis(640));
        m.turn_stage("final_transcript", Duration::from_millis(90));
        m.turn_stage("not a stage", Duration::from_millis(1));
        m.barge_in_stopped(Duration::from_millis(320));
        let text = m.render();
        assert!(
            text.contains("frontdesk_turn_stage_seconds_bucket{stage=\"first_audio_sent\",le=\"0.5\"} 0\n")
        );
        assert!(
            text.contains("frontdesk_turn_stage_seconds_bucket{stage=\"first_audio_sent\",le=\"1\"} 1\n")
        );
        assert!(text.contains("frontdesk_turn_stage_seconds_count{stage=\"final_transcript\"} 1\n"));
        assert!(text.contains("frontdesk_turn_stage_seconds_count{stage=\"flow_command\"} 0\n"));
        assert!(!text.contains("not a stage"));
        assert!(text.contains("frontdesk_barge_in_stop_seconds_bucket{le=\"0.5\"} 1\n"));
        // One HELP and TYPE per family.
        assert_eq!(text.matches("# TYPE frontdesk_turn_stage_seconds histogram").count(), 1);
    }
}
