//! Outgoing calls of `frontdesk serve --sip --dial` to SIPp (Debian `sip-tester`) as the
//! callee: the first INVITE is challenged (401, digest MD5) and SIPp's `verifyauth` checks the
//! credentials of the retry before answering; and a blind transfer (`--app transfer:URI`): the
//! callee receives REFER with the target, accepts it (202), reports success in a NOTIFY
//! sipfrag, and the gateway then hangs up its leg (BYE).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{SipGateway, free_rtp_pair, free_udp_tcp_port, require, scratch, wait_until};

const ANSWER: &str = r#"
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK"/>
"#;

const OK_TO_BYE: &str = r#"
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
"#;

/// A callee that challenges the INVITE, checks the digest, answers, and hangs up after 1 s.
fn uas_with_auth() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas digest">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag00[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="frontdesk.test", nonce="4d8f2a9c1b", algorithm=MD5
Content-Length: 0

]]></send>
  <recv request="ACK"/>
  <recv request="INVITE" rrs="true">
    <action>
      <verifyauth assign_to="authvalid" username="alice" password="s3cret"/>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="gw"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="me"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <send><![CDATA[
SIP/2.0 403 Bad credentials
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <!-- Never comes: the call fails, and SIPp exits non-zero. -->
  <recv request="OPTIONS" timeout="500"/>
  <label id="good"/>
{ANSWER}
  <pause milliseconds="1000"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From:[$me];tag=[pid]SIPpTag01[call_number]
To:[$gw]
[last_Call-ID:]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"#
    )
}

/// A callee that answers, gets REFER, accepts it and reports 200 in a NOTIFY, then expects BYE.
fn uas_refer() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas refer">
  <recv request="INVITE" rrs="true"/>
{ANSWER}
  <recv request="REFER">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="gw"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="me"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 202 Accepted
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
NOTIFY [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From:[$me]
To:[$gw]
[last_Call-ID:]
CSeq: 1 NOTIFY
Max-Forwards: 70
Contact: <sip:callee@[local_ip]:[local_port]>
Event: refer
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag
Content-Length: [len]

SIP/2.0 200 OK
]]></send>
  <recv response="200"/>
{OK_TO_BYE}
</scenario>
"#
    )
}

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
    let (uas, port) = sipp_uas(&dir, &uas_with_auth());
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
    let (uas, port) = sipp_uas(&dir, &uas_refer());
    let dial = format!("sip:callee@127.0.0.1:{port}");
    let gw = SipGateway::start(&["--app", "transfer:sip:transfer-target@127.0.0.1:5999", "--dial", &dial]);
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed:\n{trace}\ngateway:\n{}", gw.log());
    assert!(trace.contains("Refer-To: <sip:transfer-target@127.0.0.1:5999>"), "{trace}");
    assert!(gw.log().contains("code=200 done=true"), "{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}
