//! Text to IPA phonemes with the `espeak-ng` program, the way Piper expects them.
//!
//! Piper voices are trained on espeak-ng's IPA output (`espeakPHONEMES_IPA`: no ties, no
//! separators) produced clause by clause, with the clause's punctuation re-appended (`.`, `?`, `!`
//! directly, `,` `;` `:` followed by a space). We call the *program* (libespeak-ng is GPL-3; a
//! subprocess keeps this binary free of it) as `espeak-ng -q --ipa -v VOICE`, which prints the IPA
//! of each clause on its own line and drops the punctuation, so the text is cut at punctuation
//! here, each piece is phonemised, and the punctuation is put back.
//!
//! # One long-lived process
//!
//! Started once and fed one line per piece: with no text argument espeak-ng reads stdin line by
//! line and flushes after each. A line may produce several output lines (espeak-ng splits at
//! abbreviations such as "Dr."), so after each piece a *sentinel* line is sent whose IPA was learnt
//! at start-up; reading up to the sentinel's output collects exactly that piece's phonemes.
//! Measured here: 1 to 5 ms per piece, against 24 ms for spawning `espeak-ng` per clause. If the
//! process dies it is restarted once per call. Text is sanitised first: control characters (a
//! newline would break the line protocol) and espeak's `[[phoneme]]` brackets are removed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, PoisonError};

use frontdesk_engines::EngineError;

/// A word whose phonemes mark the end of a piece's output.
const SENTINEL: &str = "zyzzogeton";

/// The `espeak-ng` program name.
pub const ESPEAK: &str = "espeak-ng";

/// The message for a missing `espeak-ng`.
pub(crate) fn espeak_missing(e: &std::io::Error) -> EngineError {
    EngineError::Inference(format!(
        "cannot run `{ESPEAK}` ({e}): install the Debian package espeak-ng (scripts/install-test-deps.sh)"
    ))
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    sentinel: String,
}

impl Proc {
    fn start(voice: &str) -> Result<Proc, EngineError> {
        let mut child = Command::new(ESPEAK)
            .args(["-q", "--ipa", "-v", voice])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| espeak_missing(&e))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(EngineError::Inference("espeak-ng: no pipes".into()));
        };
        let mut p = Proc { child, stdin, stdout: BufReader::new(stdout), sentinel: String::new() };
        p.send(SENTINEL)?;
        p.sentinel = p.read_line()?;
        if p.sentinel.is_empty() {
            return Err(EngineError::Inference(format!("espeak-ng gave no phonemes for voice {voice:?}")));
        }
        Ok(p)
    }

    fn send(&mut self, line: &str) -> Result<(), EngineError> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| EngineError::Inference(format!("espeak-ng: {e}")))
    }

    fn read_line(&mut self) -> Result<String, EngineError> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(EngineError::Inference("espeak-ng exited".into())),
            Ok(_) => Ok(line.trim().to_owned()),
            Err(e) => Err(EngineError::Inference(format!("espeak-ng: {e}"))),
        }
    }

    /// Phonemes of one piece (no newline in it), lines joined with spaces.
    fn phonemes(&mut self, piece: &str) -> Result<String, EngineError> {
        self.send(piece)?;
        self.send(SENTINEL)?;
        let mut parts = Vec::new();
        loop {
            let line = self.read_line()?;
            if line == self.sentinel {
                break;
            }
            if !line.is_empty() {
                parts.push(line);
            }
        }
        Ok(parts.join(" "))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A phonemiser for one espeak-ng voice (e.g. `en-us`), safe to share between threads.
pub struct Phonemizer {
    voice: String,
    proc: Mutex<Option<Proc>>,
}

impl std::fmt::Debug for Phonemizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phonemizer").field("voice", &self.voice).finish_non_exhaustive()
    }
}

/// A piece of text and the punctuation that ended it.
fn pieces(text: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let terminal = matches!(c, '.' | ',' | ';' | ':' | '!' | '?');
        let next_is_space = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if terminal && next_is_space {
            out.push((std::mem::take(&mut cur), Some(c)));
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push((cur, None));
    }
    out
}

/// Removes what would break the line protocol or switch espeak-ng into phoneme input.
fn sanitise(text: &str) -> String {
    text.chars().map(|c| if c.is_control() || matches!(c, '[' | ']') { ' ' } else { c }).collect()
}

impl Phonemizer {
    /// Starts `espeak-ng` for `voice`.
    pub fn new(voice: &str) -> Result<Self, EngineError> {
        let p = Proc::start(voice)?;
        Ok(Phonemizer { voice: voice.to_owned(), proc: Mutex::new(Some(p)) })
    }

    /// The voice.
    pub fn voice(&self) -> &str {
        &self.voice
    }

    /// IPA phonemes for `text` with Piper's punctuation rules.
    pub fn phonemize(&self, text: &str) -> Result<String, EngineError> {
        let text = sanitise(&crate::speakable::speakable(text));
        let mut out = String::new();
        let mut guard = self.proc.lock().unwrap_or_else(PoisonError::into_inner);
        for (piece, punct) in pieces(&text) {
            let piece = piece.trim();
            if !piece.is_empty() {
                let ph = match guard.as_mut().map(|p| p.phonemes(piece)) {
                    Some(Ok(ph)) => ph,
                    // Dead or never started: restart once.
                    _ => {
                        *guard = None;
                        let mut p = Proc::start(&self.voice)?;
                        let ph = p.phonemes(piece)?;
                        *guard = Some(p);
                        ph
                    }
                };
                out.push_str(&ph);
            }
            match punct {
                Some(c @ ('.' | '!' | '?')) => out.push(c),
                Some(c) => {
                    out.push(c);
                    out.push(' ');
                }
                None => {}
            }
        }
        Ok(out.trim_end().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cut_at_punctuation_followed_by_space() {
        assert_eq!(
            pieces("Hello there, it's 3.5 percent. OK?"),
            vec![
                ("Hello there".to_owned(), Some(',')),
                (" it's 3.5 percent".to_owned(), Some('.')),
                (" OK".to_owned(), Some('?'))
            ]
        );
        assert_eq!(sanitise("a\nb[[x]]"), "a b  x  ");
    }
}
