//! `frontdesk apikey create` and `frontdesk serve --data`: the real binary, a real SQLite file,
//! the API over real TCP next to /healthz.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::io::{Read, Write};
use std::process::Command;

fn request(port: u16, path: &str, key: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{auth}\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn apikey(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("apikey")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn apikey_create_prints_a_key_that_serve_accepts_until_revoked() {
    let data = support::scratch("api_cli");
    let _ = std::fs::remove_dir_all(&data);
    let out = apikey(&data, &["create", "--name", "ci"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("fdk_") && key.len() == 68, "{key}");
    // Only the hash is stored: the key text is nowhere in the database file.
    let db = std::fs::read(data.join("frontdesk.db")).unwrap();
    assert!(!db.windows(key.len()).any(|w| w == key.as_bytes()));
    let list = String::from_utf8(apikey(&data, &["list"]).stdout).unwrap();
    assert!(list.contains("\tci\tfdk_") && !list.contains(&key), "{list}");

    let data_arg = data.display().to_string();
    let mut gw = support::Gateway::start(&["--app", "echo", "--data", &data_arg]);
    assert!(request(gw.http, "/healthz", None).starts_with("HTTP/1.1 200"));
    let denied = request(gw.http, "/v1/flows", None);
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(denied.contains("\"code\":\"unauthorized\""), "{denied}");
    let ok = request(gw.http, "/v1/flows", Some(&key));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("{\"flows\":[]}"), "{ok}");
    assert!(request(gw.http, "/readyz", None).starts_with("HTTP/1.1 200"));
    assert!(request(gw.http, "/metrics", None).contains("frontdesk_http_requests_total"));

    let id = list.split('\t').next().unwrap().trim().to_string();
    assert!(apikey(&data, &["revoke", &id]).status.success());
    let revoked = request(gw.http, "/v1/flows", Some(&key));
    assert!(revoked.starts_with("HTTP/1.1 401"), "{revoked}");
    gw.terminate(std::time::Duration::from_secs(10));
}

#[test]
fn serve_refuses_to_start_with_a_bad_extra_ca_file() {
    let dir = support::scratch("serve-bad-ca");
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, "-----BEGIN CERTIFICATE-----garbage").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--sip", "off", "--http", "127.0.0.1:0", "--app", "echo", "--data"])
        .arg(dir.join("data"))
        .env("FRONTDESK_CA_FILE", &pem)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started with a broken CA file: {err}");
    assert!(
        err.contains("FRONTDESK_CA_FILE") && err.contains("ca.pem") && err.contains("not valid PEM"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
