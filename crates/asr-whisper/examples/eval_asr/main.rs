//! Word error rate, real-time factor and latency of the Whisper transcriber over a prompt corpus,
//! and the scorer for other systems' hypotheses on the same audio.
//!
//! ```text
//! zcat /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz |
//!   RAYON_NUM_THREADS=1 cargo run --release -p frontdesk-asr-whisper --example eval_asr -- \
//!   [--model tiny.en|base] [--margin-ms N] [--min-window-ms N] [--short-min-window-ms N]
//!   [--short-audio-ms N] [--prompts DIR] [--limit N] [--hyp FILE] \
//!   [--noisy] [--no-kv] [--encoder-only] [--seconds MIN-MAX]
//!   [--stream [--partial-ms N] [--partial-growth PCT] [--partial-margin-ms N]]
//!   [--write-audio DIR] [--cpu-time]
//! eval_asr --score FILE      # WER of a TSV of `name<TAB>reference<TAB>hypothesis` lines
//! ```
//!
//! Reads `name: text` lines (the Debian `asterisk-core-sounds-en` transcript list) on stdin,
//! skipping sound effects (`[...]` lines) and files that are missing (563 prompts remain, the
//! silence files among them: their reference is empty, so any text there counts as errors); transcribes `DIR/name.wav`
//! (8 kHz prompts are resampled to 16 kHz first, outside the timing) and prints the WER with
//! the normaliser of module `normalise` (both with compound words joined, the headline figure,
//! and strict), the real-time factor (decode time / audio time) and the decode time per prompt.
//!
//! - `--noisy`: the 8 kHz audio goes through a G.711 mu-law round trip and gets pink noise at
//!   20 dB SNR (noise power against the prompt's active speech power; fixed seed per prompt, so
//!   every run and every system hears the same samples).
//! - `--no-kv`: the uncached decoder (candle-transformers' own), to measure the cache.
//! - `--encoder-only`: no tokens are generated (encoder, cross-attention keys and the prompt
//!   pass only), to split the decode time.
//! - `--stream`: each prompt is played as a live utterance on a simulated clock: partial decodes
//!   of the growing audio, as `StreamSession` schedules them: the first after 500 ms, then when
//!   the new audio is at least `--partial-ms` (600) and `--partial-growth` (100) % of what the
//!   last partial covered, one at a time on one thread (a partial that is still running delays
//!   the next), with the encoder margin `--partial-margin-ms` (the model's default: 1000); at the end of the audio (end of speech)
//!   the final decode starts as soon as the thread is free, with the last partial's tokens as its
//!   draft. Latency = end of speech to final transcript; RTF = all decode time / audio time.
//! - `--seconds MIN-MAX`: only prompts of that duration.
//! - `--cpu-time`: time decodes by the process's CPU time instead of the wall clock (on a
//!   shared, overloaded machine this is what a dedicated core would take; the streaming
//!   simulation then runs on it too).
//! - `--write-audio DIR`: writes the exact 16 kHz samples decoded (`.f32`, little-endian) and
//!   `DIR/list.tsv` (`name<TAB>file<TAB>reference`) for the faster-whisper side.
//!
//! This is an evaluation, not a test: it reads the clock.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::unwrap_used)]

mod normalise;

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber, paths, to_16k};
use frontdesk_codec::g711::{ulaw_decode, ulaw_encode};
use frontdesk_engines::DecodeOptions;
use frontdesk_types::SampleRate;

/// CPU time of the whole process (all threads) in seconds, from `/proc/self/task/*/schedstat`
/// (nanoseconds on CPU): what the decodes would take on a dedicated core when the machine is
/// shared. `None` where procfs is missing.
fn cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// A stopwatch on the wall clock, or on the process CPU time with `--cpu-time`.
#[derive(Clone, Copy)]
struct Clock {
    cpu: bool,
}

impl Clock {
    fn now(self) -> (Instant, f64) {
        (Instant::now(), if self.cpu { cpu_seconds().unwrap_or(0.0) } else { 0.0 })
    }

    fn since(self, start: (Instant, f64)) -> f64 {
        if self.cpu { cpu_seconds().unwrap_or(0.0) - start.1 } else { start.0.elapsed().as_secs_f64() }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// WER of a TSV of `name, reference, hypothesis` (or `--hyp` files: hypothesis last, reference
/// before it).
fn score_file(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (mut e_c, mut e_s, mut words, mut n) = (0, 0, 0, 0);
    for line in std::fs::read_to_string(path)?.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 {
            continue;
        }
        let (r, h) = (f[f.len() - 2], f[f.len() - 1]);
        let (e, w) = normalise::score(r, h, true);
        e_c += e;
        e_s += normalise::score(r, h, false).0;
        words += w;
        n += 1;
    }
    let pct = |e: usize| 100.0 * e as f64 / words.max(1) as f64;
    println!("prompts {n}, reference words {words}");
    println!("WER {:.2} % ({e_c} errors); strict (compounds not joined) {:.2} % ({e_s})", pct(e_c), pct(e_s));
    Ok(())
}

/// xorshift64*: a small deterministic generator (no dependency).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Pink noise (Paul Kellett's filter over white noise), `n` samples, unit-free.
fn pink(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut b = [0f64; 7];
    (0..n)
        .map(|_| {
            let w = rng.uniform();
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.1538520;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
            b[6] = w * 0.115926;
            p
        })
        .collect()
}

/// G.711 mu-law round trip plus pink noise at `snr_db` against the active speech power (mean
/// power of the 20 ms frames within 40 dB of the loudest).
fn degrade(pcm8k: &[f32], snr_db: f64, seed: u64) -> Vec<f32> {
    let frame_power: Vec<f64> = pcm8k
        .chunks(160)
        .map(|c| c.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / c.len() as f64)
        .collect();
    let peak = frame_power.iter().copied().fold(0.0, f64::max);
    let active: Vec<f64> = frame_power.iter().copied().filter(|p| *p > peak * 1e-4).collect();
    let speech = active.iter().sum::<f64>() / active.len().max(1) as f64;
    let noise = pink(pcm8k.len(), seed);
    let np = noise.iter().map(|v| v * v).sum::<f64>() / noise.len().max(1) as f64;
    let gain = if np > 0.0 { (speech / np / 10f64.powf(snr_db / 10.0)).sqrt() } else { 0.0 };
    pcm8k
        .iter()
        .zip(&noise)
        .map(|(s, n)| {
            let x = (f64::from(*s) + gain * n).clamp(-1.0, 1.0);
            let q = ulaw_decode(ulaw_encode((x * 32767.0).round() as i16));
            f32::from(q) / 32768.0
        })
        .collect()
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Streaming simulation of one utterance: (latency after end of speech, total decode seconds,
/// final transcript, partials delivered before the final). Partials follow the rule of
/// `StreamSession`: the first once 500 ms are in, then when the new audio is at least
/// `partial_ms` and `growth_pct` % of what the last partial covered, and the thread is free
/// (checked every 20 ms frame).
fn stream(
    clock: Clock,
    m: &WhisperTranscriber,
    pcm: &[f32],
    partial_ms: usize,
    growth_pct: usize,
) -> Result<(f64, f64, String, usize), Box<dyn std::error::Error>> {
    let step = partial_ms * 16;
    let opts = DecodeOptions { hints: Vec::new(), partial: true };
    let audio_end = pcm.len() as f64 / 16_000.0;
    // The thread is busy until `free` (simulated seconds since the utterance started).
    let (mut free, mut busy, mut partials) = (0f64, 0f64, 0usize);
    let mut draft: Vec<u32> = Vec::new();
    let mut last = 0usize;
    let mut at = 320;
    while at < pcm.len() {
        let t = at as f64 / 16_000.0;
        let due = at >= 8000 && at - last >= step.max(last * growth_pct / 100);
        if due && free <= t {
            let start = clock.now();
            let d = m.decode_with_draft(&pcm[..at], &opts, &draft)?;
            let took = clock.since(start);
            busy += took;
            free = t + took;
            last = at;
            if free < audio_end {
                draft = d.token_ids;
                partials += 1;
            }
        }
        at += 320;
    }
    let start = clock.now();
    let d = m.decode_with_draft(pcm, &DecodeOptions::default(), &draft)?;
    let took = clock.since(start);
    busy += took;
    let latency = (free - audio_end).max(0.0) + took;
    Ok((latency, busy, d.transcript.text, partials))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut model = WhisperModel::TinyEn;
    let mut prompts = PathBuf::from("/usr/share/asterisk/sounds/en");
    let mut limit = usize::MAX;
    let mut margin: Option<u32> = None;
    let mut min_window: Option<u32> = None;
    let (mut short_window, mut short_audio): (Option<u32>, Option<u32>) = (None, None);
    let mut hyp_file: Option<PathBuf> = None;
    let mut audio_dir: Option<PathBuf> = None;
    let (mut noisy, mut kv, mut streaming, mut partial_ms) = (false, true, false, 600usize);
    let mut growth_pct = 100usize;
    let mut partial_margin: Option<u32> = None;
    let mut encoder_only = false;
    let mut clock = Clock { cpu: false };
    let mut seconds = (0f64, f64::INFINITY);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--model" => model = WhisperModel::parse(&val()?).ok_or("--model: tiny.en or base")?,
            "--prompts" => prompts = PathBuf::from(val()?),
            "--limit" => limit = val()?.parse()?,
            "--margin-ms" => margin = Some(val()?.parse()?),
            "--min-window-ms" => min_window = Some(val()?.parse()?),
            "--short-min-window-ms" => short_window = Some(val()?.parse()?),
            "--short-audio-ms" => short_audio = Some(val()?.parse()?),
            "--hyp" => hyp_file = Some(PathBuf::from(val()?)),
            "--write-audio" => audio_dir = Some(PathBuf::from(val()?)),
            "--noisy" => noisy = true,
            "--no-kv" => kv = false,
            "--encoder-only" => encoder_only = true,
            "--cpu-time" => clock.cpu = true,
            "--seconds" => {
                let v = val()?;
                let (a, b) = v.split_once('-').ok_or("--seconds MIN-MAX")?;
                seconds = (a.parse()?, b.parse()?);
            }
            "--stream" => streaming = true,
            "--partial-ms" => partial_ms = val()?.parse()?,
            "--partial-growth" => growth_pct = val()?.parse()?,
            "--partial-margin-ms" => partial_margin = Some(val()?.parse()?),
            "--score" | "--rescore" => return score_file(&PathBuf::from(val()?)),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let t0 = Instant::now();
    let mut m = WhisperTranscriber::load(model, &paths::models_dir())?;
    let mut o = m.options().clone();
    if let Some(ms) = min_window {
        o.min_window_ms = ms;
    }
    if let Some(ms) = short_window {
        o.short_min_window_ms = ms;
    }
    if let Some(ms) = short_audio {
        o.short_audio_ms = ms;
    }
    if let Some(ms) = margin {
        o.margin_ms = ms;
    }
    if let Some(ms) = partial_margin {
        o.partial_margin_ms = ms;
    }
    o.kv_cache = kv;
    if encoder_only {
        o.max_tokens_base = 0;
        o.max_tokens_per_second = 0.0;
    }
    m.set_options(o);
    eprintln!("loaded {} in {:.2} s, options {:?}", model.id(), t0.elapsed().as_secs_f64(), m.options());
    let mut hyp_out = hyp_file.map(std::fs::File::create).transpose()?;
    let mut list_out = match &audio_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            Some(std::fs::File::create(d.join("list.tsv"))?)
        }
        None => None,
    };
    let (mut errors, mut strict, mut ref_words, mut audio_s, mut decode_s) =
        (0usize, 0usize, 0usize, 0f64, 0f64);
    let mut times = Vec::new();
    let mut short_times = Vec::new();
    let (mut short_audio, mut short_busy, mut partials) = (0f64, 0f64, 0usize);
    let mut n = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let Some((name, text)) = line.split_once(':') else { continue };
        let (name, text) = (name.trim(), text.trim());
        if line.starts_with(';') || text.is_empty() || text.starts_with('[') {
            continue;
        }
        let path = prompts.join(format!("{name}.wav"));
        let Ok(mut r) = hound::WavReader::open(&path) else { continue };
        if n >= limit {
            break;
        }
        let dur = f64::from(r.duration()) / f64::from(r.spec().sample_rate);
        if dur < seconds.0 || dur > seconds.1 {
            continue;
        }
        n += 1;
        let rate = SampleRate::from_hz(r.spec().sample_rate)?;
        let mut pcm: Vec<f32> = r.samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect();
        if noisy {
            pcm = degrade(&pcm, 20.0, seed_of(name));
        }
        let pcm = to_16k(&pcm, rate)?;
        if let (Some(d), Some(f)) = (&audio_dir, &mut list_out) {
            let file = format!("{}.f32", name.replace('/', "__"));
            let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
            std::fs::write(d.join(&file), bytes)?;
            writeln!(f, "{name}\t{file}\t{text}")?;
        }
        let secs = pcm.len() as f64 / 16_000.0;
        let (took, busy, hyp, stop) = if streaming {
            let (latency, busy, hyp, p) = stream(clock, &m, &pcm, partial_ms, growth_pct)?;
            partials += p;
            (latency, busy, hyp, String::from("-"))
        } else {
            let start = clock.now();
            let d = m.decode(&pcm, &DecodeOptions::default())?;
            let took = clock.since(start);
            (took, took, d.transcript.text, format!("{:?}", d.stop))
        };
        let (e, w) = normalise::score(text, &hyp, true);
        errors += e;
        strict += normalise::score(text, &hyp, false).0;
        ref_words += w;
        audio_s += secs;
        decode_s += busy;
        times.push(took);
        if (2.0..=3.0).contains(&secs) {
            short_times.push(took);
            short_audio += secs;
            short_busy += busy;
        }
        if let Some(f) = &mut hyp_out {
            writeln!(f, "{name}\t{e}\t{secs:.2}\t{took:.3}\t{stop}\t{text}\t{hyp}")?;
        }
    }
    times.sort_by(f64::total_cmp);
    short_times.sort_by(f64::total_cmp);
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    let pct = |e: usize| 100.0 * e as f64 / ref_words.max(1) as f64;
    println!(
        "model {} margin {} ms (input >= {} ms, >= {} ms under {} ms), threads {threads}, kv cache {kv}, {}{}, {} time",
        model.id(),
        m.options().margin_ms,
        m.options().min_window_ms,
        m.options().short_min_window_ms,
        m.options().short_audio_ms,
        if noisy { "G.711 + pink noise 20 dB" } else { "clean" },
        if streaming {
            format!(
                ", streaming (partials after >= {partial_ms} ms and >= {growth_pct} % new audio, margin {} ms)",
                m.options().partial_margin_ms
            )
        } else {
            String::new()
        },
        if clock.cpu { "process CPU" } else { "wall" }
    );
    println!("prompts {n}, audio {audio_s:.1} s, reference words {ref_words}");
    println!(
        "WER {:.2} % ({errors} errors); strict (compounds not joined) {:.2} % ({strict})",
        pct(errors),
        pct(strict)
    );
    println!("RTF {:.3} (decode {decode_s:.1} s)", decode_s / audio_s.max(1e-9));
    let what = if streaming { "end of speech -> final" } else { "decode time per prompt" };
    println!(
        "{what}: all prompts median {:.3} s, p90 {:.3} s; prompts of 2-3 s ({}): p50 {:.3} s, p95 {:.3} s, RTF {:.3}",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        short_times.len(),
        percentile(&short_times, 0.5),
        percentile(&short_times, 0.95),
        short_busy / short_audio.max(1e-9),
    );
    if streaming {
        println!(
            "partials delivered before the final: {partials} ({:.1} per prompt)",
            partials as f64 / n.max(1) as f64
        );
    }
    Ok(())
}
