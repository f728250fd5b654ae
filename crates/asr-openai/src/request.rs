//! The request body: the audio as a WAV file in a `multipart/form-data` form, the way the
//! OpenAI transcription API takes it (RFC 7578).
//!
//! Parts, in order: `file` (filename `audio.wav`, `Content-Type: audio/wav`), `model`,
//! `response_format`, `timestamp_granularities[]` = `word` when word timings are asked for (only
//! meaningful with `verbose_json`), `language` and `prompt` when set. Each part is
//! `--BOUNDARY CRLF headers CRLF CRLF body CRLF`, and the form ends with `--BOUNDARY--` CRLF. The
//! boundary is derived from a hash of the audio and re-derived until it occurs nowhere in the
//! body, so no part can contain it (no randomness needed).

/// Mono 16-bit PCM WAV (44-byte header) of samples in -1..1 at `rate`.
pub fn wav_bytes(pcm: &[f32], rate: u32) -> Vec<u8> {
    let data_len = u32::try_from(pcm.len() * 2).unwrap_or(u32::MAX - 36);
    let mut b = Vec::with_capacity(44 + pcm.len() * 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes()); // bytes per second
    b.extend_from_slice(&2u16.to_le_bytes()); // block align
    b.extend_from_slice(&16u16.to_le_bytes()); // bits
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

/// A text field of the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its value.
    pub value: String,
}

/// FNV-1a, 64 bits.
fn fnv(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The form: (content type header value, body).
pub fn multipart(wav: &[u8], fields: &[Field]) -> (String, Vec<u8>) {
    let mut seed = 0;
    let boundary = loop {
        let b = format!("frontdesk-{:016x}", fnv(wav, seed));
        let clash = contains(wav, b.as_bytes()) || fields.iter().any(|f| f.value.contains(&b));
        if !clash {
            break b;
        }
        seed += 1;
    };
    let mut body = Vec::with_capacity(wav.len() + 512);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n");
    body.extend_from_slice(b"Content-Type: audio/wav\r\n\r\n");
    body.extend_from_slice(wav);
    body.extend_from_slice(b"\r\n");
    for f in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", f.name).as_bytes(),
        );
        body.extend_from_slice(f.value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header_and_samples() {
        let w = wav_bytes(&[0.0, 1.0, -1.0, 2.0], 16000);
        assert_eq!(w.len(), 44 + 8);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 36 + 8);
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16000);
        assert_eq!(u32::from_le_bytes(w[40..44].try_into().unwrap()), 8);
        let s: Vec<i16> = w[44..].chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(s, vec![0, 32767, -32767, 32767]);
    }

    #[test]
    fn form_layout_and_a_boundary_that_does_not_occur_in_the_body() {
        let fields = [Field { name: "model", value: "whisper-1".into() }];
        let (ct, body) = multipart(b"RIFFxx", &fields);
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
                 Content-Type: audio/wav\r\n\r\nRIFFxx\r\n--{boundary}\r\nContent-Disposition: form-data; \
                 name=\"model\"\r\n\r\nwhisper-1\r\n--{boundary}--\r\n"
            )
        );
        // A field that happens to contain the first candidate boundary makes it pick another.
        let first = format!("frontdesk-{:016x}", fnv(b"RIFFxx", 0));
        let (ct, body) = multipart(b"RIFFxx", &[Field { name: "prompt", value: first.clone() }]);
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        assert_ne!(boundary, first);
        assert_eq!(String::from_utf8(body).unwrap().matches(boundary).count(), 3);
    }
}
