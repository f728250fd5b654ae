//! Live-call control of `frontdesk serve` through its HTTP API, against SIPp (Debian
//! `sip-tester`) as the far end: `POST /v1/calls` places an outbound SIP call that SIPp answers,
//! `POST /v1/calls/{id}/hangup` makes the gateway send BYE, and a call that is not in progress
//! answers 404. Real binary, real SQLite file, real TCP and UDP.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::Command;
use std::time::Duration;

use support::{SipGateway, finish, json, request, scratch, sipp_scenario, sipp_uas, wait_until};

/// A fresh data directory with one API key.
fn data_with_key(name: &str) -> (std::path::PathBuf, String) {
    let data = scratch(name).join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["apikey", "create", "--name", "ci", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (data, String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// Publishes flows/clinic.yaml as flow `clinic` (originate runs a published flow).
fn publish_clinic(port: u16, key: &str) {
    let yaml = std::fs::read_to_string(support::repo().join("flows/clinic.yaml")).unwrap();
    let (status, body) = request(port, "PUT", "/v1/flows/clinic/draft", key, "application/yaml", &yaml);
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(port, "POST", "/v1/flows/clinic/versions/1/publish", key, "");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn originate_over_the_api_then_hang_up_and_the_callee_gets_bye() {
    let dir = scratch("api-control-sip");
    let (data, key) = data_with_key("api-control-sip-data");
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_expects_bye.xml"), 30);
    let data_arg = data.display().to_string();
    let gw = SipGateway::start(&["--app", "echo", "--data", &data_arg]);
    let http = gw.gw.http;

    // Not in progress: 404, before and whatever the id.
    let (status, body) = json(http, "POST", "/v1/calls/nope/hangup", &key, "");
    assert_eq!(status, 404, "{body}");
    // A host name is refused (the gateway resolves no names); so is a number without a trunk.
    publish_clinic(http, &key);
    let (status, body) =
        json(http, "POST", "/v1/calls", &key, r#"{"to":"sip:bob@example.com","flow":"clinic"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("IP address"), "{body}");
    let (status, body) = json(http, "POST", "/v1/calls", &key, r#"{"to":"+15551234567","flow":"clinic"}"#);
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("trunk"), "{body}");

    let req = format!(
        r#"{{"to":"sip:callee@127.0.0.1:{port}","flow":"clinic","from":"+15550001111","variables":{{"patient":"Ann"}}}}"#
    );
    let (status, body) = json(http, "POST", "/v1/calls", &key, &req);
    assert_eq!(status, 202, "{body}\n{}", gw.log());
    assert_eq!(body["status"], "dialing");
    let id = body["call_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("out-"), "{id}");
    assert!(
        wait_until(Duration::from_secs(10), || gw.log().contains("outgoing call answered")),
        "SIPp did not answer:\n{}",
        gw.log()
    );
    // The app runs under the id the API returned.
    assert!(gw.log().contains(&id), "{}", gw.log());

    let (status, body) = json(http, "POST", &format!("/v1/calls/{id}/hangup"), &key, "");
    assert_eq!(status, 202, "{body}");
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp callee failed (no BYE?):\n{trace}\ngateway:\n{}", gw.log());
    assert!(trace.contains("From: <sip:+15550001111@"), "caller id not presented:\n{trace}");
    assert!(
        wait_until(Duration::from_secs(5), || json(
            http,
            "POST",
            &format!("/v1/calls/{id}/hangup"),
            &key,
            ""
        )
        .0 == 404),
        "the ended call is still controllable:\n{}",
        gw.log()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_number_is_dialled_through_the_trunk_unless_it_opted_out() {
    let dir = scratch("api-control-trunk");
    let (data, key) = data_with_key("api-control-trunk-data");
    // The person at +15550002222 asked not to be called (on an earlier call).
    let store = frontdesk_store::SqliteStore::open_dir(&data).unwrap();
    let now = frontdesk_schedule::jiff::Timestamp::now();
    frontdesk_store::OptOutStore::add_opt_out(&store, "+1 555 000 2222", "voice", None, now).unwrap();
    drop(store);
    // SIPp plays the trunk: it answers whatever number is dialled through it.
    let (uas, port) = sipp_uas(&dir, &sipp_scenario("uas_expects_bye.xml"), 30);
    let data_arg = data.display().to_string();
    let trunk = format!("sip:127.0.0.1:{port}");
    let gw = SipGateway::start(&["--app", "echo", "--data", &data_arg, "--trunk", &trunk]);
    let http = gw.gw.http;
    publish_clinic(http, &key);

    let (status, body) = json(http, "POST", "/v1/calls", &key, r#"{"to":"+15550002222","flow":"clinic"}"#);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "opted_out", "{body}");

    let (status, body) = json(http, "POST", "/v1/calls", &key, r#"{"to":"+15551234567","flow":"clinic"}"#);
    assert_eq!(status, 202, "{body}\n{}", gw.log());
    let id = body["call_id"].as_str().unwrap().to_string();
    assert!(
        wait_until(Duration::from_secs(10), || gw.log().contains("outgoing call answered")),
        "the trunk did not answer:\n{}",
        gw.log()
    );
    let (status, body) = json(http, "POST", &format!("/v1/calls/{id}/hangup"), &key, "");
    assert_eq!(status, 202, "{body}");
    let (ok, trace) = finish(uas, &dir);
    assert!(ok, "SIPp trunk failed (no BYE?):\n{trace}\ngateway:\n{}", gw.log());
    assert!(
        trace.contains(&format!("INVITE sip:+15551234567@127.0.0.1:{port};user=phone SIP/2.0")),
        "the number was not dialled through the trunk:\n{trace}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
