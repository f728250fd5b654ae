//! `frontdesk serve --sip` driven by SIPp (Debian `sip-tester`), a SIP stack nobody on this team
//! wrote: calls over UDP and TCP with RTP streamed from a human prompt are answered and ended
//! (SIPp exits 0 only if every message of the scenario arrived), the gateway received the RTP,
//! and DTMF reaches the call both as RFC 4733 events (SIPp's pcaps, in their own SSRC) and as
//! in-band tones (a sox-generated file streamed as PCMU), each key reported once.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::{
    PCMU_AND_EVENTS, SipGateway, data, dtmf_wav, human_prompt, scratch, sipp, sipp_scenario,
    sipp_uac_scenario, ulaw_from_wav, wait_until,
};

/// The gateway's RTP counters for the call that just ended: (sent, received).
fn media_counts(gw: &SipGateway) -> (u64, u64) {
    assert!(
        wait_until(Duration::from_secs(5), || gw.log().contains("media ended")),
        "no call ended in the gateway:\n{}",
        gw.log()
    );
    let log = gw.log();
    let line = log.lines().rev().find(|l| l.contains("media ended")).unwrap();
    let field = |name: &str| -> u64 {
        let at = line.find(&format!(" {name}=")).unwrap_or_else(|| panic!("{name} in {line}"));
        line[at + name.len() + 2..].split(' ').next().unwrap().parse().unwrap()
    };
    (field("sent"), field("received"))
}

fn stream_call(transport: &[&str]) {
    let dir = scratch(&format!("sipp-stream{}", transport.len()));
    ulaw_from_wav(&human_prompt("vm-intro"), &dir.join("caller.ulaw"), 0.2);
    let gw = SipGateway::start(&["--app", "echo"]);
    let media = r#"<nop><action><exec rtp_stream="caller.ulaw,1,0"/></action></nop>
  <pause milliseconds="3000"/>"#;
    let scenario = sipp_uac_scenario(PCMU_AND_EVENTS.0, PCMU_AND_EVENTS.1, media);
    let mut args = vec!["-m", "1"];
    args.extend_from_slice(transport);
    let (ok, out) = sipp(&dir, &format!("127.0.0.1:{}", gw.sip), &scenario, &args);
    assert!(ok, "SIPp call failed:\n{out}\ngateway log:\n{}", gw.log());
    let (sent, received) = media_counts(&gw);
    // 3 s of call: ~150 packets each way (the gateway sends silence or echo every 20 ms).
    assert!(received >= 120, "gateway received {received} RTP packets:\n{}", gw.log());
    assert!(sent >= 120, "gateway sent {sent} RTP packets:\n{}", gw.log());
    assert!(gw.log().contains("from=REDACTED"), "caller URI must not be logged:\n{}", gw.log());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sipp_call_over_udp_streams_rtp_and_hangs_up() {
    stream_call(&[]);
}

#[test]
fn sipp_call_over_tcp_streams_rtp_and_hangs_up() {
    stream_call(&["-t", "t1"]);
}

#[test]
fn rfc4733_dtmf_from_sipp_pcaps_reaches_the_call_once_per_key() {
    let dir = scratch("sipp-2833");
    ulaw_from_wav(&human_prompt("vm-intro"), &dir.join("caller.ulaw"), 0.2);
    let gw = SipGateway::start(&["--app", "echo"]);
    let pcap = |name: &str| data(&format!("sipp/dtmf_2833_{name}.pcap")).display().to_string();
    let media = format!(
        r#"<nop><action><exec rtp_stream="caller.ulaw,1,0"/></action></nop>
  <pause milliseconds="500"/>
  <nop><action><exec play_pcap_audio="{}"/></action></nop>
  <pause milliseconds="700"/>
  <nop><action><exec play_pcap_audio="{}"/></action></nop>
  <pause milliseconds="700"/>
  <nop><action><exec play_pcap_audio="{}"/></action></nop>
  <pause milliseconds="1000"/>"#,
        pcap("1"),
        pcap("5"),
        pcap("pound")
    );
    let scenario = sipp_uac_scenario(PCMU_AND_EVENTS.0, PCMU_AND_EVENTS.1, &media);
    let (ok, out) = sipp(&dir, &format!("127.0.0.1:{}", gw.sip), &scenario, &["-m", "1"]);
    assert!(ok, "SIPp call failed:\n{out}\ngateway log:\n{}", gw.log());
    assert!(wait_until(Duration::from_secs(5), || gw.log().contains("media ended")));
    for d in ["1", "5", "#"] {
        assert_eq!(gw.count(&format!("digit={d}")), 1, "digit {d} must arrive once:\n{}", gw.log());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn inband_dtmf_streamed_by_sipp_reaches_the_call_once_per_key() {
    let dir = scratch("sipp-inband");
    let tones = dir.join("tones.wav");
    dtmf_wav("4#9", &tones);
    ulaw_from_wav(&tones, &dir.join("caller.ulaw"), 0.5);
    let gw = SipGateway::start(&["--app", "echo"]);
    let media = r#"<nop><action><exec rtp_stream="caller.ulaw,1,0"/></action></nop>
  <pause milliseconds="2500"/>"#;
    // PCMU only: no telephone-event, so the keys can only come in band.
    let scenario = sipp_uac_scenario("0", "a=rtpmap:0 PCMU/8000\n", media);
    let (ok, out) = sipp(&dir, &format!("127.0.0.1:{}", gw.sip), &scenario, &["-m", "1"]);
    assert!(ok, "SIPp call failed:\n{out}\ngateway log:\n{}", gw.log());
    assert!(wait_until(Duration::from_secs(5), || gw.log().contains("media ended")));
    for d in ["4", "#", "9"] {
        assert_eq!(gw.count(&format!("digit={d}")), 1, "digit {d} must arrive once:\n{}", gw.log());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sigterm_refuses_new_calls_with_503_then_hangs_up_calls_in_progress() {
    let (dir1, dir2) = (scratch("sipp-drain1"), scratch("sipp-drain2"));
    ulaw_from_wav(&human_prompt("vm-intro"), &dir1.join("caller.ulaw"), 0.2);
    let mut gw = SipGateway::start(&["--app", "echo", "--drain-timeout", "2"]);
    let target = format!("127.0.0.1:{}", gw.sip);
    let (t1, d1) = (target.clone(), dir1.clone());
    // A caller that streams until the gateway hangs up, and one whose INVITE must get 503.
    let (expects_bye, expects_503) =
        (sipp_scenario("uac_expects_bye.xml"), sipp_scenario("uac_expects_503.xml"));
    let first = std::thread::spawn(move || sipp(&d1, &t1, &expects_bye, &["-m", "1"]));
    assert!(
        wait_until(Duration::from_secs(10), || gw.log().contains("sip call")),
        "the first call never arrived:\n{}",
        gw.log()
    );
    let _ = std::process::Command::new("kill").args(["-TERM", &gw.gw.child.id().to_string()]).status();
    assert!(wait_until(Duration::from_secs(5), || gw.log().contains("refusing new calls")));
    let (ok, out) = sipp(&dir2, &target, &expects_503, &["-m", "1"]);
    assert!(ok, "a new call while draining must get 503:\n{out}\ngateway log:\n{}", gw.log());
    let (ok, out) = first.join().unwrap();
    assert!(ok, "the call in progress must be hung up with BYE after the drain time:\n{out}\n{}", gw.log());
    let status = gw.gw.terminate(Duration::from_secs(10)).expect("gateway did not exit after draining");
    assert!(status.success(), "exit status {status:?}\n{}", gw.log());
    std::fs::remove_dir_all(dir1).unwrap();
    std::fs::remove_dir_all(dir2).unwrap();
}
