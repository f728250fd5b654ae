//! Helpers for the end-to-end tests: run the real `frontdesk` binary, find the test peers that
//! `scripts/install-test-deps.sh` installs, and compare audio.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test
#![allow(unreachable_pub)] // `pub` so every test binary can use them

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod voice;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A program from the test virtual environment, failing with the fix when it is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let p = repo().join(".venv-test/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/install-test-deps.sh", p.display());
    p
}

/// A `frontdesk serve` process; SIGTERM and reaped on drop.
pub struct Gateway {
    pub child: Child,
    pub http: u16,
    pub log: Arc<Mutex<String>>,
    /// The data directory of its own when the test gave no `--data` (removed on drop).
    _data: Option<tempfile::TempDir>,
}

impl Gateway {
    /// Starts `frontdesk serve --http 127.0.0.1:PORT ARGS...` and waits until /healthz answers.
    pub fn start(args: &[&str]) -> Gateway {
        let http = free_port();
        // SIP listens on 0.0.0.0:5060 by default: off unless the test asks for it, so tests
        // run side by side.
        let sip_off: &[&str] = if args.contains(&"--sip") { &[] } else { &["--sip", "off"] };
        // A data directory of its own unless the test shares one on purpose: tests run side by
        // side and must not see each other's calls (nor leave a database in the repository).
        let data = (!args.contains(&"--data")).then(|| tempfile::tempdir().unwrap());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        cmd.args(["serve", "--http", &format!("127.0.0.1:{http}")]).args(sip_off);
        if let Some(d) = &data {
            cmd.arg("--data").arg(d.path());
        }
        let mut child = cmd
            .args(args)
            .env("FRONTDESK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start frontdesk");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let gw = Gateway { child, http, log, _data: data };
        for _ in 0..200 {
            if gw.get("/healthz").is_some_and(|r| r.contains("200 OK")) {
                return gw;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("gateway did not come up; log:\n{}", gw.log());
    }

    /// A raw HTTP/1.1 GET; the whole response text.
    pub fn get(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.http)).ok()?;
        write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status (None if it did not exit in `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let step = Duration::from_millis(20);
        let mut waited = Duration::ZERO;
        while waited < within {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(step);
            waited += step;
        }
        None
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mono 16-bit samples and rate of a WAV file.
pub fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = usize::from(spec.channels);
    let all: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    (spec.sample_rate, all.chunks(ch).map(|c| c[0]).collect())
}

/// 10 ms log-energy envelope.
fn envelope(rate: u32, pcm: &[i16]) -> Vec<f64> {
    let n = (rate / 100) as usize;
    pcm.chunks_exact(n)
        .map(|c| (1e-3 + c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / n as f64).log10())
        .collect()
}

/// Is `reference` audible in `recording`? Pearson correlation of 10 ms log-energy envelopes at
/// the best lag (robust to G.711, gain and delay). Returns (lag in ms, r).
pub fn envelope_xcorr(rate: u32, reference: &[i16], recording: &[i16]) -> (i64, f64) {
    let (a, b) = (envelope(rate, reference), envelope(rate, recording));
    let r_at = |lag: i64| -> f64 {
        let pairs: Vec<(f64, f64)> = (0..a.len() as i64)
            .filter_map(|k| usize::try_from(k + lag).ok().and_then(|j| b.get(j)).map(|&y| (a[k as usize], y)))
            .collect();
        let m = pairs.len() as f64;
        if pairs.len() < 100 {
            return -1.0;
        }
        let (mx, my) =
            (pairs.iter().map(|p| p.0).sum::<f64>() / m, pairs.iter().map(|p| p.1).sum::<f64>() / m);
        let sxy: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        let syy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
        if sxx > 0.0 && syy > 0.0 { sxy / (sxx * syy).sqrt() } else { -1.0 }
    };
    let (lo, hi) = (-(a.len() as i64) + 100, b.len() as i64 - 100);
    (lo..=hi).map(|lag| (lag * 10, r_at(lag))).fold((0, -1.0), |best, x| if x.1 > best.1 { x } else { best })
}

/// A real human telephone prompt (8 kHz) from Debian's asterisk-core-sounds-en-wav.
pub fn human_prompt(name: &str) -> PathBuf {
    let p = PathBuf::from("/usr/share/asterisk/sounds/en").join(format!("{name}.wav"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/install-test-deps.sh (asterisk-core-sounds-en-wav)",
        p.display()
    );
    p
}

// ---- SIP peers (tests/sip_*.rs) ----

/// A program from `PATH`, failing with the fix when it is missing.
pub fn require(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{program} is missing (Debian package {package}): run scripts/install-test-deps.sh")
    })
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("frontdesk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both).
pub fn free_udp_tcp_port() -> u16 {
    for _ in 0..50 {
        let p = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no free UDP+TCP port");
}

/// Two consecutive free UDP ports (even first): an RTP/RTCP pair for a peer.
pub fn free_rtp_pair() -> u16 {
    for _ in 0..100 {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = s.local_addr().unwrap().port() & !1;
        drop(s);
        if p > 1024
            && std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok()
        {
            return p;
        }
    }
    panic!("no free RTP port pair");
}

/// Polls `cond` every 20 ms until it holds or `within` passes; returns whether it held.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        if cond() {
            return true;
        }
        if waited >= within {
            return false;
        }
        std::thread::sleep(step);
        waited += step;
    }
}

/// A gateway with SIP on 127.0.0.1 (UDP+TCP) and RTP ports of its own.
pub struct SipGateway {
    pub gw: Gateway,
    pub sip: u16,
}

impl SipGateway {
    /// `frontdesk serve --sip 127.0.0.1:PORT --rtp-ports ... ARGS...`.
    pub fn start(args: &[&str]) -> SipGateway {
        let sip = free_udp_tcp_port();
        let listen = format!("127.0.0.1:{sip}");
        // A range per gateway keeps parallel tests apart (taken ports are skipped anyway).
        let base = 40_000 + (sip % 100) * 200;
        let range = format!("{base}-{}", base + 199);
        let mut all = vec!["--sip", listen.as_str(), "--rtp-ports", range.as_str()];
        all.extend_from_slice(args);
        SipGateway { gw: Gateway::start(&all), sip }
    }

    pub fn log(&self) -> String {
        self.gw.log()
    }

    /// How often `needle` occurs in the log.
    pub fn count(&self, needle: &str) -> usize {
        self.gw.log().matches(needle).count()
    }
}

/// Raw mu-law (what SIPp's `rtp_stream` sends byte for byte) of a WAV, converted by sox,
/// optionally padded with `pad_s` seconds of silence at both ends.
pub fn ulaw_from_wav(wav: &Path, out: &Path, pad_s: f32) {
    let st = Command::new(require("sox", "sox"))
        .arg(wav)
        .args(["-r", "8000", "-c", "1", "-t", "ul"])
        .arg(out)
        .args(["pad", &pad_s.to_string(), &pad_s.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "sox failed converting {}", wav.display());
}

/// In-band DTMF with sox: per digit 100 ms of the two tones at -9 dBFS each, 100 ms gap.
pub fn dtmf_wav(digits: &str, out: &Path) {
    let mut parts = Vec::new();
    for (i, c) in digits.chars().enumerate() {
        let (lo, hi) = match c {
            '1' => (697, 1209),
            '2' => (697, 1336),
            '3' => (697, 1477),
            '4' => (770, 1209),
            '5' => (770, 1336),
            '6' => (770, 1477),
            '7' => (852, 1209),
            '8' => (852, 1336),
            '9' => (852, 1477),
            '*' => (941, 1209),
            '0' => (941, 1336),
            '#' => (941, 1477),
            _ => panic!("no tone for {c:?}"),
        };
        let part = out.with_extension(format!("{i}.wav"));
        let st = Command::new(require("sox", "sox"))
            .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
            .arg(&part)
            .args(["synth", "0.1", "sine", &lo.to_string(), "sine", &hi.to_string()])
            .args(["remix", "1,2", "gain", "-n", "-3", "pad", "0", "0.1"])
            .status()
            .unwrap();
        assert!(st.success());
        parts.push(part);
    }
    let st = Command::new(require("sox", "sox")).args(&parts).arg(out).status().unwrap();
    assert!(st.success());
}

/// A SIPp scenario from tests/data/sipp (one copy, shared with benches/sip_load.sh).
pub fn sipp_scenario(name: &str) -> String {
    std::fs::read_to_string(data(&format!("sipp/{name}"))).unwrap()
}

/// The SIPp UAC scenario (tests/data/sipp/uac.xml): INVITE offering `formats` (`m=` payload
/// types with their `a=` lines in `attrs`), ACK, then `media` (SIPp `<nop>`/`<pause>` XML:
/// rtp_stream, play_pcap_audio...), then BYE. `[routes]` keeps Record-Route, so it works
/// through a proxy.
pub fn sipp_uac_scenario(formats: &str, attrs: &str, media: &str) -> String {
    sipp_scenario("uac.xml").replace("@FORMATS@", formats).replace("@ATTRS@", attrs).replace("@MEDIA@", media)
}

/// PCMU with RFC 4733 telephone-event (PT 101), as SIPp's DTMF pcaps need.
pub const PCMU_AND_EVENTS: (&str, &str) =
    ("0 101", "a=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n");

/// Runs SIPp in `dir` against `target` with `scenario` (always `-i/-mi 127.0.0.1`); `extra` adds
/// options (`-m`, `-t t1`, ...). Returns (exit success, stdout+stderr and the error trace).
pub fn sipp(dir: &Path, target: &str, scenario: &str, extra: &[&str]) -> (bool, String) {
    let sf = dir.join("scenario.xml");
    std::fs::write(&sf, scenario).unwrap();
    let (sip_port, media_port) = (free_udp_tcp_port(), free_rtp_pair());
    let out = Command::new(require("sipp", "sip-tester"))
        .current_dir(dir)
        .arg(target)
        .arg("-sf")
        .arg(&sf)
        .args(["-s", "agent", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
        .args(["-nostdin", "-timeout", "30", "-timeout_error", "-trace_err"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with("_errors.log") {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    (out.status.success(), text)
}

/// Absolute path of a file under tests/data.
pub fn data(rel: &str) -> PathBuf {
    let p = repo().join("tests/data").join(rel);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

/// Runs a child to completion, killing it after `within`; returns its exit status if it ended.
pub fn run_bounded(mut cmd: Command, within: Duration) -> Option<std::process::ExitStatus> {
    let mut child = cmd.stdin(Stdio::null()).spawn().unwrap();
    let mut status = None;
    wait_until(within, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// One call from baresip (Debian `baresip-core`) to `uri`: plays `caller` (any WAV; converted
/// to 8 kHz and padded with silence to `talk_s` seconds, since baresip's `aufile` hangs up at
/// the end of the file) and records what the far end sent. Returns the recording (8 kHz WAV).
pub fn baresip_call(dir: &Path, uri: &str, caller: &Path, talk_s: u32) -> PathBuf {
    let baresip = require("baresip", "baresip-core");
    let wav = dir.join("caller8k.wav");
    let st = Command::new(require("sox", "sox"))
        .arg(caller)
        .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
        .arg(&wav)
        .args(["pad", "0", &talk_s.to_string(), "trim", "0", &talk_s.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let (sip, rtp) = (free_udp_tcp_port(), free_rtp_pair());
    // Gotchas: net_interface is the address, not the device; no stdio module without a terminal.
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{sip}\nnet_interface 127.0.0.1\n\
         audio_player aufile,{play}\naudio_source aufile,{src}\naudio_alert aufile,{play}\n\
         ausrc_srate 8000\nauplay_srate 8000\nausrc_channels 1\nauplay_channels 1\n\
         rtp_ports {rtp}-{rtp_hi}\nrtp_stats yes\nmodule_path /usr/lib/baresip/modules\n\
         module g711.so\nmodule aufile.so\nmodule sndfile.so\nmodule_tmp uuid.so\n\
         module_tmp account.so\nmodule_app contact.so\nmodule_app menu.so\nsnd_path {rec}\n",
        play = dir.join("played.wav").display(),
        src = wav.display(),
        rtp_hi = rtp + 1,
        rec = rec.display(),
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(
        dir.join("accounts"),
        format!("<sip:caller@127.0.0.1:{sip}>;regint=0;audio_codecs=PCMU,PCMA\n"),
    )
    .unwrap();
    std::fs::write(dir.join("contacts"), "").unwrap();
    let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
    let mut cmd = Command::new(baresip);
    cmd.arg("-f").arg(dir).args(["-e", &format!("/dial {uri}"), "-t", &(talk_s + 5).to_string()]);
    cmd.stdout(log.try_clone().unwrap()).stderr(log);
    run_bounded(cmd, Duration::from_secs(u64::from(talk_s) + 20));
    let blog = std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default();
    let found = std::fs::read_dir(&rec)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"));
    found.unwrap_or_else(|| panic!("baresip recorded nothing; its log:\n{blog}"))
}

/// (status, body) of one request with the API key.
pub fn request(port: u16, method: &str, path: &str, key: &str, ctype: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// (status, JSON body) of one request with the API key; a body that is not JSON comes back as a string.
pub fn json(port: u16, method: &str, path: &str, key: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = request(port, method, path, key, "application/json", body);
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// SIPp as the callee on its own port, giving up after `timeout_s`; returns (process, port).
pub fn sipp_uas(dir: &std::path::Path, scenario: &str, timeout_s: u32) -> (Child, u16) {
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
            &timeout_s.to_string(),
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
pub fn finish(mut child: Child, dir: &std::path::Path) -> (bool, String) {
    let mut status = None;
    wait_until(Duration::from_secs(90), || {
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
