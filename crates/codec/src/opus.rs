//! Opus (RFC 6716) through `audiopus` (bundled libopus): 20 ms mono frames at 8, 16, 24 or 48 kHz,
//! VOIP application, with packet-loss concealment and in-band FEC.
//!
//! # Shape
//!
//! - [`OpusEncoder::encode`] takes exactly one 20 ms frame of `i16` PCM and returns the packet,
//!   borrowed from an internal buffer (no allocation per frame). A frame of any other length is a
//!   [`CodecError::FrameSize`] that says what length was expected.
//! - [`OpusDecoder::decode`] takes `Some(payload)` for a packet that arrived and `None` for one
//!   that did not, and returns the decoded PCM, again borrowed from an internal buffer. For
//!   `None` that is exactly 20 ms of concealment audio (libopus PLC: the last pitch period faded
//!   out, then comfort silence). For a packet it is the packet's own duration (20 ms from our
//!   encoder; a peer may send 10, 40 or 60 ms, up to the 120 ms Opus allows).
//! - [`OpusDecoder::decode_lost`] conceals one lost 20 ms frame using the *next* packet when the
//!   jitter buffer already holds it: the next packet's in-band FEC (LBRR) data carries a coarser
//!   copy of the lost frame, which sounds much closer to the original than PLC. It costs one
//!   extra decode (about the cost of the normal one) and nothing when the next packet is absent
//!   (it falls back to PLC). libopus also falls back to PLC when that packet carries no FEC.
//!
//! # Drain contract
//!
//! Every call returns its output at once; nothing is queued inside. The returned slice is valid
//! until the next call on the same coder. With a jitter buffer, per 20 ms playout tick:
//! packet `k` present: `decode(Some(k))`; packet `k` missing and `k+1` present:
//! `decode_lost(Some(k+1))` now, then `decode(Some(k+1))` on the next tick; both missing:
//! `decode(None)`. A packet that libopus rejects returns [`CodecError::CorruptPacket`] and is
//! counted in [`DecoderStats::corrupt`] (libopus rejects it while parsing, before decoding
//! anything): treat it as lost.
//!
//! # Delay
//!
//! The codec adds [`OpusEncoder::lookahead`] samples of algorithmic delay (6.5 ms in VOIP mode:
//! 52 samples at 8 kHz, 312 at 48 kHz) on top of the 20 ms framing.
//!
//! # Defaults
//!
//! [`OpusConfig::default`]: in-band FEC on, expected loss 10 %, libopus's default complexity,
//! libopus's automatic bitrate except at 8 kHz, where it is 20 kb/s ([`FEC_BITRATE_8K`]): the
//! automatic 10 kb/s there is below the rate at which SILK adds FEC, and FEC would silently do
//! nothing. FEC only operates in the SILK and hybrid (speech) modes, which VOIP mode selects;
//! it takes part of the bitrate, and costs the decoder nothing unless a packet is lost.
//! Measured on a speech-like signal, a frame rebuilt from FEC has 10 to 16 dB less error than
//! PLC's guess (tests/opus.rs).
//!
//! Cost per 20 ms frame (criterion medians, `benches/codec.rs`, on a shared 2-core machine;
//! the range spans a quiet and a loaded run): encoding 0.37..0.52 ms at 8 kHz and
//! 0.62..1.15 ms at 48 kHz at libopus's default complexity (complexity 5 halves it for nearly
//! the same packet size); decoding 15..18 us and 80..92 us; PLC 12..15 us and 48..77 us.
//!
//! libopus is C reached through `audiopus`; the unsafe FFI lives there, this crate stays
//! `unsafe_code = forbid`. Bad input (random bytes as a packet) comes back as an error, never a
//! panic: a property test feeds random payloads.

use audiopus::coder::{Decoder, Encoder};
use audiopus::{Application, Bitrate, Channels};
use frontdesk_types::SampleRate;

use crate::CodecError;

const CODEC: &str = "Opus";
/// The largest packet libopus can produce for one frame is 1275 bytes; 4000 is the buffer size
/// its documentation recommends.
const MAX_PACKET: usize = 4000;
/// Bitrate used at 8 kHz when FEC is on and no bitrate is given (see [`OpusConfig`]).
pub const FEC_BITRATE_8K: u32 = 20_000;
/// Opus packets carry at most 120 ms of audio.
const MAX_PACKET_MS: u32 = 120;

fn opus_rate(rate: SampleRate) -> Result<audiopus::SampleRate, CodecError> {
    match rate {
        SampleRate::Hz8000 => Ok(audiopus::SampleRate::Hz8000),
        SampleRate::Hz16000 => Ok(audiopus::SampleRate::Hz16000),
        SampleRate::Hz24000 => Ok(audiopus::SampleRate::Hz24000),
        SampleRate::Hz48000 => Ok(audiopus::SampleRate::Hz48000),
        SampleRate::Hz22050 => Err(CodecError::UnsupportedRate { codec: CODEC, rate }),
    }
}

fn opus_err(e: audiopus::Error) -> CodecError {
    CodecError::Opus(e.to_string())
}

/// Encoder settings. [`OpusConfig::default`] suits telephony speech.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second; `None` lets libopus choose from the rate and mode
    /// (about 10 kb/s at 8 kHz, 18 kb/s at 16 kHz, 43 kb/s at 48 kHz for speech), except at 8 kHz
    /// with FEC on, where `None` means [`FEC_BITRATE_8K`]: below about 20 kb/s libopus puts no
    /// FEC data in narrowband packets.
    pub bitrate_bps: Option<u32>,
    /// Carry in-band FEC (a low-bitrate copy of the previous frame) in every packet.
    pub inband_fec: bool,
    /// Expected packet loss in percent (0..=100): how much redundancy FEC spends.
    pub expected_loss_percent: u8,
    /// Encoder complexity 0..=10; `None` keeps libopus's default.
    pub complexity: Option<u8>,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig { bitrate_bps: None, inband_fec: true, expected_loss_percent: 10, complexity: None }
    }
}

/// A mono Opus encoder for 20 ms frames (VOIP application).
pub struct OpusEncoder {
    enc: Encoder,
    rate: SampleRate,
    out: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder at `rate` (8, 16, 24 or 48 kHz) with [`OpusConfig::default`].
    pub fn new(rate: SampleRate) -> Result<Self, CodecError> {
        Self::with_config(rate, &OpusConfig::default())
    }

    /// An encoder at `rate` with explicit settings.
    pub fn with_config(rate: SampleRate, config: &OpusConfig) -> Result<Self, CodecError> {
        let mut enc = Encoder::new(opus_rate(rate)?, Channels::Mono, Application::Voip).map_err(opus_err)?;
        let bitrate = match config.bitrate_bps {
            // libopus's automatic bitrate at 8 kHz (about 10 kb/s) is below the rate at which
            // SILK adds FEC data (measured: FEC appears from about 20 kb/s), so FEC asked for
            // without a bitrate would silently do nothing there.
            None if config.inband_fec && rate == SampleRate::Hz8000 => Some(FEC_BITRATE_8K),
            other => other,
        };
        if let Some(bps) = bitrate {
            let bps =
                i32::try_from(bps).map_err(|_| CodecError::Opus(format!("bitrate {bps} out of range")))?;
            enc.set_bitrate(Bitrate::BitsPerSecond(bps)).map_err(opus_err)?;
        }
        enc.set_inband_fec(config.inband_fec).map_err(opus_err)?;
        enc.set_packet_loss_perc(config.expected_loss_percent.min(100)).map_err(opus_err)?;
        if let Some(c) = config.complexity {
            enc.set_complexity(c.min(10)).map_err(opus_err)?;
        }
        Ok(OpusEncoder { enc, rate, out: vec![0; MAX_PACKET] })
    }

    /// The encoder's sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Samples in the one frame size this encoder takes (20 ms at its rate).
    pub fn frame_len(&self) -> usize {
        self.rate.frame_len()
    }

    /// Algorithmic delay of the codec in samples at the encoder's rate (decoder output lags the
    /// input by this much, on top of framing).
    pub fn lookahead(&self) -> Result<usize, CodecError> {
        self.enc.lookahead().map(|n| n as usize).map_err(opus_err)
    }

    /// Encodes one 20 ms frame; the packet borrows the encoder until the next call.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<&[u8], CodecError> {
        let expected = self.frame_len();
        if pcm.len() != expected {
            return Err(CodecError::FrameSize { codec: CODEC, rate: self.rate, expected, got: pcm.len() });
        }
        let n = self.enc.encode(pcm, &mut self.out).map_err(opus_err)?;
        // libopus never reports more bytes than the buffer it was given; `get` keeps that an
        // error rather than a panic should it ever happen.
        self.out.get(..n).ok_or_else(|| CodecError::Opus(format!("encoder reported {n} bytes")))
    }
}

/// Counters kept by an [`OpusDecoder`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Packets decoded normally.
    pub decoded: u64,
    /// Lost frames filled by packet-loss concealment.
    pub concealed: u64,
    /// Lost frames recovered from the next packet's in-band FEC data.
    pub fec_recovered: u64,
    /// Packets rejected as corrupt (including empty ones).
    pub corrupt: u64,
}

/// A mono Opus decoder with packet-loss concealment.
pub struct OpusDecoder {
    dec: Decoder,
    rate: SampleRate,
    pcm: Vec<i16>,
    stats: DecoderStats,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("rate", &self.rate)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder producing PCM at `rate` (8, 16, 24 or 48 kHz; any Opus stream decodes at any of
    /// them).
    pub fn new(rate: SampleRate) -> Result<Self, CodecError> {
        let dec = Decoder::new(opus_rate(rate)?, Channels::Mono).map_err(opus_err)?;
        let max = rate.samples_in_ms(MAX_PACKET_MS);
        Ok(OpusDecoder { dec, rate, pcm: vec![0; max], stats: DecoderStats::default() })
    }

    /// The output sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Counters since creation.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Decodes one packet, or conceals a lost one (`None`: 20 ms of PLC audio).
    pub fn decode(&mut self, packet: Option<&[u8]>) -> Result<&[i16], CodecError> {
        match packet {
            None => {
                let n = self.run(None, self.rate.frame_len(), false)?;
                self.stats.concealed += 1;
                self.output(n)
            }
            Some(bytes) => {
                let n = self.run(Some(bytes), self.pcm.len(), false)?;
                self.stats.decoded += 1;
                self.output(n)
            }
        }
    }

    /// Conceals one lost 20 ms frame. With `Some(next)`, the packet that follows the lost one,
    /// the frame is rebuilt from `next`'s in-band FEC data (libopus falls back to PLC when `next`
    /// has none); `next` must still be decoded normally afterwards. `None` is plain PLC.
    pub fn decode_lost(&mut self, next: Option<&[u8]>) -> Result<&[i16], CodecError> {
        let Some(next) = next else {
            return self.decode(None);
        };
        let n = self.run(Some(next), self.rate.frame_len(), true)?;
        self.stats.fec_recovered += 1;
        self.output(n)
    }

    fn run(&mut self, packet: Option<&[u8]>, frame: usize, fec: bool) -> Result<usize, CodecError> {
        let packet = match packet {
            None => None,
            Some([]) => {
                self.stats.corrupt += 1;
                return Err(CodecError::EmptyPacket);
            }
            Some(bytes) => Some(bytes),
        };
        let len = packet.map_or(0, <[u8]>::len);
        let parsed = match packet.map(audiopus::packet::Packet::try_from).transpose() {
            Ok(p) => p,
            Err(e) => {
                self.stats.corrupt += 1;
                return Err(CodecError::CorruptPacket { len, reason: e.to_string() });
            }
        };
        // `frame` is at most `self.pcm.len()` (20 ms or 120 ms at this rate); `min` keeps the
        // slice in bounds regardless.
        let end = frame.min(self.pcm.len());
        let out = audiopus::MutSignals::try_from(&mut self.pcm[..end]).map_err(opus_err)?;
        match self.dec.decode(parsed, out, fec) {
            Ok(n) => Ok(n),
            Err(audiopus::Error::Opus(code)) if packet.is_some() => {
                self.stats.corrupt += 1;
                Err(CodecError::CorruptPacket { len, reason: code.to_string() })
            }
            Err(e) => Err(opus_err(e)),
        }
    }

    fn output(&self, n: usize) -> Result<&[i16], CodecError> {
        // libopus never returns more samples than the buffer it was given.
        self.pcm.get(..n).ok_or_else(|| CodecError::Opus(format!("decoder reported {n} samples")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_22050_and_bad_frame_sizes() {
        assert_eq!(
            OpusEncoder::new(SampleRate::Hz22050).unwrap_err(),
            CodecError::UnsupportedRate { codec: "Opus", rate: SampleRate::Hz22050 }
        );
        let mut enc = OpusEncoder::new(SampleRate::Hz8000).unwrap();
        let err = enc.encode(&[0; 159]).unwrap_err();
        assert_eq!(
            err,
            CodecError::FrameSize { codec: "Opus", rate: SampleRate::Hz8000, expected: 160, got: 159 }
        );
        assert!(err.to_string().contains("160"), "{err}");
    }

    #[test]
    fn empty_packet_is_an_error_and_counted() {
        let mut dec = OpusDecoder::new(SampleRate::Hz16000).unwrap();
        assert_eq!(dec.decode(Some(&[])).unwrap_err(), CodecError::EmptyPacket);
        assert_eq!(dec.stats().corrupt, 1);
    }
}
