//! The fallback voice: espeak-ng alone (`espeak-ng --stdout`), robotic but always there and fast
//! (about 15 ms per sentence). Useful when the Piper model is not installed.
//!
//! espeak-ng writes a 16-bit mono WAV whose header sizes are placeholders (it cannot seek back on
//! a pipe), so the header is read here by hand and the samples are everything after `data`.

use std::process::{Command, Stdio};

use frontdesk_engines::{EngineError, Synthesizer};

use crate::phonemize::{ESPEAK, espeak_missing};

/// espeak-ng as a [`Synthesizer`].
#[derive(Clone, Debug)]
pub struct EspeakVoice {
    voice: String,
    name: String,
    rate: u32,
}

impl EspeakVoice {
    /// The espeak-ng voice `voice` (e.g. `en-us`); checks that the program runs and learns its
    /// output rate.
    pub fn new(voice: &str) -> Result<Self, EngineError> {
        let mut v = EspeakVoice { voice: voice.to_owned(), name: format!("espeak-ng-{voice}"), rate: 22050 };
        let (rate, _) = v.run("ok")?;
        v.rate = rate;
        Ok(v)
    }

    fn run(&self, text: &str) -> Result<(u32, Vec<f32>), EngineError> {
        let out = Command::new(ESPEAK)
            .args(["--stdout", "-v", &self.voice, "--"])
            .arg(text.replace(|c: char| c.is_control(), " "))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| espeak_missing(&e))?;
        if !out.status.success() {
            return Err(EngineError::Inference(format!(
                "espeak-ng failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        parse_wav(&out.stdout)
            .ok_or_else(|| EngineError::Inference("espeak-ng: unreadable WAV output".into()))
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// (rate, samples) of a 16-bit PCM mono WAV, ignoring placeholder sizes.
fn parse_wav(b: &[u8]) -> Option<(u32, Vec<f32>)> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut i = 12;
    let mut rate = None;
    loop {
        let id = b.get(i..i + 4)?;
        let len = u32_at(b, i + 4)? as usize;
        let body = i + 8;
        if id == b"fmt " {
            let (format, channels, bits) = (u16_at(b, body)?, u16_at(b, body + 2)?, u16_at(b, body + 14)?);
            if format != 1 || channels != 1 || bits != 16 {
                return None;
            }
            rate = Some(u32_at(b, body + 4)?);
        } else if id == b"data" {
            let data = b.get(body..)?;
            let data = data.get(..len.min(data.len()))?;
            let pcm =
                data.chunks_exact(2).map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0).collect();
            return Some((rate?, pcm));
        }
        i = body.checked_add(len + (len & 1))?;
    }
}

impl Synthesizer for EspeakVoice {
    fn name(&self) -> &str {
        &self.name
    }

    fn rate(&self) -> u32 {
        self.rate
    }

    fn synthesize_clause(&self, clause: &str) -> Result<Vec<f32>, EngineError> {
        if clause.trim().is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.run(&crate::speakable::speakable(clause))?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_with_placeholder_sizes_parses_and_garbage_does_not() {
        let mut w = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\0\0\0\x01\0\x01\0\x22\x56\0\0\x44\xac\0\0\x02\0\x10\0data\xff\xff\xff\x7f"
            .to_vec();
        w.extend_from_slice(&[0x00, 0x40, 0x00, 0xc0]);
        assert_eq!(parse_wav(&w), Some((22050, vec![0.5, -0.5])));
        assert_eq!(parse_wav(b"RIFF"), None);
        assert_eq!(parse_wav(&w[..30]), None);
    }
}
