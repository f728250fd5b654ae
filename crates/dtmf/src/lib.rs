//! In-band DTMF for 8 kHz telephony audio, sans-IO: a Goertzel detector ([`DtmfDetector`]) and
//! a tone generator ([`DtmfGenerator`]).
//!
//! # Why in-band
//! Most trunks send digits as RFC 4733 telephone-events (handled in the RTP crate), but some
//! carriers, AudioSocket and WebSocket media streams only carry the audio. The detector finds
//! the digits in the decoded PCM; the generator sends digits to a far end that only hears audio.
//!
//! # Detection
//! Samples are cut into 102-sample blocks (12.75 ms); each block runs 16 Goertzel filters (the
//! 8 DTMF frequencies and their second harmonics) and is classified by the checks of ITU-T Q.24
//! practice as spandsp and Asterisk's `dsp.c` apply them ([`Thresholds`]):
//! 1. level: each tone at least -36 dBFS;
//! 2. twist: high tone within +8 dB (normal) / -8 dB (reverse) of the low tone;
//! 3. relative peak: the strongest tone of each group 8 dB above the others of its group;
//! 4. second harmonic: the column tone's 2nd harmonic 15 dB below it, the row tone's 3 dB
//!    below it (voiced speech has harmonics, a DTMF keypad does not; the row check is weak
//!    because 2x697, 2x770 and 2x852 Hz lie within one bin of column tones);
//! 5. energy ratio: the two tones carry at least 80 % of the block's energy;
//! 6. hit confirmation: 3 consecutive blocks agree (about 40 ms) before a digit starts, and 3
//!    consecutive blocks without it (about 40 ms) end it, so a short dropout inside a tone
//!    neither splits nor repeats the digit.
//!
//! The naive detector ([`Thresholds::naive`]: level and twist, one block is a digit) reports
//! false digits on speech; the tuned one reports none on the 563 English Asterisk core prompts,
//! raw or through G.711 (see `tests/talkoff.rs`).
//!
//! # Drain contract
//! [`DtmfDetector::push`] takes samples of any count with the [`Instant`](frontdesk_types::Instant)
//! of their first sample and never blocks or allocates per sample; after each push, call
//! [`DtmfDetector::poll_event`] until it returns `None`. Each digit yields one
//! [`DtmfEvent::Started`] (about 40 ms after the tone began, with the tone's start instant) and
//! one [`DtmfEvent::Ended`] (start, end; duration at block resolution). Call
//! [`DtmfDetector::finish`] at end of stream to close a digit still sounding. The generator is
//! pulled: [`DtmfGenerator::fill`] writes the next samples into a caller's frame.

mod analysis;
mod detector;
mod generator;

pub use analysis::{BLOCK_LEN, Thresholds};
pub use detector::{DtmfDetector, DtmfEvent};
pub use generator::{DtmfGenerator, ToneSpec};

use frontdesk_types::{InvalidDigit, SampleRate};

/// Errors of the DTMF crate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// In-band detection works on 8 kHz audio only.
    #[error("in-band DTMF needs 8000 Hz audio, got {0}")]
    UnsupportedRate(SampleRate),
    /// Thresholds that make no sense.
    #[error("invalid DTMF thresholds: {0}")]
    InvalidThresholds(&'static str),
    /// A tone specification the generator cannot honour.
    #[error("invalid DTMF tone spec: {0}")]
    InvalidToneSpec(&'static str),
    /// A character that is not a DTMF key.
    #[error(transparent)]
    InvalidDigit(#[from] InvalidDigit),
}
