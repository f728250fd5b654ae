//! The transports over real TCP on 127.0.0.1: AudioSocket (published frame format) and Twilio
//! Media Streams (a WebSocket client from tokio-tungstenite), with the echo and playback apps, and
//! graceful shutdown.
#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use std::time::Duration;

use frontdesk_codec::g711;
use frontdesk_server::apps::App;
use frontdesk_server::audiosocket::frame::{self, Frame, FrameDecoder};
use frontdesk_server::{ServeConfig, Server};
use frontdesk_types::Digit;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const WAIT: Duration = Duration::from_secs(10);
const TWILIO_TOKEN: &str = "transports-test-token";

struct Running {
    http: std::net::SocketAddr,
    audiosocket: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(app: App, drain: Duration) -> Running {
    let cfg = ServeConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        audiosocket: Some("127.0.0.1:0".parse().unwrap()),
        sip: None,
        app,
        drain,
    };
    // /media/twilio needs authentication: these tests sign like Twilio (see control_auth.rs).
    let server = Server::bind(cfg).await.unwrap().with_twilio_auth_token(Some(TWILIO_TOKEN.into()));
    let (http, audiosocket) = (server.http_addr().unwrap(), server.audiosocket_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running { http, audiosocket, stop, done }
}

fn tone(n: usize, seed: i32) -> Vec<i16> {
    (0..n).map(|i| ((i as f32 * 0.3 + seed as f32).sin() * 8000.0) as i16).collect()
}

struct AudioSocketClient {
    stream: TcpStream,
    dec: FrameDecoder,
}

impl AudioSocketClient {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let mut c =
            AudioSocketClient { stream: TcpStream::connect(addr).await.unwrap(), dec: FrameDecoder::new() };
        c.send(&Frame::Uuid(*b"0123456789abcdef")).await;
        c
    }

    async fn send(&mut self, f: &Frame) {
        let mut out = Vec::new();
        frame::encode(f, &mut out);
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next frame, or None when the server closed the connection.
    async fn recv(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 2048];
        loop {
            if let Some(f) = self.dec.next_frame().unwrap() {
                return Some(f);
            }
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("server went silent")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.dec.push(&buf[..n]);
        }
    }
}

#[tokio::test]
async fn audiosocket_echo_returns_the_callers_audio() {
    let srv = start(App::Echo, Duration::from_secs(5)).await;
    let mut c = AudioSocketClient::connect(srv.audiosocket).await;
    let sent: Vec<Vec<i16>> = (0..25).map(|i| tone(160, i)).collect();
    for f in &sent {
        c.send(&Frame::Audio(f.clone())).await;
    }
    c.send(&Frame::Dtmf(Digit::from_char('5').unwrap())).await;
    // A frame split in two odd halves (80 + 240 samples) must come back re-framed as 160 + 160.
    c.send(&Frame::Audio(tone(80, 99))).await;
    c.send(&Frame::Audio(tone(240, 98))).await;
    let mut got = Vec::new();
    while got.len() < 27 {
        match c.recv().await {
            Some(Frame::Audio(pcm)) => got.push(pcm),
            other => panic!("expected audio, got {other:?}"),
        }
    }
    assert_eq!(got[..25], sent[..]);
    assert!(got[25..].iter().all(|f| f.len() == 160));
    c.send(&Frame::Hangup).await;
    assert_eq!(c.recv().await, None, "server closes after the caller hangs up");
    let _ = srv.stop.send(());
    tokio::time::timeout(WAIT, srv.done).await.unwrap().unwrap();
}

#[tokio::test]
async fn audiosocket_playback_plays_the_file_then_hangs_up() {
    let dir = std::env::temp_dir().join(format!("frontdesk-playback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prompt.wav");
    let audio = tone(8000 / 2 + 37, 3); // 0.5 s plus a partial last frame
    let mut w = hound::WavWriter::create(
        &path,
        hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap();
    audio.iter().for_each(|s| w.write_sample(*s).unwrap());
    w.finalize().unwrap();

    let app = App::parse(&format!("playback:{}", path.display())).unwrap();
    let srv = start(app, Duration::from_secs(5)).await;
    let mut c = AudioSocketClient::connect(srv.audiosocket).await;
    let mut got = Vec::new();
    loop {
        match c.recv().await {
            Some(Frame::Audio(pcm)) => got.extend(pcm),
            Some(Frame::Hangup) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got.len(), 26 * 160, "whole frames, the last one padded with silence");
    assert_eq!(got[..audio.len()], audio[..]);
    assert!(got[audio.len()..].iter().all(|&s| s == 0));
    let _ = srv.stop.send(());
    srv.done.await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn twilio_media_stream_echo_and_events() {
    let srv = start(App::Echo, Duration::from_secs(5)).await;
    let mut ws = twilio_connect(&srv).await;
    ws.send(Message::text(
        r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ42","start":{"accountSid":"AC1","streamSid":"MZ42",
        "callSid":"CA42","tracks":["inbound"],"customParameters":{"patient":"7"},
        "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#,
    ))
    .await
    .unwrap();
    let mut sent = Vec::new();
    for i in 0..10 {
        let mut ulaw = Vec::new();
        g711::Law::Ulaw.encode_into(&tone(160, i), &mut ulaw);
        let payload = base64_encode(&ulaw);
        sent.push(payload.clone());
        let msg = format!(
            r#"{{"event":"media","sequenceNumber":"{}","streamSid":"MZ42","media":{{"track":"inbound","chunk":"{}","timestamp":"{}","payload":"{payload}"}}}}"#,
            i + 2,
            i + 1,
            i * 20
        );
        ws.send(Message::text(msg)).await.unwrap();
    }
    ws.send(Message::text("this is not json")).await.unwrap();
    let mut echoed = Vec::new();
    while echoed.len() < sent.len() {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_eq!(v["event"], "media");
        assert_eq!(v["streamSid"], "MZ42");
        echoed.push(v["media"]["payload"].as_str().unwrap().to_owned());
    }
    assert_eq!(echoed, sent, "mu-law survives decode + re-encode unchanged");
    ws.send(Message::text(r#"{"event":"stop","sequenceNumber":"20","streamSid":"MZ42","stop":{}}"#))
        .await
        .unwrap();
    // The server ends the call and closes the socket (reading on after its close frame sends
    // the client's reply).
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            None | Some(Err(_)) => break,
            Some(Ok(Message::Close(_))) => {}
            Some(Ok(m)) => {
                assert!(!m.is_text() || !m.to_text().unwrap().contains("media"), "no audio after stop")
            }
        }
    }
    let _ = srv.stop.send(());
    srv.done.await.unwrap();
}

type TwilioWs = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A Twilio Media Streams connection, signed like Twilio, that has sent `connected`.
async fn twilio_connect(srv: &Running) -> TwilioWs {
    let url = format!("ws://{}/media/twilio", srv.http);
    let sig = frontdesk_server::twilio::auth::signature(TWILIO_TOKEN, &url, &[]);
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
    req.headers_mut().insert("X-Twilio-Signature", sig.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)).await.unwrap();
    ws
}

/// [`twilio_connect`], then `start` for stream MZ7.
async fn twilio_stream(srv: &Running) -> TwilioWs {
    let mut ws = twilio_connect(srv).await;
    ws.send(Message::text(
        r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ7","start":{"accountSid":"AC1","streamSid":"MZ7",
        "callSid":"CA7","tracks":["inbound"],"customParameters":{},
        "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}"#,
    ))
    .await
    .unwrap();
    ws
}

/// Reads until the server closes; answers `mark`s like Twilio (once the audio before them has
/// played). Returns the close frame's code, and how many media messages came.
async fn twilio_until_close(ws: &mut TwilioWs) -> (Option<CloseCode>, usize) {
    let mut media = 0;
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("server went silent") {
            Some(Ok(Message::Close(frame))) => {
                // Reading on sends tungstenite's close reply: the handshake completes.
                let _ = tokio::time::timeout(WAIT, ws.next()).await;
                return (frame.map(|f| f.code), media);
            }
            None | Some(Err(_)) => return (None, media),
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                match v["event"].as_str() {
                    Some("media") => media += 1,
                    Some("mark") => {
                        let back = serde_json::json!({"event": "mark", "streamSid": "MZ7",
                            "sequenceNumber": "9", "mark": {"name": v["mark"]["name"]}});
                        ws.send(Message::text(back.to_string())).await.unwrap();
                    }
                    _ => {}
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn twilio_close_codes_tell_an_agent_hang_up_from_a_failure() {
    // The playback app plays its file and hangs up: a normal close (1000), after the audio.
    let dir = std::env::temp_dir().join(format!("fd-twclose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    tone(800, 3).iter().for_each(|s| w.write_sample(*s).unwrap());
    w.finalize().unwrap();
    let srv =
        start(App::parse(&format!("playback:{}", path.display())).unwrap(), Duration::from_secs(5)).await;
    let mut ws = twilio_stream(&srv).await;
    let (code, media) = twilio_until_close(&mut ws).await;
    assert_eq!(code, Some(CloseCode::Normal), "the agent's hang-up closes with 1000");
    assert_eq!(media, 5, "the whole file (800 samples = 5 frames) before the close");

    // A stream that keeps sending garbage is closed as a policy violation (1008), not 1000.
    let mut ws = twilio_stream(&srv).await;
    for _ in 0..25 {
        if ws.send(Message::text("not json at all")).await.is_err() {
            break;
        }
    }
    let (code, _) = twilio_until_close(&mut ws).await;
    assert_eq!(code, Some(CloseCode::Policy), "malformed messages close with 1008");
    let _ = srv.stop.send(());
    srv.done.await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn http_errors_are_json_and_name_the_problem() {
    let srv = start(App::Echo, Duration::from_secs(1)).await;
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    s.write_all(b"GET /media/twilio HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains(r#""code":"websocket_required""#), "{resp}");
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200") && resp.ends_with("ok\n"), "{resp}");
    let _ = srv.stop.send(());
    srv.done.await.unwrap();
}

#[tokio::test]
async fn shutdown_refuses_new_calls_and_drains_calls_in_progress() {
    let srv = start(App::Echo, Duration::from_millis(300)).await;
    let mut c = AudioSocketClient::connect(srv.audiosocket).await;
    c.send(&Frame::Audio(tone(160, 1))).await;
    assert!(matches!(c.recv().await, Some(Frame::Audio(_))));
    let _ = srv.stop.send(());
    // Give the listener a moment to close, then a new call is refused...
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(srv.audiosocket).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "listener still accepting after shutdown");
    // ...while the call in progress still works during the drain time...
    c.send(&Frame::Audio(tone(160, 2))).await;
    assert_eq!(c.recv().await, Some(Frame::Audio(tone(160, 2))));
    // ...and is hung up when the drain time is over.
    loop {
        match c.recv().await {
            Some(Frame::Hangup) | None => break,
            Some(_) => {}
        }
    }
    tokio::time::timeout(WAIT, srv.done).await.unwrap().unwrap();
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
