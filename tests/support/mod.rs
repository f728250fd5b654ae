//! Helpers for the end-to-end tests: run the real `frontdesk` binary, find the test peers that
//! `scripts/install-test-deps.sh` installs, and compare audio.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
}

impl Gateway {
    /// Starts `frontdesk serve --http 127.0.0.1:PORT ARGS...` and waits until /healthz answers.
    pub fn start(args: &[&str]) -> Gateway {
        let http = free_port();
        // SIP listens on 0.0.0.0:5060 by default: off unless the test asks for it, so tests
        // run side by side.
        let sip_off: &[&str] = if args.contains(&"--sip") { &[] } else { &["--sip", "off"] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(["serve", "--http", &format!("127.0.0.1:{http}")])
            .args(sip_off)
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
        let gw = Gateway { child, http, log };
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
