//! Word error rate, real-time factor and latency of the Whisper transcriber over a prompt corpus.
//!
//! ```text
//! zcat /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz |
//!   RAYON_NUM_THREADS=1 cargo run --release -p frontdesk-asr-whisper --example eval_asr -- \
//!   [--model tiny.en|base] [--margin-ms N] [--prompts DIR] [--limit N] [--hyp FILE]
//! eval_asr --rescore FILE     # WER of a --hyp file again (after a normalisation change)
//! ```
//!
//! Reads `name: text` lines (the Debian `asterisk-core-sounds-en` transcript list) on stdin,
//! transcribes `DIR/name.wav` (8 kHz prompts are resampled to 16 kHz first, outside the timing)
//! and prints WER (normalised: lower case, no punctuation, bracketed notes dropped, numbers and
//! `* # @ % &` spelled out;
//! notes in brackets or parentheses dropped), the real-time factor (decode time / audio time), and the median and
//! 90th-percentile decode time per prompt: since the final decode starts when speech ends, that
//! is the latency after end of speech. This is an evaluation, not a test: it reads the clock.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use frontdesk_asr_whisper::{WhisperModel, WhisperTranscriber, paths, to_16k};
use frontdesk_engines::DecodeOptions;
use frontdesk_types::SampleRate;

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] =
    ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

fn number_words(n: u64, out: &mut Vec<String>) {
    match n {
        0..=19 => out.push(ONES[n as usize].into()),
        20..=99 => {
            out.push(TENS[(n / 10) as usize].into());
            if !n.is_multiple_of(10) {
                out.push(ONES[(n % 10) as usize].into());
            }
        }
        100..=999 => {
            number_words(n / 100, out);
            out.push("hundred".into());
            if !n.is_multiple_of(100) {
                number_words(n % 100, out);
            }
        }
        _ => {
            for (unit, name) in [(1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")] {
                if n >= unit {
                    number_words(n / unit, out);
                    out.push(name.into());
                    if !n.is_multiple_of(unit) {
                        number_words(n % unit, out);
                    }
                    return;
                }
            }
        }
    }
}

fn ordinal(word: &str) -> String {
    match word {
        "one" => "first".into(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    }
}

/// Lower case, notes in brackets or parentheses dropped, symbols and numbers spelled out, punctuation removed.
fn normalise(text: &str) -> Vec<String> {
    let mut s = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            _ if depth > 0 => {}
            '*' => s.push_str(" star "),
            '#' => s.push_str(" pound "),
            '@' => s.push_str(" at "),
            '%' => s.push_str(" percent "),
            '&' => s.push_str(" and "),
            '-' | '/' | ':' | ',' => s.push(' '),
            '\'' => {}
            c if c.is_alphanumeric() || c.is_whitespace() => s.extend(c.to_lowercase()),
            _ => s.push(' '),
        }
    }
    let mut out = Vec::new();
    for w in s.split_whitespace() {
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        let rest = &w[digits.len()..];
        match (digits.parse::<u64>(), rest) {
            (Ok(n), "") => number_words(n, &mut out),
            (Ok(n), "st" | "nd" | "rd" | "th") => {
                number_words(n, &mut out);
                if let Some(last) = out.pop() {
                    out.push(ordinal(&last));
                }
            }
            _ => out.push(w.to_owned()),
        }
    }
    out
}

fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// WER of a `--hyp` file (name, errors, seconds, decode seconds, stop, reference, hypothesis).
fn rescore(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let (mut errors, mut words) = (0, 0);
    for line in std::fs::read_to_string(path)?.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let (Some(r), Some(h)) = (f.get(5), f.get(6)) {
            let (r, h) = (normalise(r), normalise(h));
            errors += edit_distance(&r, &h);
            words += r.len();
        }
    }
    println!(
        "WER {:.2} % ({errors} errors, {words} reference words)",
        100.0 * errors as f64 / words.max(1) as f64
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut model = WhisperModel::TinyEn;
    let mut prompts = PathBuf::from("/usr/share/asterisk/sounds/en");
    let mut limit = usize::MAX;
    let mut margin: Option<u32> = None;
    let mut hyp_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--model" => model = WhisperModel::parse(&val()?).ok_or("--model: tiny.en or base")?,
            "--prompts" => prompts = PathBuf::from(val()?),
            "--limit" => limit = val()?.parse()?,
            "--margin-ms" => margin = Some(val()?.parse()?),
            "--hyp" => hyp_file = Some(PathBuf::from(val()?)),
            "--rescore" => return rescore(&PathBuf::from(val()?)),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let t0 = Instant::now();
    let mut m = WhisperTranscriber::load(model, &paths::models_dir())?;
    if let Some(ms) = margin {
        let mut o = m.options().clone();
        o.margin_ms = ms;
        m.set_options(o);
    }
    eprintln!("loaded {} in {:.2} s, options {:?}", model.id(), t0.elapsed().as_secs_f64(), m.options());
    let mut hyp_out = hyp_file.map(std::fs::File::create).transpose()?;
    let (mut errors, mut ref_words, mut audio_s, mut decode_s) = (0usize, 0usize, 0f64, 0f64);
    let mut times = Vec::new();
    let mut short_times = Vec::new();
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
        n += 1;
        let rate = SampleRate::from_hz(r.spec().sample_rate)?;
        let pcm: Vec<f32> = r.samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect();
        let pcm = to_16k(&pcm, rate)?;
        let start = Instant::now();
        let d = m.decode(&pcm, &DecodeOptions::default())?;
        let took = start.elapsed().as_secs_f64();
        let secs = pcm.len() as f64 / 16_000.0;
        let (r_words, h_words) = (normalise(text), normalise(&d.transcript.text));
        let e = edit_distance(&r_words, &h_words);
        errors += e;
        ref_words += r_words.len();
        audio_s += secs;
        decode_s += took;
        times.push(took);
        if (1.7..=2.7).contains(&secs) {
            short_times.push(took);
        }
        if let Some(f) = &mut hyp_out {
            writeln!(f, "{name}\t{e}\t{secs:.2}\t{took:.3}\t{:?}\t{}\t{}", d.stop, text, d.transcript.text)?;
        }
    }
    times.sort_by(f64::total_cmp);
    short_times.sort_by(f64::total_cmp);
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!("model {} margin {} ms, threads {threads}", model.id(), m.options().margin_ms);
    println!("prompts {n}, audio {audio_s:.1} s, reference words {ref_words}");
    println!("WER {:.2} % ({errors} errors)", 100.0 * errors as f64 / ref_words.max(1) as f64);
    println!("RTF {:.3} (decode {decode_s:.1} s)", decode_s / audio_s.max(1e-9));
    println!(
        "latency after end of speech (decode time per prompt): median {:.3} s, p90 {:.3} s; prompts of 1.7-2.7 s ({}): median {:.3} s",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        short_times.len(),
        percentile(&short_times, 0.5)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_spells_numbers_and_symbols() {
        assert_eq!(
            normalise("Press 1, then # or *; 24 hours [beep] on the 3rd (note) - party's"),
            [
                "press", "one", "then", "pound", "or", "star", "twenty", "four", "hours", "on", "the",
                "third", "partys"
            ]
        );
        let w = |s: &str| normalise(s);
        assert_eq!(edit_distance(&w("a b c"), &w("a x c d")), 2);
    }
}
