//! WAV files in, 8 kHz mono PCM out (for the playback app).
//!
//! Reads RIFF/WAVE with PCM 8/16/24/32-bit, IEEE float 32, A-law and mu-law, any channel count
//! (mixed down to mono) and any of the media path's sample rates (resampled to 8 kHz with the
//! codec crate's resampler). Every problem is an error naming the file and what to do.

use std::path::Path;

use frontdesk_codec::g711;
use frontdesk_types::SampleRate;

/// A WAV file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a WAV file or a damaged one.
    #[error("{path} is not a usable WAV file: {why}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, and how to fix it.
        why: String,
    },
}

/// Decoded audio: mono samples at a known rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Pcm {
    /// Sample rate of `samples`.
    pub rate: u32,
    /// Mono samples.
    pub samples: Vec<i16>,
}

/// Reads a WAV file to mono 16-bit samples at its own rate.
pub fn read(path: &Path) -> Result<Pcm, WavError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| WavError::Io { path: shown.clone(), source })?;
    parse(&bytes).map_err(|why| WavError::Format { path: shown, why })
}

/// Reads a WAV file and converts it to 8 kHz mono.
pub fn read_8k(path: &Path) -> Result<Vec<i16>, WavError> {
    let pcm = read(path)?;
    let rate = SampleRate::from_hz(pcm.rate).map_err(|e| WavError::Format {
        path: path.display().to_string(),
        why: format!("{e} (convert it first, e.g. `sox IN.wav -r 8000 OUT.wav`)"),
    })?;
    let shown = path.display().to_string();
    let bad = |e: frontdesk_codec::CodecError| WavError::Format { path: shown.clone(), why: e.to_string() };
    let mut r = frontdesk_codec::Resampler::new(rate, SampleRate::Hz8000).map_err(bad)?;
    let mut out = Vec::new();
    r.push_i16(&pcm.samples, &mut out).map_err(bad)?;
    r.flush_i16(&mut out).map_err(bad)?;
    // The first `delay` samples are the filter filling up, not audio: drop them so playback
    // starts on time and lasts as long as the file.
    out.drain(..r.delay_out_samples().min(out.len()));
    Ok(out)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

/// Parses a WAV image in memory.
pub fn parse(b: &[u8]) -> Result<Pcm, String> {
    if b.get(0..4) != Some(b"RIFF") || b.get(8..12) != Some(b"WAVE") {
        return Err("no RIFF/WAVE header".into());
    }
    let (mut fmt, mut data) = (None, None);
    let mut at = 12;
    while let (Some(id), Some(len)) = (b.get(at..at + 4), le32(b, at + 4)) {
        let start = at + 8;
        let len = len as usize;
        // A truncated last chunk (common when a recorder was killed) is read as far as it goes.
        let body = b.get(start..start.saturating_add(len).min(b.len())).unwrap_or(&[]);
        match id {
            b"fmt " => fmt = Some(body),
            b"data" => data = Some(body),
            _ => {}
        }
        at = start.saturating_add(len).saturating_add(len & 1);
    }
    let fmt = fmt.ok_or("no fmt chunk")?;
    let data = data.ok_or("no data chunk")?;
    let (Some(mut tag), Some(channels), Some(rate), Some(bits)) =
        (le16(fmt, 0), le16(fmt, 2), le32(fmt, 4), le16(fmt, 14))
    else {
        return Err("fmt chunk too short".into());
    };
    if tag == 0xFFFE {
        tag = le16(fmt, 24).ok_or("WAVE_FORMAT_EXTENSIBLE without a sub-format")?;
    }
    if channels == 0 || rate == 0 {
        return Err(format!("{channels} channels at {rate} Hz"));
    }
    let width = usize::from(bits).div_ceil(8);
    // Each decoder gets exactly `width` bytes (chunks_exact below), so its indexing cannot fail.
    let decode: fn(&[u8]) -> i16 = match (tag, bits) {
        (1, 8) => |s| (i16::from(s[0]) - 128) << 8,
        (1, 16) => |s| i16::from_le_bytes([s[0], s[1]]),
        (1, 24) => |s| i16::from_le_bytes([s[1], s[2]]),
        (1, 32) => |s| i16::from_le_bytes([s[2], s[3]]),
        (3, 32) => |s| (f32::from_le_bytes([s[0], s[1], s[2], s[3]]).clamp(-1.0, 1.0) * 32767.0) as i16,
        (6, 8) => |s| g711::alaw_decode(s[0]),
        (7, 8) => |s| g711::ulaw_decode(s[0]),
        _ => {
            return Err(format!(
                "unsupported encoding (format tag {tag}, {bits} bits): use PCM 8/16/24/32-bit, float 32, A-law or mu-law"
            ));
        }
    };
    let frame = width * usize::from(channels);
    let samples = data
        .chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f.chunks_exact(width).map(|s| i32::from(decode(s))).sum();
            (sum / i32::from(channels)) as i16
        })
        .collect();
    Ok(Pcm { rate, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(channels * bits / 8)).to_le_bytes());
        b.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd-sized chunk with its pad byte
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_the_encodings_callers_upload() {
        let pcm16 = wav(1, 1, 8000, 16, &[0x00, 0x10, 0x00, 0xf0]);
        assert_eq!(parse(&pcm16), Ok(Pcm { rate: 8000, samples: vec![4096, -4096] }));
        let stereo = wav(1, 2, 16000, 16, &[0x00, 0x10, 0x00, 0x20]);
        assert_eq!(parse(&stereo).map(|p| p.samples), Ok(vec![6144]));
        let ulaw = wav(7, 1, 8000, 8, &[0x00, 0xff]);
        assert_eq!(parse(&ulaw).map(|p| p.samples), Ok(vec![-32124, 0]));
        let u8pcm = wav(1, 1, 8000, 8, &[128, 255]);
        assert_eq!(parse(&u8pcm).map(|p| p.samples), Ok(vec![0, 127 << 8]));
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(parse(b"ID3\x04"), Err("no RIFF/WAVE header".into()));
        let adpcm = wav(2, 1, 8000, 4, &[0; 8]);
        assert!(parse(&adpcm).unwrap_err().contains("unsupported encoding (format tag 2"));
        let mut cut = wav(1, 1, 8000, 16, &[1, 0, 2, 0, 3]);
        cut.truncate(cut.len() - 1);
        assert_eq!(parse(&cut).map(|p| p.samples), Ok(vec![1, 2]));
    }
}
