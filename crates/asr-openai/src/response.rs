//! Reading the service's answers.
//!
//! A success is `{"text": ...}` (`json`) or the `verbose_json` object, which adds `segments`
//! (each with `avg_logprob`) and, when word timings were asked for, `words` (`word`, `start`,
//! `end` in seconds; some servers add `probability`). Confidence: the mean of
//! `exp(avg_logprob)` over the segments when the server gives them, else 1.0 (the server gave no
//! score; the caller should not read it as certainty). A word's confidence is its `probability`
//! when given, else the transcript's.
//!
//! An error answer is OpenAI's `{"error": {"message": ...}}`, FastAPI's `{"detail": ...}`, or
//! anything else; [`error_message`] picks the message out, or returns the start of the body.

use frontdesk_engines::{Transcript, Word};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Answer {
    text: String,
    #[serde(default)]
    segments: Vec<Segment>,
    #[serde(default)]
    words: Vec<WordJson>,
}

#[derive(Debug, Deserialize)]
struct Segment {
    avg_logprob: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct WordJson {
    word: String,
    start: f64,
    end: f64,
    probability: Option<f64>,
}

/// The transcript in a success body, or why it is not one.
pub fn transcript(body: &[u8]) -> Result<Transcript, String> {
    let a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let scores: Vec<f64> = a.segments.iter().filter_map(|s| s.avg_logprob).map(f64::exp).collect();
    let confidence = if scores.is_empty() { 1.0 } else { scores.iter().sum::<f64>() / scores.len() as f64 };
    let ms = |s: f64| (s.max(0.0) * 1000.0).round().min(f64::from(u32::MAX)) as u32;
    let words = a
        .words
        .into_iter()
        .map(|w| Word {
            text: w.word.trim().to_owned(),
            start_ms: ms(w.start),
            end_ms: ms(w.end),
            confidence: w.probability.unwrap_or(confidence).clamp(0.0, 1.0) as f32,
        })
        .collect();
    Ok(Transcript { text: a.text.trim().to_owned(), words, confidence: confidence.clamp(0.0, 1.0) as f32 })
}

/// The server's message in an error body.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let msg = v.pointer("/error/message").or_else(|| v.get("detail")).or_else(|| v.get("error"));
        match msg {
            Some(serde_json::Value::String(s)) => return s.clone(),
            Some(other) => return other.to_string(),
            None => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_verbose_answers() {
        let t = transcript(br#"{"text":" Hello there. "}"#).unwrap();
        assert_eq!(t, Transcript { text: "Hello there.".into(), words: vec![], confidence: 1.0 });
        let t = transcript(
            br#"{"task":"transcribe","language":"english","duration":1.5,"text":"Book Tuesday.",
                "segments":[{"id":0,"avg_logprob":-0.2},{"id":1,"avg_logprob":-0.4}],
                "words":[{"word":" Book","start":0.1,"end":0.42},{"word":" Tuesday.","start":0.5,"end":1.2,"probability":0.9}]}"#,
        )
        .unwrap();
        let c = ((-0.2f64).exp() + (-0.4f64).exp()) / 2.0;
        assert!((f64::from(t.confidence) - c).abs() < 1e-6);
        assert_eq!(
            t.words[0],
            Word { text: "Book".into(), start_ms: 100, end_ms: 420, confidence: c as f32 }
        );
        assert_eq!((t.words[1].start_ms, t.words[1].end_ms, t.words[1].confidence), (500, 1200, 0.9));
        assert!(transcript(b"{\"txt\":1}").is_err());
        assert!(transcript(b"<html>").is_err());
    }

    #[test]
    fn error_messages_from_common_shapes() {
        assert_eq!(
            error_message(br#"{"error":{"message":"Invalid file format.","type":"invalid_request_error"}}"#),
            "Invalid file format."
        );
        assert_eq!(error_message(br#"{"detail":"Model not found"}"#), "Model not found");
        assert_eq!(error_message(b"Bad Gateway\n"), "Bad Gateway");
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(error_message("x".repeat(400).as_bytes()).len(), 303);
    }
}
