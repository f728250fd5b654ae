//! Outgoing calls of `frontdesk serve --sip --dial` to SIPp (Debian `sip-tester`) as the
//! callee: the first INVITE is challenged (401, digest MD5) and SIPp's `verifyauth` checks the
//! credentials of the retry before answering; and a blind transfer (`--app transfer:URI`): the
//! callee receives REFER with the target, accepts it (202), reports success in a NOTIFY
//! sipfrag, and the gateway then hangs up its leg (BYE).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{SipGateway, free_rtp_pair, free_udp_tcp_port, require, scratch, sipp_scenario, wait_until};

/// SIPp as the callee on its own port; returns (process, port).
fn sipp_uas(dir: &std::path::Path, scenario: &str) -> (Child, u16) {
    let sf = dir.join("uas.xml");
    std::fs::write(&sf, scenario).unwrap();
    let port = free_udp_tcp_port();
    let child = Command::new(require("sipp", "sip-tester"))
        .current_dir(dir)
        .arg("-sf")
        .arg(&sf)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-mp",
            &free_rtp_pair().to_string(),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20",
            "-timeout_error",
        ])
        .args(["-trace_err", "-trace_msg"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || std::net::UdpSocket::bind(("127.0.0.1", port)).is_err()),
        "sipp did not start"
    );
    (child, port)
}

/// Waits for SIPp to exit; returns success and its message trace.
fn finish(mut child: Child, dir: &std::path::Path) -> (bool, String) {
    let mut status = None;
    wait_until(Duration::from_secs(25), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut trace = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with("_messages.log") || name.ends_with("_errors.log") {
            trace.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    (status.is_some_and(|s| s.success()), trace)
}

#[test]
fn outgoing_call_answers_a_digest_challenge() {
    let dir = scratch("sip-out-auth");
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_digest.xml"));
    let dial = format!("sip:callee@127.0.0.1:{port}");
    // A test password on the command line; deployments set FRONTDESK_SIP_PASSWORD instead.
    let gw = SipGateway::start(&[
        "--app",
        "echo",
        "--dial",
        &dial,
        "--dial-user",
        "alice",
        "--dial-password",
        "s3cret",
    ]);
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed (bad or missing digest?):\n{trace}\ngateway:\n{}", gw.log());
    assert!(trace.contains("Authorization: Digest"), "{trace}");
    assert!(
        wait_until(Duration::from_secs(5), || gw.log().contains("end=Remote")),
        "the callee's BYE should end the call:\n{}",
        gw.log()
    );
    assert!(gw.log().contains("outgoing call answered"), "{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refer_transfers_the_callee_and_the_gateway_leaves() {
    let dir = scratch("sip-out-refer");
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_refer.xml"));
    let dial = format!("sip:callee@127.0.0.1:{port}");
    let gw = SipGateway::start(&["--app", "transfer:sip:transfer-target@127.0.0.1:5999", "--dial", &dial]);
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed:\n{trace}\ngateway:\n{}", gw.log());
    assert!(trace.contains("Refer-To: <sip:transfer-target@127.0.0.1:5999>"), "{trace}");
    assert!(gw.log().contains("code=200 done=true"), "{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}
