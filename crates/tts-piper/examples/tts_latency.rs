//! Piper time to first audio and real-time factor, for `eval/tts/run.sh` and the performance doc.
//!
//! For each sentence (one per line of `--sentences FILE`, or six built-in 10-word sentences):
//! after one warm-up synthesis, `--runs` times: a [`TtsStream`] at 8 kHz on a one-thread
//! inference pool, timing from `TtsStream::new` to the first chunk (first audio) and to the last;
//! and one whole-sentence `synthesize_clause` (model RTF = compute time / audio length, the way
//! piper-tts synthesises a sentence). Also phonemisation through the long-lived espeak-ng process
//! against spawning `espeak-ng` per sentence. Prints medians, and with `--json` one JSON object
//! per line for the eval script.
//!
//! `cargo run --release -p frontdesk-tts-piper --example tts_latency -- [--threads N] [--runs N]
//! [--no-split] [--sentences FILE] [--json]` (models from `FRONTDESK_MODELS`, else `./models`).

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measuring tool: fail loudly, print results

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk_engines::Synthesizer;
use frontdesk_engines::pool::InferencePool;
use frontdesk_models::ModelPaths;
use frontdesk_tts_piper::{PiperVoice, StreamOptions, TtsStream};
use frontdesk_types::SampleRate;

const SENTENCES: [&str; 6] = [
    "Thanks for calling the clinic, how can we help today?",
    "Your appointment is confirmed for Tuesday at three this afternoon.",
    "I can book you with Doctor Lee on Monday morning.",
    "Please say the date you would like, or press zero.",
    "We are open from eight until six on most weekdays.",
    "Sorry, I did not catch that, could you repeat it?",
];

#[allow(clippy::disallowed_methods)] // a benchmark tool measures wall time
fn now() -> Instant {
    Instant::now()
}

/// CPU time this thread has used (from /proc/thread-self/schedstat, in ns): compute cost that a
/// busy machine does not inflate the way it inflates wall time.
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(s.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Silence VITS leaves around the halves of a cut first clause, before the stream trims it.
fn seams(voice: &PiperVoice, text: &str) {
    let Some((head, tail)) = frontdesk_tts_piper::first::split_first(text, 6) else { return };
    let ms_at = |n: usize| n as f64 * 1000.0 / f64::from(voice.rate());
    let (h, t) =
        (voice.synthesize_clause(&format!("{head},")).unwrap(), voice.synthesize_clause(&tail).unwrap());
    let loud = |s: &f32| s.abs() > 0.01;
    let h_trail = h.len() - h.iter().rposition(loud).map_or(0, |i| i + 1);
    let t_lead = t.iter().position(loud).unwrap_or(t.len());
    let whole = voice.synthesize_clause(text).unwrap();
    let w_lead = whole.iter().position(loud).unwrap_or(whole.len());
    println!(
        "{head:?} | {tail:?}: head ends with {:.0} ms of silence, tail starts with {:.0} ms \
         (the whole sentence starts with {:.0} ms)",
        ms_at(h_trail),
        ms_at(t_lead),
        ms_at(w_lead)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let threads: usize = value("--threads").map_or(1, |v| v.parse().unwrap());
    let runs: usize = value("--runs").map_or(20, |v| v.parse().unwrap());
    let split = !args.iter().any(|a| a == "--no-split");
    let json = args.iter().any(|a| a == "--json");
    let sentences: Vec<String> = match value("--sentences") {
        Some(f) => std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => SENTENCES.iter().map(|s| (*s).to_owned()).collect(),
    };
    let dir = std::env::var_os("FRONTDESK_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from);
    let paths = ModelPaths::new(dir).unwrap();
    let t = now();
    let voice = Arc::new(PiperVoice::load_with_threads(&paths, threads).unwrap());
    let load_ms = ms(t.elapsed());
    let pool = Arc::new(InferencePool::new(1, 16));
    let mut opts = StreamOptions::new(SampleRate::Hz8000);
    if !split {
        opts.first_clause_words = 0;
    }
    let (mut all_first, mut all_rtf) = (Vec::new(), Vec::new());
    let (mut all_first_cpu, mut all_rtf_cpu) = (Vec::new(), Vec::new());
    if !json {
        println!(
            "voice loaded in {load_ms:.0} ms; {threads} intra-op thread(s); first clause split: {split}"
        );
        println!(
            "first audio p50 (CPU) | stream total p50 | model RTF p50 (CPU) | phonemes long-lived / spawned | sentence"
        );
    }
    for text in &sentences {
        voice.synthesize_clause(text).unwrap(); // warm-up
        if args.iter().any(|a| a == "--seams") {
            seams(&voice, text);
            continue;
        }
        let (mut first, mut total, mut rtf, mut phon, mut spawn) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut first_cpu, mut rtf_cpu) = (Vec::new(), Vec::new());
        let mut first_clause = String::new();
        for _ in 0..runs {
            let synth: Arc<dyn Synthesizer> = voice.clone();
            let t = now();
            let mut s = TtsStream::new(synth, pool.clone(), text, opts).unwrap();
            let chunk = s.next_blocking().unwrap().unwrap();
            first.push(ms(t.elapsed()));
            first_clause = chunk.clause;
            for c in s {
                c.unwrap();
            }
            total.push(ms(t.elapsed()));

            let (t, c) = (now(), thread_cpu());
            let pcm = voice.synthesize_clause(text).unwrap();
            let secs = pcm.len() as f64 / f64::from(voice.rate());
            rtf.push(t.elapsed().as_secs_f64() / secs);
            rtf_cpu.push((thread_cpu() - c).as_secs_f64() / secs);

            // The first clause's compute on this thread (what first audio costs on an idle core).
            let c = thread_cpu();
            let synthesised = if first_clause.ends_with([',', '.', '!', '?', ';', ':']) {
                first_clause.clone()
            } else {
                format!("{first_clause},") // the stream synthesises a cut half with a comma
            };
            voice.synthesize_clause(&synthesised).unwrap();
            first_cpu.push(ms(thread_cpu() - c));

            let t = now();
            voice.phonemizer().phonemize(text).unwrap();
            phon.push(ms(t.elapsed()));
            let t = now();
            let out = Command::new("espeak-ng").args(["-q", "--ipa", "-v", "en-us", text]).output().unwrap();
            assert!(out.status.success());
            spawn.push(ms(t.elapsed()));
        }
        let (f, tt, r, p, sp) =
            (median(first), median(total), median(rtf.clone()), median(phon), median(spawn));
        let (fc, rc) = (median(first_cpu), median(rtf_cpu.clone()));
        all_first_cpu.push(fc);
        all_rtf_cpu.extend(rtf_cpu);
        all_first.push(f);
        all_rtf.extend(rtf);
        if json {
            println!(
                "{{\"engine\":\"frontdesk\",\"threads\":{threads},\"split\":{split},\"sentence\":{text:?},\
                 \"first_clause\":{first_clause:?},\"first_audio_ms\":{f:.1},\"total_ms\":{tt:.1},\
                 \"rtf\":{r:.4},\"first_audio_cpu_ms\":{fc:.1},\"rtf_cpu\":{rc:.4},\"phonemize_ms\":{p:.2},\"spawn_ms\":{sp:.2},\"runs\":{runs}}}"
            );
        } else {
            println!(
                "{f:6.1} ms ({fc:5.1}) | {tt:6.1} ms | {r:.3} ({rc:.3}) | {p:.2} / {sp:.2} ms | {text} [first: {first_clause:?}]"
            );
        }
    }
    if !json {
        println!(
            "over all sentences: first audio median of medians {:.1} ms (max {:.1} ms), CPU {:.1} ms \
             (max {:.1}); model RTF median {:.3}, CPU {:.3}",
            median(all_first.clone()),
            all_first.iter().copied().fold(0.0, f64::max),
            median(all_first_cpu.clone()),
            all_first_cpu.iter().copied().fold(0.0, f64::max),
            median(all_rtf),
            median(all_rtf_cpu)
        );
    }
}
