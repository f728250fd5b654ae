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
//! 6. hit confirmation: 2 consecutive blocks agree before a digit starts, and 3 consecutive
//!    blocks without it (38 ms, about the Q.24 minimum pause of 40 ms) end it, so a short
//!    dropout inside a tone neither splits nor repeats the digit. Measured over 17 alignments,
//!    tones of 34 ms or more are always accepted and tones of 20 ms or less never are (Q.24:
//!    operate at >= 40 ms, do not operate at <= 20 ms).
//!
//! # Tuning (talk-off)
//! On the 563 English Asterisk core prompts (1511 s of speech, `tests/talkoff.rs`), a naive
//! detector ([`Thresholds::naive`]: level and twist only, one block is a digit) reports 6274
//! false digits (6284 after mu-law, 6283 after A-law); the defaults report none, raw or through
//! either G.711 law. Changing one thing at a time (raw audio): hit confirmation alone (naive +
//! 2 blocks) leaves 1217 false digits, naive + 3 blocks 403; the defaults without the
//! energy-ratio check give 62, with a ratio of 0.5 give 2, with 0.6 and up give 0, so the ratio
//! (0.8) is the decisive check, with 1.2 dB of margin to the last clean value and 2 dB to the
//! first failing one. The defaults with single-block hits, or without the harmonic or
//! relative-peak checks, still give 0 here; those checks are kept as Q.24 practice for voices,
//! music and hold audio this corpus lacks. Sensitivity
//! that the tests pin: -33 dBFS per tone decodes, -36 is the floor; twist up to 6 dB either
//! way; +-1.5 % frequency deviation; speech 15 dB below the tones and white noise 20 dB below
//! (measured: speech 9 dB below and noise 9 dB below still decode every key).
//!
//! # Drain contract
//! [`DtmfDetector::push`] takes samples of any count with the [`Instant`](frontdesk_types::Instant)
//! of their first sample and never blocks or allocates per sample; after each push, call
//! [`DtmfDetector::poll_event`] until it returns `None`. Each digit yields one
//! [`DtmfEvent::Started`] (about 25 ms after the tone began, with the tone's start instant) and
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
