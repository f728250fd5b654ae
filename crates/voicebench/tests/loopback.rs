//! The driver against an in-process echo server (a WebSocket that sends every caller frame back
//! at once): checks the time line end to end, from the caller's clip labels to the arrival of
//! the agent's frames.

use std::sync::Arc;
use std::time::Duration;

use frontdesk_voicebench::analysis;
use frontdesk_voicebench::caller::{Caller, Step};
use frontdesk_voicebench::clip::{Clip, to_frames};
use frontdesk_voicebench::ws::{self, Ended, Target};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

async fn echo_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).expect("json");
                    if v["event"] == "media" {
                        let out = serde_json::json!({"event": "media", "streamSid": v["streamSid"],
                            "media": {"payload": v["media"]["payload"]}});
                        if ws.send(Message::text(out.to_string())).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}/media/twilio")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_arrives_when_the_clip_says() {
    let url = echo_server().await;
    // 400 ms of silence, 600 ms of a loud tone, 400 ms of silence.
    let mut pcm = vec![0i16; 3200];
    pcm.extend((0..4800).map(|i| if (i / 10) % 2 == 0 { 8000i16 } else { -8000 }));
    pcm.extend(vec![0i16; 3200]);
    let clip = Arc::new(Clip {
        id: "tone".into(),
        set: "test".into(),
        split: "dev".into(),
        sound_start_ms: 400,
        sound_end_ms: 1000,
        sound_ms: 600,
        frames: to_frames(&pcm),
    });
    let caller = Caller::new([
        Step::Silence { ms: 200.0 },
        Step::Play { clip, tag: "turn".into() },
        Step::Silence { ms: 300.0 },
    ]);
    let target = Target { url, token: Some("k".into()) };
    let rec = ws::run_call(&target, "T1", caller, Duration::from_secs(10)).await.expect("call");
    assert_eq!(rec.ended, Ended::Caller);
    let p = &rec.played[0];
    let first = analysis::first_voiced_after(&rec.frames, p.sound_start_ms - 100.0).expect("echo");
    let d = first - p.sound_start_ms;
    // The frame carrying the clip's first sound is sent when it has been "recorded" (20 ms
    // after its start), and comes straight back.
    assert!((0.0..80.0).contains(&d), "echo of the onset {d} ms after it");
    let voiced = rec.frames.iter().filter(|f| f.voiced).count();
    assert_eq!(voiced, 30, "600 ms of tone = 30 frames");
}
