//! Caller clips: `audio/<set>/labels.jsonl` (written by `eval/voice/gen_corpus.py`) and the 8 kHz
//! 16-bit WAV files it names, cut into 20 ms mu-law frames ready for a `media` message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::error::BenchError;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;

/// One labelled clip, as 20 ms mu-law frames.
#[derive(Clone, Debug)]
pub struct Clip {
    /// Item id, e.g. `interrupt-004`.
    pub id: String,
    /// The set (directory name), e.g. `interrupt`.
    pub set: String,
    /// `dev` or `test`.
    pub split: String,
    /// First caller sound, from the start of the clip.
    pub sound_start_ms: u32,
    /// Last caller sound, from the start of the clip.
    pub sound_end_ms: u32,
    /// Total caller sound (speech and noise segments).
    pub sound_ms: u32,
    /// 160 mu-law bytes per frame; the last frame padded with silence.
    pub frames: Vec<Vec<u8>>,
}

impl Clip {
    /// The clip's length.
    pub fn duration_ms(&self) -> u32 {
        u32::try_from(self.frames.len() * 20).unwrap_or(u32::MAX)
    }

    /// The clip with its line noise cut to about `lead_ms` before the first sound and `tail_ms`
    /// after the last (whole frames; never more than the clip has). The load callers use it:
    /// a caller who speaks 40 % of the time does not wait out 3 s of its own recording's noise
    /// every turn.
    pub fn trimmed(&self, lead_ms: u32, tail_ms: u32) -> Clip {
        let first = (self.sound_start_ms.saturating_sub(lead_ms) / 20) as usize;
        let last = (self.sound_end_ms.saturating_add(tail_ms)).div_ceil(20) as usize;
        let last = last.clamp(first, self.frames.len());
        let cut = u32::try_from(first * 20).unwrap_or(u32::MAX);
        Clip {
            sound_start_ms: self.sound_start_ms - cut,
            sound_end_ms: self.sound_end_ms - cut,
            frames: self.frames[first..last].to_vec(),
            ..self.clone()
        }
    }
}

#[derive(Deserialize)]
struct Label {
    id: String,
    file: String,
    #[serde(default)]
    split: String,
    #[serde(default)]
    speech: Vec<[u32; 2]>,
    #[serde(default)]
    noise: Vec<[u32; 2]>,
    sound_start_ms: Option<u32>,
    sound_end_ms: Option<u32>,
}

/// Loads every clip of `dir/<set>/labels.jsonl` (`file` paths are relative to `dir/..`).
pub fn load_set(dir: &Path, set: &str) -> Result<Vec<Arc<Clip>>, BenchError> {
    let labels = dir.join(set).join("labels.jsonl");
    let err = |path: &Path, why: String| BenchError::Clips { path: path.to_owned(), why };
    let text = std::fs::read_to_string(&labels).map_err(|e| err(&labels, e.to_string()))?;
    let base = dir.parent().unwrap_or(dir);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let l: Label =
            serde_json::from_str(line).map_err(|e| err(&labels, format!("line {}: {e}", n + 1)))?;
        let (Some(s), Some(e)) = (l.sound_start_ms, l.sound_end_ms) else { continue };
        let path: PathBuf = base.join(&l.file);
        let pcm = read_wav(&path)?;
        let sound_ms = l.speech.iter().chain(&l.noise).map(|[a, b]| b.saturating_sub(*a)).sum();
        out.push(Arc::new(Clip {
            id: l.id,
            set: set.to_owned(),
            split: l.split,
            sound_start_ms: s,
            sound_end_ms: e,
            sound_ms,
            frames: to_frames(&pcm),
        }));
    }
    if out.is_empty() {
        return Err(err(&labels, "no labelled clips".into()));
    }
    Ok(out)
}

/// 8 kHz mono 16-bit PCM samples of a WAV file.
pub fn read_wav(path: &Path) -> Result<Vec<i16>, BenchError> {
    let err = |why: String| BenchError::Wav { path: path.to_owned(), why };
    let r = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
    let s = r.spec();
    if s.sample_rate != 8000 || s.channels != 1 || s.bits_per_sample != 16 {
        return Err(err(format!(
            "{} Hz, {} channels, {} bits: 8000 Hz mono 16-bit expected",
            s.sample_rate, s.channels, s.bits_per_sample
        )));
    }
    r.into_samples::<i16>().collect::<Result<_, _>>().map_err(|e| err(e.to_string()))
}

/// Cuts PCM into 20 ms mu-law frames, padding the last one with silence.
pub fn to_frames(pcm: &[i16]) -> Vec<Vec<u8>> {
    pcm.chunks(FRAME)
        .map(|c| {
            let mut f = c.to_vec();
            f.resize(FRAME, 0);
            crate::ulaw::encode_all(&f)
        })
        .collect()
}

/// One frame of digital silence.
pub fn silence_frame() -> Vec<u8> {
    crate::ulaw::encode_all(&[0; FRAME])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_the_sound_and_moves_its_times() {
        let c = Clip {
            id: "x".into(),
            set: "s".into(),
            split: String::new(),
            sound_start_ms: 600,
            sound_end_ms: 2000,
            sound_ms: 1400,
            frames: (0..225u8).map(|i| vec![i; FRAME]).collect(), // 4.5 s
        };
        let t = c.trimmed(200, 300);
        assert_eq!((t.sound_start_ms, t.sound_end_ms), (200, 1600));
        assert_eq!(t.duration_ms(), 1900);
        assert_eq!(t.frames[0], c.frames[20], "starts 400 ms in");
        // Asking for more than the clip has keeps all of it.
        let all = c.trimmed(5000, 5000);
        assert_eq!((all.sound_start_ms, all.duration_ms()), (600, 4500));
    }

    #[test]
    fn frames_are_padded_to_20_ms() {
        let f = to_frames(&[1000; 200]);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|x| x.len() == FRAME));
        assert_eq!(f[1][100], silence_frame()[0]);
    }
}
