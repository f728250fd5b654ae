//! Kamailio (Debian `kamailio`), a SIP proxy nobody on this team wrote, dispatching round-robin
//! to TWO `frontdesk serve --sip` instances (`tests/data/kamailio/kamailio.cfg`): SIPp calls
//! through the proxy are answered by both gateways, and the caller's BYE, routed by the
//! Record-Route the proxy inserted and the gateway copied into its 200 OK, ends them.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{
    PCMU_AND_EVENTS, SipGateway, free_udp_tcp_port, human_prompt, require, scratch, sipp, sipp_uac_scenario,
    ulaw_from_wav, wait_until,
};

/// A Kamailio process; SIGTERM (which stops its children too) and reaped on drop.
struct Kamailio(Child);

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        if !wait_until(Duration::from_secs(5), || self.0.try_wait().ok().flatten().is_some()) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn calls_through_a_kamailio_dispatcher_reach_both_gateways_and_bye_follows_record_route() {
    let kamailio = require("kamailio", "kamailio");
    let dir = scratch("kamailio");
    ulaw_from_wav(&human_prompt("vm-intro"), &dir.join("caller.ulaw"), 0.2);
    let (a, b) = (SipGateway::start(&["--app", "echo"]), SipGateway::start(&["--app", "echo"]));
    let proxy_port = free_udp_tcp_port();
    let list = dir.join("dispatcher.list");
    std::fs::write(&list, format!("1 sip:127.0.0.1:{} 0 0\n1 sip:127.0.0.1:{} 0 0\n", a.sip, b.sip)).unwrap();
    let cfg = std::fs::read_to_string(support::data("kamailio/kamailio.cfg"))
        .unwrap()
        .replace("LISTEN_PORT", &proxy_port.to_string())
        .replace("CTL_SOCKET", &dir.join("ctl").display().to_string())
        .replace("DISPATCHER_LIST_PATH", &list.display().to_string());
    std::fs::write(dir.join("kamailio.cfg"), cfg).unwrap();
    let klog = dir.join("kamailio.log");
    let proxy = Kamailio(
        Command::new(kamailio)
            .arg("-f")
            .arg(dir.join("kamailio.cfg"))
            .args(["-DD", "-E", "-m", "64", "-M", "8"])
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&klog).unwrap())
            .spawn()
            .unwrap(),
    );
    let klog_text = || std::fs::read_to_string(&klog).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(10), || std::net::UdpSocket::bind(("127.0.0.1", proxy_port)).is_err()),
        "kamailio did not start:\n{}",
        klog_text()
    );

    let media = r#"<nop><action><exec rtp_stream="caller.ulaw,1,0"/></action></nop>
  <pause milliseconds="1500"/>"#;
    let scenario = sipp_uac_scenario(PCMU_AND_EVENTS.0, PCMU_AND_EVENTS.1, media);
    let (ok, out) = sipp(&dir, &format!("127.0.0.1:{proxy_port}"), &scenario, &["-m", "4", "-l", "2"]);
    assert!(
        ok,
        "SIPp calls through kamailio failed:\n{out}\nkamailio:\n{}\ngateway a:\n{}\ngateway b:\n{}",
        klog_text(),
        a.log(),
        b.log()
    );
    for gw in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(5), || gw.count("end=Remote") == 2),
            "each gateway should have answered 2 calls and seen their BYE:\n{}",
            gw.log()
        );
        assert_eq!(gw.count("sip call call="), 2, "{}", gw.log());
    }
    // The BYEs went through the proxy: only possible if our 200 OK carried its Record-Route
    // (without it SIPp sends BYE straight to the gateway's Contact).
    let byes = klog_text().matches("routed in-dialog BYE").count();
    assert_eq!(byes, 4, "BYEs routed by kamailio:\n{}", klog_text());
    drop(proxy);
    std::fs::remove_dir_all(dir).unwrap();
}
