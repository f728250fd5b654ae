//! End-of-turn policies on the turn-taking corpora (`eval/voice/`): VAD pause alone at several
//! silence lengths against VAD pause + Smart Turn, on utterances with mid-sentence pauses
//! (`pause` set) and complete utterances (`complete` set).
//!
//! Generate the audio first (`python3 eval/voice/gen_corpus.py audio`), then
//! `cargo run --release -p frontdesk-eot-smartturn --example eot_eval -- [--split dev|test|all]
//! [--dump]` (`--dump`: Smart Turn's score at every pause of every clip, as TSV).
//!
//! Each 8 kHz clip goes through the real Silero VAD (32 ms frames). In speech, a frame below 0.35
//! counts as silence and a frame at or above it restarts the count (the stop side of
//! `frontdesk_vad_silero::hysteresis`); speech starts after 64 ms at or above 0.5.
//! - `vad N ms`: the turn ends when the silence reaches N ms.
//! - `vad+smart-turn > T`: when the silence reaches the pause length (200 ms), Smart Turn scores
//!   the clip's audio so far (16 kHz); above T the turn ends there, else it ends when the silence
//!   reaches the 1.5 s ceiling, unless speech resumes first (then the next pause is scored again).
//!
//! Premature: the turn ended before the end of the caller's last speech (from the corpus labels).
//! Extra delay: decision time minus the end of the speech, on clips not ended prematurely.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // an eval tool

use std::path::{Path, PathBuf};

use frontdesk_engines::{EndOfTurn, Vad};
use frontdesk_eot_smartturn::{SmartTurnFactory, to_16k};
use frontdesk_models::ModelPaths;
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::SileroFactory;

const FRAME: usize = 256; // 32 ms at 8 kHz
const FRAME_MS: u32 = 32;
const START: f32 = 0.5;
const STOP: f32 = 0.35;
const START_FRAMES: u32 = 2;
const PAUSE_MS: u32 = 200;
const CEILING_MS: u32 = 1500;

struct Clip {
    id: String,
    set: &'static str,
    /// How the clip was made: human digits/words, a human sentence with a stretched gap, or TTS.
    source: &'static str,
    end_ms: u32,
    probs: Vec<f32>,
    pcm: Vec<f32>,
}

#[derive(Clone, Copy)]
enum Policy {
    Vad(u32),
    SmartTurn(f32),
}

impl Policy {
    fn name(self) -> String {
        match self {
            Policy::Vad(ms) => format!("vad {ms} ms"),
            Policy::SmartTurn(t) => format!("vad {PAUSE_MS} ms + smart-turn > {t} (ceiling {CEILING_MS} ms)"),
        }
    }
}

/// Decision time in ms from the start of the clip, or `None` when the turn never ends.
fn decide(clip: &Clip, policy: Policy, st: &mut dyn FnMut(&Clip, usize) -> f32) -> Option<u32> {
    let (mut speaking, mut above, mut silent) = (false, 0, 0u32);
    for (i, &p) in clip.probs.iter().enumerate() {
        let now = (i as u32 + 1) * FRAME_MS;
        if !speaking {
            above = if p >= START { above + 1 } else { 0 };
            speaking = above >= START_FRAMES;
            silent = 0;
            continue;
        }
        if p >= STOP {
            silent = 0;
            continue;
        }
        silent += FRAME_MS;
        match policy {
            Policy::Vad(ms) if silent >= ms => return Some(now),
            Policy::SmartTurn(t) => {
                // Scored once per pause, when the silence first reaches the pause length.
                if (PAUSE_MS..PAUSE_MS + FRAME_MS).contains(&silent) && st(clip, i + 1) > t {
                    return Some(now);
                }
                if silent >= CEILING_MS {
                    return Some(now);
                }
            }
            Policy::Vad(_) => {}
        }
    }
    None
}

/// The frame counts at which each pause's silence first reaches [`PAUSE_MS`] (where the loop
/// asks the turn model).
fn pauses(clip: &Clip) -> Vec<usize> {
    let (mut speaking, mut above, mut silent, mut out) = (false, 0, 0u32, Vec::new());
    for (i, &p) in clip.probs.iter().enumerate() {
        if !speaking || p >= STOP {
            above = if p >= START { above + 1 } else { 0 };
            speaking |= above >= START_FRAMES;
            silent = 0;
            continue;
        }
        silent += FRAME_MS;
        if (PAUSE_MS..PAUSE_MS + FRAME_MS).contains(&silent) {
            out.push(i + 1);
        }
    }
    out
}

fn read_8k(path: &Path) -> Vec<f32> {
    let r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(r.spec().sample_rate, 8000, "{}", path.display());
    r.into_samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let split = args.iter().position(|a| a == "--split").and_then(|i| args.get(i + 1)).map_or("all", |s| s);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/voice");
    let models = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let paths = ModelPaths::new(models).unwrap();
    let vad = SileroFactory::load(&paths).expect("frontdesk models fetch onnxruntime silero-vad");
    let mut turn =
        SmartTurnFactory::load(&paths).expect("frontdesk models fetch onnxruntime smart-turn").turn();

    let mut clips = Vec::new();
    for set in ["pause", "complete"] {
        let labels = root.join("audio").join(set).join("labels.jsonl");
        let text = std::fs::read_to_string(&labels).unwrap_or_else(|e| {
            panic!("{}: {e} (run python3 eval/voice/gen_corpus.py audio)", labels.display())
        });
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if split != "all" && v["split"] != split {
                continue;
            }
            let pcm = read_8k(&root.join(v["file"].as_str().unwrap()));
            let mut s = vad.vad(SampleRate::Hz8000).unwrap();
            let probs = pcm.chunks_exact(FRAME).map(|f| s.process(f).unwrap()).collect();
            let script = v["script"].as_str().unwrap_or("");
            let source = if script.starts_with("say:") {
                "tts"
            } else if script.starts_with("stretch:") {
                "human sentence"
            } else if script.starts_with("prompt:digits/") {
                "human digits/words"
            } else {
                "human prompt"
            };
            clips.push(Clip {
                id: v["id"].as_str().unwrap().to_owned(),
                set,
                source,
                end_ms: v["sound_end_ms"].as_u64().unwrap() as u32,
                probs,
                pcm,
            });
        }
    }

    // Smart Turn scores, memoised per (clip, frame): every threshold sees the same pauses.
    let mut cache = std::collections::HashMap::new();
    let mut scored = 0u32;
    let mut st = |clip: &Clip, frames: usize| -> f32 {
        *cache.entry((clip.id.clone(), frames)).or_insert_with(|| {
            scored += 1;
            let audio =
                to_16k(&clip.pcm[..(frames * FRAME).min(clip.pcm.len())], SampleRate::Hz8000).unwrap();
            turn.predict(&audio).unwrap()
        })
    };

    if args.iter().any(|a| a == "--dump") {
        // One line per pause the VAD reports (silence reaching PAUSE_MS): whether the speech goes
        // on after it ("mid") or it is the clip's last ("last"), and Smart Turn's score there.
        println!("set\tid\tsource\tpause_ms\twhere\tp");
        for clip in &clips {
            for frames in pauses(clip) {
                let at = frames as u32 * FRAME_MS;
                let place = if at < clip.end_ms { "mid" } else { "last" };
                let p = st(clip, frames);
                println!("{}\t{}\t{}\t{at}\t{place}\t{p:.3}", clip.set, clip.id, clip.source);
            }
        }
        return;
    }

    let n = |set: &str| clips.iter().filter(|c| c.set == set).count();
    println!("split {split}: {} pause clips, {} complete clips", n("pause"), n("complete"));
    println!(
        "| policy | premature, pauses | premature, complete | mean extra delay, complete | p90 extra delay, complete |"
    );
    println!("|---|---|---|---|---|");
    let policies = [
        Policy::Vad(300),
        Policy::Vad(500),
        Policy::Vad(800),
        Policy::Vad(CEILING_MS),
        Policy::SmartTurn(0.5),
        Policy::SmartTurn(0.7),
        Policy::SmartTurn(0.9),
    ];
    let mut breakdown = Vec::new();
    for policy in policies {
        let mut premature = [0usize; 2];
        let mut by_source: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        let mut delays = Vec::new();
        let mut never = 0;
        for clip in &clips {
            let k = usize::from(clip.set == "complete");
            let d = decide(clip, policy, &mut st);
            if k == 0 {
                let e = by_source.entry(clip.source).or_default();
                e.0 += usize::from(d.is_some_and(|t| t < clip.end_ms));
                e.1 += 1;
            }
            match d {
                Some(t) if t < clip.end_ms => premature[k] += 1,
                Some(t) if k == 1 => delays.push(t - clip.end_ms),
                Some(_) => {}
                None => never += 1,
            }
        }
        delays.sort_unstable();
        let mean = delays.iter().sum::<u32>() as f64 / delays.len().max(1) as f64;
        let p90 = delays.get(delays.len() * 9 / 10).copied().unwrap_or(0);
        let pct = |x: usize, of: usize| 100.0 * x as f64 / of.max(1) as f64;
        println!(
            "| {} | {}/{} ({:.0} %) | {}/{} ({:.0} %) | {mean:.0} ms | {p90} ms |{}",
            policy.name(),
            premature[0],
            n("pause"),
            pct(premature[0], n("pause")),
            premature[1],
            n("complete"),
            pct(premature[1], n("complete")),
            if never > 0 { format!(" ({never} clips never ended)") } else { String::new() }
        );
        let parts: Vec<String> = by_source.iter().map(|(s, (p, n))| format!("{s} {p}/{n}")).collect();
        breakdown.push(format!("| {} | {} |", policy.name(), parts.join(", ")));
    }
    println!("\nPremature ends on the pause set by source:\n\n| policy | premature |\n|---|---|");
    for line in breakdown {
        println!("{line}");
    }
    println!("\nSmart Turn inferences: {scored}");
}
