//! Helpers for the voice-agent end-to-end tests (tests/voice_e2e.rs): `frontdesk serve` running
//! the clinic flow, caller audio laid out on a timeline (human Asterisk prompts and speech
//! synthesised at test time), our own ASR (`frontdesk asr`) on cuts of what the caller heard, and
//! the speech/silence envelope of a recording.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Gateway, free_port, free_udp_tcp_port, human_prompt, read_wav, repo, require};

/// Every file here is 8 kHz mono 16-bit.
pub const RATE: u32 = 8000;

/// The models directory the tests use.
pub fn models() -> PathBuf {
    repo().join("models")
}

/// `frontdesk serve` running the voice agent (the clinic flow unless `args` says otherwise), with
/// its SQLite store in `data`, and SIP on 127.0.0.1 when `sip` is set. Loading the models and
/// synthesising the flow's fixed prompts comes before the listeners, so this waits longer than
/// [`Gateway::start`]. Returns the gateway and its SIP port (0 without SIP).
pub fn start_agent(data: &Path, sip: bool, args: &[&str]) -> (Gateway, u16) {
    let http = free_port();
    let sip_port = if sip { free_udp_tcp_port() } else { 0 };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    cmd.current_dir(repo()).args(["serve", "--http", &format!("127.0.0.1:{http}")]);
    cmd.arg("--models").arg(models()).arg("--data").arg(data);
    // One prompt cache for every gateway of the test run (each has its own data directory): the
    // clinic flow's prompts are synthesised once, not once per test.
    cmd.arg("--prompt-cache").arg(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-cache"));
    if sip {
        let base = 40_000 + (sip_port % 100) * 200;
        cmd.args(["--sip", &format!("127.0.0.1:{sip_port}")]);
        cmd.args(["--rtp-ports", &format!("{base}-{}", base + 199)]);
    } else {
        cmd.args(["--sip", "off"]);
    }
    let mut child = cmd
        .args(args)
        .env("FRONTDESK_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start frontdesk serve");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let mut gw = Gateway { child, http, log, _data: None };
    let up = super::wait_until(Duration::from_secs(420), || {
        gw.get("/healthz").is_some_and(|r| r.contains("200 OK"))
            || gw.child.try_wait().ok().flatten().is_some()
    });
    assert!(
        up && gw.get("/healthz").is_some_and(|r| r.contains("200 OK")),
        "the voice agent did not come up (models fetched? `frontdesk models fetch`); log:\n{}",
        gw.log()
    );
    (gw, sip_port)
}

/// What the agent heard (with the ASR's confidence) and said on every call in the store under
/// `data`, from the API's call timelines (the gateway's log redacts caller words): for failure messages.
pub fn heard(gw: &Gateway, data: &Path) -> String {
    let key = create_api_key(data);
    let body = |path: &str| super::json(gw.http, "GET", path, &key, "").1;
    let calls = body("/v1/calls");
    let ids: Vec<String> = calls["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    if ids.is_empty() {
        return format!("no calls listed: {calls}");
    }
    let mut out = String::new();
    for id in ids {
        let call = body(&format!("/v1/calls/{id}"));
        out.push_str(&format!("call {id} ({}):\n", call["disposition"]));
        for t in call["timeline"].as_array().into_iter().flatten() {
            let conf = t["confidence"].as_f64().map(|c| format!(" ({c:.2})")).unwrap_or_default();
            out.push_str(&format!("  {}{conf}: {}\n", t["kind"].as_str().unwrap_or("?"), t["text"]));
        }
    }
    out
}

/// A new API key in the store under `data` (`frontdesk apikey create`), as printed once.
pub fn create_api_key(data: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["apikey", "create", "--name", "voice-e2e", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "apikey create: {}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!key.is_empty() && !key.contains(char::is_whitespace), "odd key {key:?}");
    key
}

/// A piece of caller audio.
pub enum Clip<'a> {
    /// Human prompts from asterisk-core-sounds-en-wav, said one after the other (`"hours"`,
    /// `"digits/tomorrow"`).
    Human(&'a [&'a str]),
    /// Text spoken by espeak-ng (a synthesiser the agent does not use).
    Espeak(&'a str),
    /// Text spoken by Piper (`frontdesk tts`), where Whisper tiny.en mishears espeak-ng at 8 kHz
    /// ("book" as "work").
    Piper(&'a str),
}

/// The clip as 8 kHz samples; synthesised clips are written to `dir` on the way.
pub fn clip_pcm(dir: &Path, clip: &Clip<'_>) -> Vec<i16> {
    let sources: Vec<PathBuf> = match clip {
        Clip::Human(names) => names.iter().map(|n| human_prompt(n)).collect(),
        Clip::Espeak(text) => {
            let raw = dir.join(format!("espeak-{}.wav", slug(text)));
            let st = Command::new(require("espeak-ng", "espeak-ng"))
                .args(["-v", "en-us", "-s", "150", "-w"])
                .arg(&raw)
                .arg(text)
                .status()
                .unwrap();
            assert!(st.success(), "espeak-ng failed on {text:?}");
            vec![raw]
        }
        Clip::Piper(text) => {
            let raw = dir.join(format!("piper-{}.wav", slug(text)));
            let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
                .args(["tts", text, "--rate", "8000", "--models"])
                .arg(models())
                .arg("-o")
                .arg(&raw)
                .output()
                .unwrap();
            assert!(out.status.success(), "frontdesk tts: {}", String::from_utf8_lossy(&out.stderr));
            vec![raw]
        }
    };
    let mut pcm = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let out = dir.join(format!("clip-{}-{i}.wav", slug(&src.display().to_string())));
        // Silence trimmed at both ends: prompts said one after the other sound like one phrase
        // (a 120 ms gap between words), not like words with pauses a turn could end in.
        let st = Command::new(require("sox", "sox"))
            .arg(src)
            .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
            .arg(&out)
            .args(["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"])
            .status()
            .unwrap();
        assert!(st.success(), "sox failed converting {}", src.display());
        if i > 0 {
            pcm.extend(std::iter::repeat_n(0i16, secs(0.12)));
        }
        pcm.extend(read_wav(&out).1);
    }
    pcm
}

fn slug(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    s.chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect()
}

/// Clips placed at start times (seconds) on a silent timeline of `total_s` seconds.
pub fn timeline(parts: &[(f64, &[i16])], total_s: f64) -> Vec<i16> {
    let mut out = vec![0i16; secs(total_s)];
    for &(at, pcm) in parts {
        let start = secs(at);
        assert!(start + pcm.len() <= out.len(), "a clip at {at} s runs past the end of the call");
        out[start..start + pcm.len()].copy_from_slice(pcm);
    }
    out
}

/// Samples in `s` seconds.
pub fn secs(s: f64) -> usize {
    (s * f64::from(RATE)).round() as usize
}

/// Duration of `pcm` in seconds.
pub fn dur(pcm: &[i16]) -> f64 {
    pcm.len() as f64 / f64::from(RATE)
}

/// Writes 8 kHz mono 16-bit samples.
pub fn write_wav(path: &Path, pcm: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in pcm {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Samples between two times (seconds), clamped to the recording.
pub fn cut(pcm: &[i16], from_s: f64, to_s: f64) -> &[i16] {
    let (a, b) = (secs(from_s).min(pcm.len()), secs(to_s).min(pcm.len()));
    &pcm[a..b.max(a)]
}

/// Transcribes WAV files with our ASR (`frontdesk asr`, Whisper tiny.en, one model load).
pub fn transcribe(files: &[&Path]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .arg("asr")
        .arg("--models-dir")
        .arg(models())
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "frontdesk asr failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if files.len() == 1 {
        return vec![text.trim().to_owned()];
    }
    files
        .iter()
        .map(|f| {
            let prefix = format!("{}\t", f.display());
            let line = text.lines().find(|l| l.starts_with(&prefix));
            line.unwrap_or_else(|| panic!("no transcript for {} in:\n{text}", f.display()))[prefix.len()..]
                .trim()
                .to_owned()
        })
        .collect()
}

/// Lower-case words of a transcript, punctuation dropped ("8 AM." -> ["8", "am"]).
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The expected words (each the start of a transcript word: "sunday" finds "sundays") that the
/// transcript lacks.
pub fn missing<'a>(text: &str, expected: &[&'a str]) -> Vec<&'a str> {
    let w = words(text);
    expected.iter().copied().filter(|e| !w.iter().any(|x| x.starts_with(e))).collect()
}

/// Whether each 10 ms frame holds sound (RMS above about -40 dBFS; G.711 silence is far below).
pub fn activity(pcm: &[i16]) -> Vec<bool> {
    pcm.chunks_exact((RATE / 100) as usize)
        .map(|c| {
            let e = c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / c.len() as f64;
            e.sqrt() > 300.0
        })
        .collect()
}

/// Start of the first sound in `pcm` (seconds).
pub fn first_sound(pcm: &[i16]) -> Option<f64> {
    activity(pcm).iter().position(|&a| a).map(|i| i as f64 / 100.0)
}

/// Share of 10 ms frames with sound between two times (seconds).
pub fn sound_share(act: &[bool], from_s: f64, to_s: f64) -> f64 {
    let (a, b) = ((from_s * 100.0) as usize, ((to_s * 100.0) as usize).min(act.len()));
    if b <= a {
        return 0.0;
    }
    act[a..b].iter().filter(|&&x| x).count() as f64 / (b - a) as f64
}

/// The first time at or after `from_s` from which there is no sound for at least `quiet_s`
/// (seconds), if any.
pub fn silence_from(act: &[bool], from_s: f64, quiet_s: f64) -> Option<f64> {
    let need = (quiet_s * 100.0).round() as usize;
    let mut run = 0;
    for (i, &a) in act.iter().enumerate().skip((from_s * 100.0) as usize) {
        run = if a { 0 } else { run + 1 };
        if run >= need {
            return Some((i + 1 - need) as f64 / 100.0);
        }
    }
    None
}

/// The last `field=VALUE` number on log lines containing `needle`.
pub fn log_field(log: &str, needle: &str, field: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains(needle))?;
    let at = line.find(&format!("{field}="))?;
    line[at + field.len() + 1..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}
