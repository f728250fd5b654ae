//! Over real TCP on 127.0.0.1, with the developer API on a real SQLite file: who may open the
//! Twilio media WebSocket (API key as `?token=` or bearer, Twilio signature, nobody when the
//! server has neither keys nor a Twilio auth token), and live-call control of a Twilio call
//! through the HTTP API (hang-up ends the stream; transfer and say are refused with the reason;
//! a call that is not live is 404).
#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use frontdesk_api::{Api, ApiConfig, Clock, SystemClock};
use frontdesk_server::apps::App;
use frontdesk_server::twilio::auth::signature;
use frontdesk_server::{LiveCalls, ServeConfig, Server};
use frontdesk_store::{ApiKeyStore, SqliteStore, random_key_bytes};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const WAIT: Duration = Duration::from_secs(10);
const TWILIO_TOKEN: &str = "0123456789abcdef0123456789abcdef";

struct Running {
    http: std::net::SocketAddr,
    key: String,
    live: LiveCalls,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
    dir: std::path::PathBuf,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server running `echo`, with the API (and its control) when `api`, and the Twilio auth
/// token when `twilio`.
async fn start(name: &str, api: bool, twilio: bool) -> Running {
    let dir = std::env::temp_dir().join(format!("frontdesk-ctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ServeConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        audiosocket: None,
        sip: None,
        app: App::Echo,
        drain: Duration::from_secs(2),
    };
    let mut server = Server::bind(cfg).await.unwrap();
    let mut key = String::new();
    if api {
        let store = SqliteStore::open_dir(&dir).unwrap();
        key = store
            .create_api_key("test", &random_key_bytes().unwrap(), SystemClock.now())
            .unwrap()
            .key
            .expose()
            .clone();
        let control: Arc<dyn frontdesk_api::CallControl> = Arc::new(server.control());
        let api =
            Api::with_control(Arc::new(store), Arc::new(SystemClock), ApiConfig::default(), Some(control));
        server = server.with_api(api);
    }
    if twilio {
        server = server.with_twilio_auth_token(Some(TWILIO_TOKEN.into()));
    }
    let http = server.http_addr().unwrap();
    let live = server.live_calls();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running { http, key, live, stop, done, dir }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Opens `/media/twilio` + `suffix` with extra headers; the refusal's status and body otherwise.
async fn connect(srv: &Running, suffix: &str, headers: &[(&str, &str)]) -> Result<Ws, (u16, String)> {
    let mut req = format!("ws://{}/media/twilio{suffix}", srv.http).into_client_request().unwrap();
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => {
            let body =
                resp.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("websocket: {e}"),
    }
}

/// Starts a Media Streams call `sid` on `ws`.
async fn start_stream(ws: &mut Ws, sid: &str) {
    ws.send(Message::text(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#)).await.unwrap();
    ws.send(Message::text(format!(
        r#"{{"event":"start","sequenceNumber":"1","streamSid":"MZ{sid}","start":{{"accountSid":"AC1","streamSid":"MZ{sid}",
        "callSid":"{sid}","tracks":["inbound"],"customParameters":{{}},
        "mediaFormat":{{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}}}}"#
    )))
    .await
    .unwrap();
}

/// A raw HTTP/1.1 request; (status, whole response).
async fn http(srv: &Running, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        srv.key,
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    let status = resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, resp)
}

async fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn media_endpoint_takes_an_api_key_or_a_twilio_signature() {
    let srv = start("auth", true, true).await;
    let (code, body) = connect(&srv, "", &[]).await.err().unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("?token=<key>") && body.contains("X-Twilio-Signature"), "{body}");
    let (code, _) = connect(&srv, "?token=fdk_not_a_key", &[]).await.err().unwrap();
    assert_eq!(code, 401);
    let (code, _) = connect(&srv, "", &[("Authorization", "Bearer fdk_not_a_key")]).await.err().unwrap();
    assert_eq!(code, 401);

    // An API key in the query string: the call runs (echo answers the caller's audio).
    let mut ws = connect(&srv, &format!("?token={}", srv.key), &[]).await.unwrap();
    start_stream(&mut ws, "CAq").await;
    assert!(wait_for(|| srv.live.len() == 1).await, "the call never became live");
    ws.close(None).await.unwrap();
    let bearer = format!("Bearer {}", srv.key);
    connect(&srv, "", &[("Authorization", bearer.as_str())]).await.unwrap().close(None).await.unwrap();

    // Twilio's signature over the URL it requested (here ws://127.0.0.1:PORT/media/twilio).
    let sig = signature(TWILIO_TOKEN, &format!("ws://{}/media/twilio", srv.http), &[]);
    connect(&srv, "", &[("X-Twilio-Signature", sig.as_str())]).await.unwrap().close(None).await.unwrap();
    let wss = signature(TWILIO_TOKEN, &format!("wss://{}/media/twilio", srv.http), &[]);
    connect(&srv, "", &[("X-Twilio-Signature", wss.as_str())]).await.unwrap().close(None).await.unwrap();
    let other = signature("another-account-token", &format!("ws://{}/media/twilio", srv.http), &[]);
    let (code, body) = connect(&srv, "", &[("X-Twilio-Signature", other.as_str())]).await.err().unwrap();
    assert_eq!(code, 401);
    assert!(body.contains("does not match"), "{body}");
    // Signed for another path: refused.
    let (code, _) = connect(&srv, "?x=1", &[("X-Twilio-Signature", sig.as_str())]).await.err().unwrap();
    assert_eq!(code, 401);
    srv.stop().await;
}

#[tokio::test]
async fn without_keys_or_twilio_token_the_media_endpoint_is_closed() {
    let srv = start("closed", false, false).await;
    let (code, body) = connect(&srv, "?token=anything", &[]).await.err().unwrap();
    assert_eq!(code, 401);
    assert!(body.contains("closed") && body.contains("--twilio-auth-token"), "{body}");
    srv.stop().await;

    // A Twilio token alone opens it to signed requests only.
    let srv = start("twilio-only", false, true).await;
    let sig = signature(TWILIO_TOKEN, &format!("ws://{}/media/twilio", srv.http), &[]);
    connect(&srv, "", &[("X-Twilio-Signature", sig.as_str())]).await.unwrap().close(None).await.unwrap();
    let (code, _) = connect(&srv, "?token=anything", &[]).await.err().unwrap();
    assert_eq!(code, 401);
    srv.stop().await;
}

#[tokio::test]
async fn api_hangs_up_a_live_twilio_call_and_refuses_what_it_cannot_do() {
    let srv = start("control", true, false).await;
    let (code, body) = http(&srv, "POST", "/v1/calls/CAnone/hangup", "").await;
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("not in progress"), "{body}");

    let mut ws = connect(&srv, &format!("?token={}", srv.key), &[]).await.unwrap();
    start_stream(&mut ws, "CA77").await;
    assert!(wait_for(|| srv.live.ids().iter().any(|c| c.0 == "CA77")).await, "the call never became live");

    let (code, body) =
        http(&srv, "POST", "/v1/calls/CA77/transfer", r#"{"target":"sip:desk@192.0.2.10"}"#).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("only SIP calls"), "{body}");
    let (code, body) = http(&srv, "POST", "/v1/calls/CA77/say", r#"{"text":"hello"}"#).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("voice agent"), "{body}");

    let (code, body) = http(&srv, "POST", "/v1/calls/CA77/hangup", "").await;
    assert_eq!(code, 202, "{body}");
    // The gateway closes the stream (no more than the close frame, then the end).
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the gateway did not close the hung-up stream");
    assert!(wait_for(|| srv.live.is_empty()).await, "the call stayed registered: {:?}", srv.live.ids());
    let (code, _) = http(&srv, "POST", "/v1/calls/CA77/hangup", "").await;
    assert_eq!(code, 404);
    srv.stop().await;
}
