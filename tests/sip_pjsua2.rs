//! `frontdesk serve --sip` called by PJSUA2 (PJSIP's Python binding, PyPI `pjsua2-python`), a
//! third SIP stack nobody on this team wrote (`tests/data/pjsua2/call.py`): the call is
//! answered and ended, the prompt it plays comes back from `--app echo` (envelope
//! correlation at least 0.8), and the keys it sends with `dialDtmf` (RFC 4733, in the audio's SSRC and sequence
//! space) reach the call once each.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::Command;
use std::time::Duration;

use support::{
    SipGateway, data, envelope_xcorr, human_prompt, read_wav, run_bounded, scratch, venv_bin, wait_until,
};

#[test]
fn pjsua2_call_is_echoed_and_its_dtmf_arrives() {
    let dir = scratch("pjsua2");
    let python = venv_bin("python");
    let has_pjsua2 = Command::new(&python).args(["-c", "import pjsua2"]).status().unwrap().success();
    assert!(has_pjsua2, "pjsua2 is missing from .venv-test: run scripts/install-test-deps.sh");
    let gw = SipGateway::start(&["--app", "echo"]);
    let caller = human_prompt("vm-intro");
    let rec = dir.join("reply.wav");
    let mut cmd = Command::new(python);
    cmd.arg(data("pjsua2/call.py"))
        .arg(format!("sip:agent@127.0.0.1:{}", gw.sip))
        .arg(&caller)
        .arg(&rec)
        // The prompt is 5.7 s; the keys go one second before the end, after it.
        .args(["7.5", "12#"])
        .stdout(std::fs::File::create(dir.join("pjsua2.log")).unwrap())
        .stderr(std::process::Stdio::null());
    let status = run_bounded(cmd, Duration::from_secs(30));
    let plog = std::fs::read_to_string(dir.join("pjsua2.log")).unwrap_or_default();
    assert!(status.is_some_and(|s| s.success()), "pjsua2 call failed ({status:?}):\n{plog}\n{}", gw.log());
    let (_, sent) = read_wav(&caller);
    let (rate, got) = read_wav(&rec);
    assert_eq!(rate, 8000);
    let (lag_ms, r) = envelope_xcorr(8000, &sent, &got);
    assert!(r >= 0.8, "echo not found in what pjsua2 heard: r = {r:.3} at lag {lag_ms} ms\n{}", gw.log());
    assert!(wait_until(Duration::from_secs(5), || gw.log().contains("media ended")), "{}", gw.log());
    for d in ["1", "2", "#"] {
        assert_eq!(gw.count(&format!("digit={d}")), 1, "digit {d} must arrive once:\n{}", gw.log());
    }
    std::fs::remove_dir_all(dir).unwrap();
}
