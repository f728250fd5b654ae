//! Outgoing calls of `frontdesk serve --sip --dial` to SIPp (Debian `sip-tester`) as the
//! callee: the first INVITE is challenged (401, digest MD5) and SIPp's `verifyauth` checks the
//! credentials of the retry before answering; and a blind transfer (`--app transfer:URI`): the
//! callee receives REFER with the target, accepts it (202), reports success in a NOTIFY
//! sipfrag, and the gateway then hangs up its leg (BYE).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::{SipGateway, finish, scratch, sipp_scenario, sipp_uas, wait_until};

#[test]
fn outgoing_call_answers_a_digest_challenge() {
    let dir = scratch("sip-out-auth");
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_digest.xml"), 20);
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
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_refer.xml"), 20);
    let dial = format!("sip:callee@127.0.0.1:{port}");
    let gw = SipGateway::start(&["--app", "transfer:sip:transfer-target@127.0.0.1:5999", "--dial", &dial]);
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed:\n{trace}\ngateway:\n{}", gw.log());
    assert!(trace.contains("Refer-To: <sip:transfer-target@127.0.0.1:5999>"), "{trace}");
    assert!(gw.log().contains("code=200 done=true"), "{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}
