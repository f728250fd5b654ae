//! `frontdesk serve --app echo` driven over its Twilio Media Streams endpoint by streamdouble,
//! a Twilio simulator nobody on this team wrote: the caller's audio comes back (envelope
//! correlation >= 0.8), DTMF reaches the call, and SIGTERM drains and exits cleanly.

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
    let mut gw = Gateway::start(&["--app", "echo", "--drain-timeout", "5"]);
    let url = format!("ws://127.0.0.1:{}/media/twilio", gw.http);
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

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("frontdesk-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create a temporary directory");
    d
}
