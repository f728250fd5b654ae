//! The provider against an HTTP server on real TCP (loopback). The server here is written from the
//! OpenAI API reference, not from our client: it reads the raw HTTP/1.1 request, parses the
//! `multipart/form-data` body by RFC 7578 (boundary from the `Content-Type` header), decodes the
//! WAV, and answers the documented `json` / `verbose_json` shapes or the documented error object.
//! The same server also runs behind TLS (tokio-rustls) with a certificate from a CA made at test
//! time: trusted through an explicit extra CA file, and not trusted without it.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use frontdesk_asr_openai::{CA_FILE_ENV, ExtraCa, OpenAiConfig, OpenAiError, OpenAiTranscriber};
use frontdesk_engines::{DecodeOptions, EngineError, Transcriber};
use frontdesk_http_client::test_util::TestCa;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    fields: HashMap<String, String>,
    file_name: String,
    file_type: String,
    wav_rate: u32,
    wav_channels: u16,
    wav_bits: u16,
    samples: Vec<i16>,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// RFC 7578 parts: (name, filename, content type, body).
fn parts(body: &[u8], boundary: &str) -> Vec<(String, String, String, Vec<u8>)> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut rest = body;
    assert!(rest.starts_with(delim.as_bytes()), "body must start with the boundary");
    loop {
        rest = &rest[delim.len()..];
        if rest.starts_with(b"--") {
            assert_eq!(&rest[2..], b"\r\n", "the closing delimiter ends the body");
            return out;
        }
        assert!(rest.starts_with(b"\r\n"));
        rest = &rest[2..];
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&rest[..head_end]).unwrap();
        let next = find(&rest[head_end..], format!("\r\n{delim}").as_bytes()).unwrap() + head_end;
        let content = rest[head_end + 4..next].to_vec();
        let (mut name, mut filename, mut ctype) = (String::new(), String::new(), String::new());
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':').unwrap();
            match k.to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    assert!(v.trim().starts_with("form-data"));
                    for p in v.split(';').skip(1) {
                        let (pk, pv) = p.trim().split_once('=').unwrap();
                        let pv = pv.trim_matches('"').to_owned();
                        match pk {
                            "name" => name = pv,
                            "filename" => filename = pv,
                            other => panic!("unexpected parameter {other}"),
                        }
                    }
                }
                "content-type" => ctype = v.trim().to_owned(),
                other => panic!("unexpected part header {other}"),
            }
        }
        out.push((name, filename, ctype, content));
        rest = &rest[next + 2..];
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

fn parse_request(raw: &[u8]) -> Seen {
    let head_end = find(raw, b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..head_end]).unwrap();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap().split(' ');
    let (method, path, version) = (start.next().unwrap(), start.next().unwrap(), start.next().unwrap());
    assert_eq!(version, "HTTP/1.1");
    let headers: HashMap<String, String> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let body = &raw[head_end + 4..];
    assert_eq!(headers["content-length"].parse::<usize>().unwrap(), body.len());
    let boundary = headers["content-type"].strip_prefix("multipart/form-data; boundary=").unwrap();
    let mut fields = HashMap::new();
    let mut file = None;
    for (name, filename, ctype, content) in parts(body, boundary) {
        if name == "file" {
            file = Some((filename, ctype, content));
        } else {
            assert!(filename.is_empty() && ctype.is_empty(), "{name} is a plain field");
            assert!(fields.insert(name, String::from_utf8(content).unwrap()).is_none(), "duplicate field");
        }
    }
    let (file_name, file_type, wav) = file.expect("a file part");
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    assert_eq!(u16_at(&wav, 20), 1, "PCM");
    assert_eq!(u32_at(&wav, 40) as usize, wav.len() - 44);
    Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        fields,
        file_name,
        file_type,
        wav_rate: u32_at(&wav, 24),
        wav_channels: u16_at(&wav, 22),
        wav_bits: u16_at(&wav, 34),
        samples: wav[44..].chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect(),
    }
}

/// How the server answers a request.
#[derive(Clone, Copy)]
enum Mode {
    /// Checks the bearer key `sk-test` (401 with OpenAI's error object otherwise), then answers
    /// `verbose_json` or `json` as asked.
    Documented,
    /// 200 with a body that is not JSON.
    Html,
    /// Reads the request and never answers.
    Stall,
}

const VERBOSE: &str = r#"{"task":"transcribe","language":"english","duration":1.0,"text":" I'd like to book Tuesday.",
"segments":[{"id":0,"seek":0,"start":0.0,"end":1.0,"text":" I'd like to book Tuesday.","tokens":[50364],
"temperature":0.0,"avg_logprob":-0.25,"compression_ratio":0.8,"no_speech_prob":0.01}],
"words":[{"word":"I'd","start":0.0,"end":0.2},{"word":"like","start":0.2,"end":0.4},{"word":"to","start":0.4,"end":0.5},
{"word":"book","start":0.5,"end":0.7},{"word":"Tuesday.","start":0.7,"end":1.0}]}"#;

/// A server on a loopback port answering `n` connections; what it saw goes to the channel.
async fn serve(mode: Mode, n: usize) -> (String, mpsc::Receiver<Seen>) {
    serve_on(mode, n, None).await
}

/// As [`serve`]; behind TLS with `ca`'s server certificate (an `https://` URL) when given.
async fn serve_on(mode: Mode, n: usize, ca: Option<&TestCa>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let acceptor = ca.map(TestCa::acceptor);
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    tokio::spawn(async move {
        for _ in 0..n {
            let (sock, _) = listener.accept().await.unwrap();
            match &acceptor {
                None => answer(sock, mode, &tx).await,
                // A client that does not trust the certificate ends the handshake: nothing to read.
                Some(a) => {
                    if let Ok(tls) = a.accept(sock).await {
                        answer(tls, mode, &tx).await;
                    }
                }
            }
        }
    });
    (format!("{scheme}://{addr}/v1"), rx)
}

/// Reads one request from `sock` and answers it as `mode` says.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut sock: S, mode: Mode, tx: &mpsc::Sender<Seen>) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Read the head, then exactly Content-Length bytes of body.
    loop {
        let k = sock.read(&mut buf).await.unwrap();
        assert!(k > 0, "client closed early");
        raw.extend_from_slice(&buf[..k]);
        if let Some(h) = find(&raw, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..h]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap();
            if raw.len() >= h + 4 + len {
                break;
            }
        }
    }
    let seen = parse_request(&raw);
    let (status, body) = match mode {
                Mode::Stall => {
                    let _ = tx.send(seen);
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                Mode::Html => ("200 OK", "<html>upstream</html>".to_owned()),
                Mode::Documented if seen.headers.get("authorization").map(String::as_str) != Some("Bearer sk-test") => (
                    "401 Unauthorized",
                    r#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#.to_owned(),
                ),
                Mode::Documented if seen.fields["response_format"] == "verbose_json" => ("200 OK", VERBOSE.to_owned()),
                Mode::Documented => ("200 OK", r#"{"text":"I'd like to book Tuesday."}"#.to_owned()),
            };
    let _ = tx.send(seen);
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(resp.as_bytes()).await.unwrap();
    let _ = sock.shutdown().await;
}

fn tone(secs: f32) -> Vec<f32> {
    (0..(16000.0 * secs) as usize).map(|i| (i as f32 * 0.05).sin() * 0.5).collect()
}

#[test]
fn blocking_transcribe_sends_the_documented_form_and_reads_verbose_json() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(serve(Mode::Documented, 1));
    let mut cfg = OpenAiConfig::new(url, "whisper-1");
    cfg.api_key = Some("sk-test".into());
    cfg.language = Some("en".into());
    let asr = OpenAiTranscriber::new(cfg).unwrap();
    assert_eq!(asr.name(), "openai:whisper-1");
    let pcm = tone(1.0);
    let opts = DecodeOptions { hints: vec!["Tuesday".into(), "Doctor Lee".into()], partial: false };
    // On a plain thread, as on the inference pool.
    let t = asr.transcribe(&pcm, &opts).unwrap();
    assert_eq!(t.text, "I'd like to book Tuesday.");
    assert_eq!(t.words.len(), 5);
    assert_eq!((t.words[3].text.as_str(), t.words[3].start_ms, t.words[3].end_ms), ("book", 500, 700));
    assert!((t.confidence - (-0.25f32).exp()).abs() < 1e-4);

    let s = seen.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/v1/audio/transcriptions"));
    assert_eq!(s.headers["host"], url_authority(asr.url()));
    assert_eq!((s.file_name.as_str(), s.file_type.as_str()), ("audio.wav", "audio/wav"));
    assert_eq!((s.wav_rate, s.wav_channels, s.wav_bits), (16000, 1, 16));
    assert_eq!(s.samples.len(), pcm.len());
    let expected: Vec<i16> = pcm.iter().map(|x| (x * 32767.0).round() as i16).collect();
    assert_eq!(s.samples, expected);
    let want: HashMap<String, String> = [
        ("model", "whisper-1"),
        ("response_format", "verbose_json"),
        ("timestamp_granularities[]", "word"),
        ("language", "en"),
        ("prompt", "Tuesday, Doctor Lee"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(s.fields, want);
}

fn url_authority(url: &str) -> String {
    url.split_once("://").unwrap().1.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn async_json_format_and_the_errors_a_caller_can_act_on() {
    // json (no word timings): text only, no timestamp field, no language field.
    let (url, seen) = serve(Mode::Documented, 2).await;
    let mut cfg = OpenAiConfig::new(url.clone(), "tiny.en");
    cfg.words = false;
    cfg.api_key = Some("sk-test".into());
    let asr = OpenAiTranscriber::new(cfg.clone()).unwrap();
    let t = asr.transcribe_async(&tone(0.5), &DecodeOptions::default()).await.unwrap();
    assert_eq!((t.text.as_str(), t.words.len(), t.confidence), ("I'd like to book Tuesday.", 0, 1.0));
    let s = seen.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(s.fields.len(), 2, "{:?}", s.fields);
    assert_eq!(s.fields["response_format"], "json");
    // A wrong key: the status and the server's own message.
    cfg.api_key = Some("sk-wrong".into());
    let err =
        OpenAiTranscriber::new(cfg).unwrap().transcribe_async(&tone(0.2), &DecodeOptions::default()).await;
    match err {
        Err(OpenAiError::Status { status: 401, message, .. }) => {
            assert_eq!(message, "Incorrect API key provided.")
        }
        other => panic!("{other:?}"),
    }
    // The blocking call refuses to run on a runtime thread instead of blocking it.
    let asr = OpenAiTranscriber::new(OpenAiConfig::new(url, "m")).unwrap();
    let e = asr.transcribe(&tone(0.1), &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, EngineError::Remote { .. }) && e.to_string().contains("transcribe_async"), "{e}");

    // A 200 that is not JSON.
    let (url, _seen) = serve(Mode::Html, 1).await;
    let err = OpenAiTranscriber::new(OpenAiConfig::new(url, "m"))
        .unwrap()
        .transcribe_async(&tone(0.1), &DecodeOptions::default())
        .await;
    assert!(matches!(err, Err(OpenAiError::BadAnswer { .. })), "{err:?}");

    // A server that never answers: the timeout, not a hang.
    let (url, seen) = serve(Mode::Stall, 1).await;
    let mut cfg = OpenAiConfig::new(url, "m");
    cfg.timeout = Duration::from_millis(400);
    let err =
        OpenAiTranscriber::new(cfg).unwrap().transcribe_async(&tone(0.1), &DecodeOptions::default()).await;
    assert!(matches!(err, Err(OpenAiError::Timeout { timeout_ms: 400, .. })), "{err:?}");
    assert!(seen.recv_timeout(Duration::from_secs(5)).is_ok(), "the request did reach the server");

    // Nobody listening: unreachable, with the OS's reason, mapped to EngineError::Remote.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let err = OpenAiTranscriber::new(OpenAiConfig::new(url.clone(), "m"))
        .unwrap()
        .transcribe_async(&tone(0.1), &DecodeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenAiError::Unreachable { .. }), "{err:?}");
    let e = EngineError::from(err);
    assert!(e.to_string().contains("refused") && e.to_string().contains(&url), "{e}");
}

#[tokio::test]
async fn https_with_an_extra_ca_and_an_untrusted_certificate() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    ca.write_ca(&ca_file);

    // Trusted through the extra CA file: the documented form arrives and the answer is read.
    let (url, seen) = serve_on(Mode::Documented, 1, Some(&ca)).await;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let mut cfg = OpenAiConfig::new(url.clone(), "whisper-1");
    cfg.api_key = Some("sk-test".into());
    cfg.extra_ca = ExtraCa::File(ca_file);
    let asr = OpenAiTranscriber::new(cfg.clone()).unwrap();
    assert!(asr.url().starts_with("https://"), "{}", asr.url());
    let pcm = tone(0.5);
    let t = asr.transcribe_async(&pcm, &DecodeOptions::default()).await.unwrap();
    assert_eq!((t.text.as_str(), t.words.len()), ("I'd like to book Tuesday.", 5));
    let s = seen.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/v1/audio/transcriptions"));
    assert_eq!(s.headers["host"], url_authority(asr.url()));
    assert_eq!(s.headers["authorization"], "Bearer sk-test");
    assert_eq!(s.samples.len(), pcm.len());
    assert_eq!(s.fields["model"], "whisper-1");

    // The built-in roots only: the certificate is not trusted, at once and said so.
    let (url, seen) = serve_on(Mode::Documented, 1, Some(&ca)).await;
    cfg.url = url;
    cfg.extra_ca = ExtraCa::None;
    let err = tokio::time::timeout(
        Duration::from_secs(2),
        OpenAiTranscriber::new(cfg).unwrap().transcribe_async(&tone(0.1), &DecodeOptions::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(&err, OpenAiError::Tls { why, .. } if why.contains("certificate is not trusted")),
        "{err:?}"
    );
    let e = EngineError::from(err);
    assert!(e.to_string().contains("not trusted") && e.to_string().contains(CA_FILE_ENV), "{e}");
    assert!(seen.recv_timeout(Duration::from_millis(200)).is_err(), "no request reached the server");
}

#[test]
fn a_bad_extra_ca_file_is_refused_when_the_transcriber_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken-ca.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n").unwrap();
    let mut cfg = OpenAiConfig::new("https://asr.example.com/v1", "m");
    cfg.extra_ca = ExtraCa::File(bad);
    let err = OpenAiTranscriber::new(cfg).unwrap_err();
    assert!(matches!(err, OpenAiError::Tls { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("broken-ca.pem") && msg.contains(CA_FILE_ENV) && msg.contains("not valid PEM"),
        "{msg}"
    );
}
