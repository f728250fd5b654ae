//! A real call through the voice agent over AudioSocket on 127.0.0.1 (real TCP, real models:
//! Silero, Whisper tiny.en, Piper, MiniLM when installed; a real SQLite file): the clinic flow
//! greets, the caller (Piper's voice) asks to cancel an appointment, the flow looks it up through
//! the store (a scheduling turn that completes instead of hanging), says none was found and
//! ends the call. Then the call is in the store with its timeline (caller turn with its ASR
//! confidence, the agent's prompts with per-stage latencies, the scheduling op), its disposition,
//! and the metrics counted it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use frontdesk_api::Metrics;
use frontdesk_server::agent::{FlowSource, VoiceApp, VoiceEngines};
use frontdesk_server::apps::App;
use frontdesk_server::audiosocket::frame::{self, Frame, FrameDecoder};
use frontdesk_server::{ServeConfig, Server};
use frontdesk_store::{CallQuery, CallStore, FlowStore, QueryStore, SqliteStore, Store};
use frontdesk_tts_piper::{StreamOptions, synthesize_text};
use frontdesk_types::SampleRate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn models_dir() -> PathBuf {
    std::env::var_os("FRONTDESK_MODELS").map_or_else(|| root().join("models"), PathBuf::from)
}

/// A fresh data directory for this test.
fn data_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn frame_rms(f: &[i16]) -> f64 {
    (f.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / f.len().max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_call_is_recorded_with_its_turns_and_its_scheduling_turn_completes() {
    let hint = "(this test needs the models: run `frontdesk models fetch`)";
    let engines = tokio::task::spawn_blocking(|| VoiceEngines::load(Some(models_dir())))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e} {hint}"));
    let engines = Arc::new(engines);
    let e2 = engines.clone();
    let flow = tokio::task::spawn_blocking(move || FlowSource::load(&root().join("flows/clinic.yaml"), &e2))
        .await
        .unwrap()
        .unwrap();
    let dir = data_dir("voice-record");
    let store = Arc::new(SqliteStore::open_dir(&dir).unwrap());
    let metrics = Arc::new(Metrics::default());
    let mut voice = VoiceApp::new(engines.clone(), Arc::new(flow), frontdesk_agent::AgentConfig::default());
    voice.store = Some(store.clone() as Arc<dyn Store>);
    voice.metrics = Some(metrics.clone());

    let cfg = ServeConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        audiosocket: Some("127.0.0.1:0".parse().unwrap()),
        sip: None,
        app: App::Voice(voice),
        drain: Duration::from_secs(2),
    };
    let server = Server::bind(cfg).await.unwrap();
    let addr = server.audiosocket_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    // The caller's words, in Piper's voice at 8 kHz.
    let tts = engines.tts.clone();
    let words = tokio::task::spawn_blocking(move || {
        synthesize_text(
            tts.as_ref(),
            "I need to cancel my appointment.",
            &StreamOptions::new(SampleRate::Hz8000),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let mut caller: std::collections::VecDeque<Vec<i16>> = words
        .chunks(160)
        .map(|c| {
            let mut f: Vec<i16> = c.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect();
            f.resize(160, 0);
            f
        })
        .collect();

    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut out = Vec::new();
    frame::encode(&Frame::Uuid(*b"voice-record-001"), &mut out);
    tcp.write_all(&out).await.unwrap();
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut n, mut last_voice, mut heard_any, mut spoke) = (0u64, 0u64, false, false);
    let mut hung_up = false;
    // At most 90 s of call.
    while n < 4500 {
        tokio::select! {
            _ = tick.tick() => {
                n += 1;
                // Speak once the greeting and menu have been played and 800 ms have gone quiet.
                let f = if heard_any && n - last_voice > 40 && !caller.is_empty() {
                    spoke = true;
                    caller.pop_front().unwrap()
                } else {
                    vec![0; 160]
                };
                out.clear();
                frame::encode(&Frame::Audio(f), &mut out);
                if tcp.write_all(&out).await.is_err() {
                    break;
                }
            }
            r = tcp.read(&mut buf) => {
                let Ok(k) = r else { break };
                if k == 0 {
                    hung_up = true;
                    break;
                }
                dec.push(&buf[..k]);
                while let Some(f) = dec.next_frame().unwrap() {
                    match f {
                        Frame::Audio(a) if frame_rms(&a) > 200.0 => {
                            heard_any = true;
                            last_voice = n;
                        }
                        Frame::Hangup => hung_up = true,
                        _ => {}
                    }
                }
                if hung_up {
                    break;
                }
            }
        }
    }
    assert!(spoke, "the agent never went quiet for the caller to speak");
    assert!(hung_up, "the call did not end (did the scheduling turn hang?) after {} s", n / 50);

    // The record is written off the call's task: wait for its end.
    let mut call = None;
    for _ in 0..100 {
        let calls = store.list_calls(&CallQuery::default()).unwrap();
        if let Some(c) = calls.into_iter().find(|c| c.ended_at.is_some()) {
            call = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let call = call.expect("no ended call in the store");
    assert_eq!(call.transport, "audiosocket");
    assert_eq!(call.flow_name.as_deref(), Some("clinic_front_desk"));
    // The flow file was not published: the call published it and runs (and records) version 1.
    assert_eq!(call.flow_version, Some(1));
    let published = store.published_flow("clinic_front_desk").unwrap().expect("no published version");
    assert_eq!(published.version, 1);
    assert_eq!(published.yaml, std::fs::read_to_string(root().join("flows/clinic.yaml")).unwrap());
    // No appointment for the caller: the flow transfers to the front-desk queue, which has no
    // routing here, so the agent hangs up.
    assert_eq!(call.disposition.as_deref(), Some("agent_hangup"));
    let turns = store.turns(&call.id).unwrap();
    let show: Vec<String> = turns
        .iter()
        .map(|t| format!("{} {}: {} {:?}", t.index, t.kind, t.text.expose(), t.latencies_ms))
        .collect();
    let show = show.join("\n");
    assert!(turns.windows(2).all(|w| w[0].index + 1 == w[1].index), "{show}");
    assert!(turns[0].kind == "event" && turns[0].text.expose().contains("sha256"), "{show}");
    let caller_turn = turns.iter().find(|t| t.kind == "caller").unwrap_or_else(|| panic!("{show}"));
    assert!(caller_turn.text.expose().to_lowercase().contains("cancel"), "{show}");
    assert!(caller_turn.confidence.is_some_and(|c| c > 0.0), "{show}");
    assert!(caller_turn.latencies_ms.contains_key("end_of_turn_ms"), "{show}");
    let agent = |needle: &str| {
        turns
            .iter()
            .position(|t| t.kind == "agent" && t.text.expose().contains(needle))
            .unwrap_or_else(|| panic!("no agent turn with {needle:?}:\n{show}"))
    };
    let greeting = agent("Maple Grove Family Clinic");
    let answer = agent("couldn't find an upcoming appointment");
    let op = turns
        .iter()
        .position(|t| t.kind == "event" && t.text.expose().starts_with("schedule lookup"))
        .unwrap_or_else(|| panic!("no scheduling op in the timeline:\n{show}"));
    let said = turns.iter().position(|t| t.kind == "caller").unwrap();
    assert!(greeting < said && said < op && op < answer, "{show}");
    let lat = &turns[answer].latencies_ms;
    assert!(lat.contains_key("first_audio_sent_ms") && lat.contains_key("flow_command_ms"), "{show}");
    assert!(turns[op].latencies_ms.contains_key("took_ms"), "{show}");

    let text = metrics.render();
    assert!(text.contains("frontdesk_calls_in_progress 0\n"), "{text}");
    assert!(text.contains("frontdesk_calls_total{direction=\"inbound\"} 1\n"), "{text}");
    assert!(text.contains("frontdesk_turns_total 1\n"), "{text}");
    assert!(text.contains("frontdesk_turn_stage_seconds_count{stage=\"first_audio_sent\"} 1\n"), "{text}");

    let _ = stop.send(());
    done.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve` keeps the fixed prompts in its data directory: a second load of the flow (a restart)
/// reads every prompt instead of synthesising it (the cache's own tests compare the audio).
#[test]
fn a_restart_reads_the_fixed_prompts_from_the_data_directory() {
    let dir = data_dir("prompt-cache").join("prompt-cache");
    let flow = root().join("flows/reminder.yaml");
    let mut engines = VoiceEngines::load(Some(models_dir()))
        .unwrap_or_else(|e| panic!("{e} (this test needs the models: run `frontdesk models fetch`)"));
    engines.keep_prompts_in(&dir).unwrap();
    FlowSource::load(&flow, &engines).unwrap();
    let first = engines.prompts.clone();
    assert_eq!(first.loaded_from_disk(), 0, "an empty directory has nothing to read");
    let n = first.len();
    assert!(n >= 5, "the reminder flow has fixed prompts ({n})");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), n, "one file per prompt");

    // A new process: a fresh cache on the same directory.
    engines.keep_prompts_in(&dir).unwrap();
    FlowSource::load(&flow, &engines).unwrap();
    assert_eq!(engines.prompts.loaded_from_disk(), n as u64, "every prompt read back");
    assert_eq!(engines.prompts.len(), n);
    assert_eq!(engines.prompts.samples(), first.samples(), "the same audio, sample for sample in length");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
