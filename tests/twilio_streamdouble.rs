//! `frontdesk serve --app echo` driven over its Twilio Media Streams endpoint by streamdouble,
//! a Twilio simulator nobody on this team wrote: the caller's audio comes back (envelope
//! correlation >= 0.8), DTMF reaches the call, and SIGTERM drains and exits cleanly. The
//! endpoint needs an API key (`frontdesk apikey create`, then `?token=<key>` in the URL); a
//! connection without one is refused with 401 before any call starts.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Gateway, envelope_xcorr, human_prompt, read_wav, venv_bin};

#[test]
fn streamdouble_call_is_echoed_and_dtmf_arrives() {
    let dir = tempdir("streamdouble");
    let caller = human_prompt("vm-intro");
    let scenario = dir.join("call.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: echo with keys\nsteps:\n  - say: {}\n  - dtmf: \"5#\"\n  - wait: 1.0\n  - hangup\n",
            caller.display()
        ),
    )
    .unwrap();
    let (data, key) = data_with_key("streamdouble-data");
    let data_arg = data.display().to_string();
    let mut gw = Gateway::start(&["--app", "echo", "--drain-timeout", "5", "--data", &data_arg]);
    let url = format!("ws://127.0.0.1:{}/media/twilio?token={key}", gw.http);
    let reply = dir.join("reply.wav");
    let out = Command::new(venv_bin("streamdouble"))
        .args(["scenario"])
        .arg(&scenario)
        .arg(&url)
        .args(["--out"])
        .arg(&reply)
        .args(["--json"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "streamdouble failed ({:?}):\n{report}\n{}\ngateway log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        gw.log()
    );
    let v: serde_json::Value = serde_json::from_str(&report).expect("streamdouble --json output");
    assert!(v["time_to_first_audio_ms"].as_f64().is_some(), "the gateway never spoke: {report}");

    let (rate_ref, sent) = read_wav(&caller);
    let (rate_rec, got) = read_wav(&reply);
    assert_eq!((rate_ref, rate_rec), (8000, 8000));
    let (lag_ms, r) = envelope_xcorr(8000, &sent, &got);
    assert!(r >= 0.8, "echo not found in the reply: r = {r:.3} at lag {lag_ms} ms");

    let log = gw.log();
    assert!(log.contains("digit=5") && log.contains("digit=#"), "DTMF did not reach the call:\n{log}");
    let status = gw.terminate(Duration::from_secs(10)).expect("gateway did not exit after SIGTERM");
    assert!(status.success(), "exit status {status:?}\n{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn streamdouble_without_a_token_is_refused() {
    let dir = tempdir("streamdouble-refused");
    let scenario = dir.join("call.yaml");
    std::fs::write(&scenario, "name: no key\nsteps:\n  - wait: 0.5\n  - hangup\n").unwrap();
    let (data, key) = data_with_key("streamdouble-refused-data");
    let data_arg = data.display().to_string();
    let gw = Gateway::start(&["--app", "echo", "--data", &data_arg]);
    for url in [
        format!("ws://127.0.0.1:{}/media/twilio", gw.http),
        format!("ws://127.0.0.1:{}/media/twilio?token={}x", gw.http, key),
    ] {
        let out = Command::new(venv_bin("streamdouble"))
            .args(["scenario"])
            .arg(&scenario)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "streamdouble connected to {url} without a valid key:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(!gw.log().contains("twilio media stream"), "a call started:\n{}", gw.log());
    assert!(gw.log().contains("twilio media connection refused"), "{}", gw.log());
    // The refusal says how to connect.
    let resp = upgrade_without_key(gw.http);
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(resp.contains("?token=<key>") && resp.contains("frontdesk apikey create"), "{resp}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A WebSocket upgrade of /media/twilio with no credentials; the whole response.
fn upgrade_without_key(port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /media/twilio HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A fresh data directory holding one API key: (directory, key).
fn data_with_key(name: &str) -> (std::path::PathBuf, String) {
    let data = tempdir(name);
    let _ = std::fs::remove_dir_all(&data);
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["apikey", "create", "--name", "streamdouble", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (data, String::from_utf8(out.stdout).unwrap().trim().to_string())
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("frontdesk-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create a temporary directory");
    d
}
