//! The crate's one error type.

use frontdesk_types::SampleRate;

/// Everything that can go wrong in `frontdesk-codec`.
///
/// Each variant names the problem so that a log line is enough to act on: a frame of the wrong
/// length says which length was expected, a packet that libopus rejects says so and how long it
/// was. Bad input never panics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A PCM frame handed to an encoder had the wrong number of samples.
    #[error("bad frame size: {codec} at {rate} takes {expected} samples (20 ms), got {got}")]
    FrameSize {
        /// Which codec.
        codec: &'static str,
        /// The encoder's sample rate.
        rate: SampleRate,
        /// Samples in one 20 ms frame at `rate`.
        expected: usize,
        /// Samples that were passed.
        got: usize,
    },
    /// The codec cannot run at this rate (Opus has no 22.05 kHz mode).
    #[error("{codec} does not support {rate}")]
    UnsupportedRate {
        /// Which codec.
        codec: &'static str,
        /// The rate asked for.
        rate: SampleRate,
    },
    /// An empty payload was passed as an Opus packet (a lost packet is `None`, not `&[]`).
    #[error("empty Opus packet (pass None for a lost packet)")]
    EmptyPacket,
    /// libopus rejected a packet: corrupt, truncated, or not Opus at all.
    #[error("corrupt Opus packet ({len} bytes): {reason}")]
    CorruptPacket {
        /// Payload length in bytes.
        len: usize,
        /// What libopus said.
        reason: String,
    },
    /// libopus failed outside of packet parsing (creating a coder, an internal error).
    #[error("opus: {0}")]
    Opus(String),
    /// The resampler could not be built or run (a bug in our parameters, not bad input).
    #[error("resampler: {0}")]
    Resample(String),
}
