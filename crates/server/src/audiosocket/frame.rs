//! Asterisk AudioSocket framing, sans-IO.
//!
//! A frame is `type: u8`, `length: u16` (big-endian), `payload[length]`. Asterisk connects to us
//! and sends the call's UUID first (type 0x01), then signed 16-bit little-endian PCM at 8 kHz
//! (type 0x10, 320 bytes per 20 ms), DTMF digits (0x03, one ASCII byte), and finally a hangup
//! (0x00) or an error (0xff). We answer with 0x10 audio frames and may send 0x00 to hang up.
//!
//! [`FrameDecoder`] is fed whatever bytes the socket gave and yields whole frames; a frame of an
//! unknown type or a malformed payload is an error value naming the problem (the shell closes the
//! connection), never a panic. Payloads are capped at [`MAX_PAYLOAD`].

use frontdesk_types::Digit;

/// Largest payload we accept (one second of 8 kHz audio); larger frames are a protocol error.
pub const MAX_PAYLOAD: usize = 16_000;

const KIND_HANGUP: u8 = 0x00;
const KIND_UUID: u8 = 0x01;
const KIND_DTMF: u8 = 0x03;
const KIND_SLIN8: u8 = 0x10;
const KIND_ERROR: u8 = 0xff;

/// One AudioSocket frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The far end hung up (or we hang up).
    Hangup,
    /// The call's UUID (16 bytes), always the first frame Asterisk sends.
    Uuid([u8; 16]),
    /// One DTMF digit.
    Dtmf(Digit),
    /// Signed 16-bit PCM, 8 kHz mono.
    Audio(Vec<i16>),
    /// An error code from Asterisk.
    Error(u8),
}

/// A frame that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame type this server does not know.
    #[error("unknown AudioSocket frame type {0:#04x} (expected 0x00, 0x01, 0x03, 0x10 or 0xff)")]
    UnknownKind(u8),
    /// A payload longer than [`MAX_PAYLOAD`].
    #[error("AudioSocket frame of {0} bytes exceeds the {MAX_PAYLOAD}-byte limit")]
    TooLong(usize),
    /// A payload of the wrong size for its type.
    #[error("AudioSocket frame type {kind:#04x} has a {len}-byte payload: {expected}")]
    BadLength {
        /// Frame type.
        kind: u8,
        /// Payload length received.
        len: usize,
        /// What the type requires.
        expected: &'static str,
    },
    /// A DTMF frame whose byte is not a DTMF key.
    #[error("AudioSocket DTMF frame carries {0:#04x}, not a DTMF key")]
    BadDigit(u8),
}

/// Incremental decoder: push bytes, pop frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed. After an error the stream is
    /// out of sync: the caller should close the connection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let [kind, hi, lo, ..] = self.buf[..] else { return Ok(None) };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len > MAX_PAYLOAD {
            return Err(FrameError::TooLong(len));
        }
        if !matches!(kind, KIND_HANGUP | KIND_UUID | KIND_DTMF | KIND_SLIN8 | KIND_ERROR) {
            return Err(FrameError::UnknownKind(kind));
        }
        let Some(payload) = self.buf.get(3..3 + len) else { return Ok(None) };
        let frame = decode_payload(kind, payload)?;
        self.buf.drain(..3 + len);
        Ok(Some(frame))
    }
}

fn decode_payload(kind: u8, p: &[u8]) -> Result<Frame, FrameError> {
    let bad = |expected| FrameError::BadLength { kind, len: p.len(), expected };
    Ok(match kind {
        KIND_HANGUP => Frame::Hangup,
        KIND_UUID => Frame::Uuid(p.try_into().map_err(|_| bad("a UUID is 16 bytes"))?),
        KIND_DTMF => {
            let [b] = p else { return Err(bad("a DTMF frame is 1 byte")) };
            Frame::Dtmf(Digit::from_char(char::from(*b)).map_err(|_| FrameError::BadDigit(*b))?)
        }
        KIND_SLIN8 => {
            if !p.len().is_multiple_of(2) {
                return Err(bad("16-bit audio needs an even byte count"));
            }
            Frame::Audio(p.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect())
        }
        // KIND_ERROR: the payload is an optional one-byte code.
        _ => Frame::Error(p.first().copied().unwrap_or(0)),
    })
}

/// Serialises a frame onto `out`.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    let (kind, start) = (
        match frame {
            Frame::Hangup => KIND_HANGUP,
            Frame::Uuid(_) => KIND_UUID,
            Frame::Dtmf(_) => KIND_DTMF,
            Frame::Audio(_) => KIND_SLIN8,
            Frame::Error(_) => KIND_ERROR,
        },
        out.len(),
    );
    out.extend_from_slice(&[kind, 0, 0]);
    match frame {
        Frame::Hangup => {}
        Frame::Uuid(u) => out.extend_from_slice(u),
        Frame::Dtmf(d) => out.push(d.as_char() as u8),
        Frame::Audio(pcm) => pcm.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes())),
        Frame::Error(code) => out.push(*code),
    }
    // Callers never build frames over 64 KiB (20 ms of audio is 320 bytes); saturate rather than wrap.
    let len = u16::try_from(out.len() - start - 3).unwrap_or(u16::MAX);
    out[start + 1..start + 3].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_a_call_split_anywhere() {
        let frames = vec![
            Frame::Uuid(*b"0123456789abcdef"),
            Frame::Audio((0..160).map(|i| i * 100 - 8000).collect()),
            Frame::Dtmf(Digit::from_char('#').unwrap()),
            Frame::Hangup,
        ];
        let mut wire = Vec::new();
        frames.iter().for_each(|f| encode(f, &mut wire));
        assert_eq!(wire[..3], [0x01, 0x00, 0x10]);
        for split in 0..wire.len() {
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for part in [&wire[..split], &wire[split..]] {
                d.push(part);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, frames, "split at {split}");
        }
    }

    #[test]
    fn rejects_bad_frames_with_a_reason() {
        let cases: [(&[u8], FrameError); 4] = [
            (&[0x42, 0, 0], FrameError::UnknownKind(0x42)),
            (&[0x10, 0xff, 0xff], FrameError::TooLong(65535)),
            (&[0x01, 0, 2, 1, 2], FrameError::BadLength { kind: 1, len: 2, expected: "a UUID is 16 bytes" }),
            (&[0x03, 0, 1, b'x'], FrameError::BadDigit(b'x')),
        ];
        for (bytes, want) in cases {
            let mut d = FrameDecoder::new();
            d.push(bytes);
            assert_eq!(d.next_frame(), Err(want));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut d = FrameDecoder::new();
            d.push(&bytes);
            while let Ok(Some(_)) = d.next_frame() {}
        }
    }
}
