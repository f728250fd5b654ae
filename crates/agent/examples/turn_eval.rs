//! The end-of-turn policy on the turn-taking corpora (`eval/voice/`), with the words the loop
//! would have: each clip goes through the real Silero VAD and its hysteresis (the loop's
//! settings), every speech segment gets its final transcript from Whisper tiny.en at its VAD end
//! (the loop's [`StreamSession`] and decode options), and [`EndOfTurnPolicy::decide`] is asked at
//! every pause, as the agent asks it, with the turn's text so far.
//!
//! Generate the audio first (`python3 eval/voice/gen_corpus.py audio`), then
//! `cargo run --release -p frontdesk-agent --example turn_eval -- [--split dev|test|all]
//! [--final-ms 260] [--texts]`.
//!
//! - Sets: `pause` (one utterance with mid-sentence pauses: the turn must not end before its last
//!   sound), `complete` and `faq` (finished utterances: the turn should end soon after).
//! - `--final-ms`: how long after the VAD's speech end (200 ms into the pause) the final
//!   transcript is ready; the loop on a quiet machine measures about 260 ms.
//! - A decision is premature when the turn ends before the clip's last sound (labels). The delay
//!   of a finished utterance is the end of turn minus its last sound (the VAD's own lag
//!   included); the bench adds playout and network to it.
//! - `--texts`: one line per pause of the `dev` split (never the held-out `test` split): the
//!   text the policy saw, how long the silence lasted and what the policy wanted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // an eval tool

use std::path::{Path, PathBuf};

use frontdesk_agent::AgentConfig;
use frontdesk_agent::policy::{EndOfTurnPolicy, TurnDecision, TurnState};
use frontdesk_asr_whisper::stream::{StreamEvent, StreamSession};
use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber};
use frontdesk_codec::Resampler;
use frontdesk_embed_minilm::MiniLm;
use frontdesk_engines::Embedder;
use frontdesk_engines::{Transcriber, Vad};
use frontdesk_flow::machine::Expect;
use frontdesk_flow::{Bundle, Event, FlowMachine};
use frontdesk_models::ModelPaths;
use frontdesk_types::Instant;
use frontdesk_types::SampleRate;
use frontdesk_vad_silero::SileroFactory;
use frontdesk_vad_silero::hysteresis::{Hysteresis, VadEvent};

const FRAME: usize = 256; // 32 ms at 8 kHz

/// One pause the VAD reported in a clip.
struct Pause {
    /// Where the silence began (ms from the clip's start).
    at_ms: u64,
    /// Silence the policy can see before speech resumes (`None`: it never does).
    lasts_ms: Option<u64>,
    /// How long after the pause began the final transcript is ready.
    final_after_ms: u64,
    /// The turn's text at this pause (finals of every segment so far).
    text: String,
    /// Whether the clinic flow, at its main menu, would move on with this text
    /// ([`FlowMachine::understands`]).
    understood: bool,
}

struct Clip {
    id: String,
    set: String,
    split: String,
    end_ms: u64,
    pauses: Vec<Pause>,
}

fn read_8k(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().sample_rate, 8000, "{}", path.display());
    r.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect()
}

/// Runs the clip through VAD, hysteresis and ASR as the agent does.
/// The models the analysis runs.
struct Models {
    asr: WhisperTranscriber,
    minilm: MiniLm,
    /// The clinic flow at its main menu (after the greeting).
    menu: FlowMachine,
}

fn understood(m: &Models, text: &str, confidence: f32) -> bool {
    // At the menu the machine always listens, so the dry run always answers.
    let spoken = frontdesk_flow::spoken::embedding_text(text);
    let emb = if spoken.trim().is_empty() { None } else { m.minilm.embed(&[&spoken]).unwrap().pop() };
    m.menu.understands(Instant::ZERO, text, confidence, emb.as_deref()).unwrap_or(false)
}

fn analyse(vad: &mut dyn Vad, m: &Models, cfg: &AgentConfig, pcm: &[f32], final_ms: u64) -> Vec<Pause> {
    let mut hyst = Hysteresis::new(cfg.vad, 8000);
    let mut session = StreamSession::new(cfg.asr.clone());
    session.set_partials(false);
    let mut up = Resampler::new(SampleRate::Hz8000, SampleRate::Hz16000).unwrap();
    let mut finals: Vec<String> = Vec::new();
    let mut confidences: Vec<f32> = Vec::new();
    let mut pauses: Vec<Pause> = Vec::new();
    let mut open: Option<usize> = None;
    for (i, frame) in pcm.chunks_exact(FRAME).enumerate() {
        let now_ms = (i as u64 + 1) * 32;
        let mut out = Vec::new();
        up.push_f32(frame, &mut out).unwrap();
        session.push_audio(&out);
        let p = vad.process(frame).unwrap();
        hyst.handle_frame(p, FRAME);
        while let Some(ev) = hyst.poll_event() {
            match ev {
                VadEvent::SpeechStart { at } => {
                    session.speech_start(at * 2);
                    if let Some(k) = open.take() {
                        pauses[k].lasts_ms = Some(now_ms.saturating_sub(pauses[k].at_ms));
                    }
                }
                VadEvent::SpeechEnd { at } => {
                    session.speech_end(at * 2);
                    while let Some(req) = session.poll_request() {
                        let r = m.asr.transcribe(&req.pcm, &req.options);
                        session.handle_result(req.id, r);
                    }
                    while let Some(ev) = session.poll_event() {
                        if let StreamEvent::Final { transcript, .. } = ev {
                            let t = transcript.text.trim().to_owned();
                            if !t.is_empty() {
                                finals.push(t);
                                confidences.push(transcript.confidence);
                            }
                        }
                    }
                    let at_ms = at / 8;
                    open = Some(pauses.len());
                    let text = finals.join(" ");
                    let conf = confidences.iter().sum::<f32>() / confidences.len().max(1) as f32;
                    pauses.push(Pause {
                        at_ms,
                        lasts_ms: None,
                        final_after_ms: now_ms - at_ms + final_ms,
                        understood: !text.is_empty() && understood(m, &text, conf),
                        text,
                    });
                }
            }
        }
    }
    pauses
}

/// The silence (ms into the pause) at which `policy` ends the turn, or `None` (discarded).
fn ends_at(policy: &EndOfTurnPolicy, p: &Pause, expect: &Expect) -> Option<u64> {
    let mut s = p.final_after_ms;
    for _ in 0..100 {
        let st = TurnState {
            silence_ms: s,
            text: &p.text,
            final_ready: true,
            model: None,
            model_pending: false,
            expect,
            understood: Some(p.understood),
        };
        match policy.decide(&st) {
            TurnDecision::End => return Some(s),
            TurnDecision::Discard => return None,
            TurnDecision::WaitUntil(x) => s = x.max(s + 1),
        }
    }
    None
}

struct Outcome {
    /// Ended before the last sound (on a pause clip), or the delay after it.
    premature: bool,
    delay_ms: Option<u64>,
}

fn run(policy: &EndOfTurnPolicy, clip: &Clip) -> Outcome {
    for p in &clip.pauses {
        let Some(s) = ends_at(policy, p, &Expect::Open) else { continue };
        // Speech resuming holds the decision from its first loud frame on (the loop's
        // `is_starting` hold; the VAD reports the start two frames later).
        if p.lasts_ms.is_none_or(|l| s < l.saturating_sub(64)) {
            let end = p.at_ms + s;
            return if end < clip.end_ms {
                Outcome { premature: true, delay_ms: None }
            } else {
                Outcome { premature: false, delay_ms: Some(end - clip.end_ms) }
            };
        }
    }
    Outcome { premature: false, delay_ms: None }
}

fn pct(v: &[u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut v = v.to_vec();
    v.sort_unstable();
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let split = arg("--split").unwrap_or_else(|| "all".into());
    let final_ms: u64 = arg("--final-ms").map_or(260, |s| s.parse().unwrap());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/voice");
    let models = std::env::var_os("FRONTDESK_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let paths = ModelPaths::new(&models).unwrap();
    let vad = SileroFactory::load(&paths).expect("frontdesk models fetch onnxruntime silero-vad");
    let asr = WhisperTranscriber::load(WhisperModel::TinyEn, &models)
        .expect("frontdesk models fetch whisper-tiny-en");
    let minilm = MiniLm::load(&models).expect("frontdesk models fetch minilm");
    let mut bundle =
        Bundle::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows/clinic.yaml")).unwrap();
    bundle.embed(&minilm).unwrap();
    let wall = frontdesk_flow::convo::parse_now("2026-11-18T10:15", "America/New_York").unwrap();
    let mut menu = FlowMachine::new(std::sync::Arc::new(bundle), wall);
    menu.handle_event(Instant::ZERO, Event::Start).unwrap();
    while menu.poll_command().is_some() {}
    let m = Models { asr, minilm, menu };
    let cfg = AgentConfig::default();

    let mut clips = Vec::new();
    for set in ["pause", "complete", "faq"] {
        let labels = root.join("audio").join(set).join("labels.jsonl");
        let text = std::fs::read_to_string(&labels).unwrap_or_else(|e| {
            panic!("{}: {e} (run python3 eval/voice/gen_corpus.py audio)", labels.display())
        });
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if split != "all" && v["split"] != split.as_str() {
                continue;
            }
            let pcm = read_8k(&root.join(v["file"].as_str().unwrap()));
            let mut s = vad.vad(SampleRate::Hz8000).unwrap();
            clips.push(Clip {
                id: v["id"].as_str().unwrap().to_owned(),
                set: set.to_owned(),
                split: v["split"].as_str().unwrap_or("").to_owned(),
                end_ms: v["sound_end_ms"].as_u64().unwrap(),
                pauses: analyse(&mut s, &m, &cfg, &pcm, final_ms),
            });
        }
    }

    let base = EndOfTurnPolicy::default();
    if args.iter().any(|a| a == "--texts") {
        println!("set\tid\tpause_at\tlasts\tclip_end\tends_at\tunderstood\ttext");
        for c in clips.iter().filter(|c| c.split == "dev") {
            for p in &c.pauses {
                let e = ends_at(&base, p, &Expect::Open).map_or("-".into(), |s| s.to_string());
                let l = p.lasts_ms.map_or("last".into(), |l| l.to_string());
                println!(
                    "{}\t{}\t{}\t{l}\t{}\t{e}\t{}\t{}",
                    c.set, c.id, p.at_ms, c.end_ms, p.understood, p.text
                );
            }
        }
        return;
    }

    let mut variants: Vec<(String, EndOfTurnPolicy)> = vec![("default".into(), base.clone())];
    let plain = EndOfTurnPolicy { understood_pause_ms: None, unplaced_pause_ms: None, ..base.clone() };
    variants.push(("without the flow's understanding".into(), plain.clone()));
    for (u, n, umin, nmax) in [
        (Some(500), None, 0, usize::MAX),
        (None, Some(1000), 0, 3),
        (None, Some(1000), 0, 4),
        (None, Some(1000), 0, 5),
        (Some(500), Some(1000), 4, 3),
        (Some(500), Some(1000), 5, 4),
        (Some(500), Some(1000), 6, 4),
        (Some(450), Some(1000), 5, 4),
        (Some(500), Some(1000), 0, 4),
    ] {
        let name = format!(
            "understood {} (>= {umin} words) / unplaced {} (<= {} words)",
            u.map_or("-".into(), |v: u64| v.to_string()),
            n.map_or("-".into(), |v: u64| v.to_string()),
            if nmax == usize::MAX { "any".into() } else { nmax.to_string() }
        );
        variants.push((
            name,
            EndOfTurnPolicy {
                understood_pause_ms: u,
                unplaced_pause_ms: n,
                understood_min_words: umin,
                unplaced_max_words: nmax,
                ..base.clone()
            },
        ));
    }
    println!("split {split}, final ready {final_ms} ms after the VAD's speech end");
    println!("| policy | premature, pause | delay complete p50 / p90 | delay faq p50 / p90 | no end |");
    println!("|---|---|---|---|---|");
    for (name, pol) in &variants {
        let (mut prem, mut n_pause, mut never) = (0, 0, 0);
        let (mut dc, mut df) = (Vec::new(), Vec::new());
        for c in &clips {
            let o = run(pol, c);
            match c.set.as_str() {
                "pause" => {
                    n_pause += 1;
                    prem += usize::from(o.premature);
                    // Which clips, on the tuning split only.
                    if o.premature && c.split == "dev" && args.iter().any(|a| a == "--which") {
                        println!("  premature: {}", c.id);
                    }
                }
                set => match o.delay_ms {
                    Some(d) if set == "complete" => dc.push(d),
                    Some(d) => df.push(d),
                    None => never += 1,
                },
            }
        }
        println!(
            "| {name} | {prem}/{n_pause} | {} / {} | {} / {} | {never} |",
            pct(&dc, 0.5),
            pct(&dc, 0.9),
            pct(&df, 0.5),
            pct(&df, 0.9)
        );
    }
}
