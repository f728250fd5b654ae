//! Greedy decoding with timestamp tokens, the repetition guard and the no-speech probability.
//!
//! The loop feeds the whole token sequence to candle's decoder at each step (its self-attention
//! keeps no cache; the cross-attention keys and values are computed once, at the first step) and
//! picks the most likely token after these filters, which follow openai-whisper's decoder:
//!
//! - always suppressed: CTranslate2's `suppress_ids` (symbols Whisper should not emit), the
//!   task/language tokens and `<|notimestamps|>`; at the first step also `suppress_ids_begin`
//!   (a blank and end-of-text);
//! - timestamp rules: the first token is a timestamp of at most 1.0 s; timestamps come in pairs
//!   (after a single one, text or end-of-text may follow but not text after a closing pair) and
//!   never decrease; when the probability mass of all timestamps beats the best text token, a
//!   timestamp is forced; timestamps past the encoder window are impossible;
//! - a token cap of `10 + 6 per second of audio` (the encoder input is cut short, which can
//!   make Whisper loop) and a repeated n-gram check on the text tokens: a suffix made of
//!   5 copies of one token, 3 copies of a 2..4-gram or 2 copies of a 5..16-gram stops decoding
//!   and the extra copies are dropped.
//!
//! The no-speech probability is the softmax of `<|nocaptions|>` at the start-of-transcript
//! position of the first step (as openai-whisper computes it). Log-probabilities are taken after
//! the filters, so a forced timestamp costs nothing.

use candle_core::{IndexOp, Tensor};
use candle_transformers::models::whisper::model::Whisper;

use crate::kv::{DecoderState, KvDecoder};

/// Token ids that steer decoding.
#[derive(Clone, Debug)]
pub(crate) struct Special {
    pub(crate) sot: u32,
    pub(crate) eot: u32,
    /// `<|0.00|>`: ids from here on are timestamps in 20 ms steps.
    pub(crate) ts_begin: u32,
    pub(crate) no_speech: Option<u32>,
    pub(crate) start_of_prev: Option<u32>,
    /// Multilingual models: `<|en|>` and `<|transcribe|>`.
    pub(crate) en: Option<u32>,
    pub(crate) transcribe: Option<u32>,
}

/// Why decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The model ended the text.
    EndOfText,
    /// The token cap for the audio length was reached.
    TokenCap,
    /// A repeated n-gram was found and cut.
    Repetition,
    /// The decoder's context (448 positions) is full.
    ContextFull,
    /// The audio was silent; the model was not run.
    Silence,
}

/// Settings for one greedy run.
#[derive(Debug)]
pub(crate) struct Greedy<'a> {
    pub(crate) special: &'a Special,
    pub(crate) suppress: &'a [u32],
    pub(crate) suppress_begin: &'a [u32],
    pub(crate) max_tokens: usize,
    /// Highest timestamp index allowed (20 ms units).
    pub(crate) max_ts: u32,
    pub(crate) max_positions: usize,
}

/// What one run produced.
#[derive(Debug, Default)]
pub(crate) struct Generated {
    pub(crate) tokens: Vec<u32>,
    pub(crate) logprobs: Vec<f32>,
    pub(crate) no_speech_prob: f32,
    pub(crate) stop: Option<StopReason>,
}

/// Largest timestamp index the first token may have (1.0 s).
const MAX_INITIAL_TS: u32 = 50;

fn set(logits: &mut [f32], range: std::ops::Range<usize>, v: f32) {
    let end = range.end.min(logits.len());
    if let Some(s) = logits.get_mut(range.start.min(end)..end) {
        s.fill(v);
    }
}

/// Applies suppression and timestamp rules to one step's logits.
pub(crate) fn apply_rules(logits: &mut [f32], generated: &[u32], g: &Greedy<'_>) {
    let sp = g.special;
    let ninf = f32::NEG_INFINITY;
    let tsb = sp.ts_begin as usize;
    let eot = sp.eot as usize;
    for &t in g.suppress {
        set(logits, t as usize..t as usize + 1, ninf);
    }
    // Special tokens between end-of-text and the timestamps (sot, languages, tasks, notimestamps).
    set(logits, eot + 1..tsb, ninf);
    set(logits, tsb + g.max_ts as usize + 1..logits.len(), ninf);
    if generated.is_empty() {
        for &t in g.suppress_begin {
            set(logits, t as usize..t as usize + 1, ninf);
        }
        set(logits, 0..tsb, ninf);
        set(logits, tsb + MAX_INITIAL_TS as usize + 1..logits.len(), ninf);
        return;
    }
    let is_ts = |t: &u32| *t >= sp.ts_begin;
    let last_ts = generated.last().is_some_and(is_ts);
    let penultimate_ts = generated.len() < 2 || generated.get(generated.len() - 2).is_some_and(is_ts);
    if last_ts {
        if penultimate_ts {
            set(logits, tsb..logits.len(), ninf);
        } else {
            set(logits, 0..eot, ninf);
        }
    }
    if let Some(&last) = generated.iter().rev().find(|t| is_ts(t)) {
        // Non-decreasing; after a closing timestamp of a pair, strictly increasing.
        let floor = if last_ts && !penultimate_ts { last } else { last + 1 };
        set(logits, tsb..floor as usize, ninf);
    }
    // Force a timestamp when all timestamps together are likelier than any text token.
    let lse = |s: &[f32]| {
        let m = s.iter().copied().fold(ninf, f32::max);
        if m == ninf { ninf } else { m + s.iter().map(|v| (v - m).exp()).sum::<f32>().ln() }
    };
    let (text, ts) = logits.split_at(tsb.min(logits.len()));
    let text_max = text.iter().copied().fold(ninf, f32::max);
    if lse(ts) > text_max {
        set(logits, 0..tsb, ninf);
    }
}

/// `Some((n, copies))` when the sequence ends with `copies` repetitions of an `n`-gram that the
/// guard treats as a loop.
pub(crate) fn repeated_suffix(text: &[u32]) -> Option<(usize, usize)> {
    for n in 1..=48usize {
        let copies = match n {
            1 => 5,
            2..=4 => 3,
            _ => 2,
        };
        let span = n * copies;
        if text.len() < span {
            continue;
        }
        let tail = &text[text.len() - span..];
        let first = &tail[..n];
        if tail.chunks_exact(n).all(|c| c == first) {
            return Some((n, copies));
        }
    }
    None
}

/// Tokens a new segment must share with the start of an earlier one to count as a repeat.
const SEGMENT_REPEAT_TOKENS: usize = 6;

/// `Some(start)` when the segment starting at text index `start` (the last one) begins with the
/// same tokens as an earlier segment: the whole first 6, or all of a shorter earlier segment.
/// This catches Whisper re-reading a sentence into the silence after the speech, which the cut
/// encoder input provokes (the copies sit in separate timestamped segments and may differ in
/// their punctuation at the end, so the n-gram check misses them).
pub(crate) fn repeated_segment(text: &[u32], starts: &[usize]) -> Option<usize> {
    let (&cur, earlier) = starts.split_last()?;
    let now = text.get(cur..)?;
    for (i, &p) in earlier.iter().enumerate() {
        let end = earlier.get(i + 1).copied().unwrap_or(cur);
        let k = (end - p).min(SEGMENT_REPEAT_TOKENS);
        if k > 0 && now.len() == k && text.get(p..p + k) == Some(now) {
            return Some(cur);
        }
    }
    None
}

/// The index to cut `tokens` at when a timestamped segment other than the first opens at or
/// after `audio_end` (a timestamp index, 20 ms units): that segment lies in the silence of the
/// margin, where Whisper re-reads the last words ("extension. Extension"). The cut keeps the
/// closing timestamp of the segment before it.
pub(crate) fn segment_in_margin(tokens: &[u32], ts_begin: u32, audio_end: u32) -> Option<usize> {
    let mut seen_text = false;
    for (i, w) in tokens.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        if a >= ts_begin && b < ts_begin {
            // `a` opens a segment whose first text token is `b`.
            if seen_text && a - ts_begin >= audio_end {
                // A pair `<|t|><|t|>`: keep the closing one of the segment before.
                let prev_closes = i > 0 && tokens.get(i - 1).is_some_and(|t| *t >= ts_begin);
                return Some(if prev_closes { i } else { i + 1 });
            }
            seen_text = true;
        } else if b < ts_begin {
            seen_text = true;
        }
    }
    None
}

fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|v| (v - m).exp()).sum();
    let lse = m + sum.ln();
    logits.iter().map(|v| v - lse).collect()
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v.get(best).copied().unwrap_or(f32::NEG_INFINITY) {
            best = i;
        }
    }
    best
}

/// How the decoder is run: candle-transformers' decoder over the whole sequence at each step
/// (kept to check the cache against), or [`KvDecoder`] with its caches.
pub(crate) enum Stepper<'a> {
    /// Re-runs the whole sequence each step.
    Full { model: &'a mut Whisper, features: &'a Tensor, seq: Vec<u32> },
    /// Feeds only new tokens.
    Cached { decoder: &'a KvDecoder, state: DecoderState },
}

impl Stepper<'_> {
    /// Feeds `tokens`; returns the logits after each of them.
    fn feed(&mut self, tokens: &[u32], rows: std::ops::Range<usize>) -> candle_core::Result<Vec<Vec<f32>>> {
        match self {
            Stepper::Full { model, features, seq } => {
                let first = seq.is_empty();
                let past = seq.len();
                seq.extend_from_slice(tokens);
                let input = Tensor::new(seq.as_slice(), features.device())?.unsqueeze(0)?;
                let ys = model.decoder.forward(&input, features, first)?;
                rows.map(|r| {
                    let x = ys.i((.., past + r..past + r + 1))?;
                    model.decoder.final_linear(&x)?.flatten_all()?.to_vec1::<f32>()
                })
                .collect()
            }
            Stepper::Cached { decoder, state } => {
                let hidden = decoder.forward(tokens, state)?;
                if rows.len() == 1 {
                    Ok(vec![decoder.logits(&hidden, rows.start)?])
                } else {
                    let h = hidden.i((.., rows.clone()))?;
                    decoder.all_logits(&h)
                }
            }
        }
    }

    /// Tokens fed so far.
    fn len(&self) -> usize {
        match self {
            Stepper::Full { seq, .. } => seq.len(),
            Stepper::Cached { state, .. } => state.len(),
        }
    }

    /// Forgets tokens fed from position `len` on.
    fn truncate(&mut self, len: usize) -> candle_core::Result<()> {
        match self {
            Stepper::Full { seq, .. } => {
                seq.truncate(len);
                Ok(())
            }
            Stepper::Cached { state, .. } => state.truncate(len),
        }
    }
}

/// The rest of `draft` after the text that `generated` holds, when `generated`'s text tokens
/// begin the draft's text; leading timestamps are dropped after a generated timestamp.
fn proposal<'d>(generated: &[u32], draft: &'d [u32], ts_begin: u32, eot: u32) -> &'d [u32] {
    let is_text = |t: &&u32| **t < eot;
    let mut gen_text = generated.iter().filter(is_text);
    let mut at = 0;
    let mut matched = 0usize;
    let want = generated.iter().filter(is_text).count();
    for (i, t) in draft.iter().enumerate() {
        if matched == want {
            break;
        }
        if *t < eot {
            if gen_text.next() != Some(t) {
                return &[];
            }
            matched += 1;
        }
        at = i + 1;
    }
    if matched < want {
        return &[];
    }
    let mut rest = draft.get(at..).unwrap_or(&[]);
    if generated.last().is_some_and(|t| *t >= ts_begin) {
        while rest.first().is_some_and(|t| *t >= ts_begin) {
            rest = rest.get(1..).unwrap_or(&[]);
        }
    }
    rest
}

/// Greedy decoding after `prompt`, whose start-of-transcript token is at `sot_index`.
///
/// `draft` is a guess of the output (the tokens of a partial decode of the same segment): when
/// the tokens generated so far agree with it, the rest of the guess is fed in one pass and
/// accepted token by token as long as greedy decoding picks the same tokens, so the result is
/// the same as without a draft; only the number of decoder passes changes.
pub(crate) fn greedy(
    stepper: &mut Stepper<'_>,
    prompt: &[u32],
    sot_index: usize,
    draft: &[u32],
    g: &Greedy<'_>,
) -> candle_core::Result<Generated> {
    let mut out = Generated::default();
    // Positions of text tokens in `out.tokens`, for the repetition guard.
    let mut text_at: Vec<usize> = Vec::new();
    // Indices into the text tokens where a timestamped segment starts.
    let mut segment_starts: Vec<usize> = Vec::new();
    let first = stepper.feed(prompt, sot_index..prompt.len())?;
    if let (Some(ns), Some(at_sot)) = (g.special.no_speech, first.first()) {
        let at_sot = log_softmax(at_sot);
        out.no_speech_prob = at_sot.get(ns as usize).map_or(0.0, |lp| lp.exp());
    }
    // Logits not yet used, each after the token of `ahead` at the same index (the first after
    // the last accepted token).
    let mut pending: std::collections::VecDeque<Vec<f32>> = first.into_iter().last().into_iter().collect();
    let mut ahead: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
    loop {
        if out.tokens.len() >= g.max_tokens {
            out.stop = Some(StopReason::TokenCap);
            break;
        }
        if prompt.len() + out.tokens.len() >= g.max_positions {
            out.stop = Some(StopReason::ContextFull);
            break;
        }
        let mut logits = match pending.pop_front() {
            Some(l) => l,
            None => {
                let Some(&last) = out.tokens.last() else { break };
                let guess = proposal(&out.tokens, draft, g.special.ts_begin, g.special.eot);
                let room = g.max_positions.saturating_sub(stepper.len() + 1);
                let guess = guess.get(..guess.len().min(room)).unwrap_or(&[]);
                let mut feed = Vec::with_capacity(guess.len() + 1);
                feed.push(last);
                feed.extend_from_slice(guess);
                let rows = stepper.feed(&feed, 0..feed.len())?;
                ahead.extend(guess.iter().copied());
                pending.extend(rows);
                match pending.pop_front() {
                    Some(l) => l,
                    None => break,
                }
            }
        };
        apply_rules(&mut logits, &out.tokens, g);
        let lp = log_softmax(&logits);
        let next = argmax(&lp);
        let next_lp = lp.get(next).copied().unwrap_or(f32::NEG_INFINITY);
        let next = next as u32;
        // The guess fed ahead holds until greedy decoding departs from it.
        if ahead.front() == Some(&next) && next != g.special.eot {
            ahead.pop_front();
        } else if !ahead.is_empty() {
            let keep = stepper.len() - ahead.len();
            stepper.truncate(keep)?;
            ahead.clear();
            pending.clear();
        }
        if next == g.special.eot {
            out.stop = Some(StopReason::EndOfText);
            break;
        }
        out.tokens.push(next);
        out.logprobs.push(next_lp);
        if next < g.special.eot {
            let after_ts = out.tokens.len() < 2
                || out.tokens.get(out.tokens.len() - 2).is_some_and(|t| *t >= g.special.ts_begin);
            if after_ts || segment_starts.is_empty() {
                segment_starts.push(text_at.len());
            }
            text_at.push(out.tokens.len() - 1);
            let text: Vec<u32> = text_at.iter().filter_map(|&i| out.tokens.get(i).copied()).collect();
            let keep_text = match (repeated_suffix(&text), repeated_segment(&text, &segment_starts)) {
                (Some((n, copies)), _) => Some(text.len() - n * (copies - 1)),
                (None, Some(start)) => Some(start),
                (None, None) => None,
            };
            if let Some(keep_text) = keep_text {
                let cut = text_at.get(keep_text).copied().unwrap_or(out.tokens.len());
                out.tokens.truncate(cut);
                out.logprobs.truncate(cut);
                out.stop = Some(StopReason::Repetition);
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special() -> Special {
        Special {
            sot: 50257,
            eot: 50256,
            ts_begin: 50363,
            no_speech: Some(50361),
            start_of_prev: Some(50360),
            en: None,
            transcribe: None,
        }
    }

    fn greedy_cfg(sp: &Special) -> Greedy<'_> {
        Greedy {
            special: sp,
            suppress: &[11],
            suppress_begin: &[220],
            max_tokens: 100,
            max_ts: 150,
            max_positions: 448,
        }
    }

    const V: usize = 51864;

    #[test]
    fn first_token_is_an_early_timestamp() {
        let sp = special();
        let g = greedy_cfg(&sp);
        let mut l = vec![0f32; V];
        apply_rules(&mut l, &[], &g);
        let allowed: Vec<usize> = (0..V).filter(|&i| l[i].is_finite()).collect();
        assert_eq!(allowed.first(), Some(&50363));
        assert_eq!(allowed.last(), Some(&(50363 + 50)));
        assert_eq!(allowed.len(), 51);
    }

    #[test]
    fn timestamps_pair_up_and_never_go_back() {
        let sp = special();
        let g = greedy_cfg(&sp);
        // <|0.00|> "hi": text, end or a later timestamp may follow; suppressed token 11 never.
        let mut l = vec![0f32; V];
        l[100] = 30.0; // a confident text token
        apply_rules(&mut l, &[50363, 100], &g);
        assert!(l[100].is_finite() && l[50256].is_finite() && l[50364].is_finite());
        assert!(l[50363] == f32::NEG_INFINITY, "a segment has a nonzero length");
        assert!(l[11] == f32::NEG_INFINITY && l[50362] == f32::NEG_INFINITY);
        assert!(l[50363 + 151] == f32::NEG_INFINITY, "past the encoder window");
        // <|0.00|> "hi" <|0.40|>: a single closing timestamp; no text may follow directly.
        let mut l = vec![0f32; V];
        l[50256] = 10.0; // end-of-text likelier than all timestamps together
        apply_rules(&mut l, &[50363, 100, 50383], &g);
        assert!(l[100] == f32::NEG_INFINITY && l[50256].is_finite());
        assert!(l[50382] == f32::NEG_INFINITY && l[50383].is_finite());
        // A pair closed: the next must be text (or end), not a timestamp.
        let mut l = vec![0f32; V];
        l[100] = 5.0;
        apply_rules(&mut l, &[50363, 100, 50383, 50383], &g);
        assert!(l[100].is_finite() && (50363..V).all(|i| l[i] == f32::NEG_INFINITY));
    }

    #[test]
    fn timestamp_mass_forces_a_timestamp() {
        let sp = special();
        let g = greedy_cfg(&sp);
        let mut l = vec![-10f32; V];
        l[100] = 1.0;
        for v in &mut l[50363..50363 + 100] {
            *v = 0.0; // each less likely than the text token, together far likelier
        }
        apply_rules(&mut l, &[50363, 100], &g);
        assert_eq!(l[100], f32::NEG_INFINITY);
    }

    #[test]
    fn repetition_guard_finds_loops_but_not_short_echoes() {
        assert_eq!(repeated_suffix(&[1, 2, 3, 4]), None);
        assert_eq!(repeated_suffix(&[7, 7, 7, 7]), None, "four of one token may be speech");
        assert_eq!(repeated_suffix(&[1, 7, 7, 7, 7, 7]), Some((1, 5)));
        assert_eq!(repeated_suffix(&[5, 6, 5, 6]), None);
        assert_eq!(repeated_suffix(&[5, 6, 5, 6, 5, 6]), Some((2, 3)));
        assert_eq!(repeated_suffix(&[9, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5]), Some((5, 2)));
        let long: Vec<u32> = (100..130).chain(100..130).collect();
        assert_eq!(repeated_suffix(&long), Some((30, 2)));
    }

    #[test]
    fn a_segment_that_starts_like_an_earlier_one_is_a_repeat() {
        // Segments at text indices 0 and 8; the second begins with the first's 6 tokens.
        let text = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6];
        assert_eq!(repeated_segment(&text[..13], &[0, 8]), None, "only 5 shared so far");
        assert_eq!(repeated_segment(&text, &[0, 8]), Some(8));
        // "Dial 1 ..." then "Dial 2 ...": not a repeat.
        assert_eq!(repeated_segment(&[50, 1, 9, 9, 9, 9, 50, 2, 9, 9, 9, 9], &[0, 6]), None);
        // A short earlier segment ("Yes.") repeated whole.
        assert_eq!(repeated_segment(&[7, 8, 7, 8], &[0, 2]), Some(2));
        assert_eq!(repeated_segment(&[7, 8], &[0]), None);
    }

    #[test]
    fn the_draft_continues_where_the_generated_text_agrees() {
        let (ts, eot) = (50363, 50256);
        let draft = [ts, 10, 11, ts + 20, ts + 20, 12, 13, ts + 40];
        assert_eq!(proposal(&[], &draft, ts, eot), &draft[..], "nothing generated yet");
        assert_eq!(proposal(&[ts], &draft, ts, eot), &draft[1..], "the model's own first timestamp");
        assert_eq!(proposal(&[ts + 1, 10], &draft, ts, eot), &draft[2..], "timestamps may differ");
        // A closing timestamp of our own: the draft's timestamps are skipped, its text follows.
        assert_eq!(proposal(&[ts, 10, 11, ts + 21], &draft, ts, eot), &draft[5..]);
        assert_eq!(proposal(&[ts, 10, 99], &draft, ts, eot), &[] as &[u32], "the text departed");
        assert_eq!(
            proposal(&[ts, 10, 11, ts + 20, ts + 20, 12, 13, ts + 40], &draft, ts, eot),
            &[] as &[u32]
        );
    }

    #[test]
    fn a_segment_opening_in_the_margin_is_cut() {
        let ts = 50363;
        // <|0.00|> extension <|0.80|><|1.60|> Extension <|2.00|>, audio 1.0 s (50 steps).
        let toks = [ts, 10, 11, ts + 40, ts + 80, 12, ts + 100];
        assert_eq!(segment_in_margin(&toks, ts, 50), Some(4), "cut after the first closing");
        assert_eq!(segment_in_margin(&toks, ts, 90), None, "the second starts inside the audio");
        // Without a pair: <|0.00|> a <|0.80|> b <|2.00|>: the single timestamp closes and opens.
        let toks = [ts, 10, ts + 80, 12, ts + 100];
        assert_eq!(segment_in_margin(&toks, ts, 50), Some(3));
        // The first segment is never cut, even when its timestamps are late.
        assert_eq!(segment_in_margin(&[ts + 60, 10, ts + 70], ts, 50), None);
    }

    #[test]
    fn log_softmax_normalises() {
        let lp = log_softmax(&[1.0, 2.0, f32::NEG_INFINITY]);
        let total: f32 = lp.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&lp), 1);
    }
}
