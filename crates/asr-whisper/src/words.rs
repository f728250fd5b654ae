//! From generated tokens to a [`Transcript`] with approximate word timings.
//!
//! Whisper's timestamp tokens (20 ms steps) bracket segments: `<|0.00|> text <|1.40|>`. Words
//! are groups of BPE tokens (a token whose piece starts with a space, `Ġ` in the byte-level
//! vocabulary, starts a word; punctuation-only pieces stay with the word before). Inside a
//! segment, word boundaries are placed in proportion to the words' lengths in characters: good
//! to within a few hundred milliseconds on short utterances, which is what barge-in and
//! transcripts need; it is not forced alignment. Times are clamped to the audio given. A word's
//! confidence is the geometric mean of its tokens' probabilities; the transcript's is the same
//! over all text tokens.

use frontdesk_engines::{EngineError, Transcript, Word};
use tokenizers::Tokenizer;

use crate::decode::{Generated, Special};

struct Segment {
    start_ms: u32,
    end_ms: u32,
    tokens: Vec<(u32, f32)>,
}

fn decode(tok: &Tokenizer, ids: &[u32]) -> Result<String, EngineError> {
    tok.decode(ids, true).map_err(|e| EngineError::Inference(format!("tokenizer: {e}")))
}

fn starts_word(tok: &Tokenizer, id: u32) -> bool {
    tok.id_to_token(id).is_some_and(|p| p.starts_with('Ġ') || p.starts_with(' '))
}

fn is_punctuation(tok: &Tokenizer, id: u32) -> bool {
    tok.id_to_token(id).is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_punctuation()))
}

fn segments(run: &Generated, sp: &Special, audio_ms: u32) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut last_ts = 0u32;
    let mut pending: Vec<(u32, f32)> = Vec::new();
    for (&t, &lp) in run.tokens.iter().zip(&run.logprobs) {
        if t >= sp.ts_begin {
            let ms = (t - sp.ts_begin) * 20;
            if !pending.is_empty() {
                out.push(Segment { start_ms: last_ts, end_ms: ms, tokens: std::mem::take(&mut pending) });
            }
            last_ts = ms;
        } else if t < sp.eot {
            pending.push((t, lp));
        }
    }
    if !pending.is_empty() {
        out.push(Segment { start_ms: last_ts, end_ms: audio_ms.max(last_ts), tokens: pending });
    }
    out
}

fn words_of(tok: &Tokenizer, seg: &Segment, audio_ms: u32) -> Result<Vec<Word>, EngineError> {
    let mut groups: Vec<Vec<(u32, f32)>> = Vec::new();
    for &(id, lp) in &seg.tokens {
        let new_word = starts_word(tok, id) && !is_punctuation(tok, id);
        match groups.last_mut() {
            Some(g) if !new_word => g.push((id, lp)),
            _ => groups.push(vec![(id, lp)]),
        }
    }
    let mut words = Vec::new();
    for g in groups {
        let ids: Vec<u32> = g.iter().map(|(id, _)| *id).collect();
        let text = decode(tok, &ids)?.trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let mean = g.iter().map(|(_, lp)| lp).sum::<f32>() / g.len() as f32;
        words.push(Word { text, start_ms: 0, end_ms: 0, confidence: mean.exp().clamp(0.0, 1.0) });
    }
    let total: usize = words.iter().map(|w| w.text.chars().count()).sum();
    let start = seg.start_ms.min(audio_ms);
    let end = seg.end_ms.min(audio_ms).max(start);
    let span = f64::from(end - start);
    let mut acc = 0usize;
    for w in &mut words {
        let len = w.text.chars().count();
        let at = |chars: usize| start + (span * chars as f64 / total.max(1) as f64).round() as u32;
        w.start_ms = at(acc);
        acc += len;
        w.end_ms = at(acc);
    }
    Ok(words)
}

/// The transcript of a run over `audio_ms` of audio.
pub(crate) fn transcript(
    run: &Generated,
    tok: &Tokenizer,
    sp: &Special,
    audio_ms: u32,
) -> Result<Transcript, EngineError> {
    let segs = segments(run, sp, audio_ms);
    let mut words = Vec::new();
    let mut text_ids = Vec::new();
    let mut lps = Vec::new();
    for s in &segs {
        words.extend(words_of(tok, s, audio_ms)?);
        text_ids.extend(s.tokens.iter().map(|(id, _)| *id));
        lps.extend(s.tokens.iter().map(|(_, lp)| *lp));
    }
    let text = decode(tok, &text_ids)?.trim().to_owned();
    let confidence = if lps.is_empty() || text.is_empty() {
        0.0
    } else {
        (lps.iter().sum::<f32>() / lps.len() as f32).exp().clamp(0.0, 1.0)
    };
    Ok(Transcript { text, words, confidence })
}

/// Mean log-probability of the text tokens (openai-whisper's `avg_logprob` counts all sampled
/// tokens; timestamps are mostly forced, so text tokens say more).
pub(crate) fn avg_logprob(run: &Generated, sp: &Special) -> f32 {
    let lps: Vec<f32> =
        run.tokens.iter().zip(&run.logprobs).filter(|(t, _)| **t < sp.eot).map(|(_, lp)| *lp).collect();
    if lps.is_empty() { f32::NEG_INFINITY } else { lps.iter().sum::<f32>() / lps.len() as f32 }
}
