//! Clause-streaming synthesis on the inference pool, resampled to the call's rate.
//!
//! [`TtsStream::new`] splits the text with [`split_clauses`] and submits the first `lookahead`
//! clauses to the [`InferencePool`]; each time a clause's audio is taken, the next clause is
//! submitted. So the first audio comes after one clause (not the whole answer), the pool's queue
//! holds at most `lookahead` jobs of this stream (other calls' jobs are not starved behind a long
//! answer), and dropping the stream drops its tickets, which cancels clauses not yet started and
//! never submits the rest.
//!
//! A first clause longer than `first_clause_words` words is cut once at a phrase boundary
//! ([`crate::first::split_first`]) and the halves are synthesised as two clauses, so the first
//! audio costs a few words of synthesis instead of a whole sentence. The first half is synthesised
//! with a comma after it, so VITS gives it the continuing intonation of a phrase inside a sentence
//! rather than a final fall; the pause it then leaves (170 to 250 ms measured, plus 40 to 70 ms at
//! the start of the second half) is trimmed to [`SEAM_GAP_MS`] on each side, a short word gap, so
//! the halves join like words of one phrase.
//!
//! Audio goes through one streaming [`Resampler`] from the voice's rate to the call's rate, so
//! clause joints are continuous; the last chunk carries the resampler's flushed tail. A silence of
//! `sentence_silence_ms` follows each clause that ends a sentence (`.`, `!`, `?`). The voice's
//! own lead-in (Piper starts every clause with 40 to 60 ms of near silence) is cut to
//! [`LEAD_IN_MS`] at the start of an utterance, so the caller hears the answer that much sooner.
//!
//! Two ways to consume: [`TtsStream::next_blocking`] (a plain thread) and [`TtsStream::next`]
//! (async; cancel-safe: a `select!` that drops the future loses nothing, the ticket stays queued).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use frontdesk_codec::Resampler;
use frontdesk_engines::pool::{InferencePool, Ticket};
use frontdesk_engines::{EngineError, Synthesizer, split_clauses};
use frontdesk_types::SampleRate;

/// Streaming options.
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// The rate of the chunks (the call's rate).
    pub out_rate: SampleRate,
    /// Clauses submitted ahead of the one being consumed (at least 1).
    pub lookahead: usize,
    /// Silence after a clause that ends a sentence.
    pub sentence_silence_ms: u32,
    /// A deadline for every clause job (the pool drops jobs still queued past it).
    pub deadline: Option<Instant>,
    /// A first clause with more words than this is cut at a phrase boundary (0: never).
    pub first_clause_words: usize,
}

impl StreamOptions {
    /// Defaults for `out_rate`: two clauses ahead, 200 ms between sentences, no deadline, a first
    /// clause of more than 6 words cut.
    pub fn new(out_rate: SampleRate) -> Self {
        StreamOptions {
            out_rate,
            lookahead: 2,
            sentence_silence_ms: 200,
            deadline: None,
            first_clause_words: 6,
        }
    }
}

/// Silence kept on each side of the seam where a long first clause was cut.
pub const SEAM_GAP_MS: u32 = 25;
/// Silence kept before the first sound of an utterance.
pub const LEAD_IN_MS: u32 = 10;
/// Samples quieter than this (about -40 dBFS) count as silence at a seam and at the start.
const SILENCE: f32 = 0.01;

/// Where the first sound of `pcm` is (the first sample louder than [`SILENCE`]), if any.
fn first_sound(pcm: &[f32]) -> Option<usize> {
    pcm.iter().position(|s| s.abs() > SILENCE)
}

/// How a piece of text joins the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Join {
    /// A clause of its own (sentence silence after it if it ends a sentence).
    Clause,
    /// The first half of a cut clause: its trailing silence is trimmed.
    SeamBefore,
    /// The second half: its leading silence is trimmed.
    SeamAfter,
}

/// What the synthesiser is given for a piece: the first half of a cut clause ends with a comma.
fn synth_text(clause: &str, join: Join) -> String {
    match join {
        Join::SeamBefore => format!("{clause},"),
        Join::Clause | Join::SeamAfter => clause.to_owned(),
    }
}

/// The clauses of `text` with the first one cut as the options say.
pub(crate) fn plan(text: &str, opts: &StreamOptions) -> Vec<(String, Join)> {
    let mut clauses = split_clauses(text).into_iter();
    let mut out = Vec::new();
    if let Some(first) = clauses.next() {
        match crate::first::split_first(&first, opts.first_clause_words) {
            Some((head, tail)) => {
                out.push((head, Join::SeamBefore));
                out.push((tail, Join::SeamAfter));
            }
            None => out.push((first, Join::Clause)),
        }
    }
    out.extend(clauses.map(|c| (c, Join::Clause)));
    out
}

/// One clause's audio.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// Clause number, from 0.
    pub index: usize,
    /// The clause's text.
    pub clause: String,
    /// Samples at [`StreamOptions::out_rate`], -1..1.
    pub pcm: Vec<f32>,
    /// Whether this is the last chunk.
    pub last: bool,
}

fn codec_err(e: frontdesk_codec::CodecError) -> EngineError {
    EngineError::Inference(format!("resampling: {e}"))
}

fn ends_sentence(clause: &str) -> bool {
    clause.trim_end().ends_with(['.', '!', '?'])
}

/// Converts one voice's clause audio to the call's rate, continuously across clauses.
#[derive(Debug)]
pub(crate) struct Joiner {
    resampler: Resampler,
    silence: usize,
    seam_gap: usize,
    lead_in: usize,
    /// Whether audio has been pushed (the utterance's start is behind).
    started: bool,
}

impl Joiner {
    pub(crate) fn new(src_hz: u32, opts: &StreamOptions) -> Result<Self, EngineError> {
        let src = SampleRate::from_hz(src_hz).map_err(|e| EngineError::Input(e.to_string()))?;
        Ok(Joiner {
            resampler: Resampler::new(src, opts.out_rate).map_err(codec_err)?,
            silence: src.samples_in_ms(opts.sentence_silence_ms),
            seam_gap: src.samples_in_ms(SEAM_GAP_MS),
            lead_in: src.samples_in_ms(LEAD_IN_MS),
            started: false,
        })
    }

    /// Clause audio (at the voice's rate) in, call-rate audio out.
    pub(crate) fn push(
        &mut self,
        clause: &str,
        join: Join,
        mut pcm: Vec<f32>,
        last: bool,
    ) -> Result<Vec<f32>, EngineError> {
        match join {
            Join::SeamBefore => {
                let end = pcm.iter().rposition(|s| s.abs() > SILENCE).map_or(0, |i| i + 1);
                pcm.truncate((end + self.seam_gap).min(pcm.len()));
            }
            Join::SeamAfter => {
                let start = first_sound(&pcm).unwrap_or(pcm.len());
                pcm.drain(..start.saturating_sub(self.seam_gap));
            }
            Join::Clause => {}
        }
        if !self.started {
            // The utterance's first sound comes after the voice's lead-in: keep only LEAD_IN_MS
            // of it. A clause of silence alone waits for the next one to start the utterance.
            if let Some(first) = first_sound(&pcm) {
                pcm.drain(..first.saturating_sub(self.lead_in));
                self.started = true;
            }
        }
        if ends_sentence(clause) && !last {
            pcm.resize(pcm.len() + self.silence, 0.0);
        }
        let mut out = Vec::with_capacity((pcm.len() as f64 * self.resampler.ratio()) as usize + 64);
        self.resampler.push_f32(&pcm, &mut out).map_err(codec_err)?;
        if last {
            self.resampler.flush_f32(&mut out).map_err(codec_err)?;
        }
        Ok(out)
    }
}

/// Audio of a text, clause by clause. See the module docs.
pub struct TtsStream {
    synth: Arc<dyn Synthesizer>,
    pool: Arc<InferencePool>,
    opts: StreamOptions,
    pending: VecDeque<(usize, String, Join)>,
    inflight: VecDeque<(usize, String, Join, Ticket<Vec<f32>>)>,
    joiner: Joiner,
    failed: bool,
}

impl std::fmt::Debug for TtsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtsStream")
            .field("voice", &self.synth.name())
            .field("pending", &self.pending.len())
            .field("inflight", &self.inflight.len())
            .finish_non_exhaustive()
    }
}

impl TtsStream {
    /// Starts synthesising `text` with `synth` on `pool`.
    pub fn new(
        synth: Arc<dyn Synthesizer>,
        pool: Arc<InferencePool>,
        text: &str,
        opts: StreamOptions,
    ) -> Result<Self, EngineError> {
        let joiner = Joiner::new(synth.rate(), &opts)?;
        let pending = plan(text, &opts).into_iter().enumerate().map(|(i, (c, j))| (i, c, j)).collect();
        let mut s =
            TtsStream { synth, pool, opts, pending, inflight: VecDeque::new(), joiner, failed: false };
        s.top_up();
        Ok(s)
    }

    fn top_up(&mut self) {
        while self.inflight.len() < self.opts.lookahead.max(1) {
            let Some((i, clause, join)) = self.pending.pop_front() else { break };
            let synth = self.synth.clone();
            let text = synth_text(&clause, join);
            let ticket = self.pool.submit(self.opts.deadline, move || synth.synthesize_clause(&text));
            self.inflight.push_back((i, clause, join, ticket));
        }
    }

    /// Clauses not yet delivered (submitted or not).
    pub fn remaining(&self) -> usize {
        self.pending.len() + self.inflight.len()
    }

    fn finish(
        &mut self,
        i: usize,
        clause: String,
        join: Join,
        r: Result<Vec<f32>, EngineError>,
    ) -> Result<Chunk, EngineError> {
        let result = r.and_then(|pcm| {
            let last = self.pending.is_empty() && self.inflight.is_empty();
            let out = self.joiner.push(&clause, join, pcm, last)?;
            Ok(Chunk { index: i, clause, pcm: out, last })
        });
        if result.is_err() {
            // Stop here: the rest would follow a hole in the sentence.
            self.failed = true;
            self.pending.clear();
            self.inflight.clear();
        } else {
            self.top_up();
        }
        result
    }

    /// The next clause's audio, blocking this thread until it is ready; `None` at the end.
    pub fn next_blocking(&mut self) -> Option<Result<Chunk, EngineError>> {
        let (i, clause, join, ticket) = self.inflight.pop_front()?;
        let r = ticket.wait();
        Some(self.finish(i, clause, join, r))
    }

    /// The next clause's audio; `None` at the end. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Chunk, EngineError>> {
        let r = poll_fn(|cx| match self.inflight.front_mut() {
            None => Poll::Ready(None),
            Some((_, _, _, ticket)) => Pin::new(ticket).poll(cx).map(Some),
        })
        .await?;
        let (i, clause, join, _) = self.inflight.pop_front()?;
        Some(self.finish(i, clause, join, r))
    }
}

impl Iterator for TtsStream {
    type Item = Result<Chunk, EngineError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.next_blocking()
    }
}

/// Synthesises all of `text` on this thread (clause by clause, same joins as the stream).
pub fn synthesize_text(
    synth: &dyn Synthesizer,
    text: &str,
    opts: &StreamOptions,
) -> Result<Vec<f32>, EngineError> {
    let mut joiner = Joiner::new(synth.rate(), opts)?;
    let clauses = plan(text, opts);
    let mut out = Vec::new();
    for (i, (clause, join)) in clauses.iter().enumerate() {
        let pcm = synth.synthesize_clause(&synth_text(clause, *join))?;
        out.extend(joiner.push(clause, *join, pcm, i + 1 == clauses.len())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Fake;
    use std::sync::mpsc;

    const TEXT: &str = "One two three, four five six. Seven eight nine, ten eleven twelve. Done now.";

    #[test]
    fn chunks_come_clause_by_clause_resampled_with_sentence_gaps() {
        let synth = Arc::new(Fake::new());
        let pool = Arc::new(InferencePool::new(2, 16));
        let s = TtsStream::new(synth, pool, TEXT, StreamOptions::new(SampleRate::Hz8000)).unwrap();
        let chunks: Vec<Chunk> = s.map(|c| c.unwrap()).collect();
        let clauses = split_clauses(TEXT);
        assert_eq!(chunks.iter().map(|c| c.clause.clone()).collect::<Vec<_>>(), clauses);
        assert_eq!(
            chunks.iter().map(|c| c.index).collect::<Vec<_>>(),
            (0..clauses.len()).collect::<Vec<_>>()
        );
        assert_eq!(chunks.iter().filter(|c| c.last).count(), 1);
        assert!(chunks.last().unwrap().last);
        // 1600 samples at 16 kHz = 800 at 8 kHz, plus 200 ms (1600 samples at 8 kHz) after
        // sentences except the last; the flush evens out the resampler's delay.
        let total: usize = chunks.iter().map(|c| c.pcm.len()).sum();
        let expected = 5 * 800 + 2 * 1600;
        assert!(total.abs_diff(expected) <= 40, "{total} vs {expected}");
        let same = synthesize_text(&Fake::new(), TEXT, &StreamOptions::new(SampleRate::Hz8000)).unwrap();
        assert_eq!(same, chunks.iter().flat_map(|c| c.pcm.clone()).collect::<Vec<_>>());
    }

    /// Samples before the first one louder than `SILENCE`.
    fn lead(pcm: &[f32]) -> usize {
        first_sound(pcm).unwrap_or(pcm.len())
    }

    #[test]
    fn the_utterance_starts_after_a_short_lead_in_and_later_clauses_keep_theirs() {
        let opts = StreamOptions::new(SampleRate::Hz8000);
        let pool = Arc::new(InferencePool::new(1, 16));
        let chunks: Vec<Chunk> =
            TtsStream::new(Arc::new(Fake::with_lead(800)), pool, "One two. Three four.", opts)
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        assert_eq!(chunks.len(), 2);
        // 10 ms at 8 kHz is 80 samples, plus the resampler's delay (about 30); not 400 (50 ms).
        let first = lead(&chunks[0].pcm);
        assert!((80..=130).contains(&first), "utterance lead-in {first} samples");
        // The second clause follows the first's sentence silence with its own 50 ms.
        let second = lead(&chunks[1].pcm);
        assert!(second >= 380, "second clause lead-in {second} samples");
        // The cached (whole-text) path trims the same.
        let whole = synthesize_text(&Fake::with_lead(800), "One two. Three four.", &opts).unwrap();
        assert_eq!(lead(&whole), first);
    }

    #[test]
    fn dropping_the_stream_cancels_the_remaining_clauses() {
        let (open, gate) = mpsc::channel();
        let synth = Arc::new(Fake::gated(gate));
        let pool = Arc::new(InferencePool::new(1, 16));
        let mut s =
            TtsStream::new(synth.clone(), pool.clone(), TEXT, StreamOptions::new(SampleRate::Hz16000))
                .unwrap();
        assert_eq!(s.remaining(), 5);
        open.send(()).unwrap();
        let first = s.next_blocking().unwrap().unwrap();
        assert_eq!(first.index, 0);
        // Only `lookahead` clauses were submitted: clause 1, and clause 2 once 0 was taken.
        assert!(pool.queued() <= 2);
        drop(s);
        for _ in 0..5 {
            let _ = open.send(());
        }
        drop(Arc::try_unwrap(pool).unwrap()); // joins the worker
        // Clause 0, and at most the one running when the stream was dropped: never all five.
        let calls = synth.calls();
        assert!((1..=2).contains(&calls), "{calls} clauses synthesised");
    }

    #[test]
    fn an_error_ends_the_stream_and_async_next_works() {
        let synth = Arc::new(Fake::new());
        let pool = Arc::new(InferencePool::new(1, 16));
        let text = "First clause is fine. This one will fail. Never reached.";
        let mut s = TtsStream::new(synth, pool, text, StreamOptions::new(SampleRate::Hz16000)).unwrap();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut results = Vec::new();
        loop {
            let mut fut = std::pin::pin!(s.next());
            let r = loop {
                if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                    break r;
                }
                std::thread::yield_now();
            };
            match r {
                Some(r) => results.push(r.is_ok()),
                None => break,
            }
        }
        assert_eq!(results, vec![true, false]);
    }
}
