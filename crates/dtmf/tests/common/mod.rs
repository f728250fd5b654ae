//! Helpers shared by the DTMF integration tests: sox-generated tones, WAV reading, G.711 round
//! trips and the Asterisk prompt list.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use frontdesk_codec::g711::Law;
use frontdesk_dtmf::{DtmfDetector, DtmfEvent, Thresholds};
use frontdesk_types::{Digit, Instant};

pub const INSTALL_HINT: &str = "run scripts/install-test-deps.sh";

/// Reads a 16-bit mono 8 kHz WAV.
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 8000, 16), "{}", path.display());
    r.samples::<i16>().collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Runs sox with `args` (output file inserted where `{out}` stands) and returns the samples.
pub fn sox(args: &[&str]) -> Vec<i16> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dtmf-{}-{n}.wav", std::process::id()));
    let out_s = out.to_string_lossy().into_owned();
    let args: Vec<&str> = args.iter().map(|a| if *a == "{out}" { out_s.as_str() } else { a }).collect();
    let status = Command::new("sox").args(&args).status().unwrap_or_else(|e| {
        panic!("cannot run sox ({e}): install the Debian package `sox` ({INSTALL_HINT})")
    });
    assert!(status.success(), "sox {args:?} failed: {status}");
    let samples = read_wav(&out);
    let _ = std::fs::remove_file(&out);
    samples
}

/// One digit as the brief's sox command makes it: `tone_ms` of the pair normalised to
/// `peak_db` dBFS peak (-3 gives -9 dBFS per tone), then `gap_ms` of silence.
pub fn sox_digit(d: Digit, tone_ms: u32, gap_ms: u32, peak_db: f32) -> Vec<i16> {
    let (lo, hi) = d.frequencies();
    let (tone, gap) = (format!("{}", f64::from(tone_ms) / 1000.0), format!("{}", f64::from(gap_ms) / 1000.0));
    let (lo, hi, peak) = (lo.to_string(), hi.to_string(), peak_db.to_string());
    sox(&[
        "-n", "-r", "8000", "-c", "1", "-b", "16", "{out}", "synth", &tone, "sine", &lo, "sine", &hi,
        "remix", "1,2", "gain", "-n", &peak, "pad", "0", &gap,
    ])
}

/// `keys` concatenated, each made by [`sox_digit`].
pub fn sox_sequence(keys: &str, tone_ms: u32, gap_ms: u32, peak_db: f32) -> Vec<i16> {
    keys.chars()
        .flat_map(|c| sox_digit(Digit::from_char(c).expect("test keys are valid"), tone_ms, gap_ms, peak_db))
        .collect()
}

/// Encodes and decodes with `law`.
pub fn g711(law: Law, pcm: &[i16]) -> Vec<i16> {
    let mut bytes = Vec::new();
    law.encode_into(pcm, &mut bytes);
    let mut out = Vec::new();
    law.decode_into(&bytes, &mut out);
    out
}

/// Runs a detector over `pcm` in 20 ms frames; returns the keys of the `Started` events and
/// the `Ended` events.
pub fn detect_with(t: Thresholds, pcm: &[i16]) -> (String, Vec<DtmfEvent>) {
    let mut det = DtmfDetector::with_thresholds(t).expect("valid thresholds");
    let mut keys = String::new();
    let mut ended = Vec::new();
    let mut drain = |det: &mut DtmfDetector| {
        while let Some(e) = det.poll_event() {
            match e {
                DtmfEvent::Started { digit, .. } => keys.push(digit.as_char()),
                DtmfEvent::Ended { .. } => ended.push(e),
            }
        }
    };
    for (i, frame) in pcm.chunks(160).enumerate() {
        det.push(Instant::from_millis(i as u64 * 20), frame);
        drain(&mut det);
    }
    det.finish();
    drain(&mut det);
    (keys, ended)
}

pub fn detect(pcm: &[i16]) -> String {
    detect_with(Thresholds::default(), pcm).0
}

/// `a + gain * b` (b repeated or cut to a's length), saturating.
pub fn mix(a: &[i16], b: &[i16], gain: f32) -> Vec<i16> {
    a.iter()
        .zip(b.iter().cycle())
        .map(|(&x, &y)| (f32::from(x) + gain * f32::from(y)).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Mean-square power of the non-silent part (|x| > 100) of `pcm`, relative to full scale.
pub fn active_power(pcm: &[i16]) -> f32 {
    let active: Vec<f32> =
        pcm.iter().filter(|s| s.unsigned_abs() > 100).map(|&s| f32::from(s) / 32768.0).collect();
    active.iter().map(|x| x * x).sum::<f32>() / active.len().max(1) as f32
}

pub const SOUNDS_DIR: &str = "/usr/share/asterisk/sounds/en";
pub const SOUNDS_LIST: &str = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";

/// The human speech prompts of `asterisk-core-sounds-en-wav` (transcripts from
/// `asterisk-core-sounds-en`): transcript lines `name: text`,
/// without comments, tone entries (`[...]`) and entries without a WAV.
pub fn asterisk_prompts() -> Vec<PathBuf> {
    use std::io::Read;
    let list_hint = format!("install the Debian package `asterisk-core-sounds-en` ({INSTALL_HINT})");
    let hint = format!("install the Debian package `asterisk-core-sounds-en-wav` ({INSTALL_HINT})");
    let gz = std::fs::File::open(SOUNDS_LIST).unwrap_or_else(|e| panic!("{SOUNDS_LIST}: {e}: {list_hint}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{SOUNDS_LIST}: {e}"));
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with(';') {
            continue;
        }
        let Some((name, transcript)) = line.split_once(':') else { continue };
        let transcript = transcript.trim();
        if transcript.starts_with('[') && transcript.ends_with(']') {
            continue;
        }
        let wav = Path::new(SOUNDS_DIR).join(format!("{}.wav", name.trim()));
        if wav.exists() {
            out.push(wav);
        }
    }
    assert!(!out.is_empty(), "no prompt WAVs under {SOUNDS_DIR}: {hint}");
    out
}

/// A speech prompt used as interference.
pub fn speech() -> Vec<i16> {
    let p = Path::new(SOUNDS_DIR).join("basic-pbx-ivr-main.wav");
    assert!(
        p.exists(),
        "{} missing: install the Debian package `asterisk-core-sounds-en-wav` ({INSTALL_HINT})",
        p.display()
    );
    read_wav(&p)
}
